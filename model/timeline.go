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
	tl      Timeline
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

func sameSample(a, b PartitionSample) bool {
	ma, mb := a.Metadata, b.Metadata
	return ma.Leader == mb.Leader && ma.LeaderEpoch == mb.LeaderEpoch && ma.PartitionEpoch == mb.PartitionEpoch &&
		ma.Recovering == mb.Recovering && slices.Equal(ma.ISR, mb.ISR) && slices.Equal(ma.ELR, mb.ELR) &&
		slices.Equal(a.Replicas, b.Replicas)
}

// Timeline returns what was recorded.
func (r *TimelineRecorder) Timeline() *Timeline { return &r.tl }
