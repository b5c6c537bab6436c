package protocol

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// TopicPartition names one partition of one topic.
type TopicPartition = model.TopicPartition

// Sentinels of Kafka's protocol.
const (
	// NoEpoch is Kafka's UNDEFINED_EPOCH (-1): no leader epoch known or given.
	NoEpoch int32 = -1
	// NoOffset is Kafka's UNDEFINED_EPOCH_OFFSET (-1).
	NoOffset int64 = -1
	// NoNode is a node id that names nobody (no leader, no controller).
	NoNode int32 = -1
	// ConsumerReplicaID is the replica id of a fetch from a client (-1).
	ConsumerReplicaID int32 = -1
	// NoBrokerEpoch is a broker epoch that is not known (-1).
	NoBrokerEpoch int64 = -1

	// LatestTimestamp and EarliestTimestamp are ListOffsets' special
	// timestamps: the high-water mark (or log end offset for replicas) and
	// the log start offset.
	LatestTimestamp   int64 = -1
	EarliestTimestamp int64 = -2
)

// Acks values of a Produce request (Kafka's `acks`).
const (
	AcksNone   int16 = 0
	AcksLeader int16 = 1
	AcksAll    int16 = -1
)

// Isolation levels of Fetch and ListOffsets.
const (
	ReadUncommitted int8 = 0
	ReadCommitted   int8 = 1
)

// LeaderRecoveryState says whether a partition's leader was elected
// uncleanly and is still recovering (KIP-704).
type LeaderRecoveryState int8

// Leader recovery states, with Kafka's values.
const (
	Recovered  LeaderRecoveryState = 0
	Recovering LeaderRecoveryState = 1
)

func (s LeaderRecoveryState) String() string {
	switch s {
	case Recovered:
		return "RECOVERED"
	case Recovering:
		return "RECOVERING"
	}
	return fmt.Sprintf("LeaderRecoveryState(%d)", int8(s))
}

// A Request is any request; its response echoes its correlation id.
type Request interface {
	Kind() string
	Correlation() int32
	request()
}

// A Response is any response: the answer to the request with its
// correlation id. Requests and responses are told apart by type (never by
// name): a broker that does not serve requests yet still takes the answers
// to its own.
type Response interface {
	Kind() string
	Correlation() int32
	response()
}

// A ForwardableRequest is an admin request that any broker takes and
// relays to the active controller (KIP-590's forwarding; Kafka's
// forwardable APIs): CreateTopics, DeleteTopics, CreatePartitions,
// ElectLeaders and IncrementalAlterConfigs. The broker sends a copy under
// a correlation id of its own and answers the client under the client's.
type ForwardableRequest interface {
	Request
	// WithCorrelationID returns a copy of the request under correlation
	// id id.
	WithCorrelationID(id int32) ForwardableRequest
}

// A ForwardedResponse is the controller's answer to a ForwardableRequest,
// which the forwarding broker passes back under the client's correlation
// id.
type ForwardedResponse interface {
	Response
	// WithCorrelationID returns a copy of the response under correlation
	// id id.
	WithCorrelationID(id int32) ForwardedResponse
}

// The requests.
func (*CreateTopics) request()            {}
func (*DeleteTopics) request()            {}
func (*ListGroups) request()              {}
func (*DescribeGroups) request()          {}
func (*BrokerRegistration) request()      {}
func (*BrokerHeartbeat) request()         {}
func (*ElectLeaders) request()            {}
func (*IncrementalAlterConfigs) request() {}
func (*DescribeTopicPartitions) request() {}
func (*DescribeCluster) request()         {}
func (*FindCoordinator) request()         {}
func (*JoinGroup) request()               {}
func (*SyncGroup) request()               {}
func (*Heartbeat) request()               {}
func (*LeaveGroup) request()              {}
func (*OffsetCommit) request()            {}
func (*OffsetFetch) request()             {}
func (*Produce) request()                 {}
func (*Fetch) request()                   {}
func (*ListOffsets) request()             {}
func (*OffsetsForLeaderEpoch) request()   {}
func (*AlterPartition) request()          {}
func (*Metadata) request()                {}
func (*InitProducerId) request()          {}

