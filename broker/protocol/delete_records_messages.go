package protocol

import (
	"fmt"
	"strings"
	"time"
)

// ---- DeleteRecords ----

// DeleteRecordsPartition is one partition of a DeleteRecords: the records
// below Offset go (Kafka's DeleteRecordsPartition). Offset -1 means the
// high-water mark: everything committed goes.
type DeleteRecordsPartition struct {
	TP     TopicPartition
	Offset int64
}

// DeleteRecords asks partition leaders to move their log start offsets up
// (Admin.deleteRecords, kafka-delete-records.sh). The leader answers once
// every replica on a live broker has moved its own log start offset that
// far (the low watermark), or with REQUEST_TIMED_OUT after Timeout.
type DeleteRecords struct {
	CorrelationID int32
	Partitions    []DeleteRecordsPartition
	Timeout       time.Duration
}

// Kind implements network.Message.
func (*DeleteRecords) Kind() string { return "DeleteRecords" }

// Correlation returns the correlation id.
func (m *DeleteRecords) Correlation() int32 { return m.CorrelationID }

func (*DeleteRecords) request() {}

// Digest implements network.Digester.
func (m *DeleteRecords) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Timeout))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Offset))
	}
	return h
}

func (m *DeleteRecords) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DeleteRecords#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:before=%d", p.TP, p.Offset)
	}
	return b.String()
}

// DeleteRecordsPartitionResponse is one partition's answer: its low
// watermark (the smallest log start offset among the live replicas), or
// -1 with an error.
type DeleteRecordsPartitionResponse struct {
	TP           TopicPartition
	LowWatermark int64
	Error        ErrorCode
}

// DeleteRecordsResponse answers a DeleteRecords.
type DeleteRecordsResponse struct {
	CorrelationID int32
	Partitions    []DeleteRecordsPartitionResponse
}

// Kind implements network.Message.
func (*DeleteRecordsResponse) Kind() string { return "DeleteRecordsResponse" }

// Correlation returns the correlation id.
func (m *DeleteRecordsResponse) Correlation() int32 { return m.CorrelationID }

func (*DeleteRecordsResponse) response() {}

// Digest implements network.Digester.
func (m *DeleteRecordsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.LowWatermark), uint64(p.Error))
	}
	return h
}

func (m *DeleteRecordsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DeleteRecordsResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error.String())
		} else {
			fmt.Fprintf(&b, " %s:low=%d", p.TP, p.LowWatermark)
		}
	}
	return b.String()
}
