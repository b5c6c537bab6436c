package protocol

import (
	"fmt"
	"strings"
	"time"
)

// Coordinator key types of FindCoordinator.
const (
	CoordinatorGroup       int8 = 0
	CoordinatorTransaction int8 = 1
)

// NoGeneration is the generation id of a member outside any generation
// (Kafka's -1): a consumer with manual assignment, or an admin client
// changing a group's offsets.
const NoGeneration int32 = -1

// ---- FindCoordinator ----

// FindCoordinator asks any broker which broker coordinates a group: the
// leader of the group's partition of __consumer_offsets.
type FindCoordinator struct {
	CorrelationID int32
	Key           string // the group id
	KeyType       int8
}

// Kind implements network.Message.
func (*FindCoordinator) Kind() string { return "FindCoordinator" }

// Correlation returns the correlation id.
func (m *FindCoordinator) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *FindCoordinator) Digest() uint64 {
	return fold(foldString(fold(digestSeed, uint64(m.CorrelationID)), m.Key), uint64(m.KeyType))
}

func (m *FindCoordinator) String() string {
	return fmt.Sprintf("FindCoordinator#%d group=%s", m.CorrelationID, m.Key)
}

// FindCoordinatorResponse answers a FindCoordinator.
type FindCoordinatorResponse struct {
	CorrelationID int32
	Error         ErrorCode
	NodeID        int32
}

// Kind implements network.Message.
func (*FindCoordinatorResponse) Kind() string { return "FindCoordinatorResponse" }

// Correlation returns the correlation id.
func (m *FindCoordinatorResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *FindCoordinatorResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.NodeID))
}

func (m *FindCoordinatorResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("FindCoordinatorResponse#%d %s", m.CorrelationID, m.Error)
	}
	return fmt.Sprintf("FindCoordinatorResponse#%d node=%d", m.CorrelationID, m.NodeID)
}

// ---- JoinGroup ----

// GroupProtocol is one protocol a joining member supports (for consumers:
// an assignor name) with its metadata (the consumer's subscription).
type GroupProtocol struct {
	Name     string
	Metadata []byte
}

// JoinGroup joins a member to a group, or rejoins it for a new generation.
type JoinGroup struct {
	CorrelationID    int32
	ClientID         string
	ClientHost       string
	GroupID          string
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration
	// MemberID is empty on the first join; the coordinator answers
	// MEMBER_ID_REQUIRED with an id to join with (KIP-394).
	MemberID        string
	GroupInstanceID string // group.instance.id of a static member (KIP-345)
	ProtocolType    string // "consumer"
	Protocols       []GroupProtocol
	Reason          string
}

// Kind implements network.Message.
func (*JoinGroup) Kind() string { return "JoinGroup" }

// Correlation returns the correlation id.
func (m *JoinGroup) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *JoinGroup) Digest() uint64 {
	h := foldString(foldString(fold(digestSeed, uint64(m.CorrelationID), uint64(m.SessionTimeout), uint64(m.RebalanceTimeout)), m.GroupID), m.MemberID)
	h = foldString(h, m.GroupInstanceID)
	for _, p := range m.Protocols {
		h = foldBytes(foldString(h, p.Name), p.Metadata)
	}
	return h
}

func (m *JoinGroup) String() string {
	names := make([]string, len(m.Protocols))
	for i, p := range m.Protocols {
		names[i] = p.Name
	}
	s := fmt.Sprintf("JoinGroup#%d group=%s member=%q protocols=%s", m.CorrelationID, m.GroupID, m.MemberID, strings.Join(names, ","))
	if m.GroupInstanceID != "" {
		s += " instance=" + m.GroupInstanceID
	}
	return s
}

// JoinGroupMember is one member as the group leader learns it.
type JoinGroupMember struct {
	MemberID        string
	GroupInstanceID string
	Metadata        []byte
}

// JoinGroupResponse answers a JoinGroup once the group's join phase is
// over (or at once with an error). Only the leader gets Members.
type JoinGroupResponse struct {
	CorrelationID int32
	Error         ErrorCode
	GenerationID  int32
	ProtocolType  string
	ProtocolName  string
	Leader        string
	// SkipAssignment tells a static leader that rejoined a stable group
	// not to compute a new assignment (KIP-814).
	SkipAssignment bool
	MemberID       string
	Members        []JoinGroupMember
}

// Kind implements network.Message.
func (*JoinGroupResponse) Kind() string { return "JoinGroupResponse" }

// Correlation returns the correlation id.
func (m *JoinGroupResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *JoinGroupResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.GenerationID))
	h = foldString(foldString(foldString(h, m.ProtocolName), m.Leader), m.MemberID)
	for _, mem := range m.Members {
		h = foldBytes(foldString(h, mem.MemberID), mem.Metadata)
	}
	return h
}

