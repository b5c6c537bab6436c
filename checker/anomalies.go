package checker

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// Anomalies finds Kafka anomalies in a history: every rule of the package
// documentation. Findings are sorted by time and carry the run's seed and
// replay command.
func Anomalies(h *model.History, run Run) []Finding {
	a := newAnalysis(h)
	var fs []Finding
	for _, tp := range a.tps {
		p := a.parts[tp]
		fs = append(fs, merge(a.inconsistent(p))...)
		lost, unseen := a.lostWrites(p)
		fs = append(fs, merge(lost)...)
		fs = append(fs, unseen...)
		fs = append(fs, merge(a.duplicates(p))...)
		fs = append(fs, merge(a.badReads(p))...)
		fs = append(fs, merge(a.lostCommitted(p))...)
	}
	fs = append(fs, a.polls()...)
	fs = append(fs, a.sends()...)
	fs = append(fs, a.offsets()...)
	for i := range fs {
		fs[i].Seed, fs[i].Replay = run.Seed, run.Replay
	}
	sortFindings(fs)
	return fs
}

// analysis indexes a history by partition, value and offset.
type analysis struct {
	h     *model.History
	end   time.Duration // the last completion
	tps   []model.TopicPartition
	parts map[model.TopicPartition]*part
	final map[model.TopicPartition]*model.ReplicaState // final leader logs
	// runs are the successful polls' runs per partition, by invocation.
	runs map[model.TopicPartition][]pollRun
}

type vkey string

// part is what the history says of one partition.
type part struct {
	tp model.TopicPartition
	// sends by record, and ok sends by the offset they got.
	sends  map[vkey][]*model.Op
	claims map[int64][]*model.Op
	// seen: what reads (polls and final committed logs) saw at each
	// offset; where: at which offsets each record was seen.
	seen  map[int64]map[vkey][]obs
	where map[vkey][]int64 // with repeats
	// present: records in the final log of the partition's leader, or,
	// without one, in any replica's final log.
	present map[int64]map[vkey]bool
	// order is every offset a read saw a record at, sorted: the log's
	// version order.
	order  []int64
	values map[vkey]model.Bytes
}

// obs is one observation of a record: by a poll (op >= 0) or in a final
// log (op < 0, broker set).
type obs struct {
	op     *model.Op
	broker int32
	at     time.Duration
}

func (o obs) String() string {
	if o.op == nil {
		return fmt.Sprintf("the final log of broker %d", o.broker)
	}
	return fmt.Sprintf("op %d (%s, poll at %v)", o.op.ID, o.op.Client, o.op.Complete)
}

func keyOf(key, value model.Bytes) vkey {
	b := make([]byte, 0, len(key)+len(value)+8)
	if key == nil {
		b = append(b, 'n')
	} else {
		b = append(b, 'k')
		b = strconv.AppendInt(b, int64(len(key)), 10)
		b = append(b, ':')
		b = append(b, key...)
	}
	if value == nil {
		b = append(b, 'n')
	} else {
		b = append(b, 'v')
		b = append(b, value...)
	}
	return vkey(b)
}