// The responses.
func (*CreateTopicsResponse) response()            {}
func (*DeleteTopicsResponse) response()            {}
func (*ListGroupsResponse) response()              {}
func (*DescribeGroupsResponse) response()          {}
func (*BrokerRegistrationResponse) response()      {}
func (*BrokerHeartbeatResponse) response()         {}
func (*ElectLeadersResponse) response()            {}
func (*IncrementalAlterConfigsResponse) response() {}
func (*DescribeTopicPartitionsResponse) response() {}
func (*DescribeClusterResponse) response()         {}
func (*FindCoordinatorResponse) response()         {}
func (*JoinGroupResponse) response()               {}
func (*SyncGroupResponse) response()               {}
func (*HeartbeatResponse) response()               {}
func (*LeaveGroupResponse) response()              {}
func (*OffsetCommitResponse) response()            {}
func (*OffsetFetchResponse) response()             {}
func (*ProduceResponse) response()                 {}
func (*FetchResponse) response()                   {}
func (*ListOffsetsResponse) response()             {}
func (*OffsetsForLeaderEpochResponse) response()   {}
func (*AlterPartitionResponse) response()          {}
func (*MetadataResponse) response()                {}
func (*InitProducerIdResponse) response()          {}

// fold mixes words into a digest (FNV-style over whole words).
func fold(h uint64, words ...uint64) uint64 {
	for _, w := range words {
		h ^= w
		h *= 0x100000001b3
		h ^= h >> 29
	}
	return h
}

func foldString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

func foldTP(h uint64, tp TopicPartition) uint64 {
	return fold(foldString(h, tp.Topic), uint64(tp.Partition))
}

func foldIDs(h uint64, ids []int32) uint64 {
	h = fold(h, uint64(len(ids)))
	for _, id := range ids {
		h = fold(h, uint64(id))
	}
	return h
}

const digestSeed = 0xcbf29ce484222325

// LeaderAndEpoch is the leader a broker believes current (KIP-951 hints in
// error responses); NoNode/NoEpoch when unknown.
type LeaderAndEpoch struct {
	LeaderID    int32
	LeaderEpoch int32
}

// ---- Produce ----

// Produce appends records to partition leaders (Kafka's ProduceRequest).
type Produce struct {
	CorrelationID int32
	ClientID      string
	// TransactionalID is the transactional producer's transactional.id
	// (empty for others): a leader verifies its transactional batches with
	// that id's coordinator (KIP-890).
	TransactionalID string
	// Acks is 0 (no response at all), 1 (the leader's append) or -1 (all:
	// every ISR member has the records).
	Acks int16
	// Timeout bounds how long an acks=all request waits for the ISR
	// (Kafka's timeoutMs); REQUEST_TIMED_OUT after it.
	Timeout    time.Duration
	Partitions []ProducePartition
}

// ProducePartition is one partition's records in a Produce request.
type ProducePartition struct {
	TP      TopicPartition
	Records Records
	// Marker, when set, is a transaction marker to write instead of
	// records: a leader's WriteTxnMarkers appends go through the produce
	// path, never over the network.
	Marker *TxnMarker
}

// Kind implements network.Message.
func (*Produce) Kind() string { return "Produce" }

// Correlation returns the correlation id.
func (m *Produce) Correlation() int32 { return m.CorrelationID }

// Reset empties m so that its sender can build its next request in the
// same storage: every field is zero, and the partitions' record buffers
// are kept for AppendPartition to encode into.
//
// Who may reuse a Produce, and when: a Produce belongs to the network and
// to the broker from its send until its sender has the response to it. The
// broker answers only once it has handled every partition of the request,
// and its log keeps a copy of the records, never the request's bytes. So
// the sender may Reset a Produce once the response arrived, and only then;
// a request sent with acks=0, one whose connection broke, one that timed
// out or was retried, and one on a link that duplicates messages is never
// reused (a copy may still be in flight, or held back on the broker), and
// is left to the garbage collector.
func (m *Produce) Reset() {
	parts := m.Partitions[:0]
	*m = Produce{Partitions: parts}
}

