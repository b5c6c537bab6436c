package shell

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/reports"
)

// checkHistory runs the checkers on the history so far, with the
// cluster's current state as the final reads.
func (sh *Shell) checkHistory() (*history.History, *checker.Report, error) {
	h, err := sh.rec.History()
	if err != nil {
		return nil, nil, fmt.Errorf("the history is inconsistent: %w", err)
	}
	// The final reads are of the user's topics: the internal ones
	// (__consumer_offsets) are written by the brokers, not by a send the
	// history holds.
	parts, reps := history.Capture(sh.cl.View())
	for _, p := range parts {
		if !strings.HasPrefix(p.TP.Topic, "__") {
			h.Partitions = append(h.Partitions, p)
		}
	}
	for _, r := range reps {
		if !strings.HasPrefix(r.TP.Topic, "__") {
			h.Replicas = append(h.Replicas, r)
		}
	}
	rep := checker.Check(h, checker.Options{Run: checker.Run{Seed: sh.sc.Seed, Replay: h.Header.Replay}, Budget: sh.sc.Checks.LinearizabilityBudget,
		WWDeps: sh.sc.Checks.WWDeps, RWDeps: sh.sc.Checks.RWDeps})
	return h, rep, nil
}

// check is the "check" verb: the checkers' verdict on the history so
// far, and the invariants' findings while the session ran.
func (sh *Shell) check(b *strings.Builder, args, _ []string) error {
	if len(args) != 0 {
		return errors.New("check takes no argument")
	}
	h, rep, err := sh.checkHistory()
	if err != nil {
		return err
	}
	fs := append(sh.inv.Findings(), rep.Findings...)
	fmt.Fprintf(b, "%d operations checked; verdict: ", len(h.Ops))
	if len(checker.Bad(fs)) == 0 {
		b.WriteString("ok\n")
	} else {
		var parts []string
		for _, c := range checker.Summarize(checker.Bad(fs)) {
			parts = append(parts, fmt.Sprintf("%d %s", c.Count, c.Name))
		}
		b.WriteString(strings.Join(parts, ", ") + "\n")
	}
	if l := rep.Linearizability; l != nil {
		fmt.Fprintf(b, "linearizability: %s\n", l.Result)
	}
	for _, f := range checker.Bad(fs) {
		fmt.Fprintf(b, "  %s %s at %v: %s\n", f.Name, f.Where(), f.At, f.Message)
	}
	return nil
}

// writeFile writes a file the session asked for, unless files are off.
func (sh *Shell) writeFile(path string, write func(w io.Writer) error) error {
	if sh.NoFiles {
		return fmt.Errorf("this session writes no files (cannot write %s)", path)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// report is the "report FILE.html" verb: the HTML report of the session
// so far.
func (sh *Shell) report(b *strings.Builder, args, _ []string) error {
	if len(args) != 1 || !strings.HasSuffix(args[0], ".html") {
		return errors.New("report takes one file name ending in .html: report session.html")
	}
	h, rep, err := sh.checkHistory()
	if err != nil {
		return err
	}
	run := reports.Build(reports.Source{
		Title: "kafkasim shell: " + sh.sc.Name, History: h, Report: rep, TraceHash: sh.s.Trace().HashString(),
		Duration: sh.s.Now(), Steps: sh.s.Steps(), Live: sh.inv.Findings(), Marks: sh.s.Marks(),
	})
	if err := sh.writeFile(args[0], func(w io.Writer) error { return reports.WriteRun(w, run) }); err != nil {
		return err
	}
	fmt.Fprintf(b, "wrote %s\n", args[0])
	return nil
}

// save is the "save FILE.json" verb: the session's scenario (with its
// seed) as FILE.json and its commands with their outputs as a script,
// FILE.txt; "kafkasim shell FILE.json --script FILE.txt" replays the
// session and checks that every output is the same.
func (sh *Shell) save(b *strings.Builder, args, _ []string) error {
	if len(args) != 1 || !strings.HasSuffix(args[0], ".json") {
		return errors.New("save takes one file name ending in .json: save session.json")
	}
	scPath := args[0]
	scriptPath := strings.TrimSuffix(scPath, ".json") + ".txt"
	data, err := json.MarshalIndent(sh.sc, "", "  ")
	if err != nil {
		return err
	}
	var script strings.Builder
	fmt.Fprintf(&script, "# kafkasim shell %s --script %s (seed %d)\n", scPath, scriptPath, sh.sc.Seed)
	for _, c := range sh.commands {
		if w, err := split(c.Line); err == nil && len(w) > 0 && (w[0] == "save" || w[0] == "report") {
			continue
		}
		script.WriteString(chunk{cmd: c.Line, in: c.Input}.format(c.Output) + "\n")
	}
	if err := sh.writeFile(scPath, func(w io.Writer) error { _, err := w.Write(append(data, '\n')); return err }); err != nil {
		return err
	}
	if err := sh.writeFile(scriptPath, func(w io.Writer) error { _, err := io.WriteString(w, script.String()); return err }); err != nil {
		return err
	}
	fmt.Fprintf(b, "wrote %s and %s; replay: kafkasim shell %s --script %s\n", scPath, scriptPath, scPath, scriptPath)
	return nil
}
