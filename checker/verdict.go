package checker

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// A Verdict is a run's answer, computed once: what was lost and which
// setting allowed it, how long each partition was unavailable, which event
// caused each loss, the anomalies, and whether linearizability was checked.
// Every output (the command line, its exit code, run, compare, matrix and
// sweep reports, summary files) renders this one value and recomputes
// nothing.
type Verdict struct {
	// OK is true when nothing acknowledged or committed was lost, no
	// guarantee was broken, no invariant stopped the run, and
	// linearizability was not refuted nor left unchecked. A loss the
	// configuration allows (acks=1, unclean election, no fsync) is not OK:
	// the verdict says which setting allowed it.
	OK bool
	// Lost counts the distinct records (partition and offset) lost;
	// AckedLost those acknowledged to a producer, CommittedLost those a
	// consumer read (so below the high-water mark). A record can be both.
	Lost, AckedLost, CommittedLost int
	// LostBy counts lost records by what allowed the loss, most records
	// first.
	LostBy []AllowanceCount
	// Unavailable is the time, summed over the user topics' partitions,
	// with no serving leader; UnderMinISR the time they were led with an
	// ISR below min.insync.replicas (acks=all writes failed).
	Unavailable, UnderMinISR time.Duration
	// Stalled is the time, summed over the user topics' partitions, their
	// leader kept the high-water mark below what every ISR member had
	// fetched (acks=all writes and reads waited; Watch.Stalls).
	Stalled time.Duration
	// Partitions has one entry per partition of the user topics, then the
	// internal ones (__consumer_offsets) that lost data or were offline.
	Partitions []PartitionVerdict
	// Incidents group the findings that share a cause, losses first.
	Incidents []Incident
	// Findings are every finding, live and from the history, merged once
	// and sorted by time.
	Findings []Finding
	// Linearizability is "ok", "illegal", "unchecked" (its budget ran out:
	// LinearizabilityNote says how far it got) or "skipped". For an
	// illegal one that the losses the configuration allowed explain,
	// LinearizabilityNote says so and LinearizabilityExplainedBy names
	// them (see explainRefutation); otherwise the refutation stands
	// unexplained.
	Linearizability            string
	LinearizabilityNote        string
	LinearizabilityExplainedBy []AllowanceCount
	// Stopped is the broken invariant that stopped the run, if any.
	Stopped string
	Run     Run
}

// An Allowance names what let a record be lost: the Kafka setting, or none
// (a broken guarantee).
type Allowance string

// The allowances.
const (
	// AllowNone: no setting allows this loss; Kafka's guarantee broke.
	AllowNone Allowance = "none: a broken guarantee"
	// AllowAcks: the producer used acks=1 or acks=0.
	AllowAcks Allowance = "acks=1"
	// AllowUnclean: the topic allows unclean leader election.
	AllowUnclean Allowance = "unclean.leader.election.enable=true"
	// AllowNoFsync: brokers do not fsync (log.flush.interval.messages
	// unset) and lost power.
	AllowNoFsync Allowance = "no fsync (log.flush.interval.messages unset) and a power loss"
	// AllowVariant: a historical protocol variant the run chose.
	AllowVariant Allowance = "a historical protocol variant"
	// AllowPartitionIncrease: partitions were added to the topic
	// (CreatePartitions), which moves keys to other partitions; nothing is
	// lost, but per-key order across the old and new partition is.
	AllowPartitionIncrease Allowance = "a partition increase (CreatePartitions)"
	// AllowRetention: retention (retention.ms, retention.bytes) or
	// DeleteRecords deleted records before a consumer read them.
	AllowRetention Allowance = "retention"
)

// AllowanceCount is how many records one allowance let be lost.
type AllowanceCount struct {
	Allowance Allowance
	// Setting is the allowance as the run's configuration spells it (for
	// a variant, which one).
	Setting string
	Records int
}

