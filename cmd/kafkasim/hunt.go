package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["hunt"] = command{
		summary: "run a scenario or museum entry blind: every seed draws its own fault knobs; report finds, false positives and coverage",
		run:     runHunt,
	}
}

func runHunt(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("hunt", "hunt SCENARIO|MUSEUM-ENTRY [--seeds N] [--first S] [--parallel P] [--shard i/n] [--guided F] [--mutation M] [--current] [--disk-loss] [--below-tcp] [--buggify] [--workload] [--replays DIR] [--summary FILE.jsonl] [--out FILE.html]", stderr)
	seeds := fs.Int("seeds", 100, "how many seeds to run")
	first := fs.Uint64("first", 1, "the first seed")
	parallel := fs.Int("parallel", 0, "simulations at once (default: one per CPU)")
	shard := fs.String("shard", "1/1", "run only shard i of n of the seeds (combine the --summary files with kafkasim merge)")
	current := fs.Bool("current", false, "hunt a museum entry's fix (current Kafka) for false positives instead of the bug")
	diskLoss := fs.Bool("disk-loss", false, "let the hunt draw disk-loss faults (outside Kafka's fault model before KIP-853)")
	belowTCP := fs.Bool("below-tcp", false, "let the network lose, duplicate and reorder messages on live connections (outside Kafka's fault model: Kafka relies on TCP)")
	guided := fs.Float64("guided", 0, "the share of the seeds (0 to 0.9) spent on mutants of the seeds that reached the rarest marks (not with --shard)")
	mutation := fs.Int("mutation", 0, "run this mutation of each seed (replays a mutant of a guided hunt)")
	buggify := fs.Bool("buggify", false, "let each seed enable a random subset of the BUGGIFY points (rare but legal paths)")
	workload := fs.Bool("workload", false, "let each seed draw workload knobs too: each producer's acks (all, 1, 0) and enable.idempotence, consumers leaving and joining their group")
	replays := fs.String("replays", "", "write a replay file per finding or false-positive seed into this directory")
	summary := fs.String("summary", "", "write one JSON line per seed here (default out/<name>-hunt.jsonl)")
	out := fs.String("out", "", "where to write the HTML report (default out/<name>-hunt.html)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	name, err := oneArg(fs, args, "scenario or museum entry", "standard, kafka-1211 (see kafkasim museum)")
	if err != nil {
		return err
	}
	if *seeds < 1 {
		return usageError("--seeds %d: give at least 1", *seeds)
	}
	if *guided < 0 || *guided > 0.9 || *mutation < 0 {
		return usageError("--guided %v --mutation %d: give a share from 0 to 0.9, and a mutation number of 0 or more", *guided, *mutation)
	}
	shardIdx, shards, err := parseShard(*shard)
	if err != nil {
		return err
	}
	base, target, hunt, replayName, err := scenarios.HuntTarget(name, *current)
	if err != nil {
		return usageError("%v", err)
	}
	file := filepath.Join("out", name+map[bool]string{true: "-current"}[*current]+"-hunt")
	if shards > 1 {
		file += fmt.Sprintf("-shard%dof%d", shardIdx+1, shards)
	}
	if *summary == "" {
		*summary = file + ".jsonl"
	}
	if *out == "" {
		*out = file + ".html"
	}
	for _, path := range []string{*summary, *out} {
		if err := checkOutput(path); err != nil {
			return err
		}
	}
	hunt.DiskLoss, hunt.BelowTCP, hunt.Buggify = hunt.DiskLoss || *diskLoss, hunt.BelowTCP || *belowTCP, hunt.Buggify || *buggify
	hunt.Workload = hunt.Workload || *workload
	// The replay command names the flags that change what a seed draws.
	for _, f := range []struct {
		on   bool
		flag string
	}{{*diskLoss, " --disk-loss"}, {*belowTCP, " --below-tcp"}, {*buggify, " --buggify"}, {*workload, " --workload"}} {
		if f.on {
			replayName += f.flag
		}
	}
	opts := scenarios.HuntRunOptions{HuntOptions: hunt, Name: replayName,
		First: *first, Count: *seeds, Shard: shardIdx, Shards: shards, Parallel: *parallel, Target: target,
		Progress: progressBar(stderr, *quiet), Mutants: int(*guided * float64(*seeds)), Mutation: *mutation}
	if *replays != "" {
		if err := os.MkdirAll(*replays, 0o755); err != nil {
			return usageError("--replays: %v", err)
		}
		opts.Keep = func(s scenarios.Scenario, res *scenarios.Result, mutation int) {
			if fp, _ := scenarios.FalsePositive(res); fp || (target.Finding != "" && target.Found(res)) || (target.Finding == "" && !res.OK()) {
				path := filepath.Join(*replays, fmt.Sprintf("%s-%d-m%d.replay.json", s.Name, s.Seed, mutation))
				if err := scenarios.NewReplayFile(res, 0).Write(path); err != nil {
					fmt.Fprintln(stderr, err)
				}
			}
		}
	}
	tuneGC()
	start := time.Now()
	sums, err := scenarios.Hunt(base, opts)
	if err != nil {
		return usageError("%v", err)
	}
	if err := reports.WriteFile(*summary, func(w io.Writer) error { return scenarios.WriteHuntSummaries(w, sums) }); err != nil {
		return usageError("%v", err)
	}
	rep := scenarios.NewHuntReport(sums)
	rep.Wall = time.Since(start)
	rep.Write(stdout, replayName)
	for i, s := range sums {
		if s.Found && i < 10 {
			fmt.Fprintf(stdout, "  found: seed %d: %s\n    knobs: %s\n    replay: %s\n", s.Seed, s.Summary, s.Knobs, s.Replay)
		}
	}
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteSweep(w, huntPage(replayName, rep, sums)) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "%d seeds in %v\nsummary: %s\nreport: %s\n", len(sums), rep.Wall.Round(time.Millisecond), *summary, *out)
	if len(rep.FalsePositives) > 0 || len(rep.Errors) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d false positives and %d errors in %d seeds", len(rep.FalsePositives), len(rep.Errors), len(sums))}
	}
	return nil
}

// huntPage renders a hunt as a sweep page: finds as failures, every mark
// as coverage.
func huntPage(name string, rep scenarios.HuntReport, sums []scenarios.HuntSummary) reports.Sweep {
	sw := reports.Sweep{Title: fmt.Sprintf("hunt %s: %d seeds", name, rep.Seeds), Scenario: name, Seeds: rep.Seeds}
	sw.Headline = reports.Verdict{OK: len(rep.FalsePositives) == 0, Summary: fmt.Sprintf("%d of %d seeds found the target, %d false positives", len(rep.Found), rep.Seeds, len(rep.FalsePositives))}
	sw.Outcomes = []reports.Count{{Name: "found", Count: uint64(len(rep.Found))}, {Name: "false positive", Count: uint64(len(rep.FalsePositives))}, {Name: "error", Count: uint64(len(rep.Errors))}}
	for _, m := range scenarios.Marks() {
		sw.Coverage = append(sw.Coverage, reports.Count{Name: m.Name, Count: uint64(rep.Marks[m.Name])})
	}
	for _, s := range sums {
		if s.Found || s.FalsePositive != "" {
			why := s.Summary
			if s.FalsePositive != "" {
				why = "false positive: " + s.FalsePositive
			}
			sw.Failures = append(sw.Failures, reports.SweepFailure{Seed: s.Seed, Summary: why + " — " + s.Knobs, Replay: s.Replay})
		}
	}
	return sw
}