func newAnalysis(h *model.History) *analysis {
	a := &analysis{h: h, parts: make(map[model.TopicPartition]*part), final: make(map[model.TopicPartition]*model.ReplicaState),
		runs: make(map[model.TopicPartition][]pollRun)}
	get := func(tp model.TopicPartition) *part {
		p, ok := a.parts[tp]
		if !ok {
			p = &part{tp: tp, sends: make(map[vkey][]*model.Op), claims: make(map[int64][]*model.Op),
				seen: make(map[int64]map[vkey][]obs), where: make(map[vkey][]int64),
				present: make(map[int64]map[vkey]bool), values: make(map[vkey]model.Bytes)}
			a.parts[tp] = p
		}
		return p
	}
	see := func(p *part, r model.Record, o obs) {
		k := keyOf(r.Key, r.Value)
		p.values[k] = r.Value
		if p.seen[r.Offset] == nil {
			p.seen[r.Offset] = make(map[vkey][]obs)
		}
		p.seen[r.Offset][k] = append(p.seen[r.Offset][k], o)
		if w := p.where[k]; len(w) == 0 || w[len(w)-1] != r.Offset {
			p.where[k] = append(w, r.Offset)
		}
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		a.end = max(a.end, op.Complete)
		switch {
		case op.Kind == model.KindSend && op.Send.Partition >= 0:
			p := get(op.Send.TP())
			k := keyOf(op.Send.Key, op.Send.Value)
			p.values[k] = op.Send.Value
			p.sends[k] = append(p.sends[k], op)
			if op.Effective() == model.OK {
				p.claims[op.Send.Offset] = append(p.claims[op.Send.Offset], op)
			}
		case op.Kind == model.KindPoll && op.Outcome == model.OK:
			for _, pp := range op.Poll.Parts {
				p := get(pp.TP())
				for _, r := range pp.Records {
					see(p, r, obs{op: op, at: op.Complete})
				}
				if len(pp.Records) > 0 {
					start := pp.Position
					if start < 0 || start > pp.Records[0].Offset {
						start = pp.Records[0].Offset
					}
					a.runs[pp.TP()] = append(a.runs[pp.TP()], pollRun{op, start, pp.Records[len(pp.Records)-1].Offset})
				}
			}
		}
	}
	for _, f := range model.FinalLogs(h) {
		a.final[f.TP] = &f
	}
	for i := range h.Replicas {
		r := &h.Replicas[i]
		if !r.Online {
			continue
		}
		p := get(r.TP)
		leader := a.final[r.TP]
		for _, rec := range r.Records {
			k := keyOf(rec.Key, rec.Value)
			p.values[k] = rec.Value
			if leader == nil || leader.Broker == r.Broker {
				if p.present[rec.Offset] == nil {
					p.present[rec.Offset] = make(map[vkey]bool)
				}
				p.present[rec.Offset][k] = true
			}
			if rec.Offset < r.HighWatermark {
				see(p, rec, obs{broker: r.Broker, at: a.end})
			}
		}
	}
	for tp, p := range a.parts {
		p.order = slices.Sorted(maps.Keys(p.seen))
		a.tps = append(a.tps, tp)
		slices.SortStableFunc(a.runs[tp], func(x, y pollRun) int { return cmp.Compare(x.op.Invoke, y.op.Invoke) })
	}
	slices.SortFunc(a.tps, model.TopicPartition.Compare)
	return a
}

// existing returns the offsets in [from, to) at which reads saw records.
func (p *part) existing(from, to int64) []int64 {
	if from >= to {
		return nil
	}
	i, _ := slices.BinarySearch(p.order, from)
	j, _ := slices.BinarySearch(p.order, to)
	return p.order[i:j]
}

func describeSend(op *model.Op) string {
	s := fmt.Sprintf("send op %d (%s, acks=%s", op.ID, op.Client, op.Send.Acks)
	if op.Send.Idempotent {
		s += ", idempotent"
	}
	switch op.Effective() {
	case model.OK:
		return s + fmt.Sprintf(", acknowledged at %v)", op.Complete)
	case model.Fail:
		return s + fmt.Sprintf(", failed with %s at %v)", op.Error, op.Complete)
	}
	if op.Error != "" {
		return s + fmt.Sprintf(", outcome unknown: %s)", op.Error)
	}
	return s + ", outcome unknown)"
}

func hasPoll(os []obs) bool {
	for _, o := range os {
		if o.op != nil {
			return true
		}
	}
	return false
}

func describeObs(os []obs) string {
	if len(os) == 1 {
		return "read by " + os[0].String()
	}
	return fmt.Sprintf("read by %s and %d more", os[0], len(os)-1)
}

