package reports

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

var (
	matrixTemplate     = parse("matrix.html.tmpl")
	comparisonTemplate = parse("comparison.html.tmpl")
	sweepTemplate      = parse("sweep.html.tmpl")
)

type cellView struct {
	Value string
	Bad   bool
}

type rowView struct {
	Measure string
	Cells   []cellView
}

type runColumn struct {
	Name       string
	OK         bool
	Summary    string
	Partitions []partitionSVG
	Findings   []Finding
	Incidents  []Incident
}

type comparisonPage struct {
	Comparison
	CSS        template.CSS
	JS         template.JS
	AllOK      bool
	Summary    string
	RowViews   []rowView
	FaultSVG   template.HTML
	RunColumns []runColumn
	DurationNS int64
	X0, X1     float64
	Legend     []legendEntry // what the findings' names mean
}

// WriteComparison renders a comparison report to w: the same schedule under
// several configurations, measures side by side and each run's partition
// timelines in its own column.
func WriteComparison(w io.Writer, c Comparison) error {
	page := comparisonPage{Comparison: c, CSS: template.CSS(asset("style.css")), JS: template.JS(asset("report.js")),
		AllOK: true, X0: svgLabelW / svgWidth, X1: 1}
	var bad []string
	for i, r := range c.Runs {
		if !r.Verdict.OK {
			page.AllOK = false
			name := fmt.Sprint(i)
			if i < len(c.Columns) {
				name = c.Columns[i]
			}
			bad = append(bad, fmt.Sprintf("%s: %s", name, r.Verdict.Summary))
		}
	}
	switch {
	case c.Headline != nil:
		page.AllOK, page.Summary = c.Headline.OK, c.Headline.Summary
	case len(c.Runs) == 0:
		page.AllOK, page.Summary = false, "no configuration ran"
	case page.AllOK:
		page.Summary = "✔ every configuration passed"
	default:
		page.Summary = "✘ " + strings.Join(bad, "; ")
	}
	for _, row := range c.Rows {
		rv := rowView{Measure: row.Measure}
		for i, v := range row.Values {
			rv.Cells = append(rv.Cells, cellView{Value: v, Bad: i < len(row.Bad) && row.Bad[i]})
		}
		page.RowViews = append(page.RowViews, rv)
	}
	var duration time.Duration
	for _, r := range c.Runs {
		duration = max(duration, r.Duration)
	}
	if duration <= 0 {
		duration = time.Nanosecond
	}
	page.DurationNS = int64(duration)
	page.FaultSVG = faultSVG(c.Faults, nil, duration)
	for i, r := range c.Runs {
		col := runColumn{OK: r.Verdict.OK, Summary: r.Verdict.Summary, Findings: r.Findings, Incidents: r.Incidents}
		if i < len(c.Columns) {
			col.Name = c.Columns[i]
		}
		for _, p := range r.Partitions {
			p, _ = sampleTimeline(p)
			col.Partitions = append(col.Partitions, partitionSVG{Name: p.Name, SVG: timelineSVG(p, c.Faults, duration)})
		}
		page.RunColumns = append(page.RunColumns, col)
	}
	var names []string
	for _, r := range c.Runs {
		names = append(names, findingNames(r.Findings)...)
	}
	page.Legend = findingLegend(names)
	return comparisonTemplate.Execute(w, page)
}

type histogramSVG struct {
	Title string
	SVG   template.HTML
}

type sweepPage struct {
	Sweep
	CSS           template.CSS
	JS            template.JS
	HistogramSVGs []histogramSVG
	Legend        []legendEntry // what the outcomes' finding names mean
}

// WriteSweep renders a sweep report to w.
func WriteSweep(w io.Writer, s Sweep) error {
	page := sweepPage{Sweep: s, CSS: template.CSS(asset("style.css")), JS: template.JS(asset("report.js"))}
	for _, h := range s.Histograms {
		page.HistogramSVGs = append(page.HistogramSVGs, histogramSVG{Title: h.Title, SVG: histogram(h)})
	}
	var names []string
	for _, o := range s.Outcomes {
		names = append(names, o.Name)
	}
	page.Legend = findingLegend(names)
	return sweepTemplate.Execute(w, page)
}

// histogram draws up to 20 equal-width bins of a measure.
func histogram(h Histogram) template.HTML {
	const width, height, left, bottom = 1000.0, 160.0, 50.0, 24.0
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`, width, height, template.HTMLEscapeString(h.Title))
	if len(h.Values) == 0 {
		b.WriteString(`<text x="10" y="20" font-size="12" fill="#656d76">no values</text></svg>`)
		return template.HTML(b.String())
	}
	lo, hi := slices.Min(h.Values), slices.Max(h.Values)
	bins := 20
	if hi == lo {
		bins = 1
	}
	counts := make([]int, bins)
	for _, v := range h.Values {
		i := 0
		if hi > lo {
			i = min(int((v-lo)/(hi-lo)*float64(bins)), bins-1)
		}
		counts[i]++
	}
	peak := slices.Max(counts)
	bw := (width - left) / float64(bins)
	for i, c := range counts {
		bh := float64(c) / float64(peak) * (height - bottom - 14)
		x := left + float64(i)*bw
		from := lo + (hi-lo)*float64(i)/float64(bins)
		to := lo + (hi-lo)*float64(i+1)/float64(bins)
		fmt.Fprintf(&b, `<g><title>%s %s: %d runs</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#0969da"/></g>`,
			template.HTMLEscapeString(num(from)+"–"+num(to)), template.HTMLEscapeString(h.Unit), c, x+1, height-bottom-bh, bw-2, bh)
		if c > 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="9" fill="#1f2328" text-anchor="middle">%d</text>`, x+bw/2, height-bottom-bh-2, c)
		}
	}
	fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#8c959f"/>`, left, height-bottom, width, height-bottom)
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" font-size="10" fill="#656d76">%s</text><text x="%.0f" y="%.0f" font-size="10" fill="#656d76" text-anchor="end">%s %s</text>`,
		left, height-6, template.HTMLEscapeString(num(lo)), width, height-6, template.HTMLEscapeString(num(hi)), template.HTMLEscapeString(h.Unit))
	fmt.Fprintf(&b, `<text x="2" y="12" font-size="10" fill="#656d76">%d runs</text></svg>`, len(h.Values))
	return template.HTML(b.String())
}

func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

type matrixPage struct {
	Matrix
	CSS      template.CSS
	JS       template.JS
	FaultSVG template.HTML
	X0, X1   float64
}

// WriteMatrix renders a matrix report to w: a pivot grid of
// configurations, each cell coloured by what it lost.
func WriteMatrix(w io.Writer, m Matrix) error {
	if m.Duration <= 0 {
		m.Duration = time.Nanosecond
	}
	page := matrixPage{Matrix: m, CSS: template.CSS(asset("style.css")), JS: template.JS(asset("report.js")), X0: svgLabelW / svgWidth, X1: 1}
	page.FaultSVG = faultSVG(m.Faults, nil, m.Duration)
	return matrixTemplate.Execute(w, page)
}
