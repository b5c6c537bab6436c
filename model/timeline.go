package model

import (
	"slices"
	"time"
)

// A Timeline is a cluster's observable state over a run: each partition's
// committed controller state and each replica's offsets, sampled whenever
// they changed, and the run's notable events (faults). Reports draw it.
type Timeline struct {
	Partitions []PartitionTimeline
	Events     []Event
}

// A PartitionTimeline follows one partition.
type PartitionTimeline struct {
	TP       TopicPartition
	Replicas []int32 // the assignment when the partition was first seen
	Samples  []PartitionSample
	// Markers are the transaction markers its leaders wrote, each as first
	// seen, in the order seen (when the view tells of them:
	// TxnReplicaView).
	Markers []TimelineMarker
}

// A TimelineMarker is a transaction marker as a leader's log first showed
// it.
type TimelineMarker struct {
	At     time.Duration
	Step   uint64
	Marker TxnMarker
}

// A PartitionSample is a partition's state from At until the next sample.
type PartitionSample struct {
	At       time.Duration
	Step     uint64
	Metadata PartitionMetadata
	Replicas []ReplicaSample // in the timeline's Replicas order
}

// A ReplicaSample is one replica's offsets.
type ReplicaSample struct {
	Online        bool
	Leader        bool
	LeaderEpoch   int32
	LogEndOffset  int64
	HighWatermark int64
	// LastStableOffset is where read_committed fetches stop (the
	// high-water mark when the view does not tell: TxnReplicaView).
	LastStableOffset int64
}

// An Event is a notable moment of a run, such as a fault.
type Event struct {
	At   time.Duration
	Step uint64
	Kind string
	Text string
}

// A TimelineRecorder samples a ClusterView into a Timeline. Call Sample
// after every simulation step: it reads the view only when its Version
// changed, and adds a sample only for partitions whose state did.
type TimelineRecorder struct {
	view    ClusterView
	last    uint64
	started bool
	index   map[TopicPartition]int
	// markedTo is, per partition (in tl.Partitions' order), the offset
	// up to which markers were looked for.
	markedTo []int64
	markers  []TxnMarker // scratch
	tl       Timeline
}

// NewTimelineRecorder returns a recorder of view.
func NewTimelineRecorder(view ClusterView) *TimelineRecorder {
	return &TimelineRecorder{view: view, index: make(map[TopicPartition]int)}
}

// Event records a notable moment.
func (r *TimelineRecorder) Event(e Event) { r.tl.Events = append(r.tl.Events, e) }

// Sample records what changed since the last sample.
func (r *TimelineRecorder) Sample(at time.Duration, step uint64) {
	if v := r.view.Version(); r.started && v == r.last {
		return
	} else {
		r.last, r.started = v, true
	}
	for _, tp := range r.view.Partitions() {
		meta, _ := r.view.Metadata(tp)
		views := r.view.Replicas(tp)
		i, ok := r.index[tp]
		if !ok {
			pt := PartitionTimeline{TP: tp, Replicas: slices.Clone(meta.Replicas)}
			if len(pt.Replicas) == 0 {
				for _, v := range views {
					pt.Replicas = append(pt.Replicas, v.Broker())
				}
			}
			i = len(r.tl.Partitions)
			r.index[tp] = i
			r.tl.Partitions = append(r.tl.Partitions, pt)
			r.markedTo = append(r.markedTo, 0)
		}
		pt := &r.tl.Partitions[i]
		s := PartitionSample{At: at, Step: step, Metadata: meta, Replicas: make([]ReplicaSample, len(pt.Replicas))}
		for _, v := range views {
			j := slices.Index(pt.Replicas, v.Broker())
			if j < 0 {
				continue
			}
			if v.Online() {
				s.Replicas[j] = ReplicaSample{Online: true, Leader: v.IsLeader(), LeaderEpoch: v.LeaderEpoch(),
					LogEndOffset: v.LogEndOffset(), HighWatermark: v.HighWatermark()}
				s.Replicas[j].LastStableOffset = s.Replicas[j].HighWatermark
				if tv, ok := v.(TxnReplicaView); ok {
					s.Replicas[j].LastStableOffset = tv.LastStableOffset()
					if v.IsLeader() {
						r.sampleMarkers(i, at, step, tv, s.Replicas[j].LogEndOffset)
					}
				}
			}
		}
		if n := len(pt.Samples); n > 0 && sameSample(pt.Samples[n-1], s) {
			continue
		}
		s.Metadata.Replicas = slices.Clone(meta.Replicas)
		s.Metadata.ISR = slices.Clone(meta.ISR)
		s.Metadata.ELR = slices.Clone(meta.ELR)
		s.Metadata.LastKnownELR = slices.Clone(meta.LastKnownELR)
		pt.Samples = append(pt.Samples, s)
	}
}

// sampleMarkers records the markers a leader's log shows beyond those
// already looked for on partition i, and then looks no further than its
// log end offset again. A log that went back (a truncation) is looked at
// again from its end; a marker seen before at the same offset is not
// recorded twice.
func (r *TimelineRecorder) sampleMarkers(i int, at time.Duration, step uint64, tv TxnReplicaView, leo int64) {
	from := r.markedTo[i]
	if leo <= from {
		r.markedTo[i] = leo
		return
	}
	r.markers = tv.Markers(r.markers[:0], from)
	pt := &r.tl.Partitions[i]
	for _, m := range r.markers {
		if m.Offset >= leo || seenMarker(pt.Markers, m) {
			continue
		}
		pt.Markers = append(pt.Markers, TimelineMarker{At: at, Step: step, Marker: m})
	}
	r.markedTo[i] = leo
}

// seenMarker reports whether ms, in the order seen, ends with markers at
// or above m's offset that include m.
func seenMarker(ms []TimelineMarker, m TxnMarker) bool {
	for k := len(ms) - 1; k >= 0 && ms[k].Marker.Offset >= m.Offset; k-- {
		if ms[k].Marker == m {
			return true
		}
	}
	return false
}

func sameSample(a, b PartitionSample) bool {
	ma, mb := a.Metadata, b.Metadata
	return ma.Leader == mb.Leader && ma.LeaderEpoch == mb.LeaderEpoch && ma.PartitionEpoch == mb.PartitionEpoch &&
		ma.Recovering == mb.Recovering && slices.Equal(ma.ISR, mb.ISR) && slices.Equal(ma.ELR, mb.ELR) &&
		slices.Equal(a.Replicas, b.Replicas)
}

// Timeline returns what was recorded.
func (r *TimelineRecorder) Timeline() *Timeline { return &r.tl }
