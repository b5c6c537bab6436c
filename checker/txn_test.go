package checker_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// txnHistory builds a transactional history of n operations: each sends
// two records to two of eight partitions (at consecutive offsets, so the
// version orders agree) and polls the last record written to a third,
// as a serial execution would. cycle, when set, makes the last two
// operations read each other's write (G1c).
func txnHistory(n int, cycle bool) *history.History {
	r := rand.New(rand.NewPCG(1, 2))
	h := &history.History{}
	next := make([]int64, 8)
	last := make([]history.Record, 8)
	for i := 0; i < n; i++ {
		op := history.Op{ID: int64(i), Client: "c", Process: i % 16, Kind: history.KindTxn, Invoke: time.Duration(i), Complete: time.Duration(i + 1),
			Outcome: history.OK, Txn: &history.Txn{}}
		a, b, c := r.IntN(8), r.IntN(8), r.IntN(8)
		if last[c].Value != nil {
			op.Txn.Mops = append(op.Txn.Mops, history.Mop{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "t", Partition: int32(c), Position: -1, Records: []history.Record{last[c]}}}}})
		}
		for _, p := range []int{a, b} {
			v := model.Bytes(fmt.Sprintf("%d-%d", i, p))
			op.Txn.Mops = append(op.Txn.Mops, history.Mop{Send: &history.Send{Topic: "t", Partition: int32(p), Value: v, Acks: model.AcksAll, Offset: next[p]}})
			last[p] = history.Record{Offset: next[p], Value: v}
			next[p]++
		}
		h.Ops = append(h.Ops, op)
	}
	if cycle {
		x, y := &h.Ops[n-2], &h.Ops[n-1]
		sx, sy := x.Txn.Mops[len(x.Txn.Mops)-1].Send, y.Txn.Mops[len(y.Txn.Mops)-1].Send
		x.Txn.Mops = append(x.Txn.Mops, history.Mop{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "t", Partition: sy.Partition, Position: -1,
			Records: []history.Record{{Offset: sy.Offset, Value: sy.Value}}}}}})
		y.Txn.Mops = append(y.Txn.Mops, history.Mop{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "t", Partition: sx.Partition, Position: -1,
			Records: []history.Record{{Offset: sx.Offset, Value: sx.Value}}}}}})
	}
	return h
}

// A serial transactional history has no cycle, with or without
// write-write dependencies; one read of a later transaction's write
// closes a G1c cycle.
func TestTxnCyclesOnGeneratedHistories(t *testing.T) {
	h := txnHistory(2000, false)
	assert.Empty(t, checker.TxnCycles(h, checker.Run{}, true))
	fs := checker.TxnCycles(txnHistory(2000, true), checker.Run{}, false)
	require.Len(t, fs, 1)
	assert.Equal(t, string(checker.G1c), fs[0].Name)
	assert.Equal(t, []int64{1998, 1999}, fs[0].Ops)
}

// BenchmarkTxnCycles measures the cycle check (ww and wr dependencies,
// G0 and G1c) on a 100,000-operation transactional history.
func BenchmarkTxnCycles(b *testing.B) {
	h := txnHistory(100_000, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs := checker.TxnCycles(h, checker.Run{}, true)
		if len(fs) == 0 {
			b.Fatal("the planted cycle was not found")
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
	b.ReportMetric(float64(len(h.Ops)*b.N)/b.Elapsed().Seconds(), "ops/s")
}
