package checker

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/model/history"
)

// hangGrace is how long before the end of the history a transactional
// operation must have ended for a transaction of its still open on a
// partition to count as hanging: time enough for the coordinator to write
// its markers in a healthy cluster.
const hangGrace = 10 * time.Second

// hangingTxns finds hanging transactions (KAFKA-14402): a
// transaction open on a partition's final leader (History.OpenTxns) whose
// data starts with a record of a transactional operation that had ended —
// committed or aborted — well before the end of the history. Its producer
// believes the transaction over, so no marker will ever end it: the
// partition's last stable offset stays at its first offset and
// read_committed consumers read nothing beyond it. Kafka's
// kafka-transactions.sh find-hanging looks for the same thing: a
// transaction open longer than the coordinator would let one live.
func hangingTxns(h *history.History, run Run) []Finding {
	var fs []Finding
	for _, t := range h.OpenTxns {
		op := txnOpOf(h, t)
		if op == nil || op.Outcome == history.Unknown || t.At-op.Complete < hangGrace {
			continue
		}
		ended := "committed"
		if op.Outcome != history.OK {
			ended = "aborted"
		}
		fs = append(fs, Finding{Name: string(HangingTransaction), Class: Consistency, TP: t.TP,
			Offsets: []int64{t.FirstOffset}, Brokers: []int32{t.Broker}, Ops: []int64{op.ID}, At: op.Complete,
			Seed: run.Seed, Replay: run.Replay,
			Message: fmt.Sprintf("producer %d (epoch %d) has a transaction open on %s from offset %d, opened by a late record of operation %d (%s), which %s at %v: no marker will end it, so the last stable offset is stuck at %d below the high-water mark %d and read_committed consumers read nothing beyond it",
				t.ProducerID, t.ProducerEpoch, t.TP, t.FirstOffset, op.ID, op.Client, ended, op.Complete, t.LastStableOffset, t.HighWatermark)})
	}
	sortFindings(fs)
	return fs
}

// txnOpOf returns the transactional operation that sent the first record
// of an open transaction (same partition and value), nil if none did.
func txnOpOf(h *history.History, t history.OpenTxn) *history.Op {
	if t.FirstValue == nil {
		return nil
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindTxn {
			continue
		}
		for _, s := range op.Sends() {
			if s.TP() == t.TP && string(s.Value) == string(t.FirstValue) {
				return op
			}
		}
	}
	return nil
}
