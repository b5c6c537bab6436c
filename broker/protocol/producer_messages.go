package protocol

import "fmt"

// ---- InitProducerId ----

// InitProducerId asks a broker for a producer id and epoch (KIP-98). An
// idempotent producer without a transactional id may send it to any broker.
// ProducerID and ProducerEpoch carry the producer's current id and epoch
// when it asks again for the same id (KIP-360); NoProducerID and
// NoProducerEpoch on a first request.
type InitProducerId struct {
	CorrelationID        int32
	ClientID             string
	TransactionalID      string // empty: not transactional
	TransactionTimeoutMs int32
	ProducerID           int64
	ProducerEpoch        int16
}

// Kind implements network.Message.
func (*InitProducerId) Kind() string { return "InitProducerId" }

// Correlation returns the correlation id.
func (m *InitProducerId) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *InitProducerId) Digest() uint64 {
	h := foldString(fold(digestSeed, uint64(m.CorrelationID)), m.TransactionalID)
	return fold(h, uint64(m.ProducerID), uint64(m.ProducerEpoch))
}

func (m *InitProducerId) String() string {
	if m.ProducerID == NoProducerID {
		return fmt.Sprintf("InitProducerId#%d client=%s", m.CorrelationID, m.ClientID)
	}
	return fmt.Sprintf("InitProducerId#%d client=%s current=%d/%d", m.CorrelationID, m.ClientID, m.ProducerID, m.ProducerEpoch)
}

// InitProducerIdResponse answers an InitProducerId.
type InitProducerIdResponse struct {
	CorrelationID int32
	Error         ErrorCode
	ProducerID    int64
	ProducerEpoch int16
	// TransactionVersion is the cluster's finalized transaction.version
	// (1 or 2), set in a transaction coordinator's answer; 0 otherwise.
	// Kafka's client learns it from ApiVersions' finalized features;
	// kafkasim hands it to the transactional producer here.
	TransactionVersion int8
}

// Kind implements network.Message.
func (*InitProducerIdResponse) Kind() string { return "InitProducerIdResponse" }

// Correlation returns the correlation id.
func (m *InitProducerIdResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *InitProducerIdResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.ProducerID), uint64(m.ProducerEpoch))
	if m.TransactionVersion != 0 {
		h = fold(h, uint64(m.TransactionVersion))
	}
	return h
}

func (m *InitProducerIdResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("InitProducerIdResponse#%d %s", m.CorrelationID, m.Error)
	}
	if m.TransactionVersion != 0 {
		return fmt.Sprintf("InitProducerIdResponse#%d producer=%d/%d transaction.version=%d", m.CorrelationID, m.ProducerID, m.ProducerEpoch, m.TransactionVersion)
	}
	return fmt.Sprintf("InitProducerIdResponse#%d producer=%d/%d", m.CorrelationID, m.ProducerID, m.ProducerEpoch)
}
