package group

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/coord"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// OffsetsTopic is the name of Kafka's internal topic of group metadata
// and committed offsets.
const OffsetsTopic = "__consumer_offsets"

// PartitionFor returns the partition of __consumer_offsets that holds a
// group (offsets.topic.num.partitions partitions), as Kafka computes it.
func PartitionFor(groupID string, partitions int32) int32 {
	return coord.PartitionFor(groupID, partitions)
}

// Record key versions of __consumer_offsets (Kafka's schemas).
const (
	offsetKeyVersion      int16 = 1 // OffsetCommitKey: group, topic, partition
	groupKeyVersion       int16 = 2 // GroupMetadataKey: group
	offsetValueVersion    int16 = 3 // OffsetCommitValue with leader epoch (KIP-320)
	groupValueVersion     int16 = 3 // GroupMetadataValue with static members (KIP-345)
	legacyOffsetKeyVerion int16 = 0
)

// OffsetAndMetadata is a committed offset as __consumer_offsets stores it.
type OffsetAndMetadata struct {
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	// CommitTimestamp is the coordinator's clock at the commit, in ms.
	CommitTimestamp int64
}

// MemberMetadata is a member as the group metadata record stores it.
type MemberMetadata struct {
	MemberID         string
	InstanceID       string
	ClientID         string
	ClientHost       string
	RebalanceTimeout time.Duration
	SessionTimeout   time.Duration
	Subscription     []byte
	Assignment       []byte
}

// GroupMetadata is a group's generation as the group metadata record
// stores it after every rebalance.
type GroupMetadata struct {
	ProtocolType   string
	Generation     int32
	Protocol       string
	Leader         string
	StateTimestamp int64
	Members        []MemberMetadata
}

// OffsetRecord returns the key and value of an offset commit record.
func OffsetRecord(group string, tp model.TopicPartition, o OffsetAndMetadata) (key, value []byte) {
	k := &writer{}
	k.int16(offsetKeyVersion)
	k.string(group)
	k.string(tp.Topic)
	k.int32(tp.Partition)
	v := &writer{}
	v.int16(offsetValueVersion)
	v.int64(o.Offset)
	v.int32(o.LeaderEpoch)
	v.string(o.Metadata)
	v.int64(o.CommitTimestamp)
	return k.b, v.b
}

// GroupRecord returns the key and value of a group metadata record; a nil
// md gives a tombstone (the group was deleted).
func GroupRecord(group string, md *GroupMetadata) (key, value []byte) {
	k := &writer{}
	k.int16(groupKeyVersion)
	k.string(group)
	if md == nil {
		return k.b, nil
	}
	v := &writer{}
	v.int16(groupValueVersion)
	v.string(md.ProtocolType)
	v.int32(md.Generation)
	v.nullable(md.Protocol)
	v.nullable(md.Leader)
	v.int64(md.StateTimestamp)
	v.int32(int32(len(md.Members)))
	for _, m := range md.Members {
		v.string(m.MemberID)
		v.nullable(m.InstanceID)
		v.string(m.ClientID)
		v.string(m.ClientHost)
		v.int32(int32(m.RebalanceTimeout / time.Millisecond))
		v.int32(int32(m.SessionTimeout / time.Millisecond))
		v.bytes(m.Subscription)
		v.bytes(m.Assignment)
	}
	return k.b, v.b
}

// A LogRecord is one decoded record of __consumer_offsets: an offset
// commit (TP set) or a group's metadata (Group set), or a tombstone of
// either (Offset and Group nil).
type LogRecord struct {
	GroupID string
	TP      model.TopicPartition
	IsGroup bool
	Offset  *OffsetAndMetadata
	Group   *GroupMetadata
}

// DecodeRecord decodes one record of __consumer_offsets.
func DecodeRecord(key, value []byte) (LogRecord, error) {
	r := &reader{b: key}
	var rec LogRecord
	v := r.int16()
	switch {
	case r.err != nil:
	case v == legacyOffsetKeyVerion || v == offsetKeyVersion:
		rec.GroupID = r.string()
		rec.TP.Topic = r.string()
		rec.TP.Partition = r.int32()
		if err := r.done("offset commit key"); err != nil {
			return rec, err
		}
		if value == nil {
			return rec, nil
		}
		o, err := decodeOffsetValue(value)
		rec.Offset = &o
		return rec, err
	case v == groupKeyVersion:
		rec.IsGroup = true
		rec.GroupID = r.string()
		if err := r.done("group metadata key"); err != nil {
			return rec, err
		}
		if value == nil {
			return rec, nil
		}
		md, err := decodeGroupValue(value)
		rec.Group = &md
		return rec, err
	default:
		return rec, fmt.Errorf("__consumer_offsets key version %d: accepted are 0 and 1 (offsets) and 2 (group metadata)", v)
	}
	return rec, r.done("__consumer_offsets key")
}

func decodeOffsetValue(p []byte) (OffsetAndMetadata, error) {
	r := &reader{b: p}
	v := r.int16()
	o := OffsetAndMetadata{LeaderEpoch: protocol.NoEpoch}
	if r.err == nil && (v < 0 || v > offsetValueVersion) {
		return o, fmt.Errorf("offset commit value version %d: accepted are 0 to %d", v, offsetValueVersion)
	}
	o.Offset = r.int64()
	if v >= 3 {
		o.LeaderEpoch = r.int32()
	}
	o.Metadata = r.string()
	o.CommitTimestamp = r.int64()
	if v == 1 {
		r.int64() // expire timestamp, gone since version 2
	}
	return o, r.done("offset commit value")
}

func decodeGroupValue(p []byte) (GroupMetadata, error) {
	r := &reader{b: p}
	var md GroupMetadata
	v := r.int16()
	if r.err == nil && (v < 0 || v > groupValueVersion) {
		return md, fmt.Errorf("group metadata value version %d: accepted are 0 to %d", v, groupValueVersion)
	}
	md.ProtocolType = r.string()
	md.Generation = r.int32()
	md.Protocol = r.string()
	md.Leader = r.string()
	if v >= 2 {
		md.StateTimestamp = r.int64()
	}
	n := r.count(10)
	for range n {
		var m MemberMetadata
		m.MemberID = r.string()
		if v >= 3 {
			m.InstanceID = r.string()
		}
		m.ClientID = r.string()
		m.ClientHost = r.string()
		if v >= 1 {
			m.RebalanceTimeout = time.Duration(r.int32()) * time.Millisecond
		}
		m.SessionTimeout = time.Duration(r.int32()) * time.Millisecond
		if v == 0 {
			m.RebalanceTimeout = m.SessionTimeout
		}
		m.Subscription = r.bytes()
		m.Assignment = r.bytes()
		md.Members = append(md.Members, m)
	}
	return md, r.done("group metadata value")
}

// DecodeRecords decodes every record of __consumer_offsets batches, in
// order, and calls fn for each.
func DecodeRecords(recs protocol.Records, fn func(LogRecord)) error {
	var err error
	werr := recs.Batches(func(h protocol.BatchHeader, b []byte) bool {
		err = protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
			var lr LogRecord
			lr, err = DecodeRecord(r.Key, r.Value)
			if err != nil {
				err = fmt.Errorf("__consumer_offsets offset %d: %w", r.Offset, err)
				return false
			}
			fn(lr)
			return true
		})
		return err == nil
	})
	if werr != nil {
		return werr
	}
	return err
}