// AppendPartition adds a partition with one batch of values (no keys,
// timestamp ts) from producer p, encoded into the record buffer the
// partition at the same position had before Reset, if any: a producer
// that reuses its requests (Reset) allocates nothing once its buffers have
// grown to its batches.
func (m *Produce) AppendPartition(tp TopicPartition, p Producer, ts int64, values [][]byte) {
	var buf Records
	if n := len(m.Partitions); n < cap(m.Partitions) {
		buf = m.Partitions[:n+1][n].Records[:0]
	}
	var scratch [8]Record
	recs := scratch[:0]
	if len(values) > len(scratch) {
		recs = make([]Record, 0, len(values))
	}
	for _, v := range values {
		recs = append(recs, Record{Timestamp: ts, Value: v})
	}
	m.Partitions = append(m.Partitions, ProducePartition{TP: tp, Records: AppendBatch(buf, 0, NoPartitionLeaderEpoch, p, recs)})
}

// Size is the message's size on the wire, roughly.
func (m *Produce) Size() int {
	n := 64
	for _, p := range m.Partitions {
		n += 16 + len(p.Records)
	}
	return n
}

// Digest implements network.Digester.
func (m *Produce) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Acks), uint64(m.Timeout))
	if m.TransactionalID != "" {
		h = foldString(h, m.TransactionalID)
	}
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), p.Records.Digest())
	}
	return h
}

func (m *Produce) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Produce#%d acks=%d timeout=%v", m.CorrelationID, m.Acks, m.Timeout)
	if m.TransactionalID != "" {
		fmt.Fprintf(&b, " transactional.id=%s", m.TransactionalID)
	}
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:%d records", p.TP, p.Records.Count())
	}
	return b.String()
}

// ProduceResponse answers a Produce with acks 1 or all.
type ProduceResponse struct {
	CorrelationID int32
	Partitions    []ProducePartitionResponse
}

// ProducePartitionResponse is one partition's outcome.
type ProducePartitionResponse struct {
	TP             TopicPartition
	Error          ErrorCode
	BaseOffset     int64 // offset of the first record appended; -1 on error
	LogStartOffset int64
	CurrentLeader  LeaderAndEpoch // on NOT_LEADER_OR_FOLLOWER: the leader this broker knows
}

// Kind implements network.Message.
func (*ProduceResponse) Kind() string { return "ProduceResponse" }

// Correlation returns the correlation id.
func (m *ProduceResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ProduceResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error), uint64(p.BaseOffset))
	}
	return h
}

func (m *ProduceResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ProduceResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error.String())
		} else {
			fmt.Fprintf(&b, " %s:@%d", p.TP, p.BaseOffset)
		}
	}
	return b.String()
}

// ---- Fetch ----

// Fetch reads records from partition leaders: a follower's replica fetcher
// (ReplicaID = its broker id) covering every partition it follows on one
// leader, or a consumer (ReplicaID = -1).
type Fetch struct {
	CorrelationID int32
	ReplicaID     int32
	// ReplicaEpoch is the fetching broker's epoch (KIP-903); -1 from clients.
	ReplicaEpoch int64
	// MaxWait is how long the leader may hold the request when no data
	// is ready (replica.fetch.wait.max.ms, fetch.max.wait.ms).
	MaxWait        time.Duration
	MinBytes       int32
	MaxBytes       int32
	IsolationLevel int8
	Partitions     []FetchPartition
	// Session is the request's KIP-227 fetch session (Fetch v7+), nil in
	// a request without one (before Kafka 1.1, or a fetcher that does not
	// use sessions): such a request is served in full and creates no
	// session.
	Session *FetchSession
}

// FetchSession is a Fetch's KIP-227 session fields.
type FetchSession struct {
	// ID is the session's id, 0 (INVALID_SESSION_ID) when the request
	// has no session yet.
	ID int32
	// Epoch is InitialSessionEpoch (a full request: close session ID, if
	// any, and open a new one), FinalSessionEpoch (a full request without
	// a session: close ID, if any), or the session's next epoch (an
	// incremental request: Partitions lists only the partitions added or
	// changed since the previous request of the session).
	Epoch int32
	// Forgotten lists the partitions an incremental request drops from
	// the session (ForgottenTopicsData).
	Forgotten []TopicPartition
}

// The fetch session epochs of KIP-227 with a meaning of their own.
const (
	// InitialSessionEpoch asks for a full fetch that opens a new session.
	InitialSessionEpoch int32 = 0
	// FinalSessionEpoch asks for a full fetch without a session.
	FinalSessionEpoch int32 = -1
)

