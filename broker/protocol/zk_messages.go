package protocol

import (
	"fmt"
	"strings"
)

// This file holds the requests of ZooKeeper mode (Kafka 2.x/3.x before
// KRaft): the controller's LeaderAndIsr, UpdateMetadata and StopReplica to
// every broker, each carrying the controller's epoch (from
// /controller_epoch) and the receiving broker's epoch (KIP-380: the czxid of
// its /brokers/ids znode), and the broker's ControlledShutdown to the
// controller.

// PartitionState is one partition's state as the ZooKeeper-mode controller
// sends it: the content of /brokers/topics/<t>/partitions/<p>/state with its
// zkVersion, and the assignment.
type PartitionState struct {
	TP              TopicPartition
	TopicID         [16]byte
	ControllerEpoch int32 // the epoch of the controller that last wrote the state
	Leader          int32
	LeaderEpoch     int32
	ISR             []int32
	ZkVersion       int32
	Replicas        []int32
	IsNew           bool
}

func (p PartitionState) fold(h uint64) uint64 {
	h = fold(foldTP(h, p.TP), uuidWord(p.TopicID, 0), uint64(p.ControllerEpoch), uint64(p.Leader), uint64(p.LeaderEpoch),
		uint64(p.ZkVersion), boolWord(p.IsNew))
	for _, r := range p.ISR {
		h = fold(h, uint64(r))
	}
	for _, r := range p.Replicas {
		h = fold(h, 1<<40|uint64(r))
	}
	return h
}

func (p PartitionState) String() string {
	return fmt.Sprintf("%s leader=%d leader-epoch=%d isr=%v replicas=%v zk-version=%d controller-epoch=%d", p.TP, p.Leader,
		p.LeaderEpoch, p.ISR, p.Replicas, p.ZkVersion, p.ControllerEpoch)
}

// ControllerHeader is what every controller-to-broker request carries.
type ControllerHeader struct {
	CorrelationID   int32
	ControllerID    int32
	ControllerEpoch int32
	// BrokerEpoch is the receiving broker's epoch as the controller knows
	// it (KIP-380); -1 when unknown.
	BrokerEpoch int64
}

func (h ControllerHeader) fold() uint64 {
	return fold(digestSeed, uint64(h.CorrelationID), uint64(h.ControllerID), uint64(h.ControllerEpoch), uint64(h.BrokerEpoch))
}

// Correlation returns the correlation id.
func (h ControllerHeader) Correlation() int32 { return h.CorrelationID }

// LeaderAndIsr tells brokers which partitions they lead or follow, with the
// partition state the controller wrote to ZooKeeper.
type LeaderAndIsr struct {
	ControllerHeader
	Partitions []PartitionState
}

// Kind implements network.Message.
func (*LeaderAndIsr) Kind() string { return "LeaderAndIsr" }
func (*LeaderAndIsr) request()     {}

// Digest implements network.Digester.
func (m *LeaderAndIsr) Digest() uint64 {
	h := m.fold()
	for _, p := range m.Partitions {
		h = p.fold(h)
	}
	return h
}

func (m *LeaderAndIsr) String() string {
	parts := make([]string, len(m.Partitions))
	for i, p := range m.Partitions {
		parts[i] = p.String()
	}
	return fmt.Sprintf("LeaderAndIsr#%d controller=%d epoch=%d broker-epoch=%d [%s]", m.CorrelationID, m.ControllerID,
		m.ControllerEpoch, m.BrokerEpoch, strings.Join(parts, "; "))
}

// LeaderAndIsrPartitionError is one partition's outcome.
type LeaderAndIsrPartitionError struct {
	TP    TopicPartition
	Error ErrorCode
}

// LeaderAndIsrResponse answers a LeaderAndIsr.
type LeaderAndIsrResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Partitions    []LeaderAndIsrPartitionError
}

// Kind implements network.Message.
func (*LeaderAndIsrResponse) Kind() string { return "LeaderAndIsrResponse" }
func (*LeaderAndIsrResponse) response()    {}

// Correlation returns the correlation id.
func (m *LeaderAndIsrResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *LeaderAndIsrResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error))
	}
	return h
}

