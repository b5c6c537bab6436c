package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["compare"] = command{
		summary: "run one schedule under clean election, unclean election and ELR (or, with --metadata, on KRaft and on ZooKeeper), side by side",
		run:     runCompare,
	}
	commands["matrix"] = command{
		summary: "run one schedule across acks, min.insync.replicas, unclean election, ELR, flushing and idempotence",
		run:     runMatrix,
	}
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("compare", "compare SCENARIO [--seed N] [--metadata] [--out FILE.html]", stderr)
	sf := addScenarioFlags(fs)
	metadata := fs.Bool("metadata", false, "compare the metadata modes (KRaft and ZooKeeper) instead of the election configurations")
	out := fs.String("out", "", "where to write the comparison report (default out/<scenario>-seed<N>-compare.html)")
	s, name, setArgs, err := sf.scenario(args, "unclean-election-loss, or a scenario file (.json)")
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join("out", fmt.Sprintf("%s-seed%d-compare.html", s.Name, s.Seed))
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	plan, err := scenarios.Compile(s)
	if err != nil {
		return usageError("scenario %s: %v", s.Name, err)
	}
	start := time.Now()
	variants, title, flag := scenarios.ElectionVariants(), ": clean vs unclean election vs ELR", ""
	if *metadata {
		variants, title, flag = scenarios.MetadataVariants(), ": KRaft vs ZooKeeper", " --metadata"
	}
	c, err := scenarios.Compare(plan, variants, scenarios.Options{})
	if err != nil {
		return err
	}
	replay := fmt.Sprintf("kafkasim compare %s --seed %d%s%s", name, s.Seed, flag, setArgs)
	fmt.Fprintf(stdout, "%s (seed %d), one schedule under %s, in %v:\n", s.Name, s.Seed, strings.Join(c.Variants, ", "), time.Since(start).Round(time.Millisecond))
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  \t%s\n", strings.Join(c.Variants, "\t"))
	rep := reports.Comparison{Title: s.Name + title, Seed: s.Seed, Replay: replay, Columns: c.Variants}
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
	fs := newFlags("matrix", "matrix SCENARIO [--seed N] [--only AXIS=VALUE,...] [--out FILE.html]", stderr)
	sf := addScenarioFlags(fs)
	out := fs.String("out", "", "where to write the matrix report (default out/<scenario>-seed<N>-matrix.html)")
	only := fs.String("only", "", "run only the configurations with these axis values, e.g. acks=1,min.insync.replicas=1 (one configuration also writes its run report)")
	s, name, setArgs, err := sf.scenario(args, "standard, or a scenario file (.json)")
	if err != nil {
		return err
	}
	axes := scenarios.MatrixAxes()
	if *only != "" {
		if axes, err = scenarios.RestrictAxes(axes, *only); err != nil {
			return usageError("--only: %v", err)
		}
	}
	if *out == "" {
		*out = filepath.Join("out", fmt.Sprintf("%s-seed%d-matrix.html", s.Name, s.Seed))
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	plan, err := scenarios.Compile(s)
	if err != nil {
		return usageError("scenario %s: %v", s.Name, err)
	}
	start := time.Now()
	cellReplay := func(values []string) string {
		var kv []string
		for i, a := range axes {
			kv = append(kv, a.Name+"="+values[i])
		}
		return fmt.Sprintf("kafkasim matrix %s --seed %d%s --only %s", name, s.Seed, setArgs, strings.Join(kv, ","))
	}
	rows, err := scenarios.Matrix(plan, axes, scenarios.Options{}, cellReplay)
	if err != nil {
		return err
	}
	if len(rows) == 1 && rows[0].Result != nil {
		// One configuration: its run, told in full.
		o := outputFlags{out: strings.TrimSuffix(*out, ".html") + "-run.html"}
		printResult(stdout, rows[0].Result, time.Since(start))
		if err := reports.WriteFile(o.out, func(w io.Writer) error { return reports.WriteRun(w, reportOf(rows[0].Result)) }); err != nil {
			return usageError("%v", err)
		}
		fmt.Fprintf(stdout, "report: %s\nreplay: %s\n", o.out, rows[0].Result.Replay)
		if code := rows[0].Result.Verdict.ExitCode(); code != 0 {
			return &exitError{code: code, err: fmt.Errorf("the run found problems: %s", rows[0].Result.Summary())}
		}
		return nil
	}
	m := scenarios.NewMatrixSummary(rows)
	replay := fmt.Sprintf("kafkasim matrix %s --seed %d%s", name, s.Seed, setArgs)
	fmt.Fprintf(stdout, "%s (seed %d): %d configurations run, %d rejected by Kafka, in %v\n", s.Name, s.Seed, m.Ran, m.Rejected,
		time.Since(start).Round(time.Millisecond))
	printMatrix(stdout, axes, rows)
	headline := reports.Verdict{OK: m.Lossy == 0 && m.Failed == 0}
	switch {
	case m.Lossy > 0:
		headline.Summary = fmt.Sprintf("✘ %d of %d configurations lost records (%d records at most)", m.Lossy, m.Ran, m.MostLost)
	case m.Failed > 0:
		headline.Summary = fmt.Sprintf("✘ %d of %d configurations found a problem", m.Failed, m.Ran)
	default:
		headline.Summary = fmt.Sprintf("✔ none of the %d configurations lost anything or found a problem", m.Ran)
	}
	rep := matrixReport(s.Name, s.Defaults(), replay, axes, rows, headline)
	for _, f := range rows[0].Schedule() {
		rep.Faults = append(rep.Faults, reports.Event{At: f.Time(), Kind: string(f.Kind), Text: f.String()})
	}
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteMatrix(w, rep) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "%s\nreport: %s\nreplay: %s\n", headline.Summary, *out, replay)
	if !headline.OK {
		return &exitError{code: 1, err: fmt.Errorf("%s", strings.TrimPrefix(headline.Summary, "✘ "))}
	}
	return nil
}

