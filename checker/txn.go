package checker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// A txnEdge is a dependency between two operations, derived from offsets
// as Elle derives them for Kafka: ww (the second wrote the version right
// after the first's in a partition's order), wr (the second read a record
// the first wrote).
type txnEdge struct {
	to   int32 // index into txnGraph.ops
	kind depKind
	tp   model.TopicPartition
	val  model.Bytes
}

type depKind uint8

const (
	depWW depKind = 1 << iota
	depWR
)

func (k depKind) String() string {
	if k == depWW {
		return "ww"
	}
	return "wr"
}

// txnGraph is the dependency graph of a history's operations.
type txnGraph struct {
	ops   []*history.Op
	edges [][]txnEdge
}

// TxnCycles finds Elle's dependency cycles among a history's operations
// (only when it holds txn operations, whose operations both send and
// poll): G0, a cycle of ww dependencies (with wwDeps, as Jepsen's
// :ww-deps option: Kafka orders each partition on its own, so
// transactions may interleave differently on two partitions unless a
// workload rules it out), and G1c, a cycle of ww and wr dependencies with
// at least one wr. It also finds precommitted reads: a transaction that
// polled a record it sent itself, before its commit (read_committed
// consumers see only committed records). Operations that failed take no
// part: reading their records is G1a.
func TxnCycles(h *history.History, run Run, wwDeps bool) []Finding {
	if !slices.ContainsFunc(h.Ops, func(op history.Op) bool { return op.Kind == history.KindTxn }) {
		return nil
	}
	g := buildTxnGraph(h, wwDeps)
	var fs []Finding
	fs = append(fs, precommittedReads(h)...)
	if wwDeps {
		fs = append(fs, g.cycles(depWW, G0)...)
	}
	fs = append(fs, g.cycles(depWW|depWR, G1c)...)
	for i := range fs {
		fs[i].Seed, fs[i].Replay = run.Seed, run.Replay
	}
	sortFindings(fs)
	return fs
}

// versioned is a record at an offset of a partition's version order.
type versioned struct {
	offset int64
	key    vkey
	val    model.Bytes
}

func buildTxnGraph(h *history.History, wwDeps bool) *txnGraph {
	g := &txnGraph{}
	index := map[int64]int32{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Outcome == history.Fail || (op.Kind != history.KindTxn && op.Kind != history.KindSend && op.Kind != history.KindPoll) {
			continue
		}
		index[op.ID] = int32(len(g.ops))
		g.ops = append(g.ops, op)
	}
	g.edges = make([][]txnEdge, len(g.ops))
	type pk struct {
		tp model.TopicPartition
		k  vkey
	}
	writer := map[pk]int32{}
	// The version order: every offset a send of a taken operation or a
	// poll reported, first report winning.
	orders := map[model.TopicPartition]map[int64]versioned{}
	note := func(tp model.TopicPartition, off int64, k vkey, v model.Bytes) {
		if off < 0 {
			return
		}
		m := orders[tp]
		if m == nil {
			m = map[int64]versioned{}
			orders[tp] = m
		}
		if _, ok := m[off]; !ok {
			m[off] = versioned{offset: off, key: k, val: v}
		}
	}
	for i, op := range g.ops {
		for _, s := range op.Sends() {
			tp := s.TP()
			k := keyOf(s.Key, s.Value)
			if _, ok := writer[pk{tp, k}]; !ok {
				writer[pk{tp, k}] = int32(i)
			}
			note(tp, s.Offset, k, s.Value)
		}
		for _, p := range op.Polls() {
			for _, pp := range p.Parts {
				for _, r := range pp.Records {
					note(pp.TP(), r.Offset, keyOf(r.Key, r.Value), r.Value)
				}
			}
		}
	}
	add := func(from, to int32, e txnEdge) {
		if from == to {
			return
		}
		e.to = to
		g.edges[from] = append(g.edges[from], e)
	}
	for i, op := range g.ops {
		for _, p := range op.Polls() {
			for _, pp := range p.Parts {
				for _, r := range pp.Records {
					if w, ok := writer[pk{pp.TP(), keyOf(r.Key, r.Value)}]; ok {
						add(w, int32(i), txnEdge{kind: depWR, tp: pp.TP(), val: r.Value})
					}
				}
			}
		}
	}
	if wwDeps {
		for _, tp := range slices.SortedFunc(maps.Keys(orders), model.TopicPartition.Compare) {
			offs := slices.Sorted(maps.Keys(orders[tp]))
			prev := int32(-1)
			for _, o := range offs {
				v := orders[tp][o]
				w, ok := writer[pk{tp, v.key}]
				if !ok {
					prev = -1
					continue
				}
				if prev >= 0 {
					add(prev, w, txnEdge{kind: depWW, tp: tp, val: v.val})
				}
				prev = w
			}
		}
	}
	return g
}

