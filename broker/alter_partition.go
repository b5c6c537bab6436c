package broker

import (
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/isr"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// AlterPartitionTimeout is how long an AlterPartition may go unanswered
// before the broker gives up on it and sends it again, to whichever
// controller is active then: Kafka's controller.socket.timeout.ms (30 s),
// the request timeout of the broker's channel to the controller.
const AlterPartitionTimeout = 30 * time.Second

// maybeShrinkISRs is the periodic ISR expiration check.
func (b *Broker) maybeShrinkISRs() {
	for _, tp := range b.sortedPartitions() {
		b.partitions.at(tp).maybeShrinkISR()
	}
}

// maybeShrinkISR proposes removing the ISR members that are out of sync
// (replica.lag.time.max.ms), unless a change is already in flight.
func (p *partition) maybeShrinkISR() {
	if !p.isLeader {
		return
	}
	out := p.tracker.OutOfSync(p.log.EndOffset(), p.b.n.Now())
	if len(out) == 0 {
		return
	}
	c := p.tracker.ProposeShrink(out, p.b.epoch)
	p.b.s.Mark("broker.isr.shrink")
	if len(c.ISR) == 1 {
		p.b.s.Mark("broker.isr.shrunk-to-one")
	}
	p.proposeISR(c)
}

// maybeExpandISR proposes adding follower id to the ISR, after its fetch,
// if it may join (Kafka's maybeExpandIsr).
func (p *partition) maybeExpandISR(id int32) {
	if p.tracker.Join(id, p.log.HighWatermark()) != isr.MayJoin {
		return
	}
	p.b.s.Mark("broker.isr.expand")
	if f, _ := p.tracker.Follower(id); f.LogEndOffset < p.tracker.EpochStartOffset() {
		// Only with the KAFKA-7128 variant: it lacks records the
		// previous leader may have committed.
		p.b.s.Mark("broker.isr.expand.below-epoch-start")
	}
	p.proposeISR(p.tracker.ProposeExpand(id, p.b.epoch))
}

// proposeISR sends the tracker's pending change c to the controller.
func (p *partition) proposeISR(c *isr.Change) {
	what := "expand"
	if c.Shrink {
		what = "shrink"
	}
	p.emit("broker.isr.propose", sim.Digest(uint64(len(c.ISR)), uint64(p.partitionEpoch)), "%s ISR %v -> %v", what, p.tracker.ISR(), c.ISR)
	p.changed()
	if zb := p.b.zk; zb != nil && zb.cfg.ISRUpdates == ISRViaZooKeeper {
		zb.writeISR(p)
		return
	}
	p.b.alterQ[p.tp] = true
	p.b.sendAlterPartitions()
}

// alterRequest is an AlterPartition in flight: the controller it went to,
// and the pending change of each partition it carries, to recognise
// answers that no longer apply.
type alterRequest struct {
	to    int32
	items map[model.TopicPartition]*isr.Change
	timer sim.Timer
}

// brokerStates is a proposed ISR as AlterPartition carries it: each member
// with its broker epoch as the leader knew it when it proposed the change
// (Kafka's LeaderAndIsr.isrWithBrokerEpoch). The pending change keeps
// them, so that every retry resends the same request, as Kafka's
// AlterPartitionManager does: a replica that registered again since
// (KIP-903) is refused, even if it fetched with its new epoch meanwhile.
func brokerStates(members []isr.Member) []protocol.BrokerState {
	out := make([]protocol.BrokerState, len(members))
	for i, m := range members {
		out[i] = protocol.BrokerState{BrokerID: m.ID, BrokerEpoch: m.BrokerEpoch}
	}
	return out
}

// sendAlterPartitions sends every queued ISR change to the active
// controller in one AlterPartition (Kafka's AlterPartitionManager), unless
// one is already in flight or no controller is known. Each change goes
// with the broker epochs captured when it was proposed.
func (b *Broker) sendAlterPartitions() {
	if len(b.alters) > 0 || len(b.alterQ) == 0 || b.controller == protocol.NoNode {
		return
	}
	if b.s.Buggify("broker.alter-partition.slow") {
		b.n.After(b.s.BuggifyDelay("broker.alter-partition.slow", 500*time.Millisecond, 5*time.Second), "broker.alter-partition.slow", b.sendAlterPartitions)
		return
	}
	corr := b.nextCorrelation()
	req := &protocol.AlterPartition{CorrelationID: corr, BrokerID: b.id, BrokerEpoch: b.epoch}
	ar := &alterRequest{to: b.controller, items: make(map[model.TopicPartition]*isr.Change)}
	for _, tp := range slices.SortedFunc(maps.Keys(b.alterQ), model.TopicPartition.Compare) {
		delete(b.alterQ, tp)
		p, ok := b.partitions.get(tp)
		if !ok || !p.isLeader || p.tracker.Pending() == nil {
			continue
		}
		pending := p.tracker.Pending()
		req.Partitions = append(req.Partitions, protocol.AlterPartitionItem{TP: tp, LeaderEpoch: p.leaderEpoch,
			PartitionEpoch: p.partitionEpoch, LeaderRecoveryState: protocol.Recovered, NewISR: brokerStates(pending.Members)})
		ar.items[tp] = pending
	}
	if len(req.Partitions) == 0 {
		return
	}
	if !b.send(b.controller, req) {
		b.failAlter(ar)
		return
	}
	b.alters[corr] = ar
	ar.timer = b.n.After(AlterPartitionTimeout, "broker.alter-partition.timeout", func() {
		if b.alters[corr] != ar {
			return
		}
		b.s.Mark("broker.alter-partition.timeout")
		b.s.Trace().Emitf(b.n, "broker.alter-partition.timeout", uint64(corr), "AlterPartition to controller %d unanswered after %v: sent again",
			ar.to, AlterPartitionTimeout)
		delete(b.alters, corr)
		b.failAlter(ar)
	})
}

// failAlters requeues the changes of every AlterPartition in flight to
// controller to (the connection to it broke) and resends them after a
// backoff, to the controller active by then. A change of active
// controller alone fails nothing: as Kafka's channel to the controller, the
// broker waits for the answer, the broken connection or the request
// timeout, and the old controller answers NOT_CONTROLLER if it can.
func (b *Broker) failAlters(to int32) {
	for _, corr := range slices.Sorted(maps.Keys(b.alters)) {
		if ar := b.alters[corr]; ar.to == to {
			delete(b.alters, corr)
			b.failAlter(ar)
		}
	}
}

func (b *Broker) failAlter(ar *alterRequest) {
	b.n.Cancel(ar.timer)
	for tp, pend := range ar.items {
		if p, ok := b.partitions.get(tp); ok && p.tracker.Pending() == pend {
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
	b.n.Cancel(ar.timer)
	if m.Error != protocol.None {
		// NOT_CONTROLLER, STALE_BROKER_EPOCH and the like: Kafka's manager
		// retries the whole request.
		b.emitAlter(m)
		b.failAlter(ar)
		return
	}
	for _, res := range m.Partitions {
		p, ok := b.partitions.get(res.TP)
		if !ok || !p.isLeader || ar.items[res.TP] == nil || p.tracker.Pending() != ar.items[res.TP] {
			continue // the partition moved on since the request was sent
		}
		if res.Error != protocol.None {
			// Rejected (INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH,
			// INELIGIBLE_REPLICA, ...): back to the committed ISR.
			b.s.Mark("broker.alter-partition.rejected")
			p.emit("broker.isr.rejected", uint64(res.Error), "AlterPartition %v rejected: %s", p.tracker.Pending().ISR, res.Error)
			p.tracker.Rollback()
			p.changed()
			p.maybeIncrementHighWatermark()
			continue
		}
		if res.LeaderEpoch != p.leaderEpoch || res.PartitionEpoch < p.partitionEpoch {
			continue // stale; the metadata will settle it
		}
		p.tracker.Commit(res.ISR)
		p.partitionEpoch = res.PartitionEpoch
		p.emit("broker.isr.committed", sim.Digest(uint64(res.PartitionEpoch), uint64(len(res.ISR))),
			"ISR %v committed at partition epoch %d", p.tracker.ISR(), res.PartitionEpoch)
		p.changed()
		if b.cfg.NoHighWatermarkOnISRCommit {
			// KAFKA-13091: the answer is not a moment to advance it.
			if _, ok := p.tracker.HighWatermark(p.log.HighWatermark(), p.log.EndOffset(), b.n.Now()); ok {
				b.s.Mark("broker.isr.committed.high-watermark-not-rechecked")
			}
			p.checkDelayed()
			continue
		}
		if !p.maybeIncrementHighWatermark() {
			p.checkDelayed()
		}
	}
	b.sendAlterPartitions()
}

func (b *Broker) emitAlter(m *protocol.AlterPartitionResponse) {
	b.s.Trace().Emitf(b.n, "broker.alter-partition.error", uint64(m.Error), "AlterPartition failed: %s", m.Error)
}
