package main

import (
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["sweep"] = command{
		summary: "run a scenario over many seeds in parallel; report outcomes, failing seeds and coverage",
		run:     runSweep,
	}
}

// parseShard parses --shard i/n (1-based i, as batch runners number jobs)
// into a 0-based shard and the number of shards.
func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return 0, 0, usageError("--shard %q: give i/n with 1 <= i <= n, such as 2/8", s)
	}
	return i - 1, n, nil
}

func runSweep(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sweep", "sweep SCENARIO [--seeds N] [--first S] [--parallel P] [--shard i/n] [--determinism] [--expect] [--summary FILE.jsonl] [--out FILE.html]", stderr)
	seeds := fs.Int("seeds", 100, "how many seeds to run")
	first := fs.Uint64("first", 1, "the first seed")
	parallel := fs.Int("parallel", 0, "simulations at once, one per goroutine (default: one per CPU)")
	shard := fs.String("shard", "1/1", "run only shard i of n of the seeds, for splitting a sweep across machines (merge the --summary files with cat)")
	determinism := fs.Bool("determinism", false, "run every seed twice and fail on any trace-hash difference")
	summary := fs.String("summary", "", "write one JSON line per seed here (default out/<scenario>-sweep.jsonl)")
	out := fs.String("out", "", "where to write the HTML sweep report (default out/<scenario>-sweep.html)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	sets := registerSet(fs)
	expect := fs.Bool("expect", false, "exit 0 when every seed shows what its scenario expects (a loss, for a scenario about losses), 1 when one does not")
	name, err := oneArg(fs, args, "scenario", "standard, or a scenario file (.json)")
	if err != nil {
		return err
	}
	if *seeds < 1 {
		return usageError("--seeds %d: give at least 1", *seeds)
	}
	if *first > math.MaxUint64-uint64(*seeds-1) {
		return usageError("--first %d with --seeds %d: the seeds would pass %d, the largest seed; give a smaller --first", *first, *seeds, uint64(math.MaxUint64))
	}
	if *parallel < 0 {
		return usageError("--parallel %d: give 0 (one per CPU) or more", *parallel)
	}
	shardIdx, shards, err := parseShard(*shard)
	if err != nil {
		return err
	}
	s, setArgs, err := loadScenario(name, sets)
	if err != nil {
		return err
	}
	base := filepath.Join("out", s.Name+"-sweep")
	if shards > 1 {
		base += fmt.Sprintf("-shard%dof%d", shardIdx+1, shards)
	}
	if *summary == "" {
		*summary = base + ".jsonl"
	}
	if *out == "" {
		*out = base + ".html"
	}
	for _, path := range []string{*summary, *out} {
		if err := checkOutput(path); err != nil {
			return err
		}
	}
	tuneGC()
	progress := progressBar(stderr, *quiet)
	start := time.Now()
	sums, err := scenarios.Sweep(s, scenarios.SweepOptions{First: *first, Count: *seeds, Shard: shardIdx, Shards: shards,
		Parallel: *parallel, Determinism: *determinism, Progress: progress,
		Replay: func(seed uint64) string { return fmt.Sprintf("kafkasim run %s --seed %d%s", name, seed, setArgs) }})
	if err != nil {
		return usageError("%v", err)
	}
	wall := time.Since(start)
	for _, path := range []string{*summary, *out} {
		if err := ensureDir(path); err != nil {
			return err
		}
	}
	if err := reports.WriteFile(*summary, func(w io.Writer) error { return scenarios.WriteSummaries(w, sums) }); err != nil {
		return usageError("%v", err)
	}
	t := scenarios.TallySummaries(sums)
	printTally(stdout, s.Name, t, sums, wall)
	sweep := sweepReport(s.Name, t, sums, *expect)
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteSweep(w, sweep) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "summary: %s\nreport: %s\n", *summary, *out)
	if *expect {
		var unmet []string
		for _, sum := range sums {
			if !sum.Expected {
				unmet = append(unmet, fmt.Sprintf("  seed %d: %s\n    replay: %s", sum.Seed, sum.Unexpected, sum.Replay))
			}
		}
		if n := len(unmet); n > 0 {
			if n > 3 {
				unmet = append(unmet[:3], fmt.Sprintf("  and %d more (see %s)", n-3, *summary))
			}
			return &exitError{code: 1, err: fmt.Errorf("%d of %d seeds did not show what %s expects:\n%s", n, len(sums), s.Name, strings.Join(unmet, "\n"))}
		}
		fmt.Fprintf(stdout, "expectation met on all %d seeds\n", len(sums))
		return nil
	}
	if len(t.Failing) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d seeds found a problem", len(t.Failing), t.Seeds)}
	}
	return nil
}

