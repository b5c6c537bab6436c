package checker

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// Result is the verdict of a linearizability check.
type Result string

// The verdicts.
const (
	// Ok: every partition has a linearization.
	Ok Result = "ok"
	// Illegal: some partition has none; its partial linearization shows
	// how far an order of its operations gets.
	Illegal Result = "illegal"
	// Unchecked: the check spent a partition's budget before it could
	// decide. Never ok: nothing is known about that partition.
	Unchecked Result = "unchecked"
)

// DefaultBudget is the work budget of a linearizability check when none
// is given, in steps per partition (see Linearizability).
const DefaultBudget int64 = 50_000_000

// cachedStateSteps is what porcupine's caching of one state costs beyond
// the step that reached it, besides one step per 64 operations of its
// partition: the state's entry takes about that many 64-bit words, and
// its set of linearized operations one bit per operation.
const cachedStateSteps = 16

// Linearizability is the result of checking a history against the models
// of package model: one log per partition, one committed-offset register
// per group and partition.
//
// Partition logs are checked by a checker made for them, which decides
// what porcupine decides for the log model in O(n log n) time; the
// registers by porcupine. The check counts its work in steps, never in
// time, so the same history gets the same verdict on any machine: the log
// checker spends one step per operation and one per record a read
// returned; porcupine one per model step it tries and, for each state it
// reaches (and may cache), 16 more plus one per 64 operations of the
// partition, so that the budget bounds its memory as well as its time.
// Each partition may spend Budget steps; one that needs more is Unchecked.
type Linearizability struct {
	Result Result
	// Partitions are porcupine's partitions, logs first, each with its own
	// verdict.
	Partitions []LinPartition
	// Budget is the number of steps the check could spend on each
	// partition; Spent the number it spent on all of them.
	Budget int64
	Spent  int64

	h           *history.History
	logs        map[model.TopicPartition]*logFailure
	annotations []porcupine.Annotation
}

// LinPartition is the verdict on one porcupine partition.
type LinPartition struct {
	Key    PartitionKey
	Ops    int // operations in it
	Result Result
	// Steps is the work spent on it.
	Steps int64
	// Longest is, when Result is Illegal, a partial linearization as
	// history op ids in linearization order (-1 for a final log): for a
	// register, porcupine's longest; for a log, every operation that can
	// be placed before Stuck must have taken effect. Empty otherwise.
	Longest []int64
	// Stuck is the operation that could not be placed after Longest: of
	// those left out, the first to return. -1 when none.
	Stuck int64
	// StuckText describes it as the model sees it.
	StuckText string
}

// logFailure keeps what the visualization of an illegal log needs.
type logFailure struct {
	part    *logPartition
	verdict logVerdict
}

// String renders the verdict: "ok", "illegal", or "unchecked (budget of N
// steps exhausted)".
func (l *Linearizability) String() string {
	if l.Result == Unchecked {
		return fmt.Sprintf("unchecked (budget of %d steps exhausted)", l.Budget)
	}
	return string(l.Result)
}

// CheckLinearizability checks a history's partition logs with the log
// checker and its committed-offset registers with porcupine, each partition
// within a budget of steps (DefaultBudget if zero or less). A partition
// whose check would need more is Unchecked; the verdict is Illegal if any
// partition is, else Unchecked if any is, else Ok.
func CheckLinearizability(h *history.History, budget int64) *Linearizability {
	if budget <= 0 {
		budget = DefaultBudget
	}
	l := &Linearizability{Result: Ok, Budget: budget, h: h}
	for _, p := range collectLogs(h) {
		lp := LinPartition{Key: PartitionKey{TP: p.tp}, Ops: p.ops(), Stuck: -1}
		if cost := p.cost(); cost > budget {
			lp.Result, lp.Steps = Unchecked, budget
		} else {
			lp.Steps = cost
			v := p.check(h)
			if v.ok {
				lp.Result = Ok
			} else {
				lp.Result = Illegal
				for _, r := range v.longest {
					lp.Longest = append(lp.Longest, p.opID(h, r))
				}
				lp.Stuck, lp.StuckText = p.opID(h, v.stuck), p.describe(h, v.stuck)
				if l.logs == nil {
					l.logs = make(map[model.TopicPartition]*logFailure)
				}
				l.logs[p.tp] = &logFailure{part: p, verdict: v}
			}
		}
		l.add(lp)
	}
	ops, _ := LinearizationOf(h, func(k PartitionKey) bool { return k.Offsets })
	keys, parts := SplitOperations(ops)
	for i, k := range keys {
		l.add(checkRegister(k, parts[i], budget))
	}
	return l
}

func (l *Linearizability) add(lp LinPartition) {
	l.Partitions = append(l.Partitions, lp)
	l.Spent += lp.Steps
	switch {
	case lp.Result == Illegal:
		l.Result = Illegal
	case lp.Result == Unchecked && l.Result == Ok:
		l.Result = Unchecked
	}
}

// meter counts a check's steps against its budget.
type meter struct {
	budget, spent int64
	exhausted     bool
}

