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
	"github.com/kafkasim/kafkasim/model/history"
)

// Anomalies finds Kafka anomalies in a history: every rule of the package
// documentation. Findings are sorted by time and carry the run's seed and
// replay command.
func Anomalies(h *history.History, run Run) []Finding {
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
	fs = append(fs, a.keyMoves()...)
	fs = append(fs, a.ownersTwice()...)
	for i := range fs {
		fs[i].Seed, fs[i].Replay = run.Seed, run.Replay
	}
	sortFindings(fs)
	return fs
}

// Empty reports whether a history holds nothing to judge: no send and no
// poll. Jepsen's checker calls such a history invalid (its transaction
// graph is empty); kafkasim's commands refuse to call it ok.
func Empty(h *history.History) bool {
	for i := range h.Ops {
		if len(h.Ops[i].Sends()) > 0 || len(h.Ops[i].Polls()) > 0 {
			return false
		}
	}
	return true
}

// analysis indexes a history by partition, value and offset.
type analysis struct {
	h     *history.History
	end   time.Duration // the last completion
	tps   []model.TopicPartition
	parts map[model.TopicPartition]*part
	final map[model.TopicPartition]*history.ReplicaState // final leader logs
	// runs are the successful polls' runs per partition, by invocation.
	runs map[model.TopicPartition][]pollRun
	// blind is, per partition, the successful poll part without a
	// recorded position that read the highest offset (Jepsen's histories
	// record none).
	blind map[model.TopicPartition]blindRead
	// committed holds the operations whose sends count as acknowledged:
	// the successful ones, and those of unknown outcome one of whose
	// records was read (Jepsen's must-have-committed).
	committed map[*history.Op]bool
}

// blindRead is a read of offset last by a poll that recorded no position.
type blindRead struct {
	op   *history.Op
	last int64
}

type vkey string

// sendRef is one send of an operation (a txn may hold several).
type sendRef struct {
	op *history.Op
	s  *history.Send
}

// part is what the history says of one partition.
type part struct {
	tp model.TopicPartition
	// sends by record, and acknowledged sends by the offset they got.
	sends  map[vkey][]sendRef
	claims map[int64][]sendRef
	// seen: what reads (polls of any outcome, and final committed logs)
	// saw at each offset; where: at which offsets each record was seen.
	seen  map[int64]keyed[[]obs]
	where map[vkey][]int64 // with repeats
	// present: records in the final log of the partition's leader, or,
	// without one, in any replica's final log.
	present map[int64]keyed[bool]
	// lastOfKey is, in a compacted topic, each record key's latest offset
	// acknowledged or read (built on first use).
	lastOfKey map[string]int64
	// order is every offset a read saw a record at or an acknowledged
	// send got, sorted: the log's version order, as Jepsen builds it.
	order  []int64
	values map[vkey]model.Bytes
	// interned holds one copy of each record's key, so that the indexes
	// share it; buf is the scratch space key builds keys in.
	interned map[string]vkey
	buf      []byte
}

// obs is one observation of a record: by a poll (op set) or in a final
// log (op nil, broker set).
type obs struct {
	op     *history.Op
	broker int32
	at     time.Duration
}

// okRead reports whether the observation is a successful poll's or a
// final log's: a committed read, in Jepsen's words.
func (o obs) okRead() bool { return o.op == nil || o.op.Outcome == history.OK }

func (o obs) String() string {
	if o.op == nil {
		return fmt.Sprintf("the final log of broker %d", o.broker)
	}
	s := fmt.Sprintf("op %d (%s, poll at %v", o.op.ID, o.op.Client, o.op.Complete)
	if o.op.Outcome != history.OK {
		s += ", in an operation that " + map[history.Outcome]string{history.Fail: "failed", history.Unknown: "ended with an unknown outcome"}[o.op.Outcome]
	}
	return s + ")"
}

func keyOf(key, value model.Bytes) vkey {
	return vkey(appendKey(make([]byte, 0, len(key)+len(value)+8), key, value))
}

// appendKey appends a record's identity, its key and value, with null
// distinct from empty.
func appendKey(b []byte, key, value model.Bytes) []byte {
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
	return b
}

// key returns keyOf(key, value), one shared copy per record of the
// partition, and notes the record's value when it is new.
func (p *part) key(key, value model.Bytes) vkey {
	p.buf = appendKey(p.buf[:0], key, value)
	if k, ok := p.interned[string(p.buf)]; ok {
		return k
	}
	k := vkey(p.buf)
	p.interned[string(k)] = k
	p.values[k] = value
	return k
}

// keyed maps the records at one offset to what is known of each: mostly
// one record, so a short list in the order they were first noted.
type keyed[V any] []keyedEntry[V]

type keyedEntry[V any] struct {
	k vkey
	v V
}

// get returns what is known of record k, or the zero value.
func (s keyed[V]) get(k vkey) V {
	for i := range s {
		if s[i].k == k {
			return s[i].v
		}
	}
	var zero V
	return zero
}

// at returns where what is known of record k is kept, adding it if new.
func (s *keyed[V]) at(k vkey) *V {
	for i := range *s {
		if (*s)[i].k == k {
			return &(*s)[i].v
		}
	}
	*s = append(*s, keyedEntry[V]{k: k})
	return &(*s)[len(*s)-1].v
}

// keys returns the records, sorted.
func (s keyed[V]) keys() []vkey {
	out := make([]vkey, len(s))
	for i := range s {
		out[i] = s[i].k
	}
	slices.Sort(out)
	return out
}

