package broker

import "github.com/kafkasim/kafkasim/broker/protocol"

// readLimit is the offset a fetch reads up to: the log end offset for a
// follower, the high-water mark for a read_uncommitted consumer and the
// last stable offset for a read_committed one (the high-water mark under
// the KAFKA-9807 variant, which let read_committed fetches return data of
// open transactions).
func (b *Broker) readLimit(p *partition, m *protocol.Fetch) int64 {
	switch {
	case m.IsFromFollower():
		return p.log.EndOffset()
	case m.IsolationLevel == protocol.ReadCommitted && !b.cfg.ReadCommittedAboveLSO:
		return p.log.LastStableOffset()
	}
	return p.log.HighWatermark()
}
