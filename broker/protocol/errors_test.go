package protocol_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

func TestErrorCodesKeepKafkasNumbers(t *testing.T) {
	for code, want := range map[protocol.ErrorCode]int16{
		protocol.OffsetOutOfRange:             1,
		protocol.NotLeaderOrFollower:          6,
		protocol.RequestTimedOut:              7,
		protocol.NotEnoughReplicas:            19,
		protocol.NotEnoughReplicasAfterAppend: 20,
		protocol.OutOfOrderSequenceNumber:     45,
		protocol.KafkaStorageError:            56,
		protocol.FencedLeaderEpoch:            74,
		protocol.UnknownLeaderEpoch:           75,
		protocol.OffsetNotAvailable:           78,
		protocol.InvalidUpdateVersion:         95,
		protocol.IneligibleReplica:            107,
		protocol.NewLeaderElected:             108,
	} {
		assert.EqualValues(t, want, code, code.String())
	}
}

func TestErrorCodeNames(t *testing.T) {
	assert.Equal(t, "NOT_ENOUGH_REPLICAS", protocol.NotEnoughReplicas.String())
	assert.Equal(t, "ERROR_12345", protocol.ErrorCode(12345).String())
	c, ok := protocol.ParseErrorCode("FENCED_LEADER_EPOCH")
	assert.True(t, ok)
	assert.Equal(t, protocol.FencedLeaderEpoch, c)
	_, ok = protocol.ParseErrorCode("NO_SUCH_ERROR")
	assert.False(t, ok)
	assert.True(t, protocol.NotLeaderOrFollower.Retriable())
	assert.False(t, protocol.OutOfOrderSequenceNumber.Retriable())
	assert.NoError(t, protocol.None.Err())
	var err error = protocol.NotEnoughReplicas.Err()
	assert.True(t, errors.Is(err, protocol.NotEnoughReplicas))
	assert.Contains(t, err.Error(), "min.insync.replicas")
}

func TestErrorCodeFormatting(t *testing.T) {
	c := protocol.NotEnoughReplicas
	assert.Equal(t, "NOT_ENOUGH_REPLICAS", fmt.Sprintf("%s", c))
	assert.Equal(t, "NOT_ENOUGH_REPLICAS", fmt.Sprintf("%v", c))
	assert.Equal(t, `"NOT_ENOUGH_REPLICAS"`, fmt.Sprintf("%q", c))
	assert.Equal(t, "19", fmt.Sprintf("%d", c))
	assert.Contains(t, fmt.Sprintf("%+v", c), "min.insync.replicas")
	assert.Equal(t, "failed: NOT_ENOUGH_REPLICAS", fmt.Errorf("failed: %w", c.Err()).Error()[:len("failed: NOT_ENOUGH_REPLICAS")])
}
