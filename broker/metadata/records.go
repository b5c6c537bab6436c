// Package metadata is the KRaft metadata vocabulary that the controller
// writes and every broker applies: the records of Kafka's metadata log
// (KIP-631), named as Kafka names them, their deterministic binary
// encoding, and the Image a broker (or the controller) builds by applying
// them in order, with a Delta saying what each batch changed.
package metadata

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// RecordType is a metadata record's type, numbered as Kafka's metadata
// record api keys.
type RecordType uint8

// The record types kafkasim uses, with Kafka's api keys.
const (
	RegisterBrokerType           RecordType = 0
	UnregisterBrokerType         RecordType = 1
	TopicType                    RecordType = 2
	PartitionType                RecordType = 3
	ConfigType                   RecordType = 4
	PartitionChangeType          RecordType = 5
	FenceBrokerType              RecordType = 7
	UnfenceBrokerType            RecordType = 8
	RemoveTopicType              RecordType = 9
	BrokerRegistrationChangeType RecordType = 17
)

func (t RecordType) String() string {
	switch t {
	case RegisterBrokerType:
		return "RegisterBrokerRecord"
	case UnregisterBrokerType:
		return "UnregisterBrokerRecord"
	case TopicType:
		return "TopicRecord"
	case PartitionType:
		return "PartitionRecord"
	case ConfigType:
		return "ConfigRecord"
	case PartitionChangeType:
		return "PartitionChangeRecord"
	case FenceBrokerType:
		return "FenceBrokerRecord"
	case UnfenceBrokerType:
		return "UnfenceBrokerRecord"
	case RemoveTopicType:
		return "RemoveTopicRecord"
	case BrokerRegistrationChangeType:
		return "BrokerRegistrationChangeRecord"
	}
	return fmt.Sprintf("RecordType(%d)", uint8(t))
}

// A Record is one metadata record.
type Record interface {
	Type() RecordType
	String() string
	encode(e *encoder)
	decode(d *decoder)
}

// A Uuid is Kafka's 128-bit id (topic ids, incarnation ids), printed in
// Kafka's URL-safe base64 form.
type Uuid [16]byte

// ZeroUuid is the all-zero id, Kafka's Uuid.ZERO_UUID.
var ZeroUuid Uuid

// NewUuid draws an id from a seeded random stream.
func NewUuid(r *rand.Rand) Uuid {
	var u Uuid
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	return u
}

func (u Uuid) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// NoLeaderChange is PartitionChangeRecord's Leader when the leader does not
// change (Kafka's NO_LEADER_CHANGE, -2); -1 means no leader.
const NoLeaderChange int32 = -2

// NoLeader is a partition's leader when it has none.
const NoLeader int32 = -1

// RegisterBrokerRecord registers a broker (again): a new incarnation and a
// new, higher broker epoch. A broker registers fenced.
type RegisterBrokerRecord struct {
	BrokerID             int32
	IncarnationID        Uuid
	BrokerEpoch          int64
	Fenced               bool
	InControlledShutdown bool
}

// UnregisterBrokerRecord removes a broker's registration.
type UnregisterBrokerRecord struct {
	BrokerID    int32
	BrokerEpoch int64
}

// FenceBrokerRecord fences a broker (older form of a fencing change).
type FenceBrokerRecord struct {
	ID    int32
	Epoch int64
}

// UnfenceBrokerRecord unfences a broker.
type UnfenceBrokerRecord struct {
	ID    int32
	Epoch int64
}

// FencingChange is BrokerRegistrationChangeRecord's tri-state fenced field.
type FencingChange int8

// Fencing changes, with Kafka's values.
const (
	FencingUnchanged FencingChange = 0
	FencingFence     FencingChange = 1
	FencingUnfence   FencingChange = -1
)

// BrokerRegistrationChangeRecord changes a registered broker's state.
type BrokerRegistrationChangeRecord struct {
	BrokerID    int32
	BrokerEpoch int64
	Fenced      FencingChange
	// InControlledShutdown: 0 no change, 1 the broker is shutting down.
	InControlledShutdown int8
}

// TopicRecord creates a topic.
type TopicRecord struct {
	Name    string
	TopicID Uuid
}

// RemoveTopicRecord deletes a topic and its partitions.
type RemoveTopicRecord struct {
	TopicID Uuid
}

// PartitionRecord creates a partition (or replaces its whole state).
type PartitionRecord struct {
	PartitionID         int32
	TopicID             Uuid
	Replicas            []int32
	ISR                 []int32
	ELR                 []int32 // eligible leader replicas (KIP-966)
	LastKnownELR        []int32
	Leader              int32
	LeaderRecoveryState protocol.LeaderRecoveryState
	LeaderEpoch         int32
	PartitionEpoch      int32
}

// PartitionChangeRecord changes some of a partition's fields; nil slices
// and the sentinels mean "no change". Applying it always bumps the
// partition epoch, and bumps the leader epoch whenever Leader is set (to
// a new leader, to -1, or to the same leader to force a bump), as Kafka's
// PartitionRegistration.merge does.
type PartitionChangeRecord struct {
	PartitionID  int32
	TopicID      Uuid
	ISR          []int32 // nil: no change
	Leader       int32   // NoLeaderChange: no change
	Replicas     []int32 // nil: no change
	ELR          []int32 // nil: no change
	LastKnownELR []int32 // nil: no change
	// LeaderRecoveryState is -1 for no change.
	LeaderRecoveryState protocol.LeaderRecoveryState
}