// PartitionVerdict is the verdict on one partition.
type PartitionVerdict struct {
	TP       model.TopicPartition
	Internal bool
	// Lost, AckedLost and CommittedLost count records as in Verdict;
	// LostOffsets lists the lost offsets, sorted.
	Lost, AckedLost, CommittedLost int
	LostOffsets                    []int64
	// Unavailable, UnderMinISR and Stalled are as in Verdict, for this
	// partition.
	Unavailable, UnderMinISR time.Duration
	Stalled                  time.Duration
	// Recovery is how long after the last fault the partition was led
	// with every replica online; Recovered is false if it never was.
	Recovery  time.Duration
	Recovered bool
	// Truncated counts the records replicas removed from their logs.
	Truncated int64
}

// An Incident is one problem told once: the findings that share a cause,
// and the event that caused them.
type Incident struct {
	// Headline says what happened in an operator's words.
	Headline string
	TP       model.TopicPartition
	// Loss incidents have Lost > 0 and an Allowance.
	Lost, AckedLost, CommittedLost int
	Offsets                        []int64
	Allowance                      Allowance
	Setting                        string
	// Cause is the event that explains the incident; nil when the
	// findings name no earlier event. At and Step are the cause's moment
	// (or the first finding's).
	Cause *Event
	At    time.Duration
	Step  uint64
	// Replay replays the run up to the incident's moment.
	Replay string
	// WhatIf, when set, says what another configuration did on the same
	// schedule (for a loss an unclean election allowed: what clean
	// election would have cost), with the command that shows both.
	WhatIf   string
	Findings []Finding
	// Bad is false only for incidents that are notes.
	Bad bool
}

// Settings is what the verdict needs to know of the run's configuration to
// say what allowed a loss.
type Settings struct {
	// Topics give each user topic's settings, by name.
	Topics map[string]TopicSettings
	// Fsync is true when brokers flush writes (log.flush.interval.*).
	Fsync bool
	// Variants names the historical protocol variants in use (empty for
	// current Kafka).
	Variants []string
}

// TopicSettings are one topic's settings that decide what it can lose.
type TopicSettings struct {
	MinInsyncReplicas int
	Unclean           bool
	// RetentionMs and RetentionBytes are retention.ms and retention.bytes
	// (negative: unlimited); Deletes is cleanup.policy including delete.
	RetentionMs, RetentionBytes int64
	Deletes                     bool
}

// ReasonDeleteRecords is the reason of a log start offset that a leader
// moved for DeleteRecords (Event.Reason).
const ReasonDeleteRecords = "DeleteRecords"

// deleteRecordsSetting names DeleteRecords as what allowed a loss.
const deleteRecordsSetting = "DeleteRecords (the log start offset moved)"

// retentionSetting spells what let retention delete a topic's records.
func (t TopicSettings) retentionSetting() string {
	var out []string
	if t.Deletes && t.RetentionMs >= 0 {
		out = append(out, fmt.Sprintf("retention.ms=%d", t.RetentionMs))
	}
	if t.Deletes && t.RetentionBytes >= 0 {
		out = append(out, fmt.Sprintf("retention.bytes=%d", t.RetentionBytes))
	}
	if len(out) == 0 {
		return deleteRecordsSetting
	}
	return strings.Join(out, " or ")
}

// VerdictInput is everything a verdict is computed from.
type VerdictInput struct {
	Run Run
	// Report is the history's checks; Live the findings made while the run
	// went; Stopped the invariant that stopped it.
	Report  *Report
	Live    []Finding
	Stopped error
	// Watch followed the cluster; From and To bound the time that counts
	// for unavailability (the cluster's readiness to the end of the
	// scenario, excluding the final healing phase); LastFault is when the
	// last fault struck (recovery is measured from it).
	Watch          *Watch
	From, To       time.Duration
	LastFault      time.Duration
	Settings       Settings
	UserPartitions []model.TopicPartition
	// History, when given, tells which lost records had been
	// acknowledged to a producer (a read record's loss is found as
	// lost-committed even when its send was acknowledged too).
	History         *history.History
	ReplayUntilStep func(step uint64) string
}

