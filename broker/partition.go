package broker

import (
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/broker/isr"
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// partition is the broker's replica of one partition: its log, and its
// leader or follower state.
type partition struct {
	b   *Broker
	tp  model.TopicPartition
	log *log.Log

	replicas       []int32
	leader         int32
	leaderEpoch    int32
	partitionEpoch int32
	isLeader       bool
	// version is the broker's change count when this replica last changed
	// in a way a checker can see (ClusterView.PartitionVersion).
	version uint64

	// leader state: the followers, the ISR and its pending change
	tracker *isr.Tracker

	// the delayed operations waiting on this partition (purgatory.go)
	produceWaits purgatory[*delayedProduce]       // acks=all Produce, for the high-water mark
	deleteWaits  purgatory[*delayedDeleteRecords] // DeleteRecords, for the low watermark
	fetchWaits   []*fetchWait

	// follower state: the fetcher holding this partition, or -1
	fetchingFrom int32
}

func newPartition(b *Broker, tp model.TopicPartition) *partition {
	p := &partition{b: b, tp: tp, leader: protocol.NoNode, leaderEpoch: protocol.NoEpoch, partitionEpoch: -1,
		fetchingFrom: protocol.NoNode}
	p.tracker = isr.New(b.id, isr.Config{ReplicaLagTimeMax: b.cfg.ReplicaLagTimeMax, LegacyHighWatermark: b.cfg.LegacyHighWatermark,
		LegacyISRExpansion: b.cfg.LegacyISRExpansion},
		trackerMetadata{p})
	return p
}

// trackerMetadata is the broker's metadata image as the partition's
// replica tracker reads it.
type trackerMetadata struct{ p *partition }

func (m trackerMetadata) Broker(id int32) (isr.Registration, bool) {
	reg, ok := m.p.b.image.Broker(id)
	return isr.Registration{Epoch: reg.Epoch, Fenced: reg.Fenced, ShuttingDown: reg.InControlledShutdown}, ok
}

func (m trackerMetadata) MinInsyncReplicas() int { return m.p.minISR() }

// minISR is the partition's effective min.insync.replicas.
func (p *partition) minISR() int { return p.b.minISR(p.tp.Topic, len(p.replicas)) }

func (p *partition) ensureLog() error {
	if p.log != nil {
		return nil
	}
	cfg := p.b.logConfig()
	cfg.Topic = p.b.topicLogConfig(p.tp.Topic)
	l, _, err := log.Open(p.b.n.Disk(), p.tp, cfg, log.OpenOptions{Clean: true, Now: p.b.n.Now()})
	if err != nil {
		return err
	}
	p.log = l
	p.changed()
	return nil
}

func (p *partition) deleteLog() {
	if p.log == nil {
		return
	}
	d := p.b.n.Disk()
	for _, name := range d.List(log.Dir(p.tp)) {
		_ = d.Remove(name)
	}
	p.log = nil
}

// maximalISR is the ISR the leader counts on: the committed ISR plus any
// member a pending change adds.
func (p *partition) maximalISR() []int32 { return p.tracker.MaximalISR() }

// traced records kind and digest without a detail when no sink reads the
// trace, and reports whether it did: a hot path calls emit only when it did
// not, so that formatting arguments are boxed only for a reader.
func (p *partition) traced(kind string, digest uint64) bool {
	tr := p.b.s.Trace()
	if tr.Sinking() {
		return false
	}
	tr.Emit(p.b.n, kind, digest, nil)
	return true
}

// emit adds a trace record about the partition; the detail is formatted
// only when someone reads the trace.
func (p *partition) emit(kind string, digest uint64, format string, args ...any) {
	tr := p.b.s.Trace()
	if !tr.Sinking() {
		tr.Emit(p.b.n, kind, digest, nil)
		return
	}
	tr.Emitf(p.b.n, kind, digest, "%s: "+format, append([]any{p.tp}, args...)...)
}

// applyRegistration acts on the partition's committed state from the
// metadata log: become (or stay) leader or follower.
func (p *partition) applyRegistration(reg *metadata.Partition) {
	if reg.PartitionEpoch < p.partitionEpoch {
		p.emit("broker.stale-metadata", uint64(reg.PartitionEpoch), "partition epoch %d is older than %d", reg.PartitionEpoch, p.partitionEpoch)
		return
	}
	if reg.Leader == p.b.id {
		if reg.LeaderRecoveryState == protocol.Recovering && reg.LeaderEpoch > p.leaderEpoch {
			// KIP-704: an unclean leader recovers before it serves; with
			// no transaction state to rebuild it is RECOVERED at once, as
			// Kafka's is, and says so in its next AlterPartition.
			p.b.s.Mark("broker.recovering")
			p.emit("broker.recovering", uint64(reg.LeaderEpoch), "elected uncleanly at epoch %d: recovering, then recovered", reg.LeaderEpoch)
		}
		p.makeLeader(reg)
	} else {
		p.makeFollower(reg)
	}
	p.changed()
}

func (p *partition) makeLeader(reg *metadata.Partition) {
	b := p.b
	now := b.n.Now()
	isNewLeader := !p.isLeader
	isNewEpoch := reg.LeaderEpoch > p.leaderEpoch
	p.stopFetching()
	p.replicas = slices.Clone(reg.Replicas)
	p.tracker.Assign(p.replicas, reg.ISR)
	p.isLeader = true
	p.leader = b.id
	if isNewEpoch {
		leo := p.log.EndOffset()
		if err := p.log.AssignEpochStartOffset(reg.LeaderEpoch, leo); err != nil {
			p.emit("broker.storage-error", 0, "%v", err)
		}
		p.tracker.StartLeaderEpoch(leo, now, isNewLeader)
		p.leaderEpoch = reg.LeaderEpoch
		p.emit("broker.become-leader", sim.Digest(uint64(reg.LeaderEpoch), uint64(leo)),
			"leader at epoch %d from offset %d, isr %v, hwm %d", reg.LeaderEpoch, leo, p.tracker.ISR(), p.log.HighWatermark())
	}
	p.partitionEpoch = reg.PartitionEpoch
	if !p.maybeIncrementHighWatermark() {
		p.checkDelayed()
	}
}

func (p *partition) makeFollower(reg *metadata.Partition) {
	b := p.b
	wasLeader := p.isLeader
	isNewEpoch := reg.LeaderEpoch > p.leaderEpoch
	oldLeader := p.leader
	p.isLeader = false
	p.leader = reg.Leader
	p.leaderEpoch = reg.LeaderEpoch
	p.partitionEpoch = reg.PartitionEpoch
	p.replicas = slices.Clone(reg.Replicas)
	p.tracker.Clear()
	if wasLeader {
		p.failWaits()
		// A leader that learns, from metadata, that the controller fenced
		// it and moved its leadership away was a zombie until now: cut off
		// from the controller while it went on acting as leader.
		if self, ok := b.image.Broker(b.id); ok && reg.Leader != b.id && (self.Fenced || self.Epoch != b.epoch) {
			b.s.Mark("broker.zombie-fenced")
			p.emit("broker.zombie-fenced", uint64(reg.LeaderEpoch), "fenced by the controller: leadership moved to %d at epoch %d", reg.Leader, reg.LeaderEpoch)
		}
	}
	if !isNewEpoch && !wasLeader && oldLeader == reg.Leader && p.fetchingFrom == reg.Leader {
		return // an ISR change of a partition this broker already follows
	}
	p.stopFetching()
	p.emit("broker.become-follower", sim.Digest(uint64(reg.LeaderEpoch), uint64(reg.Leader)),
		"follower of %d at epoch %d, log end %d, hwm %d", reg.Leader, reg.LeaderEpoch, p.log.EndOffset(), p.log.HighWatermark())
	if b.cfg.Truncation == TruncateToHighWatermark {
		p.truncate(p.log.HighWatermark(), "high-watermark", "broker.truncate.high-watermark")
	}
	if reg.Leader != protocol.NoNode && reg.Leader != b.id {
		b.fetcherFor(reg.Leader).add(p)
	}
}

// becomeNone stops every role: the partition is leaving this broker.
func (p *partition) becomeNone(code protocol.ErrorCode) {
	p.stopFetching()
	p.isLeader = false
	p.failWaits()
}

func (p *partition) stopFetching() {
	if p.fetchingFrom == protocol.NoNode {
		return
	}
	if f, ok := p.b.fetchers[p.fetchingFrom]; ok {
		f.remove(p.tp)
	}
	p.fetchingFrom = protocol.NoNode
}

// truncate cuts the log at offset, telling the observer and the trace.
func (p *partition) truncate(offset int64, reason, mark string) {
	oldEnd := p.log.EndOffset()
	newEnd, removed, err := p.log.TruncateTo(offset)
	if err != nil {
		p.emit("broker.storage-error", 0, "truncate: %v", err)
		return
	}
	if !removed {
		return
	}
	p.b.s.Mark(mark)
	p.emit("broker.truncate", sim.Digest(uint64(newEnd), uint64(oldEnd)), "truncated [%d, %d) (%s)", newEnd, oldEnd, reason)
	p.b.observeTruncation(p.tp, newEnd, oldEnd, reason)
	p.changed()
}

// checkEpoch is KIP-320's fencing of a request's current leader epoch.
func (p *partition) checkEpoch(epoch int32) protocol.ErrorCode {
	switch {
	case epoch == protocol.NoEpoch:
		return protocol.None
	case epoch < p.leaderEpoch:
		return protocol.FencedLeaderEpoch
	case epoch > p.leaderEpoch:
		return protocol.UnknownLeaderEpoch
	}
	return protocol.None
}

// maybeIncrementHighWatermark advances the leader's high-water mark as its
// replica tracker allows (Kafka's maybeIncrementLeaderHW), then completes
// the produce requests and long polls waiting for it.
func (p *partition) maybeIncrementHighWatermark() bool {
	if !p.isLeader || p.log == nil {
		return false
	}
	hw, ok := p.tracker.HighWatermark(p.log.HighWatermark(), p.log.EndOffset(), p.b.n.Now())
	if !ok {
		return false
	}
	p.log.SetHighWatermark(hw)
	if !p.traced("broker.hwm", uint64(hw)) {
		p.emit("broker.hwm", uint64(hw), "high-water mark %d", hw)
	}
	p.changed()
	p.checkDelayed()
	p.wakeFetchWaits()
	return true
}

// failWaits answers the produce requests waiting on the partition with
// NOT_LEADER_OR_FOLLOWER and wakes its long polls: it no longer leads.
func (p *partition) failWaits() {
	p.failDelayed()
	p.wakeFetchWaits()
}

func (p *partition) String() string {
	role := "follower"
	if p.isLeader {
		role = "leader"
	}
	return fmt.Sprintf("%s %s epoch %d", p.tp, role, p.leaderEpoch)
}

// changed records a change to one partition: its version becomes the
// broker's change count, which only grows while the broker process lives.
func (p *partition) changed() {
	p.b.changedPartition(p.tp)
	p.version = p.b.changes
}