func (m *JoinGroupResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("JoinGroupResponse#%d %s member=%q", m.CorrelationID, m.Error, m.MemberID)
	}
	return fmt.Sprintf("JoinGroupResponse#%d generation=%d protocol=%s leader=%s member=%s members=%d",
		m.CorrelationID, m.GenerationID, m.ProtocolName, m.Leader, m.MemberID, len(m.Members))
}

// ---- SyncGroup ----

// SyncAssignment is the assignment of one member, as the leader sends it.
type SyncAssignment struct {
	MemberID   string
	Assignment []byte
}

// SyncGroup completes a rebalance: the leader sends every member's
// assignment, the others wait for theirs.
type SyncGroup struct {
	CorrelationID   int32
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID string
	ProtocolType    string
	ProtocolName    string
	Assignments     []SyncAssignment
}

// Kind implements network.Message.
func (*SyncGroup) Kind() string { return "SyncGroup" }

// Correlation returns the correlation id.
func (m *SyncGroup) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *SyncGroup) Digest() uint64 {
	h := foldString(foldString(fold(digestSeed, uint64(m.CorrelationID), uint64(m.GenerationID)), m.GroupID), m.MemberID)
	for _, a := range m.Assignments {
		h = foldBytes(foldString(h, a.MemberID), a.Assignment)
	}
	return h
}

func (m *SyncGroup) String() string {
	return fmt.Sprintf("SyncGroup#%d group=%s generation=%d member=%s assignments=%d", m.CorrelationID, m.GroupID, m.GenerationID, m.MemberID, len(m.Assignments))
}

// SyncGroupResponse gives a member its assignment.
type SyncGroupResponse struct {
	CorrelationID int32
	Error         ErrorCode
	ProtocolType  string
	ProtocolName  string
	Assignment    []byte
}

// Kind implements network.Message.
func (*SyncGroupResponse) Kind() string { return "SyncGroupResponse" }

// Correlation returns the correlation id.
func (m *SyncGroupResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *SyncGroupResponse) Digest() uint64 {
	return foldBytes(fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error)), m.Assignment)
}

func (m *SyncGroupResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("SyncGroupResponse#%d %s", m.CorrelationID, m.Error)
	}
	return fmt.Sprintf("SyncGroupResponse#%d %d bytes of assignment", m.CorrelationID, len(m.Assignment))
}

// ---- Heartbeat ----

// Heartbeat keeps a member alive and tells it of rebalances.
type Heartbeat struct {
	CorrelationID   int32
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID string
}

// Kind implements network.Message.
func (*Heartbeat) Kind() string { return "Heartbeat" }

// Correlation returns the correlation id.
func (m *Heartbeat) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *Heartbeat) Digest() uint64 {
	return foldString(foldString(fold(digestSeed, uint64(m.CorrelationID), uint64(m.GenerationID)), m.GroupID), m.MemberID)
}

func (m *Heartbeat) String() string {
	return fmt.Sprintf("Heartbeat#%d group=%s generation=%d member=%s", m.CorrelationID, m.GroupID, m.GenerationID, m.MemberID)
}

// HeartbeatResponse answers a Heartbeat.
type HeartbeatResponse struct {
	CorrelationID int32
	Error         ErrorCode
}

// Kind implements network.Message.
func (*HeartbeatResponse) Kind() string { return "HeartbeatResponse" }

// Correlation returns the correlation id.
func (m *HeartbeatResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *HeartbeatResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
}

func (m *HeartbeatResponse) String() string {
	return fmt.Sprintf("HeartbeatResponse#%d %s", m.CorrelationID, m.Error)
}

// ---- LeaveGroup ----

// MemberIdentity names a member leaving a group.
type MemberIdentity struct {
	MemberID        string
	GroupInstanceID string
	Reason          string
}

// LeaveGroup removes members from a group (KIP-345 batches them).
type LeaveGroup struct {
	CorrelationID int32
	GroupID       string
	Members       []MemberIdentity
}

// Kind implements network.Message.
func (*LeaveGroup) Kind() string { return "LeaveGroup" }

// Correlation returns the correlation id.
func (m *LeaveGroup) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *LeaveGroup) Digest() uint64 {
	h := foldString(fold(digestSeed, uint64(m.CorrelationID)), m.GroupID)
	for _, mem := range m.Members {
		h = foldString(foldString(h, mem.MemberID), mem.GroupInstanceID)
	}
	return h
}

func (m *LeaveGroup) String() string {
	ids := make([]string, len(m.Members))
	for i, mem := range m.Members {
		ids[i] = mem.MemberID
	}
	return fmt.Sprintf("LeaveGroup#%d group=%s members=%s", m.CorrelationID, m.GroupID, strings.Join(ids, ","))
}

// LeaveGroupMemberResponse is one leaving member's outcome.
type LeaveGroupMemberResponse struct {
	MemberID        string
	GroupInstanceID string
	Error           ErrorCode
}