// NewVerdict computes a run's verdict.
func NewVerdict(in VerdictInput) *Verdict {
	live := in.Live
	if in.Watch != nil {
		live = append(slices.Clone(live), stallFindings(in.Watch, in.From, in.To, in.Run)...)
	}
	v := &Verdict{Run: in.Run, Findings: mergeFindings(live, in.Report)}
	if in.Stopped != nil {
		v.Stopped = in.Stopped.Error()
	}
	v.Linearizability = "skipped"
	if in.Report != nil && in.Report.Linearizability != nil {
		l := in.Report.Linearizability
		switch string(l.Result) {
		case "ok":
			v.Linearizability = "ok"
		case "illegal":
			v.Linearizability = "illegal"
		default:
			v.Linearizability = "unchecked"
			v.LinearizabilityNote = l.String()
		}
	}
	var events []Event
	if in.Watch != nil {
		events = in.Watch.Events()
	}
	parts := map[model.TopicPartition]*PartitionVerdict{}
	user := map[model.TopicPartition]bool{}
	for _, tp := range in.UserPartitions {
		user[tp] = true
		parts[tp] = &PartitionVerdict{TP: tp}
	}
	part := func(tp model.TopicPartition) *PartitionVerdict {
		if parts[tp] == nil {
			parts[tp] = &PartitionVerdict{TP: tp, Internal: !user[tp]}
		}
		return parts[tp]
	}
	if in.Watch != nil {
		for _, tp := range in.Watch.Partitions() {
			off, under := in.Watch.Unavailable(tp, in.From, in.To)
			var stalled time.Duration
			for _, s := range in.Watch.Stalls(tp, in.From, in.To) {
				stalled += s.To - s.From
			}
			if off == 0 && under == 0 && stalled == 0 && !user[tp] {
				continue
			}
			p := part(tp)
			p.Unavailable, p.UnderMinISR, p.Stalled = off, under, stalled
			p.Recovery, p.Recovered = in.Watch.Recovery(tp, in.LastFault)
		}
	}
	for _, e := range events {
		if e.Kind == EventTruncation && parts[e.TP] != nil {
			if e.To > e.From {
				parts[e.TP].Truncated += e.To - e.From
			}
		}
	}

	// Losses: the union of lost offsets per partition, grouped by cause.
	type lossKey struct {
		tp    model.TopicPartition
		cause int // index into events, -1 for none
		allow Allowance
		set   string
	}
	losses := map[lossKey]*Incident{}
	var lossOrder []lossKey
	acked := map[model.TopicPartition]map[int64]bool{}
	committed := map[model.TopicPartition]map[int64]bool{}
	var others []Finding
	for _, f := range v.Findings {
		isLoss := (f.Name == string(LostWrite) || f.Name == string(LostCommitted) || f.Name == string(RetentionSkip)) && f.Class != Note
		if !isLoss {
			if f.Class.Bad() {
				others = append(others, f)
			}
			continue
		}
		allow, set, cause := explainLoss(f, events, in.Settings)
		k := lossKey{f.TP, cause, allow, set}
		inc := losses[k]
		if inc == nil {
			inc = &Incident{TP: f.TP, Allowance: allow, Setting: set, Bad: true}
			if cause >= 0 {
				e := events[cause]
				inc.Cause, inc.At, inc.Step = &e, e.At, e.Step
			} else {
				inc.At, inc.Step = f.At, f.Step
			}
			losses[k] = inc
			lossOrder = append(lossOrder, k)
		}
		inc.Findings = append(inc.Findings, f)
		set2 := acked
		if f.Name == string(LostCommitted) {
			set2 = committed
		}
		if set2[f.TP] == nil {
			set2[f.TP] = map[int64]bool{}
		}
		for _, o := range expand(f.Offsets) {
			set2[f.TP][o] = true
			inc.Offsets = append(inc.Offsets, o)
		}
	}
	if in.History != nil {
		for i := range in.History.Ops {
			op := &in.History.Ops[i]
			if op.Kind != history.KindSend || op.Outcome != history.OK || op.Send == nil || op.Send.Offset < 0 {
				continue
			}
			tp := model.TopicPartition{Topic: op.Send.Topic, Partition: op.Send.Partition}
			if committed[tp][op.Send.Offset] {
				if acked[tp] == nil {
					acked[tp] = map[int64]bool{}
				}
				acked[tp][op.Send.Offset] = true
			}
		}
	}
	byAllow := map[AllowanceCount]int{}
	for _, k := range lossOrder {
		inc := losses[k]
		slices.Sort(inc.Offsets)
		inc.Offsets = slices.Compact(inc.Offsets)
		for _, o := range inc.Offsets {
			if acked[k.tp][o] {
				inc.AckedLost++
			}
			if committed[k.tp][o] {
				inc.CommittedLost++
			}
		}
		inc.Lost = len(inc.Offsets)
		byAllow[AllowanceCount{Allowance: k.allow, Setting: k.set}] += inc.Lost
		inc.Headline = lossHeadline(inc)
		v.Incidents = append(v.Incidents, *inc)
	}
	for ac, n := range byAllow {
		ac.Records = n
		v.LostBy = append(v.LostBy, ac)
	}
	slices.SortFunc(v.LostBy, func(a, b AllowanceCount) int {
		return cmp.Or(cmp.Compare(b.Records, a.Records), strings.Compare(a.Setting, b.Setting))
	})
	tps := slices.Collect(maps.Keys(acked))
	for tp := range committed {
		if acked[tp] == nil {
			tps = append(tps, tp)
		}
	}
	for _, tp := range tps {
		p := part(tp)
		all := map[int64]bool{}
		for o := range acked[tp] {
			all[o] = true
		}
		for o := range committed[tp] {
			all[o] = true
		}
		p.LostOffsets = slices.Sorted(maps.Keys(all))
		p.Lost, p.AckedLost, p.CommittedLost = len(all), len(acked[tp]), len(committed[tp])
	}

	// Other problems: a consequence of a loss on the same partition joins
	// that loss's incident (an unclean election's inconsistent offsets);
	// the rest make one incident per name and partition (and group).
	type otherKey struct {
		name, where string
	}
	idx := map[otherKey]int{}
	for _, f := range others {
		joined := false
		for i := range v.Incidents {
			inc := &v.Incidents[i]
			if inc.Lost > 0 && inc.TP == f.TP && inc.Cause != nil && inc.Cause.At <= f.At && f.Class != Invariant {
				inc.Findings = append(inc.Findings, f)
				joined = true
				break
			}
		}
		if joined {
			continue
		}
		k := otherKey{f.Name, f.TP.String() + "|" + f.Group}
		i, ok := idx[k]
		if !ok {
			i = len(v.Incidents)
			idx[k] = i
			v.Incidents = append(v.Incidents, Incident{TP: f.TP, At: f.At, Step: f.Step, Bad: true})
		}
		v.Incidents[i].Findings = append(v.Incidents[i].Findings, f)
	}
	// Keys a partition increase moved: one incident per topic, which
	// names the increase as what allowed it (not a broken guarantee).
	moved := map[string]int{}
	for _, f := range v.Findings {
		if f.Name != string(KeyMoved) || f.Class != Expected {
			continue
		}
		i, ok := moved[f.TP.Topic]
		if !ok {
			i = len(v.Incidents)
			moved[f.TP.Topic] = i
			v.Incidents = append(v.Incidents, Incident{TP: model.TopicPartition{Topic: f.TP.Topic, Partition: -1}, At: f.At, Step: f.Step,
				Allowance: AllowPartitionIncrease, Setting: "CreatePartitions on topic " + f.TP.Topic})
		}
		v.Incidents[i].Findings = append(v.Incidents[i].Findings, f)
	}
	for i := range v.Incidents {
		inc := &v.Incidents[i]
		switch {
		case inc.Allowance == AllowPartitionIncrease:
			inc.Headline = movedHeadline(inc)
		case inc.Lost == 0:
			inc.Headline = otherHeadline(inc)
		}
		if in.ReplayUntilStep != nil && inc.Step > 0 {
			inc.Replay = in.ReplayUntilStep(inc.Step)
		}
	}

	for _, tp := range slices.SortedFunc(maps.Keys(parts), model.TopicPartition.Compare) {
		p := parts[tp]
		if !p.Internal {
			v.Unavailable += p.Unavailable
			v.UnderMinISR += p.UnderMinISR
			v.Stalled += p.Stalled
		}
		v.Lost += p.Lost
		v.AckedLost += p.AckedLost
		v.CommittedLost += p.CommittedLost
		v.Partitions = append(v.Partitions, *p)
	}
	slices.SortStableFunc(v.Partitions, func(a, b PartitionVerdict) int {
		if a.Internal != b.Internal {
			if a.Internal {
				return 1
			}
			return -1
		}
		return a.TP.Compare(b.TP)
	})
	if v.Linearizability == "illegal" && in.History != nil {
		v.LinearizabilityExplainedBy = explainRefutation(in.History, v.Incidents, in.Report.Linearizability.Budget)
		if len(v.LinearizabilityExplainedBy) > 0 {
			v.LinearizabilityNote = "not linearizable because of " + allowedLosses(v.LinearizabilityExplainedBy)
		}
	}
	v.OK = v.Lost == 0 && len(others) == 0 && v.Stopped == "" && v.Linearizability != "illegal" && v.Linearizability != "unchecked"
	return v
}

