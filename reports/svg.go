package reports

import (
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"
)

var palette = []string{"#8250df", "#1a7f37", "#bc4c00", "#0550ae", "#bf3989", "#116329", "#953800", "#6639ba"}

// xOf maps a time to the x coordinate of every timeline.
func xOf(t, duration time.Duration) float64 {
	f := float64(t) / float64(duration)
	return svgLabelW + min(max(f, 0), 1)*(svgWidth-svgLabelW)
}

func axis(b *strings.Builder, y float64, duration time.Duration) {
	step := time.Duration(1)
	for step*10 <= duration {
		step *= 10
	}
	if duration/step < 4 {
		step /= 2
	}
	step = max(step, 1)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#d0d7de"/>`, svgLabelW, y, svgWidth, y)
	for t := time.Duration(0); t <= duration; t += step {
		x := xOf(t, duration)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#8c959f"/><text x="%.1f" y="%.1f" font-size="9" fill="#656d76">%s</text>`,
			x, y, x, y+4, x+2, y+12, html.EscapeString(t.String()))
	}
}

// faultSVG draws the fault timeline: a mark per fault and per finding.
func faultSVG(faults []Event, findings []Finding, duration time.Duration) template.HTML {
	var b strings.Builder
	var zk []Event
	for _, f := range faults {
		if strings.HasPrefix(f.Kind, zkEventPrefix) {
			zk = append(zk, f)
		}
	}
	if len(zk) > 0 {
		return zkFaultSVG(faults, zk, findings, duration)
	}
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f 46" role="img" aria-label="fault timeline">`, svgWidth)
	b.WriteString(`<text x="2" y="14" font-size="10" fill="#656d76">faults</text><text x="2" y="30" font-size="10" fill="#656d76">findings</text>`)
	for _, f := range faults {
		x := xOf(f.At, duration)
		fmt.Fprintf(&b, `<g><title>%s</title><line x1="%.1f" y1="2" x2="%.1f" y2="18" stroke="#cf222e" stroke-width="2"/></g>`,
			html.EscapeString(fmt.Sprintf("%v (step %d): %s", f.At, f.Step, f.Text)), x, x)
	}
	for _, f := range findings {
		x := xOf(f.At, duration)
		fmt.Fprintf(&b, `<g><title>%s</title><path d="M%.1f 22 l5 10 h-10 z" fill="#cf222e"/></g>`,
			html.EscapeString(fmt.Sprintf("%v (step %d): %s %s", f.At, f.Step, f.Name, f.Message)), x)
	}
	axis(&b, 34, duration)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// role is how a replica appears in one sample.
func role(s PartitionSample, j int, broker int32) (string, string) {
	switch {
	case j >= len(s.Replicas) || !s.Replicas[j].Online:
		return "#d0d7de", "offline"
	case s.Leader == broker:
		return "#0969da", "leader"
	case slices.Contains(s.ISR, broker):
		return "#8cc8ff", "in ISR"
	}
	return "#f2cc60", "out of ISR"
}

// hasTxns reports whether a partition's timeline tells of transactions:
// markers, or a leader whose last stable offset held below its high-water
// mark.
func hasTxns(p PartitionTimeline) bool {
	if len(p.Markers) > 0 {
		return true
	}
	for _, s := range p.Samples {
		if r, ok := leaderSample(p, s); ok && r.LastStableOffset != r.HighWatermark && r.LastStableOffset > 0 {
			return true
		}
	}
	return false
}

// leaderSample returns the leader's replica sample, if the partition had a
// leader then.
func leaderSample(p PartitionTimeline, s PartitionSample) (ReplicaSample, bool) {
	for j, r := range s.Replicas {
		if j < len(p.Replicas) && p.Replicas[j] == s.Leader {
			return r, true
		}
	}
	return ReplicaSample{}, false
}

// txnSummary says what a partition's markers show.
func txnSummary(p PartitionTimeline) string {
	commits, aborts := 0, 0
	for _, m := range p.Markers {
		if m.Commit {
			commits++
		} else {
			aborts++
		}
	}
	s := fmt.Sprintf("Transactions: %d commit %s and %d abort %s, each drawn at its offset when a leader first held it; the dashed line is the leader's last stable offset, below which read_committed consumers read.",
		commits, plural(commits, "marker", "markers"), aborts, plural(aborts, "marker", "markers"))
	if len(p.Markers) > MaxMarkers {
		s += fmt.Sprintf(" The first %d markers are drawn.", MaxMarkers)
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// timelineSVG draws one partition: a band per replica coloured by its role,
// then the high-water mark and each replica's log end offset over time,
// and for a partition with transactions the leader's last stable offset
// and the commit and abort markers at their offsets.
func timelineSVG(p PartitionTimeline, faults []Event, duration time.Duration) template.HTML {
	const rowH, chartH = 14.0, 90.0
	top := float64(len(p.Replicas))*rowH + 4
	height := top + chartH + 18
	var b strings.Builder
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="partition %s timeline">`,
		svgWidth, height, html.EscapeString(p.Name))
	end := func(i int) time.Duration {
		if i+1 < len(p.Samples) {
			return p.Samples[i+1].At
		}
		return duration
	}
	for j, broker := range p.Replicas {
		y := float64(j) * rowH
		fmt.Fprintf(&b, `<text x="2" y="%.1f" font-size="10" fill="#1f2328">broker %d</text>`, y+rowH-3, broker)
		// Merge consecutive samples with the same role into one band.
		for i := 0; i < len(p.Samples); {
			color, name := role(p.Samples[i], j, broker)
			k := i + 1
			for k < len(p.Samples) {
				if c, _ := role(p.Samples[k], j, broker); c != color {
					break
				}
				k++
			}
			x0, x1 := xOf(p.Samples[i].At, duration), xOf(end(k-1), duration)
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>broker %d %s from %v to %v</title></rect>`,
				x0, y+1, max(x1-x0, 0.5), rowH-2, color, broker, name, p.Samples[i].At, end(k-1))
			i = k
		}
	}
	// Offsets chart.
	var maxOff int64 = 1
	for _, s := range p.Samples {
		for _, r := range s.Replicas {
			maxOff = max(maxOff, r.LogEndOffset, r.HighWatermark)
		}
	}
	yOf := func(off int64) float64 { return top + chartH - float64(off)/float64(maxOff)*(chartH-4) }
	fmt.Fprintf(&b, `<text x="2" y="%.1f" font-size="10" fill="#656d76">offset %d</text><text x="2" y="%.1f" font-size="10" fill="#656d76">0</text>`,
		top+10, maxOff, top+chartH)
	step := func(points []float64) string { // x,y pairs → a step polyline
		var s strings.Builder
		for i := 0; i+1 < len(points); i += 2 {
			if i > 0 {
				fmt.Fprintf(&s, "%.1f,%.1f ", points[i], points[i-1])
			}
			fmt.Fprintf(&s, "%.1f,%.1f ", points[i], points[i+1])
		}
		return s.String()
	}
	for j, broker := range p.Replicas {
		var pts []float64
		for i, s := range p.Samples {
			if j < len(s.Replicas) {
				pts = append(pts, xOf(s.At, duration), yOf(s.Replicas[j].LogEndOffset))
				if i == len(p.Samples)-1 {
					pts = append(pts, xOf(duration, duration), yOf(s.Replicas[j].LogEndOffset))
				}
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1" opacity="0.8"><title>broker %d log end offset</title></polyline>`,
			step(pts), palette[j%len(palette)], broker)
	}
	var hw []float64
	var lastEpoch int32 = -1
	for i, s := range p.Samples {
		h := int64(0)
		for j, r := range s.Replicas {
			if j < len(p.Replicas) && p.Replicas[j] == s.Leader {
				h = r.HighWatermark
			}
		}
		hw = append(hw, xOf(s.At, duration), yOf(h))
		if i == len(p.Samples)-1 {
			hw = append(hw, xOf(duration, duration), yOf(h))
		}
		if s.LeaderEpoch != lastEpoch && s.Leader >= 0 {
			x := xOf(s.At, duration)
			fmt.Fprintf(&b, `<g><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#0969da" stroke-dasharray="2,2"/><text x="%.1f" y="%.1f" font-size="9" fill="#0969da">e%d</text></g>`,
				html.EscapeString(fmt.Sprintf("%v (step %d): leader %d, leader epoch %d, partition epoch %d, ISR %v", s.At, s.Step, s.Leader, s.LeaderEpoch, s.PartitionEpoch, s.ISR)),
				x, top, x, top+chartH, x+2, top+8, s.LeaderEpoch)
			lastEpoch = s.LeaderEpoch
		}
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#1f2328" stroke-width="1.5"><title>high-water mark</title></polyline>`, step(hw))
	if hasTxns(p) {
		var ls []float64
		for i, s := range p.Samples {
			r, _ := leaderSample(p, s)
			ls = append(ls, xOf(s.At, duration), yOf(r.LastStableOffset))
			if i == len(p.Samples)-1 {
				ls = append(ls, xOf(duration, duration), yOf(r.LastStableOffset))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#bf8700" stroke-width="1.5" stroke-dasharray="4,2"><title>last stable offset</title></polyline>`, step(ls))
		for _, m := range p.Markers[:min(len(p.Markers), MaxMarkers)] {
			x, y := xOf(m.At, duration), yOf(m.Offset)
			if m.Commit {
				fmt.Fprintf(&b, `<g class="marker commit"><title>%s</title><circle cx="%.1f" cy="%.1f" r="2.5" fill="#1a7f37"/></g>`,
					html.EscapeString(fmt.Sprintf("%v (step %d): commit marker of producer %d at offset %d", m.At, m.Step, m.ProducerID, m.Offset)), x, y)
				continue
			}
			fmt.Fprintf(&b, `<g class="marker abort"><title>%s</title><path d="M%.1f %.1f l5 5 m0 -5 l-5 5" stroke="#cf222e" stroke-width="1.5"/></g>`,
				html.EscapeString(fmt.Sprintf("%v (step %d): abort marker of producer %d at offset %d", m.At, m.Step, m.ProducerID, m.Offset)), x-2.5, y-2.5)
		}
	}
	for _, f := range faults {
		if strings.HasPrefix(f.Kind, zkEventPrefix) {
			continue // drawn in the ZooKeeper lanes
		}
		x := xOf(f.At, duration)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="0" x2="%.1f" y2="%.1f" stroke="#cf222e" stroke-dasharray="3,3" opacity="0.6"><title>%s</title></line>`,
			x, x, top+chartH, html.EscapeString(fmt.Sprintf("%v: %s", f.At, f.Text)))
	}
	axis(&b, top+chartH+2, duration)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// sampleTimeline thins a timeline to at most MaxSamples samples, keeping
// every change of leader, epoch, ISR or liveness and an even share of the
// rest, and says what it did.
func sampleTimeline(p PartitionTimeline) (PartitionTimeline, string) {
	if len(p.Samples) <= MaxSamples {
		return p, ""
	}
	structural := func(a, b PartitionSample) bool {
		if a.Leader != b.Leader || a.LeaderEpoch != b.LeaderEpoch || !slices.Equal(a.ISR, b.ISR) || len(a.Replicas) != len(b.Replicas) {
			return true
		}
		for i := range a.Replicas {
			if a.Replicas[i].Online != b.Replicas[i].Online {
				return true
			}
		}
		return false
	}
	keep := make([]bool, len(p.Samples))
	keep[0], keep[len(keep)-1] = true, true
	kept := 2
	for i := 1; i < len(p.Samples); i++ {
		if structural(p.Samples[i-1], p.Samples[i]) && !keep[i] {
			keep[i] = true
			kept++
		}
	}
	if room := MaxSamples - kept; room > 0 {
		every := max((len(p.Samples)+room-1)/room, 1)
		for i := 0; i < len(p.Samples); i += every {
			if !keep[i] {
				keep[i] = true
				kept++
			}
		}
	}
	out := p
	out.Samples = nil
	for i, s := range p.Samples {
		if keep[i] {
			out.Samples = append(out.Samples, s)
		}
	}
	return out, fmt.Sprintf("Partition %s changed %d times; its timeline shows %d samples: every change of leader, epoch, ISR or liveness, and an even share of offset changes.",
		p.Name, len(p.Samples), len(out.Samples))
}

// zkEventPrefix starts the kinds of a ZooKeeper-mode run's timeline events
// (zk.leader, zk.controller, zk.session), which get lanes of their own.
const zkEventPrefix = "zk."

// zkLanes are the ZooKeeper lanes, by event kind, with their colours.
var zkLanes = []struct{ kind, label, colour string }{
	{"zk.leader", "ZK leader", "#8250df"},
	{"zk.controller", "controller", "#1a7f37"},
	{"zk.session", "sessions", "#bc4c00"},
}

// zkFaultSVG is faultSVG for a ZooKeeper-mode run: the faults, a lane per
// kind of ZooKeeper event (the ensemble's leader, the /controller znode's
// owner and epoch, brokers' new sessions), then the findings.
func zkFaultSVG(faults, zk []Event, findings []Finding, duration time.Duration) template.HTML {
	var b strings.Builder
	height := 46.0 + 16*float64(len(zkLanes))
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="fault timeline">`, svgWidth, height)
	b.WriteString(`<text x="2" y="14" font-size="10" fill="#656d76">faults</text>`)
	for _, f := range faults {
		if strings.HasPrefix(f.Kind, zkEventPrefix) {
			continue
		}
		x := xOf(f.At, duration)
		fmt.Fprintf(&b, `<g><title>%s</title><line x1="%.1f" y1="2" x2="%.1f" y2="18" stroke="#cf222e" stroke-width="2"/></g>`,
			html.EscapeString(fmt.Sprintf("%v (step %d): %s", f.At, f.Step, f.Text)), x, x)
	}
	for i, lane := range zkLanes {
		y := 18 + 16*float64(i)
		fmt.Fprintf(&b, `<text x="2" y="%.0f" font-size="10" fill="#656d76">%s</text>`, y+12, lane.label)
		for _, e := range zk {
			if e.Kind != lane.kind {
				continue
			}
			x := xOf(e.At, duration)
			fmt.Fprintf(&b, `<g><title>%s</title><line x1="%.1f" y1="%.0f" x2="%.1f" y2="%.0f" stroke="%s" stroke-width="2"/></g>`,
				html.EscapeString(fmt.Sprintf("%v (step %d): %s", e.At, e.Step, e.Text)), x, y+2, x, y+14, lane.colour)
		}
	}
	fy := 18 + 16*float64(len(zkLanes))
	fmt.Fprintf(&b, `<text x="2" y="%.0f" font-size="10" fill="#656d76">findings</text>`, fy+12)
	for _, f := range findings {
		x := xOf(f.At, duration)
		fmt.Fprintf(&b, `<g><title>%s</title><path d="M%.1f %.0f l5 10 h-10 z" fill="#cf222e"/></g>`,
			html.EscapeString(fmt.Sprintf("%v (step %d): %s %s", f.At, f.Step, f.Name, f.Message)), x, fy+4)
	}
	axis(&b, fy+16, duration)
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
