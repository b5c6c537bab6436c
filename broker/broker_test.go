package broker_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// TestEveryErrorCodeIsReached: every error code of the produce and fetch
// paths appears in the output of some interaction script (the scripts
// assert it, this guards that they keep doing so).
func TestEveryErrorCodeIsReached(t *testing.T) {
	var all strings.Builder
	files, err := filepath.Glob("testdata/*")
	require.NoError(t, err)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		all.Write(b)
	}
	for _, code := range []protocol.ErrorCode{
		protocol.NotLeaderOrFollower, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend,
		protocol.RequestTimedOut, protocol.OutOfOrderSequenceNumber, protocol.DuplicateSequenceNumber,
		protocol.InvalidProducerEpoch, protocol.UnknownProducerId, protocol.FencedLeaderEpoch,
		protocol.UnknownLeaderEpoch, protocol.OffsetOutOfRange, protocol.OffsetNotAvailable,
		protocol.UnknownTopicOrPartition, protocol.InvalidRequiredAcks, protocol.InvalidUpdateVersion,
	} {
		assert.Contains(t, all.String(), code.String(), "no script reaches %s", code)
	}
}

func TestConfigValidation(t *testing.T) {
	cfg := broker.DefaultConfig(1)
	err := cfg.Validate()
	assert.ErrorContains(t, err, "Directory is nil")

	for _, c := range []struct{ name, value, want string }{
		{"replica.lag.time.max.ms", "-1", "invalid value -1 for configuration replica.lag.time.max.ms: value must be at least 0"},
		{"log.flush.interval.ms", "-5", "invalid value -5 for configuration log.flush.interval.ms: value must be at least 0"},
		{"log.flush.interval.messages", "0", "invalid value 0 for configuration log.flush.interval.messages: value must be at least 1"},
		{"min.insync.replicas", "-1", "invalid value -1 for configuration min.insync.replicas: value must be at least 1"},
		{"min.insync.replicas", "3000000000", "invalid value 3000000000 for configuration min.insync.replicas: value must be at most 2147483647"},
		{"replica.fetch.wait.max.ms", "soon", `invalid value soon for configuration replica.fetch.wait.max.ms: expected a whole number from 0 to 2147483647`},
		{"no.such.config", "1", `unknown configuration "no.such.config": kafkasim's broker configurations are broker.heartbeat.interval.ms, `},
		{"offsets.topic.replication.factor", "40000", "value must be at most 32767"},
	} {
		cfg := broker.DefaultConfig(1)
		err := cfg.Set(c.name, c.value)
		assert.ErrorContains(t, err, c.want)
		var pe *props.Error
		assert.ErrorAs(t, err, &pe, "every config error is a props.Error")
	}
	cfg = broker.DefaultConfig(1)
	require.NoError(t, cfg.Set("log.flush.interval.messages", "9223372036854775807"))
	assert.Zero(t, cfg.LogFlushIntervalMessages, "Kafka's default, Long.MAX_VALUE, is never")
	require.NoError(t, cfg.Set("offsets.topic.num.partitions", " 3 "))
	assert.EqualValues(t, 3, cfg.Group.OffsetsTopicPartitions, "values are trimmed, as Kafka's ConfigDef does")
	require.NoError(t, cfg.Set("controller.quorum.fetch.timeout.ms", "3000"))
	assert.Equal(t, 3*time.Second, cfg.Quorum.FetchTimeout)

	cfg = broker.DefaultConfig(1)
	cfg.MinInsyncReplicas = 0
	cfg.ReplicaFetchWaitMax = time.Minute
	cfg.Group.MaxSize = 0
	err = cfg.Validate()
	assert.ErrorContains(t, err, "invalid value 0 for configuration min.insync.replicas: value must be at least 1")
	assert.ErrorContains(t, err, "invalid value 30000 for configuration replica.socket.timeout.ms: must be at least replica.fetch.wait.max.ms (60000)")
	assert.ErrorContains(t, err, "invalid value 0 for configuration group.max.size: value must be at least 1")

	_, err = broker.ParseAcks("2")
	assert.EqualError(t, err, "invalid value 2 for configuration acks: expected one of all, -1, 0, 1")
	acks, err := broker.ParseAcks("all")
	require.NoError(t, err)
	assert.Equal(t, protocol.AcksAll, acks)

	_, err = broker.ParseTruncationMode("zk")
	assert.EqualError(t, err, `invalid truncation mode "zk": accepted are fetch, epochs, legacy-epochs, high-watermark`)
}

// TestSetters proves the broker's setters and the property table agree:
// every broker property has a setter, every setter a broker property, and
// the defaults are Kafka's.
func TestSetters(t *testing.T) {
	require.NoError(t, broker.Setters.Check())
	require.NoError(t, broker.Setters.Defaults(broker.DefaultConfig(1)))
}

// faultyRun runs a 3-broker cluster under produces and seeded faults
// (crashes, power losses, isolations, elections) and returns its trace hash.
func faultyRun(t *testing.T, seed uint64) string {
	e, err := newEnv(envOptions{seed: seed, brokers: 3, jitter: 300 * time.Microsecond})
	require.NoError(t, err)
	e.quiet = true
	require.NoError(t, e.ctrl.createTopic("t", [][]int32{{1, 2, 3}, {2, 3, 1}}, nil))
	r := e.s.Rand("test/faults")
	for i := range 60 {
		tp := model.TopicPartition{Topic: "t", Partition: int32(i % 2)}
		reg, _ := e.ctrl.image.Partition(tp)
		if reg.Leader >= 0 {
			_ = e.send(reg.Leader, &protocol.Produce{CorrelationID: e.nextCorr(), Acks: protocol.AcksAll, Timeout: 2 * time.Second,
				Partitions: []protocol.ProducePartition{{TP: tp, Records: protocol.NewRecords(protocol.NoProducer, 0, "v")}}})
		}
		id := int32(r.IntN(3) + 1)
		n := e.nodes[id]
		switch r.IntN(8) {
		case 0:
			if countUp(e) > 1 && n.Up() {
				_ = n.Crash()
			}
		case 1:
			if countUp(e) > 1 && n.Up() {
				n.PowerLoss(true)
			}
		case 2:
			if !n.Up() {
				_ = n.Restart()
				_ = e.ctrl.register(id)
			}
		case 3:
			_ = e.net.Isolate(n.ID())
		case 4:
			e.net.Heal()
		case 5:
			controllerStep(e)
		}
		require.NoError(t, e.s.RunFor(time.Duration(r.IntN(2000))*time.Millisecond))
	}
	return e.s.Trace().HashString()
}

func TestSameSeedSameTrace(t *testing.T) {
	a, b := faultyRun(t, 7), faultyRun(t, 7)
	assert.Equal(t, a, b, "seed 7 gave two trace hashes")
	assert.NotEqual(t, a, faultyRun(t, 8), "different seeds should give different runs")
}
