package broker

import (
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// leaderLog is the partition tp if this broker leads it and has its log,
// with the request's current leader epoch fenced (KIP-320): Kafka's
// localLogWithEpochOrException for a request that needs the leader. The
// error code says why not: UNKNOWN_TOPIC_OR_PARTITION,
// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH or NOT_LEADER_OR_FOLLOWER.
func (b *Broker) leaderLog(tp protocol.TopicPartition, currentLeaderEpoch int32) (*partition, protocol.ErrorCode) {
	p, ok := b.partitions.get(tp)
	if !ok || p.log == nil {
		return nil, protocol.UnknownTopicOrPartition
	}
	if code := p.checkEpoch(currentLeaderEpoch); code != protocol.None {
		return nil, code
	}
	if !p.isLeader {
		return nil, protocol.NotLeaderOrFollower
	}
	return p, protocol.None
}

// handleListOffsets answers offsets by timestamp: the log start offset,
// the high-water mark (the log end offset for replicas), or the first
// offset at or after a timestamp.
func (b *Broker) handleListOffsets(from sim.NodeID, m *protocol.ListOffsets) {
	resp := &protocol.ListOffsetsResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.ListOffsetsPartitionResponse, len(m.Partitions))}
	for i, part := range m.Partitions {
		pr := &resp.Partitions[i]
		*pr = protocol.ListOffsetsPartitionResponse{TP: part.TP, Timestamp: -1, Offset: -1, LeaderEpoch: protocol.NoEpoch}
		p, code := b.leaderLog(part.TP, part.CurrentLeaderEpoch)
		if code != protocol.None {
			pr.Error = code
			continue
		}
		pr.LeaderEpoch = p.leaderEpoch
		switch part.Timestamp {
		case protocol.EarliestTimestamp:
			pr.Offset = p.log.StartOffset()
		case protocol.LatestTimestamp:
			if m.ReplicaID >= 0 {
				pr.Offset = p.log.EndOffset()
				break
			}
			if p.log.HighWatermark() < p.tracker.EpochStartOffset() {
				// A new leader that has not yet learned its high-water mark.
				b.s.Mark("broker.list-offsets.offset-not-available")
				pr.Error = protocol.OffsetNotAvailable
				pr.LeaderEpoch = protocol.NoEpoch
				break
			}
			pr.Offset = p.log.HighWatermark()
			if m.IsolationLevel == protocol.ReadCommitted {
				pr.Offset = p.log.LastStableOffset() // a read_committed consumer's end
			}
		default:
			pr.Offset = p.log.OffsetForTimestamp(part.Timestamp, p.log.HighWatermark())
			pr.Timestamp = part.Timestamp
		}
	}
	b.replyTo(from, resp)
}

// handleOffsetsForLeaderEpoch answers where epochs end, from the leader's
// epoch cache (KIP-101; version 0 without the epoch, as before KIP-279).
func (b *Broker) handleOffsetsForLeaderEpoch(from sim.NodeID, m *protocol.OffsetsForLeaderEpoch) {
	resp := &protocol.OffsetsForLeaderEpochResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.EpochEndOffsetResponse, len(m.Partitions))}
	for i, part := range m.Partitions {
		pr := &resp.Partitions[i]
		*pr = protocol.EpochEndOffsetResponse{TP: part.TP, LeaderEpoch: protocol.NoEpoch, EndOffset: protocol.NoOffset}
		p, code := b.leaderLog(part.TP, part.CurrentLeaderEpoch)
		if code != protocol.None {
			pr.Error = code
			continue
		}
		if m.Version == 0 {
			pr.EndOffset = p.log.LegacyEndOffsetForEpoch(part.LeaderEpoch)
		} else {
			pr.LeaderEpoch, pr.EndOffset = p.log.EndOffsetForEpoch(part.LeaderEpoch)
		}
	}
	if b.s.Buggify("broker.offsets-for-leader-epoch.slow") {
		// The answer leaves late and arrives stale: leaders may have
		// changed meanwhile. The follower waits for it before it fetches,
		// so nothing else on its connection overtakes it.
		b.n.After(b.s.BuggifyDelay("broker.offsets-for-leader-epoch.slow", 500*time.Millisecond, 5*time.Second),
			"broker.offsets-for-leader-epoch.slow", func() { b.replyTo(from, resp) })
		return
	}
	b.replyTo(from, resp)
}