// explainRefutation says whether the losses the configuration allowed
// explain a refuted linearizability. It checks the history again with
// those losses treated as the configuration allows them: the records they
// took set aside (the sends that wrote them and the polls that read them
// left out, as if they had never happened), and, when acks=1 allowed a
// loss, every acks=1 acknowledgement taken for what it promises — nothing
// about durability: an outcome unknown, so the record may or may not be
// in the log (Kafka's acks=1 loses records beyond a log's final end too,
// which no read shows). If that history is linearizable (within budget),
// it returns how many records each allowance let be lost; otherwise, or
// when no loss was allowed, nil: the refutation stands unexplained.
func explainRefutation(h *history.History, incidents []Incident, budget int64) []AllowanceCount {
	aside, by := setAside(h, incidents)
	if aside == nil || CheckLinearizability(aside, budget).Result != Ok {
		return nil
	}
	var out []AllowanceCount
	for ac, n := range by {
		ac.Records = n
		out = append(out, ac)
	}
	slices.SortFunc(out, func(a, b AllowanceCount) int {
		return cmp.Or(cmp.Compare(b.Records, a.Records), strings.Compare(a.Setting, b.Setting))
	})
	return out
}

// setAside returns the history with the allowed losses of incidents
// treated as explainRefutation says, and the records each allowance let
// be lost; nil when no loss was allowed.
func setAside(h *history.History, incidents []Incident) (*history.History, map[AllowanceCount]int) {
	lost := map[model.TopicPartition]map[int64]bool{}
	by := map[AllowanceCount]int{}
	acks := false
	for _, inc := range incidents {
		if inc.Lost == 0 || inc.Allowance == AllowNone {
			continue
		}
		if lost[inc.TP] == nil {
			lost[inc.TP] = map[int64]bool{}
		}
		for _, o := range inc.Offsets {
			lost[inc.TP][o] = true
		}
		by[AllowanceCount{Allowance: inc.Allowance, Setting: inc.Setting}] += inc.Lost
		acks = acks || inc.Allowance == AllowAcks
	}
	if len(lost) == 0 {
		return nil, nil
	}
	// A lost offset may hold another record by the end (a new leader
	// wrote it there): only the records the final log does not hold at
	// that offset are the lost ones.
	final := map[model.TopicPartition]map[int64]model.Bytes{}
	for _, f := range FinalLogs(h) {
		if lost[f.TP] == nil {
			continue
		}
		final[f.TP] = map[int64]model.Bytes{}
		for _, r := range f.Records {
			if lost[f.TP][r.Offset] {
				final[f.TP][r.Offset] = r.Value
			}
		}
	}
	isLost := func(tp model.TopicPartition, o int64, v model.Bytes) bool {
		if o < 0 || !lost[tp][o] {
			return false
		}
		kept, ok := final[tp][o]
		return !ok || !bytes.Equal(kept, v)
	}
	touches := func(op *history.Op) bool {
		for _, s := range op.Sends() {
			if isLost(s.TP(), s.Offset, s.Value) {
				return true
			}
		}
		for _, p := range op.Polls() {
			for _, pp := range p.Parts {
				for _, r := range pp.Records {
					if isLost(pp.TP(), r.Offset, r.Value) {
						return true
					}
				}
			}
		}
		return false
	}
	aside := *h
	aside.Ops = make([]history.Op, 0, len(h.Ops))
	for i := range h.Ops {
		op := h.Ops[i]
		if touches(&op) {
			continue
		}
		if acks && op.Send != nil && op.Send.Acks == model.AcksLeader && op.Outcome == history.OK {
			s := *op.Send
			s.Offset = -1
			op.Send, op.Outcome = &s, history.Unknown
		}
		aside.Ops = append(aside.Ops, op)
	}
	return &aside, by
}

