package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

var t0 = model.TopicPartition{Topic: "t", Partition: 0}

func sendN(p *client.Producer, n int, key string) {
	for i := range n {
		var k []byte
		if key != "" {
			k = []byte(key)
		}
		p.Send("t", k, []byte(fmt.Sprintf("v%d", i)), nil)
	}
}

func TestProducerBatchesWithinLinger(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	p := fc.producer(map[string]string{"client.id": "p1", "linger.ms": "20"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	sendN(p, 10, "k")
	fc.run(5 * time.Millisecond)
	assert.Empty(t, fc.produces, "the batch lingers")
	fc.run(time.Second)
	require.Len(t, fc.produces, 1, "ten records, one request")
	assert.Equal(t, 10, fc.produces[0].Partitions[0].Records.Count())
	h := fc.history()
	for i, op := range h.Ops {
		assert.Equal(t, history.OK, op.Outcome)
		assert.Equal(t, int64(i), op.Send.Offset)
		assert.True(t, op.Send.Idempotent)
	}
}

func TestProducerSplitsBatchesAtBatchSize(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	p := fc.producer(map[string]string{"client.id": "p1", "batch.size": "200", "linger.ms": "1000"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	sendN(p, 20, "k")
	fc.run(10 * time.Millisecond)
	require.NotEmpty(t, fc.produces, "full batches go before linger.ms")
	fc.run(2 * time.Second)
	total := 0
	for _, m := range fc.produces {
		for _, part := range m.Partitions {
			assert.LessOrEqual(t, len(part.Records), 200+30)
			total += part.Records.Count()
		}
	}
	assert.Equal(t, 20, total)
	assert.Len(t, fc.values(t0), 20)
}

// A lost acknowledgement: the broker wrote the batch but the answer never
// came. The idempotent producer resends the same sequence and the broker
// recognises the duplicate; without idempotence the record is written twice.
func TestRetryAfterLostAckIdempotentVersusNot(t *testing.T) {
	for _, idem := range []bool{true, false} {
		t.Run(fmt.Sprint("idempotence=", idem), func(t *testing.T) {
			fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
			lost := 0
			fc.hook = func(_ int32, _ model.TopicPartition, _ protocol.BatchHeader) (protocol.ErrorCode, bool) {
				lost++
				return protocol.None, lost > 1 // the first answer is lost
			}
			p := fc.producer(map[string]string{"client.id": "p1", "enable.idempotence": fmt.Sprint(idem), "request.timeout.ms": "1000", "delivery.timeout.ms": "10000"})
			p.Prepare("t")
			fc.run(10 * time.Millisecond)
			p.Send("t", []byte("k"), []byte("v1"), nil)
			fc.run(5 * time.Second)
			require.Len(t, fc.produces, 2, "sent, timed out, resent")
			h := fc.history()
			require.Len(t, h.Ops, 1)
			assert.Equal(t, history.OK, h.Ops[0].Outcome)
			if idem {
				assert.Equal(t, []string{"v1"}, fc.values(t0), "the broker deduplicates the resent sequence")
				assert.Equal(t, int64(0), h.Ops[0].Send.Offset)
			} else {
				assert.Equal(t, []string{"v1", "v1"}, fc.values(t0), "without idempotence the retry duplicates")
				assert.Equal(t, int64(1), h.Ops[0].Send.Offset)
			}
		})
	}
}

func TestNotLeaderRefreshesMetadataAndRetries(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 1})
	p := fc.producer(map[string]string{"client.id": "p1"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	fc.leaders[t0], fc.epochs[t0] = 2, 2 // leadership moved; the producer does not know
	p.Send("t", nil, []byte("v1"), nil)
	fc.run(2 * time.Second)
	require.GreaterOrEqual(t, len(fc.produces), 2)
	assert.Equal(t, []string{"v1"}, fc.values(t0))
	h := fc.history()
	assert.Equal(t, history.OK, h.Ops[0].Outcome)
	assert.Positive(t, fc.s.Marked("client.producer.retry"))
}

func TestDeliveryTimeoutGivesUnknown(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	fc.hook = func(int32, model.TopicPartition, protocol.BatchHeader) (protocol.ErrorCode, bool) {
		return protocol.None, false
	}
	p := fc.producer(map[string]string{"client.id": "p1", "request.timeout.ms": "1000", "delivery.timeout.ms": "3000", "linger.ms": "0"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	var got client.SendResult
	p.Send("t", nil, []byte("v1"), func(r client.SendResult) { got = r })
	fc.run(10 * time.Second)
	assert.Equal(t, history.Unknown, got.Outcome)
	h := fc.history()
	assert.Equal(t, history.Unknown, h.Ops[0].Outcome)
	assert.Equal(t, "REQUEST_TIMED_OUT", h.Ops[0].Error)
	assert.Positive(t, fc.s.Marked("client.producer.delivery-timeout"))
	assert.Positive(t, fc.s.Marked("client.producer.epoch-bump"), "an expired in-flight sequence forces a new epoch")
}

func TestOutOfOrderSequenceBumpsEpoch(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	var seen []protocol.BatchHeader
	fc.hook = func(_ int32, _ model.TopicPartition, h protocol.BatchHeader) (protocol.ErrorCode, bool) {
		seen = append(seen, h)
		if len(seen) == 2 {
			return protocol.OutOfOrderSequenceNumber, true
		}
		return protocol.None, true
	}
	p := fc.producer(map[string]string{"client.id": "p1", "linger.ms": "0"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	p.Send("t", nil, []byte("a"), nil)
	fc.run(100 * time.Millisecond)
	p.Send("t", nil, []byte("b"), nil)
	fc.run(2 * time.Second)
	require.Len(t, seen, 3)
	assert.Equal(t, int16(0), seen[1].ProducerEpoch)
	assert.Equal(t, int32(1), seen[1].BaseSequence)
	assert.Equal(t, int16(1), seen[2].ProducerEpoch, "KIP-360: the epoch is bumped")
	assert.Equal(t, int32(0), seen[2].BaseSequence, "and the sequence restarts")
	assert.Equal(t, []string{"a", "b"}, fc.values(t0))
	assert.Positive(t, fc.s.Marked("client.producer.OUT_OF_ORDER_SEQUENCE_NUMBER"))
}

func TestNonRetriableErrorFails(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	fc.hook = func(int32, model.TopicPartition, protocol.BatchHeader) (protocol.ErrorCode, bool) {
		return protocol.MessageTooLarge, true
	}
	p := fc.producer(map[string]string{"client.id": "p1"})
	p.Send("t", nil, []byte("v"), nil)
	fc.run(time.Second)
	h := fc.history()
	assert.Equal(t, history.Fail, h.Ops[0].Outcome)
	assert.Equal(t, "MESSAGE_TOO_LARGE", h.Ops[0].Error)
	assert.Equal(t, int32(0), h.Ops[0].Send.Partition, "the partition is known although the send failed")
}

func TestAcksZeroNeverLearnsOffsets(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	p := fc.producer(map[string]string{"client.id": "p1", "acks": "0"})
	assert.False(t, p.Config().EnableIdempotence, "idempotence left at its default turns off with acks=0")
	p.Send("t", nil, []byte("v"), nil)
	fc.run(time.Second)
	h := fc.history()
	assert.Equal(t, history.OK, h.Ops[0].Outcome)
	assert.Equal(t, int64(-1), h.Ops[0].Send.Offset)
	assert.Equal(t, history.Unknown, h.Ops[0].Effective())
}

func TestSendToUnknownTopicFailsAfterMaxBlock(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	p := fc.producer(map[string]string{"client.id": "p1", "max.block.ms": "500"})
	p.Send("nope", nil, []byte("v"), nil)
	fc.run(time.Second)
	h := fc.history()
	assert.Equal(t, history.Fail, h.Ops[0].Outcome)
	assert.Equal(t, int32(-1), h.Ops[0].Send.Partition)
}

func TestKeyedRecordsKeepOrderWithinPartition(t *testing.T) {
	fc := newFakeCluster(t, 3, map[string]int32{"t": 6})
	p := fc.producer(map[string]string{"client.id": "p1"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	for i := range 60 {
		key := fmt.Sprintf("key-%d", i%5)
		p.Send("t", []byte(key), []byte(fmt.Sprintf("%s/%d", key, i)), nil)
		fc.run(time.Millisecond)
	}
	fc.run(time.Second)
	h := fc.history()
	last := map[string]int64{}
	for _, op := range h.Ops {
		require.Equal(t, history.OK, op.Outcome)
		assert.Equal(t, client.KeyPartition(op.Send.Key, 6), op.Send.Partition, "murmur2 partitioning")
		k := string(op.Send.Key)
		if prev, ok := last[k]; ok {
			assert.Greater(t, op.Send.Offset, prev, "a key's records keep their order")
		}
		last[k] = op.Send.Offset
	}
}

// The uniform sticky partitioner sends keyless records to one partition
// until about batch.size bytes went there, then switches.
func TestStickyPartitionerSticksThenSwitches(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 4})
	p := fc.producer(map[string]string{"client.id": "p1", "batch.size": "1000", "linger.ms": "0"})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	for i := range 200 {
		p.Send("t", nil, []byte(fmt.Sprintf("value-%04d-padding-padding", i)), nil)
	}
	fc.run(time.Second)
	h := fc.history()
	runs, prev := 0, int32(-1)
	perPartition := map[int32]int{}
	for _, op := range h.Ops {
		if op.Send.Partition != prev {
			runs++
			prev = op.Send.Partition
		}
		perPartition[op.Send.Partition]++
	}
	assert.Greater(t, runs, 3, "the partition changes")
	assert.Less(t, runs, 40, "but records stick together in runs")
	assert.Positive(t, fc.s.Marked("client.producer.sticky-switch"))
}

func TestRoundRobinPartitioner(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 3})
	p := fc.producer(map[string]string{"client.id": "p1", "partitioner.class": client.RoundRobinPartitioner})
	p.Prepare("t")
	fc.run(10 * time.Millisecond)
	for range 6 {
		p.Send("t", []byte("same-key"), []byte("v"), nil)
	}
	fc.run(time.Second)
	var parts []int32
	for _, op := range fc.history().Ops {
		parts = append(parts, op.Send.Partition)
	}
	assert.Equal(t, []int32{0, 1, 2, 0, 1, 2}, parts)
}

func TestProducerRunsAreDeterministic(t *testing.T) {
	run := func() string {
		fc := newFakeCluster(t, 2, map[string]int32{"t": 4})
		n := 0
		fc.hook = func(int32, model.TopicPartition, protocol.BatchHeader) (protocol.ErrorCode, bool) {
			n++
			return protocol.None, n%3 != 0
		}
		p := fc.producer(map[string]string{"client.id": "p1", "request.timeout.ms": "500"})
		for i := range 50 {
			p.Send("t", nil, []byte(fmt.Sprint(i)), nil)
			fc.run(3 * time.Millisecond)
		}
		fc.run(5 * time.Second)
		return fc.s.Trace().HashString()
	}
	assert.Equal(t, run(), run())
}