// progressBar draws a progress bar on a terminal, and nothing elsewhere.
func progressBar(w io.Writer, quiet bool) func(done, total int) {
	f, ok := w.(*os.File)
	if quiet || !ok {
		return nil
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		const width = 40
		n := done * width / total
		elapsed := time.Since(start)
		rate := float64(done) / elapsed.Minutes()
		eta := time.Duration(float64(elapsed) / float64(done) * float64(total-done)).Round(time.Second)
		fmt.Fprintf(f, "\r[%s%s] %d/%d seeds, %.0f seeds/min, ETA %v   ", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total, rate, eta)
		if done == total {
			fmt.Fprintln(f)
		}
	}
}

func printTally(w io.Writer, name string, t scenarios.Tally, sums []scenarios.SeedSummary, wall time.Duration) {
	fmt.Fprintf(w, "%s: %d seeds in %v (%.0f seeds/min)\n", name, t.Seeds, wall.Round(time.Millisecond), float64(t.Seeds)/wall.Minutes())
	for _, k := range slices.Sorted(maps.Keys(t.Outcomes)) {
		fmt.Fprintf(w, "  %-28s %d\n", k, t.Outcomes[k])
	}
	fmt.Fprintln(w, "coverage (runs that reached each state):")
	for _, st := range scenarios.States {
		n := t.Coverage[st.Name]
		note := ""
		if n == 0 {
			note = "  (never reached: the faults were too gentle to test it)"
		}
		fmt.Fprintf(w, "  %-28s %d%s\n", st.Name, n, note)
	}
	for i, f := range t.Failing {
		if i == 20 {
			fmt.Fprintf(w, "  ... and %d more failing seeds (see the report)\n", len(t.Failing)-20)
			break
		}
		why := f.Summary
		if f.Error != "" {
			why = f.Error
		}
		fmt.Fprintf(w, "  FAIL seed %d: %s\n    replay: %s\n", f.Seed, why, f.Replay)
	}
}

// sweepReport builds the sweep's page; its headline is the one the exit
// code gives: with expect, whether every seed showed what the scenario
// expects, else whether every seed passed.
func sweepReport(name string, t scenarios.Tally, sums []scenarios.SeedSummary, expect bool) reports.Sweep {
	sw := reports.Sweep{Title: name + ": " + strconv.Itoa(t.Seeds) + " seeds", Scenario: name, Seeds: t.Seeds}
	for _, s := range sums {
		if !s.Expected {
			sw.Unexpected = append(sw.Unexpected, reports.SweepFailure{Seed: s.Seed, Summary: s.Unexpected, Replay: s.Replay})
		}
	}
	switch {
	case expect && len(sw.Unexpected) > 0:
		sw.Headline = reports.Verdict{Summary: fmt.Sprintf("✘ %d of %d seeds did not show what %s expects", len(sw.Unexpected), t.Seeds, name)}
	case expect:
		sw.Headline = reports.Verdict{OK: true, Summary: fmt.Sprintf("✔ all %d seeds showed what %s expects (%d of them found problems, as the scenario intends)", t.Seeds, name, len(t.Failing))}
	case len(t.Failing) > 0:
		sw.Headline = reports.Verdict{Summary: fmt.Sprintf("✘ %d of %d seeds found a problem", len(t.Failing), t.Seeds)}
	default:
		sw.Headline = reports.Verdict{OK: true, Summary: fmt.Sprintf("✔ all %d seeds passed", t.Seeds)}
	}
	for _, k := range slices.Sorted(maps.Keys(t.Outcomes)) {
		sw.Outcomes = append(sw.Outcomes, reports.Count{Name: k, Count: uint64(t.Outcomes[k])})
	}
	for _, st := range scenarios.States {
		sw.Coverage = append(sw.Coverage, reports.Count{Name: st.Name, Count: uint64(t.Coverage[st.Name])})
	}
	var lost, offline, under, truncated []float64
	for _, s := range sums {
		lost = append(lost, float64(s.Lost))
		offline = append(offline, s.OfflineSeconds)
		under = append(under, s.UnderMinISRSeconds)
		truncated = append(truncated, float64(s.Truncated))
	}
	sw.Histograms = []reports.Histogram{
		{Title: "records lost per run (acknowledged or committed, whatever allowed it)", Unit: "records", Values: lost},
		{Title: "time without a leader per run (user partitions, summed)", Unit: "s", Values: offline},
		{Title: "time below min.insync.replicas per run (acks=all writes fail)", Unit: "s", Values: under},
		{Title: "records truncated from replicas per run", Unit: "records", Values: truncated},
	}
	for _, f := range t.Failing {
		why := f.Summary
		if f.Error != "" {
			why = f.Error
		}
		sw.Failures = append(sw.Failures, reports.SweepFailure{Seed: f.Seed, Summary: why, Replay: f.Replay})
	}
	return sw
}

// tuneGC trades memory for speed in sweeps, which allocate much and keep
// little: the collector runs at 400% heap growth (GOGC=400: about 1.25x
// the seeds per minute) under a soft limit of 8 GiB (GOMEMLIMIT), unless
// the environment sets either. Trace hashes do not depend on it.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(8 << 30)
	}
}