// allowedLosses names the records allowances let be lost: "the 48 records
// acks=1 allowed to be lost", joined with "and".
func allowedLosses(acs []AllowanceCount) string {
	var out []string
	for _, a := range acs {
		noun := "records"
		if a.Records == 1 {
			noun = "record"
		}
		out = append(out, fmt.Sprintf("the %d %s %s allowed to be lost", a.Records, noun, a.Setting))
	}
	return strings.Join(out, " and ")
}

// mergeFindings joins the live findings and the history's, once: the
// invariants' final check and the history's final-state check can both
// see one divergence.
// StuckHighWatermarkAfter is how long a stall (Watch.Stalls) lasts before
// it is a stuck-high-watermark finding: a leader rechecks its high-water
// mark at every fetch, produce and ISR change, so a stall that lasts at
// all means it missed one.
const StuckHighWatermarkAfter = 5 * time.Second

// stallFindings names each stall between from and to that lasted longer
// than StuckHighWatermarkAfter.
func stallFindings(w *Watch, from, to time.Duration, run Run) []Finding {
	var out []Finding
	for _, tp := range w.Partitions() {
		for _, s := range w.Stalls(tp, from, to) {
			d := s.To - s.From
			if d <= StuckHighWatermarkAfter {
				continue
			}
			out = append(out, Finding{Name: string(StuckHighWatermark), Class: Invariant, TP: tp, Brokers: []int32{s.Leader},
				Offsets: span(s.HWM, s.Due), At: s.From + StuckHighWatermarkAfter, Seed: run.Seed, Replay: run.Replay,
				Message: fmt.Sprintf("leader %d (epoch %d) kept its high-water mark at %d for %v while every member of its ISR %v had fetched up to %d: acks=all produces and consumers waited",
					s.Leader, s.LeaderEpoch, s.HWM, d.Round(time.Millisecond), s.ISR, s.Due)})
		}
	}
	return out
}

