package metadata_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

func ids(label string) *rapid.Generator[[]int32] {
	return rapid.Custom(func(t *rapid.T) []int32 {
		if rapid.Bool().Draw(t, label+"-nil") {
			return nil
		}
		return rapid.SliceOfN(rapid.Int32Range(-1, 1<<20), 0, 6).Draw(t, label)
	})
}

func uuid(t *rapid.T, label string) metadata.Uuid {
	var u metadata.Uuid
	copy(u[:], rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, label))
	return u
}

func genRecord(t *rapid.T) metadata.Record {
	i32 := func(l string) int32 { return rapid.Int32().Draw(t, l) }
	i64 := func(l string) int64 { return rapid.Int64().Draw(t, l) }
	switch rapid.IntRange(0, 9).Draw(t, "type") {
	case 0:
		return &metadata.RegisterBrokerRecord{BrokerID: i32("id"), IncarnationID: uuid(t, "inc"), BrokerEpoch: i64("epoch"),
			Fenced: rapid.Bool().Draw(t, "fenced"), InControlledShutdown: rapid.Bool().Draw(t, "cs")}
	case 1:
		return &metadata.UnregisterBrokerRecord{BrokerID: i32("id"), BrokerEpoch: i64("epoch")}
	case 2:
		return &metadata.FenceBrokerRecord{ID: i32("id"), Epoch: i64("epoch")}
	case 3:
		return &metadata.UnfenceBrokerRecord{ID: i32("id"), Epoch: i64("epoch")}
	case 4:
		return &metadata.BrokerRegistrationChangeRecord{BrokerID: i32("id"), BrokerEpoch: i64("epoch"),
			Fenced: metadata.FencingChange(rapid.Int8Range(-1, 1).Draw(t, "f")), InControlledShutdown: rapid.Int8Range(0, 1).Draw(t, "cs")}
	case 5:
		return &metadata.TopicRecord{Name: rapid.String().Draw(t, "name"), TopicID: uuid(t, "tid")}
	case 6:
		return &metadata.RemoveTopicRecord{TopicID: uuid(t, "tid")}
	case 7:
		r := &metadata.PartitionRecord{PartitionID: i32("p"), TopicID: uuid(t, "tid"), Replicas: ids("replicas").Draw(t, "r"),
			ISR: ids("isr").Draw(t, "i"), ELR: ids("elr").Draw(t, "e"), LastKnownELR: ids("lkelr").Draw(t, "l"), Leader: i32("leader"),
			LeaderRecoveryState: protocol.LeaderRecoveryState(rapid.Int8Range(0, 1).Draw(t, "lrs")), LeaderEpoch: i32("le"), PartitionEpoch: i32("pe")}
		return r
	case 8:
		return &metadata.PartitionChangeRecord{PartitionID: i32("p"), TopicID: uuid(t, "tid"), ISR: ids("isr").Draw(t, "i"),
			Leader: i32("leader"), Replicas: ids("replicas").Draw(t, "r"), ELR: ids("elr").Draw(t, "e"), LastKnownELR: ids("lkelr").Draw(t, "l"),
			LeaderRecoveryState: protocol.LeaderRecoveryState(rapid.Int8Range(-1, 1).Draw(t, "lrs"))}
	default:
		var v *string
		if rapid.Bool().Draw(t, "has-value") {
			s := rapid.String().Draw(t, "value")
			v = &s
		}
		return &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: rapid.String().Draw(t, "res"),
			Name: rapid.String().Draw(t, "name"), Value: v}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := genRecord(t)
		b := metadata.Encode(r)
		got, err := metadata.Decode(b)
		require.NoError(t, err)
		assert.Equal(t, r, got)
		assert.Equal(t, b, metadata.Encode(got), "encoding is deterministic")
	})
}

func TestDecodeRejectsGarbageWithoutPanicking(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOf(rapid.Byte()).Draw(t, "bytes")
		_, _ = metadata.Decode(b)
	})
	rapid.Check(t, func(t *rapid.T) {
		b := metadata.Encode(genRecord(t))
		cut := rapid.IntRange(0, len(b)-1).Draw(t, "cut")
		_, err := metadata.Decode(b[:cut])
		assert.ErrorIs(t, err, metadata.ErrMalformed)
	})
	_, err := metadata.Decode([]byte{99, 0})
	assert.ErrorContains(t, err, "unknown record type 99")
	_, err = metadata.Decode([]byte{2, 7})
	assert.ErrorContains(t, err, "TopicRecord version 7")
}

func topicID(b byte) metadata.Uuid { return metadata.Uuid{b} }

func setup(t *testing.T) *metadata.Image {
	im := metadata.NewImage()
	_, err := im.Apply([]metadata.Record{
		&metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 10, Fenced: true},
		&metadata.RegisterBrokerRecord{BrokerID: 2, BrokerEpoch: 11, Fenced: true},
		&metadata.TopicRecord{Name: "t", TopicID: topicID(1)},
		&metadata.PartitionRecord{TopicID: topicID(1), PartitionID: 0, Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 0, PartitionEpoch: 0},
	}, 3)
	require.NoError(t, err)
	return im
}

