package reports

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"time"
)

//go:embed assets
var assets embed.FS

func asset(name string) string {
	b, err := assets.ReadFile("assets/" + name)
	if err != nil {
		panic(err) // the assets are compiled in; a missing one is a build bug
	}
	return string(b)
}

var funcs = template.FuncMap{
	"ns": func(d time.Duration) int64 { return int64(d) },
	// ms rounds a simulated time to the millisecond for reading.
	"ms": func(d time.Duration) time.Duration { return d.Round(time.Millisecond) },
	"share": func(count uint64, total int) string {
		if total <= 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(count)/float64(total))
	},
}

func parse(name string) *template.Template {
	return template.Must(template.New(name).Funcs(funcs).Parse(asset(name)))
}

var runTemplate = parse("run.html.tmpl")

// Limits keep a report's size bounded however long the run: beyond them,
// the page shows a sample and says so.
const (
	// MaxOps is the most client operations drawn on the history lanes.
	MaxOps = 150_000
	// MaxSamples is the most samples drawn per partition timeline.
	MaxSamples = 4_000
	// MaxVisualizedOps is the largest history whose porcupine
	// visualization a report embeds.
	MaxVisualizedOps = 20_000
	// MaxMarkers is the most transaction markers drawn per partition
	// timeline.
	MaxMarkers = 4_000
)

// svgWidth is the width of every timeline's coordinate system; timelines
// scale to the page width, so x positions are fractions of it.
const (
	svgWidth  = 1000.0
	svgLabelW = 60.0
)

type partitionSVG struct {
	Name string
	SVG  template.HTML
	Txns string // what the markers say, for a partition with transactions
}

type runPage struct {
	Run
	CSS           template.CSS
	JS            template.JS
	FaultSVG      template.HTML
	PartitionSVGs []partitionSVG
	Lanes         template.JS
	OpCount       int
	X0, X1        float64
	Legend        []legendEntry // what the findings' names mean
	Txns          bool          // a partition has transactions: the legend explains LSO and markers
}

// WriteRun renders a run report to w.
func WriteRun(w io.Writer, r Run) error {
	if r.Duration <= 0 {
		r.Duration = time.Nanosecond
	}
	page := runPage{
		Run: r,
		CSS: template.CSS(asset("style.css")),
		JS:  template.JS(asset("report.js")),
		X0:  svgLabelW / svgWidth,
		X1:  1,
	}
	page.FaultSVG = faultSVG(r.Faults, r.Findings, r.Duration)
	page.Legend = findingLegend(findingNames(r.Findings))
	for _, p := range r.Partitions {
		p, note := sampleTimeline(p)
		if note != "" {
			page.Notes = append(page.Notes, note)
		}
		ps := partitionSVG{Name: p.Name, SVG: timelineSVG(p, r.Faults, r.Duration)}
		if hasTxns(p) {
			page.Txns = true
			ps.Txns = txnSummary(p)
		}
		page.PartitionSVGs = append(page.PartitionSVGs, ps)
	}
	if len(r.Clients) > 0 {
		lanes, count, note := encodeLanes(r.Clients, r.Duration)
		page.Lanes, page.OpCount = lanes, count
		if note != "" {
			page.Notes = append(page.Notes, note)
		}
	}
	return runTemplate.Execute(w, page)
}

// WriteFile writes a report produced by render to path atomically: it
// writes a temporary file next to path and renames it, so a failure never
// leaves a partial report behind.
func WriteFile(path string, render func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return fmt.Errorf("render %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op after a successful rename
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// lanesJSON is the client history as the page's script reads it: times in
// milliseconds, kinds, outcomes and labels interned.
type lanesJSON struct {
	Duration float64    `json:"duration"`
	Kinds    []string   `json:"kinds"`
	Outcomes []string   `json:"outcomes"`
	Labels   []string   `json:"labels"`
	Lanes    []laneJSON `json:"lanes"`
}

type laneJSON struct {
	Client string       `json:"client"`
	Ops    [][5]float64 `json:"ops"` // start, end, kind, outcome, label
}

func encodeLanes(lanes []Lane, duration time.Duration) (template.JS, int, string) {
	total := 0
	for _, l := range lanes {
		total += len(l.Ops)
	}
	// Keep every operation that did not succeed; sample the rest evenly.
	keepEvery := 1
	if total > MaxOps {
		keepEvery = (total + MaxOps - 1) / MaxOps
	}
	out := lanesJSON{Duration: ms(duration), Outcomes: []string{"ok", "fail", "unknown"}}
	kinds, labels := map[string]int{}, map[string]int{}
	intern := func(m map[string]int, list *[]string, s string) float64 {
		if i, ok := m[s]; ok {
			return float64(i)
		}
		m[s] = len(*list)
		*list = append(*list, s)
		return float64(len(*list) - 1)
	}
	outcome := map[string]float64{"ok": 0, "fail": 1, "unknown": 2}
	shown := 0
	for _, l := range lanes {
		lj := laneJSON{Client: l.Client, Ops: make([][5]float64, 0)}
		for i, op := range l.Ops {
			if keepEvery > 1 && op.Outcome == "ok" && i%keepEvery != 0 {
				continue
			}
			end := -1.0
			if op.End >= 0 {
				end = ms(op.End)
			}
			oc, ok := outcome[op.Outcome]
			if !ok {
				oc = 2
			}
			lj.Ops = append(lj.Ops, [5]float64{ms(op.Start), end, intern(kinds, &out.Kinds, op.Kind), oc, intern(labels, &out.Labels, op.Label)})
			shown++
		}
		out.Lanes = append(out.Lanes, lj)
	}
	b, err := json.Marshal(out)
	if err != nil {
		panic(err) // plain data always marshals
	}
	note := ""
	if shown < total {
		note = fmt.Sprintf("The client history has %d operations; the lanes show %d: every failed or unknown one, and one successful operation in %d.", total, shown, keepEvery)
	}
	return template.JS(b), shown, note
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
