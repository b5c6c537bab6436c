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
	"github.com/kafkasim/kafkasim/model/history"
)

// A Source is what a run report is built from: the checked history, the
// cluster's timeline, and facts about the run that only the simulation
// knows. Everything but History and Report is optional (a report of a
// saved history has no timeline).
type Source struct {
	Title       string
	Description string
	History     *history.History
	Report      *checker.Report
	Timeline    *model.Timeline
	TraceHash   string
	Duration    time.Duration
	Steps       uint64
	Config      []KV
	Marks       map[string]uint64
	// Extra findings made while the simulation ran (invariants).
	Live []checker.Finding
	// Verdict is the run's answer; nil for a saved history, whose verdict
	// is computed from its checks.
	Verdict *checker.Verdict
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
	v := src.Verdict
	if v == nil {
		v = checker.NewVerdict(checker.VerdictInput{Run: checker.RunOf(h), Report: rep, Live: src.Live, History: h})
	}
	for _, f := range v.Findings {
		r.Findings = append(r.Findings, findingOf(f))
	}
	r.Verdict = Verdict{OK: v.OK, Summary: v.Summary()}
	for _, inc := range v.Incidents {
		ri := Incident{Headline: inc.Headline, At: inc.At, Step: inc.Step, Replay: inc.Replay, WhatIf: inc.WhatIf, Loss: inc.Lost > 0}
		for _, f := range inc.Findings {
			ri.Evidence = append(ri.Evidence, findingOf(f))
		}
		r.Incidents = append(r.Incidents, ri)
	}
	r.Stats = Stats(v)
	if l := rep.Linearizability; l != nil {
		r.Linearizability = &Linearizability{Result: l.String()}
		if l.Result == checker.Illegal && len(h.Ops) > MaxVisualizedOps {
			r.Notes = append(r.Notes, fmt.Sprintf("porcupine's visualization of the illegal history is left out: the history has %d operations, more than the %d it is drawn for (it would make the page hundreds of megabytes); the findings above explain the failure.", len(h.Ops), MaxVisualizedOps))
		} else if l.Result == checker.Illegal {
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
		flagged := map[model.TopicPartition]bool{}
		for _, f := range v.Findings {
			flagged[f.TP] = true
		}
		folded := 0
		for _, p := range tl.Partitions {
			if strings.HasPrefix(p.TP.Topic, "__") && !flagged[p.TP] {
				folded++
				continue
			}
			pt := PartitionTimeline{Name: p.TP.String(), Replicas: p.Replicas}
			for _, s := range p.Samples {
				ps := PartitionSample{At: s.At, Step: s.Step, Leader: s.Metadata.Leader, LeaderEpoch: s.Metadata.LeaderEpoch,
					PartitionEpoch: s.Metadata.PartitionEpoch, ISR: s.Metadata.ISR}
				for _, rs := range s.Replicas {
					ps.Replicas = append(ps.Replicas, ReplicaSample{Online: rs.Online, LogEndOffset: rs.LogEndOffset, HighWatermark: rs.HighWatermark,
						LastStableOffset: rs.LastStableOffset})
				}
				pt.Samples = append(pt.Samples, ps)
			}
			for _, m := range p.Markers {
				pt.Markers = append(pt.Markers, Marker{At: m.At, Step: m.Step, Offset: m.Marker.Offset, ProducerID: m.Marker.ProducerID, Commit: m.Marker.Commit})
			}
			r.Partitions = append(r.Partitions, pt)
		}
		if folded > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%d partitions of internal topics (such as __consumer_offsets) are not drawn: no finding concerns them.", folded))
		}
	}
	for _, name := range slices.Sorted(maps.Keys(src.Marks)) {
		r.Coverage = append(r.Coverage, Count{name, src.Marks[name]})
	}
	return r
}

func findingOf(f checker.Finding) Finding {
	return Finding{Name: f.Name, Class: f.Class.String(), Partition: f.Where(), At: f.At, Step: f.Step, Message: f.Message}
}

// Stats renders a verdict's figures as the rows every report shows.
func Stats(v *checker.Verdict) []KV {
	out := []KV{{"records lost", fmt.Sprint(v.Lost)}}
	if v.Lost > 0 {
		out = append(out, KV{"of which acknowledged", fmt.Sprint(v.AckedLost)}, KV{"of which committed (read by consumers)", fmt.Sprint(v.CommittedLost)})
		for _, a := range v.LostBy {
			out = append(out, KV{"lost, allowed by " + a.Setting, fmt.Sprint(a.Records)})
		}
	}
	out = append(out, KV{"time without a leader (user partitions, summed)", v.Unavailable.Round(time.Millisecond).String()},
		KV{"time below min.insync.replicas", v.UnderMinISR.Round(time.Millisecond).String()})
	if v.Stalled > 0 {
		out = append(out, KV{"time the high-water mark was held below what the ISR had", v.Stalled.Round(time.Millisecond).String()})
	}
	lin := v.Linearizability
	if v.LinearizabilityNote != "" {
		lin += " (" + v.LinearizabilityNote + ")"
	}
	out = append(out, KV{"linearizability", lin})
	return out
}

// lanes turns a history into one lane per client.
func lanes(h *history.History) []Lane {
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
		case history.Fail:
			outcome = "fail"
		case history.Unknown:
			outcome = "unknown"
		}
		label := op.Label()
		if op.Kind == history.KindTxn {
			label = txnLabel(op)
		}
		out[j].Ops = append(out[j].Ops, Op{Start: op.Invoke, End: op.Complete, Kind: op.Kind.String(), Outcome: outcome, Label: label})
	}
	for _, l := range out {
		slices.SortStableFunc(l.Ops, func(a, b Op) int { return int(a.Start - b.Start) })
	}
	slices.SortFunc(out, func(a, b Lane) int { return strings.Compare(a.Client, b.Client) })
	return out
}

// txnLabel describes a transaction's span, from begin to commit or abort:
// how it ended and what it wrote and read.
func txnLabel(op *history.Op) string {
	end := map[history.Outcome]string{history.OK: "committed", history.Fail: "aborted", history.Unknown: "outcome unknown"}[op.Outcome]
	var b strings.Builder
	fmt.Fprintf(&b, "op %d transaction %s", op.ID, end)
	if op.Error != "" {
		fmt.Fprintf(&b, " (%s)", op.Error)
	}
	var sends []string
	for _, s := range op.Sends() {
		sends = append(sends, fmt.Sprintf("%s@%d", s.TP(), s.Offset))
	}
	if len(sends) > 0 {
		fmt.Fprintf(&b, "; sent %s", strings.Join(sends, " "))
	}
	read := 0
	for _, p := range op.Polls() {
		for _, pp := range p.Parts {
			read += len(pp.Records)
		}
	}
	if polls := len(op.Polls()); polls > 0 {
		fmt.Fprintf(&b, "; %d polls read %d records", polls, read)
	}
	return b.String()
}