// inconsistent: two reads, or a read and an acknowledged send, disagree on
// the record at one offset.
func (a *analysis) inconsistent(p *part) []Finding {
	var fs []Finding
	offsets := slices.Sorted(maps.Keys(p.seen))
	for _, o := range slices.Sorted(maps.Keys(p.claims)) {
		if p.seen[o] == nil {
			offsets = append(offsets, o)
		}
	}
	slices.Sort(offsets)
	for _, o := range offsets {
		if !conflict(p.seen[o], p.claims[o]) {
			continue
		}
		type version struct {
			k      vkey
			strong bool
			desc   string
			at     time.Duration
			ops    []int64
		}
		byKey := make(map[vkey]*version)
		for k, os := range p.seen[o] {
			v := &version{k: k, strong: true, desc: describeObs(os), at: os[0].at}
			for _, ob := range os {
				if ob.op != nil {
					v.ops = append(v.ops, ob.op.ID)
				}
				v.at = min(v.at, ob.at)
			}
			byKey[k] = v
		}
		for _, op := range p.claims[o] {
			k := keyOf(op.Send.Key, op.Send.Value)
			v := byKey[k]
			if v == nil {
				v = &version{k: k, desc: "acknowledged to " + describeSend(op), at: op.Complete}
				byKey[k] = v
			}
			v.ops = append(v.ops, op.ID)
			if op.Send.Acks == model.AcksAll {
				v.strong = true
			}
		}
		if len(byKey) < 2 {
			continue
		}
		vs := slices.SortedFunc(maps.Values(byKey), func(x, y *version) int {
			return cmp.Or(cmp.Compare(x.at, y.at), strings.Compare(string(x.k), string(y.k)))
		})
		strong := 0
		var descs []string
		f := Finding{Name: string(InconsistentOffsets), TP: p.tp, Offsets: []int64{o}}
		for _, v := range vs {
			if v.strong {
				strong++
			}
			f.Values = append(f.Values, p.values[v.k])
			f.Ops = append(f.Ops, v.ops...)
			descs = append(descs, fmt.Sprintf("%s (%s)", p.values[v.k], v.desc))
		}
		f.At = vs[1].at
		f.Class = Consistency
		f.Message = fmt.Sprintf("%d different records at one offset: %s", len(vs), strings.Join(descs, "; "))
		if strong < 2 {
			f.Class = Expected
			f.Message += "; all but one are acks=1 writes the leader acknowledged before replicating, which acks=1 may lose"
		}
		fs = append(fs, f)
	}
	return fs
}

// conflict reports whether reads and acknowledged sends name more than one
// record at an offset.
func conflict(seen map[vkey][]obs, claims []*model.Op) bool {
	if len(seen) > 1 {
		return true
	}
	var one vkey
	for k := range seen {
		one = k
	}
	for _, op := range claims {
		k := keyOf(op.Send.Key, op.Send.Value)
		if len(seen) == 0 && one == "" {
			one = k
		}
		if k != one {
			return true
		}
	}
	return false
}

// covers returns the earliest read that began after `after` and saw past
// offset o from at or before it: a read that would have returned the
// record at o if it were there. Final logs cover their committed offsets;
// the final leader's covers every offset from its start on (a record past
// its end is gone too).
func (a *analysis) covers(tp model.TopicPartition, o int64, after time.Duration) (obs, bool) {
	runs := a.runs[tp]
	i, _ := slices.BinarySearchFunc(runs, after, func(r pollRun, t time.Duration) int { return cmp.Compare(r.op.Invoke, t) })
	best, found := obs{}, false
	for _, r := range runs[i:] {
		if r.start <= o && o <= r.last && (!found || r.op.Complete < best.at) {
			best, found = obs{op: r.op, at: r.op.Complete}, true
		}
		if found && r.op.Invoke > best.at {
			break
		}
	}
	if found {
		return best, true
	}
	leader := a.final[tp]
	for i := range a.h.Replicas {
		r := &a.h.Replicas[i]
		if r.TP != tp || !r.Online || o < r.LogStartOffset {
			continue
		}
		if o < r.HighWatermark || (leader != nil && leader.Broker == r.Broker) {
			return obs{broker: r.Broker, at: a.end}, true
		}
	}
	return obs{}, false
}

