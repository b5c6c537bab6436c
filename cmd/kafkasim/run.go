package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/sim"
)

func init() {
	commands["run"] = command{
		summary: "run a built-in scenario or a scenario file, check it, and write its HTML report",
		run:     runRun,
	}
	commands["replay"] = command{
		summary: "run a saved replay file again and check that it reproduces bit for bit",
		run:     runReplay,
	}
	commands["scenarios"] = command{
		summary: "list the built-in scenarios and what each shows",
		run:     runScenarios,
	}
	commands["config"] = command{
		summary: "print every Kafka property, protocol variant and scenario limit a scenario can set (Markdown)",
		run:     runConfig,
	}
}

// outputFlags are the files a run can write.
type outputFlags struct {
	name                      string // the scenario as the user named it
	out, history, save, trace string
	noReport, expect          bool
}

func (o *outputFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&o.out, "out", "", "where to write the HTML report (default out/<scenario>-seed<N>.html)")
	fs.BoolVar(&o.noReport, "no-report", false, "write no HTML report")
	fs.StringVar(&o.history, "history", "", "also save the history as JSON Lines (for kafkasim check and report)")
	fs.StringVar(&o.save, "save", "", "where to write the replay file (default next to the report, .replay.json)")
	fs.StringVar(&o.trace, "trace", "", "write the readable trace of every event to this file")
	fs.BoolVar(&o.expect, "expect", false, "exit 0 when the run shows what its scenario expects (a loss, for a scenario about losses), 1 when it does not")
}

func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run SCENARIO [--seed N] [--out FILE.html] [--until-step N] [--expect] ...\n\nSCENARIO is a built-in scenario's name (kafkasim scenarios lists them) or a scenario file (.json).", stderr)
	sf := addScenarioFlags(fs)
	untilStep := fs.Uint64("until-step", 0, "stop after this many events: replay up to a moment a report points at")
	var o outputFlags
	o.register(fs)
	s, name, setArgs, err := sf.scenario(args, "a built-in scenario's name (kafkasim scenarios lists them) or a scenario file (.json)")
	if err != nil {
		return err
	}
	replay := fmt.Sprintf("kafkasim run %s --seed %d%s", name, s.Seed, setArgs)
	if *untilStep > 0 {
		replay += fmt.Sprintf(" --until-step %d", *untilStep)
	}
	o.name = name + setArgs
	return runAndReport(s, scenarios.Options{Replay: replay, UntilStep: *untilStep}, o, stdout, nil)
}

func runReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("replay", "replay FILE.replay.json [--out FILE.html] ...", stderr)
	var o outputFlags
	o.register(fs)
	path, err := oneArg(fs, args, "replay file", "out/unclean-election-loss-seed1.replay.json")
	if err != nil {
		return err
	}
	f, err := scenarios.ReadReplayFile(path)
	if err != nil {
		return usageError("%v", err)
	}
	return runAndReport(f.Scenario, scenarios.Options{Replay: "kafkasim replay " + path, UntilStep: f.UntilStep}, o, stdout, &f)
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// runAndReport runs a scenario, prints what it found, writes the report and
// the replay file, and turns the outcome into the exit code. With a replay
// file it also checks that the run reproduced the recorded one.
func runAndReport(s scenarios.Scenario, opts scenarios.Options, o outputFlags, stdout io.Writer, replay *scenarios.ReplayFile) error {
	base := filepath.Join("out", fmt.Sprintf("%s-seed%d", s.Name, s.Seed))
	// Only the report draws the timeline: without one, it is not kept.
	opts.NoTimeline = opts.NoTimeline || o.noReport
	if o.out == "" && !o.noReport {
		o.out = base + ".html"
	}
	if o.save == "" {
		o.save = strings.TrimSuffix(o.out, ".html") + ".replay.json"
		if o.noReport {
			o.save = base + ".replay.json"
		}
	}
	// Every output path is checked before the run, so that a run of many
	// minutes never ends in "cannot write".
	for _, path := range []string{o.out, o.save, o.history, o.trace} {
		if err := checkOutput(path); err != nil {
			return err
		}
	}
	var traceFile *bufio.Writer
	if o.trace != "" {
		f, err := os.Create(o.trace)
		if err != nil {
			return usageError("cannot write the trace: %v", err)
		}
		defer f.Close()
		traceFile = bufio.NewWriter(f)
		defer traceFile.Flush()
		opts.Trace = func(r sim.Record) { fmt.Fprintln(traceFile, r.String()) }
	}
	start := time.Now()
	var res *scenarios.Result
	var err error
	if replay != nil {
		res, err = scenarios.Replay(*replay, opts)
		if res == nil && err != nil {
			return err
		}
	} else {
		res, err = scenarios.Run(s, opts)
		if err != nil {
			return err
		}
	}
	wall := time.Since(start)
	if replay == nil && opts.UntilStep == 0 {
		name, setArgs, _ := strings.Cut(o.name, " ")
		if setArgs != "" {
			setArgs = " " + setArgs
		}
		compare := fmt.Sprintf("kafkasim compare %s --seed %d%s", name, s.Seed, setArgs)
		if err := scenarios.ExplainUnclean(res, scenarios.Options{}, compare); err != nil {
			return err
		}
	}
	printResult(stdout, res, wall)
	// The replay file and the history first: a report that fails to render
	// loses nothing else.
	if replay == nil {
		if err := scenarios.NewReplayFile(res, opts.UntilStep).Write(o.save); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("the replay file: %w", err)}
		}
		fmt.Fprintf(stdout, "replay file: %s\n", o.save)
	}
	if o.history != "" {
		if err := writeHistory(o.history, res.History); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("the history: %w", err)}
		}
		fmt.Fprintf(stdout, "history: %s\n", o.history)
	}
	if !o.noReport {
		if err := reports.WriteFile(o.out, func(w io.Writer) error { return reports.WriteRun(w, reportOf(res)) }); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("the report could not be written (the replay file and history are in place): %w", err)}
		}
		fmt.Fprintf(stdout, "report: %s\n", o.out)
	}
	fmt.Fprintf(stdout, "replay: %s\n", res.Replay)
	if err != nil { // the replay diverged
		return err
	}
	if o.expect {
		if ok, why := res.Expected(); !ok {
			return &exitError{code: 1, err: errors.New(why)}
		}
		return nil
	}
	if code := res.Verdict.ExitCode(); code != 0 {
		return &exitError{code: code, err: fmt.Errorf("the run found problems: %s", res.Summary())}
	}
	return nil
}

