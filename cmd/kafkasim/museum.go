package main

import (
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/reports"
	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["museum"] = command{
		summary: "the track record on known Kafka bugs: scripted, found blind by the hunt, current Kafka's false positives",
		run:     runMuseum,
	}
}

func runMuseum(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("museum", "museum [--list] [--masters M] [--budget B] [--fp N] [--parallel P] [--entry NAME]... [--out FILE.html]", stderr)
	list := fs.Bool("list", false, "print the museum's table (Markdown, as in the README) and run nothing")
	masters := fs.Int("masters", 3, "master seeds per entry: the hunt's seeds to first find are measured from each")
	budget := fs.Int("budget", 30, "the most seeds a hunt from one master tries")
	fp := fs.Int("fp", 10, "seeds of current Kafka under the same hunt, for false positives")
	parallel := fs.Int("parallel", 0, "simulations at once (default: one per CPU)")
	out := fs.String("out", "out/museum.html", "where to write the HTML track record")
	var entries setFlag
	fs.Var(&entries, "entry", "run only this entry (repeatable)")
	if _, err := parseArgs(fs, args); err != nil {
		return err
	}
	if *list {
		fmt.Fprint(stdout, scenarios.MuseumMarkdown())
		return nil
	}
	if *masters < 1 || *budget < 1 || *fp < 0 {
		return usageError("--masters %d --budget %d --fp %d: give at least 1 master and 1 seed of budget, and 0 or more false-positive seeds", *masters, *budget, *fp)
	}
	for _, e := range entries {
		if _, ok := scenarios.MuseumEntryNamed(e); !ok {
			return usageError("--entry %q: no such museum entry: the entries are %s", e, strings.Join(scenarios.MuseumNames(), ", "))
		}
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	tuneGC()
	start := time.Now()
	rows := scenarios.RunMuseum(scenarios.MuseumOptions{Masters: *masters, Budget: *budget, FalsePositiveSeeds: *fp,
		Parallel: *parallel, Entries: entries, Progress: func(e string) { fmt.Fprintf(stderr, "museum: %s...\n", e) }})
	table := museumTable(rows, *budget)
	for _, r := range table {
		fmt.Fprintln(stdout, strings.Join(r, " | "))
	}
	fmt.Fprintf(stdout, "%d entries in %v (hunt seeds to first find over %d master seeds, budget %d; %d false-positive seeds each)\n",
		len(rows), time.Since(start).Round(time.Second), *masters, *budget, *fp)
	if err := reports.WriteFile(*out, func(w io.Writer) error { return museumPage.Execute(w, table) }); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(stdout, "report: %s\n", *out)
	return nil
}

// museumTable is the track record as rows of cells, a header first.
func museumTable(rows []scenarios.MuseumRow, budget int) [][]string {
	out := [][]string{{"bug", "variant", "scripted: found", "hunt: seeds to first find (median, worst, masters that found)", "wall", "current Kafka: false positives"}}
	for _, r := range rows {
		e := r.Entry
		if !e.Runnable() {
			out = append(out, []string{e.Bug, e.Variant, "not runnable: " + e.Needs, "", "", ""})
			continue
		}
		if r.Err != "" {
			out = append(out, []string{e.Bug, e.Variant, "error: " + r.Err, "", "", ""})
			continue
		}
		scripted := "no scripted scenario"
		if r.ScriptedRun {
			scripted = fmt.Sprintf("%s: %v", e.Scripted, r.Scripted)
		}
		med, worst, found := r.Median()
		hunt := fmt.Sprintf("not found in %d seeds (0 of %d masters)", budget, len(r.SeedsToFind))
		if found > 0 {
			hunt = fmt.Sprintf("median %d, worst %d (%d of %d masters; per master %v)", med, worst, found, len(r.SeedsToFind), r.SeedsToFind)
		}
		fps := fmt.Sprintf("%d of %d", r.FalsePositives, r.FalsePositiveSeeds)
		if r.FirstFalsePositive != "" {
			fps += " (" + r.FirstFalsePositive + ")"
		}
		out = append(out, []string{e.Bug, e.Variant, scripted, hunt, r.Wall.Round(time.Second).String(), fps})
	}
	return out
}

var museumPage = template.Must(template.New("museum").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>kafkasim museum: track record</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}</style>
</head><body><h1>The museum: known Kafka bugs, found again</h1>
<table>{{range $i, $r := .}}<tr>{{range $r}}{{if eq $i 0}}<th>{{.}}</th>{{else}}<td>{{.}}</td>{{end}}{{end}}</tr>
{{end}}</table></body></html>
`))