// pollRun is the run of offsets one poll read from one partition.
type pollRun struct {
	op          *model.Op
	start, last int64
}

// lostWrites: acknowledged sends whose record no later read or final log
// has at its offset, although one covered it; and those nobody could have
// read (unseen).
func (a *analysis) lostWrites(p *part) (lost, unseen []Finding) {
	var unseenOffsets []int64
	var unseenOps []int64
	var unseenAt time.Duration
	for _, o := range slices.Sorted(maps.Keys(p.claims)) {
		for _, op := range p.claims[o] {
			k := keyOf(op.Send.Key, op.Send.Value)
			if hasPoll(p.seen[o][k]) || p.present[o][k] {
				continue
			}
			cover, ok := a.covers(p.tp, o, op.Complete)
			if !ok {
				unseenOffsets = append(unseenOffsets, o)
				unseenOps = append(unseenOps, op.ID)
				unseenAt = max(unseenAt, op.Complete)
				continue
			}
			f := Finding{Name: string(LostWrite), Class: DataLoss, TP: p.tp, Offsets: []int64{o}, Values: []model.Bytes{op.Send.Value},
				Ops: []int64{op.ID}, At: cover.at}
			if cover.op != nil {
				f.Ops = append(f.Ops, cover.op.ID)
			}
			instead := "nothing"
			if vs := p.seen[o]; len(vs) > 0 {
				var names []string
				for _, k := range slices.Sorted(maps.Keys(vs)) {
					names = append(names, p.values[k].String())
				}
				instead = strings.Join(names, " and ")
			}
			f.Message = fmt.Sprintf("%s was acknowledged to %s, but %s has %s at that offset", op.Send.Value, describeSend(op), cover, instead)
			if op.Send.Acks != model.AcksAll {
				f.Class = Expected
				f.Message += "; acks=1 allows this: the leader acknowledged before any follower had the record"
			}
			lost = append(lost, f)
		}
	}
	if len(unseenOffsets) > 0 {
		unseen = append(unseen, Finding{Name: string(Unseen), Class: Note, TP: p.tp, Offsets: unseenOffsets, Ops: unseenOps, At: unseenAt,
			Message: fmt.Sprintf("%s acknowledged but never read, and no read or final log reached their offsets", plural(len(unseenOffsets), "record"))})
	}
	return lost, unseen
}

