package protocol

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// This file holds the requests that brokers and admin clients send to the
// KRaft controller (BrokerRegistration, BrokerHeartbeat, ElectLeaders,
// IncrementalAlterConfigs) and the admin requests that read the metadata a
// broker has applied (DescribeTopicPartitions, DescribeCluster).

// ---- BrokerRegistration ----

// BrokerRegistration registers a broker process with the active controller
// (KIP-631). IncarnationID is drawn anew by every process start; a broker
// that shut down cleanly sends the broker epoch it had then as
// PreviousBrokerEpoch (KIP-966), -1 otherwise.
type BrokerRegistration struct {
	CorrelationID       int32
	BrokerID            int32
	IncarnationID       [16]byte
	PreviousBrokerEpoch int64
}

// Kind implements network.Message.
func (*BrokerRegistration) Kind() string { return "BrokerRegistration" }

// Correlation returns the correlation id.
func (m *BrokerRegistration) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *BrokerRegistration) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.BrokerID), uuidWord(m.IncarnationID, 0), uuidWord(m.IncarnationID, 8),
		uint64(m.PreviousBrokerEpoch))
}

func (m *BrokerRegistration) String() string {
	return fmt.Sprintf("BrokerRegistration#%d broker=%d incarnation=%s previous-epoch=%d", m.CorrelationID, m.BrokerID,
		base64.RawURLEncoding.EncodeToString(m.IncarnationID[:]), m.PreviousBrokerEpoch)
}

func uuidWord(u [16]byte, at int) uint64 {
	var w uint64
	for i := range 8 {
		w |= uint64(u[at+i]) << (8 * i)
	}
	return w
}

// BrokerRegistrationResponse answers a BrokerRegistration with the broker
// epoch of the registration, once its record is committed.
type BrokerRegistrationResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Message       string
	BrokerEpoch   int64
}

// Kind implements network.Message.
func (*BrokerRegistrationResponse) Kind() string { return "BrokerRegistrationResponse" }

// Correlation returns the correlation id.
func (m *BrokerRegistrationResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *BrokerRegistrationResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.BrokerEpoch))
}

func (m *BrokerRegistrationResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("BrokerRegistrationResponse#%d %s: %s", m.CorrelationID, m.Error.String(), m.Message)
	}
	return fmt.Sprintf("BrokerRegistrationResponse#%d epoch=%d", m.CorrelationID, m.BrokerEpoch)
}

// ---- BrokerHeartbeat ----

// BrokerHeartbeat keeps a broker's session alive and carries its wishes:
// to stay fenced (while it recovers), or to shut down (controlled
// shutdown). CurrentMetadataOffset is the last metadata offset the broker
// applied.
type BrokerHeartbeat struct {
	CorrelationID         int32
	BrokerID              int32
	BrokerEpoch           int64
	CurrentMetadataOffset int64
	WantFence             bool
	WantShutDown          bool
}

// Kind implements network.Message.
func (*BrokerHeartbeat) Kind() string { return "BrokerHeartbeat" }

// Correlation returns the correlation id.
func (m *BrokerHeartbeat) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *BrokerHeartbeat) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.BrokerID), uint64(m.BrokerEpoch), uint64(m.CurrentMetadataOffset),
		boolWord(m.WantFence), boolWord(m.WantShutDown))
}

func (m *BrokerHeartbeat) String() string {
	var flags []string
	if m.WantFence {
		flags = append(flags, "want-fence")
	}
	if m.WantShutDown {
		flags = append(flags, "want-shutdown")
	}
	return fmt.Sprintf("BrokerHeartbeat#%d broker=%d/%d metadata-offset=%d %s", m.CorrelationID, m.BrokerID, m.BrokerEpoch,
		m.CurrentMetadataOffset, strings.Join(flags, " "))
}

func boolWord(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// BrokerHeartbeatResponse answers a BrokerHeartbeat with the broker's state
// as the controller decided it.
type BrokerHeartbeatResponse struct {
	CorrelationID  int32
	Error          ErrorCode
	IsCaughtUp     bool // the broker applied the metadata up to its registration
	IsFenced       bool
	ShouldShutDown bool // controlled shutdown may complete
}

// Kind implements network.Message.
func (*BrokerHeartbeatResponse) Kind() string { return "BrokerHeartbeatResponse" }

// Correlation returns the correlation id.
func (m *BrokerHeartbeatResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *BrokerHeartbeatResponse) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), boolWord(m.IsCaughtUp), boolWord(m.IsFenced),
		boolWord(m.ShouldShutDown))
}