// checkOutput makes sure a file can be written at path before any work
// is done: its directory exists (or is created) and path is not a
// directory. An empty path is not written and passes.
func checkOutput(path string) error {
	if path == "" {
		return nil
	}
	if err := ensureDir(path); err != nil {
		return err
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usageError("%s is a directory: give a file name for the output", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.probe")
	if err != nil {
		return usageError("cannot write %s: %v", path, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func ensureDir(path string) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return usageError("cannot create %s: %v", dir, err)
		}
	}
	return nil
}

func writeHistory(path string, h *history.History) error {
	var b strings.Builder
	if err := history.WriteHistory(&b, h); err != nil {
		return err
	}
	return reports.WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, b.String()); return err })
}

// printResult prints a run's outcome for a terminal.
func printResult(w io.Writer, res *scenarios.Result, wall time.Duration) {
	s := res.Scenario
	if s.Description != "" {
		fmt.Fprintf(w, "%s (seed %d): %s\n", s.Name, s.Seed, s.Description)
	} else {
		fmt.Fprintf(w, "%s (seed %d)\n", s.Name, s.Seed)
	}
	fmt.Fprintf(w, "  cluster ready at %v; ran to %v of simulated time in %v: %d events, trace hash %s\n",
		res.Ready.Round(time.Millisecond), res.End.Round(time.Millisecond), wall.Round(time.Millisecond), res.Steps, res.TraceHash)
	fmt.Fprintf(w, "  %d client operations\n", len(res.History.Ops))
	v := res.Verdict
	for _, p := range v.Partitions {
		if p.Internal && p.Unavailable == 0 && p.Lost == 0 {
			continue
		}
		var parts []string
		if p.Unavailable > 0 {
			parts = append(parts, fmt.Sprintf("no leader for %v", p.Unavailable.Round(time.Millisecond)))
		}
		if p.UnderMinISR > 0 {
			parts = append(parts, fmt.Sprintf("ISR below min.insync.replicas for %v", p.UnderMinISR.Round(time.Millisecond)))
		}
		if p.Stalled > 0 {
			parts = append(parts, fmt.Sprintf("high-water mark held below what its ISR had for %v", p.Stalled.Round(time.Millisecond)))
		}
		if p.Truncated > 0 {
			parts = append(parts, fmt.Sprintf("%d records truncated from replicas", p.Truncated))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", p.TP, strings.Join(parts, ", "))
		}
	}
	if res.Stopped != nil {
		fmt.Fprintf(w, "  STOPPED: %v\n", res.Stopped)
	}
	const most = 10
	for i, inc := range v.Incidents {
		if i == most {
			fmt.Fprintf(w, "  ... and %d more incidents: see the report\n", len(v.Incidents)-most)
			break
		}
		fmt.Fprintf(w, "  %s\n", inc.Headline)
		if inc.WhatIf != "" {
			fmt.Fprintf(w, "    %s\n", inc.WhatIf)
		}
		if inc.Replay != "" {
			fmt.Fprintf(w, "    replay to that moment: %s\n", inc.Replay)
		}
	}
	notes := 0
	for _, f := range v.Findings {
		if f.Class == checker.Note {
			notes++
		}
	}
	if notes > 0 {
		fmt.Fprintf(w, "  (%d notes, such as acknowledged writes nobody read by the end: see the report)\n", notes)
	}
	lin := v.Linearizability
	if v.LinearizabilityNote != "" {
		lin += ": " + v.LinearizabilityNote
	}
	fmt.Fprintf(w, "  linearizability: %s\n", lin)
	fmt.Fprintf(w, "verdict: %s\n", res.Summary())
	ok, why := res.Expected()
	mark := "met"
	if !ok {
		mark = "NOT met"
	}
	fmt.Fprintf(w, "expectation %s: %s\n", mark, why)
}