// LeaveGroupResponse answers a LeaveGroup.
type LeaveGroupResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Members       []LeaveGroupMemberResponse
}

// Kind implements network.Message.
func (*LeaveGroupResponse) Kind() string { return "LeaveGroupResponse" }

// Correlation returns the correlation id.
func (m *LeaveGroupResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *LeaveGroupResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, mem := range m.Members {
		h = fold(foldString(h, mem.MemberID), uint64(mem.Error))
	}
	return h
}

func (m *LeaveGroupResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "LeaveGroupResponse#%d %s", m.CorrelationID, m.Error)
	for _, mem := range m.Members {
		fmt.Fprintf(&b, " %s:%s", mem.MemberID, mem.Error)
	}
	return b.String()
}

// ---- OffsetCommit ----

// OffsetCommitPartition is one partition's offset to commit: the offset of
// the next record to read, and the leader epoch of the last record read
// (KIP-320), or NoEpoch.
type OffsetCommitPartition struct {
	TP          TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// OffsetCommit stores a group's offsets. A member of the group gives its
// generation and member id; a client outside the group (manual
// assignment, an admin client) gives NoGeneration and no member id, which
// the coordinator accepts only while the group has no members.
type OffsetCommit struct {
	CorrelationID   int32
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID string
	Partitions      []OffsetCommitPartition
}

// Kind implements network.Message.
func (*OffsetCommit) Kind() string { return "OffsetCommit" }

// Correlation returns the correlation id.
func (m *OffsetCommit) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetCommit) Digest() uint64 {
	h := foldString(foldString(fold(digestSeed, uint64(m.CorrelationID), uint64(m.GenerationID)), m.GroupID), m.MemberID)
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Offset), uint64(p.LeaderEpoch))
	}
	return h
}

func (m *OffsetCommit) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OffsetCommit#%d group=%s generation=%d member=%q", m.CorrelationID, m.GroupID, m.GenerationID, m.MemberID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s=%d@e%d", p.TP, p.Offset, p.LeaderEpoch)
	}
	return b.String()
}

// PartitionError is one partition's error code.
type PartitionError struct {
	TP    TopicPartition
	Error ErrorCode
}

// OffsetCommitResponse answers an OffsetCommit, per partition.
type OffsetCommitResponse struct {
	CorrelationID int32
	Partitions    []PartitionError
}

// Kind implements network.Message.
func (*OffsetCommitResponse) Kind() string { return "OffsetCommitResponse" }

// Correlation returns the correlation id.
func (m *OffsetCommitResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetCommitResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error))
	}
	return h
}

func (m *OffsetCommitResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OffsetCommitResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:%s", p.TP, p.Error)
	}
	return b.String()
}

// ---- OffsetFetch ----

// OffsetFetch reads a group's committed offsets; nil Partitions asks for
// every partition the group has an offset for.
type OffsetFetch struct {
	CorrelationID int32
	GroupID       string
	Partitions    []TopicPartition
}

// Kind implements network.Message.
func (*OffsetFetch) Kind() string { return "OffsetFetch" }

// Correlation returns the correlation id.
func (m *OffsetFetch) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetFetch) Digest() uint64 {
	h := foldString(fold(digestSeed, uint64(m.CorrelationID), uint64(len(m.Partitions))), m.GroupID)
	for _, tp := range m.Partitions {
		h = foldTP(h, tp)
	}
	return h
}

func (m *OffsetFetch) String() string {
	if m.Partitions == nil {
		return fmt.Sprintf("OffsetFetch#%d group=%s all partitions", m.CorrelationID, m.GroupID)
	}
	return fmt.Sprintf("OffsetFetch#%d group=%s %v", m.CorrelationID, m.GroupID, m.Partitions)
}

// OffsetFetchPartition is one partition's committed offset: NoOffset when
// the group has none.
type OffsetFetchPartition struct {
	TP          TopicPartition
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	Error       ErrorCode
}

// OffsetFetchResponse answers an OffsetFetch.
type OffsetFetchResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Partitions    []OffsetFetchPartition
}

// Kind implements network.Message.
func (*OffsetFetchResponse) Kind() string { return "OffsetFetchResponse" }

// Correlation returns the correlation id.
func (m *OffsetFetchResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetFetchResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Offset), uint64(p.LeaderEpoch), uint64(p.Error))
	}
	return h
}

func (m *OffsetFetchResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OffsetFetchResponse#%d", m.CorrelationID)
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error)
	}
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error)
		} else {
			fmt.Fprintf(&b, " %s=%d@e%d", p.TP, p.Offset, p.LeaderEpoch)
		}
	}
	return b.String()
}

func foldBytes(h uint64, p []byte) uint64 {
	h = fold(h, uint64(len(p)))
	for _, c := range p {
		h ^= uint64(c)
		h *= 0x100000001b3
	}
	return h
}
