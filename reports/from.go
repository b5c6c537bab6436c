package reports

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// A Source is what a run report is built from: the checked history, the
// cluster's timeline, and facts about the run that only the simulation
// knows. Everything but History and Report is optional (a report of a
// saved history has no timeline).
type Source struct {
	Title       string
	Description string
	History     *model.History
	Report      *checker.Report
	Timeline    *model.Timeline
	TraceHash   string
	Duration    time.Duration
	Steps       uint64
	Config      []KV
	Marks       map[string]uint64
	// Extra findings made while the simulation ran (invariants).
	Live []checker.Finding
}

// Build turns a Source into a Run report's data.
func Build(src Source) Run {
	h, rep := src.History, src.Report
	r := Run{
		Title:       src.Title,
		Description: src.Description,
		Seed:        h.Header.Seed,
		Replay:      h.Header.Replay,
		TraceHash:   src.TraceHash,
		Duration:    src.Duration,
		Steps:       src.Steps,
		Config:      src.Config,
	}
	if r.Title == "" {
		r.Title = h.Header.Scenario
	}
	if r.Title == "" {
		r.Title = "kafkasim run"
	}
	if len(r.Config) == 0 {
		for _, k := range slices.Sorted(maps.Keys(h.Header.Config)) {
			r.Config = append(r.Config, KV{k, h.Header.Config[k]})
		}
	}
	if r.Duration == 0 {
		for _, op := range h.Ops {
			r.Duration = max(r.Duration, op.Complete)
		}
	}
	all := slices.Concat(src.Live, rep.Findings)
	slices.SortStableFunc(all, func(a, b checker.Finding) int { return int(a.At - b.At) })
	for _, f := range all {
		r.Findings = append(r.Findings, Finding{Name: f.Name, Class: f.Class.String(), Partition: f.Where(), At: f.At, Step: f.Step, Message: f.Message})
	}
	r.Verdict = verdict(rep, src.Live)
	if l := rep.Linearizability; l != nil {
		r.Linearizability = &Linearizability{Result: l.String()}
		if l.Result == checker.Illegal {
			var buf bytes.Buffer
			l.Annotate(rep.Findings)
			if err := l.Visualize(&buf); err == nil {
				r.Linearizability.Visualization = buf.Bytes()
			}
		}
	}
	r.Clients = lanes(h)
	if tl := src.Timeline; tl != nil {
		for _, e := range tl.Events {
			r.Faults = append(r.Faults, Event{At: e.At, Step: e.Step, Kind: e.Kind, Text: e.Text})
		}
		for _, p := range tl.Partitions {
			pt := PartitionTimeline{Name: p.TP.String(), Replicas: p.Replicas}
			for _, s := range p.Samples {
				ps := PartitionSample{At: s.At, Step: s.Step, Leader: s.Metadata.Leader, LeaderEpoch: s.Metadata.LeaderEpoch,
					PartitionEpoch: s.Metadata.PartitionEpoch, ISR: s.Metadata.ISR}
				for _, rs := range s.Replicas {
					ps.Replicas = append(ps.Replicas, ReplicaSample{Online: rs.Online, LogEndOffset: rs.LogEndOffset, HighWatermark: rs.HighWatermark})
				}
				pt.Samples = append(pt.Samples, ps)
			}
			r.Partitions = append(r.Partitions, pt)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src.Marks)) {
		r.Coverage = append(r.Coverage, Count{name, src.Marks[name]})
	}
	return r
}

// verdict sums a report up in one line.
func verdict(rep *checker.Report, live []checker.Finding) Verdict {
	counts := map[string]int{}
	var order []string
	for _, f := range slices.Concat(live, rep.Findings) {
		if !f.Class.Bad() {
			continue
		}
		if counts[f.Name] == 0 {
			order = append(order, f.Name)
		}
		counts[f.Name]++
	}
	if len(order) == 0 {
		s := "ok: " + rep.Summary()
		if !rep.OK() {
			return Verdict{OK: false, Summary: rep.Summary()}
		}
		return Verdict{OK: true, Summary: s}
	}
	parts := make([]string, len(order))
	for i, name := range order {
		parts[i] = fmt.Sprintf("%s ×%d", name, counts[name])
	}
	return Verdict{OK: false, Summary: strings.Join(parts, ", ")}
}

// lanes turns a history into one lane per client.
func lanes(h *model.History) []Lane {
	idx := map[string]int{}
	var out []Lane
	for i := range h.Ops {
		op := &h.Ops[i]
		j, ok := idx[op.Client]
		if !ok {
			j = len(out)
			idx[op.Client] = j
			out = append(out, Lane{Client: op.Client})
		}
		outcome := "ok"
		switch op.Outcome {
		case model.Fail:
			outcome = "fail"
		case model.Unknown:
			outcome = "unknown"
		}
		out[j].Ops = append(out[j].Ops, Op{Start: op.Invoke, End: op.Complete, Kind: op.Kind.String(), Outcome: outcome, Label: op.String()})
	}
	for _, l := range out {
		slices.SortStableFunc(l.Ops, func(a, b Op) int { return int(a.Start - b.Start) })
	}
	slices.SortFunc(out, func(a, b Lane) int { return strings.Compare(a.Client, b.Client) })
	return out
}