// duplicates: one sent record at two offsets.
func (a *analysis) duplicates(p *part) []Finding {
	type dup struct {
		k       vkey
		offsets []int64
	}
	var dups []dup
	for k, where := range p.where {
		offs := where
		for _, op := range p.sends[k] {
			if op.Effective() == model.OK && op.Send.Offset != where[0] {
				offs = append(slices.Clip(offs), op.Send.Offset)
			}
		}
		if !slices.ContainsFunc(offs, func(o int64) bool { return o != offs[0] }) {
			continue
		}
		offs = slices.Clone(offs)
		slices.Sort(offs)
		dups = append(dups, dup{k, slices.Compact(offs)})
	}
	slices.SortFunc(dups, func(x, y dup) int { return cmp.Compare(x.offsets[0], y.offsets[0]) })
	var fs []Finding
	for _, d := range dups {
		sends := p.sends[d.k]
		f := Finding{Name: string(Duplicate), Class: Expected, TP: p.tp, Offsets: d.offsets, Values: []model.Bytes{p.values[d.k]}}
		var at time.Duration = math.MaxInt64
		for _, o := range d.offsets {
			for _, ob := range p.seen[o][d.k] {
				at = min(at, ob.at)
				if ob.op != nil {
					f.Ops = append(f.Ops, ob.op.ID)
				}
			}
		}
		for _, op := range sends {
			f.Ops = append(f.Ops, op.ID)
		}
		if at == math.MaxInt64 {
			at = a.end
		}
		f.At = at
		where := fmt.Sprintf("%s is at offset %d and again at %s", p.values[d.k], d.offsets[0], offsetList(d.offsets[1:]))
		switch {
		case len(sends) == 0:
			f.Class = Consistency
			f.Message = where + ", and no send produced it"
		case len(sends) > 1:
			f.Message = fmt.Sprintf("%s; it was sent %d times (ops %v)", where, len(sends), opIDs(sends))
		case sends[0].Send.Idempotent:
			f.Class = Consistency
			f.Message = fmt.Sprintf("%s, though %s was idempotent: the broker must keep one copy of a retried batch", where, describeSend(sends[0]))
		default:
			f.Message = fmt.Sprintf("%s: %s retried without enable.idempotence, which may write a record twice", where, describeSend(sends[0]))
		}
		// One finding per record, at its first offset; merge joins a
		// duplicated batch.
		f.Offsets = d.offsets[:1]
		fs = append(fs, f)
	}
	return fs
}

func offsetList(os []int64) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = fmt.Sprint(o)
	}
	return strings.Join(s, ", ")
}

func opIDs(ops []*model.Op) []int64 {
	out := make([]int64, len(ops))
	for i, op := range ops {
		out[i] = op.ID
	}
	return out
}

// badReads: reads of a record whose every send definitely failed (G1a),
// or that no send produced.
func (a *analysis) badReads(p *part) []Finding {
	var fs []Finding
	for _, o := range p.order {
		for _, k := range slices.Sorted(maps.Keys(p.seen[o])) {
			os := p.seen[o][k]
			sends := p.sends[k]
			f := Finding{TP: p.tp, Offsets: []int64{o}, Values: []model.Bytes{p.values[k]}, Class: Consistency, At: os[0].at}
			for _, ob := range os {
				f.At = min(f.At, ob.at)
				if ob.op != nil {
					f.Ops = append(f.Ops, ob.op.ID)
				}
			}
			if len(sends) == 0 {
				f.Name = string(UnsentValue)
				f.Message = fmt.Sprintf("%s was %s, but no send in the history produced it in %s", p.values[k], describeObs(os), p.tp)
				fs = append(fs, f)
				continue
			}
			failed := true
			for _, op := range sends {
				failed = failed && op.Effective() == model.Fail
			}
			if failed {
				f.Name = string(G1a)
				f.Ops = append(f.Ops, opIDs(sends)...)
				f.Message = fmt.Sprintf("%s was %s, but its %s: an aborted write became visible", p.values[k], describeObs(os), describeSend(sends[0]))
				fs = append(fs, f)
			}
		}
	}
	return fs
}

// lostCommitted: records consumers read (so they were below the high-water
// mark, committed) that the final leader's log no longer has at their
// offset.
func (a *analysis) lostCommitted(p *part) []Finding {
	leader := a.final[p.tp]
	if leader == nil {
		return nil
	}
	at := make(map[int64]model.Record, len(leader.Records))
	for _, r := range leader.Records {
		at[r.Offset] = r
	}
	var fs []Finding
	for _, o := range p.order {
		if o < leader.LogStartOffset {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(p.seen[o])) {
			var polls []obs
			for _, ob := range p.seen[o][k] {
				if ob.op != nil {
					polls = append(polls, ob)
				}
			}
			if len(polls) == 0 {
				continue
			}
			r, ok := at[o]
			if ok && keyOf(r.Key, r.Value) == k {
				continue
			}
			has := "no record"
			if ok {
				has = r.Value.String()
			}
			f := Finding{Name: string(LostCommitted), Class: DataLoss, TP: p.tp, Offsets: []int64{o}, Values: []model.Bytes{p.values[k]},
				Brokers: []int32{leader.Broker}, At: a.end, Ops: []int64{polls[0].op.ID},
				Message: fmt.Sprintf("%s was %s, so it was below the high-water mark, but the final log of leader %d has %s at that offset",
					p.values[k], describeObs(polls), leader.Broker, has)}
			fs = append(fs, f)
		}
	}
	return fs
}

