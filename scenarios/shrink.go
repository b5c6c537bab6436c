package scenarios

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// ShrinkOptions configure Shrink.
type ShrinkOptions struct {
	// Keep names the findings the shrunk run must still produce; empty
	// means every bad finding of the original run (or the invariant that
	// stopped it).
	Keep []string
	// Progress, if set, is told after each try how many runs were made
	// and how many faults the smallest failing schedule has.
	Progress func(runs, faults int)
}

// A Shrunk is the outcome of shrinking a failing run.
type Shrunk struct {
	Scenario Scenario // the minimal scenario: its faults explicit, its duration cut
	Result   *Result  // its run
	Keep     []string // the findings it still produces
	Runs     int      // how many runs the search made
	From     int      // faults before shrinking
}

// Shrink reduces a failing run to a minimal one that still produces the
// same findings: delta debugging over its fault schedule (1-minimal: no
// single fault can go), then the shortest workload that still fails.
func Shrink(s Scenario, opts ShrinkOptions) (*Shrunk, error) {
	s = s.Defaults()
	first, err := Run(s, Options{NoTimeline: true})
	if err != nil {
		return nil, err
	}
	keep := opts.Keep
	if len(keep) == 0 {
		keep = failureNames(first)
	}
	if len(keep) == 0 {
		return nil, fmt.Errorf("scenario %s (seed %d) found no problem: there is nothing to shrink", s.Name, s.Seed)
	}
	if !produces(first, keep) {
		return nil, fmt.Errorf("scenario %s (seed %d) does not produce %v (it found: %s)", s.Name, s.Seed, keep, first.Summary())
	}
	base := s
	base.Faults, base.Nemesis = first.Schedule, nil
	runs := 1
	try := func(c Scenario) bool {
		runs++
		res, err := Run(c, Options{NoTimeline: true})
		ok := err == nil && produces(res, keep)
		return ok
	}
	shrinkFaults := func() {
		base.Faults = fault.Shrink(base.Faults, func(sc fault.Schedule) bool {
			c := base
			c.Faults = sc
			ok := try(c)
			if ok && opts.Progress != nil {
				opts.Progress(runs, len(sc))
			}
			return ok
		})
	}
	// Faults, then the workload, then the faults again: a shorter run may
	// need fewer faults, and the result must be 1-minimal at its length.
	for round := 0; ; round++ {
		shrinkFaults()
		if round == 2 || !shrinkDuration(&base, try) {
			break
		}
	}
	res, err := Run(base, Options{})
	if err != nil {
		return nil, err
	}
	runs++
	return &Shrunk{Scenario: base, Result: res, Keep: keep, Runs: runs, From: len(first.Schedule)}, nil
}

// shrinkDuration cuts the run to the shortest length after its last fault
// that still fails, by halving, and reports whether it cut anything.
func shrinkDuration(base *Scenario, try func(Scenario) bool) bool {
	var last time.Duration
	for _, f := range base.Faults {
		last = max(last, f.Time())
	}
	lo, hi := last+time.Second, time.Duration(*base.Duration)
	for hi-lo > time.Second {
		mid := (lo + hi) / 2
		c := *base
		c.Duration = new(fault.Duration(mid))
		c.Workload.ProduceUntil = fault.Duration(min(time.Duration(base.Workload.ProduceUntil), mid))
		if try(c) {
			hi = mid
		} else {
			lo = mid
		}
	}
	// A margin past the shortest failing length keeps the minimal run from
	// hanging on a hair: a small change of timing should not make a
	// checked-in regression script pass by accident.
	if with := min(hi+shrinkMargin, time.Duration(*base.Duration)); with > hi {
		c := *base
		c.Duration = new(fault.Duration(with))
		c.Workload.ProduceUntil = fault.Duration(min(time.Duration(base.Workload.ProduceUntil), with))
		if try(c) {
			hi = with
		}
	}
	if time.Duration(*base.Duration) == hi {
		return false
	}
	base.Workload.ProduceUntil = fault.Duration(min(time.Duration(base.Workload.ProduceUntil), hi))
	base.Duration = new(fault.Duration(hi))
	return true
}

// shrinkMargin is how much longer than the shortest failing run a shrunk
// run lasts.
const shrinkMargin = 10 * time.Second

// failureNames lists the names of a run's bad findings, and the check that
// stopped it.
func failureNames(r *Result) []string {
	names := map[string]bool{}
	for _, f := range r.Bad() {
		names[f.Name] = true
	}
	if r.Stopped != nil {
		names[r.Stopped.Check] = true
	}
	return slices.Sorted(maps.Keys(names))
}

// produces reports whether a run produced every named finding.
func produces(r *Result, names []string) bool {
	found := map[string]bool{}
	for _, f := range r.Findings() {
		found[f.Name] = true
	}
	if r.Stopped != nil {
		found[r.Stopped.Check] = true
	}
	for _, n := range names {
		if !found[n] {
			return false
		}
	}
	return true
}

// RegressionScript renders a scenario as a datadriven regression script for
// scenarios/testdata: a run directive with the scenario as input, and the
// run's outcome as expected output. TestRegressionScripts runs them.
func RegressionScript(s Scenario, res *Result, why string) (string, error) {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(why), "\n") {
		fmt.Fprintf(&b, "# %s\n", line)
	}
	fmt.Fprintf(&b, "run\n%s\n----\n%s\n", data, Outcome(res))
	return b.String(), nil
}

// Outcome is a run's outcome in the stable form regression scripts compare:
// each bad finding's name, class and partition (not its offsets, which
// move with any change of timing), or ok.
func Outcome(r *Result) string {
	var b strings.Builder
	if r.Stopped != nil {
		fmt.Fprintf(&b, "stopped by %s\n", r.Stopped.Check)
	}
	seen := map[string]bool{}
	var lines []string
	for _, f := range r.Bad() {
		where := f.TP.String()
		if f.Group != "" {
			where = "group " + f.Group
		}
		line := fmt.Sprintf("%s [%s] %s", f.Name, f.Class, where)
		if !seen[line] {
			seen[line] = true
			lines = append(lines, line)
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	if len(lines) == 0 && r.Stopped == nil {
		b.WriteString("ok\n")
	}
	return b.String()
}
