package protocol

import (
	"fmt"
	"strings"
)

// The transaction requests and responses (KIP-98, KIP-447, KIP-890).
func (*AddPartitionsToTxn) request()          {}
func (*AddOffsetsToTxn) request()             {}
func (*EndTxn) request()                      {}
func (*WriteTxnMarkers) request()             {}
func (*TxnOffsetCommit) request()             {}
func (*AddPartitionsToTxnResponse) response() {}
func (*AddOffsetsToTxnResponse) response()    {}
func (*EndTxnResponse) response()             {}
func (*WriteTxnMarkersResponse) response()    {}
func (*TxnOffsetCommitResponse) response()    {}

// TxnProducer names a transactional producer in a request: its
// transactional id, producer id and epoch.
type TxnProducer struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
}

func (p TxnProducer) fold(h uint64) uint64 {
	return fold(foldString(h, p.TransactionalID), uint64(p.ProducerID), uint64(p.ProducerEpoch))
}

func (p TxnProducer) String() string {
	return fmt.Sprintf("%s producer=%d/%d", p.TransactionalID, p.ProducerID, p.ProducerEpoch)
}

// ---- AddPartitionsToTxn ----

// AddPartitionsToTxn asks the transaction coordinator to add partitions to
// the producer's transaction before it writes to them. With VerifyOnly
// (KIP-890 part 1, sent by a partition leader) the coordinator only says
// whether they are in the transaction already.
type AddPartitionsToTxn struct {
	CorrelationID int32
	TxnProducer
	VerifyOnly bool
	Partitions []TopicPartition
}

// Kind implements network.Message.
func (*AddPartitionsToTxn) Kind() string { return "AddPartitionsToTxn" }

// Correlation returns the correlation id.
func (m *AddPartitionsToTxn) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AddPartitionsToTxn) Digest() uint64 {
	h := m.TxnProducer.fold(fold(digestSeed, uint64(m.CorrelationID)))
	for _, tp := range m.Partitions {
		h = foldTP(h, tp)
	}
	return h
}

func (m *AddPartitionsToTxn) String() string {
	verify := ""
	if m.VerifyOnly {
		verify = " verify-only"
	}
	return fmt.Sprintf("AddPartitionsToTxn#%d %s%s %v", m.CorrelationID, m.TxnProducer, verify, m.Partitions)
}

// AddPartitionsToTxnResponse answers per partition.
type AddPartitionsToTxnResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Partitions    []PartitionError
}

// Kind implements network.Message.
func (*AddPartitionsToTxnResponse) Kind() string { return "AddPartitionsToTxnResponse" }

// Correlation returns the correlation id.
func (m *AddPartitionsToTxnResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AddPartitionsToTxnResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error))
	}
	return h
}

func (m *AddPartitionsToTxnResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AddPartitionsToTxnResponse#%d", m.CorrelationID)
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error)
	}
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:%s", p.TP, p.Error)
	}
	return b.String()
}

// ---- AddOffsetsToTxn ----

// AddOffsetsToTxn adds a consumer group's __consumer_offsets partition to
// the producer's transaction, before TxnOffsetCommit.
type AddOffsetsToTxn struct {
	CorrelationID int32
	TxnProducer
	GroupID string
}

// Kind implements network.Message.
func (*AddOffsetsToTxn) Kind() string { return "AddOffsetsToTxn" }

// Correlation returns the correlation id.
func (m *AddOffsetsToTxn) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AddOffsetsToTxn) Digest() uint64 {
	return foldString(m.TxnProducer.fold(fold(digestSeed, uint64(m.CorrelationID))), m.GroupID)
}

func (m *AddOffsetsToTxn) String() string {
	return fmt.Sprintf("AddOffsetsToTxn#%d %s group=%s", m.CorrelationID, m.TxnProducer, m.GroupID)
}

// AddOffsetsToTxnResponse answers an AddOffsetsToTxn.
type AddOffsetsToTxnResponse struct {
	CorrelationID int32
	Error         ErrorCode
}

// Kind implements network.Message.
func (*AddOffsetsToTxnResponse) Kind() string { return "AddOffsetsToTxnResponse" }

// Correlation returns the correlation id.
func (m *AddOffsetsToTxnResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AddOffsetsToTxnResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
}

func (m *AddOffsetsToTxnResponse) String() string {
	return fmt.Sprintf("AddOffsetsToTxnResponse#%d %s", m.CorrelationID, m.Error)
}

// ---- EndTxn ----

// EndTxn asks the coordinator to commit or abort the producer's
// transaction.
type EndTxn struct {
	CorrelationID int32
	TxnProducer
	Committed bool
}

// Kind implements network.Message.
func (*EndTxn) Kind() string { return "EndTxn" }

// Correlation returns the correlation id.
func (m *EndTxn) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *EndTxn) Digest() uint64 {
	c := uint64(0)
	if m.Committed {
		c = 1
	}
	return fold(m.TxnProducer.fold(fold(digestSeed, uint64(m.CorrelationID))), c)
}

func (m *EndTxn) String() string {
	what := "abort"
	if m.Committed {
		what = "commit"
	}
	return fmt.Sprintf("EndTxn#%d %s %s", m.CorrelationID, m.TxnProducer, what)
}

