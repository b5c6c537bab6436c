package checker

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// A txnEdge is a dependency between two operations, derived from offsets
// as Elle derives them for Kafka: ww (the second wrote the version right
// after the first's in a partition's order), wr (the second read a record
// the first wrote), rw (an anti-dependency: the first polled a partition
// up to an offset, and the second wrote the version right after it, which
// the first did not see).
type txnEdge struct {
	to   int32 // index into txnGraph.ops
	kind depKind
	tp   model.TopicPartition
	val  model.Bytes // the record the edge is about: written by the second operation, or (wr) read by it
	// For rw: the last offset the first operation read, and the offset of
	// the second's record after it.
	read, off int64
}

type depKind uint8

const (
	depWW depKind = 1 << iota
	depWR
	depRW
)

func (k depKind) String() string {
	switch k {
	case depWW:
		return "ww"
	case depRW:
		return "rw"
	}
	return "wr"
}

// Deps chooses the dependencies the transaction cycle check derives
// besides write-read ones, which it always derives.
type Deps struct {
	// WW adds write-write dependencies (Jepsen's :ww-deps), which find
	// G0: Kafka orders each partition on its own, so transactions may
	// interleave differently on two partitions unless a workload rules it
	// out.
	WW bool
	// RW adds read-write anti-dependencies, which find G-single and G2:
	// Kafka's transactions isolate writes (read_committed), not reads, and
	// a poll is no snapshot of several partitions, so these cycles are
	// Kafka's to allow unless a workload rules them out.
	RW bool
}

// txnGraph is the dependency graph of a history's operations.
type txnGraph struct {
	ops   []*history.Op
	edges [][]txnEdge
}