func mergeFindings(live []Finding, rep *Report) []Finding {
	seen := map[string]bool{}
	key := func(f Finding) string { return fmt.Sprint(f.Name, f.TP, f.Offsets, f.Brokers) }
	for _, f := range live {
		seen[key(f)] = true
	}
	all := slices.Clone(live)
	if rep != nil {
		for _, f := range rep.Findings {
			if !seen[key(f)] {
				all = append(all, f)
			}
		}
	}
	slices.SortStableFunc(all, func(a, b Finding) int { return cmp.Compare(a.At, b.At) })
	return all
}

// expand lists the offsets a finding names: its list, or the range its
// first and last give when the list is a range's ends.
func expand(offsets []int64) []int64 {
	if len(offsets) == 2 && offsets[1] > offsets[0]+1 {
		out := make([]int64, 0, offsets[1]-offsets[0]+1)
		for o := offsets[0]; o <= offsets[1]; o++ {
			out = append(out, o)
		}
		return out
	}
	return offsets
}

// explainLoss says what allowed a lost record and which event caused the
// loss (an index into events, or -1).
func explainLoss(f Finding, events []Event, s Settings) (Allowance, string, int) {
	first := int64(-1)
	if len(f.Offsets) > 0 {
		first = f.Offsets[0]
	}
	last := func(match func(e Event) bool) int {
		for i := len(events) - 1; i >= 0; i-- {
			if events[i].At <= f.At && match(events[i]) {
				return i
			}
		}
		return -1
	}
	truncation := last(func(e Event) bool {
		return e.Kind == EventTruncation && e.TP == f.TP && e.From <= first && (e.To < 0 || first < e.To)
	})
	election := last(func(e Event) bool { return (e.Kind == EventElection || e.Kind == EventUncleanElection) && e.TP == f.TP })
	orElection := func(i int) int {
		if i >= 0 {
			return i
		}
		if truncation >= 0 {
			return truncation
		}
		return election
	}
	ts := s.Topics[f.TP.Topic]
	if f.Name == string(RetentionSkip) {
		deleted := func(e Event) bool { return e.Kind == EventLogStart && e.TP == f.TP && e.From <= first && first < e.To }
		if i := last(func(e Event) bool { return deleted(e) && e.Reason == ReasonDeleteRecords }); i >= 0 {
			return AllowRetention, deleteRecordsSetting, i
		}
		return AllowRetention, ts.retentionSetting(), last(deleted)
	}
	if f.Name == string(LostWrite) && f.Class == Expected {
		return AllowAcks, string(AllowAcks), orElection(-1)
	}
	if unclean := last(func(e Event) bool { return e.Kind == EventUncleanElection && e.TP == f.TP }); unclean >= 0 {
		set := string(AllowUnclean)
		if ts.MinInsyncReplicas == 1 {
			set += " with min.insync.replicas=1"
		}
		return AllowUnclean, set, unclean
	}
	if !s.Fsync {
		if pl := last(func(e Event) bool { return e.Kind == EventPowerLoss }); pl >= 0 {
			return AllowNoFsync, string(AllowNoFsync), pl
		}
	}
	if len(s.Variants) > 0 {
		return AllowVariant, strings.Join(s.Variants, ", "), orElection(-1)
	}
	return AllowNone, string(AllowNone), orElection(-1)
}

