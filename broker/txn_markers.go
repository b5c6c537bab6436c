package broker

import (
	"time"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// appendAsLeader appends one partition of a Produce: client records, or a
// transaction marker from WriteTxnMarkers. With verify the records are a
// transactional producer's under partition verification, appended only
// with a valid guard if they open a transaction.
func (b *Broker) appendAsLeader(p *partition, part protocol.ProducePartition, now time.Duration, verify bool, guard log.VerificationGuard) (log.AppendInfo, error) {
	if m := part.Marker; m != nil {
		typ := protocol.ControlAbort
		if m.Committed {
			typ = protocol.ControlCommit
		}
		b.s.Mark("broker.txn.marker-written")
		return p.log.AppendMarker(log.Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Type: typ,
			CoordinatorEpoch: m.CoordinatorEpoch}, p.leaderEpoch, now)
	}
	if p.tp.Topic == OffsetsTopic {
		// The group coordinator's transactional offset commits are
		// written with the coordinator's origin: no sequence checks.
		return p.log.AppendAsCoordinator(part.Records, p.leaderEpoch, now)
	}
	if verify {
		info, err := p.log.AppendVerified(part.Records, p.leaderEpoch, now, guard)
		if err != nil && log.ErrorCode(err) == protocol.InvalidTxnState {
			b.s.Mark("broker.txn.unverified-append-refused")
		}
		return info, err
	}
	return p.log.AppendAsLeader(part.Records, p.leaderEpoch, now)
}

// handleWriteTxnMarkers writes the coordinator's markers to the partitions
// this broker leads, each as an acks=all append, and answers once every
// one is replicated or failed (Kafka's handleWriteTxnMarkersRequest).
func (b *Broker) handleWriteTxnMarkers(from sim.NodeID, m *protocol.WriteTxnMarkers) {
	b.writeTxnMarkers(m, func(r *protocol.WriteTxnMarkersResponse) { b.replyTo(from, r) })
}

// writeTxnMarkers writes the markers and hands the response to reply.
func (b *Broker) writeTxnMarkers(m *protocol.WriteTxnMarkers, reply func(*protocol.WriteTxnMarkersResponse)) {
	resp := &protocol.WriteTxnMarkersResponse{CorrelationID: m.CorrelationID, Markers: make([]protocol.WriteTxnMarkersResult, len(m.Markers))}
	pending := 0
	for i, mk := range m.Markers {
		resp.Markers[i] = protocol.WriteTxnMarkersResult{ProducerID: mk.ProducerID, Partitions: make([]protocol.PartitionError, len(mk.Partitions))}
		pending += len(mk.Partitions)
	}
	if pending == 0 {
		reply(resp)
		return
	}
	for i, mk := range m.Markers {
		marker := &protocol.TxnMarker{ProducerID: mk.ProducerID, ProducerEpoch: mk.ProducerEpoch, Committed: mk.Committed, CoordinatorEpoch: mk.CoordinatorEpoch}
		for j, tp := range mk.Partitions {
			i, j, tp := i, j, tp
			req := &protocol.Produce{Acks: protocol.AcksAll, Timeout: b.cfg.Txn.MarkerTimeout(),
				Partitions: []protocol.ProducePartition{{TP: tp, Marker: marker}}}
			b.produce(req, func(pr *protocol.ProduceResponse) {
				code := pr.Partitions[0].Error
				resp.Markers[i].Partitions[j] = protocol.PartitionError{TP: tp, Error: code}
				if code == protocol.None {
					b.txnMarkerWritten(tp, marker)
				}
				pending--
				if pending == 0 {
					reply(resp)
				}
			})
		}
	}
}
