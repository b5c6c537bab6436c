package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["merge"] = command{
		summary: "combine the --summary files of a hunt's shards into one report",
		run:     runMerge,
	}
}

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("merge", "merge SUMMARY.jsonl... [--summary FILE.jsonl] [--out FILE.html]", stderr)
	summary := fs.String("summary", "", "write the merged summary here")
	out := fs.String("out", "", "write the merged HTML report here")
	files, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError("give the shards' summary files (kafkasim hunt --summary), such as out/*-hunt-shard*.jsonl")
	}
	var parts [][]scenarios.HuntSummary
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return usageError("%v", err)
		}
		sums, err := scenarios.ReadHuntSummaries(r)
		r.Close()
		if err != nil {
			return usageError("%s: %v", f, err)
		}
		parts = append(parts, sums)
	}
	sums, err := scenarios.MergeHunts(parts...)
	if err != nil {
		return usageError("%v", err)
	}
	name := sums[0].Hunt
	rep := scenarios.NewHuntReport(sums)
	rep.Write(stdout, name)
	for _, path := range []string{*summary, *out} {
		if err := checkOutput(path); err != nil {
			return err
		}
	}
	if *summary != "" {
		if err := reports.WriteFile(*summary, func(w io.Writer) error { return scenarios.WriteHuntSummaries(w, sums) }); err != nil {
			return usageError("%v", err)
		}
	}
	if *out != "" {
		if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteSweep(w, huntPage(name, rep, sums)) }); err != nil {
			return usageError("%v", err)
		}
	}
	if len(rep.FalsePositives) > 0 || len(rep.Errors) > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d false positives and %d errors in %d seeds", len(rep.FalsePositives), len(rep.Errors), len(sums))}
	}
	return nil
}
