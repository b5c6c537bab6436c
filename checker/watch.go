package checker

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// A Watch follows a cluster after every simulation step and keeps what a
// verdict needs beyond the history: for each partition, the moments it had
// no serving leader, its ISR below min.insync.replicas, or a replica
// offline; and the events that explain a loss (elections, clean or unclean,
// truncations and power losses), each with its simulated time and step.
//
// It is cheap enough to run in every mode (sweeps and matrices too): it
// reads a partition only when the view says the partition changed, and it
// keeps one entry per change, not per step. It is the broker's
// model.Observer for truncations (forward them with Truncated).
type Watch struct {
	view    model.ClusterView
	pv      model.PartitionVersions
	now     func() time.Duration
	steps   func() uint64
	minISR  func(tp model.TopicPartition, replicas int) int
	version uint64
	checked bool
	cursor  []uint64 // the view's, for model.PartitionChanges
	parts   map[model.TopicPartition]*watchPart
	events  []Event
	isr     []int32 // scratch: the leader's ISR being compared (isrAppender)
}

// An Event is a moment that can explain a loss or an outage.
type Event struct {
	At   time.Duration
	Step uint64
	// Kind is EventElection, EventUncleanElection, EventTruncation,
	// EventPowerLoss or EventLogStart.
	Kind string
	// TP is the partition (none for a power loss); Broker the broker
	// elected, truncated, or that lost power.
	TP     model.TopicPartition
	Broker int32
	// From and To bound a truncation's offsets [From, To) (To is -1 when
	// unknown), or the offsets a moved log start offset deleted; Epoch is
	// an election's leader epoch.
	From, To int64
	Epoch    int32
	// Text says what happened in an operator's words.
	Text string
	// Reason is why a log start offset moved (retention.ms,
	// retention.bytes, DeleteRecords, leader-log-start-offset,
	// truncate-fully); empty for the other kinds.
	Reason string
}

// The kinds of events a Watch records.
const (
	EventElection        = "election"
	EventUncleanElection = "unclean-election"
	EventTruncation      = "truncation"
	EventPowerLoss       = "power-loss"
	EventLogStart        = "log-start"
)

// watchState is what availability depends on.
type watchState struct {
	At    time.Duration
	Led   bool // a running replica serves as the leader the controller named
	Under bool // the ISR is below min.insync.replicas: acks=all writes fail
	Whole bool // every assigned replica is online
}

type watchPart struct {
	version   uint64
	versioned bool
	md        model.PartitionMetadata
	mdSeen    bool
	states    []watchState // one per change
	stalls    []Stall      // the last one open while it lasts
	open      bool
	// The leader, its epoch and its (maximal) ISR at the last check: a
	// stall starts only at a change of them.
	lastLeader, lastEpoch int32
	lastISR               []int32
}

// A Stall is a time a partition's leader kept its high-water mark below
// what its own rule allowed: every member of its ISR had fetched up to Due
// (as the leader knew from their fetches; no caught-up follower held it
// back, min.insync.replicas was met), yet the high-water mark stayed below.
// A stall starts at a change of leader, leader epoch or ISR, a moment the
// leader must look at its high-water mark again: between such moments a
// follower out of the ISR may stop counting as caught up by time alone,
// and Kafka's leader notices that only at its next fetch or produce.
// acks=all produces and consumers wait through it: the partition is
// unavailable with a leader.
type Stall struct {
	TP          model.TopicPartition
	Leader      int32
	LeaderEpoch int32
	// From and To bound the stall; for one that had not ended by the end
	// of the run, To is that end.
	From, To time.Duration
	// HWM is the high-water mark when the stall began; Due the highest
	// offset the rule allowed during it.
	HWM, Due int64
	ISR      []int32
}

// leaderRule is what a leader replica may tell of its high-water mark rule
// (the broker's replicas do; a view without it has no stalls).
type leaderRule interface {
	// HighWatermarkDue is the high-water mark the leader's rule allows
	// now, from what its followers fetched.
	HighWatermarkDue() int64
}

// isrAppender is a replica view that appends its ISR to a buffer instead of
// returning a copy (the broker's replicas do): the watch compares a
// leader's ISR after every change of its partition without allocating.
type isrAppender interface {
	AppendISR(dst []int32) []int32
}

// NewWatch returns a watch; minISR gives a partition's effective
// min.insync.replicas for its number of replicas (nil: 1).
func NewWatch(minISR func(tp model.TopicPartition, replicas int) int) *Watch {
	if minISR == nil {
		minISR = func(model.TopicPartition, int) int { return 1 }
	}
	return &Watch{minISR: minISR, parts: map[model.TopicPartition]*watchPart{},
		now: func() time.Duration { return 0 }, steps: func() uint64 { return 0 }}
}

// Register attaches the watch to a view and checks it after every step of
// the kernel.
func (w *Watch) Register(k Kernel, view model.ClusterView) {
	w.view, w.now, w.steps = view, k.Now, k.Steps
	w.pv, _ = view.(model.PartitionVersions)
	k.AddCheck("watch", w.Check)
}

