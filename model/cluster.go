// Package model is the contract between the simulated brokers and the
// checkers: the live view of a cluster (ClusterView, ReplicaView) that the
// invariant checkers read after every simulation step, the Observer the
// broker calls, the values both speak of (TopicPartition, Entry, Bytes,
// Acks), the typed configuration of a run (RunConfig) that the checkers
// judge against, and the timeline of the cluster's state over a run.
//
// The broker package implements ClusterView and calls an Observer; the
// checker package reads the one and implements the other. Neither knows the
// other: this package is their only contract. What clients did and saw, the
// history, has its vocabulary and file format in the sub-package history;
// the porcupine models that judge a history live with the checker.
package model

import (
	"fmt"
	"strconv"
)

// TopicPartition names one partition of one topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// Compare orders partitions by topic, then partition number.
func (tp TopicPartition) Compare(o TopicPartition) int {
	switch {
	case tp.Topic < o.Topic:
		return -1
	case tp.Topic > o.Topic:
		return 1
	case tp.Partition < o.Partition:
		return -1
	case tp.Partition > o.Partition:
		return 1
	}
	return 0
}

// NoLeader is the leader id of a partition that has none (Kafka's -1).
const NoLeader int32 = -1

// An Entry is one record as a replica's log holds it.
type Entry struct {
	Offset      int64
	LeaderEpoch int32 // the epoch of the batch that holds the record
	Key         []byte
	Value       []byte
	// Headers are the record's headers; nil when it has none.
	Headers []RecordHeader
	// ProducerID, ProducerEpoch and Sequence identify the record's send
	// when the producer was idempotent; ProducerID is -1 otherwise.
	ProducerID    int64
	ProducerEpoch int16
	Sequence      int32
}

func (e Entry) String() string {
	return fmt.Sprintf("%d@e%d=%q", e.Offset, e.LeaderEpoch, e.Value)
}

// ReplicaView is what the checkers may see of one replica, live. It is
// implemented by the broker and read, never changed, by the checkers.
type ReplicaView interface {
	// Broker is the id of the broker holding the replica.
	Broker() int32
	// Online reports whether the broker process is running and has loaded
	// the replica. An offline replica's other methods describe what its
	// disk would give on restart, as far as the broker can tell without
	// running; checkers should not rely on them.
	Online() bool
	// Incarnation changes whenever the broker process restarts, so that a
	// checker can tell a replica that lost data in a crash from one that
	// never stopped.
	Incarnation() uint32
	// IsLeader reports whether the replica currently acts as leader.
	IsLeader() bool
	// LeaderEpoch is the epoch the replica believes current.
	LeaderEpoch() int32
	// HighWatermark is the replica's high-water mark (exclusive).
	HighWatermark() int64
	// LogStartOffset and LogEndOffset bound the replica's log: it holds
	// offsets [LogStartOffset, LogEndOffset).
	LogStartOffset() int64
	LogEndOffset() int64
	// Entry returns the record at offset, if the log holds it.
	Entry(offset int64) (Entry, bool)
	// ISR returns the in-sync replica set the replica uses for its
	// high-water mark while it leads (the maximal ISR: the committed ISR
	// plus any pending AlterPartition change); nil when it follows.
	ISR() []int32
}

// PartitionMetadata is a partition's state as the controller last
// committed it to the metadata log.
type PartitionMetadata struct {
	Replicas       []int32 // the assignment, preferred leader first
	ISR            []int32
	ELR            []int32 // eligible leader replicas (KIP-966); empty when ELR is off
	LastKnownELR   []int32
	Leader         int32 // NoLeader when offline
	LeaderEpoch    int32
	PartitionEpoch int32
	Recovering     bool // the leader was elected uncleanly and is recovering (KIP-704)
}

// ClusterView is the cluster as the checkers see it at one instant.
type ClusterView interface {
	// Version changes whenever anything a checker can see may have
	// changed, so that checkers can skip steps that changed nothing.
	Version() uint64
	// Partitions returns every partition, sorted.
	Partitions() []TopicPartition
	// Metadata returns the partition's committed controller state.
	Metadata(tp TopicPartition) (PartitionMetadata, bool)
	// Replicas returns one view per assigned replica, in assignment order.
	Replicas(tp TopicPartition) []ReplicaView
}

