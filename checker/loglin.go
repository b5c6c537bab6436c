package checker

import (
	"cmp"
	"encoding/binary"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// The log checker decides, for each partition, what porcupine decides for
// the log model of Porcupine, in O(n log n) time and O(n) memory.
//
// In that model a partition's log only ever holds the offsets that sends
// claim, in order: a send is legal only at the smallest claimed offset past
// the log's end. Two sends that claim one offset, or a send that claims a
// negative one, can never both be placed: the partition is illegal. Else
// the sends form a chain s_0 < s_1 < ... < s_{K-1} sorted by offset, and
// the log's state is how many of them were applied, j in [0, K]. Whether a
// read is legal at state j does not depend on the order in which the other
// operations were placed: a poll that returned records is legal from the
// state that holds its last record on (its records must be the chain's
// records at consecutive claims, and the first must be the first claim at
// or past its position), a final log with records exactly at that state,
// and an empty final log at every state whose last claim is below its
// start offset. So every read needs the state to lie in an interval
// [lo, hi] fixed in advance: it must come after s_{lo-1} and before s_hi.
//
// A linearization is then an order of the operations that keeps the
// chain's order, puts each read between its two sends, and never places an
// operation after one that was invoked after it returned (porcupine orders
// a call before a return at the same time). Such an order exists exactly
// when each operation can be given a point in time within [call, return]
// such that the points never decrease along the order. The earliest point
// each operation can get is the latest call among the operations that must
// precede it, itself included; computing it along the chain takes one
// pass, and the history is linearizable exactly when every operation's
// earliest point is no later than its return.

// logSend is a send the log model keeps: an acknowledged one at its
// offset, or one whose outcome was unknown at the lowest offset it was
// read at.
type logSend struct {
	offset    int64
	call, ret int64
	op        int32 // index in History.Ops
	unknown   bool
	send      *history.Send // the send (one of a txn's, for a txn)
}

// logRead is a poll that returned records from the partition, or the final
// log of its leader.
type logRead struct {
	call, ret int64
	// pos is a poll's position, or the final log's start offset; end the
	// final log's end offset.
	pos, end int64
	records  []history.Record
	op       int32 // index in History.Ops; -1 for the final log
	part     int32 // index of the poll's part; the final log's broker
	final    bool
}

// logPartition holds the operations of one partition's log, as the
// porcupine conversion (Linearization) keeps them.
type logPartition struct {
	tp    model.TopicPartition
	sends []logSend
	reads []logRead
}

// ops counts the operations, as porcupine's partition would.
func (p *logPartition) ops() int { return len(p.sends) + len(p.reads) }

// cost is the work the log checker spends on the partition, in steps: one
// per operation and one per record a read returned.
func (p *logPartition) cost() int64 {
	n := int64(p.ops())
	for i := range p.reads {
		n += int64(len(p.reads[i].records))
	}
	return n
}

// logRef names one operation of a logPartition: a send or a read, by
// index.
type logRef struct {
	read bool
	i    int32
}

// collectLogs converts a history's log operations exactly as
// Linearization does, without porcupine's boxing: partitions are
// sorted, and each holds its sends and reads in history order.
func collectLogs(h *history.History) []*logPartition {
	ids := make(map[model.TopicPartition]int32)
	var parts []*logPartition
	id := func(tp model.TopicPartition) int32 {
		i, ok := ids[tp]
		if !ok {
			i = int32(len(parts))
			ids[tp] = i
			parts = append(parts, nil)
		}
		return i
	}
	// A first pass sizes each partition's operations, at most.
	type size struct{ sends, reads int }
	var sizes []size
	var end time.Duration
	for i := range h.Ops {
		op := &h.Ops[i]
		end = max(end, op.Complete)
		for _, s := range op.Sends() {
			if s.Partition >= 0 {
				tpid := id(s.TP())
				sizes = append(sizes, make([]size, len(parts)-len(sizes))...)
				sizes[tpid].sends++
			}
		}
		if op.Outcome == history.OK {
			pps := op.PollParts()
			for j := range pps {
				if pp := &pps[j]; len(pp.Records) > 0 {
					tpid := id(pp.TP())
					sizes = append(sizes, make([]size, len(parts)-len(sizes))...)
					sizes[tpid].reads++
				}
			}
		}
	}
	part := func(i int32, tp model.TopicPartition) *logPartition {
		if parts[i] == nil {
			parts[i] = &logPartition{tp: tp}
			if int(i) < len(sizes) {
				parts[i].sends = make([]logSend, 0, sizes[i].sends)
				parts[i].reads = make([]logRead, 0, sizes[i].reads+1) // and the final log
			}
		}
		return parts[i]
	}
	// Sends whose outcome is unknown take the lowest offset any read saw
	// their record at, and return when the first reader did: one slot per
	// record (partition, key and value), shared by the sends of that
	// record.
	type seen struct {
		offset, ret int64
		ok          bool
	}
	// A send whose offset is known only from reads: one of unknown
	// outcome, or a txn's send whose offset the client did not report.
	type unknownSend struct {
		op, slot int32
		send     *history.Send
		ok       bool // the send succeeded; only its offset is unknown
	}
	var (
		slotOf   map[string]int32
		slots    []seen
		unknowns []unknownSend
		key      []byte
	)
	for i := range h.Ops {
		op := &h.Ops[i]
		for _, s := range op.Sends() {
			if s.Partition < 0 {
				continue
			}
			tp := s.TP()
			eff := op.Effective()
			if eff == history.OK && s.Offset >= 0 {
				p := part(id(tp), tp)
				p.sends = append(p.sends, logSend{offset: s.Offset, call: int64(op.Invoke), ret: max(int64(op.Complete), int64(op.Invoke)), op: int32(i), send: s})
				continue
			}
			if eff != history.OK && eff != history.Unknown {
				continue
			}
			if slotOf == nil {
				slotOf = make(map[string]int32)
			}
			key = recordID(key[:0], id(tp), s.Key, s.Value)
			slot, ok := slotOf[string(key)]
			if !ok {
				slot = int32(len(slots))
				slotOf[string(key)] = slot
				slots = append(slots, seen{})
			}
			unknowns = append(unknowns, unknownSend{op: int32(i), slot: slot, send: s, ok: eff == history.OK})
		}
	}
	note := func(tpid int32, r *history.Record, ret int64) {
		key = recordID(key[:0], tpid, r.Key, r.Value)
		slot, ok := slotOf[string(key)]
		if !ok {
			return
		}
		s := &slots[slot]
		if !s.ok {
			*s = seen{r.Offset, ret, true}
			return
		}
		s.offset, s.ret = min(s.offset, r.Offset), min(s.ret, ret)
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Outcome != history.OK {
			continue
		}
		pps := op.PollParts()
		for j := range pps {
			pp := &pps[j]
			if len(pp.Records) == 0 {
				continue
			}
			tp := pp.TP()
			tpid := id(tp)
			pos := pp.Position
			if pos < 0 {
				pos = pp.Records[0].Offset
			}
			p := part(tpid, tp)
			p.reads = append(p.reads, logRead{call: int64(op.Invoke), ret: int64(op.Complete), pos: pos, records: pp.Records, op: int32(i), part: int32(j)})
			if len(slots) > 0 {
				for k := range pp.Records {
					note(tpid, &pp.Records[k], int64(op.Complete))
				}
			}
		}
	}
	for _, f := range FinalLogs(h) {
		tpid := id(f.TP)
		p := part(tpid, f.TP)
		if from := f.CheckedFrom(); from > f.LogStartOffset {
			// Compacted below the cleaner's point: checked by key.
			i, _ := slices.BinarySearchFunc(f.Records, from, func(r history.Record, o int64) int { return cmp.Compare(r.Offset, o) })
			f.Records = f.Records[i:]
		}
		p.reads = append(p.reads, logRead{call: int64(end) + 1, ret: Forever, pos: f.CheckedFrom(), end: f.LogEndOffset,
			records: f.Records, op: -1, part: f.Broker, final: true})
		if len(slots) > 0 {
			for k := range f.Records {
				note(tpid, &f.Records[k], Forever)
			}
		}
	}
	for _, u := range unknowns {
		s := slots[u.slot]
		if !s.ok {
			continue // nobody read it: taking it not to have happened is always consistent
		}
		op := &h.Ops[u.op]
		tp := u.send.TP()
		p := part(ids[tp], tp)
		if u.ok {
			p.sends = append(p.sends, logSend{offset: s.offset, call: int64(op.Invoke), ret: max(int64(op.Complete), int64(op.Invoke)), op: u.op, send: u.send})
			continue
		}
		p.sends = append(p.sends, logSend{offset: s.offset, call: int64(op.Invoke), ret: max(s.ret, int64(op.Invoke)), op: u.op, unknown: true, send: u.send})
	}
	// A compacted topic's records vanish by design when a later record of
	// their key supersedes them: its partitions are checked by key
	// (compaction-lost-key and the by-key excuses of the anomalies), not
	// as linearizable logs.
	cfg := h.Header.RunConfig()
	parts = slices.DeleteFunc(parts, func(p *logPartition) bool { return p == nil || cfg.Topic(p.tp.Topic).Compacts() })
	slices.SortFunc(parts, func(a, b *logPartition) int { return a.tp.Compare(b.tp) })
	return parts
}

// recordID appends a record's identity within its partition: the
// partition's id, then its key and value, with null distinct from empty.
func recordID(b []byte, tpid int32, key, value model.Bytes) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(tpid))
	var nulls byte
	if key == nil {
		nulls |= 1
	}
	if value == nil {
		nulls |= 2
	}
	b = append(b, nulls)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, value...)
}

