package history

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/edn"
)

// JepsenOptions says what a Jepsen history does not record: the
// producer's acks (all, the default, or 1) and enable.idempotence, which
// decide the class of some findings.
type JepsenOptions struct {
	Acks       model.Acks
	Idempotent bool
}

// JepsenScenario is the scenario name of a history read from Jepsen.
const JepsenScenario = "jepsen"

// ReadJepsenHistory reads a history of Jepsen's Kafka workload
// (jepsen.tests.kafka), history.edn as Jepsen writes it: one operation map
// after another, each an invocation (:type :invoke) or a completion (:ok,
// :info, :fail) of a process, with :f :send, :poll, :txn, :assign or
// :subscribe, and :value micro-operations such as
// [[:send 5 [3 1]] [:poll {5 [[0 1] [1 2]]}]].
//
// Each Jepsen key is a partition of its own: key 5 becomes partition 5-0
// (topic "5", partition 0), key :x partition x-0. Record values keep their
// EDN text (1, :a). Each process is a client named "process-N". An
// invocation and the completion of its process make one operation, whose
// id is the completion's :index (the invocation's when it never
// completed; its outcome is then unknown). :ok is OK, :info Unknown, and
// :fail a certain failure. An operation of one send or one poll becomes a
// send or a poll; one of several, or whose results a lone send or poll
// cannot hold (an offset reported to an operation that did not succeed,
// records polled in one that failed), a txn. An assign with
// :seek-to-beginning? adds a seek of unknown offset per partition, and a
// :rebalance-log a rebalance of the keys it names, both with ids after the
// last operation's. Nemesis operations (a :process that is no integer) and
// the workload's :crash and :debug-topic-partitions are left out.
//
// Any problem gives a *LineError naming the line.
func ReadJepsenHistory(r io.Reader, opts JepsenOptions) (*History, error) {
	if opts.Acks == model.AcksNone {
		opts.Acks = model.AcksAll // the zero value: Jepsen's tests run acks=all
	}
	if opts.Acks != model.AcksAll && opts.Acks != model.AcksLeader {
		return nil, fmt.Errorf("jepsen history: acks=%s: a Jepsen history records offsets, so acks must be all or 1", opts.Acks)
	}
	j := &jepsenReader{opts: opts, pending: make(map[int64]*jepsenEvent)}
	d := edn.NewDecoder(r)
	for n := 0; ; n++ {
		v, err := d.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *edn.SyntaxError
			if errors.As(err, &se) {
				return nil, &LineError{se.Line, fmt.Errorf("malformed EDN: %s", se.Msg)}
			}
			return nil, &LineError{d.Line(), err}
		}
		if err := j.event(v, n); err != nil {
			return nil, err
		}
	}
	return j.finish()
}

// jepsenEvent is one line of a Jepsen history.
type jepsenEvent struct {
	line    int
	index   int64
	time    time.Duration
	process int64
	typ     string // invoke, ok, info, fail
	f       string
	value   edn.Value
	hasVal  bool
	err     string
	seek    bool // :seek-to-beginning?
	rebal   []edn.Value
}

type jepsenReader struct {
	opts    JepsenOptions
	pending map[int64]*jepsenEvent
	ops     []Op
	extra   []Op // seeks and rebalances, numbered after the rest
	ids     map[int64]int
	end     time.Duration
}

func lineErr(line int, format string, args ...any) error {
	return &LineError{line, fmt.Errorf(format, args...)}
}

// jepsenFs are the :f values of Jepsen's Kafka workload: those read, and
// those left out.
var jepsenFs = map[string]bool{"send": true, "poll": true, "txn": true, "assign": true, "subscribe": true,
	"crash": false, "debug-topic-partitions": false}