// sccs returns the strongly connected components of more than one
// operation of the subgraph of the given edge kinds (Tarjan's algorithm,
// iterative), each sorted, in order of their first operation.
func (g *txnGraph) sccs(kinds depKind) [][]int32 {
	n := len(g.ops)
	idx := make([]int32, n)
	low := make([]int32, n)
	on := make([]bool, n)
	for i := range idx {
		idx[i] = -1
	}
	var stack []int32
	var out [][]int32
	next := int32(0)
	type frame struct {
		v int32
		e int
	}
	for s := 0; s < n; s++ {
		if idx[s] >= 0 {
			continue
		}
		call := []frame{{v: int32(s)}}
		idx[s], low[s] = next, next
		next++
		stack = append(stack, int32(s))
		on[s] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			if f.e < len(g.edges[v]) {
				e := g.edges[v][f.e]
				f.e++
				if e.kind&kinds == 0 {
					continue
				}
				w := e.to
				if idx[w] < 0 {
					idx[w], low[w] = next, next
					next++
					stack = append(stack, w)
					on[w] = true
					call = append(call, frame{v: w})
				} else if on[w] {
					low[v] = min(low[v], idx[w])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				low[p] = min(low[p], low[v])
			}
			if low[v] == idx[v] {
				var comp []int32
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					on[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > 1 {
					slices.Sort(comp)
					out = append(out, comp)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b []int32) int { return int(a[0] - b[0]) })
	return out
}

// cycles reports one cycle per strongly connected component of the
// subgraph of kinds: G0 for ww alone, G1c (which needs a wr edge) for ww
// and wr.
func (g *txnGraph) cycles(kinds depKind, name FindingName) []Finding {
	var fs []Finding
	for _, comp := range g.sccs(kinds) {
		in := make(map[int32]bool, len(comp))
		for _, v := range comp {
			in[v] = true
		}
		var cyc []txnStep
		for _, v := range comp {
			for _, e := range g.edges[v] {
				if !in[e.to] || e.kind&kinds == 0 || (name == G1c && e.kind != depWR) {
					continue
				}
				if path := g.path(e.to, v, kinds, in); path != nil {
					cyc = append([]txnStep{{from: v, edge: e}}, path...)
					break
				}
			}
			if cyc != nil {
				break
			}
		}
		if cyc == nil {
			continue
		}
		fs = append(fs, g.cycleFinding(name, cyc))
	}
	return fs
}

type txnStep struct {
	from int32
	edge txnEdge
}

// path finds a shortest path from a to b within the component (breadth
// first), as steps; nil if none.
func (g *txnGraph) path(a, b int32, kinds depKind, in map[int32]bool) []txnStep {
	if a == b {
		return []txnStep{}
	}
	prev := map[int32]txnStep{a: {from: -1}}
	queue := []int32{a}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, e := range g.edges[v] {
			if e.kind&kinds == 0 || !in[e.to] {
				continue
			}
			if _, seen := prev[e.to]; seen {
				continue
			}
			prev[e.to] = txnStep{from: v, edge: e}
			if e.to == b {
				var out []txnStep
				for x := b; x != a; x = prev[x].from {
					out = append(out, prev[x])
				}
				slices.Reverse(out)
				return out
			}
			queue = append(queue, e.to)
		}
	}
	return nil
}

func (g *txnGraph) cycleFinding(name FindingName, cyc []txnStep) Finding {
	var ops []int64
	var steps []string
	var at = g.ops[cyc[0].from].Complete
	for _, s := range cyc {
		op := g.ops[s.from]
		ops = append(ops, op.ID)
		at = max(at, op.Complete)
		steps = append(steps, fmt.Sprintf("op %d -%s(%s %s)-> op %d", op.ID, s.edge.kind, s.edge.tp, s.edge.val, g.ops[s.edge.to].ID))
	}
	what := "a cycle of write-write dependencies: the transactions' writes are ordered differently on different partitions"
	if name == G1c {
		what = "a cycle of write-read and write-write dependencies: each transaction saw, or came after, the other's effects"
	}
	return Finding{Name: string(name), Class: Consistency, TP: cyc[0].edge.tp, Ops: ops, At: at,
		Message: fmt.Sprintf("%s: %s", what, strings.Join(steps, ", "))}
}

// precommittedReads finds transactions that polled a record they sent
// themselves (Jepsen's precommitted-read): a read_committed consumer never
// sees a transaction's records before it commits.
func precommittedReads(h *history.History) []Finding {
	var fs []Finding
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindTxn || op.Txn == nil {
			continue
		}
		sent := map[model.TopicPartition]map[vkey]bool{}
		for _, m := range op.Txn.Mops {
			if s := m.Send; s != nil {
				if sent[s.TP()] == nil {
					sent[s.TP()] = map[vkey]bool{}
				}
				sent[s.TP()][keyOf(s.Key, s.Value)] = true
				continue
			}
			if m.Poll == nil {
				continue
			}
			for _, pp := range m.Poll.Parts {
				for _, r := range pp.Records {
					if sent[pp.TP()][keyOf(r.Key, r.Value)] {
						fs = append(fs, Finding{Name: string(PrecommittedRead), Class: Consistency, TP: pp.TP(), Offsets: []int64{r.Offset},
							Values: []model.Bytes{r.Value}, Ops: []int64{op.ID}, At: op.Complete,
							Message: fmt.Sprintf("op %d polled %s at offset %d, which it sent itself before committing", op.ID, r.Value, r.Offset)})
					}
				}
			}
		}
	}
	return fs
}

// ExactlyOnce checks consume-transform-produce pipelines (transactions
// whose output records name their input with history.SourceHeader): every
// input record was output by exactly one committed transaction. A source
// output by two committed transactions is eos-duplicate; an input record
// known to exist (acknowledged or read) below the highest offset a
// committed transaction processed on its partition, output by none, is
// eos-lost.
func ExactlyOnce(h *history.History, run Run) []Finding {
	type src struct {
		tp  model.TopicPartition
		off int64
	}
	by := map[src][]int64{}
	high := map[model.TopicPartition]int64{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindTxn || op.Outcome != history.OK {
			continue
		}
		for _, s := range op.Sends() {
			for _, hd := range s.Headers {
				if hd.Key != history.SourceHeader {
					continue
				}
				tp, off, ok := parseSource(string(hd.Value))
				if !ok {
					continue
				}
				k := src{tp, off}
				if !slices.Contains(by[k], op.ID) {
					by[k] = append(by[k], op.ID)
				}
				if cur, seen := high[tp]; !seen || off > cur {
					high[tp] = off
				}
			}
		}
	}
	if len(by) == 0 {
		return nil
	}
	known := map[src]model.Bytes{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind == history.KindSend && op.Outcome == history.OK && op.Send.Offset >= 0 {
			known[src{op.Send.TP(), op.Send.Offset}] = op.Send.Value
		}
		if op.Kind == history.KindPoll && op.Poll != nil {
			for _, pp := range op.Poll.Parts {
				for _, r := range pp.Records {
					known[src{pp.TP(), r.Offset}] = r.Value
				}
			}
		}
	}
	var fs []Finding
	keys := slices.SortedFunc(maps.Keys(by), func(a, b src) int {
		if c := a.tp.Compare(b.tp); c != 0 {
			return c
		}
		return int(a.off - b.off)
	})
	for _, k := range keys {
		if ops := by[k]; len(ops) > 1 {
			fs = append(fs, Finding{Name: string(EOSDuplicate), Class: Consistency, TP: k.tp, Offsets: []int64{k.off}, Ops: ops,
				At:      h.Ops[ops[1]].Complete,
				Message: fmt.Sprintf("input %s offset %d was processed by %d committed transactions (ops %v): its output is there %d times", k.tp, k.off, len(ops), ops, len(ops))})
		}
	}
	lost := slices.SortedFunc(maps.Keys(known), func(a, b src) int {
		if c := a.tp.Compare(b.tp); c != 0 {
			return c
		}
		return int(a.off - b.off)
	})
	for _, k := range lost {
		m, ok := high[k.tp]
		if !ok || k.off >= m || len(by[k]) > 0 {
			continue
		}
		fs = append(fs, Finding{Name: string(EOSLost), Class: DataLoss, TP: k.tp, Offsets: []int64{k.off}, Values: []model.Bytes{known[k]},
			Message: fmt.Sprintf("input %s offset %d (%s) lies below offset %d, which a committed transaction processed, but no committed transaction output it", k.tp, k.off, known[k], m)})
	}
	for i := range fs {
		fs[i].Seed, fs[i].Replay = run.Seed, run.Replay
	}
	sortFindings(fs)
	return fs
}

// parseSource reads "<topic>-<partition>@<offset>".
func parseSource(s string) (model.TopicPartition, int64, bool) {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return model.TopicPartition{}, 0, false
	}
	dash := strings.LastIndexByte(s[:at], '-')
	if dash < 0 {
		return model.TopicPartition{}, 0, false
	}
	p, err1 := strconv.ParseInt(s[dash+1:at], 10, 32)
	off, err2 := strconv.ParseInt(s[at+1:], 10, 64)
	if err1 != nil || err2 != nil {
		return model.TopicPartition{}, 0, false
	}
	return model.TopicPartition{Topic: s[:dash], Partition: int32(p)}, off, true
}
