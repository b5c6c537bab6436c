package log

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

var snapTP = model.TopicPartition{Topic: "t", Partition: 0}

// producerState renders a log's whole producer state: each producer's
// epoch and cached batches, the open transactions, the coordinator epochs
// and the aborted-transactions index.
func producerState(l *Log) string {
	s := ""
	for _, pid := range slices.Sorted(maps.Keys(l.producers)) {
		p := l.producers[pid]
		s += fmt.Sprintf("p%d e%d %v; ", pid, p.Epoch, p.Batches())
	}
	for _, pid := range slices.Sorted(maps.Keys(l.txns.ongoing)) {
		s += fmt.Sprintf("open %+v; ", l.txns.ongoing[pid])
	}
	for _, pid := range slices.Sorted(maps.Keys(l.txns.coordinatorEpoch)) {
		s += fmt.Sprintf("coordinator p%d %d; ", pid, l.txns.coordinatorEpoch[pid])
	}
	return s + fmt.Sprintf("aborted %v", l.txns.aborted)
}

// TestSnapshotReloadEqualsRebuild drives a log with small segments through
// idempotent and transactional appends, markers, truncations, crashes,
// power losses and clean shutdowns: after each step the producer state,
// however it was reached (from a snapshot and the batches after it, or
// appends), is the one a rebuild from the whole log gives.
func TestSnapshotReloadEqualsRebuild(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := sim.New(sim.Config{Seed: rapid.Uint64().Draw(t, "seed")})
		n, err := s.AddNode("b1", func(*sim.Node) any { return nil })
		require.NoError(t, err)
		require.NoError(t, n.Start())
		cfg := Config{Topic: DefaultTopicConfig()}
		cfg.Topic.SegmentBytes = int64(rapid.IntRange(100, 400).Draw(t, "segment.bytes"))
		l, _, err := Open(n.Disk(), snapTP, cfg, OpenOptions{})
		require.NoError(t, err)
		reopen := func(clean bool) {
			require.NoError(t, n.Restart())
			l, _, err = Open(n.Disk(), snapTP, cfg, OpenOptions{Clean: clean, RecoveryPoint: 0})
			require.NoError(t, err)
		}
		for i := range rapid.IntRange(1, 40).Draw(t, "steps") {
			switch op := rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("op%d", i)); op {
			case 0, 1, 2, 3:
				pid := int64(rapid.IntRange(1, 3).Draw(t, "pid"))
				seq := int32(0)
				if p, ok := l.producers[pid]; ok && p.n > 0 {
					seq = p.LastSeq() + 1
				}
				txn := rapid.Bool().Draw(t, "txn")
				prod := protocol.Producer{ID: pid, Epoch: 0, BaseSequence: seq}
				recs := []protocol.Record{{Value: []byte("v")}, {Value: []byte("w")}}
				r := protocol.Records(protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, prod, recs))
				if txn {
					r = protocol.AppendTxnBatch(nil, prod, recs)
				}
				_, err := l.AppendAsLeader(r, 0, 0)
				if code := ErrorCode(err); code != protocol.InvalidTxnState {
					require.NoError(t, err)
				}
			case 4:
				pid := int64(rapid.IntRange(1, 3).Draw(t, "pid"))
				typ := protocol.ControlCommit
				if rapid.Bool().Draw(t, "abort") {
					typ = protocol.ControlAbort
				}
				_, err := l.AppendMarker(Marker{ProducerID: pid, Type: typ, CoordinatorEpoch: int32(i)}, 0, 0)
				require.NoError(t, err)
			case 5:
				_, _, err := l.TruncateTo(rapid.Int64Range(0, l.leo).Draw(t, "to"))
				require.NoError(t, err)
			case 6:
				require.NoError(t, n.Crash())
				reopen(false)
			case 7:
				n.PowerLoss(rapid.Bool().Draw(t, "tear"))
				reopen(false)
			case 8:
				require.NoError(t, l.Flush(0))
				require.NoError(t, l.TakeProducerSnapshot())
				require.NoError(t, n.Crash())
				reopen(true)
			case 9:
				_, err := l.AppendAsLeader(protocol.NewRecords(protocol.NoProducer, 1, "x"), 0, 0)
				require.NoError(t, err)
			}
			got := producerState(l)
			l.rebuildProducers()
			require.Equal(t, producerState(l), got, "step %d", i)
			for _, o := range l.ProducerSnapshots() {
				require.LessOrEqual(t, o, l.leo, "a snapshot above the log end offset")
			}
		}
	})
}