// NextSessionEpoch returns the epoch after e: epochs count up from 1 and
// wrap back to 1.
func NextSessionEpoch(e int32) int32 {
	if e < 0 || e == math.MaxInt32 {
		return 1
	}
	return e + 1
}

// FetchPartition is one partition of a Fetch.
type FetchPartition struct {
	TP TopicPartition
	// CurrentLeaderEpoch is the epoch the fetcher believes current
	// (KIP-320); NoEpoch skips the check.
	CurrentLeaderEpoch int32
	FetchOffset        int64
	// LastFetchedEpoch is the epoch of the last batch the fetcher holds
	// (KIP-595-style truncation on fetch); NoEpoch when unknown.
	LastFetchedEpoch int32
	LogStartOffset   int64
	MaxBytes         int32
}

// Kind implements network.Message.
func (*Fetch) Kind() string { return "Fetch" }

// Correlation returns the correlation id.
func (m *Fetch) Correlation() int32 { return m.CorrelationID }

// IsFromFollower reports whether a replica fetcher sent the request.
func (m *Fetch) IsFromFollower() bool { return m.ReplicaID >= 0 }

// Digest implements network.Digester.
func (m *Fetch) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.ReplicaID), uint64(m.ReplicaEpoch), uint64(m.MaxWait))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.CurrentLeaderEpoch), uint64(p.FetchOffset), uint64(p.LastFetchedEpoch))
	}
	if s := m.Session; s != nil {
		h = fold(h, uint64(s.ID), uint64(s.Epoch), uint64(len(s.Forgotten)))
		for _, tp := range s.Forgotten {
			h = foldTP(h, tp)
		}
	}
	return h
}

func (m *Fetch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Fetch#%d replica=%d", m.CorrelationID, m.ReplicaID)
	if s := m.Session; s != nil {
		fmt.Fprintf(&b, " session=%d/%d", s.ID, s.Epoch)
	}
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:offset=%d,epoch=%d,last-fetched-epoch=%d", p.TP, p.FetchOffset, p.CurrentLeaderEpoch, p.LastFetchedEpoch)
	}
	if s := m.Session; s != nil {
		for _, tp := range s.Forgotten {
			fmt.Fprintf(&b, " forget:%s", tp)
		}
	}
	return b.String()
}

// EpochEndOffset is a leader epoch and the offset where it ends: the answer
// of OffsetsForLeaderEpoch and a Fetch response's DivergingEpoch.
type EpochEndOffset struct {
	Epoch     int32
	EndOffset int64
}

// NoDivergence is the DivergingEpoch of a fetch response without one.
var NoDivergence = EpochEndOffset{Epoch: NoEpoch, EndOffset: NoOffset}

// Diverged reports whether the value names a diverging epoch.
func (e EpochEndOffset) Diverged() bool { return e.Epoch != NoEpoch || e.EndOffset != NoOffset }

func (e EpochEndOffset) String() string {
	return fmt.Sprintf("epoch %d ends at %d", e.Epoch, e.EndOffset)
}

// FetchResponse answers a Fetch.
type FetchResponse struct {
	CorrelationID int32
	// Error is the response's top-level error: FETCH_SESSION_ID_NOT_FOUND
	// or INVALID_FETCH_SESSION_EPOCH for a request of a fetch session the
	// broker does not hold or expects another epoch of.
	Error ErrorCode
	// SessionID is the request's fetch session (KIP-227), 0 when it has
	// none. The response to an incremental request lists only the
	// partitions with new data, an error, or a changed high-water mark,
	// last stable offset, log start offset or leader.
	SessionID  int32
	Partitions []FetchPartitionResponse
}

// FetchPartitionResponse is one partition's answer.
type FetchPartitionResponse struct {
	TP               TopicPartition
	Error            ErrorCode
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// DivergingEpoch, when set, tells the follower that its log diverged
	// from the leader's after the given epoch's end offset: it truncates
	// and fetches again.
	DivergingEpoch EpochEndOffset
	CurrentLeader  LeaderAndEpoch
	Records        Records
	// AbortedTransactions lists, for a read_committed fetch, the aborted
	// transactions whose data the records may hold.
	AbortedTransactions []AbortedTransaction
}