func (m *BrokerHeartbeatResponse) String() string {
	if m.Error != None {
		return fmt.Sprintf("BrokerHeartbeatResponse#%d %s", m.CorrelationID, m.Error.String())
	}
	return fmt.Sprintf("BrokerHeartbeatResponse#%d caught-up=%t fenced=%t shutdown=%t", m.CorrelationID, m.IsCaughtUp,
		m.IsFenced, m.ShouldShutDown)
}

// ---- ElectLeaders ----

// ElectionType is ElectLeaders' election type, with Kafka's values.
type ElectionType int8

// Election types.
const (
	// ElectPreferred moves leadership to the first replica of the
	// assignment, if it is a live ISR member.
	ElectPreferred ElectionType = 0
	// ElectUnclean elects a leader for a partition that has none, from
	// outside the ISR if need be.
	ElectUnclean ElectionType = 1
)

func (t ElectionType) String() string {
	switch t {
	case ElectPreferred:
		return "PREFERRED"
	case ElectUnclean:
		return "UNCLEAN"
	}
	return fmt.Sprintf("ElectionType(%d)", int8(t))
}

// ElectLeaders asks the controller for leader elections (KIP-460), as
// kafka-leader-election.sh does. Partitions nil means every partition.
type ElectLeaders struct {
	CorrelationID int32
	ElectionType  ElectionType
	Partitions    []TopicPartition
}

// Kind implements network.Message.
func (*ElectLeaders) Kind() string { return "ElectLeaders" }

// Correlation returns the correlation id.
func (m *ElectLeaders) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardableRequest.
func (m *ElectLeaders) WithCorrelationID(id int32) ForwardableRequest {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *ElectLeaders) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.ElectionType), boolWord(m.Partitions == nil))
	for _, tp := range m.Partitions {
		h = foldTP(h, tp)
	}
	return h
}

func (m *ElectLeaders) String() string {
	if m.Partitions == nil {
		return fmt.Sprintf("ElectLeaders#%d %s all partitions", m.CorrelationID, m.ElectionType)
	}
	return fmt.Sprintf("ElectLeaders#%d %s %v", m.CorrelationID, m.ElectionType, m.Partitions)
}

// PartitionResult is one partition's outcome, with a message saying what
// was wrong.
type PartitionResult struct {
	TP      TopicPartition
	Error   ErrorCode
	Message string
}

// ElectLeadersResponse answers an ElectLeaders.
type ElectLeadersResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Results       []PartitionResult
}

// Kind implements network.Message.
func (*ElectLeadersResponse) Kind() string { return "ElectLeadersResponse" }

// Correlation returns the correlation id.
func (m *ElectLeadersResponse) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardedResponse.
func (m *ElectLeadersResponse) WithCorrelationID(id int32) ForwardedResponse {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *ElectLeadersResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, r := range m.Results {
		h = fold(foldTP(h, r.TP), uint64(r.Error))
	}
	return h
}

func (m *ElectLeadersResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ElectLeadersResponse#%d", m.CorrelationID)
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error.String())
	}
	for _, r := range m.Results {
		fmt.Fprintf(&b, " %s:%s", r.TP, r.Error.String())
	}
	return b.String()
}

// ---- IncrementalAlterConfigs ----

// Config resource types of IncrementalAlterConfigs, with Kafka's values.
const (
	ResourceTopic  int8 = 2
	ResourceBroker int8 = 4
)

// Config operations of IncrementalAlterConfigs, with Kafka's values.
const (
	ConfigSet    int8 = 0
	ConfigDelete int8 = 1
)

// AlterableConfig is one config change: set Name to Value, or delete it.
type AlterableConfig struct {
	Name  string
	Op    int8
	Value string
}