func newAnalysis(h *history.History) *analysis {
	a := &analysis{h: h, parts: make(map[model.TopicPartition]*part), final: make(map[model.TopicPartition]*history.ReplicaState),
		runs: make(map[model.TopicPartition][]pollRun), blind: make(map[model.TopicPartition]blindRead), committed: make(map[*history.Op]bool)}
	get := func(tp model.TopicPartition) *part {
		p, ok := a.parts[tp]
		if !ok {
			p = &part{tp: tp, sends: make(map[vkey][]sendRef), claims: make(map[int64][]sendRef),
				seen: make(map[int64]keyed[[]obs]), where: make(map[vkey][]int64),
				present: make(map[int64]keyed[bool]), values: make(map[vkey]model.Bytes), interned: make(map[string]vkey)}
			a.parts[tp] = p
		}
		return p
	}
	see := func(p *part, r history.Record, o obs) {
		k := p.key(r.Key, r.Value)
		at := p.seen[r.Offset]
		os := at.at(k)
		*os = append(*os, o)
		p.seen[r.Offset] = at
		if w := p.where[k]; len(w) == 0 || w[len(w)-1] != r.Offset {
			p.where[k] = append(w, r.Offset)
		}
	}
	// Reads first: whether an operation of unknown outcome took effect
	// depends on them.
	for i := range h.Ops {
		op := &h.Ops[i]
		a.end = max(a.end, op.Complete)
		for _, poll := range op.Polls() {
			for _, pp := range poll.Parts {
				p := get(pp.TP())
				for _, r := range pp.Records {
					see(p, r, obs{op: op, at: op.Complete})
				}
				if len(pp.Records) == 0 || op.Outcome != history.OK {
					continue
				}
				last := pp.Records[len(pp.Records)-1].Offset
				start := pp.Position
				if start < 0 || start > pp.Records[0].Offset {
					start = pp.Records[0].Offset
				}
				a.runs[pp.TP()] = append(a.runs[pp.TP()], pollRun{op, start, last})
				if b, ok := a.blind[pp.TP()]; pp.Position < 0 && (!ok || last > b.last) {
					a.blind[pp.TP()] = blindRead{op, last}
				}
			}
		}
	}
	for _, f := range FinalLogs(h) {
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
			k := p.key(rec.Key, rec.Value)
			if leader == nil || leader.Broker == r.Broker {
				at := p.present[rec.Offset]
				*at.at(k) = true
				p.present[rec.Offset] = at
			}
			if rec.Offset < r.HighWatermark {
				see(p, rec, obs{broker: r.Broker, at: a.end})
			}
		}
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		sends := op.Sends()
		if len(sends) == 0 {
			continue
		}
		switch op.Effective() {
		case history.OK:
			a.committed[op] = true
		case history.Unknown:
			for _, s := range sends {
				if p := a.parts[s.TP()]; s.Partition >= 0 && p != nil && p.readBy(p.key(s.Key, s.Value), obs.okRead) {
					a.committed[op] = true
				}
			}
		}
		for _, s := range sends {
			if s.Partition < 0 {
				continue
			}
			p := get(s.TP())
			k := p.key(s.Key, s.Value)
			ref := sendRef{op, s}
			p.sends[k] = append(p.sends[k], ref)
			if a.acked(ref) {
				p.claims[s.Offset] = append(p.claims[s.Offset], ref)
			}
		}
	}
	for tp, p := range a.parts {
		order := slices.Collect(maps.Keys(p.seen))
		for o := range p.claims {
			if p.seen[o] == nil {
				order = append(order, o)
			}
		}
		slices.Sort(order)
		p.order = order
		a.tps = append(a.tps, tp)
		slices.SortStableFunc(a.runs[tp], func(x, y pollRun) int { return cmp.Compare(x.op.Invoke, y.op.Invoke) })
	}
	slices.SortFunc(a.tps, model.TopicPartition.Compare)
	return a
}

// acked reports whether a send is acknowledged at a known offset: its
// operation counts as committed and the client learned the offset.
func (a *analysis) acked(r sendRef) bool { return a.committed[r.op] && r.s.Offset >= 0 }

// readBy reports whether some observation that satisfies ok read record
// k, at any offset.
func (p *part) readBy(k vkey, ok func(obs) bool) bool {
	for _, o := range p.where[k] {
		if slices.ContainsFunc(p.seen[o].get(k), ok) {
			return true
		}
	}
	return false
}

// position returns where a send's record is in the version order: the
// offset it was acknowledged at, or else the first offset a read saw it
// at.
func (a *analysis) position(r sendRef) (int64, bool) {
	if a.acked(r) {
		return r.s.Offset, true
	}
	if p := a.parts[r.s.TP()]; p != nil {
		if w := p.where[p.key(r.s.Key, r.s.Value)]; len(w) > 0 {
			return slices.Min(w), true
		}
	}
	return 0, false
}

// valuesAt returns one record value per offset, for messages.
func (p *part) valuesAt(offsets []int64) []model.Bytes {
	out := make([]model.Bytes, 0, len(offsets))
	for _, o := range offsets {
		var keys []vkey
		for _, e := range p.seen[o] {
			keys = append(keys, e.k)
		}
		for _, r := range p.claims[o] {
			keys = append(keys, keyOf(r.s.Key, r.s.Value))
		}
		if len(keys) > 0 {
			out = append(out, p.values[slices.Min(keys)])
		}
	}
	return out
}

// existing returns the offsets in [from, to) of the version order: at
// which reads saw records or acknowledged sends got them.
func (p *part) existing(from, to int64) []int64 {
	if from >= to {
		return nil
	}
	i, _ := slices.BinarySearch(p.order, from)
	j, _ := slices.BinarySearch(p.order, to)
	return p.order[i:j]
}

