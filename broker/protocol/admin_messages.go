package protocol

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// ---- CreateTopics ----

// CreatableTopic is one topic to create. NumPartitions and
// ReplicationFactor of -1 take the broker defaults (num.partitions,
// default.replication.factor).
type CreatableTopic struct {
	Name              string
	NumPartitions     int32
	ReplicationFactor int16
	Configs           map[string]string
}

// CreateTopics asks the controller (through any broker) to create topics.
type CreateTopics struct {
	CorrelationID int32
	Topics        []CreatableTopic
	Timeout       time.Duration
	ValidateOnly  bool
}

// Kind implements network.Message.
func (*CreateTopics) Kind() string { return "CreateTopics" }

// Correlation returns the correlation id.
func (m *CreateTopics) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardableRequest.
func (m *CreateTopics) WithCorrelationID(id int32) ForwardableRequest {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *CreateTopics) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Timeout))
	for _, t := range m.Topics {
		h = fold(foldString(h, t.Name), uint64(t.NumPartitions), uint64(t.ReplicationFactor))
		for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
			h = foldString(foldString(h, k), t.Configs[k])
		}
	}
	return h
}

func (m *CreateTopics) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CreateTopics#%d", m.CorrelationID)
	for _, t := range m.Topics {
		fmt.Fprintf(&b, " %s(partitions=%d,rf=%d)", t.Name, t.NumPartitions, t.ReplicationFactor)
	}
	return b.String()
}

// TopicError is one topic's outcome, with a message saying what was wrong.
type TopicError struct {
	Name    string
	Error   ErrorCode
	Message string
}

// CreateTopicsResponse answers a CreateTopics.
type CreateTopicsResponse struct {
	CorrelationID int32
	Topics        []TopicError
}

// Kind implements network.Message.
func (*CreateTopicsResponse) Kind() string { return "CreateTopicsResponse" }

// Correlation returns the correlation id.
func (m *CreateTopicsResponse) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardedResponse.
func (m *CreateTopicsResponse) WithCorrelationID(id int32) ForwardedResponse {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *CreateTopicsResponse) Digest() uint64 { return digestTopicErrors(m.CorrelationID, m.Topics) }

func (m *CreateTopicsResponse) String() string {
	return "CreateTopicsResponse" + formatTopicErrors(m.CorrelationID, m.Topics)
}

// ---- DeleteTopics ----

// DeleteTopics asks the controller (through any broker) to delete topics.
type DeleteTopics struct {
	CorrelationID int32
	Names         []string
	Timeout       time.Duration
}

// Kind implements network.Message.
func (*DeleteTopics) Kind() string { return "DeleteTopics" }

// Correlation returns the correlation id.
func (m *DeleteTopics) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardableRequest.
func (m *DeleteTopics) WithCorrelationID(id int32) ForwardableRequest {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *DeleteTopics) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Timeout))
	for _, n := range m.Names {
		h = foldString(h, n)
	}
	return h
}

func (m *DeleteTopics) String() string {
	return fmt.Sprintf("DeleteTopics#%d %s", m.CorrelationID, strings.Join(m.Names, ","))
}

// DeleteTopicsResponse answers a DeleteTopics.
type DeleteTopicsResponse struct {
	CorrelationID int32
	Topics        []TopicError
}

// Kind implements network.Message.
func (*DeleteTopicsResponse) Kind() string { return "DeleteTopicsResponse" }

// Correlation returns the correlation id.
func (m *DeleteTopicsResponse) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardedResponse.
func (m *DeleteTopicsResponse) WithCorrelationID(id int32) ForwardedResponse {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *DeleteTopicsResponse) Digest() uint64 { return digestTopicErrors(m.CorrelationID, m.Topics) }

func (m *DeleteTopicsResponse) String() string {
	return "DeleteTopicsResponse" + formatTopicErrors(m.CorrelationID, m.Topics)
}

func digestTopicErrors(corr int32, ts []TopicError) uint64 {
	h := fold(digestSeed, uint64(corr))
	for _, t := range ts {
		h = fold(foldString(h, t.Name), uint64(t.Error))
	}
	return h
}

