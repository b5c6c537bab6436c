package checker

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kafkasim/kafkasim/model"
)

// Result is the verdict of a linearizability check.
type Result string

// The verdicts.
const (
	// Ok: porcupine found a linearization of every partition.
	Ok Result = "ok"
	// Illegal: some partition has no linearization; porcupine's longest
	// partial linearization shows how far it got.
	Illegal Result = "illegal"
	// Unknown: the time budget ran out first.
	Unknown Result = "unknown"
)

// Linearizability is the result of checking a history with porcupine
// against the models of package model: one log per partition, one
// register per group and partition.
type Linearizability struct {
	Result Result
	// Partitions are porcupine's partitions, logs first, each with its own
	// verdict.
	Partitions []LinPartition
	// Budget is the time budget the check had.
	Budget time.Duration

	model porcupine.Model
	info  porcupine.LinearizationInfo
}

// LinPartition is the verdict on one porcupine partition.
type LinPartition struct {
	Key    model.PartitionKey
	Ops    int // operations porcupine checked in it
	Result Result
	// Longest is porcupine's longest partial linearization, as history op
	// ids in linearization order (-1 for a final log); the whole
	// linearization when Result is Ok.
	Longest []int64
	// Stuck is the operation that could not be placed after Longest: of
	// those left out, the first to return. -1 when none.
	Stuck int64
	// StuckText describes it as the model sees it.
	StuckText string
}

// DefaultBudget is the time budget of a linearizability check when none
// is given.
const DefaultBudget = 30 * time.Second

// CheckLinearizability checks a history with porcupine, within a wall-clock
// budget (DefaultBudget if zero). The verdict is Unknown if the budget runs
// out before porcupine decides; a history that is linearizable always gets
// Ok given enough budget, whatever the machine.
func CheckLinearizability(h *model.History, budget time.Duration) *Linearizability {
	if budget <= 0 {
		budget = DefaultBudget
	}
	m := model.Porcupine()
	ops, _ := model.Linearization(h)
	keys, parts := model.SplitOperations(ops)
	start := time.Now()
	res, info := porcupine.CheckOperationsVerbose(m, ops, budget)
	spent := time.Since(start) >= budget
	l := &Linearizability{Result: Result(lower(res)), Budget: budget, model: m, info: info}
	partials := info.PartialLinearizationsOperations()
	for i, k := range keys {
		lp := LinPartition{Key: k, Ops: len(parts[i]), Stuck: -1}
		var longest []porcupine.Operation
		if i < len(partials) {
			for _, seq := range partials[i] {
				if len(seq) > len(longest) || (len(seq) == len(longest) && lessSeq(seq, longest)) {
					longest = seq
				}
			}
		}
		for _, op := range longest {
			lp.Longest = append(lp.Longest, op.Metadata.(model.OpMeta).Op)
		}
		switch {
		case len(longest) == len(parts[i]) && res != porcupine.Unknown || l.Result == Ok:
			lp.Result = Ok
		case res == porcupine.Illegal && !spent:
			lp.Result = Illegal
		default:
			lp.Result = Unknown
		}
		if lp.Result != Ok {
			// Inputs are pointers, one per operation: they identify it.
			placed := make(map[any]bool, len(longest))
			for _, op := range longest {
				placed[op.Input] = true
			}
			var stuck *porcupine.Operation
			for j := range parts[i] {
				op := &parts[i][j]
				if placed[op.Input] {
					continue
				}
				if stuck == nil || op.Return < stuck.Return {
					stuck = op
				}
			}
			if stuck != nil {
				lp.Stuck = stuck.Metadata.(model.OpMeta).Op
				lp.StuckText = m.DescribeOperation(stuck.Input, stuck.Output)
			}
		}
		l.Partitions = append(l.Partitions, lp)
	}
	return l
}