// Kind implements network.Message.
func (*FetchResponse) Kind() string { return "FetchResponse" }

// Correlation returns the correlation id.
func (m *FetchResponse) Correlation() int32 { return m.CorrelationID }

// Size is the message's size on the wire, roughly.
func (m *FetchResponse) Size() int {
	n := 64
	for _, p := range m.Partitions {
		n += 48 + len(p.Records)
	}
	return n
}

// Digest implements network.Digester.
func (m *FetchResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	if m.SessionID != 0 {
		h = fold(h, uint64(m.SessionID))
	}
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error), uint64(p.HighWatermark), uint64(p.DivergingEpoch.Epoch),
			uint64(p.DivergingEpoch.EndOffset), p.Records.Digest())
		if len(p.AbortedTransactions) > 0 || p.LastStableOffset != p.HighWatermark {
			h = foldTxn(h, p)
		}
	}
	return h
}

func (m *FetchResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FetchResponse#%d", m.CorrelationID)
	if m.SessionID != 0 {
		fmt.Fprintf(&b, " session=%d", m.SessionID)
	}
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error.String())
	}
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:", p.TP)
		switch {
		case p.Error != None:
			fmt.Fprintf(&b, "%s", p.Error.String())
		case p.DivergingEpoch.Diverged():
			fmt.Fprintf(&b, "diverging(%s)", p.DivergingEpoch)
		default:
			fmt.Fprintf(&b, "hwm=%d %s", p.HighWatermark, p.Records)
		}
	}
	return b.String()
}

// ---- ListOffsets ----

// ListOffsets asks leaders for offsets by timestamp (LatestTimestamp,
// EarliestTimestamp).
type ListOffsets struct {
	CorrelationID  int32
	ReplicaID      int32
	IsolationLevel int8
	Partitions     []ListOffsetsPartition
}

// ListOffsetsPartition is one partition of a ListOffsets.
type ListOffsetsPartition struct {
	TP                 TopicPartition
	CurrentLeaderEpoch int32
	Timestamp          int64
}

// Kind implements network.Message.
func (*ListOffsets) Kind() string { return "ListOffsets" }

// Correlation returns the correlation id.
func (m *ListOffsets) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ListOffsets) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.ReplicaID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.CurrentLeaderEpoch), uint64(p.Timestamp))
	}
	return h
}

func (m *ListOffsets) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListOffsets#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:ts=%d,epoch=%d", p.TP, p.Timestamp, p.CurrentLeaderEpoch)
	}
	return b.String()
}

// ListOffsetsResponse answers a ListOffsets.
type ListOffsetsResponse struct {
	CorrelationID int32
	Partitions    []ListOffsetsPartitionResponse
}

// ListOffsetsPartitionResponse is one partition's answer.
type ListOffsetsPartitionResponse struct {
	TP          TopicPartition
	Error       ErrorCode
	Timestamp   int64
	Offset      int64
	LeaderEpoch int32
}

// Kind implements network.Message.
func (*ListOffsetsResponse) Kind() string { return "ListOffsetsResponse" }

// Correlation returns the correlation id.
func (m *ListOffsetsResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *ListOffsetsResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error), uint64(p.Offset), uint64(p.LeaderEpoch))
	}
	return h
}

func (m *ListOffsetsResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ListOffsetsResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error.String())
		} else {
			fmt.Fprintf(&b, " %s:%d@e%d", p.TP, p.Offset, p.LeaderEpoch)
		}
	}
	return b.String()
}

// ---- OffsetsForLeaderEpoch ----

// OffsetsForLeaderEpoch asks a leader where given epochs end (KIP-101).
// Version 0 is Kafka 0.11–1.x's form, whose answer carries no epoch
// (before KIP-279); version 2 and later carry the current leader epoch
// for fencing (KIP-320).
type OffsetsForLeaderEpoch struct {
	CorrelationID int32
	Version       int16
	ReplicaID     int32
	Partitions    []OffsetForLeaderPartition
}

// OffsetForLeaderPartition asks for the end offset of LeaderEpoch.
type OffsetForLeaderPartition struct {
	TP                 TopicPartition
	CurrentLeaderEpoch int32
	LeaderEpoch        int32
}

