package broker

import (
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// ApplyMetadata applies metadata records up to metadata log offset offset,
// and then acts on what changed: partitions this broker now leads or
// follows, replicas it no longer hosts, brokers fenced or re-registered.
// Records must arrive in log order, each once.
func (b *Broker) ApplyMetadata(records []metadata.Record, offset int64) error {
	delta, err := b.image.Apply(records, offset)
	if delta != nil {
		b.react(delta)
	}
	if err != nil {
		return fmt.Errorf("broker %d: %w", b.id, err)
	}
	return nil
}

func (b *Broker) react(d *metadata.Delta) {
	if slices.Contains(d.Brokers, b.id) {
		if reg, ok := b.image.Broker(b.id); ok && reg.IncarnationID == b.incarnation && reg.Epoch != b.epoch {
			b.epoch = reg.Epoch
			b.s.Trace().Emitf(b.n, "broker.registered", uint64(b.epoch), "broker epoch %d", b.epoch)
		}
	}
	for _, tp := range d.RemovedPartitions {
		if p, ok := b.partitions.get(tp); ok {
			wasLeader := p.isLeader
			p.becomeNone(protocol.NotLeaderOrFollower)
			b.coordinatorMoved(p, wasLeader, p.leaderEpoch)
			p.deleteLog()
			b.partitions.remove(tp)
			b.changedPartition(tp)
		}
	}
	for _, tp := range d.Partitions {
		reg, _ := b.image.Partition(tp)
		b.applyPartition(tp, reg)
	}
	if len(d.Partitions) > 0 {
		b.startHighWatermarkCheckpoints()
	}
	if len(d.Configs) > 0 || len(d.Partitions) > 0 {
		b.refreshLogConfigs(d)
	}
	if len(d.Brokers) > 0 {
		// Fencing and re-registration change ISR eligibility, the
		// high-water mark's set of caught-up replicas, and the low
		// watermark (a fenced replica's log start offset no longer holds
		// it back): a delayed DeleteRecords is checked again.
		for _, tp := range b.sortedPartitions() {
			if p := b.partitions.at(tp); p.isLeader && !p.maybeIncrementHighWatermark() {
				p.completeDeleteWaits()
			}
		}
	}
}

// applyPartition acts on one partition's state: the replica leaves this
// broker if it is no longer assigned here, and otherwise leads or follows.
func (b *Broker) applyPartition(tp model.TopicPartition, reg *metadata.Partition) {
	p := b.partitions.at(tp)
	if !slices.Contains(reg.Replicas, b.id) {
		if p != nil {
			wasLeader := p.isLeader
			p.becomeNone(protocol.NotLeaderOrFollower)
			b.coordinatorMoved(p, wasLeader, p.leaderEpoch)
			p.deleteLog()
			b.partitions.remove(tp)
			b.changedPartition(tp)
		}
		return
	}
	if p == nil {
		p = newPartition(b, tp)
		b.partitions.set(tp, p)
	}
	if err := p.ensureLog(); err != nil {
		b.unjournaled++
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%s: %v", tp, err)
		return
	}
	wasLeader, oldEpoch := p.isLeader, p.leaderEpoch
	p.applyRegistration(reg)
	b.coordinatorMoved(p, wasLeader, oldEpoch)
}
