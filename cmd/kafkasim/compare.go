package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["compare"] = command{
		summary: "run one schedule under clean election, unclean election and ELR, side by side",
		run:     runCompare,
	}
	commands["matrix"] = command{
		summary: "run one schedule across acks, min.insync.replicas, unclean election, ELR, flushing and idempotence",
		run:     runMatrix,
	}
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "compare SCENARIO [--seed N] [--out FILE.html]", stderr)
	seed := fs.Uint64("seed", 0, "seed of the run (default: the scenario's)")
	out := fs.String("out", "", "where to write the comparison report (default out/<scenario>-seed<N>-compare.html)")
	name, err := oneArg(fs, args, "scenario", "unclean-election-loss, or a scenario file (.json)")
	if err != nil {
		return err
	}
	s, err := scenarios.Load(name)
	if err != nil {
		return usageError("%v", err)
	}
	if isSet(fs, "seed") {
		s.Seed = *seed
	}
	if *out == "" {
		*out = filepath.Join("out", fmt.Sprintf("%s-seed%d-compare.html", s.Name, s.Seed))
	}
	plan, err := scenarios.Compile(s)
	if err != nil {
		return usageError("scenario %s: %v", s.Name, err)
	}
	start := time.Now()
	c, err := scenarios.Compare(plan, scenarios.ElectionVariants(), scenarios.Options{})
	if err != nil {
		return err
	}
	replay := fmt.Sprintf("kafkasim compare %s --seed %d", name, s.Seed)
	fmt.Fprintf(stdout, "%s (seed %d), one schedule under %s, in %v:\n", s.Name, s.Seed, strings.Join(c.Variants, ", "), time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  \t%s\n", strings.Join(c.Variants, "\t"))
	rep := reports.Comparison{Title: s.Name + ": clean vs unclean election vs ELR", Seed: s.Seed, Replay: replay, Columns: c.Variants}
	for _, m := range c.Measures() {
		fmt.Fprintf(tw, "  %s\t%s\n", m.Name, strings.Join(m.Values, "\t"))
		rep.Rows = append(rep.Rows, reports.ComparisonRow{Measure: m.Name, Values: m.Values, Bad: m.Bad})
	}
	tw.Flush()
	for _, f := range c.Scenario.Faults {
		rep.Faults = append(rep.Faults, reports.Event{At: f.Time(), Kind: string(f.Kind), Text: f.String()})
	}
	for _, r := range c.Results {
		rep.Runs = append(rep.Runs, reportOf(r))
	}
	if err := ensureDir(*out); err != nil {
		return err
	}
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteComparison(w, rep) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "report: %s\nreplay: %s\n", *out, replay)
	return nil
}

func runMatrix(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("matrix", "matrix SCENARIO [--seed N] [--out FILE.html]", stderr)
	seed := fs.Uint64("seed", 0, "seed of the run (default: the scenario's)")
	out := fs.String("out", "", "where to write the matrix report (default out/<scenario>-seed<N>-matrix.html)")
	name, err := oneArg(fs, args, "scenario", "standard, or a scenario file (.json)")
	if err != nil {
		return err
	}
	s, err := scenarios.Load(name)
	if err != nil {
		return usageError("%v", err)
	}
	if isSet(fs, "seed") {
		s.Seed = *seed
	}
	if *out == "" {
		*out = filepath.Join("out", fmt.Sprintf("%s-seed%d-matrix.html", s.Name, s.Seed))
	}
	axes := scenarios.MatrixAxes()
	plan, err := scenarios.Compile(s)
	if err != nil {
		return usageError("scenario %s: %v", s.Name, err)
	}
	start := time.Now()
	rows, err := scenarios.Matrix(plan, axes, scenarios.Options{})
	if err != nil {
		return err
	}
	replay := fmt.Sprintf("kafkasim matrix %s --seed %d", name, s.Seed)
	cols := []string{"verdict", "records lost", "unavailable"}
	rep := reports.Comparison{Title: s.Name + ": what each configuration can lose", Seed: s.Seed, Replay: replay, Columns: cols,
		RowHeader: "configuration", Intro: fmt.Sprintf("One seed and one fault schedule, run under each of %d configurations.", len(rows))}
	fmt.Fprintf(stdout, "%s (seed %d): %d configurations in %v\n", s.Name, s.Seed, len(rows), time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	var head []string
	for _, a := range axes {
		head = append(head, a.Name)
	}
	fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(head, "\t"), strings.Join(cols, "\t"))
	for _, row := range rows {
		var label []string
		for i, a := range axes {
			label = append(label, a.Name+"="+row.Values[i])
		}
		var vals []string
		bad := []bool{false, false, false}
		if row.Invalid != "" {
			why := row.Invalid
			if i := strings.Index(why, ": "); i > 0 && len(why) > 120 {
				why = why[:120] + "…"
			}
			vals = []string{"not allowed by Kafka: " + why, "-", "-"}
		} else {
			r := row.Result
			var offline time.Duration
			for tp, d := range r.Offline {
				if !strings.HasPrefix(tp, "__") {
					offline += d
				}
			}
			vals = []string{r.Summary(), fmt.Sprint(r.Lost()), offline.Round(time.Millisecond).String()}
			bad = []bool{!r.OK(), r.Lost() > 0, false}
		}
		fmt.Fprintf(tw, "  %s\t%s\n", strings.Join(row.Values, "\t"), strings.Join(vals, "\t"))
		rep.Rows = append(rep.Rows, reports.ComparisonRow{Measure: strings.Join(label, ", "), Values: vals, Bad: bad})
	}
	tw.Flush()
	if err := ensureDir(*out); err != nil {
		return err
	}
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteComparison(w, rep) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "report: %s\nreplay: %s\n", *out, replay)
	return nil
}
