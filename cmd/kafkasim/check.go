package main

import (
	"bufio"
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
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/reports"
)

func init() {
	commands["check"] = command{
		summary: "judge a saved history file (or a Jepsen Kafka history.edn): linearizability, Kafka anomalies, final state",
		run:     runCheck,
	}
	commands["report"] = command{
		summary: "render a saved history file (or a Jepsen Kafka history.edn) as a self-contained HTML report",
		run:     runReport,
	}
}

// historyFlags are the flags of a command that reads a history file:
// what a Jepsen history does not record.
type historyFlags struct {
	acks       *string
	idempotent *bool
}

func addHistoryFlags(fs *flag.FlagSet) historyFlags {
	return historyFlags{
		acks:       fs.String("acks", "all", "for a Jepsen history (.edn), which does not record it: the producers' acks (all or 1)"),
		idempotent: fs.Bool("idempotent", false, "for a Jepsen history (.edn), which does not record it: the producers had enable.idempotence=true"),
	}
}

// depsFlags are the transaction cycle check's optional dependencies, as
// a scenario's checks.ww_deps and checks.rw_deps.
type depsFlags struct{ ww, rw *bool }

func addDepsFlags(fs *flag.FlagSet) depsFlags {
	return depsFlags{
		ww: fs.Bool("ww-deps", false, "the transaction cycle check also draws write-write dependencies (Jepsen's :ww-deps) and finds G0"),
		rw: fs.Bool("rw-deps", false, "the transaction cycle check also draws read-write anti-dependencies and finds G-single and G2"),
	}
}

// apply sets the dependencies in o.
func (d depsFlags) apply(o checker.Options) checker.Options {
	o.WWDeps, o.RWDeps = *d.ww, *d.rw
	return o
}

// readHistory loads a history file: kafkasim's JSON Lines, or a Jepsen
// Kafka-workload history.edn. Any problem with it is a usage error.
func readHistory(path string, hf historyFlags) (*history.History, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, usageError("history file %s does not exist", path)
		}
		return nil, usageError("cannot read history file: %v", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	start, _ := br.Peek(512)
	if strings.EqualFold(filepath.Ext(path), ".edn") || history.IsJepsenHistory(start) {
		acks, err := model.ParseAcks(*hf.acks)
		if err != nil || acks == model.AcksNone {
			return nil, usageError("--acks %s: give all or 1 (a Jepsen history records offsets, so its producers waited for acknowledgements)", *hf.acks)
		}
		h, err := history.ReadJepsenHistory(br, history.JepsenOptions{Acks: acks, Idempotent: *hf.idempotent})
		if err != nil {
			return nil, usageError("%s is not a valid Jepsen Kafka history: %v", path, err)
		}
		h.Header.Replay = "kafkasim check " + path
		return h, nil
	}
	h, err := history.ReadHistory(br)
	if err != nil {
		return nil, usageError("%s is not a valid history: %v", path, err)
	}
	return h, nil
}

// errEmpty is the verdict on a history with nothing to check.
func errEmpty(path string, h *history.History) error {
	return &exitError{code: 1, err: fmt.Errorf("%s: %d operations, but no send and no poll: nothing to check, so no verdict (Jepsen's checker calls such a history invalid too)", path, len(h.Ops))}
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
	fs := newFlags("check", "check [--budget STEPS] [--no-linearizability] [--ww-deps] [--rw-deps] [--acks all|1] [--idempotent] HISTORY.jsonl|history.edn", stderr)
	budget := fs.Int64("budget", checker.DefaultBudget, "work budget of the linearizability check, in steps per partition")
	skip := fs.Bool("no-linearizability", false, "skip the linearizability check")
	deps := addDepsFlags(fs)
	hf := addHistoryFlags(fs)
	path, err := oneArg(fs, args, "history file", "run.jsonl or a Jepsen history.edn")
	if err != nil {
		return err
	}
	if *budget <= 0 {
		return usageError("--budget %d: give a positive number of steps such as %d", *budget, checker.DefaultBudget)
	}
	h, err := readHistory(path, hf)
	if err != nil {
		return err
	}
	if checker.Empty(h) {
		return errEmpty(path, h)
	}
	rep := checker.Check(h, deps.apply(checker.Options{Budget: *budget, SkipLinearizability: *skip}))
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
	fs := newFlags("report", "report [--out FILE.html] [--budget STEPS] [--ww-deps] [--rw-deps] [--acks all|1] [--idempotent] HISTORY.jsonl|history.edn", stderr)
	out := fs.String("out", "", "where to write the report (default: the history's name with .html)")
	budget := fs.Int64("budget", checker.DefaultBudget, "work budget of the linearizability check, in steps per partition")
	deps := addDepsFlags(fs)
	hf := addHistoryFlags(fs)
	path, err := oneArg(fs, args, "history file", "run.jsonl or a Jepsen history.edn")
	if err != nil {
		return err
	}
	if *budget <= 0 {
		return usageError("--budget %d: give a positive number of steps such as %d", *budget, checker.DefaultBudget)
	}
	h, err := readHistory(path, hf)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = strings.TrimSuffix(path, filepath.Ext(path)) + ".html"
	}
	start := time.Now()
	rep := checker.Check(h, deps.apply(checker.Options{Budget: *budget}))
	run := reports.Build(reports.Source{History: h, Report: rep})
	if err := reports.WriteFile(*out, func(w io.Writer) error { return reports.WriteRun(w, run) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "%s: %s\nreport: %s (%v)\n", path, rep.Summary(), *out, time.Since(start).Round(time.Millisecond))
	if checker.Empty(h) {
		return errEmpty(path, h)
	}
	if !rep.OK() {
		return &exitError{code: 1, err: errors.New("the history has problems (see the report)")}
	}
	return nil
}
