package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/reports"
)

func init() {
	commands["check"] = command{
		summary: "judge a saved history file: linearizability, Kafka anomalies, final state",
		run:     runCheck,
	}
	commands["report"] = command{
		summary: "render a saved history file as a self-contained HTML report",
		run:     runReport,
	}
}

// readHistory loads a history file; any problem with it is a usage error.
func readHistory(path string) (*model.History, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usageError("history file %s does not exist", path)
		}
		return nil, usageError("cannot read history file: %v", err)
	}
	defer f.Close()
	h, err := model.ReadHistory(f)
	if err != nil {
		return nil, usageError("%s is not a valid history: %v", path, err)
	}
	return h, nil
}

// oneArg parses the flags and takes the single positional argument.
func oneArg(fs *flag.FlagSet, args []string, what, example string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	switch len(pos) {
	case 1:
		return pos[0], nil
	case 0:
		return "", usageError("give the %s, such as %s", what, example)
	}
	return "", usageError("give one %s, not %d arguments", what, len(pos))
}

func runCheck(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "check [--budget D] [--no-linearizability] HISTORY.jsonl", stderr)
	budget := fs.Int64("budget", checker.DefaultBudget, "work budget of the linearizability check, in steps per partition")
	skip := fs.Bool("no-linearizability", false, "skip the linearizability check")
	path, err := oneArg(fs, args, "history file", "run.jsonl")
	if err != nil {
		return err
	}
	if *budget <= 0 {
		return usageError("--budget %d: give a positive number of steps such as %d", *budget, checker.DefaultBudget)
	}
	h, err := readHistory(path)
	if err != nil {
		return err
	}
	rep := checker.Check(h, checker.Options{Budget: *budget, SkipLinearizability: *skip})
	for _, f := range rep.Findings {
		fmt.Fprintln(stdout, f.String())
	}
	fmt.Fprintf(stdout, "%s: %d operations: %s\n", path, len(h.Ops), rep.Summary())
	if !rep.OK() {
		return &exitError{code: 1, err: errors.New("the history has problems (listed above)")}
	}
	return nil
}

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("report", "report [--out FILE.html] [--budget D] HISTORY.jsonl", stderr)
	out := fs.String("out", "", "where to write the report (default: the history's name with .html)")
	budget := fs.Int64("budget", checker.DefaultBudget, "work budget of the linearizability check, in steps per partition")
	path, err := oneArg(fs, args, "history file", "run.jsonl")
	if err != nil {
		return err
	}
	if *budget <= 0 {
		return usageError("--budget %d: give a positive number of steps such as %d", *budget, checker.DefaultBudget)
	}
	h, err := readHistory(path)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, filepath.Ext(path)) + ".html"
	}
	start := time.Now()
	rep := checker.Check(h, checker.Options{Budget: *budget})
	run := reports.Build(reports.Source{History: h, Report: rep})
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteRun(w, run) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "%s: %s\nreport: %s (%v)\n", path, rep.Summary(), *out, time.Since(start).Round(time.Millisecond))
	if !rep.OK() {
		return &exitError{code: 1, err: errors.New("the history has problems (see the report)")}
	}
	return nil
}
