package broker

import (
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// handleListOffsets answers offsets by timestamp: the log start offset,
// the high-water mark (the log end offset for replicas), or the first
// offset at or after a timestamp.
func (b *Broker) handleListOffsets(from sim.NodeID, m *protocol.ListOffsets) {
	resp := &protocol.ListOffsetsResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.ListOffsetsPartitionResponse, len(m.Partitions))}
	for i, part := range m.Partitions {
		pr := &resp.Partitions[i]
		*pr = protocol.ListOffsetsPartitionResponse{TP: part.TP, Timestamp: -1, Offset: -1, LeaderEpoch: protocol.NoEpoch}
		p, ok := b.partitions.get(part.TP)
		if !ok || p.log == nil {
			pr.Error = protocol.UnknownTopicOrPartition
			continue
		}
		if code := p.checkEpoch(part.CurrentLeaderEpoch); code != protocol.None {
			pr.Error = code
			continue
		}
		if !p.isLeader {
			pr.Error = protocol.NotLeaderOrFollower
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
		p, ok := b.partitions.get(part.TP)
		if !ok || p.log == nil {
			pr.Error = protocol.UnknownTopicOrPartition
			continue
		}
		if code := p.checkEpoch(part.CurrentLeaderEpoch); code != protocol.None {
			pr.Error = code
			continue
		}
		if !p.isLeader {
			pr.Error = protocol.NotLeaderOrFollower
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
