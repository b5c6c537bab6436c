package checker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// hb builds small histories for tests.
type hb struct{ h history.History }

func (b *hb) add(op history.Op) *history.Op {
	op.ID = int64(len(b.h.Ops))
	if op.Client == "" {
		op.Client = "c"
	}
	b.h.Ops = append(b.h.Ops, op)
	return &b.h.Ops[len(b.h.Ops)-1]
}

func (b *hb) send(client string, value string, at, done int, outcome history.Outcome, code string, offset int64) {
	b.add(history.Op{Client: client, Kind: history.KindSend, Invoke: time.Duration(at), Complete: time.Duration(done), Outcome: outcome, Error: code,
		Send: &history.Send{Topic: "t", Partition: 0, Value: model.Bytes(value), Acks: model.AcksAll, Offset: offset}})
}

// poll reads "offset:value" records from position pos.
func (b *hb) poll(client string, pos int64, at, done int, recs ...string) {
	var rs []history.Record
	for _, r := range recs {
		var o int64
		var v string
		fmt.Sscanf(r, "%d:%s", &o, &v)
		rs = append(rs, history.Record{Offset: o, LeaderEpoch: -1, Value: model.Bytes(v)})
	}
	b.add(history.Op{Client: client, Kind: history.KindPoll, Invoke: time.Duration(at), Complete: time.Duration(done), Outcome: history.OK,
		Poll: &history.Poll{Parts: []history.PollPart{{Topic: "t", Partition: 0, Position: pos, Records: rs}}}})
}

func (b *hb) commit(offset int64, at, done int, outcome history.Outcome, code string) {
	b.add(history.Op{Kind: history.KindCommit, Invoke: time.Duration(at), Complete: time.Duration(done), Outcome: outcome, Error: code,
		Offsets: &history.Offsets{Group: "g", Offsets: []history.CommittedOffset{{Topic: "t", Offset: offset}}}})
}

func (b *hb) fetch(offset int64, at, done int) {
	b.add(history.Op{Kind: history.KindFetchCommitted, Invoke: time.Duration(at), Complete: time.Duration(done), Outcome: history.OK,
		Offsets: &history.Offsets{Group: "g", Offsets: []history.CommittedOffset{{Topic: "t", Offset: offset}}}})
}

func (b *hb) linearizable(t *testing.T) bool {
	t.Helper()
	ops, _ := checker.Linearization(&b.h)
	res := porcupine.CheckOperationsTimeout(checker.Porcupine(), ops, 10*time.Second)
	require.NotEqual(t, porcupine.Unknown, res)
	return res == porcupine.Ok
}

func TestLogModel(t *testing.T) {
	ok, fail, unknown := history.OK, history.Fail, history.Unknown
	for _, c := range []struct {
		name  string
		build func(b *hb)
		legal bool
	}{
		{"sends then a poll", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "b", 20, 30, ok, "", 1)
			b.poll("c", 0, 40, 50, "0:a", "1:b")
		}, true},
		{"concurrent sends land in either order", func(b *hb) {
			b.send("p1", "a", 0, 100, ok, "", 1)
			b.send("p2", "b", 10, 90, ok, "", 0)
			b.poll("c", 0, 200, 210, "0:b", "1:a")
		}, true},
		{"a poll concurrent with the send it reads", func(b *hb) {
			b.poll("c", 0, 0, 100, "0:a")
			b.send("p", "a", 10, 200, ok, "", 0)
		}, true},
		{"a poll cannot read a send invoked after it returned", func(b *hb) {
			b.poll("c", 0, 0, 5, "0:a")
			b.send("p", "a", 10, 20, ok, "", 0)
		}, false},
		{"an offset given twice: a lost write", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "b", 20, 30, ok, "", 0)
		}, false},
		{"a read of another value at an acknowledged offset", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.poll("c", 0, 20, 30, "0:x")
		}, false},
		{"a poll that skips a record", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "b", 20, 30, ok, "", 1)
			b.send("p", "c", 40, 50, ok, "", 2)
			b.poll("c", 0, 60, 70, "0:a", "2:c")
		}, false},
		{"a poll that starts past its position", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "b", 20, 30, ok, "", 1)
			b.poll("c", 0, 60, 70, "1:b")
		}, false},
		{"gaps nobody claims are fine", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "b", 20, 30, ok, "", 5)
			b.poll("c", 0, 60, 70, "0:a", "5:b")
		}, true},
		{"an unknown send that was read fills its offset", func(b *hb) {
			b.send("p", "a", 0, 10, ok, "", 0)
			b.send("p", "x", 12, 15, unknown, "REQUEST_TIMED_OUT", -1)
			b.send("p", "b", 20, 30, ok, "", 2)
			b.poll("c", 0, 60, 70, "0:a", "1:x", "2:b")
		}, true},
		{"an unknown send must precede its first read", func(b *hb) {
			b.poll("c", 0, 0, 5, "0:x")
			b.send("p", "x", 10, 15, unknown, "REQUEST_TIMED_OUT", -1)
		}, false},
		{"an unknown send nobody read is left out", func(b *hb) {
			b.send("p", "x", 0, 5, unknown, "", -1)
			b.send("p", "a", 10, 20, ok, "", 0)
			b.poll("c", 0, 30, 40, "0:a")
		}, true},
		{"NOT_ENOUGH_REPLICAS_AFTER_APPEND may still be read", func(b *hb) {
			b.send("p", "x", 0, 5, fail, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", -1)
			b.poll("c", 0, 30, 40, "0:x")
		}, true},
		{"NOT_ENOUGH_REPLICAS may not", func(b *hb) {
			b.send("p", "x", 0, 5, fail, "NOT_ENOUGH_REPLICAS", -1)
			b.poll("c", 0, 30, 40, "0:x")
		}, false},
		{"a value never sent", func(b *hb) {
			b.poll("c", 0, 30, 40, "0:ghost")
		}, false},
		{"commit then fetch", func(b *hb) {
			b.fetch(-1, 0, 5)
			b.commit(5, 10, 20, ok, "")
			b.fetch(5, 30, 40)
		}, true},
		{"a committed offset goes back", func(b *hb) {
			b.commit(5, 10, 20, ok, "")
			b.commit(7, 30, 40, ok, "")
			b.fetch(5, 50, 60)
		}, false},
		{"an unknown commit may land late", func(b *hb) {
			b.commit(5, 10, 20, ok, "")
			b.commit(7, 30, 40, unknown, "REQUEST_TIMED_OUT")
			b.fetch(5, 50, 60)
			b.fetch(7, 70, 80)
		}, true},
		{"a rejected commit never lands", func(b *hb) {
			b.commit(5, 10, 20, ok, "")
			b.commit(7, 30, 40, fail, "REBALANCE_IN_PROGRESS")
			b.fetch(7, 70, 80)
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b hb
			c.build(&b)
			assert.Equal(t, c.legal, b.linearizable(t))
		})
	}
}