func (j *jepsenReader) event(v edn.Value, n int) error {
	if v.Kind == edn.Tagged { // #jepsen.history.Op{...}
		v = v.Items[0]
	}
	if v.Kind != edn.Map {
		return lineErr(v.Line, "expected an operation map such as {:type :invoke, :f :send, :process 0, :time 0, :value [[:send 5 1]]}, got a %s", v.Kind)
	}
	e := &jepsenEvent{line: v.Line, index: int64(n), time: -1}
	typ, ok := v.Get("type")
	if !ok || typ.Kind != edn.Keyword {
		return lineErr(v.Line, "the operation has no :type keyword: expected :invoke, :ok, :info or :fail")
	}
	switch e.typ = typ.Str; e.typ {
	case "invoke", "ok", "info", "fail":
	default:
		return lineErr(typ.Line, "unknown :type :%s: expected :invoke, :ok, :info or :fail", e.typ)
	}
	proc, ok := v.Get("process")
	if !ok {
		return lineErr(v.Line, "the operation has no :process")
	}
	if proc.Kind != edn.Int {
		return nil // the nemesis, or another non-client process
	}
	e.process = proc.Int
	f, ok := v.Get("f")
	if !ok || f.Kind != edn.Keyword {
		return lineErr(v.Line, "the operation has no :f keyword: expected :send, :poll, :txn, :assign or :subscribe")
	}
	e.f = f.Str
	read, known := jepsenFs[e.f]
	if !known {
		return lineErr(f.Line, "unknown :f :%s for a Kafka workload operation: expected :send, :poll, :txn, :assign or :subscribe (or :crash, :debug-topic-partitions, which are left out)", e.f)
	}
	for _, field := range []struct {
		name string
		dst  *int64
	}{{"index", &e.index}, {"time", (*int64)(&e.time)}} {
		name, dst := field.name, field.dst
		x, ok := v.Get(name)
		if !ok || x.Kind == edn.Nil {
			continue
		}
		if x.Kind != edn.Int || x.Int < 0 {
			return lineErr(x.Line, ":%s is %s: expected an integer >= 0", name, x)
		}
		*dst = x.Int
	}
	if e.time < 0 {
		e.time = time.Duration(e.index) // Jepsen's own tests leave :time out
	}
	j.end = max(j.end, e.time)
	e.value, e.hasVal = v.Get("value")
	if x, ok := v.Get("error"); ok && x.Kind != edn.Nil {
		e.err = x.String()
		if x.Kind == edn.String || x.Kind == edn.Keyword {
			e.err = x.Str
		}
	}
	if x, ok := v.Get("seek-to-beginning?"); ok && x.Kind == edn.Bool {
		e.seek = x.Bool
	}
	if x, ok := v.Get("rebalance-log"); ok && x.Seq() {
		e.rebal = x.Items
	}
	if e.typ == "invoke" {
		if p := j.pending[e.process]; p != nil {
			return lineErr(e.line, "process %d invokes :%s while its :%s (line %d) has not completed: a process runs one operation at a time", e.process, e.f, p.f, p.line)
		}
		j.pending[e.process] = e
		return nil
	}
	inv := j.pending[e.process]
	if inv == nil {
		return lineErr(e.line, "a :%s completion of process %d without an invocation before it", e.typ, e.process)
	}
	delete(j.pending, e.process)
	if inv.f != e.f {
		return lineErr(e.line, "process %d completes :%s, but invoked :%s (line %d)", e.process, e.f, inv.f, inv.line)
	}
	if !read {
		return nil
	}
	return j.op(inv, e)
}

// op turns an invocation and its completion (nil: none) into an operation.
func (j *jepsenReader) op(inv, done *jepsenEvent) error {
	op := Op{ID: inv.index, Client: "process-" + strconv.FormatInt(inv.process, 10), Process: int(inv.process),
		Invoke: inv.time, Complete: j.end, Outcome: Unknown}
	val := inv
	line := inv.line
	if done != nil {
		op.ID, op.Complete, op.Error, line = done.index, done.time, done.err, done.line
		switch done.typ {
		case "ok":
			op.Outcome, op.Error = OK, ""
		case "fail":
			op.Outcome, op.Certain = Fail, true
			if op.Error == "" {
				op.Error = "jepsen :fail"
			}
		}
		if done.hasVal && done.value.Kind != edn.Nil {
			val = done
		}
	}
	if op.Complete < op.Invoke {
		return lineErr(line, "process %d completes at :time %d, before its invocation at %d", inv.process, op.Complete, op.Invoke)
	}
	var err error
	switch inv.f {
	case "send", "poll", "txn":
		err = j.mops(&op, val)
	case "assign", "subscribe":
		err = j.membership(&op, inv, val)
	}
	if err != nil {
		return err
	}
	if done != nil {
		for _, r := range done.rebal {
			keys, _ := r.Get("keys")
			tps, err := jepsenTPs(keys)
			if err != nil {
				return lineErr(r.Line, ":rebalance-log: %v", err)
			}
			m := &Membership{Assigned: tps}
			if t, ok := r.Get("type"); ok && t.IsKeyword("revoked") {
				m.Assigned, m.Revoked = nil, tps
			}
			j.extra = append(j.extra, Op{Client: op.Client, Process: op.Process, Kind: KindRebalance, Invoke: op.Invoke, Complete: op.Invoke, Outcome: OK, Membership: m})
		}
	}
	if err := op.Validate(); err != nil {
		return lineErr(line, "%v", err)
	}
	j.ops = append(j.ops, op)
	if j.ids == nil {
		j.ids = make(map[int64]int)
	}
	if prev, ok := j.ids[op.ID]; ok {
		return lineErr(line, "two operations have :index %d (the other at line %d)", op.ID, prev)
	}
	j.ids[op.ID] = line
	return nil
}

