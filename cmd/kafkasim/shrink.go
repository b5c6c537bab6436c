package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["shrink"] = command{
		summary: "shrink a failing run to a minimal schedule and workload that still fail the same way",
		run:     runShrink,
	}
}

func runShrink(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("shrink", "shrink FILE.replay.json|SCENARIO [--seed N] [--keep lost-write,...] [--out MIN.replay.json] [--script scenarios/testdata/NAME]", stderr)
	seed := fs.Uint64("seed", 0, "seed, when shrinking a scenario rather than a replay file")
	keep := fs.String("keep", "", "findings the shrunk run must still produce, comma-separated (default: every problem of the original run)")
	out := fs.String("out", "", "where to write the minimal replay file (default out/<scenario>-seed<N>-min.replay.json)")
	script := fs.String("script", "", "also write the minimal run as a datadriven regression script (for scenarios/testdata)")
	arg, err := oneArg(fs, args, "failing run", "out/standard-seed20.replay.json, or a scenario name with --seed")
	if err != nil {
		return err
	}
	var s scenarios.Scenario
	if strings.HasSuffix(arg, ".replay.json") {
		f, err := scenarios.ReadReplayFile(arg)
		if err != nil {
			return usageError("%v", err)
		}
		s = f.Scenario
	} else {
		if s, err = scenarios.Load(arg); err != nil {
			return usageError("%v", err)
		}
	}
	if isSet(fs, "seed") {
		s.Seed = *seed
	}
	var names []string
	for _, n := range strings.Split(*keep, ",") {
		if n = strings.TrimSpace(n); n != "" {
			if !checker.KnownFinding(n) {
				return usageError("--keep: unknown finding %q: accepted are %s", n, strings.Join(checker.FindingNames, ", "))
			}
			names = append(names, n)
		}
	}
	if *out == "" {
		*out = filepath.Join("out", fmt.Sprintf("%s-seed%d-min.replay.json", s.Name, s.Seed))
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	start := time.Now()
	opts := scenarios.ShrinkOptions{Keep: names}
	if p := progressLine(stderr); p != nil {
		opts.Progress = p
	}
	sh, err := scenarios.Shrink(s, opts)
	if err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "%s (seed %d): %d faults shrunk to %d in %d runs (%v), still producing %s\n",
		s.Name, s.Seed, sh.From, len(sh.Scenario.Faults), sh.Runs, time.Since(start).Round(time.Millisecond), strings.Join(sh.Keep, ", "))
	for _, f := range sh.Scenario.Faults {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	fmt.Fprintf(stdout, "  run for %v\n", time.Duration(*sh.Scenario.Duration))
	if err := ensureDir(*out); err != nil {
		return err
	}
	rf := scenarios.NewReplayFile(sh.Result, 0)
	if err := rf.Write(*out); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "minimal replay file: %s\nreplay: kafkasim replay %s\n", *out, *out)
	if *script != "" {
		text, err := scenarios.RegressionScript(rf.Scenario, sh.Result, fmt.Sprintf("%s, seed %d, shrunk from %d faults to %d; it must keep producing: %s",
			s.Name, s.Seed, sh.From, len(sh.Scenario.Faults), strings.Join(sh.Keep, ", ")))
		if err != nil {
			return err
		}
		if err := ensureDir(*script); err != nil {
			return err
		}
		if err := os.WriteFile(*script, []byte(text), 0o644); err != nil {
			return usageError("cannot write the script: %v", err)
		}
		fmt.Fprintf(stdout, "regression script: %s (go test ./scenarios -run TestRegressionScripts)\n", *script)
	}
	return nil
}

// progressLine shows a shrink's progress on a terminal.
func progressLine(w io.Writer) func(runs, faults int) {
	if progressBar(w, false) == nil {
		return nil
	}
	return func(runs, faults int) {
		fmt.Fprintf(w, "\r%d runs, smallest failing schedule %d faults   ", runs, faults)
	}
}
