package checker_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

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
	assert.Empty(t, checker.TxnCycles(h, checker.Run{}, checker.Deps{WW: true, RW: true}))
	fs := checker.TxnCycles(txnHistory(2000, true), checker.Run{}, checker.Deps{})
	require.Len(t, fs, 1)
	assert.Equal(t, string(checker.G1c), fs[0].Name)
	assert.Equal(t, []int64{1998, 1999}, fs[0].Ops)
}

// BenchmarkTxnCycles measures the cycle check (ww, wr and rw
// dependencies: G0, G1c, G-single and G2) on a 100,000-operation
// transactional history.
func BenchmarkTxnCycles(b *testing.B) {
	h := txnHistory(100_000, true)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		fs := checker.TxnCycles(h, checker.Run{}, checker.Deps{WW: true, RW: true})
		if len(fs) == 0 {
			b.Fatal("the planted cycle was not found")
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
	b.ReportMetric(float64(len(h.Ops)*b.N)/b.Elapsed().Seconds(), "ops/s")
}

// serialTxns builds a serial execution of transactions on a few
// partitions, as rapid draws it: each transaction polls some partitions
// from a drawn position to their end (everything committed before it),
// then sends; one in four aborts, its records and every marker taking an
// offset nobody reads.
type serialTxns struct {
	h         *history.History
	committed [][]history.Record // per partition
	writer    [][]int64          // the op that wrote each committed record
	next      []int64
}

func newSerialTxns(parts int) *serialTxns {
	return &serialTxns{h: &history.History{}, committed: make([][]history.Record, parts), writer: make([][]int64, parts), next: make([]int64, parts)}
}

func (s *serialTxns) op(mops []history.Mop, ok bool) *history.Op {
	id := int64(len(s.h.Ops))
	outcome := history.OK
	if !ok {
		outcome = history.Fail
	}
	s.h.Ops = append(s.h.Ops, history.Op{ID: id, Client: "c", Process: int(id), Kind: history.KindTxn, Invoke: time.Duration(2 * id),
		Complete: time.Duration(2*id + 1), Outcome: outcome, Txn: &history.Txn{Mops: mops}})
	return &s.h.Ops[id]
}

// poll reads partition p's committed records [from, to).
func (s *serialTxns) poll(p, from, to int) history.Mop {
	return history.Mop{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "t", Partition: int32(p), Position: -1,
		Records: slices.Clone(s.committed[p][from:to])}}}}
}

// txn appends one transaction: polls of the partitions in polls (each from
// a drawn position), then a send to each partition of sends.
func (s *serialTxns) txn(t *rapid.T, polls, sends []int, ok bool) int64 {
	var mops []history.Mop
	for _, p := range polls {
		if n := len(s.committed[p]); n > 0 {
			mops = append(mops, s.poll(p, rapid.IntRange(0, n-1).Draw(t, "from"), n))
		}
	}
	id := int64(len(s.h.Ops))
	written := map[int]bool{}
	for i, p := range sends {
		v := model.Bytes(fmt.Sprintf("%d-%d", id, i))
		mops = append(mops, history.Mop{Send: &history.Send{Topic: "t", Partition: int32(p), Value: v, Acks: model.AcksAll, Offset: s.next[p]}})
		if ok {
			s.committed[p] = append(s.committed[p], history.Record{Offset: s.next[p], Value: v})
			s.writer[p] = append(s.writer[p], id)
		}
		s.next[p]++
		written[p] = true
	}
	for p := range written {
		s.next[p]++ // the marker
	}
	s.op(mops, ok)
	return id
}

func (s *serialTxns) draw(t *rapid.T, n int) {
	parts := len(s.next)
	for i := 0; i < n; i++ {
		pick := rapid.SliceOfN(rapid.IntRange(0, parts-1), 0, 3)
		s.txn(t, pick.Draw(t, "polls"), pick.Draw(t, "sends"), rapid.IntRange(0, 3).Draw(t, "abort") > 0)
	}
}

// A serial execution has no cycle of any kind: every dependency, ww, wr
// and rw, points from an earlier transaction to a later one.
func TestSerialTxnsHaveNoCycles(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newSerialTxns(rapid.IntRange(1, 4).Draw(t, "partitions"))
		s.draw(t, rapid.IntRange(1, 40).Draw(t, "txns"))
		for _, f := range checker.TxnCycles(s.h, checker.Run{}, checker.Deps{WW: true, RW: true}) {
			if slices.Contains(cycleNames, f.Name) {
				t.Fatalf("a serial history has a cycle: %s", f.Short())
			}
		}
	})
}

// A transaction that reads all of one partition and a stale prefix of
// another, missing the record that a transaction whose other record it
// read wrote there, makes read skew: exactly one G-single, through both.
func TestStaleReadMakesGSingle(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.IntRange(2, 4).Draw(t, "partitions")
		s := newSerialTxns(parts)
		p := rapid.IntRange(0, parts-1).Draw(t, "p")
		q := (p + rapid.IntRange(1, parts-1).Draw(t, "q")) % parts
		s.txn(t, nil, []int{p}, true) // something to read before j's record
		s.draw(t, rapid.IntRange(0, 15).Draw(t, "before"))
		jp := len(s.committed[p])
		j := s.txn(t, nil, []int{p, q}, true)
		s.draw(t, rapid.IntRange(0, 15).Draw(t, "after"))
		jq := slices.Index(s.writer[q], j)
		mops := []history.Mop{s.poll(q, rapid.IntRange(0, jq).Draw(t, "from-q"), len(s.committed[q])),
			s.poll(p, rapid.IntRange(0, jp-1).Draw(t, "from-p"), jp)}
		i := int64(len(s.h.Ops))
		s.op(mops, true)
		var cycles []checker.Finding
		for _, f := range checker.TxnCycles(s.h, checker.Run{}, checker.Deps{WW: rapid.Bool().Draw(t, "ww"), RW: true}) {
			if slices.Contains(cycleNames, f.Name) {
				cycles = append(cycles, f)
			}
		}
		if len(cycles) != 1 || cycles[0].Name != string(checker.GSingle) || !slices.Contains(cycles[0].Ops, i) || !slices.Contains(cycles[0].Ops, j) {
			t.Fatalf("want one G-single through ops %d and %d, got %v", i, j, cycles)
		}
	})
}
