package checker

import (
	"errors"
	"fmt"
	"io"

	"github.com/anishathalye/porcupine"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// visualWindow is how many operations of an illegal log's partial
// linearization the visualization shows, the last ones before it got
// stuck; as many of the operations left out are shown beside them.
const visualWindow = 1000

// Visualize writes porcupine's visualization of the illegal partitions, a
// self-contained HTML page that shows their operations and partial
// linearizations, or an error if no partition is illegal.
//
// Porcupine searches each illegal register again, within the check's
// budget. For an illegal log, it follows the log checker's partial
// linearization (its last operations, from the state the log had before
// them) instead of searching: the page shows the model's states along
// it, the operation that fits nowhere after it, and the other operations
// left out that were invoked before that one returned.
func (l *Linearizability) Visualize(w io.Writer) error {
	illegal := make(map[PartitionKey]bool)
	for _, p := range l.Partitions {
		if p.Result == Illegal {
			illegal[p.Key] = true
		}
	}
	if len(illegal) == 0 || l.h == nil {
		return errors.New("no partition is illegal: porcupine's visualization shows failures only")
	}
	ops, _ := LinearizationOf(l.h, func(k PartitionKey) bool { return illegal[k] })
	keys, parts := SplitOperations(ops)
	base := Porcupine()
	guides := make(map[model.TopicPartition]*guide)
	meters := make(map[PartitionKey]*partitionMeter)
	var shown []porcupine.Operation
	for i, k := range keys {
		part := parts[i]
		if !k.Offsets {
			f := l.logs[k.TP]
			if f == nil {
				return fmt.Errorf("the %s is illegal but its partial linearization was not kept", k)
			}
			g, picked, err := f.guide(l.h, base, part)
			if err != nil {
				return err
			}
			guides[k.TP], part = g, picked
		}
		meters[k] = &partitionMeter{meter: meter{budget: l.Budget}, perState: int64(cachedStateSteps + (len(part)+63)/64)}
		shown = append(shown, part...)
	}
	step := func(state, input, output any) (bool, any) {
		if in, ok := input.(*LogInput); ok {
			return guides[in.TP].step(base, state, in, output)
		}
		return base.Step(state, input, output)
	}
	search := guidedModel(base, step)
	search.Step = func(state, input, output any) (bool, any) {
		m := meters[inputKey(input)]
		if m == nil || !m.spend(1) {
			return false, state
		}
		ok, next := step(state, input, output)
		if ok {
			m.spend(m.perState)
		}
		return ok, next
	}
	_, info := porcupine.CheckOperationsVerbose(search, shown, 0)
	info.AddAnnotations(l.annotations)
	// Porcupine replays the partial linearizations it found to draw the
	// states: without the meters, which it has spent.
	return porcupine.Visualize(guidedModel(base, step), info, w)
}

type partitionMeter struct {
	meter
	perState int64
}

func inputKey(input any) PartitionKey {
	switch in := input.(type) {
	case *LogInput:
		return PartitionKey{TP: in.TP}
	case *OffsetInput:
		return PartitionKey{Offsets: true, Group: in.Group, TP: in.TP}
	}
	return PartitionKey{}
}

// guide makes porcupine follow the log checker's partial linearization:
// from the state the log had before its window, it accepts exactly the
// window's operations, in order.
type guide struct {
	start any
	seq   []*LogInput
}

// guided is the state of a guided log: how many of the window's
// operations were placed, and the log model's state.
type guided struct {
	placed int
	log    any
}

func (g *guide) step(base porcupine.Model, state any, in *LogInput, output any) (bool, any) {
	if g == nil {
		return false, state
	}
	s, ok := state.(guided)
	if !ok {
		s = guided{log: g.start}
	}
	if s.placed >= len(g.seq) || g.seq[s.placed] != in {
		return false, state
	}
	ok, next := base.Step(s.log, in, output)
	if !ok {
		return false, state
	}
	return true, guided{placed: s.placed + 1, log: next}
}

// guidedModel is the model of package model with the given step, whose
// states may be guided.
func guidedModel(base porcupine.Model, step func(state, input, output any) (bool, any)) porcupine.Model {
	m := base
	m.Step = step
	m.Equal = func(a, b any) bool {
		x, xok := a.(guided)
		y, yok := b.(guided)
		if xok || yok {
			return xok && yok && x.placed == y.placed && base.Equal(x.log, y.log)
		}
		return base.Equal(a, b)
	}
	m.Hash = func(s any) uint64 {
		if g, ok := s.(guided); ok {
			return uint64(g.placed)*0x9e3779b97f4a7c15 ^ base.Hash(g.log)
		}
		return base.Hash(s)
	}
	m.DescribeState = func(s any) string {
		if g, ok := s.(guided); ok {
			return base.DescribeState(g.log)
		}
		return base.DescribeState(s)
	}
	return m
}

// logOpKey identifies a log operation across the log checker and
// porcupine's conversion: a send by its op, a poll's part by its op and
// its rank among the op's parts of the partition, the final log alone.
type logOpKey struct {
	op    int64
	send  bool
	final bool
	nth   int
}

// guide picks the operations of the partition (porcupine's, ops) that the
// visualization shows, and the guide through them.
func (f *logFailure) guide(h *history.History, base porcupine.Model, ops []porcupine.Operation) (*guide, []porcupine.Operation, error) {
	byKey := make(map[logOpKey]int, len(ops))
	nth := make(map[int64]int)
	for i := range ops {
		in := ops[i].Input.(*LogInput)
		k := logOpKey{op: in.Op, send: in.Send, final: in.Final}
		if !in.Send && !in.Final {
			k.nth = nth[in.Op]
			nth[in.Op]++
		}
		byKey[k] = i
	}
	p, v := f.part, f.verdict
	find := func(r logRef) (*porcupine.Operation, error) {
		k := logOpKey{op: p.opID(h, r), send: !r.read}
		if r.read {
			rd := &p.reads[r.i]
			k.final = rd.final
			if !rd.final {
				for j := range rd.part {
					pp := &h.Ops[rd.op].PollParts()[j]
					if pp.TP() == p.tp && len(pp.Records) > 0 {
						k.nth++
					}
				}
			}
		}
		i, ok := byKey[k]
		if !ok {
			return nil, fmt.Errorf("the %s: porcupine's conversion has no operation for %s", PartitionKey{TP: p.tp}, p.describe(h, r))
		}
		return &ops[i], nil
	}
	from := max(0, len(v.longest)-visualWindow)
	g := &guide{start: base.Init()}
	for _, r := range v.longest[:from] {
		if r.read {
			continue
		}
		op, err := find(r)
		if err != nil {
			return nil, nil, err
		}
		ok, next := base.Step(g.start, op.Input, op.Output)
		if !ok {
			return nil, nil, fmt.Errorf("the %s: the log model refuses %s where the log checker placed it", PartitionKey{TP: p.tp}, p.describe(h, r))
		}
		g.start = next
	}
	var picked []porcupine.Operation
	for _, r := range v.longest[from:] {
		op, err := find(r)
		if err != nil {
			return nil, nil, err
		}
		g.seq = append(g.seq, op.Input.(*LogInput))
		picked = append(picked, *op)
	}
	left := append([]logRef{v.stuck}, v.leftOut[:min(len(v.leftOut), visualWindow)]...)
	for _, r := range left {
		op, err := find(r)
		if err != nil {
			return nil, nil, err
		}
		picked = append(picked, *op)
	}
	return g, picked, nil
}