// EndTxnResponse answers an EndTxn. Under transactions version 2 it
// carries the producer's bumped epoch for its next transaction.
type EndTxnResponse struct {
	CorrelationID int32
	Error         ErrorCode
	ProducerID    int64
	ProducerEpoch int16
}

// Kind implements network.Message.
func (*EndTxnResponse) Kind() string { return "EndTxnResponse" }

// Correlation returns the correlation id.
func (m *EndTxnResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *EndTxnResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.ProducerID), uint64(m.ProducerEpoch))
}

func (m *EndTxnResponse) String() string {
	return fmt.Sprintf("EndTxnResponse#%d %s producer=%d/%d", m.CorrelationID, m.Error, m.ProducerID, m.ProducerEpoch)
}

// ---- WriteTxnMarkers ----

// TxnMarkerEntry is one producer's marker in a WriteTxnMarkers request:
// the partitions of this leader that get it.
type TxnMarkerEntry struct {
	ProducerID       int64
	ProducerEpoch    int16
	Committed        bool
	CoordinatorEpoch int32
	Partitions       []TopicPartition
}

// WriteTxnMarkers is the transaction coordinator's request to a partition
// leader to write commit or abort markers.
type WriteTxnMarkers struct {
	CorrelationID int32
	Markers       []TxnMarkerEntry
}

// Kind implements network.Message.
func (*WriteTxnMarkers) Kind() string { return "WriteTxnMarkers" }

// Correlation returns the correlation id.
func (m *WriteTxnMarkers) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *WriteTxnMarkers) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, mk := range m.Markers {
		c := uint64(0)
		if mk.Committed {
			c = 1
		}
		h = fold(h, uint64(mk.ProducerID), uint64(mk.ProducerEpoch), c, uint64(mk.CoordinatorEpoch))
		for _, tp := range mk.Partitions {
			h = foldTP(h, tp)
		}
	}
	return h
}

func (m *WriteTxnMarkers) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WriteTxnMarkers#%d", m.CorrelationID)
	for _, mk := range m.Markers {
		what := "ABORT"
		if mk.Committed {
			what = "COMMIT"
		}
		fmt.Fprintf(&b, " %s producer=%d/%d coordinator-epoch=%d %v", what, mk.ProducerID, mk.ProducerEpoch, mk.CoordinatorEpoch, mk.Partitions)
	}
	return b.String()
}

// WriteTxnMarkersResult is the answer for one producer's marker.
type WriteTxnMarkersResult struct {
	ProducerID int64
	Partitions []PartitionError
}

// WriteTxnMarkersResponse answers a WriteTxnMarkers.
type WriteTxnMarkersResponse struct {
	CorrelationID int32
	Markers       []WriteTxnMarkersResult
}

// Kind implements network.Message.
func (*WriteTxnMarkersResponse) Kind() string { return "WriteTxnMarkersResponse" }

// Correlation returns the correlation id.
func (m *WriteTxnMarkersResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *WriteTxnMarkersResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, r := range m.Markers {
		h = fold(h, uint64(r.ProducerID))
		for _, p := range r.Partitions {
			h = fold(foldTP(h, p.TP), uint64(p.Error))
		}
	}
	return h
}

func (m *WriteTxnMarkersResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "WriteTxnMarkersResponse#%d", m.CorrelationID)
	for _, r := range m.Markers {
		fmt.Fprintf(&b, " producer=%d", r.ProducerID)
		for _, p := range r.Partitions {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error)
		}
	}
	return b.String()
}

// ---- TxnOffsetCommit ----

// TxnOffsetCommit stores a group's offsets inside the producer's
// transaction: they become visible when the transaction commits (KIP-98;
// with the consumer's generation and member id, KIP-447).
type TxnOffsetCommit struct {
	CorrelationID int32
	TxnProducer
	GroupID      string
	GenerationID int32
	MemberID     string
	Partitions   []OffsetCommitPartition
}

// Kind implements network.Message.
func (*TxnOffsetCommit) Kind() string { return "TxnOffsetCommit" }

// Correlation returns the correlation id.
func (m *TxnOffsetCommit) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *TxnOffsetCommit) Digest() uint64 {
	h := foldString(foldString(m.TxnProducer.fold(fold(digestSeed, uint64(m.CorrelationID), uint64(m.GenerationID))), m.GroupID), m.MemberID)
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Offset), uint64(p.LeaderEpoch))
	}
	return h
}

func (m *TxnOffsetCommit) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TxnOffsetCommit#%d %s group=%s", m.CorrelationID, m.TxnProducer, m.GroupID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s=%d", p.TP, p.Offset)
	}
	return b.String()
}

// TxnOffsetCommitResponse answers per partition.
type TxnOffsetCommitResponse struct {
	CorrelationID int32
	Partitions    []PartitionError
}

// Kind implements network.Message.
func (*TxnOffsetCommitResponse) Kind() string { return "TxnOffsetCommitResponse" }

// Correlation returns the correlation id.
func (m *TxnOffsetCommitResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *TxnOffsetCommitResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error))
	}
	return h
}

func (m *TxnOffsetCommitResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "TxnOffsetCommitResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:%s", p.TP, p.Error)
	}
	return b.String()
}