// Check reads the partitions that changed since the last call.
func (w *Watch) Check() error {
	if w.view == nil {
		return nil
	}
	if v := w.view.Version(); w.checked && v == w.version {
		return nil
	} else {
		w.version, w.checked = v, true
	}
	var tps []model.TopicPartition
	if pc, ok := w.view.(model.PartitionChanges); ok && w.pv != nil {
		tps, w.cursor = pc.ChangedPartitions(w.cursor)
	} else {
		tps = w.view.Partitions()
	}
	for _, tp := range tps {
		p := w.parts[tp]
		if p == nil {
			p = &watchPart{}
			w.parts[tp] = p
		}
		if w.pv != nil {
			v := w.pv.PartitionVersion(tp)
			if p.versioned && v == p.version {
				continue
			}
			p.version, p.versioned = v, true
		}
		w.checkPartition(tp, p)
	}
	return nil
}

func (w *Watch) checkPartition(tp model.TopicPartition, p *watchPart) {
	md, ok := w.view.Metadata(tp)
	st := watchState{At: w.now()}
	if ok {
		reps := w.view.Replicas(tp)
		st.Whole = true
		for _, r := range reps {
			if r.Online() && r.IsLeader() && r.LeaderEpoch() == md.LeaderEpoch {
				st.Led = true
			}
			st.Whole = st.Whole && r.Online()
		}
		st.Under = len(md.ISR) < w.minISR(tp, len(md.Replicas))
		w.elections(tp, p, md)
		w.stall(tp, p, md, reps)
	} else {
		w.stall(tp, p, md, nil)
	}
	if n := len(p.states); n == 0 || p.states[n-1].Led != st.Led || p.states[n-1].Under != st.Under || p.states[n-1].Whole != st.Whole {
		p.states = append(p.states, st)
	}
}

// stall opens, extends or closes the partition's stall: its current
// leader's high-water mark below what its rule allows.
func (w *Watch) stall(tp model.TopicPartition, p *watchPart, md model.PartitionMetadata, reps []model.ReplicaView) {
	var leader model.ReplicaView
	for _, r := range reps {
		if r.Broker() == md.Leader && r.Online() && r.IsLeader() && r.LeaderEpoch() == md.LeaderEpoch {
			leader = r
		}
	}
	due, hwm := int64(-1), int64(-1)
	changed := false
	if lr, ok := leader.(leaderRule); ok && leader != nil {
		due, hwm = lr.HighWatermarkDue(), leader.HighWatermark()
		var isr []int32
		if ap, ok := leader.(isrAppender); ok {
			w.isr = ap.AppendISR(w.isr[:0])
			isr = w.isr
		} else {
			isr = leader.ISR()
		}
		changed = leader.Broker() != p.lastLeader || leader.LeaderEpoch() != p.lastEpoch || !slices.Equal(isr, p.lastISR)
		if changed {
			p.lastLeader, p.lastEpoch, p.lastISR = leader.Broker(), leader.LeaderEpoch(), append(p.lastISR[:0], isr...)
		}
	} else {
		p.lastLeader, p.lastEpoch, p.lastISR = -1, -1, p.lastISR[:0]
	}
	now := w.now()
	if p.open {
		s := &p.stalls[len(p.stalls)-1]
		if due > hwm && leader.Broker() == s.Leader && leader.LeaderEpoch() == s.LeaderEpoch && hwm == s.HWM {
			s.Due, s.To = max(s.Due, due), now
			return
		}
		s.To, p.open = now, false
	}
	if due > hwm && changed {
		p.stalls = append(p.stalls, Stall{TP: tp, Leader: leader.Broker(), LeaderEpoch: leader.LeaderEpoch(), From: now, To: now,
			HWM: hwm, Due: due, ISR: leader.ISR()})
		p.open = true
	}
}

// Stalls returns the partition's stalls that overlap [from, to], clipped
// to it; one still open ends at to.
func (w *Watch) Stalls(tp model.TopicPartition, from, to time.Duration) []Stall {
	p := w.parts[tp]
	if p == nil {
		return nil
	}
	var out []Stall
	for i, s := range p.stalls {
		if p.open && i == len(p.stalls)-1 {
			s.To = max(s.To, to)
		}
		s.From, s.To = max(s.From, from), min(s.To, to)
		if s.To > s.From {
			s.ISR = slices.Clone(s.ISR)
			out = append(out, s)
		}
	}
	return out
}