// consumerState is what the checker expects of one consumer in one
// partition: the offset of the next record it should read.
type consumerState struct {
	next  int64
	known bool
	why   string // what set next: "poll op 12", "seek op 3", ...
	// movedAt is when a seek last moved the consumer: a poll invoked
	// before it (the seek happened inside the poll call, as a position
	// reset after truncation does) reports a position from before the
	// move, which says nothing about skips.
	movedAt time.Duration
}

// polls: per consumer and partition, successive reads must neither skip
// records nor go back, unless a seek, assignment or rebalance moved the
// consumer in between.
func (a *analysis) polls() []Finding {
	byClient := make(map[string][]*model.Op)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		switch op.Kind {
		case model.KindPoll, model.KindSeek, model.KindAssign, model.KindSubscribe, model.KindRebalance:
			byClient[op.Client] = append(byClient[op.Client], op)
		}
	}
	var fs []Finding
	for _, client := range slices.Sorted(maps.Keys(byClient)) {
		ops := byClient[client]
		// A poll's records are observed when it returns, and a consumer's
		// rebalances and position resets happen inside its poll calls (the
		// rebalance callbacks run there): order polls by completion, the
		// instantaneous seeks and membership changes by their time.
		slices.SortStableFunc(ops, func(x, y *model.Op) int {
			return cmp.Or(cmp.Compare(observed(x), observed(y)), cmp.Compare(x.ID, y.ID))
		})
		state := make(map[model.TopicPartition]*consumerState)
		for _, op := range ops {
			if op.Outcome != model.OK {
				continue
			}
			switch op.Kind {
			case model.KindAssign, model.KindSubscribe:
				clear(state)
			case model.KindRebalance:
				for _, tp := range op.Membership.Assigned {
					delete(state, tp)
				}
				for _, tp := range op.Membership.Revoked {
					delete(state, tp)
				}
			case model.KindSeek:
				state[op.Seek.TP()] = &consumerState{next: op.Seek.Offset, known: true, why: fmt.Sprintf("seek op %d", op.ID), movedAt: op.Invoke}
			case model.KindPoll:
				for _, pp := range op.Poll.Parts {
					st := state[pp.TP()]
					if st == nil {
						st = &consumerState{}
						state[pp.TP()] = st
					}
					fs = append(fs, a.pollPart(op, &pp, st)...)
				}
			}
		}
	}
	return fs
}

// observed is when an operation took effect for the consumer's position:
// a poll when it returned its records, anything else when it happened.
func observed(op *model.Op) time.Duration {
	if op.Kind == model.KindPoll {
		return op.Complete
	}
	return op.Invoke
}

