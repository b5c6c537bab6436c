package model_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

type fakeReplica struct {
	broker       int32
	online, lead bool
	leo, hwm     int64
}

func (r *fakeReplica) Broker() int32                                  { return r.broker }
func (r *fakeReplica) Online() bool                                   { return r.online }
func (r *fakeReplica) Incarnation() uint32                            { return 1 }
func (r *fakeReplica) IsLeader() bool                                 { return r.lead }
func (r *fakeReplica) LeaderEpoch() int32                             { return 0 }
func (r *fakeReplica) HighWatermark() int64                           { return r.hwm }
func (r *fakeReplica) LogStartOffset() int64                          { return 0 }
func (r *fakeReplica) LogEndOffset() int64                            { return r.leo }
func (r *fakeReplica) Entry(int64) (model.Entry, bool)                { return model.Entry{}, false }
func (r *fakeReplica) ISR() []int32                                   { return nil }
func (v *fakeView) Version() uint64                                   { return v.version }
func (v *fakeView) Partitions() []model.TopicPartition                { return []model.TopicPartition{v.tp} }
func (v *fakeView) Replicas(model.TopicPartition) []model.ReplicaView { return v.replicas }
func (v *fakeView) Metadata(model.TopicPartition) (model.PartitionMetadata, bool) {
	return v.meta, true
}

type fakeView struct {
	version  uint64
	tp       model.TopicPartition
	meta     model.PartitionMetadata
	replicas []model.ReplicaView
}

func TestTimelineRecorderSamplesChanges(t *testing.T) {
	r1 := &fakeReplica{broker: 1, online: true, lead: true}
	r2 := &fakeReplica{broker: 2, online: true}
	v := &fakeView{version: 1, tp: model.TopicPartition{Topic: "t", Partition: 0},
		meta:     model.PartitionMetadata{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		replicas: []model.ReplicaView{r1, r2}}
	rec := model.NewTimelineRecorder(v)
	rec.Sample(0, 0)
	rec.Sample(time.Second, 1) // same version: not even read
	r1.leo, r1.hwm = 5, 5
	rec.Sample(2*time.Second, 2) // changed, but the version did not move: skipped
	v.version++
	rec.Sample(3*time.Second, 3)
	v.version++
	rec.Sample(4*time.Second, 4) // version moved, nothing changed: no sample
	r2.online = false
	v.meta.ISR = []int32{1}
	v.version++
	rec.Sample(5*time.Second, 5)
	rec.Event(model.Event{At: 5 * time.Second, Step: 5, Kind: "crash", Text: "crash b2"})
	tl := rec.Timeline()
	require.Len(t, tl.Partitions, 1)
	p := tl.Partitions[0]
	assert.Equal(t, []int32{1, 2}, p.Replicas)
	require.Len(t, p.Samples, 3)
	assert.Equal(t, []time.Duration{0, 3 * time.Second, 5 * time.Second}, []time.Duration{p.Samples[0].At, p.Samples[1].At, p.Samples[2].At})
	assert.EqualValues(t, 5, p.Samples[1].Replicas[0].LogEndOffset)
	assert.False(t, p.Samples[2].Replicas[1].Online)
	assert.Equal(t, []int32{1}, p.Samples[2].Metadata.ISR)
	assert.Equal(t, []int32{1, 2}, p.Samples[1].Metadata.ISR, "earlier samples keep their own copy")
	assert.Len(t, tl.Events, 1)
}

// TestCloseCapturesOnlyTheHistorysTopics: the final state a history keeps
// is that of the topics its operations name, not the cluster's internal
// topics.
func TestCloseCapturesOnlyTheHistorysTopics(t *testing.T) {
	v := &fakeView{version: 1, tp: model.TopicPartition{Topic: "__consumer_offsets", Partition: 0},
		meta: model.PartitionMetadata{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}, replicas: []model.ReplicaView{&fakeReplica{broker: 1, online: true, lead: true}}}
	rec := history.NewRecorder(history.Header{})
	id := rec.InvokeSend(0, "p", 0, history.Send{Topic: "orders", Partition: 0, Value: model.Bytes("v")})
	rec.SendOK(id, time.Millisecond, 0)
	rec.Close(time.Second, v)
	h, err := rec.History()
	require.NoError(t, err)
	assert.Empty(t, h.Partitions)
	assert.Empty(t, h.Replicas)

	v.tp.Topic = "orders"
	rec = history.NewRecorder(history.Header{})
	id = rec.InvokeSend(0, "p", 0, history.Send{Topic: "orders", Partition: 0, Value: model.Bytes("v")})
	rec.SendOK(id, time.Millisecond, 0)
	rec.Close(time.Second, v)
	h, err = rec.History()
	require.NoError(t, err)
	assert.Len(t, h.Partitions, 1)
	assert.Len(t, h.Replicas, 1)
}

// txnReplica is a fakeReplica whose log holds transactions.
type txnReplica struct {
	fakeReplica
	lso     int64
	markers []model.TxnMarker
	asked   []int64 // the from of every Markers call
}

func (r *txnReplica) LastStableOffset() int64                      { return r.lso }
func (r *txnReplica) OpenTxns(dst []model.OpenTxn) []model.OpenTxn { return dst }
func (r *txnReplica) Markers(dst []model.TxnMarker, from int64) []model.TxnMarker {
	r.asked = append(r.asked, from)
	for _, m := range r.markers {
		if m.Offset >= from {
			dst = append(dst, m)
		}
	}
	return dst
}

// The recorder samples every replica's last stable offset and records
// each marker of the leader's log once, when first seen, asking the log
// only for what lies beyond what it already looked at.
func TestTimelineRecorderSamplesMarkersAndLSO(t *testing.T) {
	r1 := &txnReplica{fakeReplica: fakeReplica{broker: 1, online: true, lead: true, leo: 3, hwm: 3}, lso: 1}
	r2 := &fakeReplica{broker: 2, online: true, leo: 3, hwm: 2}
	v := &fakeView{version: 1, tp: model.TopicPartition{Topic: "t", Partition: 0},
		meta:     model.PartitionMetadata{Replicas: []int32{1, 2}, ISR: []int32{1, 2}, Leader: 1},
		replicas: []model.ReplicaView{r1, r2}}
	rec := model.NewTimelineRecorder(v)
	rec.Sample(0, 0)
	r1.leo, r1.hwm, r1.lso = 5, 5, 5
	r1.markers = []model.TxnMarker{{Offset: 3, ProducerID: 7, Commit: true}, {Offset: 4, ProducerID: 8}}
	v.version++
	rec.Sample(time.Second, 10)
	v.version++
	rec.Sample(2*time.Second, 20) // nothing new
	p := rec.Timeline().Partitions[0]
	require.Len(t, p.Samples, 2)
	assert.EqualValues(t, 1, p.Samples[0].Replicas[0].LastStableOffset)
	assert.EqualValues(t, 5, p.Samples[1].Replicas[0].LastStableOffset)
	assert.EqualValues(t, 2, p.Samples[1].Replicas[1].LastStableOffset, "without transactions, the high-water mark")
	assert.Equal(t, []model.TimelineMarker{
		{At: time.Second, Step: 10, Marker: model.TxnMarker{Offset: 3, ProducerID: 7, Commit: true}},
		{At: time.Second, Step: 10, Marker: model.TxnMarker{Offset: 4, ProducerID: 8}},
	}, p.Markers)
	assert.Equal(t, []int64{0, 3}, r1.asked, "the log is asked from where the last look ended")
}