func formatTopicErrors(corr int32, ts []TopicError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d", corr)
	for _, t := range ts {
		fmt.Fprintf(&b, " %s:%s", t.Name, t.Error)
	}
	return b.String()
}

// ---- ListGroups ----

// ListGroups asks one broker for the groups it coordinates.
type ListGroups struct {
	CorrelationID int32
	// StatesFilter keeps only groups in these states (KIP-518); empty
	// keeps all.
	StatesFilter []string
}

// Kind implements network.Message.
func (*ListGroups) Kind() string { return "ListGroups" }

// Correlation returns the correlation id.
func (m *ListGroups) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ListGroups) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, s := range m.StatesFilter {
		h = foldString(h, s)
	}
	return h
}

func (m *ListGroups) String() string { return fmt.Sprintf("ListGroups#%d", m.CorrelationID) }

// ListedGroup is one group of a ListGroupsResponse.
type ListedGroup struct {
	GroupID      string
	ProtocolType string
	GroupState   string
}

// ListGroupsResponse answers a ListGroups.
type ListGroupsResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Groups        []ListedGroup
}

// Kind implements network.Message.
func (*ListGroupsResponse) Kind() string { return "ListGroupsResponse" }

// Correlation returns the correlation id.
func (m *ListGroupsResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ListGroupsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, g := range m.Groups {
		h = foldString(foldString(h, g.GroupID), g.GroupState)
	}
	return h
}

func (m *ListGroupsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListGroupsResponse#%d", m.CorrelationID)
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error)
	}
	for _, g := range m.Groups {
		fmt.Fprintf(&b, " %s(%s)", g.GroupID, g.GroupState)
	}
	return b.String()
}

// ---- DescribeGroups ----

// DescribeGroups asks a group's coordinator for its state and members.
type DescribeGroups struct {
	CorrelationID int32
	Groups        []string
}

// Kind implements network.Message.
func (*DescribeGroups) Kind() string { return "DescribeGroups" }

// Correlation returns the correlation id.
func (m *DescribeGroups) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeGroups) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, g := range m.Groups {
		h = foldString(h, g)
	}
	return h
}

func (m *DescribeGroups) String() string {
	return fmt.Sprintf("DescribeGroups#%d %s", m.CorrelationID, strings.Join(m.Groups, ","))
}

// DescribedMember is one member of a described group.
type DescribedMember struct {
	MemberID        string
	GroupInstanceID string
	ClientID        string
	ClientHost      string
	Metadata        []byte // the member's subscription
	Assignment      []byte // the member's assignment
}

// DescribedGroup is one group of a DescribeGroupsResponse.
type DescribedGroup struct {
	Error        ErrorCode
	GroupID      string
	GroupState   string // Empty, PreparingRebalance, CompletingRebalance, Stable, Dead
	ProtocolType string
	ProtocolData string // the chosen protocol (assignor) name
	Members      []DescribedMember
}

// DescribeGroupsResponse answers a DescribeGroups.
type DescribeGroupsResponse struct {
	CorrelationID int32
	Groups        []DescribedGroup
}

// Kind implements network.Message.
func (*DescribeGroupsResponse) Kind() string { return "DescribeGroupsResponse" }

// Correlation returns the correlation id.
func (m *DescribeGroupsResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeGroupsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, g := range m.Groups {
		h = foldString(foldString(fold(h, uint64(g.Error)), g.GroupID), g.GroupState)
		for _, mem := range g.Members {
			h = foldBytes(foldString(h, mem.MemberID), mem.Assignment)
		}
	}
	return h
}

func (m *DescribeGroupsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DescribeGroupsResponse#%d", m.CorrelationID)
	for _, g := range m.Groups {
		if g.Error != None {
			fmt.Fprintf(&b, " %s:%s", g.GroupID, g.Error)
			continue
		}
		fmt.Fprintf(&b, " %s:%s,%d members", g.GroupID, g.GroupState, len(g.Members))
	}
	return b.String()
}
