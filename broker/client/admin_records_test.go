package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// Admin.DeleteRecords against real brokers: the leader moves its log
// start offset, ListOffsets earliest answers it, an offset above the
// high-water mark fails with OFFSET_OUT_OF_RANGE, and each partition is
// one delete-records operation in the history.
func TestDeleteRecordsAgainstAKRaftCluster(t *testing.T) {
	rc := newRealCluster(t, 13, 3)
	require.NoError(t, rc.c.CreateTopic(cluster.Topic{Name: "t", Partitions: 1, ReplicationFactor: 3}, 10*time.Second))
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	leader, ok := rc.c.Leader(tp)
	require.True(t, ok)
	resp, err := rc.c.Request(leader, &protocol.Produce{CorrelationID: rc.c.NextCorrelation(), Acks: protocol.AcksAll, Timeout: 10 * time.Second,
		Partitions: []protocol.ProducePartition{{TP: tp, Records: protocol.NewRecords(protocol.NoProducer, 0, "a", "b", "c", "d", "e")}}}, 10*time.Second)
	require.NoError(t, err)
	require.Equal(t, protocol.None, resp.(*protocol.ProduceResponse).Partitions[0].Error)
	a := rc.admin("ops")

	var lows map[model.TopicPartition]int64
	rc.await("delete-records", func(done func()) {
		require.NoError(t, a.DeleteRecords(map[model.TopicPartition]int64{tp: 3}, func(l map[model.TopicPartition]int64, err error) {
			require.NoError(t, err)
			lows = l
			done()
		}))
	})
	assert.Equal(t, map[model.TopicPartition]int64{tp: 3}, lows)
	for _, id := range rc.c.BrokerIDs() {
		r, ok := rc.c.Broker(id).Partition(tp)
		require.True(t, ok)
		assert.Equal(t, int64(3), r.LogStartOffset(), "broker %d", id)
	}

	rc.await("list-offsets", func(done func()) {
		require.NoError(t, a.ListOffsets([]model.TopicPartition{tp}, client.OffsetEarliest, func(o map[model.TopicPartition]client.ListedOffset, err error) {
			require.NoError(t, err)
			assert.Equal(t, int64(3), o[tp].Offset)
			done()
		}))
	})

	var derr error
	rc.await("delete-records", func(done func()) {
		require.NoError(t, a.DeleteRecords(map[model.TopicPartition]int64{tp: 9}, func(l map[model.TopicPartition]int64, err error) {
			assert.Empty(t, l)
			derr = err
			done()
		}))
	})
	assert.ErrorIs(t, derr, protocol.OffsetOutOfRange)
	assert.Error(t, a.DeleteRecords(map[model.TopicPartition]int64{tp: -2}, func(map[model.TopicPartition]int64, error) {}))

	h, err := rc.rec.History()
	require.NoError(t, err)
	var dels []history.Op
	for _, op := range h.Ops {
		if op.Admin != nil && op.Admin.Action == "delete-records" {
			dels = append(dels, op)
		}
	}
	require.Len(t, dels, 2)
	assert.Equal(t, history.OK, dels[0].Outcome)
	assert.Equal(t, int64(3), dels[0].Admin.Offset)
	assert.Equal(t, "3", dels[0].Admin.Result["low_watermark"])
	assert.Equal(t, history.Fail, dels[1].Outcome)
	assert.Equal(t, "OFFSET_OUT_OF_RANGE", dels[1].Error)
}