// Kind implements network.Message.
func (*OffsetsForLeaderEpoch) Kind() string { return "OffsetsForLeaderEpoch" }

// Correlation returns the correlation id.
func (m *OffsetsForLeaderEpoch) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetsForLeaderEpoch) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Version), uint64(m.ReplicaID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.CurrentLeaderEpoch), uint64(p.LeaderEpoch))
	}
	return h
}

func (m *OffsetsForLeaderEpoch) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OffsetsForLeaderEpoch#%d v%d", m.CorrelationID, m.Version)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:epoch=%d", p.TP, p.LeaderEpoch)
	}
	return b.String()
}

// OffsetsForLeaderEpochResponse answers an OffsetsForLeaderEpoch.
type OffsetsForLeaderEpochResponse struct {
	CorrelationID int32
	Partitions    []EpochEndOffsetResponse
}

// EpochEndOffsetResponse is one partition's answer: the largest epoch the
// leader knows at or below the requested one and where it ends (NoEpoch
// in version 0 answers).
type EpochEndOffsetResponse struct {
	TP          TopicPartition
	Error       ErrorCode
	LeaderEpoch int32
	EndOffset   int64
}

// Kind implements network.Message.
func (*OffsetsForLeaderEpochResponse) Kind() string { return "OffsetsForLeaderEpochResponse" }

// Correlation returns the correlation id.
func (m *OffsetsForLeaderEpochResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *OffsetsForLeaderEpochResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error), uint64(p.LeaderEpoch), uint64(p.EndOffset))
	}
	return h
}

func (m *OffsetsForLeaderEpochResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "OffsetsForLeaderEpochResponse#%d", m.CorrelationID)
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error.String())
		} else {
			fmt.Fprintf(&b, " %s:epoch %d ends at %d", p.TP, p.LeaderEpoch, p.EndOffset)
		}
	}
	return b.String()
}

// ---- AlterPartition ----

// BrokerState is an ISR member with the broker epoch the leader saw it
// fetch with (KIP-903); -1 when unknown.
type BrokerState struct {
	BrokerID    int32
	BrokerEpoch int64
}

// AlterPartition asks the active controller to change ISRs (KIP-497).
type AlterPartition struct {
	CorrelationID int32
	BrokerID      int32
	BrokerEpoch   int64
	Partitions    []AlterPartitionItem
}

// AlterPartitionItem is one partition's proposed state.
type AlterPartitionItem struct {
	TP                  TopicPartition
	LeaderEpoch         int32
	NewISR              []BrokerState
	LeaderRecoveryState LeaderRecoveryState
	PartitionEpoch      int32
}

// ISR returns the proposed ISR's broker ids.
func (p AlterPartitionItem) ISR() []int32 {
	ids := make([]int32, len(p.NewISR))
	for i, s := range p.NewISR {
		ids[i] = s.BrokerID
	}
	return ids
}

// Kind implements network.Message.
func (*AlterPartition) Kind() string { return "AlterPartition" }

// Correlation returns the correlation id.
func (m *AlterPartition) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AlterPartition) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.BrokerID), uint64(m.BrokerEpoch))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.LeaderEpoch), uint64(p.PartitionEpoch), uint64(p.LeaderRecoveryState))
		for _, s := range p.NewISR {
			h = fold(h, uint64(s.BrokerID), uint64(s.BrokerEpoch))
		}
	}
	return h
}

func (m *AlterPartition) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AlterPartition#%d broker=%d/%d", m.CorrelationID, m.BrokerID, m.BrokerEpoch)
	for _, p := range m.Partitions {
		fmt.Fprintf(&b, " %s:isr=%v,leader-epoch=%d,partition-epoch=%d", p.TP, p.ISR(), p.LeaderEpoch, p.PartitionEpoch)
	}
	return b.String()
}

// AlterPartitionResponse answers an AlterPartition.
type AlterPartitionResponse struct {
	CorrelationID int32
	Error         ErrorCode
	Partitions    []AlterPartitionResult
}

// AlterPartitionResult is one partition's outcome: on success the state the
// controller committed.
type AlterPartitionResult struct {
	TP                  TopicPartition
	Error               ErrorCode
	LeaderID            int32
	LeaderEpoch         int32
	ISR                 []int32
	LeaderRecoveryState LeaderRecoveryState
	PartitionEpoch      int32
}