// LiveBroker is a live broker as UpdateMetadata lists it, with its epoch.
type LiveBroker struct {
	ID    int32
	Epoch int64
}

// TopicInfo names a topic and its id in UpdateMetadata, with its configs
// (the topic's /config/topics znode).
type TopicInfo struct {
	Name    string
	ID      [16]byte
	Configs map[string]string
}

// UpdateMetadata refreshes every broker's metadata cache: the live brokers,
// the controller, and partition states.
type UpdateMetadata struct {
	ControllerHeader
	LiveBrokers []LiveBroker
	Topics      []TopicInfo
	Partitions  []PartitionState
}

// Kind implements network.Message.
func (*UpdateMetadata) Kind() string { return "UpdateMetadata" }
func (*UpdateMetadata) request()     {}

// Digest implements network.Digester.
func (m *UpdateMetadata) Digest() uint64 {
	h := m.fold()
	for _, b := range m.LiveBrokers {
		h = fold(h, uint64(b.ID), uint64(b.Epoch))
	}
	for _, t := range m.Topics {
		h = fold(h, uuidWord(t.ID, 0), uint64(len(t.Name)), uint64(len(t.Configs)))
	}
	for _, p := range m.Partitions {
		h = p.fold(h)
	}
	return h
}

func (m *UpdateMetadata) String() string {
	return fmt.Sprintf("UpdateMetadata#%d controller=%d epoch=%d live=%v partitions=%d", m.CorrelationID, m.ControllerID,
		m.ControllerEpoch, m.LiveBrokers, len(m.Partitions))
}

// UpdateMetadataResponse answers an UpdateMetadata.
type UpdateMetadataResponse struct {
	CorrelationID int32
	Error         ErrorCode
}

// Kind implements network.Message.
func (*UpdateMetadataResponse) Kind() string { return "UpdateMetadataResponse" }
func (*UpdateMetadataResponse) response()    {}

// Correlation returns the correlation id.
func (m *UpdateMetadataResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *UpdateMetadataResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
}

// StopReplicaPartition is one partition a StopReplica stops.
type StopReplicaPartition struct {
	TP          TopicPartition
	LeaderEpoch int32
	Delete      bool
}

// StopReplica tells a broker to stop replicating partitions (and, with
// Delete, to delete them).
type StopReplica struct {
	ControllerHeader
	Partitions []StopReplicaPartition
}

// Kind implements network.Message.
func (*StopReplica) Kind() string { return "StopReplica" }
func (*StopReplica) request()     {}

// Digest implements network.Digester.
func (m *StopReplica) Digest() uint64 {
	h := m.fold()
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.LeaderEpoch), boolWord(p.Delete))
	}
	return h
}

// StopReplicaResponse answers a StopReplica.
type StopReplicaResponse struct {
	CorrelationID int32
	Error         ErrorCode
}

// Kind implements network.Message.
func (*StopReplicaResponse) Kind() string { return "StopReplicaResponse" }
func (*StopReplicaResponse) response()    {}

// Correlation returns the correlation id.
func (m *StopReplicaResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *StopReplicaResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
}

// ControlledShutdown asks the ZooKeeper-mode controller to move a broker's
// leaderships away before it stops.
type ControlledShutdown struct {
	CorrelationID int32
	BrokerID      int32
	BrokerEpoch   int64
}

// Kind implements network.Message.
func (*ControlledShutdown) Kind() string { return "ControlledShutdown" }
func (*ControlledShutdown) request()     {}

// Correlation returns the correlation id.
func (m *ControlledShutdown) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ControlledShutdown) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.BrokerID), uint64(m.BrokerEpoch))
}

// ControlledShutdownResponse answers a ControlledShutdown with the
// partitions the broker still leads (empty: it may stop).
type ControlledShutdownResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Remaining     []TopicPartition
}

// Kind implements network.Message.
func (*ControlledShutdownResponse) Kind() string { return "ControlledShutdownResponse" }
func (*ControlledShutdownResponse) response()    {}

// Correlation returns the correlation id.
func (m *ControlledShutdownResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ControlledShutdownResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, tp := range m.Remaining {
		h = foldTP(h, tp)
	}
	return h
}