// spend takes n steps, or reports that the budget does not have them (and
// from then on, that it is exhausted).
func (m *meter) spend(n int64) bool {
	if m.exhausted {
		return false
	}
	if m.spent+n > m.budget {
		m.spent, m.exhausted = m.budget, true
		return false
	}
	m.spent += n
	return true
}

// metered returns the porcupine model with a budget: once it is spent,
// every step is refused, and porcupine, finding nothing more to place,
// ends its search.
func metered(m porcupine.Model, ops int, meter *meter) porcupine.Model {
	step := m.Step
	perState := int64(cachedStateSteps + (ops+63)/64)
	m.Step = func(state, input, output any) (bool, any) {
		if !meter.spend(1) {
			return false, state
		}
		ok, next := step(state, input, output)
		if ok {
			meter.spend(perState)
		}
		return ok, next
	}
	return m
}

// checkRegister checks one committed-offset register with porcupine;
// when it is illegal, porcupine checks it again to find its longest
// partial linearization (a search that is skipped when it is ok).
func checkRegister(k PartitionKey, ops []porcupine.Operation, budget int64) LinPartition {
	lp := LinPartition{Key: k, Ops: len(ops), Stuck: -1}
	m := Porcupine()
	m.Partition = nil
	mt := &meter{budget: budget}
	ok := porcupine.CheckOperations(metered(m, len(ops), mt), ops)
	lp.Steps = mt.spent
	switch {
	case mt.exhausted: // even if the last state it reached completed the search: it needed more
		lp.Result = Unchecked
		return lp
	case ok:
		lp.Result = Ok
		return lp
	}
	lp.Result = Illegal
	// The same search, deterministic, fits the same budget.
	_, info := porcupine.CheckOperationsVerbose(metered(m, len(ops), &meter{budget: budget}), ops, 0)
	var longest []porcupine.Operation
	if partials := info.PartialLinearizationsOperations(); len(partials) > 0 {
		for _, seq := range partials[0] {
			if len(seq) > len(longest) || (len(seq) == len(longest) && lessSeq(seq, longest)) {
				longest = seq
			}
		}
	}
	placed := make(map[any]bool, len(longest)) // inputs are pointers, one per operation
	for _, op := range longest {
		lp.Longest = append(lp.Longest, op.Metadata.(OpMeta).Op)
		placed[op.Input] = true
	}
	var stuck *porcupine.Operation
	for j := range ops {
		op := &ops[j]
		if !placed[op.Input] && (stuck == nil || op.Return < stuck.Return) {
			stuck = op
		}
	}
	if stuck != nil {
		lp.Stuck = stuck.Metadata.(OpMeta).Op
		lp.StuckText = m.DescribeOperation(stuck.Input, stuck.Output)
	}
	return lp
}

func lessSeq(a, b []porcupine.Operation) bool {
	for i := range min(len(a), len(b)) {
		x, y := a[i].Metadata.(OpMeta).Op, b[i].Metadata.(OpMeta).Op
		if x != y {
			return x < y
		}
	}
	return len(a) < len(b)
}

// Annotate adds findings to the visualization, as marks on the timeline
// at the simulated times they became visible.
func (l *Linearizability) Annotate(fs []Finding) {
	for _, f := range fs {
		l.annotations = append(l.annotations, porcupine.Annotation{Tag: "findings", Start: int64(f.At),
			Description: f.Name + " " + f.Where(), Details: f.Short(), BackgroundColor: annotationColor(f.Class)})
	}
}

func annotationColor(c Class) string {
	switch c {
	case DataLoss:
		return "#f8b4b4"
	case Consistency, Invariant, Incomplete:
		return "#fcd9a8"
	}
	return "#dde7f0"
}