// TestSnapshotBeforeAppendHoldsLostBatch shows KAFKA-6683's state: with
// ProducerStateBeforeAppend the snapshot the roll writes holds the batch
// that rolled; a power loss takes the batch, not the snapshot, and the
// reloaded state remembers a batch at the log end offset.
func TestSnapshotBeforeAppendHoldsLostBatch(t *testing.T) {
	for _, before := range []bool{false, true} {
		t.Run(fmt.Sprint("before=", before), func(t *testing.T) {
			s := sim.New(sim.Config{Seed: 1})
			n, err := s.AddNode("b1", func(*sim.Node) any { return nil })
			require.NoError(t, err)
			require.NoError(t, n.Start())
			cfg := Config{Topic: DefaultTopicConfig(), ProducerStateBeforeAppend: before}
			cfg.Topic.SegmentBytes = 100
			l, _, err := Open(n.Disk(), snapTP, cfg, OpenOptions{})
			require.NoError(t, err)
			for seq := int32(0); seq < 4; seq += 2 {
				_, err := l.AppendAsLeader(protocol.NewRecords(protocol.Producer{ID: 7, BaseSequence: seq}, 1, "a", "b"), 0, 0)
				require.NoError(t, err)
			}
			require.Equal(t, []int64{2}, l.ProducerSnapshots(), "the second batch rolled a segment")
			n.PowerLoss(false)
			require.NoError(t, n.Restart())
			l, _, err = Open(n.Disk(), snapTP, cfg, OpenOptions{})
			require.NoError(t, err)
			require.Equal(t, int64(2), l.EndOffset(), "the unflushed second batch is lost")
			p, ok := l.Producer(7)
			require.True(t, ok)
			if before {
				require.Equal(t, int32(3), p.LastSeq(), "the snapshot at offset 2 holds the batch at offset 2")
				require.Equal(t, int64(3), p.Batches()[len(p.Batches())-1].LastOffset)
			} else {
				require.Equal(t, int32(1), p.LastSeq())
				require.Equal(t, []BatchMeta{{FirstSeq: 0, LastSeq: 1, FirstOffset: 0, LastOffset: 1}}, p.Batches())
			}
		})
	}
}

// TestSnapshotsFollowSegments: truncation deletes the snapshots above the
// new end, retention the snapshots of the segments it deletes, a full
// truncation all of them, and a corrupt snapshot is deleted and an older
// one used.
func TestSnapshotsFollowSegments(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	n, err := s.AddNode("b1", func(*sim.Node) any { return nil })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	cfg := Config{Topic: DefaultTopicConfig()}
	cfg.Topic.SegmentBytes = 100
	l, _, err := Open(n.Disk(), snapTP, cfg, OpenOptions{})
	require.NoError(t, err)
	for seq := int32(0); seq < 10; seq += 2 {
		_, err := l.AppendAsLeader(protocol.NewRecords(protocol.Producer{ID: 7, BaseSequence: seq}, 1, "a", "b"), 0, 0)
		require.NoError(t, err)
	}
	require.Equal(t, []int64{2, 4, 6, 8}, l.ProducerSnapshots())
	_, _, err = l.TruncateTo(6)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 4, 6}, l.ProducerSnapshots())
	p, _ := l.Producer(7)
	require.Equal(t, int32(5), p.LastSeq())

	require.NoError(t, n.Disk().Corrupt(Dir(snapTP)+SnapshotName(6), 12, 2))
	require.NoError(t, n.Crash())
	require.NoError(t, n.Restart())
	l, _, err = Open(n.Disk(), snapTP, cfg, OpenOptions{})
	require.NoError(t, err)
	require.Equal(t, []int64{2, 4}, l.ProducerSnapshots(), "the corrupt snapshot is deleted")
	p, _ = l.Producer(7)
	require.Equal(t, int32(5), p.LastSeq(), "the older snapshot and the batches after it")

	l.SetHighWatermark(l.EndOffset())
	_, err = l.DeleteRecordsBefore(4)
	require.NoError(t, err)
	_, err = l.DeleteOldSegments(0, 0)
	require.NoError(t, err)
	require.Equal(t, []int64{4}, l.ProducerSnapshots(), "a deleted segment's snapshot goes with it")

	require.NoError(t, l.TruncateFullyAndStartAt(20, 0))
	require.Empty(t, l.ProducerSnapshots())
}

func TestSnapshotEncodingRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		l := &Log{producers: map[int64]*ProducerEntry{}}
		l.txns.reset()
		for range rapid.IntRange(0, 6).Draw(t, "producers") {
			pid := rapid.Int64Range(0, 1<<40).Draw(t, "pid")
			p := &ProducerEntry{Epoch: int16(rapid.IntRange(0, 100).Draw(t, "epoch"))}
			for range rapid.IntRange(0, 7).Draw(t, "batches") {
				p.add(p.Epoch, BatchMeta{FirstSeq: rapid.Int32().Draw(t, "f"), LastSeq: rapid.Int32().Draw(t, "l"),
					FirstOffset: rapid.Int64().Draw(t, "fo"), LastOffset: rapid.Int64().Draw(t, "lo")})
			}
			if rapid.Bool().Draw(t, "in map") {
				l.producers[pid] = p
			}
			if rapid.Bool().Draw(t, "open") {
				l.txns.ongoing[pid] = OngoingTxn{ProducerID: pid, Epoch: p.Epoch, FirstOffset: rapid.Int64Range(0, 1<<50).Draw(t, "first")}
			}
			if rapid.Bool().Draw(t, "coordinator") {
				l.txns.coordinatorEpoch[pid] = rapid.Int32().Draw(t, "c")
			}
		}
		want := producerState(l)
		entries, err := decodeSnapshot(l.encodeSnapshot())
		require.NoError(t, err)
		l.applySnapshot(0, entries)
		require.Equal(t, want, producerState(l))
	})
}