// logVerdict is the log checker's answer for one partition.
type logVerdict struct {
	ok bool
	// When not ok: a partial linearization, the operation that fits
	// nowhere after it (of those left out, the first to return), and the
	// other operations left out that were invoked before stuck returned.
	longest []logRef
	stuck   logRef
	leftOut []logRef
}

// logSolver holds one partition's chain of sends and the intervals of
// its reads.
type logSolver struct {
	p     *logPartition
	h     *history.History
	chain []int32 // the sends that make up the log, by offset
	pos   []int32 // each send's place in chain; -1 if it has none
	// offsets of the chain's sends.
	offsets []int64
	// Each read's interval of states, unless bad.
	lo, hi  []int32
	readBad []bool
	// bounded are the good reads that must precede a send, by hi.
	bounded []int32
}

// never is the earliest point of an operation that fits nowhere.
const never = math.MaxInt64

// check decides whether the partition's operations have a linearization
// in the log model. It sorts p.sends by offset.
func (p *logPartition) check(h *history.History) logVerdict {
	sends := p.sends
	slices.SortFunc(sends, func(a, b logSend) int {
		return cmp.Or(cmp.Compare(a.offset, b.offset), cmp.Compare(a.ret, b.ret), cmp.Compare(a.call, b.call), cmp.Compare(a.op, b.op))
	})
	s := &logSolver{p: p, h: h, chain: make([]int32, 0, len(sends)), pos: make([]int32, len(sends)), offsets: make([]int64, 0, len(sends))}
	// The chain: one send per claimed offset. The others can never be
	// placed.
	failed := false
	for i := range sends {
		s.pos[i] = -1
		if sends[i].offset < 0 || (i > 0 && sends[i].offset == sends[i-1].offset) {
			failed = true
			continue
		}
		s.pos[i] = int32(len(s.chain))
		s.chain = append(s.chain, int32(i))
		s.offsets = append(s.offsets, sends[i].offset)
	}
	k := int32(len(s.chain))
	s.lo, s.hi, s.readBad = make([]int32, len(p.reads)), make([]int32, len(p.reads)), make([]bool, len(p.reads))
	for i := range p.reads {
		l, u, ok := p.interval(h, &p.reads[i], s.chain, s.offsets)
		s.lo[i], s.hi[i], s.readBad[i] = l, u, !ok
		if !ok {
			failed = true
		} else if u < k {
			s.bounded = append(s.bounded, int32(i))
		}
	}
	slices.SortStableFunc(s.bounded, func(a, b int32) int { return cmp.Compare(s.hi[a], s.hi[b]) })
	sendAt := s.points(false)
	for j, c := range s.chain {
		failed = failed || sendAt[j] > sends[c].ret
	}
	for i := range p.reads {
		failed = failed || (!s.readBad[i] && s.readAt(sendAt, int32(i)) > p.reads[i].ret)
	}
	if !failed {
		return logVerdict{ok: true}
	}
	// Two explanations: one that keeps every constraint, and one that
	// leaves out the reads that must precede a send (a final log that
	// lacks records), which places every send that fits otherwise. The
	// one that places more is closer to porcupine's longest.
	v := s.explain(sendAt, false)
	if len(s.bounded) > 0 {
		if w := s.explain(s.points(true), true); len(w.longest) > len(v.longest) {
			v = w
		}
	}
	return v
}

