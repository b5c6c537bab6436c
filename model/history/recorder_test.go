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

func TestRecorderBuildsAHistory(t *testing.T) {
	r := history.NewRecorder(history.Header{Seed: 3, Replay: "kafkasim replay x"})
	tp := model.TopicPartition{Topic: "t", Partition: 1}
	ms := time.Millisecond
	r.Subscribe(0, "consumer-1", 0, "g", []string{"t"})
	s1 := r.InvokeSend(1*ms, "producer-1", 0, history.Send{Topic: "t", Partition: 1, Value: model.Bytes("a"), Acks: model.AcksAll, Offset: 99})
	s2 := r.InvokeSend(2*ms, "producer-1", 1, history.Send{Topic: "t", Partition: 1, Value: model.Bytes("b"), Acks: model.AcksAll})
	r.Rebalance(3*ms, "consumer-1", 0, history.Membership{Group: "g", Member: "m", Generation: 1, Assigned: []model.TopicPartition{tp}})
	r.SendOK(s1, 4*ms, 0)
	r.Fail(s2, 5*ms, "NOT_ENOUGH_REPLICAS")
	p := r.InvokePoll(6*ms, "consumer-1", 0, "g")
	r.PollOK(p, 7*ms, []history.PollPart{{Topic: "t", Partition: 1, Position: 0, Records: []history.Record{{Offset: 0, LeaderEpoch: 1, Value: model.Bytes("a")}}}})
	c := r.InvokeCommit(8*ms, "consumer-1", 0, history.Offsets{Group: "g", Generation: 1, Offsets: []history.CommittedOffset{{Topic: "t", Partition: 1, Offset: 1, LeaderEpoch: 1}}})
	r.OK(c, 9*ms)
	f := r.InvokeFetchCommitted(10*ms, "consumer-1", 0, history.Offsets{Group: "g", Offsets: []history.CommittedOffset{{Topic: "t", Partition: 1, Offset: -1}}})
	r.FetchCommittedOK(f, 11*ms, []history.CommittedOffset{{Topic: "t", Partition: 1, Offset: 1, LeaderEpoch: 1}})
	r.Seek(12*ms, "consumer-1", 0, history.Seek{Topic: "t", Partition: 1, Offset: 0, Reason: "seek"})
	a := r.InvokeAdmin(13*ms, "admin", 0, history.Admin{Action: "create-topics", Topic: "u", Partition: -1, Partitions: 1, ReplicationFactor: 1, Offset: -1})
	r.AdminOK(a, 14*ms, map[string]string{"topic-id": "1"})
	open := r.InvokeSend(15*ms, "producer-1", 0, history.Send{Topic: "t", Partition: 1, Value: model.Bytes("c"), Acks: model.AcksLeader})
	assert.Equal(t, []int64{open}, r.Open())
	r.Close(20*ms, nil)
	require.NoError(t, r.Err())

	h, err := r.History()
	require.NoError(t, err)
	require.Len(t, h.Ops, 10)
	for i, op := range h.Ops {
		assert.Equal(t, int64(i), op.ID, "ids are dense, in invocation order")
	}
	assert.Equal(t, history.FormatName, h.Header.Format)
	assert.Equal(t, int64(0), h.Ops[s1].Send.Offset)
	assert.Equal(t, int64(-1), h.Ops[s2].Send.Offset, "the offset given at invocation is ignored")
	assert.Equal(t, history.Fail, h.Ops[s2].Outcome)
	assert.Equal(t, history.OK, h.Ops[s2-1].Outcome)
	assert.Equal(t, int64(1), h.Ops[f].Offsets.Offsets[0].Offset)
	assert.Equal(t, history.Unknown, h.Ops[open].Outcome)
	assert.Equal(t, 20*ms, h.Ops[open].Complete)
	assert.Equal(t, "1", h.Ops[a].Admin.Result["topic-id"])

	var buf bytes.Buffer
	require.NoError(t, history.WriteHistory(&buf, h))
	back, err := history.ReadHistory(&buf)
	require.NoError(t, err)
	assert.Equal(t, h, back)
}

func TestRecorderMisuse(t *testing.T) {
	r := history.NewRecorder(history.Header{})
	id := r.InvokeSend(0, "p", 0, history.Send{Topic: "t", Value: model.Bytes("a"), Acks: model.AcksAll})
	r.SendOK(id, 1, 0)
	r.SendOK(id, 2, 1)
	assert.ErrorContains(t, r.Err(), "completed twice")
	_, err := r.History()
	assert.Error(t, err)

	r = history.NewRecorder(history.Header{})
	r.OK(7, 1)
	assert.ErrorContains(t, r.Err(), "never invoked")

	r = history.NewRecorder(history.Header{})
	id = r.InvokePoll(0, "c", 0, "")
	r.SendOK(id, 1, 0)
	assert.ErrorContains(t, r.Err(), "is a poll, completed with the results of a send")

	r = history.NewRecorder(history.Header{})
	id = r.InvokePoll(5, "c", 0, "")
	r.OK(id, 1)
	assert.ErrorContains(t, r.Err(), "before its invocation")

	r = history.NewRecorder(history.Header{})
	id = r.InvokeSend(0, "p", 0, history.Send{Topic: "t", Value: model.Bytes("a"), Acks: model.AcksAll})
	r.SendOK(id, 1, -1)
	_, err = r.History()
	assert.ErrorContains(t, err, "must record the offset")
}