// Findings turns every illegal partition into a nonlinearizable finding,
// and partitions left unchecked into one linearizability-unchecked.
func (l *Linearizability) Findings(h *history.History, run Run) []Finding {
	byID := make(map[int64]*history.Op, len(h.Ops))
	for i := range h.Ops {
		byID[h.Ops[i].ID] = &h.Ops[i]
	}
	var end time.Duration
	for i := range h.Ops {
		end = max(end, h.Ops[i].Complete)
	}
	var fs []Finding
	var unchecked []LinPartition
	for _, p := range l.Partitions {
		if p.Result == Unchecked {
			unchecked = append(unchecked, p)
		}
		if p.Result != Illegal {
			continue
		}
		f := Finding{Name: string(Nonlinearizable), Class: Consistency, TP: p.Key.TP, Group: p.Key.Group, At: end, Seed: run.Seed, Replay: run.Replay}
		if op := byID[p.Stuck]; op != nil {
			f.At = op.Complete
			f.Ops = append(f.Ops, op.ID)
		}
		if n := len(p.Longest); n > 0 && p.Longest[n-1] >= 0 {
			f.Ops = append(f.Ops, p.Longest[n-1])
		}
		f.Message = fmt.Sprintf("the %s has no linearization: a partial linearization places %d of its %d operations",
			p.Key, len(p.Longest), p.Ops)
		if p.Stuck >= 0 || p.StuckText != "" {
			who := fmt.Sprintf("op %d", p.Stuck)
			if p.Stuck < 0 {
				who = "the final log"
			}
			f.Message += fmt.Sprintf(", and %s, %s, fits nowhere after it", who, p.StuckText)
		}
		fs = append(fs, f)
	}
	if len(unchecked) > 0 {
		f := Finding{Name: string(LinearizabilityUnchecked), Class: Incomplete, At: end, Seed: run.Seed, Replay: run.Replay}
		if len(unchecked) == 1 {
			f.TP, f.Group = unchecked[0].Key.TP, unchecked[0].Key.Group
		}
		var names []string
		for i, p := range unchecked {
			if i == 3 {
				names = append(names, fmt.Sprintf("%d more", len(unchecked)-3))
				break
			}
			names = append(names, fmt.Sprintf("the %s (%d operations)", p.Key, p.Ops))
		}
		f.Message = fmt.Sprintf("linearizability unchecked (budget of %d steps exhausted) for %s: nothing is known of them; "+
			"a larger budget (checks.linearizability_budget, or --budget) may decide", l.Budget, strings.Join(names, ", "))
		fs = append(fs, f)
	}
	return fs
}

// Options configure Check.
type Options struct {
	// Run names the run; when zero, the history's header does.
	Run Run
	// Budget bounds the linearizability check, in steps per partition
	// (DefaultBudget if zero); SkipLinearizability leaves it out.
	Budget              int64
	SkipLinearizability bool
	// WWDeps adds write-write dependencies to the transaction cycle
	// check (Jepsen's :ww-deps), which finds G0.
	WWDeps bool
	// RWDeps adds read-write anti-dependencies to the transaction cycle
	// check, which finds G-single and G2 (see Deps).
	RWDeps bool
}

// A Report is the verdict on one history.
type Report struct {
	Run Run
	// Linearizability is the linearizability verdict; nil when skipped.
	Linearizability *Linearizability
	// Findings are every anomaly and final-state problem, sorted by time.
	Findings []Finding
}

// Check judges a history: linearizability, Kafka anomalies, and, if the
// history has the cluster's final state, replica divergence.
func Check(h *history.History, opts Options) *Report {
	run := opts.Run
	if run == (Run{}) {
		run = RunOf(h)
	}
	r := &Report{Run: run}
	r.Findings = append(r.Findings, Anomalies(h, run)...)
	r.Findings = append(r.Findings, TxnCycles(h, run, Deps{WW: opts.WWDeps, RW: opts.RWDeps})...)
	r.Findings = append(r.Findings, ExactlyOnce(h, run)...)
	r.Findings = append(r.Findings, committedTxnAborted(h, run)...)
	r.Findings = append(r.Findings, FinalState(h, run)...)
	if !opts.SkipLinearizability {
		r.Linearizability = CheckLinearizability(h, opts.Budget)
		for _, f := range r.Linearizability.Findings(h, run) {
			if f.Name == string(Nonlinearizable) {
				f = explain(f, r.Findings)
			}
			r.Findings = append(r.Findings, f)
		}
	}
	sortFindings(r.Findings)
	return r
}

// explain relates a nonlinearizable partition to the anomalies found in
// it: when they are all allowed by the configuration (an acks=1 loss, a
// duplicate without idempotence), no single log can explain the history
// but nothing is wrong, and the finding is expected too.
func explain(f Finding, anomalies []Finding) Finding {
	var bad, allowed []string
	for _, a := range anomalies {
		if a.TP != f.TP || a.Group != f.Group {
			continue
		}
		switch {
		case a.Class.Bad() && !slices.Contains(bad, a.Name):
			bad = append(bad, a.Name)
		case a.Class == Expected && !slices.Contains(allowed, a.Name):
			allowed = append(allowed, a.Name)
		}
	}
	switch {
	case len(bad) > 0:
		f.Message += "; see " + strings.Join(bad, ", ")
	case len(allowed) > 0:
		f.Class = Expected
		f.Message += "; the anomalies behind it are allowed by the configuration: " + strings.Join(allowed, ", ")
	default:
		f.Message += "; no anomaly rule names the problem: porcupine's visualization shows it"
	}
	return f
}

// OK reports whether the history passed: no finding of a bad class. (An
// illegal linearizability verdict is a nonlinearizable finding, bad unless
// only allowed anomalies explain it; an unchecked one is a
// linearizability-unchecked finding, always bad.)
func (r *Report) OK() bool { return len(Bad(r.Findings)) == 0 }

// Summary is one line: "ok" or what was found.
func (r *Report) Summary() string {
	if r.OK() {
		return "ok"
	}
	var parts []string
	for _, c := range Summarize(Bad(r.Findings)) {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Name))
	}
	return fmt.Sprintf("%s (seed %d; replay: %s)", strings.Join(parts, ", "), r.Run.Seed, r.Run.Replay)
}