// points returns the earliest point at which each send of the chain can
// take effect: the latest call among the operations that must precede it,
// itself included. Relaxed, the reads that must precede a send are left
// out.
func (s *logSolver) points(relaxed bool) []int64 {
	sends := s.p.sends
	sendAt := make([]int64, len(s.chain))
	prev := int64(math.MinInt64)
	b := 0
	for j, c := range s.chain {
		t := max(prev, sends[c].call)
		for ; !relaxed && b < len(s.bounded) && s.hi[s.bounded[b]] == int32(j); b++ {
			t = max(t, s.readAt(sendAt, s.bounded[b]))
		}
		sendAt[j], prev = t, t
	}
	return sendAt
}

// readAt returns the earliest point of a good read.
func (s *logSolver) readAt(sendAt []int64, i int32) int64 {
	t := s.p.reads[i].call
	if s.lo[i] > 0 {
		t = max(t, sendAt[s.lo[i]-1])
	}
	return t
}

// explain finds the first operation to return of those that fit nowhere,
// given the sends' earliest points, and the operations that fit before
// it returned, in an order that is a partial linearization.
func (s *logSolver) explain(sendAt []int64, relaxed bool) logVerdict {
	p, h := s.p, s.h
	at := func(r logRef) (int64, bool) { // earliest point, and whether it fits
		if r.read {
			if s.readBad[r.i] {
				return never, false
			}
			t := s.readAt(sendAt, r.i)
			fits := t <= p.reads[r.i].ret
			if relaxed && s.hi[r.i] < int32(len(s.chain)) {
				fits = fits && t <= sendAt[s.hi[r.i]]
			}
			return t, fits
		}
		if s.pos[r.i] < 0 {
			return never, false
		}
		t := sendAt[s.pos[r.i]]
		return t, t <= p.sends[r.i].ret
	}
	callOf := func(r logRef) int64 {
		if r.read {
			return p.reads[r.i].call
		}
		return p.sends[r.i].call
	}
	retOf := func(r logRef) int64 {
		if r.read {
			return p.reads[r.i].ret
		}
		return p.sends[r.i].ret
	}
	rank := func(r logRef) int32 {
		if r.read {
			return 2*s.lo[r.i] + 1
		}
		return 2*s.pos[r.i] + 2
	}
	all := make([]logRef, 0, p.ops())
	for i := range p.sends {
		all = append(all, logRef{false, int32(i)})
	}
	for i := range p.reads {
		all = append(all, logRef{true, int32(i)})
	}
	var stuck logRef
	found := false
	for _, r := range all {
		if _, fits := at(r); fits {
			continue
		}
		if !found || cmp.Or(cmp.Compare(retOf(r), retOf(stuck)), cmp.Compare(callOf(r), callOf(stuck)), cmp.Compare(p.opID(h, r), p.opID(h, stuck))) < 0 {
			stuck, found = r, true
		}
	}
	v := logVerdict{stuck: stuck}
	limit := retOf(stuck)
	for _, r := range all {
		if t, fits := at(r); fits && t <= limit {
			v.longest = append(v.longest, r)
		} else if r != stuck && callOf(r) <= limit {
			v.leftOut = append(v.leftOut, r)
		}
	}
	slices.SortFunc(v.longest, func(a, b logRef) int {
		ta, _ := at(a)
		tb, _ := at(b)
		return cmp.Or(cmp.Compare(ta, tb), cmp.Compare(rank(a), rank(b)), cmp.Compare(p.opID(h, a), p.opID(h, b)))
	})
	slices.SortFunc(v.leftOut, func(a, b logRef) int {
		return cmp.Or(cmp.Compare(callOf(a), callOf(b)), cmp.Compare(p.opID(h, a), p.opID(h, b)))
	})
	return v
}

