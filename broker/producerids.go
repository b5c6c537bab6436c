package broker

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// ProducerIDs is the broker-side piece that answers InitProducerId for
// idempotent producers. Kafka's brokers take blocks of ids from the
// controller (AllocateProducerIds, KIP-730), so that ids are unique in
// the cluster; here a broker derives them from its broker epoch, which
// the controller makes unique per registration: id = epoch·2^20 + n, for
// the n-th id this incarnation handed out.
type ProducerIDs struct {
	next int64
}

// Handle answers an InitProducerId. brokerEpoch is the broker's current
// registration epoch; before it has one, the broker answers
// COORDINATOR_NOT_AVAILABLE and the producer retries. Transactional
// requests get UNSUPPORTED_VERSION: transactions are not simulated.
func (a *ProducerIDs) Handle(m *protocol.InitProducerId, brokerEpoch int64) *protocol.InitProducerIdResponse {
	resp := &protocol.InitProducerIdResponse{CorrelationID: m.CorrelationID, ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
	switch {
	case m.TransactionalID != "":
		resp.Error = protocol.UnsupportedVersion
	case brokerEpoch < 0:
		resp.Error = protocol.CoordinatorNotAvailable
	case a.next >= 1<<20:
		resp.Error = protocol.CoordinatorNotAvailable // this incarnation's ids are used up
	default:
		resp.ProducerID = brokerEpoch<<20 + a.next
		resp.ProducerEpoch = 0
		a.next++
	}
	return resp
}