// mops reads the micro-operations of a send, poll or txn.
func (j *jepsenReader) mops(op *Op, e *jepsenEvent) error {
	v := e.value
	if !e.hasVal || !v.Seq() {
		return lineErr(e.line, ":%s needs a :value vector of micro-ops such as [[:send 5 1] [:poll]], got %s", e.f, describe(v, e.hasVal))
	}
	var mops []Mop
	for _, m := range v.Items {
		if !m.Seq() || len(m.Items) == 0 || m.Items[0].Kind != edn.Keyword {
			return lineErr(m.Line, "expected a micro-op [:send key value] or [:poll {key [[offset value] ...]}], got %s", m)
		}
		switch m.Items[0].Str {
		case "send":
			s, err := j.send(m)
			if err != nil {
				return err
			}
			mops = append(mops, Mop{Send: s})
		case "poll":
			p, err := jepsenPoll(m)
			if err != nil {
				return err
			}
			mops = append(mops, Mop{Poll: p})
		default:
			return lineErr(m.Line, "unknown micro-op %s: expected :send or :poll", m.Items[0])
		}
	}
	if len(mops) == 1 {
		m := mops[0]
		switch {
		case m.Send != nil && (m.Send.Offset >= 0) == (op.Outcome == OK):
			op.Kind, op.Send = KindSend, m.Send
			return nil
		case m.Poll != nil && (op.Outcome == OK || !slices.ContainsFunc(m.Poll.Parts, func(p PollPart) bool { return len(p.Records) > 0 })):
			op.Kind, op.Poll = KindPoll, m.Poll
			return nil
		}
	}
	if len(mops) == 0 {
		return lineErr(v.Line, ":%s with no micro-ops", e.f)
	}
	op.Kind, op.Txn = KindTxn, &Txn{Mops: mops}
	return nil
}

func describe(v edn.Value, present bool) string {
	if !present {
		return "none"
	}
	return v.String()
}

func (j *jepsenReader) send(m edn.Value) (*Send, error) {
	if len(m.Items) != 3 {
		return nil, lineErr(m.Line, "expected [:send key value] or [:send key [offset value]], got %s", m)
	}
	tp, err := jepsenTP(m.Items[1])
	if err != nil {
		return nil, lineErr(m.Line, "%v", err)
	}
	s := &Send{Topic: tp.Topic, Partition: tp.Partition, Acks: j.opts.Acks, Idempotent: j.opts.Idempotent, Offset: -1}
	val := m.Items[2]
	if val.Kind == edn.Vector && len(val.Items) == 2 {
		off := val.Items[0]
		switch {
		case off.Kind == edn.Int && off.Int >= 0:
			s.Offset = off.Int
		case off.Kind != edn.Nil:
			return nil, lineErr(off.Line, "a send's offset is %s: expected an integer >= 0 or nil", off)
		}
		val = val.Items[1]
	}
	s.Value = jepsenBytes(val)
	return s, nil
}

func jepsenPoll(m edn.Value) (*Poll, error) {
	p := &Poll{}
	if len(m.Items) == 1 || m.Items[1].Kind == edn.Nil {
		return p, nil
	}
	if len(m.Items) != 2 || m.Items[1].Kind != edn.Map {
		return nil, lineErr(m.Line, "expected [:poll] or [:poll {key [[offset value] ...]}], got %s", m)
	}
	kv := m.Items[1].Items
	for i := 0; i < len(kv); i += 2 {
		tp, err := jepsenTP(kv[i])
		if err != nil {
			return nil, lineErr(kv[i].Line, "%v", err)
		}
		pairs := kv[i+1]
		if !pairs.Seq() {
			return nil, lineErr(pairs.Line, "key %s polled %s: expected a vector of [offset value] pairs", kv[i], pairs)
		}
		part := PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: -1}
		for _, pr := range pairs.Items {
			if !pr.Seq() || len(pr.Items) != 2 {
				return nil, lineErr(pr.Line, "key %s polled %s: expected an [offset value] pair", kv[i], pr)
			}
			off := pr.Items[0]
			if off.Kind != edn.Int || off.Int < 0 {
				return nil, lineErr(off.Line, "key %s polled a record at offset %s: expected an integer >= 0 (kafkasim needs every polled record's offset)", kv[i], off)
			}
			part.Records = append(part.Records, Record{Offset: off.Int, LeaderEpoch: -1, Value: jepsenBytes(pr.Items[1])})
		}
		if j := slices.IndexFunc(p.Parts, func(q PollPart) bool { return q.TP() == tp }); j >= 0 {
			return nil, lineErr(kv[i].Line, "key %s appears twice in one poll", kv[i])
		}
		p.Parts = append(p.Parts, part)
	}
	slices.SortFunc(p.Parts, func(a, b PollPart) int { return a.TP().Compare(b.TP()) })
	return p, nil
}