func lessSeq(a, b []porcupine.Operation) bool {
	for i := range min(len(a), len(b)) {
		x, y := a[i].Metadata.(model.OpMeta).Op, b[i].Metadata.(model.OpMeta).Op
		if x != y {
			return x < y
		}
	}
	return len(a) < len(b)
}

func lower(r porcupine.CheckResult) string {
	switch r {
	case porcupine.Ok:
		return string(Ok)
	case porcupine.Illegal:
		return string(Illegal)
	}
	return string(Unknown)
}

// Visualize writes porcupine's visualization of the check, a
// self-contained HTML page that shows every partition's operations and
// (partial) linearizations.
func (l *Linearizability) Visualize(w io.Writer) error {
	return porcupine.Visualize(l.model, l.info, w)
}

// Annotate adds findings to the visualization, as marks on the timeline
// at the simulated times they became visible.
func (l *Linearizability) Annotate(fs []Finding) {
	var as []porcupine.Annotation
	for _, f := range fs {
		as = append(as, porcupine.Annotation{Tag: "findings", Start: int64(f.At),
			Description: f.Name + " " + f.Where(), Details: f.Short(), BackgroundColor: annotationColor(f.Class)})
	}
	l.info.AddAnnotations(as)
}

func annotationColor(c Class) string {
	switch c {
	case DataLoss:
		return "#f8b4b4"
	case Consistency, Invariant:
		return "#fcd9a8"
	}
	return "#dde7f0"
}

// Findings turns every illegal partition into a finding.
func (l *Linearizability) Findings(h *model.History, run Run) []Finding {
	byID := make(map[int64]*model.Op, len(h.Ops))
	for i := range h.Ops {
		byID[h.Ops[i].ID] = &h.Ops[i]
	}
	var end time.Duration
	for i := range h.Ops {
		end = max(end, h.Ops[i].Complete)
	}
	var fs []Finding
	for _, p := range l.Partitions {
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
		f.Message = fmt.Sprintf("porcupine found no linearization of the %s: its longest partial linearization places %d of %d operations",
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
	return fs
}

// Options configure Check.
type Options struct {
	// Run names the run; when zero, the history's header does.
	Run Run
	// Budget bounds the linearizability check (DefaultBudget if zero);
	// SkipLinearizability leaves it out.
	Budget              time.Duration
	SkipLinearizability bool
}

// A Report is the verdict on one history.
type Report struct {
	Run Run
	// Linearizability is porcupine's verdict; nil when skipped.
	Linearizability *Linearizability
	// Findings are every anomaly and final-state problem, sorted by time.
	Findings []Finding
}

// Check judges a history: linearizability with porcupine, Kafka anomalies,
// and, if the history has the cluster's final state, replica divergence.
func Check(h *model.History, opts Options) *Report {
	run := opts.Run
	if run == (Run{}) {
		run = RunOf(h)
	}
	r := &Report{Run: run}
	r.Findings = append(r.Findings, Anomalies(h, run)...)
	r.Findings = append(r.Findings, FinalState(h, run)...)
	if !opts.SkipLinearizability {
		r.Linearizability = CheckLinearizability(h, opts.Budget)
		for _, f := range r.Linearizability.Findings(h, run) {
			r.Findings = append(r.Findings, explain(f, r.Findings))
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
// only allowed anomalies explain it.)
func (r *Report) OK() bool { return len(Bad(r.Findings)) == 0 }

// Summary is one line: "ok" or what was found.
func (r *Report) Summary() string {
	if r.OK() {
		s := "ok"
		if r.Linearizability != nil && r.Linearizability.Result == Unknown {
			s += " (linearizability unknown: budget spent)"
		}
		return s
	}
	var parts []string
	for _, c := range Summarize(Bad(r.Findings)) {
		parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Name))
	}
	return fmt.Sprintf("%s (seed %d; replay: %s)", strings.Join(parts, ", "), r.Run.Seed, r.Run.Replay)
}