func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func lossHeadline(inc *Incident) string {
	var what []string
	if inc.AckedLost == inc.Lost && inc.CommittedLost == inc.Lost {
		what = append(what, countOf(inc.Lost, "acknowledged record a consumer had already read", "acknowledged records consumers had already read"))
	} else if inc.AckedLost > 0 {
		what = append(what, countOf(inc.AckedLost, "acknowledged record", "acknowledged records"))
	}
	if inc.CommittedLost > 0 && (inc.AckedLost != inc.Lost || inc.CommittedLost != inc.Lost) {
		what = append(what, countOf(inc.CommittedLost, "committed record a consumer had read", "committed records consumers had read"))
	}
	s := fmt.Sprintf("%s lost %s (offsets %s)", inc.TP, strings.Join(what, " and "), offsetRanges(inc.Offsets))
	if c := inc.Cause; c != nil {
		s += fmt.Sprintf(": %s at %v", c.Text, c.At.Round(time.Millisecond))
	}
	if inc.Allowance == AllowNone {
		return s + "; no setting allows this: a broken guarantee"
	}
	return s + "; allowed by " + inc.Setting
}

func otherHeadline(inc *Incident) string {
	f := inc.Findings[0]
	s := fmt.Sprintf("%s [%s]", f.Name, f.Class)
	if w := f.Where(); w != "" {
		s += " in " + w
	}
	if n := len(inc.Findings); n > 1 {
		s += fmt.Sprintf(" (%d times)", n)
	}
	return s + fmt.Sprintf(" at %v: %s", f.At.Round(time.Millisecond), f.Message)
}