func TestEffectiveOutcome(t *testing.T) {
	send := func(outcome history.Outcome, code string, offset int64) *history.Op {
		return &history.Op{Kind: history.KindSend, Outcome: outcome, Error: code, Send: &history.Send{Offset: offset}}
	}
	assert.Equal(t, history.OK, send(history.OK, "", 3).Effective())
	assert.Equal(t, history.Unknown, send(history.OK, "", -1).Effective(), "acks=0")
	assert.Equal(t, history.Fail, send(history.Fail, "NOT_ENOUGH_REPLICAS", -1).Effective())
	assert.Equal(t, history.Unknown, send(history.Fail, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", -1).Effective())
	assert.Equal(t, history.Unknown, send(history.Fail, "REQUEST_TIMED_OUT", -1).Effective())
	commit := &history.Op{Kind: history.KindCommit, Outcome: history.Fail, Error: "REBALANCE_IN_PROGRESS"}
	assert.Equal(t, history.Fail, commit.Effective())
	commit.Error = "REQUEST_TIMED_OUT"
	assert.Equal(t, history.Unknown, commit.Effective())
}

// Sends and polls are recorded without an allocation of their own: their
// bodies come from chunks, and a history taken before a completion keeps
// the body it had (a completion takes a new one).
func TestRecorderAppendsSendsWithoutAllocatingPerOperation(t *testing.T) {
	r := history.NewRecorder(history.Header{Seed: 1})
	send := history.Send{Topic: "t", Value: model.Bytes("v"), Acks: model.AcksAll}
	at := time.Duration(0)
	for range 10_000 { // grow the operations' array first
		at++
		r.SendOK(r.InvokeSend(at, "producer-1", 0, send), at, 0)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		at++
		r.SendOK(r.InvokeSend(at, "producer-1", 0, send), at, int64(at))
		r.PollOK(r.InvokePoll(at, "consumer-1", 0, "g"), at, nil)
	})
	assert.Less(t, allocs, 0.2, "a send and a poll allocate a chunk's share, not a body each")

	id := r.InvokeSend(at+1, "producer-1", 0, send)
	before, err := r.History()
	require.NoError(t, err)
	r.SendOK(id, at+2, 7)
	after, err := r.History()
	require.NoError(t, err)
	assert.Equal(t, int64(-1), before.Ops[id].Send.Offset, "the earlier history keeps its open send")
	assert.Equal(t, int64(7), after.Ops[id].Send.Offset)
	assert.Empty(t, r.Open())
}

// A history the recorder returned stays as it was when the recorder goes
// on: completions after it change the recorder's copy only.
func TestRecorderHistoryIsASnapshot(t *testing.T) {
	r := history.NewRecorder(history.Header{Seed: 1})
	ms := time.Millisecond
	s1 := r.InvokeSend(1*ms, "producer-1", 0, history.Send{Topic: "t", Partition: 0, Value: model.Bytes("a"), Acks: model.AcksAll})
	s2 := r.InvokeSend(2*ms, "producer-1", 1, history.Send{Topic: "t", Partition: 0, Value: model.Bytes("b"), Acks: model.AcksAll})
	r.SendOK(s1, 3*ms, 0)
	before, err := r.History()
	require.NoError(t, err)
	r.SendOK(s2, 4*ms, 1)
	s3 := r.InvokeSend(5*ms, "producer-1", 0, history.Send{Topic: "t", Partition: 0, Value: model.Bytes("c"), Acks: model.AcksAll})
	r.SendOK(s3, 6*ms, 2)
	after, err := r.History()
	require.NoError(t, err)

	require.Len(t, before.Ops, 2)
	assert.Equal(t, history.Unknown, before.Ops[s2].Outcome)
	assert.Equal(t, int64(-1), before.Ops[s2].Send.Offset)
	assert.Equal(t, int64(0), before.Ops[s1].Send.Offset)
	require.Len(t, after.Ops, 3)
	assert.Equal(t, history.OK, after.Ops[s2].Outcome)
	assert.Equal(t, int64(1), after.Ops[s2].Send.Offset)
	assert.Equal(t, int64(2), after.Ops[s3].Send.Offset)
}