// AlterConfigsResource is the config changes of one resource: a topic, or
// the cluster-wide broker defaults (ResourceBroker with an empty name).
type AlterConfigsResource struct {
	Type    int8
	Name    string
	Configs []AlterableConfig
}

// IncrementalAlterConfigs changes topic or cluster configs (KIP-339).
type IncrementalAlterConfigs struct {
	CorrelationID int32
	Resources     []AlterConfigsResource
	ValidateOnly  bool
}

// Kind implements network.Message.
func (*IncrementalAlterConfigs) Kind() string { return "IncrementalAlterConfigs" }

// Correlation returns the correlation id.
func (m *IncrementalAlterConfigs) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardableRequest.
func (m *IncrementalAlterConfigs) WithCorrelationID(id int32) ForwardableRequest {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *IncrementalAlterConfigs) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), boolWord(m.ValidateOnly))
	for _, r := range m.Resources {
		h = fold(foldString(h, r.Name), uint64(r.Type))
		for _, c := range r.Configs {
			h = fold(foldString(foldString(h, c.Name), c.Value), uint64(c.Op))
		}
	}
	return h
}

func (m *IncrementalAlterConfigs) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "IncrementalAlterConfigs#%d", m.CorrelationID)
	for _, r := range m.Resources {
		fmt.Fprintf(&b, " %s", resourceName(r.Type, r.Name))
		for _, c := range r.Configs {
			if c.Op == ConfigDelete {
				fmt.Fprintf(&b, " -%s", c.Name)
			} else {
				fmt.Fprintf(&b, " %s=%s", c.Name, c.Value)
			}
		}
	}
	return b.String()
}

func resourceName(t int8, name string) string {
	switch t {
	case ResourceTopic:
		return "topic:" + name
	case ResourceBroker:
		if name == "" {
			return "cluster"
		}
		return "broker:" + name
	}
	return fmt.Sprintf("resource(%d):%s", t, name)
}

// AlterConfigsResult is one resource's outcome.
type AlterConfigsResult struct {
	Type    int8
	Name    string
	Error   ErrorCode
	Message string
}

// IncrementalAlterConfigsResponse answers an IncrementalAlterConfigs.
type IncrementalAlterConfigsResponse struct {
	CorrelationID int32
	Results       []AlterConfigsResult
}

// Kind implements network.Message.
func (*IncrementalAlterConfigsResponse) Kind() string { return "IncrementalAlterConfigsResponse" }

// Correlation returns the correlation id.
func (m *IncrementalAlterConfigsResponse) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardedResponse.
func (m *IncrementalAlterConfigsResponse) WithCorrelationID(id int32) ForwardedResponse {
	c := *m
	c.CorrelationID = id
	return &c
}

// Digest implements network.Digester.
func (m *IncrementalAlterConfigsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, r := range m.Results {
		h = fold(foldString(h, r.Name), uint64(r.Type), uint64(r.Error))
	}
	return h
}

func (m *IncrementalAlterConfigsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "IncrementalAlterConfigsResponse#%d", m.CorrelationID)
	for _, r := range m.Results {
		fmt.Fprintf(&b, " %s:%s", resourceName(r.Type, r.Name), r.Error.String())
	}
	return b.String()
}

// ---- DescribeTopicPartitions ----

// DescribeTopicPartitions asks a broker for the partitions of topics as
// its applied metadata describes them, ELR included (KIP-966). Topics nil
// means every topic.
type DescribeTopicPartitions struct {
	CorrelationID int32
	Topics        []string
}

// Kind implements network.Message.
func (*DescribeTopicPartitions) Kind() string { return "DescribeTopicPartitions" }

// Correlation returns the correlation id.
func (m *DescribeTopicPartitions) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeTopicPartitions) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), boolWord(m.Topics == nil))
	for _, t := range m.Topics {
		h = foldString(h, t)
	}
	return h
}

func (m *DescribeTopicPartitions) String() string {
	if m.Topics == nil {
		return fmt.Sprintf("DescribeTopicPartitions#%d all topics", m.CorrelationID)
	}
	return fmt.Sprintf("DescribeTopicPartitions#%d %v", m.CorrelationID, m.Topics)
}