// shortAxis abbreviates an axis name for a terminal table.
var shortAxis = map[string]string{"acks": "acks", "min.insync.replicas": "minISR", "unclean.leader.election.enable": "unclean",
	// (ELR: KIP-966's eligible leader replicas; flush: log.flush.interval.messages; idem: enable.idempotence)
	"eligible.leader.replicas": "ELR", "log.flush.interval.messages": "flush", "enable.idempotence": "idem"}

// printMatrix prints one line per configuration that ran, within 120
// columns, then the rejected combinations once.
func printMatrix(w io.Writer, axes []scenarios.Axis, rows []scenarios.MatrixRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var head []string
	for _, a := range axes {
		h := shortAxis[a.Name]
		if h == "" {
			h = a.Name
		}
		head = append(head, h)
	}
	fmt.Fprintf(tw, "  %s\tlost\tno leader\t<minISR\tverdict\n", strings.Join(head, "\t"))
	rejected := map[string][]string{}
	var reasons []string
	for _, row := range rows {
		if row.Result == nil {
			if rejected[row.Invalid] == nil {
				reasons = append(reasons, row.Invalid)
			}
			rejected[row.Invalid] = append(rejected[row.Invalid], strings.Join(row.Values, "/"))
			continue
		}
		v := row.Result.Verdict
		fmt.Fprintf(tw, "  %s\t%d\t%v\t%v\t%s\n", strings.Join(row.Values, "\t"), v.Lost, v.Unavailable.Round(time.Millisecond),
			v.UnderMinISR.Round(time.Millisecond), shortVerdict(v))
	}
	tw.Flush()
	for _, why := range reasons {
		rule := why // the rule itself, without the field path that precedes it
		if i := strings.LastIndex(why, ": "); i > 0 && len(why)-i > 20 {
			rule = why[i+2:]
		}
		fmt.Fprintf(w, "  not run, Kafka refuses %d combinations: %s\n", len(rejected[why]), fitLine(rule, 100))
	}
}