func TestFinalLogIsTheLastRead(t *testing.T) {
	var b hb
	b.send("p", "a", 0, 10, history.OK, "", 0)
	b.send("p", "b", 20, 30, history.OK, "", 1)
	tp := model.TopicPartition{Topic: "t"}
	b.h.Partitions = []history.PartitionState{{TP: tp, Metadata: model.PartitionMetadata{Replicas: []int32{1, 2}, Leader: 2, LeaderEpoch: 2}}}
	b.h.Replicas = []history.ReplicaState{
		{TP: tp, Broker: 1, Online: true, Leader: true, LeaderEpoch: 1, HighWatermark: 2, LogEndOffset: 2,
			Records: []history.Record{{Offset: 0, Value: model.Bytes("a")}, {Offset: 1, Value: model.Bytes("b")}}},
		{TP: tp, Broker: 2, Online: true, Leader: true, LeaderEpoch: 2, HighWatermark: 2, LogEndOffset: 2,
			Records: []history.Record{{Offset: 0, Value: model.Bytes("a")}, {Offset: 1, Value: model.Bytes("b")}}},
	}
	finals := checker.FinalLogs(&b.h)
	require.Len(t, finals, 1)
	assert.Equal(t, int32(2), finals[0].Broker, "the controller's leader, not the zombie")
	assert.True(t, b.linearizable(t))

	// The leader lost b and wrote c in its place.
	b.h.Replicas[1].Records[1].Value = model.Bytes("c")
	assert.False(t, b.linearizable(t))
}

func TestPorcupinePartitions(t *testing.T) {
	var b hb
	b.send("p", "a", 0, 10, history.OK, "", 0)
	b.add(history.Op{Kind: history.KindSend, Invoke: 0, Complete: 10, Outcome: history.OK,
		Send: &history.Send{Topic: "t", Partition: 1, Value: model.Bytes("z"), Acks: model.AcksAll, Offset: 0}})
	b.commit(1, 10, 20, history.OK, "")
	ops, values := checker.Linearization(&b.h)
	keys, parts := checker.SplitOperations(ops)
	require.Len(t, parts, 3)
	assert.Equal(t, "log of t-0", keys[0].String())
	assert.Equal(t, "log of t-1", keys[1].String())
	assert.Equal(t, "committed offset of group g for t-0", keys[2].String())
	assert.Len(t, values, 2)
	m := checker.Porcupine()
	assert.Equal(t, "send(a) -> 0", m.DescribeOperation(parts[0][0].Input, parts[0][0].Output))
	assert.Equal(t, "commit(g, t-0, 1)", m.DescribeOperation(parts[2][0].Input, parts[2][0].Output))
}

func TestFinalLogEndsTheLog(t *testing.T) {
	var b hb
	b.send("p", "a", 0, 10, history.OK, "", 0)
	b.send("p", "b", 20, 30, history.OK, "", 1)
	tp := model.TopicPartition{Topic: "t"}
	b.h.Replicas = []history.ReplicaState{{TP: tp, Broker: 1, Online: true, Leader: true, LeaderEpoch: 1, HighWatermark: 2, LogEndOffset: 2,
		Records: []history.Record{{Offset: 0, Value: model.Bytes("a")}, {Offset: 1, Value: model.Bytes("b")}}}}
	assert.True(t, b.linearizable(t))
	// Truncated after a: b, acknowledged, is gone.
	b.h.Replicas[0].Records = b.h.Replicas[0].Records[:1]
	b.h.Replicas[0].LogEndOffset, b.h.Replicas[0].HighWatermark = 1, 1
	assert.False(t, b.linearizable(t))
	// An empty log loses everything.
	b.h.Replicas[0].Records = nil
	b.h.Replicas[0].LogEndOffset, b.h.Replicas[0].HighWatermark = 0, 0
	assert.False(t, b.linearizable(t))
}