// DescribedPartition is one partition of a DescribeTopicPartitionsResponse.
// PartitionEpoch is kafkasim's addition: Kafka keeps it to the controller
// and the leader.
type DescribedPartition struct {
	Partition       int32
	Error           ErrorCode
	Leader          int32
	LeaderEpoch     int32
	PartitionEpoch  int32
	Replicas        []int32
	ISR             []int32
	ELR             []int32
	LastKnownELR    []int32
	OfflineReplicas []int32
	Recovering      bool // the leader was elected uncleanly and is recovering (KIP-704)
}

// DescribedTopic is one topic of a DescribeTopicPartitionsResponse.
type DescribedTopic struct {
	Name       string
	Error      ErrorCode
	TopicID    [16]byte
	Partitions []DescribedPartition
}

// DescribeTopicPartitionsResponse answers a DescribeTopicPartitions.
type DescribeTopicPartitionsResponse struct {
	CorrelationID int32
	Topics        []DescribedTopic
}

// Kind implements network.Message.
func (*DescribeTopicPartitionsResponse) Kind() string { return "DescribeTopicPartitionsResponse" }

// Correlation returns the correlation id.
func (m *DescribeTopicPartitionsResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeTopicPartitionsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, t := range m.Topics {
		h = fold(foldString(h, t.Name), uint64(t.Error))
		for _, p := range t.Partitions {
			h = fold(h, uint64(p.Partition), uint64(p.Error), uint64(p.Leader), uint64(p.LeaderEpoch), uint64(p.PartitionEpoch))
			h = foldIDs(foldIDs(foldIDs(h, p.Replicas), p.ISR), p.ELR)
		}
	}
	return h
}

func (m *DescribeTopicPartitionsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DescribeTopicPartitionsResponse#%d", m.CorrelationID)
	for _, t := range m.Topics {
		if t.Error != None {
			fmt.Fprintf(&b, " %s:%s", t.Name, t.Error.String())
			continue
		}
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, " %s-%d:leader=%d@e%d,isr=%v,elr=%v", t.Name, p.Partition, p.Leader, p.LeaderEpoch, p.ISR, p.ELR)
		}
	}
	return b.String()
}

// ---- DescribeCluster ----

// DescribeCluster asks a broker for the brokers and the active controller
// its metadata knows.
type DescribeCluster struct {
	CorrelationID        int32
	IncludeFencedBrokers bool // KIP-1073
}

// Kind implements network.Message.
func (*DescribeCluster) Kind() string { return "DescribeCluster" }

// Correlation returns the correlation id.
func (m *DescribeCluster) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeCluster) Digest() uint64 {
	return fold(digestSeed, uint64(m.CorrelationID), boolWord(m.IncludeFencedBrokers))
}

func (m *DescribeCluster) String() string {
	return fmt.Sprintf("DescribeCluster#%d include-fenced=%t", m.CorrelationID, m.IncludeFencedBrokers)
}

// DescribedBroker is one broker of a DescribeClusterResponse. Epoch and
// InControlledShutdown are kafkasim's additions.
type DescribedBroker struct {
	ID                   int32
	Fenced               bool
	InControlledShutdown bool
	Epoch                int64
}

// DescribeClusterResponse answers a DescribeCluster.
type DescribeClusterResponse struct {
	CorrelationID int32
	Error         ErrorCode
	ControllerID  int32
	Brokers       []DescribedBroker
}

// Kind implements network.Message.
func (*DescribeClusterResponse) Kind() string { return "DescribeClusterResponse" }

// Correlation returns the correlation id.
func (m *DescribeClusterResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *DescribeClusterResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error), uint64(m.ControllerID))
	for _, br := range m.Brokers {
		h = fold(h, uint64(br.ID), boolWord(br.Fenced), boolWord(br.InControlledShutdown), uint64(br.Epoch))
	}
	return h
}

func (m *DescribeClusterResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DescribeClusterResponse#%d controller=%d", m.CorrelationID, m.ControllerID)
	for _, br := range m.Brokers {
		state := "unfenced"
		switch {
		case br.InControlledShutdown:
			state = "controlled-shutdown"
		case br.Fenced:
			state = "fenced"
		}
		fmt.Fprintf(&b, " %d:%s", br.ID, state)
	}
	return b.String()
}