func (a *analysis) pollPart(op *model.Op, pp *model.PollPart, st *consumerState) []Finding {
	p := a.parts[pp.TP()]
	var fs []Finding
	add := func(name FindingName, offsets []int64, msg string) {
		fs = append(fs, Finding{Name: string(name), Class: Consistency, TP: pp.TP(), Offsets: offsets, Ops: []int64{op.ID}, At: op.Complete,
			Message: fmt.Sprintf("consumer %s: %s", op.Client, msg)})
	}
	skipped := func(from, to int64) []int64 {
		if p == nil {
			return nil
		}
		return p.existing(from, to)
	}
	// Between polls: from where the consumer was left to where this poll
	// starts (its position, then its first record).
	step := func(x int64, what string) {
		if !st.known {
			st.next, st.known = x, true
			return
		}
		const free = "with no seek, assignment or rebalance in between"
		switch s := skipped(st.next, x); {
		case x < st.next:
			add(NonmonotonicPoll, []int64{x}, fmt.Sprintf("%s offset %d, but %s left it at %d: it went back, %s", what, x, st.why, st.next, free))
		case len(s) > 0:
			add(PollSkip, s, fmt.Sprintf("%s offset %d, but %s left it at %d: it skipped %s others read (%s), %s",
				what, x, st.why, st.next, plural(len(s), "record"), offsetRanges(s), free))
		}
		st.next = x
	}
	if pp.Position >= 0 && !(st.known && st.movedAt > op.Invoke) {
		step(pp.Position, fmt.Sprintf("poll op %d started at", op.ID))
		st.why = fmt.Sprintf("poll op %d's position", op.ID)
	}
	for i, r := range pp.Records {
		if i == 0 {
			step(r.Offset, fmt.Sprintf("poll op %d returned first", op.ID))
		} else {
			prev := pp.Records[i-1].Offset
			switch s := skipped(prev+1, r.Offset); {
			case r.Offset <= prev:
				add(IntNonmonotonicPoll, []int64{r.Offset}, fmt.Sprintf("poll op %d returned offset %d after offset %d", op.ID, r.Offset, prev))
			case len(s) > 0:
				add(IntPollSkip, s, fmt.Sprintf("poll op %d returned offset %d right after offset %d, skipping %s others read (%s)",
					op.ID, r.Offset, prev, plural(len(s), "record"), offsetRanges(s)))
			}
		}
		st.next = r.Offset + 1
		st.why = fmt.Sprintf("poll op %d", op.ID)
	}
	return fs
}

// sends: one producer's acknowledged sends to one partition get
// increasing offsets in the order they were sent.
func (a *analysis) sends() []Finding {
	type key struct {
		client string
		tp     model.TopicPartition
	}
	groups := make(map[key][]*model.Op)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		if op.Kind == model.KindSend && op.Effective() == model.OK {
			k := key{op.Client, op.Send.TP()}
			groups[k] = append(groups[k], op)
		}
	}
	keys := slices.SortedFunc(maps.Keys(groups), func(x, y key) int {
		return cmp.Or(strings.Compare(x.client, y.client), x.tp.Compare(y.tp))
	})
	var fs []Finding
	for _, k := range keys {
		ops := groups[k]
		// A poll's records are observed when it returns, and a consumer's
		// rebalances and position resets happen inside its poll calls (the
		// rebalance callbacks run there): order polls by completion, the
		// instantaneous seeks and membership changes by their time.
		slices.SortStableFunc(ops, func(x, y *model.Op) int {
			return cmp.Or(cmp.Compare(observed(x), observed(y)), cmp.Compare(x.ID, y.ID))
		})
		for i := 1; i < len(ops); i++ {
			prev, op := ops[i-1], ops[i]
			if op.Send.Offset > prev.Send.Offset {
				continue
			}
			f := Finding{Name: string(NonmonotonicSend), Class: Consistency, TP: k.tp, Offsets: []int64{prev.Send.Offset, op.Send.Offset},
				Values: []model.Bytes{prev.Send.Value, op.Send.Value}, Ops: []int64{prev.ID, op.ID}, At: op.Complete}
			sequential := prev.Complete < op.Invoke
			f.Message = fmt.Sprintf("producer %s sent %s (op %d) after %s (op %d), yet got offset %d after %d",
				k.client, op.Send.Value, op.ID, prev.Send.Value, prev.ID, op.Send.Offset, prev.Send.Offset)
			switch {
			case sequential && prev.Send.Acks != model.AcksAll:
				f.Class = Expected
				f.Message += ": the log lost the earlier acks=1 record and reused its offset, which acks=1 allows"
			case sequential:
				f.Message += ": the log went back after acknowledging an acks=all record"
			case !op.Send.Idempotent || !prev.Send.Idempotent:
				f.Class = Expected
				f.Message += ": the sends overlapped, and without enable.idempotence a retry may reorder them"
			default:
				f.Message += ": the idempotent producer must keep the order of its sends to a partition"
			}
			fs = append(fs, f)
		}
	}
	return fs
}