// membership reads an assign's or subscribe's keys.
func (j *jepsenReader) membership(op *Op, inv, e *jepsenEvent) error {
	if !e.hasVal || !e.value.Seq() {
		return lineErr(e.line, ":%s needs a :value vector of keys, got %s", e.f, describe(e.value, e.hasVal))
	}
	tps, err := jepsenTPs(e.value)
	if err != nil {
		return lineErr(e.value.Line, "%v", err)
	}
	if e.f == "subscribe" {
		op.Kind = KindSubscribe
		topics := make(map[string]bool)
		for _, tp := range tps {
			topics[tp.Topic] = true
		}
		op.Membership = &Membership{Topics: slices.Sorted(maps.Keys(topics))}
		if len(tps) == 0 {
			// Subscribing to nothing unsubscribes: an assignment of
			// nothing says the same.
			op.Kind, op.Membership = KindAssign, &Membership{}
		}
		return nil
	}
	op.Kind, op.Membership = KindAssign, &Membership{Partitions: tps}
	if inv.seek && op.Outcome != Fail {
		for _, tp := range tps {
			j.extra = append(j.extra, Op{Client: op.Client, Process: op.Process, Kind: KindSeek, Invoke: op.Complete, Complete: op.Complete, Outcome: OK,
				Seek: &Seek{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, Reason: "seek-to-beginning"}})
		}
	}
	return nil
}

// jepsenTP maps a Jepsen key to its partition.
func jepsenTP(k edn.Value) (model.TopicPartition, error) {
	var topic string
	switch k.Kind {
	case edn.Int, edn.BigInt, edn.Symbol:
		topic = k.String()
	case edn.Keyword, edn.String:
		topic = k.Str
	default:
		return model.TopicPartition{}, fmt.Errorf("key %s: expected an integer, keyword or string", k)
	}
	if topic == "" {
		return model.TopicPartition{}, errors.New(`key "": a key names a partition and cannot be empty`)
	}
	return model.TopicPartition{Topic: topic}, nil
}

func jepsenTPs(v edn.Value) ([]model.TopicPartition, error) {
	if !v.Seq() && v.Kind != edn.Set {
		return nil, fmt.Errorf("expected a vector of keys, got %s", v)
	}
	var tps []model.TopicPartition
	for _, k := range v.Items {
		tp, err := jepsenTP(k)
		if err != nil {
			return nil, err
		}
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, model.TopicPartition.Compare)
	return slices.Compact(tps), nil
}

// jepsenBytes renders a record value: a string's text, anything else its
// EDN text (1, :a).
func jepsenBytes(v edn.Value) model.Bytes {
	if v.Kind == edn.String {
		return model.Bytes(v.Str)
	}
	if v.Kind == edn.Nil {
		return nil
	}
	return model.Bytes(v.String())
}

func (j *jepsenReader) finish() (*History, error) {
	for _, p := range slices.Sorted(maps.Keys(j.pending)) {
		inv := j.pending[p]
		if jepsenFs[inv.f] {
			if err := j.op(inv, nil); err != nil {
				return nil, err
			}
		}
	}
	slices.SortFunc(j.ops, func(a, b Op) int { return cmp.Compare(a.ID, b.ID) })
	next := int64(0)
	if n := len(j.ops); n > 0 {
		next = j.ops[n-1].ID + 1
	}
	for i := range j.extra {
		j.extra[i].ID = next + int64(i)
	}
	h := &History{
		Header: Header{Format: FormatName, Version: FormatVersion, Scenario: JepsenScenario,
			Config: map[string]string{"acks": j.opts.Acks.String(), "enable.idempotence": strconv.FormatBool(j.opts.Idempotent)}},
		Ops: append(j.ops, j.extra...),
	}
	return h, nil
}

// IsJepsenHistory reports whether the start of a file looks like a Jepsen
// history (EDN maps) rather than a kafkasim one (a JSON header).
func IsJepsenHistory(start []byte) bool {
	s := strings.TrimLeft(string(start), " \t\r\n,")
	return strings.HasPrefix(s, "{:") || strings.HasPrefix(s, "#jepsen") || strings.HasPrefix(s, ";") || strings.HasPrefix(s, "#:")
}