func kv(k, v string) reports.KV { return reports.KV{Key: k, Value: v} }

// reportOf turns a run's result into its report's data.
func reportOf(res *scenarios.Result) reports.Run {
	s := res.Scenario
	desc := s.Description
	if s.Shows != "" {
		desc += ". It shows: " + s.Shows + "."
	}
	config := []reports.KV{
		kv("brokers", fmt.Sprint(*s.Cluster.Brokers)),
		kv("controllers", fmt.Sprint(*s.Cluster.Controllers)),
	}
	for _, k := range slices.Sorted(maps.Keys(s.Cluster.BrokerConfig)) {
		config = append(config, kv(k, s.Cluster.BrokerConfig[k]))
	}
	for _, t := range s.Cluster.Topics {
		config = append(config, kv("topic "+t.Name, fmt.Sprintf("%d partitions, replication factor %d", *t.Partitions, *t.ReplicationFactor)))
		for _, k := range slices.Sorted(maps.Keys(t.Config)) {
			config = append(config, kv(t.Name+" "+k, t.Config[k]))
		}
	}
	for _, p := range s.Workload.Producers {
		desc := fmt.Sprintf("%v records/s each, %d keys", p.Rate, p.Keys)
		if len(p.Config) > 0 {
			desc += ", " + properties(p.Config)
		}
		config = append(config, kv(fmt.Sprintf("%d producers → %s", p.Count, p.Topic), desc))
	}
	for _, c := range s.Workload.Consumers {
		desc := "assigned every partition (no group)"
		if c.Group != "" {
			desc = "group " + c.Group
		}
		if len(c.Config) > 0 {
			desc += ", " + properties(c.Config)
		}
		config = append(config, kv(fmt.Sprintf("%d consumers of %s", c.Count, strings.Join(c.Topics, ", ")), desc))
	}
	if p := s.Cluster.Protocol; len(p) > 0 {
		config = append(config, kv("protocol variants", p.String()))
	}
	r := reports.Build(reports.Source{
		Title: s.Name, Description: desc, History: res.History, Report: res.Report, Timeline: res.Timeline,
		TraceHash: res.TraceHash, Duration: res.End, Steps: res.Steps, Config: config, Marks: res.Marks, Live: res.Live,
		Verdict: res.Verdict,
	})
	if ok, why := res.Expected(); ok {
		r.Notes = append(r.Notes, "Expectation met: "+why+".")
	} else {
		r.Notes = append(r.Notes, "Expectation NOT met: "+why+".")
	}
	return r
}

func runScenarios(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("scenarios", "scenarios [--names | --marks] | scenarios show NAME", stderr)
	names := fs.Bool("names", false, "print only the names, one per line, for scripts (for s in $(kafkasim scenarios --names); ...)")
	marks := fs.Bool("marks", false, "print every coverage mark a scenario may expect (expect.marks), with what reaching it shows")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		if pos[0] != "show" || len(pos) != 2 {
			return usageError("unexpected argument %q: give no argument to list the built-ins, or show NAME to print one's file", strings.Join(pos, " "))
		}
		data, err := scenarios.BuiltinSource(pos[1])
		if err != nil {
			return usageError("%v", err)
		}
		_, err = stdout.Write(data)
		return err
	}
	if *marks {
		for _, m := range scenarios.Marks() {
			fmt.Fprintf(stdout, "%s\n    %s\n", m.Name, m.Meaning)
		}
		return nil
	}
	if *names {
		for _, name := range scenarios.BuiltinNames() {
			fmt.Fprintln(stdout, name)
		}
		return nil
	}
	for _, s := range scenarios.Builtins() {
		expect := "no loss, no anomaly"
		if len(s.Expect.Findings) > 0 {
			expect = "finds " + strings.Join(s.Expect.Findings, ", ")
		}
		fmt.Fprintf(stdout, "%s\n    %s\n    shows: %s (%s)\n", s.Name, s.Description, s.Shows, expect)
	}
	return nil
}

// properties renders Kafka properties as "name=value, ...", sorted.
func properties(m map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return strings.Join(out, ", ")
}

func runConfig(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("config", "config", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprint(stdout, scenarios.Reference())
	return nil
}