// interval returns the states [lo, hi] at which read r is legal, or false
// if there is none: chain lists the sends that make up the log, in order,
// and offsets their offsets.
func (p *logPartition) interval(h *history.History, r *logRead, chain []int32, offsets []int64) (int32, int32, bool) {
	k := int32(len(chain))
	rs := r.records
	if len(rs) == 0 {
		if !r.final {
			return 0, k, true // an empty poll says nothing
		}
		// An empty final log: the log holds nothing from its start on.
		if r.pos <= -1 {
			return 0, 0, false
		}
		return 0, int32(sort.Search(len(offsets), func(i int) bool { return offsets[i] >= r.pos })), true
	}
	a, ok := slices.BinarySearch(offsets, rs[0].Offset)
	if !ok || a+len(rs) > len(offsets) {
		return 0, 0, false
	}
	for j := range rs {
		s := &p.sends[chain[a+j]]
		send := s.send
		if offsets[a+j] != rs[j].Offset || !send.Key.Equal(rs[j].Key) || !send.Value.Equal(rs[j].Value) {
			return 0, 0, false
		}
	}
	// Nothing between the position and the first record returned.
	before := int64(-1)
	if a > 0 {
		before = offsets[a-1]
	}
	if rs[0].Offset < r.pos || before >= r.pos {
		return 0, 0, false
	}
	at := int32(a + len(rs))
	if r.final {
		// The final log ends with its last record: the log holds nothing
		// after it.
		if rs[len(rs)-1].Offset >= r.end {
			return 0, 0, false
		}
		return at, at, true
	}
	return at, k, true
}

// opID is the history op id of an operation; -1 for the final log.
func (p *logPartition) opID(h *history.History, r logRef) int64 {
	if r.read {
		if p.reads[r.i].final {
			return -1
		}
		return h.Ops[p.reads[r.i].op].ID
	}
	return h.Ops[p.sends[r.i].op].ID
}

// describe renders an operation as the log model describes it.
func (p *logPartition) describe(h *history.History, r logRef) string {
	if r.read {
		rd := &p.reads[r.i]
		return DescribeRead(rd.final, rd.part, rd.pos, rd.end, rd.records)
	}
	s := &p.sends[r.i]
	send := s.send
	return DescribeSend(send.Key, send.Value, s.offset, s.unknown)
}
