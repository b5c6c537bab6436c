package checker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// txnOp is a transactional operation of client c: sends of values at
// offsets, then polls (parts of t-0 from a position).
func txnOp(id int64, c string, outcome history.Outcome, complete time.Duration, sends map[string]int64, polls ...history.PollPart) history.Op {
	op := history.Op{ID: id, Client: c, Kind: history.KindTxn, Invoke: complete - time.Millisecond, Complete: complete, Outcome: outcome, Txn: &history.Txn{}}
	if outcome != history.OK {
		op.Error, op.Certain = "TRANSACTION_ABORTED", true
	}
	for _, v := range []string{"a", "b", "c", "d", "e", "f"} {
		if o, ok := sends[v]; ok {
			op.Txn.Mops = append(op.Txn.Mops, history.Mop{Send: &history.Send{Topic: "t", Partition: 0, Key: model.Bytes(v), Value: model.Bytes(v),
				Acks: model.AcksAll, Idempotent: true, Offset: o}})
		}
	}
	for i := range polls {
		op.Txn.Mops = append(op.Txn.Mops, history.Mop{Poll: &history.Poll{Parts: polls[i : i+1]}})
	}
	return op
}

func part(pos int64, offsets ...int64) history.PollPart {
	p := history.PollPart{Topic: "t", Partition: 0, Position: pos}
	for _, o := range offsets {
		p.Records = append(p.Records, history.Record{Offset: o, Value: model.Bytes("x")})
	}
	return p
}

// TestCommittedTxnAborted: a read_committed poll that reads past a
// committed transaction's records without returning them (within one
// poll, or by moving on between polls) finds them aborted.
func TestCommittedTxnAborted(t *testing.T) {
	h := &history.History{Ops: []history.Op{
		txnOp(0, "txn-1", history.OK, time.Second, map[string]int64{"a": 0, "b": 1}),
		txnOp(1, "txn-1", history.OK, 2*time.Second, map[string]int64{"c": 3}, part(0, 0, 1, 3)),
	}}
	rep := checker.Check(h, checker.Options{SkipLinearizability: true})
	assert.NotContains(t, names(rep.Findings), string(checker.CommittedTxnAborted), "every committed record was returned")

	// d at 5 committed, but the poll from 4 returned 6 only.
	h.Ops = append(h.Ops, txnOp(2, "txn-1", history.OK, 3*time.Second, map[string]int64{"d": 5}),
		txnOp(3, "txn-2", history.OK, 4*time.Second, map[string]int64{"e": 6}, part(4, 6)))
	rep = checker.Check(h, checker.Options{SkipLinearizability: true})
	require.Contains(t, names(rep.Findings), string(checker.CommittedTxnAborted))
	for _, f := range rep.Findings {
		if f.Name == string(checker.CommittedTxnAborted) {
			assert.Equal(t, []int64{5}, f.Offsets)
			assert.Equal(t, []int64{2, 3}, f.Ops)
			assert.Contains(t, f.Message, "were aborted")
		}
	}

	// Between polls: txn-3 left at 7 by one poll starts the next at 9,
	// passing f at 8.
	h2 := &history.History{Ops: []history.Op{
		txnOp(0, "txn-3", history.OK, time.Second, map[string]int64{"f": 8}),
		txnOp(1, "txn-3", history.OK, 2*time.Second, nil, part(6, 6)),
		txnOp(2, "txn-3", history.OK, 3*time.Second, nil, part(9, 9)),
	}}
	rep = checker.Check(h2, checker.Options{SkipLinearizability: true})
	assert.Contains(t, names(rep.Findings), string(checker.CommittedTxnAborted))
}

// TestHangingTransaction: an open transaction whose first record an
// operation that ended long before wrote is hanging; one whose operation
// just ended (its markers may be on their way) is not.
func TestHangingTransaction(t *testing.T) {
	open := history.OpenTxn{TP: model.TopicPartition{Topic: "t", Partition: 0}, Broker: 2, ProducerID: 7, FirstOffset: 4,
		FirstValue: model.Bytes("c"), LastStableOffset: 4, HighWatermark: 6, At: 40 * time.Second}
	h := &history.History{Ops: []history.Op{
		txnOp(0, "txn-1", history.Fail, 20*time.Second, map[string]int64{"c": -1}),
	}, OpenTxns: []history.OpenTxn{open}}
	rep := checker.Check(h, checker.Options{SkipLinearizability: true})
	require.Contains(t, names(rep.Findings), string(checker.HangingTransaction))
	for _, f := range rep.Findings {
		if f.Name == string(checker.HangingTransaction) {
			assert.Equal(t, []int64{4}, f.Offsets)
			assert.Contains(t, f.Message, "the last stable offset is stuck at 4 below the high-water mark 6")
			assert.Contains(t, f.Message, "aborted")
		}
	}
	h.OpenTxns[0].At = 25 * time.Second
	rep = checker.Check(h, checker.Options{SkipLinearizability: true})
	assert.NotContains(t, names(rep.Findings), string(checker.HangingTransaction), "ended only 5 s before: not yet hanging")
}