// elections records a change of leader: unclean when the new leader was
// neither in the ISR, nor in the ELR, nor the last known leader (KIP-966),
// or when the controller marks it recovering (KIP-704).
func (w *Watch) elections(tp model.TopicPartition, p *watchPart, md model.PartitionMetadata) {
	if p.mdSeen && md.Leader != model.NoLeader && md.LeaderEpoch > p.md.LeaderEpoch && md.Leader != p.md.Leader {
		prev := p.md
		unclean := md.Recovering || (!slices.Contains(prev.ISR, md.Leader) && !slices.Contains(prev.ELR, md.Leader) &&
			!slices.Contains(prev.LastKnownELR, md.Leader))
		e := Event{At: w.now(), Step: w.steps(), Kind: EventElection, TP: tp, Broker: md.Leader, Epoch: md.LeaderEpoch}
		if unclean {
			e.Kind = EventUncleanElection
			e.Text = fmt.Sprintf("broker %d, not in the ISR %v, was elected leader of %s uncleanly (leader epoch %d)", md.Leader, prev.ISR, tp, md.LeaderEpoch)
		} else {
			e.Text = fmt.Sprintf("broker %d was elected leader of %s (leader epoch %d)", md.Leader, tp, md.LeaderEpoch)
		}
		w.events = append(w.events, e)
	}
	if !p.mdSeen || p.md.LeaderEpoch != md.LeaderEpoch || p.md.Leader != md.Leader || !slices.Equal(p.md.ISR, md.ISR) ||
		!slices.Equal(p.md.ELR, md.ELR) || !slices.Equal(p.md.LastKnownELR, md.LastKnownELR) || p.md.Recovering != md.Recovering {
		p.md = md
		p.md.ISR, p.md.ELR, p.md.LastKnownELR, p.md.Replicas = slices.Clone(md.ISR), slices.Clone(md.ELR), slices.Clone(md.LastKnownELR), slices.Clone(md.Replicas)
	}
	p.mdSeen = true
}

// Truncated records that a replica removed [from, to) from its log.
func (w *Watch) Truncated(tp model.TopicPartition, broker int32, from, to int64, reason string) {
	if to >= 0 && to <= from {
		return
	}
	what := fmt.Sprintf("offsets %d..%d", from, to-1)
	if to < 0 {
		what = fmt.Sprintf("everything from offset %d", from)
	}
	w.events = append(w.events, Event{At: w.now(), Step: w.steps(), Kind: EventTruncation, TP: tp, Broker: broker, From: from, To: to,
		Text: fmt.Sprintf("broker %d truncated %s of %s (%s)", broker, what, tp, reason)})
}

// LogStartMoved records that a replica's log start offset moved from from
// to to: retention or DeleteRecords made [from, to) unreadable there.
func (w *Watch) LogStartMoved(tp model.TopicPartition, broker int32, from, to int64, reason string) {
	if to <= from {
		return
	}
	w.events = append(w.events, Event{At: w.now(), Step: w.steps(), Kind: EventLogStart, TP: tp, Broker: broker, From: from, To: to, Reason: reason,
		Text: fmt.Sprintf("broker %d deleted offsets %d..%d of %s (%s)", broker, from, to-1, tp, reason)})
}

// PowerLost records that a broker lost power: its unflushed writes are gone.
func (w *Watch) PowerLost(broker int32) {
	w.events = append(w.events, Event{At: w.now(), Step: w.steps(), Kind: EventPowerLoss, Broker: broker,
		Text: fmt.Sprintf("broker %d lost power, and with it what its page cache had not written to disk", broker)})
}

// Events returns the recorded events in the order they happened.
func (w *Watch) Events() []Event { return slices.Clone(w.events) }

// Partitions returns the partitions the watch saw, sorted.
func (w *Watch) Partitions() []model.TopicPartition {
	out := make([]model.TopicPartition, 0, len(w.parts))
	for tp := range w.parts {
		out = append(out, tp)
	}
	slices.SortFunc(out, model.TopicPartition.Compare)
	return out
}

// Unavailable returns how long, between from and to, the partition had no
// running replica serving as the leader the controller named (nothing could
// be written or read), and how long its ISR was below
// min.insync.replicas while it was led (acks=all writes failed).
func (w *Watch) Unavailable(tp model.TopicPartition, from, to time.Duration) (leaderless, underMinISR time.Duration) {
	p := w.parts[tp]
	if p == nil {
		return 0, 0
	}
	for i, s := range p.states {
		end := to
		if i+1 < len(p.states) {
			end = min(p.states[i+1].At, to)
		}
		start := max(s.At, from)
		if end <= start {
			continue
		}
		switch {
		case !s.Led:
			leaderless += end - start
		case s.Under:
			underMinISR += end - start
		}
	}
	return leaderless, underMinISR
}

// Recovery returns how long after t the partition was led with every
// replica online again; false if that never happened.
func (w *Watch) Recovery(tp model.TopicPartition, t time.Duration) (time.Duration, bool) {
	p := w.parts[tp]
	if p == nil {
		return 0, false
	}
	for i, s := range p.states {
		if s.At > t {
			if s.Led && s.Whole {
				return s.At - t, true
			}
			continue
		}
		// The state in force at t, if no later one starts at or before t.
		if (i+1 == len(p.states) || p.states[i+1].At > t) && s.Led && s.Whole {
			return 0, true
		}
	}
	return 0, false
}
