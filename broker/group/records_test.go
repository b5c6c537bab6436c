package group_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

func TestPartitionForFollowsKafka(t *testing.T) {
	assert.EqualValues(t, 99162322%50, group.PartitionFor("hello", 50))
	assert.EqualValues(t, 862545276%50, group.PartitionFor("Hello World", 50), "abs of a negative hash")
	assert.EqualValues(t, 0, group.PartitionFor("polygenelubricants", 50), "Utils.abs(Integer.MIN_VALUE) is 0")
	rapid.Check(t, func(t *rapid.T) {
		id := rapid.String().Draw(t, "group")
		n := rapid.Int32Range(1, 200).Draw(t, "partitions")
		if p := group.PartitionFor(id, n); p < 0 || p >= n {
			t.Fatalf("partition %d out of [0, %d)", p, n)
		}
	})
}

func TestOffsetsTopicRecordsRoundTrip(t *testing.T) {
	tp := model.TopicPartition{Topic: "orders", Partition: 7}
	k, v := group.OffsetRecord("g1", tp, group.OffsetAndMetadata{Offset: 42, LeaderEpoch: 3, Metadata: "m", CommitTimestamp: 1000})
	k2, v2 := group.GroupRecord("g1", &group.GroupMetadata{ProtocolType: "consumer", Generation: 4, Protocol: "range", Leader: "c-1",
		StateTimestamp: 5, Members: []group.MemberMetadata{{MemberID: "c-1", InstanceID: "i1", ClientID: "c", ClientHost: "/h",
			RebalanceTimeout: time.Minute, SessionTimeout: 45 * time.Second, Subscription: []byte{1}, Assignment: []byte{2, 3}}}})
	k3, v3 := group.GroupRecord("g1", nil)
	recs := protocol.AppendBatch(nil, 0, -1, protocol.NoProducer, []protocol.Record{{Key: k, Value: v}, {Key: k2, Value: v2}, {Key: k3, Value: v3}})
	var got []group.LogRecord
	require.NoError(t, group.DecodeRecords(recs, func(r group.LogRecord) { got = append(got, r) }))
	require.Len(t, got, 3)
	assert.Equal(t, tp, got[0].TP)
	assert.Equal(t, group.OffsetAndMetadata{Offset: 42, LeaderEpoch: 3, Metadata: "m", CommitTimestamp: 1000}, *got[0].Offset)
	assert.True(t, got[1].IsGroup)
	assert.Equal(t, int32(4), got[1].Group.Generation)
	assert.Equal(t, "i1", got[1].Group.Members[0].InstanceID)
	assert.Equal(t, time.Minute, got[1].Group.Members[0].RebalanceTimeout)
	assert.Equal(t, []byte{2, 3}, got[1].Group.Members[0].Assignment)
	assert.True(t, got[2].IsGroup)
	assert.Nil(t, got[2].Group, "tombstone")
}

func TestDecodeRecordRejectsGarbage(t *testing.T) {
	_, err := group.DecodeRecord([]byte{0, 9, 0, 1, 'g'}, nil)
	assert.ErrorContains(t, err, "key version 9: accepted are 0 and 1 (offsets) and 2 (group metadata)")
	_, err = group.DecodeRecord([]byte{0, 1, 0, 5, 'g'}, nil)
	assert.ErrorContains(t, err, "truncated")
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.SliceOf(rapid.Byte()).Draw(t, "key")
		v := rapid.SliceOf(rapid.Byte()).Draw(t, "value")
		_, _ = group.DecodeRecord(k, v) // never panics
		_, _ = group.DecodeSubscription(v)
		_, _ = group.DecodeAssignment(v)
	})
}

func TestConsumerProtocolRoundTrip(t *testing.T) {
	s := group.Subscription{Topics: []string{"a", "b"}, Owned: []model.TopicPartition{{Topic: "b", Partition: 1}, {Topic: "a", Partition: 0}}, Generation: 7, Rack: "r1"}
	got, err := group.DecodeSubscription(group.EncodeSubscription(s))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got.Topics)
	assert.Equal(t, []model.TopicPartition{{Topic: "a", Partition: 0}, {Topic: "b", Partition: 1}}, got.Owned)
	assert.Equal(t, int32(7), got.Generation)
	assert.Equal(t, "r1", got.Rack)
	a, err := group.DecodeAssignment(group.EncodeAssignment(group.Assignment{Partitions: s.Owned}))
	require.NoError(t, err)
	assert.Equal(t, got.Owned, a.Partitions)
	empty, err := group.DecodeAssignment(nil)
	require.NoError(t, err)
	assert.Empty(t, empty.Partitions)
}

func TestConfigValidation(t *testing.T) {
	c := group.DefaultConfig()
	require.NoError(t, c.Validate())
	c.OffsetsTopicPartitions = 0
	c.MaxSessionTimeout = time.Second
	err := c.Validate()
	assert.ErrorContains(t, err, "invalid value 0 for configuration offsets.topic.num.partitions: value must be at least 1")
	assert.ErrorContains(t, err, "invalid value 1000 for configuration group.max.session.timeout.ms: must be at least group.min.session.timeout.ms (6000)")
}

// TestSetterDefaults proves the group coordinator's defaults are Kafka's
// (broker.Setters, which embeds group.Setters, proves they cover the table).
func TestSetterDefaults(t *testing.T) {
	require.NoError(t, group.Setters.Defaults(group.DefaultConfig()))
}