// movedHeadline tells the keys a partition increase moved, naming the
// increase as what allows it.
func movedHeadline(inc *Incident) string {
	return fmt.Sprintf("%s moved to another partition of %s at %v after a partition increase: per-key order across the old and the new partition is lost, which %s allows (Kafka orders records within a partition only); no guarantee broke",
		countOf(len(inc.Findings), "key", "keys"), inc.TP.Topic, inc.At.Round(time.Millisecond), AllowPartitionIncrease)
}

// Bad returns the findings of a bad class (data loss, consistency,
// invariant).
func (v *Verdict) Bad() []Finding { return Bad(v.Findings) }

// ExitCode is the command line's exit code for the verdict: 0 when OK, 1
// otherwise (whatever the configuration allows).
func (v *Verdict) ExitCode() int {
	if v.OK {
		return 0
	}
	return 1
}

// Summary is the verdict in one line.
func (v *Verdict) Summary() string {
	if v.Stopped != "" {
		return "stopped: " + v.Stopped
	}
	var parts []string
	if v.Lost > 0 {
		var by []string
		for _, a := range v.LostBy {
			by = append(by, fmt.Sprintf("%d allowed by %s", a.Records, a.Setting))
			if a.Allowance == AllowNone {
				by[len(by)-1] = fmt.Sprintf("%d with no setting allowing it", a.Records)
			}
		}
		parts = append(parts, fmt.Sprintf("%s lost (%s)", countOf(v.Lost, "record", "records"), strings.Join(by, "; ")))
	}
	counts := map[string]int{}
	var order []string
	for _, f := range v.Bad() {
		if f.Name == string(LostWrite) || f.Name == string(LostCommitted) || f.Name == string(RetentionSkip) || f.Name == string(LinearizabilityUnchecked) ||
			f.Name == string(Nonlinearizable) && len(v.LinearizabilityExplainedBy) > 0 {
			continue // counted above, or said below
		}
		if counts[f.Name] == 0 {
			order = append(order, f.Name)
		}
		counts[f.Name]++
	}
	for _, n := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[n], n))
	}
	switch v.Linearizability {
	case "unchecked":
		parts = append(parts, string(LinearizabilityUnchecked)+": "+strings.TrimPrefix(v.LinearizabilityNote, "unchecked "))
	case "illegal":
		switch {
		case len(v.LinearizabilityExplainedBy) > 0:
			parts = append(parts, v.LinearizabilityNote)
		case counts[string(Nonlinearizable)] == 0:
			parts = append(parts, "not linearizable")
		}
	}
	moved := 0
	for _, f := range v.Findings {
		if f.Name == string(KeyMoved) && f.Class == Expected {
			moved++
		}
	}
	if len(parts) == 0 {
		s := "ok: nothing acknowledged was lost, no anomaly, no broken invariant"
		if v.Linearizability == "skipped" {
			s += " (linearizability not checked)"
		}
		if moved > 0 {
			s += fmt.Sprintf("; %s moved partitions, allowed by %s", countOf(moved, "key", "keys"), AllowPartitionIncrease)
		}
		return s
	}
	if moved > 0 {
		parts = append(parts, fmt.Sprintf("%s moved partitions, allowed by %s", countOf(moved, "key", "keys"), AllowPartitionIncrease))
	}
	return strings.Join(parts, "; ")
}