func TestImageAppliesPartitionChangesAsKafka(t *testing.T) {
	im := setup(t)
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	assert.Equal(t, int64(3), im.Offset())

	// An ISR shrink without a leader field: partition epoch bumps, leader epoch does not.
	c := metadata.NewPartitionChange(topicID(1), 0)
	c.ISR = []int32{1}
	d, err := im.Apply([]metadata.Record{c}, 4)
	require.NoError(t, err)
	assert.Equal(t, []model.TopicPartition{tp}, d.Partitions)
	p, _ := im.Partition(tp)
	assert.Equal(t, int32(0), p.LeaderEpoch)
	assert.Equal(t, int32(1), p.PartitionEpoch)
	assert.Equal(t, []int32{1}, p.ISR)

	// Setting the leader, even to the same broker, bumps the leader epoch.
	c = metadata.NewPartitionChange(topicID(1), 0)
	c.Leader = 1
	_, err = im.Apply([]metadata.Record{c}, 5)
	require.NoError(t, err)
	p, _ = im.Partition(tp)
	assert.Equal(t, int32(1), p.LeaderEpoch)
	assert.Equal(t, int32(2), p.PartitionEpoch)

	// No leader.
	c = metadata.NewPartitionChange(topicID(1), 0)
	c.Leader = metadata.NoLeader
	_, err = im.Apply([]metadata.Record{c}, 6)
	require.NoError(t, err)
	p, _ = im.Partition(tp)
	assert.Equal(t, metadata.NoLeader, p.Leader)
	assert.Equal(t, int32(2), p.LeaderEpoch)
	assert.Equal(t, model.PartitionMetadata{Replicas: []int32{1, 2}, ISR: []int32{1}, Leader: -1, LeaderEpoch: 2, PartitionEpoch: 3}, p.Model())
}

func TestImageBrokersAndConfigs(t *testing.T) {
	im := setup(t)
	v := "2"
	d, err := im.Apply([]metadata.Record{
		&metadata.BrokerRegistrationChangeRecord{BrokerID: 1, BrokerEpoch: 10, Fenced: metadata.FencingUnfence},
		&metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: "t", Name: "min.insync.replicas", Value: &v},
	}, 5)
	require.NoError(t, err)
	assert.Equal(t, []int32{1}, d.Brokers)
	b, _ := im.Broker(1)
	assert.False(t, b.Fenced)
	got, ok := im.TopicConfig("t", "min.insync.replicas")
	assert.True(t, ok)
	assert.Equal(t, "2", got)
	_, ok = im.TopicConfig("other", "min.insync.replicas")
	assert.False(t, ok)

	// A stale broker epoch is refused.
	_, err = im.Apply([]metadata.Record{&metadata.FenceBrokerRecord{ID: 1, Epoch: 9}}, 6)
	assert.ErrorContains(t, err, "broker 1 has epoch 10, the record names epoch 9")
	// Re-registration needs a higher epoch.
	_, err = im.Apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 10}}, 6)
	assert.ErrorContains(t, err, "not above its current 10")
	_, err = im.Apply([]metadata.Record{&metadata.RegisterBrokerRecord{BrokerID: 1, BrokerEpoch: 12, Fenced: true}}, 6)
	require.NoError(t, err)
	b, _ = im.Broker(1)
	assert.True(t, b.Fenced)
	assert.Equal(t, int64(12), b.Epoch)
}

func TestImageRejectsRecordsThatDoNotFit(t *testing.T) {
	im := setup(t)
	c := metadata.NewPartitionChange(topicID(1), 7)
	_, err := im.Apply([]metadata.Record{c}, 9)
	assert.ErrorContains(t, err, "unknown partition t-7")
	c = metadata.NewPartitionChange(topicID(1), 0)
	c.ISR = []int32{3}
	_, err = im.Apply([]metadata.Record{c}, 9)
	assert.ErrorContains(t, err, "ISR member 3 is not among the replicas [1 2]")
	_, err = im.Apply([]metadata.Record{&metadata.TopicRecord{Name: "t", TopicID: topicID(2)}}, 9)
	assert.ErrorContains(t, err, `topic "t" already exists`)
	_, err = im.Apply(nil, 1)
	assert.ErrorContains(t, err, "behind the image's 3")
}

func TestRemoveTopic(t *testing.T) {
	im := setup(t)
	clone := im.Clone()
	d, err := im.Apply([]metadata.Record{&metadata.RemoveTopicRecord{TopicID: topicID(1)}}, 4)
	require.NoError(t, err)
	assert.Equal(t, []string{"t"}, d.RemovedTopics)
	assert.Equal(t, []model.TopicPartition{{Topic: "t", Partition: 0}}, d.RemovedPartitions)
	assert.Empty(t, im.Partitions())
	assert.Len(t, clone.Partitions(), 1, "a clone is independent")
}