func describeSend(r sendRef) string {
	op, s := r.op, r.s
	d := fmt.Sprintf("send op %d (%s, acks=%s", op.ID, op.Client, s.Acks)
	if s.Idempotent {
		d += ", idempotent"
	}
	switch op.Effective() {
	case history.OK:
		return d + fmt.Sprintf(", acknowledged at %v)", op.Complete)
	case history.Fail:
		return d + fmt.Sprintf(", failed with %s at %v)", op.Error, op.Complete)
	}
	if s.Offset >= 0 {
		d += fmt.Sprintf(", offset %d reported", s.Offset)
	}
	if op.Error != "" {
		d += fmt.Sprintf(", outcome unknown: %s", op.Error)
	} else {
		d += ", outcome unknown"
	}
	if len(op.Sends()) > 1 {
		d += ", another of its records was read"
	}
	return d + ")"
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
	for _, o := range p.order {
		if !p.conflict(p.seen[o], p.claims[o]) {
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
		for _, e := range p.seen[o] {
			k, os := e.k, e.v
			v := &version{k: k, strong: true, desc: describeObs(os), at: os[0].at}
			for _, ob := range os {
				if ob.op != nil {
					v.ops = append(v.ops, ob.op.ID)
				}
				v.at = min(v.at, ob.at)
			}
			byKey[k] = v
		}
		for _, r := range p.claims[o] {
			k := p.key(r.s.Key, r.s.Value)
			v := byKey[k]
			if v == nil {
				v = &version{k: k, desc: "acknowledged to " + describeSend(r), at: r.op.Complete}
				byKey[k] = v
			}
			v.ops = append(v.ops, r.op.ID)
			if r.s.Acks == model.AcksAll {
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
func (p *part) conflict(seen keyed[[]obs], claims []sendRef) bool {
	if len(seen) > 1 {
		return true
	}
	var one vkey
	if len(seen) == 1 {
		one = seen[0].k
	}
	for _, r := range claims {
		k := p.key(r.s.Key, r.s.Value)
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
		if r.TP != tp || !r.Online || o < r.CheckedFrom() {
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
	op          *history.Op
	start, last int64
}

// lostWrites: acknowledged sends whose record no later read or final log
// has at its offset, although one covered it, or (Jepsen's rule, for reads
// without a recorded position) that nobody read although a successful
// poll read past them; and those nobody could have read (unseen).
func (a *analysis) lostWrites(p *part) (lost, unseen []Finding) {
	var unseenOffsets []int64
	var unseenOps []int64
	var unseenAt time.Duration
	addUnseen := func(r sendRef) {
		if r.s.Offset >= 0 {
			unseenOffsets = append(unseenOffsets, r.s.Offset)
		}
		unseenOps = append(unseenOps, r.op.ID)
		unseenAt = max(unseenAt, r.op.Complete)
	}
	for _, o := range slices.Sorted(maps.Keys(p.claims)) {
		for _, r := range p.claims[o] {
			k := p.key(r.s.Key, r.s.Value)
			if hasPoll(p.seen[o].get(k)) || p.present[o].get(k) || a.superseded(p, o, r.s.Key) {
				continue
			}
			f := Finding{Name: string(LostWrite), Class: DataLoss, TP: p.tp, Offsets: []int64{o}, Values: []model.Bytes{r.s.Value}, Ops: []int64{r.op.ID}}
			instead := "nothing"
			if vs := p.seen[o]; len(vs) > 0 {
				var names []string
				for _, k := range vs.keys() {
					names = append(names, p.values[k].String())
				}
				instead = strings.Join(names, " and ")
			}
			if cover, ok := a.covers(p.tp, o, r.op.Complete); ok {
				f.At = cover.at
				if cover.op != nil {
					f.Ops = append(f.Ops, cover.op.ID)
				}
				f.Message = fmt.Sprintf("%s was acknowledged to %s, but %s has %s at that offset", r.s.Value, describeSend(r), cover, instead)
			} else if b, ok := a.blind[p.tp]; ok && b.last > o && !p.readBy(k, func(ob obs) bool { return ob.op != nil }) {
				f.At = max(b.op.Complete, r.op.Complete)
				f.Ops = append(f.Ops, b.op.ID)
				f.Message = fmt.Sprintf("%s was acknowledged to %s, but no poll ever read it, although op %d (%s) read up to offset %d with no recorded position, so every record before that offset should have been read",
					r.s.Value, describeSend(r), b.op.ID, b.op.Client, b.last)
			} else {
				addUnseen(r)
				continue
			}
			if r.s.Acks != model.AcksAll {
				f.Class = Expected
				f.Message += "; acks=1 allows this: the leader acknowledged before any follower had the record"
			}
			lost = append(lost, f)
		}
	}
	// Acknowledged sends whose offset the client did not report (in a
	// txn) and that nobody read.
	for _, k := range slices.Sorted(maps.Keys(p.sends)) {
		for _, r := range p.sends[k] {
			if r.op.Effective() == history.OK && r.s.Offset < 0 && r.s.Acks != model.AcksNone && !p.readBy(k, func(ob obs) bool { return ob.op != nil }) {
				addUnseen(r)
			}
		}
	}
	if len(unseenOps) > 0 {
		slices.Sort(unseenOffsets)
		unseenOffsets = slices.Compact(unseenOffsets)
		n := len(unseenOps)
		slices.Sort(unseenOps)
		unseenOps = slices.Compact(unseenOps)
		unseen = append(unseen, Finding{Name: string(Unseen), Class: Note, TP: p.tp, Offsets: unseenOffsets, Ops: unseenOps, At: unseenAt,
			Message: fmt.Sprintf("%s acknowledged but never read, and no read or final log reached their offsets", plural(n, "record"))})
	}
	return lost, unseen
}

// duplicates: one sent record at two offsets of the version order.
func (a *analysis) duplicates(p *part) []Finding {
	type dup struct {
		k       vkey
		offsets []int64
	}
	var dups []dup
	for k, sends := range p.sends {
		offs := slices.Clone(p.where[k])
		for _, r := range sends {
			if a.acked(r) {
				offs = append(offs, r.s.Offset)
			}
		}
		slices.Sort(offs)
		if offs = slices.Compact(offs); len(offs) > 1 {
			dups = append(dups, dup{k, offs})
		}
	}
	for k, where := range p.where {
		if len(p.sends[k]) == 0 && slices.ContainsFunc(where, func(o int64) bool { return o != where[0] }) {
			offs := slices.Clone(where)
			slices.Sort(offs)
			dups = append(dups, dup{k, slices.Compact(offs)})
		}
	}
	slices.SortFunc(dups, func(x, y dup) int {
		return cmp.Or(cmp.Compare(x.offsets[0], y.offsets[0]), strings.Compare(string(x.k), string(y.k)))
	})
	var fs []Finding
	for _, d := range dups {
		sends := p.sends[d.k]
		f := Finding{Name: string(Duplicate), Class: Expected, TP: p.tp, Offsets: d.offsets, Values: []model.Bytes{p.values[d.k]}}
		var at time.Duration = math.MaxInt64
		for _, o := range d.offsets {
			for _, ob := range p.seen[o].get(d.k) {
				at = min(at, ob.at)
				if ob.op != nil {
					f.Ops = append(f.Ops, ob.op.ID)
				}
			}
		}
		var acked time.Duration
		for _, r := range sends {
			f.Ops = append(f.Ops, r.op.ID)
			if a.acked(r) {
				acked = max(acked, r.op.Complete)
			}
		}
		switch {
		case at == math.MaxInt64 && acked > 0:
			at = acked // known from acknowledgements alone
		case at == math.MaxInt64:
			at = a.end
		}
		f.At = at
		where := fmt.Sprintf("%s is at offset %d and again at %s", p.values[d.k], d.offsets[0], offsetList(d.offsets[1:]))
		switch {
		case len(sends) == 0:
			f.Class = Consistency
			f.Message = where + ", and no send produced it"
		case len(sends) > 1:
			f.Message = fmt.Sprintf("%s; it was sent %d times (ops %v)", where, len(sends), refIDs(sends))
		case sends[0].s.Idempotent:
			f.Class = Consistency
			f.Message = fmt.Sprintf("%s, though %s was idempotent: the broker must keep one copy of a retried batch", where, describeSend(sends[0]))
			if why, ok := a.rewrittenAfterEpochBump(p.tp, d.k); ok {
				// Kafka's idempotent producer does this (KIP-360): the
				// gap before the first copy made it bump its epoch and
				// resend, and no broker deduplicates across epochs.
				f.Class = Expected
				f.Message = fmt.Sprintf("%s: %s was idempotent, but %s", where, describeSend(sends[0]), why)
			} else if kept, gone, ok := p.heldOnce(d.k, d.offsets); ok {
				// The first copy was truncated away (with the producer
				// state that would have deduplicated the retry): the final
				// log holds the record once. A consequence of that
				// truncation, which the loss findings judge, not a
				// second write.
				f.Class = Expected
				f.Message = fmt.Sprintf("%s, but the final log holds it once, at offset %d: the copy at %s was truncated away with the records around it, and the producer state that deduplicates retries with it; the findings on that truncation judge it",
					where, kept, offsetList(gone))
			}
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

// rewrittenAfterEpochBump reports whether the final leader's log of tp
// holds record k twice from one idempotent producer under two epochs, the
// older copy preceded by a gap in that epoch's sequences: earlier batches
// were lost (a leader that never committed them lost its leadership), and
// the next leader, with no state for the producer, took the later batch
// with its gap, as Kafka does since KIP-360. The retry of the lost batches
// then met OUT_OF_ORDER_SEQUENCE_NUMBER, for which Kafka's idempotent
// producer bumps its epoch and resends its unacknowledged batches from
// sequence 0, the written one included: no broker deduplicates across
// epochs. why tells it.
func (a *analysis) rewrittenAfterEpochBump(tp model.TopicPartition, k vkey) (why string, ok bool) {
	f := a.final[tp]
	if f == nil || f.CheckedFrom() > 0 {
		return "", false // a log that lost its head cannot show a gap
	}
	var first, later *history.Record
	for i := range f.Records {
		r := &f.Records[i]
		if r.Producer == nil || keyOf(r.Key, r.Value) != k {
			continue
		}
		switch {
		case first == nil:
			first = r
		case r.Producer.ID == first.Producer.ID && r.Producer.Epoch > first.Producer.Epoch && later == nil:
			later = r
		}
	}
	if later == nil {
		return "", false
	}
	old := *first.Producer
	next := int32(0)
	for _, r := range f.Records {
		if r.Offset > first.Offset {
			break
		}
		if r.Producer == nil || r.Producer.ID != old.ID || r.Producer.Epoch != old.Epoch {
			continue
		}
		if r.Producer.Sequence != next {
			return fmt.Sprintf("producer %d wrote it at offset %d under epoch %d (sequence %d) and again at offset %d under epoch %d (sequence %d): "+
				"sequences %d..%d of epoch %d never reached the log (lost with a leader that had not committed them), so their retry met OUT_OF_ORDER_SEQUENCE_NUMBER "+
				"and the producer bumped its epoch and resent its unacknowledged batches from sequence 0, this one included, as Kafka's idempotent producer does (KIP-360); "+
				"a broker deduplicates within one producer epoch only",
				old.ID, first.Offset, old.Epoch, old.Sequence, later.Offset, later.Producer.Epoch, later.Producer.Sequence,
				next, r.Producer.Sequence-1, old.Epoch), true
		}
		next = r.Producer.Sequence + 1
	}
	return "", false
}

// heldOnce reports whether the final log holds record k at exactly one of
// offsets (kept), every other offset now holding another record or none
// (gone): the record was seen twice, but one copy was truncated.
func (p *part) heldOnce(k vkey, offsets []int64) (kept int64, gone []int64, ok bool) {
	if len(p.present) == 0 {
		return 0, nil, false // no final log to judge by
	}
	kept = -1
	for _, o := range offsets {
		if p.present[o].get(k) {
			if kept >= 0 {
				return 0, nil, false
			}
			kept = o
		} else {
			gone = append(gone, o)
		}
	}
	return kept, gone, kept >= 0
}

func offsetList(os []int64) string {
	s := make([]string, len(os))
	for i, o := range os {
		s[i] = fmt.Sprint(o)
	}
	return strings.Join(s, ", ")
}

func refIDs(rs []sendRef) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.op.ID
	}
	return out
}

// badReads: committed reads (successful polls, final logs) of a record
// whose every send definitely failed (G1a), and reads of any poll of a
// record that no send produced.
func (a *analysis) badReads(p *part) []Finding {
	var fs []Finding
	for _, o := range p.order {
		for _, k := range p.seen[o].keys() {
			os := p.seen[o].get(k)
			sends := p.sends[k]
			f := Finding{TP: p.tp, Offsets: []int64{o}, Values: []model.Bytes{p.values[k]}, Class: Consistency, At: os[0].at}
			if len(sends) == 0 {
				for _, ob := range os {
					f.At = min(f.At, ob.at)
					if ob.op != nil {
						f.Ops = append(f.Ops, ob.op.ID)
					}
				}
				f.Name = string(UnsentValue)
				f.Message = fmt.Sprintf("%s was %s, but no send in the history produced it in %s", p.values[k], describeObs(os), p.tp)
				fs = append(fs, f)
				continue
			}
			failed := true
			for _, r := range sends {
				failed = failed && r.op.Effective() == history.Fail
			}
			var committed []obs
			for _, ob := range os {
				if ob.okRead() {
					committed = append(committed, ob)
				}
			}
			if !failed || len(committed) == 0 {
				continue
			}
			f.At = committed[0].at
			for _, ob := range committed {
				f.At = min(f.At, ob.at)
				if ob.op != nil {
					f.Ops = append(f.Ops, ob.op.ID)
				}
			}
			f.Name = string(G1a)
			f.Ops = append(f.Ops, refIDs(sends)...)
			f.Message = fmt.Sprintf("%s was %s, but its %s: an aborted write became visible", p.values[k], describeObs(committed), describeSend(sends[0]))
			fs = append(fs, f)
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
	at := make(map[int64]history.Record, len(leader.Records))
	for _, r := range leader.Records {
		at[r.Offset] = r
	}
	var fs []Finding
	for _, o := range p.order {
		if o < leader.CheckedFrom() {
			continue
		}
		for _, k := range p.seen[o].keys() {
			var polls []obs
			for _, ob := range p.seen[o].get(k) {
				if ob.op != nil {
					polls = append(polls, ob)
				}
			}
			if len(polls) == 0 {
				continue
			}
			r, ok := at[o]
			if ok && p.key(r.Key, r.Value) == k {
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
	// by is the operation that set next.
	by *history.Op
	// movedAt is when a seek last moved the consumer: a poll invoked
	// before it (the seek happened inside the poll call, as a position
	// reset after truncation does) reports a position from before the
	// move, which says nothing about skips.
	movedAt time.Duration
}

// keepAssigned keeps the consumer's state only in the partitions keep
// accepts: an assignment or subscription replaces what the consumer
// reads, and its position survives in the partitions it still reads
// (as Jepsen's checker keeps it).
func keepAssigned[S any](state map[model.TopicPartition]S, keep func(model.TopicPartition) bool) {
	for tp := range state {
		if !keep(tp) {
			delete(state, tp)
		}
	}
}

// membershipKeeps returns which partitions an assign or subscribe leaves
// the client reading.
func membershipKeeps(op *history.Op) func(model.TopicPartition) bool {
	m := op.Membership
	if op.Kind == history.KindSubscribe {
		return func(tp model.TopicPartition) bool { return slices.Contains(m.Topics, tp.Topic) }
	}
	return func(tp model.TopicPartition) bool { return slices.Contains(m.Partitions, tp) }
}

// changesMembership reports whether an assign or subscribe may have taken
// effect: Jepsen resets on :ok and :info alike.
func changesMembership(op *history.Op) bool {
	return (op.Kind == history.KindAssign || op.Kind == history.KindSubscribe) && op.Outcome != history.Fail
}

// polls: per consumer and partition, successive reads must neither skip
// records nor go back, unless a seek, assignment or rebalance moved the
// consumer in between.
func (a *analysis) polls() []Finding {
	byClient := make(map[string][]*history.Op)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		switch {
		case len(op.Polls()) > 0, op.Kind == history.KindSeek, op.Kind == history.KindAssign, op.Kind == history.KindSubscribe, op.Kind == history.KindRebalance:
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
		slices.SortStableFunc(ops, func(x, y *history.Op) int {
			return cmp.Or(cmp.Compare(observed(x), observed(y)), cmp.Compare(x.ID, y.ID))
		})
		// A subscribed consumer whose history records no rebalance may
		// have been moved by one at any time (Jepsen's histories say
		// nothing of them unless the client kept a :rebalance-log).
		blind := slices.ContainsFunc(ops, func(op *history.Op) bool { return op.Kind == history.KindSubscribe }) &&
			!slices.ContainsFunc(ops, func(op *history.Op) bool { return op.Kind == history.KindRebalance })
		var rebalances []*history.Op
		state := make(map[model.TopicPartition]*consumerState)
		for _, op := range ops {
			switch {
			case changesMembership(op):
				keepAssigned(state, membershipKeeps(op))
			case op.Outcome != history.OK:
				if len(op.Polls()) > 0 {
					// A poll of an operation that did not succeed is held
					// to where the last successful one left the consumer,
					// but moves nothing (Jepsen's rule for aborted
					// transactions).
					fs = append(fs, a.pollOp(op, state, nil, blind, false)...)
				}
			case op.Kind == history.KindRebalance:
				for _, tp := range op.Membership.Assigned {
					delete(state, tp)
				}
				for _, tp := range op.Membership.Revoked {
					delete(state, tp)
				}
				rebalances = append(rebalances, op)
			case op.Kind == history.KindSeek:
				if op.Seek.Offset < 0 {
					delete(state, op.Seek.TP())
					continue
				}
				if f, ok := a.retentionSkip(op, state[op.Seek.TP()]); ok {
					fs = append(fs, f)
				}
				state[op.Seek.TP()] = &consumerState{next: op.Seek.Offset, known: true, why: fmt.Sprintf("seek op %d", op.ID), by: op, movedAt: op.Invoke}
			default:
				fs = append(fs, a.pollOp(op, state, rebalances, blind, true)...)
			}
		}
	}
	return fs
}

// observed is when an operation took effect for the consumer's position:
// a poll when it returned its records, anything else when it happened.
func observed(op *history.Op) time.Duration {
	if len(op.Polls()) > 0 {
		return op.Complete
	}
	return op.Invoke
}

// pollOp checks one operation's polls: against where the consumer was
// left (between operations) and between successive records of a partition
// (within the operation, across its polls). Partitions a rebalance moved
// while the operation ran are exempt from the checks within it. Only a
// successful operation (keep) moves the consumer.
func (a *analysis) pollOp(op *history.Op, state map[model.TopicPartition]*consumerState, rebalances []*history.Op, blind, keep bool) []Finding {
	moved := make(map[model.TopicPartition]bool)
	for _, r := range rebalances {
		if r.Invoke >= op.Invoke && r.Invoke <= op.Complete {
			for _, tp := range slices.Concat(r.Membership.Assigned, r.Membership.Revoked) {
				moved[tp] = true
			}
		}
	}
	var fs []Finding
	local := make(map[model.TopicPartition]*consumerState)
	last := make(map[model.TopicPartition]int64) // last offset read in this op
	for _, poll := range op.Polls() {
		for i := range poll.Parts {
			pp := &poll.Parts[i]
			tp := pp.TP()
			st := local[tp]
			if st == nil {
				st = &consumerState{}
				if s := state[tp]; s != nil {
					*st = *s
				}
				local[tp] = st
			}
			prev, again := last[tp]
			fs = append(fs, a.pollPart(op, pp, st, prev, again, moved[tp], blind, keep)...)
			if n := len(pp.Records); n > 0 {
				last[tp] = pp.Records[n-1].Offset
			}
		}
	}
	if keep {
		for tp, st := range local {
			state[tp] = st
		}
	}
	return fs
}

// pollPart checks what one poll returned from one partition. prev is the
// last offset an earlier poll of the same operation returned there
// (again), so that the first record continues the operation's reads, not
// the consumer's previous operation.
func (a *analysis) pollPart(op *history.Op, pp *history.PollPart, st *consumerState, prev int64, again, moved, blind, keep bool) []Finding {
	p := a.parts[pp.TP()]
	var fs []Finding
	add := func(name FindingName, offsets []int64, ops []int64, msg string) {
		f := Finding{Name: string(name), Class: Consistency, TP: pp.TP(), Offsets: offsets, Ops: ops, At: op.Complete,
			Message: fmt.Sprintf("consumer %s: %s", op.Client, msg)}
		if name == PollSkip || name == IntPollSkip {
			f.Values = p.valuesAt(offsets)
		}
		if blind && (name == PollSkip || name == NonmonotonicPoll) {
			f.Class = Expected
			f.Message += "; but the consumer subscribed and the history records none of its rebalances, which may move its position"
		}
		fs = append(fs, f)
	}
	skipped := func(from, to int64) []int64 {
		if p == nil {
			return nil
		}
		return a.unsuperseded(p, p.existing(from, to))
	}
	// Between operations: from where the consumer was left to where this
	// poll starts (its position, then its first record).
	step := func(x int64, what string) {
		if !st.known {
			st.next, st.known = x, true
			return
		}
		free := "with no seek, assignment or rebalance in between"
		if !keep {
			free += "; an operation that did not succeed continues from where the last successful one left off"
		}
		ops := []int64{op.ID}
		if st.by != nil && st.by != op {
			ops = []int64{st.by.ID, op.ID}
		}
		switch s := skipped(st.next, x); {
		case x < st.next:
			add(NonmonotonicPoll, []int64{x}, ops, fmt.Sprintf("%s offset %d, but %s left it at %d: it went back, %s", what, x, st.why, st.next, free))
		case len(s) > 0:
			add(PollSkip, s, ops, fmt.Sprintf("%s offset %d, but %s left it at %d: it skipped %s others read or were acknowledged (%s), %s",
				what, x, st.why, st.next, plural(len(s), "record"), offsetRanges(s), free))
		}
		st.next = x
	}
	// Within the operation: consecutive records.
	inner := func(prev, x int64) {
		if moved {
			return
		}
		switch s := skipped(prev+1, x); {
		case x <= prev:
			add(IntNonmonotonicPoll, []int64{x}, []int64{op.ID}, fmt.Sprintf("op %d returned offset %d after offset %d", op.ID, x, prev))
		case len(s) > 0:
			add(IntPollSkip, s, []int64{op.ID}, fmt.Sprintf("op %d returned offset %d right after offset %d, skipping %s others read or were acknowledged (%s)",
				op.ID, x, prev, plural(len(s), "record"), offsetRanges(s)))
		}
	}
	if moved && !again {
		st.known = false
	}
	if !again && keep && pp.Position >= 0 && !(st.known && st.movedAt > op.Invoke) {
		step(pp.Position, fmt.Sprintf("poll op %d started at", op.ID))
		st.why = fmt.Sprintf("poll op %d's position", op.ID)
		st.by = op
	}
	for i, r := range pp.Records {
		switch {
		case i > 0:
			inner(pp.Records[i-1].Offset, r.Offset)
		case again:
			inner(prev, r.Offset)
		default:
			step(r.Offset, fmt.Sprintf("poll op %d returned first", op.ID))
		}
		st.next = r.Offset + 1
		st.why = fmt.Sprintf("poll op %d", op.ID)
		st.by = op
		st.known = true
	}
	return fs
}

// sends: one producer's acknowledged sends to one partition take
// increasing offsets in the order it sent them, across operations; and
// within one operation its sends take increasing positions in the log
// (the acknowledged offset, or else where a read saw the record; a send of
// unknown position is not judged). As in Jepsen, an assign or subscribe of
// the client that leaves a partition out forgets its sends there. Unlike
// Jepsen, a send the client gave up on (unknown outcome) is not held to
// the order of the operations after it: it may still land later.
func (a *analysis) sends() []Finding {
	byClient := make(map[string][]*history.Op)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		if len(op.Sends()) > 0 || changesMembership(op) {
			byClient[op.Client] = append(byClient[op.Client], op)
		}
	}
	type placed struct {
		r   sendRef
		pos int64
	}
	var fs []Finding
	for _, client := range slices.Sorted(maps.Keys(byClient)) {
		ops := byClient[client]
		slices.SortStableFunc(ops, func(x, y *history.Op) int {
			return cmp.Or(cmp.Compare(x.Invoke, y.Invoke), cmp.Compare(x.ID, y.ID))
		})
		lastSent := make(map[model.TopicPartition]placed)
		for _, op := range ops {
			if changesMembership(op) {
				keepAssigned(lastSent, membershipKeeps(op))
				continue
			}
			mine := make(map[model.TopicPartition]placed) // this op's last send per partition
			for _, s := range op.Sends() {
				if s.Partition < 0 {
					continue
				}
				r := sendRef{op, s}
				pos, ok := a.position(r)
				if !ok {
					continue
				}
				cur := placed{r, pos}
				if prev, ok := mine[s.TP()]; ok {
					fs = append(fs, a.intSend(prev.r, r, prev.pos, pos)...)
				} else if prev, ok := lastSent[s.TP()]; ok && a.acked(r) && pos <= prev.pos {
					fs = append(fs, a.nonmonotonicSend(prev.r, r, prev.pos, pos))
				}
				mine[s.TP()] = cur
			}
			for tp, m := range mine {
				if a.acked(m.r) {
					lastSent[tp] = m
				}
			}
		}
	}
	return fs
}

// nonmonotonicSend: a later send of one producer took an earlier
// position than an earlier send.
func (a *analysis) nonmonotonicSend(prev, cur sendRef, prevPos, pos int64) Finding {
	op := cur.op
	f := Finding{Name: string(NonmonotonicSend), Class: Consistency, TP: cur.s.TP(), Offsets: []int64{prevPos, pos},
		Values: []model.Bytes{prev.s.Value, cur.s.Value}, Ops: []int64{prev.op.ID, op.ID}, At: op.Complete}
	sequential := prev.op.Complete < op.Invoke
	f.Message = fmt.Sprintf("producer %s sent %s (op %d) after %s (op %d), yet got offset %d after %d",
		op.Client, cur.s.Value, op.ID, prev.s.Value, prev.op.ID, pos, prevPos)
	switch {
	case sequential && prev.s.Acks != model.AcksAll:
		f.Class = Expected
		f.Message += ": the log lost the earlier acks=1 record and reused its offset, which acks=1 allows"
	case sequential:
		f.Message += ": the log went back after acknowledging an acks=all record"
	case !cur.s.Idempotent || !prev.s.Idempotent:
		f.Class = Expected
		f.Message += ": the sends overlapped, and without enable.idempotence a retry may reorder them"
	default:
		f.Message += ": the idempotent producer must keep the order of its sends to a partition"
	}
	return f
}

// intSend: two successive sends of one operation to one partition went
// back (int-nonmonotonic-send) or have other records between them
// (int-send-skip: other producers' records interleave, which Kafka allows
// and Jepsen only notes).
func (a *analysis) intSend(prev, cur sendRef, prevPos, pos int64) []Finding {
	op := cur.op
	p := a.parts[cur.s.TP()]
	if pos <= prevPos {
		f := Finding{Name: string(IntNonmonotonicSend), Class: Consistency, TP: cur.s.TP(), Offsets: []int64{prevPos, pos},
			Values: []model.Bytes{prev.s.Value, cur.s.Value}, Ops: []int64{op.ID}, At: op.Complete,
			Message: fmt.Sprintf("producer %s sent %s after %s in op %d, yet it is at offset %d, not after %d", op.Client, cur.s.Value, prev.s.Value, op.ID, pos, prevPos)}
		if cur.s.Idempotent {
			f.Message += ": the idempotent producer must keep the order of its sends to a partition"
		} else {
			f.Class = Expected
			f.Message += ": without enable.idempotence a retry may reorder a producer's batches"
		}
		return []Finding{f}
	}
	if between := p.existing(prevPos+1, pos); len(between) > 0 {
		return []Finding{{Name: string(IntSendSkip), Class: Note, TP: cur.s.TP(), Offsets: between, Values: p.valuesAt(between), Ops: []int64{op.ID}, At: op.Complete,
			Message: fmt.Sprintf("producer %s sent %s right after %s in op %d, but other records lie between them (%s at %s): sends of other producers interleave, which Kafka allows",
				op.Client, cur.s.Value, prev.s.Value, op.ID, plural(len(between), "record"), offsetRanges(between))}}
	}
	return nil
}

// offsets: a fetch of committed offsets may return the value of any commit
// that could be the latest before it, never an older one.
func (a *analysis) offsets() []Finding {
	type key struct {
		group string
		tp    model.TopicPartition
	}
	type commit struct {
		op     *history.Op
		offset int64
		end    time.Duration // completion; forever when the outcome is unknown
	}
	type fetch struct {
		op     *history.Op
		offset int64
	}
	commits := make(map[key][]commit)
	rejected := make(map[key]map[int64]*history.Op)
	fetches := make(map[key][]fetch)
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		switch {
		case op.Kind == history.KindCommit:
			eff := op.Effective()
			if eff == history.Fail {
				for _, c := range op.Offsets.Offsets {
					k := key{op.Offsets.Group, c.TP()}
					if rejected[k] == nil {
						rejected[k] = make(map[int64]*history.Op)
					}
					rejected[k][c.Offset] = op
				}
				continue
			}
			end := op.Complete
			if eff == history.Unknown {
				end = math.MaxInt64
			}
			for _, c := range op.Offsets.Offsets {
				k := key{op.Offsets.Group, c.TP()}
				commits[k] = append(commits[k], commit{op, c.Offset, end})
			}
		case op.Kind == history.KindFetchCommitted && op.Outcome == history.OK:
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

// retentionSkip finds a consumer whose position auto.offset.reset moved
// forward, past acknowledged records it had not read: its fetch offset
// fell below the log start offset (retention or DeleteRecords deleted the
// records first) and the reset took it to the earliest offset left, or,
// with auto.offset.reset=latest, to the end.
func (a *analysis) retentionSkip(op *history.Op, st *consumerState) (Finding, bool) {
	if op.Seek.Reason != "reset-earliest" && op.Seek.Reason != "reset-latest" || st == nil || !st.known || op.Seek.Offset <= st.next {
		return Finding{}, false
	}
	p := a.parts[op.Seek.TP()]
	if p == nil {
		return Finding{}, false
	}
	var offsets []int64
	var ops []int64
	for _, o := range p.existing(st.next, op.Seek.Offset) {
		for _, r := range p.claims[o] {
			if a.acked(r) {
				offsets = append(offsets, o)
				ops = append(ops, r.op.ID)
				break
			}
		}
	}
	if len(offsets) == 0 {
		return Finding{}, false
	}
	how := "the log start offset had passed them (retention or DeleteRecords deleted them) and auto.offset.reset=earliest moved it to the earliest offset left"
	if op.Seek.Reason == "reset-latest" {
		how = "its position was out of range and auto.offset.reset=latest moved it to the end"
	}
	return Finding{Name: string(RetentionSkip), Class: DataLoss, TP: op.Seek.TP(), Offsets: offsets, Ops: append(ops, op.ID), At: op.Complete,
		Values: p.valuesAt(offsets),
		Message: fmt.Sprintf("consumer %s: %s left it at %d, then %s, %d: it never read %s (%s)", op.Client, st.why, st.next, how, op.Seek.Offset,
			plural(len(offsets), "acknowledged record"), offsetRanges(offsets))}, true
}

// superseded reports whether, in a compacted topic, the record of key at
// offset o may be gone because a later record of its key (acknowledged or
// read) supersedes it: the log cleaner removes such records.
func (a *analysis) superseded(p *part, o int64, key model.Bytes) bool {
	if key == nil || !a.h.Header.RunConfig().Topic(p.tp.Topic).Compacts() {
		return false
	}
	if p.lastOfKey == nil {
		p.lastOfKey = map[string]int64{}
		note := func(k model.Bytes, at int64) {
			if l, ok := p.lastOfKey[string(k)]; k != nil && (!ok || at > l) {
				p.lastOfKey[string(k)] = at
			}
		}
		for at, refs := range p.claims {
			for _, r := range refs {
				note(r.s.Key, at)
			}
		}
		for at, vs := range p.seen {
			for _, e := range vs {
				for _, sr := range p.sends[e.k] {
					note(sr.s.Key, at)
				}
			}
		}
	}
	return p.lastOfKey[string(key)] > o
}

// unsuperseded drops from offsets those whose every claimed record a later
// record of its key superseded in a compacted topic: a consumer reading a
// cleaned segment skips them by design.
func (a *analysis) unsuperseded(p *part, offsets []int64) []int64 {
	if len(offsets) == 0 || !a.h.Header.RunConfig().Topic(p.tp.Topic).Compacts() {
		return offsets
	}
	out := offsets[:0:0]
	for _, o := range offsets {
		all := len(p.claims[o]) > 0
		for _, r := range p.claims[o] {
			all = all && a.superseded(p, o, r.s.Key)
		}
		if !all {
			out = append(out, o)
		}
	}
	return out
}