// shortVerdict says in a few words what a configuration's run came to.
func shortVerdict(v *checker.Verdict) string {
	switch {
	case v.OK:
		return "ok"
	case v.Lost > 0 && len(v.LostBy) > 0:
		a := v.LostBy[0]
		if a.Allowance == checker.AllowNone {
			return "LOSS: a broken guarantee"
		}
		return "loss allowed by " + string(a.Allowance)
	case v.Stopped != "":
		return "stopped by a broken invariant"
	default:
		return fitLine(v.Summary(), 40)
	}
}

// fitLine shortens s to at most n characters at a word boundary.
func fitLine(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndexAny(string(r), " ,;:"); i > n/2 {
		r = []rune(string(r)[:i])
	}
	return strings.TrimRight(string(r), " ,;:") + "…"
}

// matrixReport pivots the matrix: rows are the first two axes' values,
// columns the rest; each cell is coloured by loss and shows the
// unavailability and its replay command.
func matrixReport(name string, s scenarios.Scenario, replay string, axes []scenarios.Axis, rows []scenarios.MatrixRow, headline reports.Verdict) reports.Matrix {
	nr := min(2, len(axes))
	m := reports.Matrix{Title: name + ": what each configuration can lose", Seed: s.Seed, Replay: replay, Headline: headline,
		Duration: time.Duration(*s.Duration)}
	for i, a := range axes {
		label := a.Name
		if short := shortAxis[a.Name]; short != "" {
			label = short
		}
		if i < nr {
			m.RowAxes = append(m.RowAxes, label)
		} else {
			m.ColumnAxes = append(m.ColumnAxes, label)
		}
	}
	var legend []string
	for _, a := range axes {
		if short := shortAxis[a.Name]; short != "" && short != a.Name {
			legend = append(legend, short+" is "+a.Name)
		}
	}
	rowIdx, colIdx := map[string]int{}, map[string]int{}
	rejected := map[string]bool{}
	sum := scenarios.NewMatrixSummary(rows)
	m.Intro = fmt.Sprintf("One seed and one fault schedule, run under each of %d configurations (%d more combinations are refused by Kafka and not run). %s.",
		sum.Ran, sum.Rejected, strings.Join(legend, "; "))
	for _, row := range rows {
		rk, ck := strings.Join(row.Values[:nr], "/"), strings.Join(row.Values[nr:], "/")
		if _, ok := rowIdx[rk]; !ok {
			rowIdx[rk] = len(m.Rows)
			m.Rows = append(m.Rows, row.Values[:nr])
		}
		if _, ok := colIdx[ck]; !ok {
			colIdx[ck] = len(m.Columns)
			m.Columns = append(m.Columns, row.Values[nr:])
		}
	}
	m.Cells = make([][]*reports.MatrixCell, len(m.Rows))
	for i := range m.Cells {
		m.Cells[i] = make([]*reports.MatrixCell, len(m.Columns))
	}
	for _, row := range rows {
		cell := &reports.MatrixCell{}
		if row.Result == nil {
			cell.Rejected = true
			if !rejected[row.Invalid] {
				rejected[row.Invalid] = true
				m.Rejected = append(m.Rejected, row.Invalid)
			}
		} else {
			v := row.Result.Verdict
			cell.OK, cell.Lost, cell.Unavailable, cell.UnderMinISR, cell.Replay = v.OK, v.Lost, v.Unavailable, v.UnderMinISR, row.Result.Replay
			if !v.OK {
				cell.Allowed = shortVerdict(v)
			}
		}
		m.Cells[rowIdx[strings.Join(row.Values[:nr], "/")]][colIdx[strings.Join(row.Values[nr:], "/")]] = cell
	}
	return m
}