// Kind implements network.Message.
func (*AlterPartitionResponse) Kind() string { return "AlterPartitionResponse" }

// Correlation returns the correlation id.
func (m *AlterPartitionResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *AlterPartitionResponse) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(m.Error))
	for _, p := range m.Partitions {
		h = fold(foldTP(h, p.TP), uint64(p.Error), uint64(p.LeaderID), uint64(p.LeaderEpoch), uint64(p.PartitionEpoch))
		h = foldIDs(h, p.ISR)
	}
	return h
}

func (m *AlterPartitionResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "AlterPartitionResponse#%d", m.CorrelationID)
	if m.Error != None {
		fmt.Fprintf(&b, " %s", m.Error.String())
	}
	for _, p := range m.Partitions {
		if p.Error != None {
			fmt.Fprintf(&b, " %s:%s", p.TP, p.Error.String())
		} else {
			fmt.Fprintf(&b, " %s:isr=%v,leader=%d,leader-epoch=%d,partition-epoch=%d", p.TP, p.ISR, p.LeaderID, p.LeaderEpoch, p.PartitionEpoch)
		}
	}
	return b.String()
}

// ---- Metadata ----

// Metadata asks a broker for the cluster's brokers, controller and
// partition leaders, as clients do.
type Metadata struct {
	CorrelationID int32
	Topics        []string // nil: every topic
}

// Kind implements network.Message.
func (*Metadata) Kind() string { return "Metadata" }

// Correlation returns the correlation id.
func (m *Metadata) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *Metadata) Digest() uint64 {
	h := fold(digestSeed, uint64(m.CorrelationID), uint64(len(m.Topics)))
	for _, t := range m.Topics {
		h = foldString(h, t)
	}
	return h
}

func (m *Metadata) String() string {
	if m.Topics == nil {
		return fmt.Sprintf("Metadata#%d all topics", m.CorrelationID)
	}
	return fmt.Sprintf("Metadata#%d %v", m.CorrelationID, m.Topics)
}

// MetadataResponse answers a Metadata request from the broker's metadata
// image.
type MetadataResponse struct {
	CorrelationID int32
	Brokers       []int32 // live (unfenced) brokers
	ControllerID  int32
	Topics        []TopicMetadata
}

// TopicMetadata is one topic in a MetadataResponse.
type TopicMetadata struct {
	Name       string
	Error      ErrorCode
	Partitions []PartitionMetadata
}

// PartitionMetadata is one partition in a MetadataResponse.
type PartitionMetadata struct {
	Partition       int32
	Error           ErrorCode
	Leader          int32
	LeaderEpoch     int32
	Replicas        []int32
	ISR             []int32
	OfflineReplicas []int32
}

// Kind implements network.Message.
func (*MetadataResponse) Kind() string { return "MetadataResponse" }

// Correlation returns the correlation id.
func (m *MetadataResponse) Correlation() int32 { return m.CorrelationID }

// Digest implements network.Digester.
func (m *MetadataResponse) Digest() uint64 {
	h := foldIDs(fold(digestSeed, uint64(m.CorrelationID), uint64(m.ControllerID)), m.Brokers)
	for _, t := range m.Topics {
		h = fold(foldString(h, t.Name), uint64(t.Error))
		for _, p := range t.Partitions {
			h = fold(h, uint64(p.Partition), uint64(p.Error), uint64(p.Leader), uint64(p.LeaderEpoch))
			h = foldIDs(foldIDs(h, p.Replicas), p.ISR)
		}
	}
	return h
}

func (m *MetadataResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "MetadataResponse#%d brokers=%v controller=%d", m.CorrelationID, m.Brokers, m.ControllerID)
	for _, t := range m.Topics {
		if t.Error != None {
			fmt.Fprintf(&b, " %s:%s", t.Name, t.Error.String())
			continue
		}
		for _, p := range t.Partitions {
			fmt.Fprintf(&b, " %s-%d:leader=%d@e%d,isr=%v", t.Name, p.Partition, p.Leader, p.LeaderEpoch, p.ISR)
		}
	}
	return b.String()
}