// offsets: a fetch of committed offsets may return the value of any commit
// that could be the latest before it, never an older one.
func (a *analysis) offsets() []Finding {
	type key struct {
		group string
		tp    model.TopicPartition
	}
	type commit struct {
		op     *model.Op
		offset int64
		end    time.Duration // completion; forever when the outcome is unknown
	}
	type fetch struct {
		op     *model.Op
		offset int64
	}
	commits := make(map[key][]commit)
	rejected := make(map[key]map[int64]*model.Op)
	fetches := make(map[key][]fetch)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		switch {
		case op.Kind == model.KindCommit:
			eff := op.Effective()
			if eff == model.Fail {
				for _, c := range op.Offsets.Offsets {
					k := key{op.Offsets.Group, c.TP()}
					if rejected[k] == nil {
						rejected[k] = make(map[int64]*model.Op)
					}
					rejected[k][c.Offset] = op
				}
				continue
			}
			end := op.Complete
			if eff == model.Unknown {
				end = math.MaxInt64
			}
			for _, c := range op.Offsets.Offsets {
				k := key{op.Offsets.Group, c.TP()}
				commits[k] = append(commits[k], commit{op, c.Offset, end})
			}
		case op.Kind == model.KindFetchCommitted && op.Outcome == model.OK:
			for _, c := range op.Offsets.Offsets {
				k := key{op.Offsets.Group, c.TP()}
				fetches[k] = append(fetches[k], fetch{op, c.Offset})
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(fetches), func(x, y key) int {
		return cmp.Or(strings.Compare(x.group, y.group), x.tp.Compare(y.tp))
	})
	var fs []Finding
	for _, k := range keys {
		cs := commits[k]
		for _, f := range fetches[k] {
			// latest: the acknowledged commit that certainly preceded the
			// fetch and was invoked last; a commit that ended before it
			// began is certainly overwritten.
			var latest *commit
			for i := range cs {
				c := &cs[i]
				if c.end != math.MaxInt64 && c.end < f.op.Invoke && (latest == nil || c.op.Invoke > latest.op.Invoke) {
					latest = c
				}
			}
			legal := f.offset == -1 && latest == nil
			for _, c := range cs {
				if c.offset == f.offset && c.op.Invoke <= f.op.Complete && (latest == nil || c.end >= latest.op.Invoke) {
					legal = true
				}
			}
			if legal {
				continue
			}
			name := CommittedOffsetRegression
			want := "nothing was committed before it"
			if latest != nil {
				want = fmt.Sprintf("the latest acknowledged commit before it was %d, by op %d (%s) at %v", latest.offset, latest.op.ID, latest.op.Client, latest.op.Complete)
				if f.offset > latest.offset {
					name = CommittedOffsetInconsistent
				}
			}
			got := fmt.Sprint(f.offset)
			if f.offset < 0 {
				got = "no committed offset"
			}
			if r := rejected[k][f.offset]; r != nil {
				got += fmt.Sprintf(", which only commit op %d wrote, and it was rejected with %s", r.ID, r.Error)
			}
			fd := Finding{Name: string(name), Class: Consistency, TP: k.tp, Group: k.group, Offsets: []int64{f.offset}, Ops: []int64{f.op.ID}, At: f.op.Complete,
				Message: fmt.Sprintf("fetch-committed op %d (%s) returned %s, but %s", f.op.ID, f.op.Client, got, want)}
			if latest != nil {
				fd.Offsets = append(fd.Offsets, latest.offset)
				fd.Ops = append(fd.Ops, latest.op.ID)
			}
			fs = append(fs, fd)
		}
	}
	return fs
}
