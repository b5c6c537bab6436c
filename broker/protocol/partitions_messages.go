package protocol

import (
	"fmt"
	"strings"
	"time"
)

// ---- CreatePartitions ----

// CreatePartitionsTopic is one topic whose partition count should grow to
// Count (Kafka's CreatePartitionsTopic). The controller's placer places
// the new partitions' replicas (kafkasim takes no manual assignments).
type CreatePartitionsTopic struct {
	Name  string
	Count int32
}

// CreatePartitions asks the controller (through any broker) to add
// partitions to existing topics (Admin.createPartitions, kafka-topics
// --alter --partitions). Partitions are only ever added: a count that is
// not above the current one gets INVALID_PARTITIONS.
type CreatePartitions struct {
	CorrelationID int32
	Topics        []CreatePartitionsTopic
	Timeout       time.Duration
	ValidateOnly  bool
}

// Kind implements network.Message.
func (*CreatePartitions) Kind() string { return "CreatePartitions" }

// Correlation returns the correlation id.
func (m *CreatePartitions) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardableRequest.
func (m *CreatePartitions) WithCorrelationID(id int32) ForwardableRequest {
	c := *m
	c.CorrelationID = id
	return &c
}

func (*CreatePartitions) request() {}

// Digest implements network.Digester.
func (m *CreatePartitions) Digest() uint64 {
	v := uint64(0)
	if m.ValidateOnly {
		v = 1
	}
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Timeout), v)
	for _, t := range m.Topics {
		h = fold(foldString(h, t.Name), uint64(t.Count))
	}
	return h
}

func (m *CreatePartitions) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "CreatePartitions#%d", m.CorrelationID)
	for _, t := range m.Topics {
		fmt.Fprintf(&b, " %s(count=%d)", t.Name, t.Count)
	}
	return b.String()
}

// CreatePartitionsResponse answers a CreatePartitions, one result per
// topic.
type CreatePartitionsResponse struct {
	CorrelationID int32
	Topics        []TopicError
}

// Kind implements network.Message.
func (*CreatePartitionsResponse) Kind() string { return "CreatePartitionsResponse" }

// Correlation returns the correlation id.
func (m *CreatePartitionsResponse) Correlation() int32 { return m.CorrelationID }

// WithCorrelationID implements ForwardedResponse.
func (m *CreatePartitionsResponse) WithCorrelationID(id int32) ForwardedResponse {
	c := *m
	c.CorrelationID = id
	return &c
}

func (*CreatePartitionsResponse) response() {}

// Digest implements network.Digester.
func (m *CreatePartitionsResponse) Digest() uint64 {
	return digestTopicErrors(m.CorrelationID, m.Topics)
}

func (m *CreatePartitionsResponse) String() string {
	return "CreatePartitionsResponse" + formatTopicErrors(m.CorrelationID, m.Topics)
}