// TxnCycles finds Elle's dependency cycles among a history's operations
// (only when it holds txn operations, whose operations both send and
// poll): G0, a cycle of ww dependencies (with deps.WW), G1c, a cycle of
// ww and wr dependencies with at least one wr, and, with deps.RW,
// G-single, a cycle with exactly one rw anti-dependency, and G2, a cycle
// with more than one. It also finds precommitted reads: a transaction that
// polled a record it sent itself, before its commit (read_committed
// consumers see only committed records). Operations that failed take no
// part: reading their records is G1a.
func TxnCycles(h *history.History, run Run, deps Deps) []Finding {
	if !slices.ContainsFunc(h.Ops, func(op history.Op) bool { return op.Kind == history.KindTxn }) {
		return nil
	}
	g := buildTxnGraph(h, deps)
	var fs []Finding
	fs = append(fs, precommittedReads(h)...)
	if deps.WW {
		fs = append(fs, g.cycles(depWW, G0)...)
	}
	fs = append(fs, g.cycles(depWW|depWR, G1c)...)
	if deps.RW {
		fs = append(fs, g.antiCycles()...)
	}
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

func buildTxnGraph(h *history.History, deps Deps) *txnGraph {
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
	if !deps.WW && !deps.RW {
		return g
	}
	var reads map[model.TopicPartition][]lastRead
	if deps.RW {
		reads = g.lastReads()
	}
	for _, tp := range slices.SortedFunc(maps.Keys(orders), model.TopicPartition.Compare) {
		offs := slices.Sorted(maps.Keys(orders[tp]))
		if deps.WW {
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
		if deps.RW {
			g.antiDependencies(tp, reads[tp], offs, orders[tp], func(k vkey) (int32, bool) {
				w, ok := writer[pk{tp, k}]
				return w, ok
			}, add)
		}
	}
	return g
}

// lastRead is an operation's highest read offset in a partition.
type lastRead struct {
	op  int32
	off int64
}

// lastReads returns, per partition, each operation's highest read offset
// there, in operation order.
func (g *txnGraph) lastReads() map[model.TopicPartition][]lastRead {
	out := map[model.TopicPartition][]lastRead{}
	var mine []lastRead
	var tps []model.TopicPartition
	for i, op := range g.ops {
		mine, tps = mine[:0], tps[:0]
		for _, p := range op.Polls() {
			for _, pp := range p.Parts {
				for _, r := range pp.Records {
					tp := pp.TP()
					k := slices.Index(tps, tp)
					if k < 0 {
						tps = append(tps, tp)
						mine = append(mine, lastRead{op: int32(i), off: r.Offset})
					} else if r.Offset > mine[k].off {
						mine[k].off = r.Offset
					}
				}
			}
		}
		for k, tp := range tps {
			out[tp] = append(out[tp], mine[k])
		}
	}
	return out
}

// antiDependencies adds the rw edges of one partition: an operation that
// polled tp and read up to offset o (its highest read there) precedes the
// writer of the next version after o in the version order offs, which it
// did not see. As Elle draws them, only an operation's last read of a
// partition makes an rw edge: an edge from an earlier read would claim it
// missed records it went on to read.
func (g *txnGraph) antiDependencies(tp model.TopicPartition, reads []lastRead, offs []int64, order map[int64]versioned,
	writerOf func(vkey) (int32, bool), add func(from, to int32, e txnEdge)) {
	for _, r := range reads {
		j, found := slices.BinarySearch(offs, r.off)
		if found {
			j++
		}
		if j == len(offs) {
			continue
		}
		v := order[offs[j]]
		if w, ok := writerOf(v.key); ok {
			add(r.op, w, txnEdge{kind: depRW, tp: tp, val: v.val, read: r.off, off: v.offset})
		}
	}
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
	rw := 0
	for _, s := range cyc {
		op := g.ops[s.from]
		ops = append(ops, op.ID)
		at = max(at, op.Complete)
		if s.edge.kind == depRW {
			rw++
			steps = append(steps, fmt.Sprintf("op %d -rw(%s read up to offset %d, not %s at offset %d)-> op %d",
				op.ID, s.edge.tp, s.edge.read, s.edge.val, s.edge.off, g.ops[s.edge.to].ID))
			continue
		}
		steps = append(steps, fmt.Sprintf("op %d -%s(%s %s)-> op %d", op.ID, s.edge.kind, s.edge.tp, s.edge.val, g.ops[s.edge.to].ID))
	}
	var what string
	switch name {
	case G0:
		what = "a cycle of write-write dependencies: the transactions' writes are ordered differently on different partitions"
	case G1c:
		what = "a cycle of write-read and write-write dependencies: each transaction saw, or came after, the other's effects"
	case GSingle:
		what = "a cycle with exactly one read-write anti-dependency (read skew): a transaction did not see a write of one that, by the other edges, came before it"
	default:
		what = fmt.Sprintf("a cycle with %d read-write anti-dependencies (write skew): each of those transactions did not see a write of the next, so no serial order explains what they read", rw)
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

// antiSearchBudget bounds, in edges followed, the search for cycles with a
// single rw edge among those with several, per check: a component where
// every cycle has two rw edges or more costs a search per rw edge in it.
// Past the budget a component's cycle is reported as found, and named by
// its count of rw edges.
const antiSearchBudget = 50_000_000

// antiCycles reports one cycle per strongly connected component of the
// whole graph that holds an rw edge: G-single when a cycle through exactly
// one rw edge exists (an rw edge whose writer reaches its reader through
// ww and wr edges), else G2, a cycle through several.
func (g *txnGraph) antiCycles() []Finding {
	const plain = depWW | depWR
	comps := g.sccs(plain | depRW)
	if len(comps) == 0 {
		return nil
	}
	n := len(g.ops)
	comp := make([]int32, n)
	for i := range comp {
		comp[i] = -1
	}
	s := newSearch(n)
	budget := int64(antiSearchBudget)
	var fs []Finding
	for ci, c := range comps {
		for _, v := range c {
			comp[v] = int32(ci)
		}
		in := func(v int32) bool { return comp[v] == int32(ci) }
		var rws []txnStep
		for _, v := range c {
			for _, e := range g.edges[v] {
				if e.kind == depRW && in(e.to) {
					rws = append(rws, txnStep{from: v, edge: e})
				}
			}
		}
		if len(rws) == 0 {
			continue
		}
		// One search per target of an rw edge: the operations it reaches
		// through ww and wr edges; an rw edge into it from one of them
		// closes a cycle with that one rw edge.
		byTarget := slices.Clone(rws)
		slices.SortStableFunc(byTarget, func(a, b txnStep) int { return int(a.edge.to - b.edge.to) })
		var cyc []txnStep
		gaveUp := false
		for i := 0; i < len(byTarget) && cyc == nil; {
			to := byTarget[i].edge.to
			j := i
			for j < len(byTarget) && byTarget[j].edge.to == to {
				j++
			}
			if budget <= 0 {
				gaveUp = true
				break
			}
			s.reach(g, to, plain, in, &budget)
			for _, st := range byTarget[i:j] {
				if s.seen(st.from) {
					cyc = append([]txnStep{st}, s.pathTo(to, st.from)...)
					break
				}
			}
			i = j
		}
		if cyc == nil {
			// Every cycle has two rw edges or more: the shortest through
			// the first rw edge.
			st := rws[0]
			unbounded := int64(math.MaxInt64)
			s.reach(g, st.edge.to, plain|depRW, in, &unbounded)
			cyc = append([]txnStep{st}, s.pathTo(st.edge.to, st.from)...)
		}
		rw := 0
		for _, st := range cyc {
			if st.edge.kind == depRW {
				rw++
			}
		}
		name := GSingle
		if rw > 1 {
			name = G2
		}
		f := g.cycleFinding(name, cyc)
		if gaveUp && name == G2 {
			f.Message += fmt.Sprintf(" (the search for a cycle with a single rw edge stopped when its budget of %d steps ran out)", antiSearchBudget)
		}
		fs = append(fs, f)
	}
	return fs
}

// search is a breadth-first search over the graph that reuses its memory
// from one search to the next.
type search struct {
	gen   uint32
	mark  []uint32 // == gen: reached in this search
	prev  []txnStep
	queue []int32
}

func newSearch(n int) *search {
	return &search{mark: make([]uint32, n), prev: make([]txnStep, n)}
}

func (s *search) seen(v int32) bool { return s.mark[v] == s.gen }

// reach marks every operation that from reaches through edges of kinds
// between operations in, spending one unit of budget per edge followed.
func (s *search) reach(g *txnGraph, from int32, kinds depKind, in func(int32) bool, budget *int64) {
	s.gen++
	s.mark[from] = s.gen
	s.prev[from] = txnStep{from: -1}
	s.queue = append(s.queue[:0], from)
	for k := 0; k < len(s.queue) && *budget > 0; k++ {
		v := s.queue[k]
		for _, e := range g.edges[v] {
			*budget--
			if e.kind&kinds == 0 || s.mark[e.to] == s.gen || !in(e.to) {
				continue
			}
			s.mark[e.to] = s.gen
			s.prev[e.to] = txnStep{from: v, edge: e}
			s.queue = append(s.queue, e.to)
		}
	}
}

// pathTo returns the steps of the search's path from its start to v, which
// it reached.
func (s *search) pathTo(start, v int32) []txnStep {
	var out []txnStep
	for x := v; x != start; x = s.prev[x].from {
		out = append(out, s.prev[x])
	}
	slices.Reverse(out)
	return out
}
