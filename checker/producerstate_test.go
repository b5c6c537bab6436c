package checker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// TestInvalidProducerState: a replica's producer state may remember only
// batches its log holds; one at the log end offset (a snapshot that held
// state past its offset, reloaded after the batch was lost) or at offsets
// holding other records is invalid-producer-state. Batches below the log
// start offset, or at offsets compaction emptied, are not judged.
func TestInvalidProducerState(t *testing.T) {
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	v := newFakeView()
	r := v.replica(tp, 1)
	for o := int64(0); o < 4; o++ {
		r.entries = append(r.entries, model.Entry{Offset: o, ProducerID: 7, Sequence: int32(o)})
	}
	r.entries = append(r.entries, model.Entry{Offset: 5, ProducerID: 8, Sequence: 0}) // offset 4 compacted
	inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
	inv.Attach(v, nil, nil)
	check := func() []checker.Finding {
		v.touch(tp)
		require.NoError(t, inv.Check())
		var out []checker.Finding
		for _, f := range inv.Findings() {
			if f.Name == string(checker.InvalidProducerState) {
				out = append(out, f)
			}
		}
		return out
	}

	r.producers = []model.ProducerBatch{
		{ProducerID: 7, FirstSequence: 2, LastSequence: 3, FirstOffset: 2, LastOffset: 3},
		{ProducerID: 8, FirstSequence: 0, LastSequence: 0, FirstOffset: 5, LastOffset: 5},
		{ProducerID: 9, FirstSequence: 4, LastSequence: 4, FirstOffset: 4, LastOffset: 4}, // compacted away
	}
	assert.Empty(t, check(), "every remembered batch is in the log")

	r.start = 6
	r.producers = append(r.producers, model.ProducerBatch{ProducerID: 10, FirstOffset: 6, LastOffset: 6})
	r.entries = r.entries[:0]
	r.incarnation++
	found := check()
	require.Len(t, found, 1, "only the batch at the log end offset: the others lie below the log start offset")
	assert.Equal(t, []int64{6}, found[0].Offsets)
	assert.Contains(t, found[0].Message, "at or above its log end offset 6")

	r.start = 0
	r.entries = []model.Entry{{Offset: 0, ProducerID: 7, Sequence: 0}, {Offset: 1, ProducerID: 7, Sequence: 9}}
	r.producers = []model.ProducerBatch{{ProducerID: 7, FirstSequence: 1, LastSequence: 1, FirstOffset: 1, LastOffset: 1}}
	r.incarnation++
	found = check()
	require.Len(t, found, 2)
	assert.Contains(t, found[1].Message, "where its log holds producer 7's sequence 9")
}