// NoRecoveryStateChange is PartitionChangeRecord's LeaderRecoveryState
// when it does not change.
const NoRecoveryStateChange protocol.LeaderRecoveryState = -1

// NewPartitionChange returns a PartitionChangeRecord that changes nothing
// yet: set the fields that change.
func NewPartitionChange(topicID Uuid, partition int32) *PartitionChangeRecord {
	return &PartitionChangeRecord{PartitionID: partition, TopicID: topicID, Leader: NoLeaderChange, LeaderRecoveryState: NoRecoveryStateChange}
}

// ConfigResourceType is the kind of resource a ConfigRecord configures,
// with Kafka's values.
type ConfigResourceType int8

// Config resource types.
const (
	TopicResource  ConfigResourceType = 2
	BrokerResource ConfigResourceType = 4
)

// ConfigRecord sets (or, with a nil Value, deletes) one config of a topic
// or a broker; an empty broker name is the cluster default.
type ConfigRecord struct {
	ResourceType ConfigResourceType
	ResourceName string
	Name         string
	Value        *string
}

// Type implements Record.
func (*RegisterBrokerRecord) Type() RecordType { return RegisterBrokerType }

// Type implements Record.
func (*UnregisterBrokerRecord) Type() RecordType { return UnregisterBrokerType }

// Type implements Record.
func (*FenceBrokerRecord) Type() RecordType { return FenceBrokerType }

// Type implements Record.
func (*UnfenceBrokerRecord) Type() RecordType { return UnfenceBrokerType }

// Type implements Record.
func (*BrokerRegistrationChangeRecord) Type() RecordType { return BrokerRegistrationChangeType }

// Type implements Record.
func (*TopicRecord) Type() RecordType { return TopicType }

// Type implements Record.
func (*RemoveTopicRecord) Type() RecordType { return RemoveTopicType }

// Type implements Record.
func (*PartitionRecord) Type() RecordType { return PartitionType }

// Type implements Record.
func (*PartitionChangeRecord) Type() RecordType { return PartitionChangeType }

// Type implements Record.
func (*ConfigRecord) Type() RecordType { return ConfigType }

func (r *RegisterBrokerRecord) String() string {
	return fmt.Sprintf("RegisterBroker(id=%d, incarnation=%s, epoch=%d, fenced=%t, shutting-down=%t)",
		r.BrokerID, r.IncarnationID, r.BrokerEpoch, r.Fenced, r.InControlledShutdown)
}

func (r *UnregisterBrokerRecord) String() string {
	return fmt.Sprintf("UnregisterBroker(id=%d, epoch=%d)", r.BrokerID, r.BrokerEpoch)
}

func (r *FenceBrokerRecord) String() string {
	return fmt.Sprintf("FenceBroker(id=%d, epoch=%d)", r.ID, r.Epoch)
}

func (r *UnfenceBrokerRecord) String() string {
	return fmt.Sprintf("UnfenceBroker(id=%d, epoch=%d)", r.ID, r.Epoch)
}

func (r *BrokerRegistrationChangeRecord) String() string {
	var parts []string
	switch r.Fenced {
	case FencingFence:
		parts = append(parts, "fence")
	case FencingUnfence:
		parts = append(parts, "unfence")
	}
	if r.InControlledShutdown == 1 {
		parts = append(parts, "controlled-shutdown")
	}
	return fmt.Sprintf("BrokerRegistrationChange(id=%d, epoch=%d, %s)", r.BrokerID, r.BrokerEpoch, strings.Join(parts, ", "))
}

func (r *TopicRecord) String() string { return fmt.Sprintf("Topic(%s, id=%s)", r.Name, r.TopicID) }

func (r *RemoveTopicRecord) String() string { return fmt.Sprintf("RemoveTopic(id=%s)", r.TopicID) }

func (r *PartitionRecord) String() string {
	return fmt.Sprintf("Partition(%s-%d, replicas=%v, isr=%v, elr=%v, leader=%d, leader-epoch=%d, partition-epoch=%d, %s)",
		r.TopicID, r.PartitionID, r.Replicas, r.ISR, r.ELR, r.Leader, r.LeaderEpoch, r.PartitionEpoch, r.LeaderRecoveryState)
}

func (r *PartitionChangeRecord) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "PartitionChange(%s-%d", r.TopicID, r.PartitionID)
	if r.Leader != NoLeaderChange {
		fmt.Fprintf(&b, ", leader=%d", r.Leader)
	}
	if r.ISR != nil {
		fmt.Fprintf(&b, ", isr=%v", r.ISR)
	}
	if r.Replicas != nil {
		fmt.Fprintf(&b, ", replicas=%v", r.Replicas)
	}
	if r.ELR != nil {
		fmt.Fprintf(&b, ", elr=%v", r.ELR)
	}
	if r.LastKnownELR != nil {
		fmt.Fprintf(&b, ", last-known-elr=%v", r.LastKnownELR)
	}
	if r.LeaderRecoveryState != NoRecoveryStateChange {
		fmt.Fprintf(&b, ", %s", r.LeaderRecoveryState)
	}
	b.WriteString(")")
	return b.String()
}

func (r *ConfigRecord) String() string {
	kind := "topic"
	if r.ResourceType == BrokerResource {
		kind = "broker"
	}
	if r.Value == nil {
		return fmt.Sprintf("Config(%s %q: delete %s)", kind, r.ResourceName, r.Name)
	}
	return fmt.Sprintf("Config(%s %q: %s=%s)", kind, r.ResourceName, r.Name, *r.Value)
}
