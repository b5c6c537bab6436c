package broker

import (
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// alterRequest is an AlterPartition in flight: the pending change of each
// partition it carries, to recognise answers that no longer apply.
type alterRequest struct {
	items map[model.TopicPartition]*pendingISR
}

// sendAlterPartitions sends every queued ISR change to the active
// controller in one AlterPartition (Kafka's AlterPartitionManager), unless
// one is already in flight or no controller is known.
func (b *Broker) sendAlterPartitions() {
	if len(b.alters) > 0 || len(b.alterQ) == 0 || b.controller == protocol.NoNode {
		return
	}
	corr := b.nextCorrelation()
	req := &protocol.AlterPartition{CorrelationID: corr, BrokerID: b.id, BrokerEpoch: b.epoch}
	ar := &alterRequest{items: make(map[model.TopicPartition]*pendingISR)}
	for _, tp := range slices.SortedFunc(maps.Keys(b.alterQ), model.TopicPartition.Compare) {
		delete(b.alterQ, tp)
		p, ok := b.partitions[tp]
		if !ok || !p.isLeader || p.pending == nil {
			continue
		}
		item := protocol.AlterPartitionItem{TP: tp, LeaderEpoch: p.leaderEpoch, PartitionEpoch: p.partitionEpoch,
			LeaderRecoveryState: protocol.Recovered}
		for _, id := range p.pending.proposed {
			epoch := protocol.NoBrokerEpoch
			if id == b.id {
				epoch = b.epoch
			} else if r := p.remotes[id]; r != nil && r.hasEpoch {
				epoch = r.brokerEpoch
			}
			item.NewISR = append(item.NewISR, protocol.BrokerState{BrokerID: id, BrokerEpoch: epoch})
		}
		req.Partitions = append(req.Partitions, item)
		ar.items[tp] = p.pending
	}
	if len(req.Partitions) == 0 {
		return
	}
	if !b.send(b.controller, req) {
		b.failAlter(ar)
		return
	}
	b.alters[corr] = ar
}

// failAlters requeues the changes of every AlterPartition in flight (the
// connection to the controller broke) and resends them after a backoff.
func (b *Broker) failAlters() {
	for _, corr := range slices.Sorted(maps.Keys(b.alters)) {
		ar := b.alters[corr]
		delete(b.alters, corr)
		b.failAlter(ar)
	}
}

func (b *Broker) failAlter(ar *alterRequest) {
	for tp, pend := range ar.items {
		if p, ok := b.partitions[tp]; ok && p.pending == pend {
			b.alterQ[tp] = true
		}
	}
	if !b.s.Scheduled(b.alterT) {
		b.alterT = b.n.After(b.cfg.AlterPartitionRetryBackoff, "broker.alter-partition.retry", b.sendAlterPartitions)
	}
}

func (b *Broker) onAlterPartitionResponse(from sim.NodeID, m *protocol.AlterPartitionResponse) {
	ar, ok := b.alters[m.CorrelationID]
	if !ok {
		return
	}
	delete(b.alters, m.CorrelationID)
	if m.Error != protocol.None {
		// NOT_CONTROLLER, STALE_BROKER_EPOCH and the like: Kafka's manager
		// retries the whole request.
		b.emitAlter(m)
		b.failAlter(ar)
		return
	}
	for _, res := range m.Partitions {
		p, ok := b.partitions[res.TP]
		if !ok || !p.isLeader || ar.items[res.TP] == nil || p.pending != ar.items[res.TP] {
			continue // the partition moved on since the request was sent
		}
		if res.Error != protocol.None {
			// Rejected (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH,
			// INELIGIBLE_REPLICA, ...): back to the committed ISR.
			b.s.Mark("broker.alter-partition.rejected")
			p.emit("broker.isr.rejected", uint64(res.Error), "AlterPartition %v rejected: %s", p.pending.proposed, res.Error)
			p.pending = nil
			b.changed()
			p.maybeIncrementHighWatermark()
			continue
		}
		if res.LeaderEpoch != p.leaderEpoch || res.PartitionEpoch < p.partitionEpoch {
			continue // stale; the metadata will settle it
		}
		p.isr = sortedIDs(res.ISR)
		p.partitionEpoch = res.PartitionEpoch
		p.pending = nil
		p.emit("broker.isr.committed", sim.Digest(uint64(res.PartitionEpoch), uint64(len(res.ISR))),
			"ISR %v committed at partition epoch %d", p.isr, res.PartitionEpoch)
		b.changed()
		if !p.maybeIncrementHighWatermark() {
			p.completeProduceWaits()
		}
	}
	b.sendAlterPartitions()
}

func (b *Broker) emitAlter(m *protocol.AlterPartitionResponse) {
	b.s.Trace().Emitf(b.n, "broker.alter-partition.error", uint64(m.Error), "AlterPartition failed: %s", m.Error)
}

// maybeShrinkISRs is the periodic ISR expiration check.
func (b *Broker) maybeShrinkISRs() {
	for _, tp := range b.sortedPartitions() {
		b.partitions[tp].maybeShrinkISR()
	}
}
