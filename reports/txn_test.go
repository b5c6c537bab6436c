package reports_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/reports"
)

// A transaction is drawn as one span on its client's lane, from begin to
// commit or abort, saying how it ended and what it wrote and read.
func TestTransactionSpans(t *testing.T) {
	rec := history.NewRecorder(history.Header{Seed: 1})
	send := history.Mop{Send: &history.Send{Topic: "out", Partition: 1, Value: model.Bytes("a"), Acks: model.AcksAll, Offset: 7}}
	id := rec.InvokeTxn(time.Second, "txn-1", 0, []history.Mop{send})
	rec.TxnDone(id, 2*time.Second, history.OK, "", []history.Mop{send,
		{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "out", Partition: 0, Position: 0, Records: []history.Record{{Offset: 0, Value: model.Bytes("x")}}}}}},
	})
	id = rec.InvokeTxn(3*time.Second, "txn-1", 0, []history.Mop{send})
	rec.TxnDone(id, 4*time.Second, history.Fail, "TRANSACTION_ABORTED", []history.Mop{send})
	h, err := rec.History()
	require.NoError(t, err)
	r := reports.Build(reports.Source{History: h, Report: checker.Check(h, checker.Options{SkipLinearizability: true})})
	require.Len(t, r.Clients, 1)
	ops := r.Clients[0].Ops
	require.Len(t, ops, 2)
	assert.Equal(t, reports.Op{Start: time.Second, End: 2 * time.Second, Kind: "txn", Outcome: "ok",
		Label: "op 0 transaction committed; sent out-1@7; 1 polls read 1 records"}, ops[0])
	assert.Equal(t, "fail", ops[1].Outcome)
	assert.Equal(t, "op 1 transaction aborted (TRANSACTION_ABORTED); sent out-1@7", ops[1].Label)
}

// txnTimelineRun is a run whose partition had transactions: producer 7's
// committed at offset 3, producer 8's aborted at offset 5, and the LSO held
// at 4 until then.
func txnTimelineRun() reports.Run {
	tl := reports.PartitionTimeline{Name: "events-0", Replicas: []int32{1, 2}}
	for i, off := range []struct{ leo, hwm, lso int64 }{{2, 2, 0}, {4, 4, 4}, {6, 6, 6}} {
		s := reports.PartitionSample{At: time.Duration(i) * time.Second, Step: uint64(10 * i), Leader: 1, LeaderEpoch: 1, ISR: []int32{1, 2}}
		for range 2 {
			s.Replicas = append(s.Replicas, reports.ReplicaSample{Online: true, LogEndOffset: off.leo, HighWatermark: off.hwm, LastStableOffset: off.lso})
		}
		tl.Samples = append(tl.Samples, s)
	}
	tl.Markers = []reports.Marker{{At: time.Second, Step: 10, Offset: 3, ProducerID: 7, Commit: true}, {At: 2 * time.Second, Step: 20, Offset: 5, ProducerID: 8}}
	return reports.Run{Title: "txn", Verdict: reports.Verdict{OK: true, Summary: "ok"}, Duration: 3 * time.Second, Replay: "kafkasim run txn",
		Partitions: []reports.PartitionTimeline{tl}}
}

// A partition's timeline draws its transactions: the leader's last stable
// offset beside the high-water mark, and each commit and abort marker at
// its offset, and the page says what they are.
func TestPartitionTimelineDrawsMarkersAndLSO(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, reports.WriteRun(&buf, txnTimelineRun()))
	page := buf.String()
	for _, want := range []string{
		"Transactions: 1 commit marker and 1 abort marker",
		"<title>last stable offset</title>",
		"1s (step 10): commit marker of producer 7 at offset 3",
		"2s (step 20): abort marker of producer 8 at offset 5",
		`<span style="--c:#bf8700">last stable offset (dashed)</span>`,
	} {
		assert.Contains(t, page, want)
	}
	// A partition without transactions draws none of it.
	r := txnTimelineRun()
	r.Partitions[0].Markers = nil
	for i := range r.Partitions[0].Samples {
		for j := range r.Partitions[0].Samples[i].Replicas {
			rs := &r.Partitions[0].Samples[i].Replicas[j]
			rs.LastStableOffset = rs.HighWatermark
		}
	}
	buf.Reset()
	require.NoError(t, reports.WriteRun(&buf, r))
	assert.NotContains(t, buf.String(), "last stable offset")
	assert.NotContains(t, buf.String(), "Transactions:")
}

// Built from a timeline, the report carries the recorder's markers and
// last stable offsets.
func TestBuildCarriesMarkersAndLSO(t *testing.T) {
	h := &history.History{}
	tl := &model.Timeline{Partitions: []model.PartitionTimeline{{TP: model.TopicPartition{Topic: "events"}, Replicas: []int32{1},
		Samples: []model.PartitionSample{{At: time.Second, Metadata: model.PartitionMetadata{Leader: 1},
			Replicas: []model.ReplicaSample{{Online: true, Leader: true, LogEndOffset: 4, HighWatermark: 4, LastStableOffset: 2}}}},
		Markers: []model.TimelineMarker{{At: time.Second, Step: 3, Marker: model.TxnMarker{Offset: 1, ProducerID: 9}}}}}}
	r := reports.Build(reports.Source{History: h, Report: checker.Check(h, checker.Options{SkipLinearizability: true}), Timeline: tl})
	require.Len(t, r.Partitions, 1)
	assert.Equal(t, []reports.Marker{{At: time.Second, Step: 3, Offset: 1, ProducerID: 9}}, r.Partitions[0].Markers)
	assert.EqualValues(t, 2, r.Partitions[0].Samples[0].Replicas[0].LastStableOffset)
}