// Observer is told of protocol moments that checkers must judge at the
// instant they happen, not at the next step. The broker calls it; the
// checker implements it. A nil Observer is allowed and ignored.
type Observer interface {
	// Acked is called when a leader settles the success of an acks=all
	// produce for offsets [first, last] of tp, with the ISR it used to
	// decide that the records were committed. The response may still wait
	// for other partitions of the request, and carries this success even if
	// leadership moves meanwhile. isr is the leader's own slice, valid
	// during the call only: an observer that keeps it keeps a copy.
	Acked(tp TopicPartition, leader int32, leaderEpoch int32, first, last int64, isr []int32)
	// Truncated is called when a replica removes offsets [from, to) from
	// its log, with the reason ("diverging-epoch", "high-watermark",
	// "offsets-for-leader-epoch", "unclean-election", "recovery"). to is
	// -1 when the end is not known (recovery cut a torn tail).
	Truncated(tp TopicPartition, broker int32, from, to int64, reason string)
}

// LogStartObserver is an optional extension of Observer: it is told when a
// replica's log start offset moves from from to to, with the reason
// (retention.ms, retention.bytes, log-start-offset after DeleteRecords,
// leader-log-start-offset on a follower, truncate-fully): the records
// below to can no longer be read there.
type LogStartObserver interface {
	LogStartMoved(tp TopicPartition, broker int32, from, to int64, reason string)
}

// PartitionVersions is an optional extension of ClusterView for large
// clusters: PartitionVersion changes whenever anything a checker can see of
// one partition may have changed (its metadata, or any of its replicas,
// including their brokers starting or stopping), so that checkers can skip
// the partitions a step did not touch. A view without it has every
// partition checked whenever Version changes.
type PartitionVersions interface {
	PartitionVersion(tp TopicPartition) uint64
}

// PartitionChanges is an optional extension of PartitionVersions that
// makes a step's checking cost independent of the number of partitions:
// instead of asking every partition for its version, a checker asks which
// partitions may have changed since it last asked.
type PartitionChanges interface {
	// ChangedPartitions returns, sorted and without repeats, every
	// partition of the metadata whose PartitionVersion may have changed
	// since the view returned cursor (a nil cursor: every partition), and
	// the cursor to pass next time. It may return more partitions than
	// changed, never fewer. The slice is valid until the next call; the
	// view may reuse the old cursor's storage for the new one.
	ChangedPartitions(cursor []uint64) (changed []TopicPartition, next []uint64)
}

// TxnReplicaView is an optional extension of ReplicaView for a replica
// whose log may hold transactions: the last stable offset, the
// transactions still open and the markers that ended others.
type TxnReplicaView interface {
	// LastStableOffset is the offset read_committed consumers read up to
	// (exclusive) from this replica while it leads.
	LastStableOffset() int64
	// OpenTxns appends to dst the transactions open on the replica (their
	// records are in the log, their marker is not), by first offset.
	OpenTxns(dst []OpenTxn) []OpenTxn
	// Markers appends to dst the transaction markers the log holds at or
	// after offset from, in offset order.
	Markers(dst []TxnMarker, from int64) []TxnMarker
}

// OpenTxn is a transaction open on a partition: the producer's records
// from FirstOffset on are not yet committed or aborted.
type OpenTxn struct {
	ProducerID    int64
	ProducerEpoch int16
	FirstOffset   int64
}

// TxnMarker is a transaction marker (a control record) in a partition's
// log: the end of a producer's transaction there, committed or aborted.
type TxnMarker struct {
	Offset     int64
	ProducerID int64
	Commit     bool // false: aborted
}

// ProducerStateView is an optional extension of ReplicaView for a replica
// that keeps idempotent producers' state (the batches it deduplicates
// retries against).
type ProducerStateView interface {
	// LastProducerBatches appends to dst, by producer id, the last batch
	// the replica's producer state remembers of each producer.
	LastProducerBatches(dst []ProducerBatch) []ProducerBatch
}

// ProducerBatch is a batch as a replica's producer state remembers it: a
// producer's records with sequences [FirstSequence, LastSequence] at
// offsets [FirstOffset, LastOffset].
type ProducerBatch struct {
	ProducerID                  int64
	ProducerEpoch               int16
	FirstSequence, LastSequence int32
	FirstOffset, LastOffset     int64
}
