package history_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// TestOpenTxnsRoundTrip: the transactions open at the end survive a
// history file.
func TestOpenTxnsRoundTrip(t *testing.T) {
	h := &history.History{Header: history.Header{Format: history.FormatName, Version: history.FormatVersion}, OpenTxns: []history.OpenTxn{
		{TP: model.TopicPartition{Topic: "t", Partition: 1}, Broker: 2, ProducerID: 7, ProducerEpoch: 3, FirstOffset: 4,
			FirstValue: model.Bytes("v"), LastStableOffset: 4, HighWatermark: 9, At: 40 * time.Second},
	}}
	var b bytes.Buffer
	require.NoError(t, history.WriteHistory(&b, h))
	assert.Contains(t, b.String(), `"type":"open_txn"`)
	again, err := history.ReadHistory(&b)
	require.NoError(t, err)
	assert.Equal(t, h.OpenTxns, again.OpenTxns)
}
