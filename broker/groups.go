package broker

import (
	"math"

	"github.com/kafkasim/kafkasim/broker/coord"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// OffsetsTopic is Kafka's internal topic of consumer-group state.
const OffsetsTopic = "__consumer_offsets"

// offsetsLog is the group coordinator's access to the __consumer_offsets
// partitions this broker leads: appends go through the same path as an
// acks=all Produce.
type offsetsLog struct{ b *Broker }

// Append implements group.Log.
func (l offsetsLog) Append(p int32, records protocol.Records, done func(protocol.ErrorCode)) {
	tp := model.TopicPartition{Topic: OffsetsTopic, Partition: p}
	req := &protocol.Produce{Acks: protocol.AcksAll, Timeout: l.b.cfg.Group.OffsetCommitTimeout,
		Partitions: []protocol.ProducePartition{{TP: tp, Records: records}}}
	l.b.produce(req, func(resp *protocol.ProduceResponse) { done(resp.Partitions[0].Error) })
}

// PartitionExists implements group.Log.
func (l offsetsLog) PartitionExists(tp model.TopicPartition) bool {
	_, ok := l.b.image.Partition(tp)
	return ok
}

// startCoordinator creates the broker's group coordinator. It owns no
// group until the broker leads a partition of __consumer_offsets.
func (b *Broker) startCoordinator() {
	c, err := group.New(b.n, b.cfg.Group, offsetsLog{b}, b.replyTo)
	if err != nil {
		b.s.Trace().Emitf(b.n, "broker.group-coordinator-error", 0, "%v", err)
		return
	}
	b.coord = c
	b.startTxnCoordinator()
}

// coordinatorMoved tells the coordinator of an internal topic (the group
// coordinator for __consumer_offsets, the transaction coordinator for
// __transaction_state) that its partition p moved: the broker now leads
// it at a new epoch (the coordinator loads its state from the log), or no
// longer leads it.
func (b *Broker) coordinatorMoved(p *partition, wasLeader bool, oldEpoch int32) {
	var c coord.Loader
	var what string
	switch {
	case p.tp.Topic == TransactionStateTopic && b.txnCoord != nil:
		c, what = b.txnCoord, "broker.txn-load-error"
	case p.tp.Topic == OffsetsTopic && b.coord != nil:
		c, what = b.coord, "broker.group-load-error"
	default:
		return
	}
	switch coord.MoveOf(wasLeader, p.isLeader, p.log != nil, oldEpoch, p.leaderEpoch) {
	case coord.Load:
		records, err := p.log.Read(p.log.StartOffset(), math.MaxInt64, math.MaxInt)
		if err == nil {
			err = c.Elected(p.tp.Partition, p.leaderEpoch, records)
		}
		if err != nil {
			b.s.Trace().Emitf(b.n, what, 0, "%s: %v", p.tp, err)
		}
	case coord.Unload:
		c.Resigned(p.tp.Partition)
	}
}

// handleFindCoordinator answers with the leader of the group's partition
// of __consumer_offsets. While the topic does not exist the answer is
// COORDINATOR_NOT_AVAILABLE, and the broker asks the controller to create
// it, as Kafka's brokers create internal topics on first use.
func (b *Broker) handleFindCoordinator(from sim.NodeID, m *protocol.FindCoordinator) {
	if m.KeyType == protocol.CoordinatorTransaction {
		b.findTxnCoordinator(from, m)
		return
	}
	partitions := b.cfg.Group.OffsetsTopicPartitions
	_, exists := b.image.Topic(OffsetsTopic)
	resp := group.FindCoordinator(m, partitions, func(tp model.TopicPartition) (int32, bool) {
		if !exists {
			return protocol.NoNode, false
		}
		reg, ok := b.image.Partition(tp)
		if !ok {
			return protocol.NoNode, false
		}
		return reg.Leader, true
	})
	if !exists && b.controller != protocol.NoNode {
		b.s.Mark("broker.offsets-topic.create")
		b.send(b.controller, &protocol.CreateTopics{CorrelationID: b.nextCorrelation(), Timeout: b.cfg.Group.OffsetCommitTimeout,
			Topics: []protocol.CreatableTopic{{Name: OffsetsTopic, NumPartitions: partitions,
				ReplicationFactor: b.cfg.Group.OffsetsTopicReplicationFactor}}})
	}
	b.replyTo(from, resp)
}
