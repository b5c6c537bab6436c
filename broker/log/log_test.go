package log_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

var tp = model.TopicPartition{Topic: "t", Partition: 0}

func node(t require.TestingT, seed uint64) *sim.Node {
	s := sim.New(sim.Config{Seed: seed})
	n, err := s.AddNode("b1", func(*sim.Node) any { return nil })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	return n
}

func open(t require.TestingT, n *sim.Node, cfg log.Config, opt log.OpenOptions) (*log.Log, log.RecoveryInfo) {
	l, info, err := log.Open(n.Disk(), tp, cfg, opt)
	require.NoError(t, err)
	return l, info
}

func batch(values ...string) protocol.Records {
	return protocol.NewRecords(protocol.NoProducer, 1, values...)
}

func idem(pid int64, epoch int16, seq int32, values ...string) protocol.Records {
	return protocol.NewRecords(protocol.Producer{ID: pid, Epoch: epoch, BaseSequence: seq}, 1, values...)
}

func TestAppendReadTruncate(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	info, err := l.AppendAsLeader(batch("a", "b"), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, log.AppendInfo{FirstOffset: 0, LastOffset: 1, Records: 2}, info)
	_, err = l.AppendAsLeader(batch("c"), 0, 0)
	require.NoError(t, err)
	require.NoError(t, l.AssignEpochStartOffset(3, l.EndOffset()))
	_, err = l.AppendAsLeader(batch("d", "e"), 3, 0)
	require.NoError(t, err)
	assert.Equal(t, int64(5), l.EndOffset())
	assert.Equal(t, "0:e0:a,b 2:e0:c 3:e3:d,e", l.String())
	assert.Equal(t, []log.EpochEntry{{Epoch: 0, StartOffset: 0}, {Epoch: 3, StartOffset: 3}}, l.Epochs())

	// Reads return whole batches from the one holding the offset.
	r, err := l.Read(1, l.EndOffset(), 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "[0..1]@e0 [2..2]@e0 [3..4]@e3", r.String())
	r, err = l.Read(0, 3, 1<<20) // bounded by a high-water mark of 3
	require.NoError(t, err)
	assert.Equal(t, "[0..1]@e0 [2..2]@e0", r.String())
	r, err = l.Read(0, 5, 1) // at least one batch
	require.NoError(t, err)
	assert.Equal(t, "[0..1]@e0", r.String())
	r, err = l.Read(5, 5, 100)
	require.NoError(t, err)
	assert.Empty(t, r)
	_, err = l.Read(6, 6, 100)
	assert.Equal(t, protocol.OffsetOutOfRange, log.ErrorCode(err))

	e, ok := l.Entry(4)
	require.True(t, ok)
	assert.Equal(t, "e", string(e.Value))
	assert.Equal(t, int32(3), e.LeaderEpoch)

	// A follower copies the batches exactly.
	f := node(t, 2)
	fl, _ := open(t, f, log.Config{}, log.OpenOptions{})
	all, _ := l.Read(0, 5, 1<<20)
	cnt, err := fl.AppendAsFollower(all, 0)
	require.NoError(t, err)
	assert.Equal(t, 5, cnt)
	assert.Equal(t, l.String(), fl.String())
	assert.Equal(t, l.Epochs(), fl.Epochs())
	cnt, err = fl.AppendAsFollower(all, 0) // already there: skipped
	require.NoError(t, err)
	assert.Zero(t, cnt)

	// Truncation removes whole batches and the epochs that start after.
	l.SetHighWatermark(5)
	end, changed, err := l.TruncateTo(4)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, int64(3), end, "the batch [3..4] straddles offset 4 and goes whole")
	assert.Equal(t, int64(3), l.HighWatermark())
	assert.Equal(t, []log.EpochEntry{{Epoch: 0, StartOffset: 0}}, l.Epochs())
	_, changed, err = l.TruncateTo(9)
	require.NoError(t, err)
	assert.False(t, changed)
}

func TestEndOffsetForEpoch(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	for _, step := range []struct {
		epoch int32
		vals  []string
	}{{1, []string{"a", "b"}}, {3, []string{"c"}}, {4, []string{"d", "e"}}} {
		require.NoError(t, l.AssignEpochStartOffset(step.epoch, l.EndOffset()))
		_, err := l.AppendAsLeader(batch(step.vals...), step.epoch, 0)
		require.NoError(t, err)
	}
	// epochs: 1@0, 3@2, 4@3; LEO 5
	for _, c := range []struct {
		req       int32
		epoch     int32
		end       int64
		legacyEnd int64
	}{
		{-1, -1, -1, -1},
		{0, 0, 0, -1}, // below every epoch: the requested epoch, ending where the first starts
		{1, 1, 2, 2},
		{2, 1, 2, 2}, // unknown epoch between: the epoch below it and the start of the next
		{3, 3, 3, 3},
		{4, 4, 5, 5},    // the latest: the log end offset
		{5, -1, -1, -1}, // above every epoch
	} {
		e, o := l.EndOffsetForEpoch(c.req)
		assert.Equal(t, c.epoch, e, "epoch for %d", c.req)
		assert.Equal(t, c.end, o, "end offset for %d", c.req)
		assert.Equal(t, c.legacyEnd, l.LegacyEndOffsetForEpoch(c.req), "legacy end offset for %d", c.req)
	}
}

func TestIdempotentProducerChecks(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	app := func(r protocol.Records) (log.AppendInfo, protocol.ErrorCode) {
		info, err := l.AppendAsLeader(r, 0, 0)
		return info, log.ErrorCode(err)
	}
	// Sequences 0..11 in six batches of two.
	for i := range 6 {
		_, code := app(idem(7, 0, int32(2*i), "x", "y"))
		require.Equal(t, protocol.None, code)
	}
	assert.Equal(t, int64(12), l.EndOffset())
	// A retry of a batch among the last five: success, original offsets, nothing written.
	info, code := app(idem(7, 0, 4, "x", "y"))
	assert.Equal(t, protocol.None, code)
	assert.Equal(t, log.AppendInfo{FirstOffset: 4, LastOffset: 5, Duplicate: true, Records: 2}, info)
	assert.Equal(t, int64(12), l.EndOffset())
	// The first batch fell out of the window: current Kafka calls it out of order.
	_, code = app(idem(7, 0, 0, "x", "y"))
	assert.Equal(t, protocol.OutOfOrderSequenceNumber, code)
	// A gap.
	_, code = app(idem(7, 0, 13, "z"))
	assert.Equal(t, protocol.OutOfOrderSequenceNumber, code)
	// A new epoch must start at 0.
	_, code = app(idem(7, 1, 5, "z"))
	assert.Equal(t, protocol.OutOfOrderSequenceNumber, code)
	_, code = app(idem(7, 1, 0, "z"))
	assert.Equal(t, protocol.None, code)
	// An older epoch is fenced.
	_, code = app(idem(7, 0, 12, "z"))
	assert.Equal(t, protocol.InvalidProducerEpoch, code)
	// An unknown producer may start anywhere.
	_, code = app(idem(8, 0, 42, "z"))
	assert.Equal(t, protocol.None, code)
	// Two batches in one request are refused, as are corrupt ones.
	two := append(append(protocol.Records{}, batch("a")...), batch("b")...)
	_, code = app(two)
	assert.Equal(t, protocol.InvalidRecord, code)
	bad := append(protocol.Records{}, batch("a")...)
	bad[len(bad)-2] ^= 1
	_, code = app(bad)
	assert.Equal(t, protocol.CorruptMessage, code)

	// Producer state is rebuilt from the log after truncation.
	_, _, err := l.TruncateTo(6)
	require.NoError(t, err)
	p, ok := l.Producer(7)
	require.True(t, ok)
	assert.Equal(t, int32(5), p.LastSeq())
	_, ok = l.Producer(8)
	assert.False(t, ok)
	_, code = app(idem(7, 0, 6, "x"))
	assert.Equal(t, protocol.None, code)
}

func TestLegacyProducerChecks(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{LegacyProducerChecks: true}, log.OpenOptions{})
	app := func(r protocol.Records) protocol.ErrorCode {
		_, err := l.AppendAsLeader(r, 0, 0)
		return log.ErrorCode(err)
	}
	assert.Equal(t, protocol.UnknownProducerId, app(idem(7, 0, 3, "x")))
	for i := range 6 {
		require.Equal(t, protocol.None, app(idem(7, 0, int32(i), "x")))
	}
	assert.Equal(t, protocol.DuplicateSequenceNumber, app(idem(7, 0, 0, "x")))
}

func TestCheckpointFiles(t *testing.T) {
	n := node(t, 1)
	offsets := map[model.TopicPartition]int64{{Topic: "b", Partition: 2}: 7, {Topic: "a-x", Partition: 10}: 0}
	require.NoError(t, log.WriteOffsetCheckpoint(n.Disk(), log.ReplicationOffsetCheckpoint, offsets))
	f, err := n.Disk().Open(log.ReplicationOffsetCheckpoint)
	require.NoError(t, err)
	b, _ := f.Bytes()
	assert.Equal(t, "0\n2\na-x 10 0\nb 2 7\n", string(b))
	got, err := log.ReadOffsetCheckpoint(n.Disk(), log.ReplicationOffsetCheckpoint)
	require.NoError(t, err)
	assert.Equal(t, offsets, got)
	assert.False(t, n.Disk().Exists(log.ReplicationOffsetCheckpoint+".tmp"))
	// Durable at once: it was fsynced before the rename.
	n.PowerLoss(false)
	got, err = log.ReadOffsetCheckpoint(n.Disk(), log.ReplicationOffsetCheckpoint)
	require.NoError(t, err)
	assert.Equal(t, offsets, got)

	_, err = n.Disk().Create("bad")
	require.NoError(t, err)
	f, _ = n.Disk().Open("bad")
	require.NoError(t, f.WriteAt([]byte("0\n3\na 1 1\n"), 0))
	_, err = log.ReadOffsetCheckpoint(n.Disk(), "bad")
	assert.ErrorContains(t, err, "count says 3 entries, the file has 1")
	got, err = log.ReadOffsetCheckpoint(n.Disk(), "missing")
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestConfigValidation(t *testing.T) {
	err := log.Config{FlushIntervalMessages: -1}.Validate()
	assert.EqualError(t, err, "invalid value -1 for configuration log.flush.interval.messages: must be at least 1, or 0 for never")
}

func TestCrashKeepsPageCachePowerLossDoesNot(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	_, err := l.AppendAsLeader(batch("a"), 0, 0)
	require.NoError(t, err)
	require.NoError(t, n.Crash())
	require.NoError(t, n.Restart())
	l, info := open(t, n, log.Config{}, log.OpenOptions{})
	assert.Equal(t, int64(1), l.EndOffset(), "a crash keeps the page cache")
	assert.Zero(t, info.Truncated)

	_, err = l.AppendAsLeader(batch("b"), 0, 0)
	require.NoError(t, err)
	n.PowerLoss(false)
	require.NoError(t, n.Restart())
	l, _ = open(t, n, log.Config{}, log.OpenOptions{})
	assert.Equal(t, int64(1), l.EndOffset(), "recovery after the crash flushed a; b was never flushed")
}

func TestFlushIntervalMessages(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{FlushIntervalMessages: 3}, log.OpenOptions{})
	for _, v := range []string{"a", "b", "c", "d"} {
		_, err := l.AppendAsLeader(batch(v), 0, 0)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(3), l.RecoveryPoint())
	assert.Equal(t, int64(1), l.Unflushed())
	n.PowerLoss(false)
	require.NoError(t, n.Restart())
	l, _ = open(t, n, log.Config{}, log.OpenOptions{RecoveryPoint: 3})
	assert.Equal(t, int64(3), l.EndOffset())
}

// After a power loss that tears the unsynced tail, recovery keeps exactly
// a prefix of the batches appended, every one intact, and the epoch cache
// and producer state agree with the log.
func TestRecoveryTruncatesTornTail(t *testing.T) {
	torn := 0
	rapid.Check(t, func(t *rapid.T) {
		n := node(t, rapid.Uint64().Draw(t, "seed"))
		l, _ := open(t, n, log.Config{}, log.OpenOptions{})
		var want []string
		batches := rapid.IntRange(1, 12).Draw(t, "batches")
		flushAt := rapid.IntRange(0, batches).Draw(t, "flush-after")
		epoch := int32(0)
		for i := range batches {
			if rapid.Bool().Draw(t, fmt.Sprintf("bump%d", i)) {
				epoch++
				require.NoError(t, l.AssignEpochStartOffset(epoch, l.EndOffset()))
			}
			v := fmt.Sprintf("v%d", i)
			_, err := l.AppendAsLeader(idem(1, 0, int32(i), v), epoch, 0)
			require.NoError(t, err)
			want = append(want, fmt.Sprintf("%d:e%d:%s", i, epoch, v))
			if i+1 == flushAt {
				require.NoError(t, l.Flush(0))
			}
		}
		rp := l.RecoveryPoint()
		n.PowerLoss(true)
		require.NoError(t, n.Restart())
		l2, info := open(t, n, log.Config{}, log.OpenOptions{RecoveryPoint: rp})
		got := l2.String()
		k := int(l2.EndOffset())
		require.GreaterOrEqual(t, k, flushAt, "flushed batches survive")
		if k == 0 {
			require.Equal(t, "(empty)", got)
		} else {
			require.Equal(t, joinSpace(want[:k]), got)
		}
		if info.Truncated > 0 {
			torn++
		}
		for _, e := range l2.Epochs() {
			require.Less(t, e.StartOffset, l2.EndOffset())
		}
		if k > 0 {
			p, ok := l2.Producer(1)
			require.True(t, ok)
			require.Equal(t, int32(k-1), p.LastSeq())
		}
		// The recovered log takes appends where it ends.
		info2, err := l2.AppendAsLeader(idem(1, 0, int32(k), "next"), epoch+1, 0)
		require.NoError(t, err)
		require.Equal(t, int64(k), info2.FirstOffset)
	})
	assert.Positive(t, torn, "some runs tore a batch")
}

func joinSpace(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestCorruptionAboveRecoveryPointIsCut(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	for _, v := range []string{"a", "b", "c"} {
		_, err := l.AppendAsLeader(batch(v), 0, 0)
		require.NoError(t, err)
	}
	size := l.Size()
	require.NoError(t, n.Crash())
	require.NoError(t, n.Restart())
	// Flip a byte in the last record of the second batch.
	require.NoError(t, n.Disk().Corrupt(log.Dir(tp)+log.SegmentFile, 2*size/3-2, 1))
	l, info := open(t, n, log.Config{}, log.OpenOptions{RecoveryPoint: 1})
	assert.Equal(t, int64(1), l.EndOffset())
	assert.Equal(t, int64(1), info.TruncatedFrom)
	assert.Contains(t, info.Reason, "CRC")
	// After a clean shutdown the log is trusted: nothing is validated, so a
	// corrupt header is an error rather than a silent cut.
	require.NoError(t, n.Disk().Corrupt(log.Dir(tp)+log.SegmentFile, 8, 4))
	_, _, err := log.Open(n.Disk(), tp, log.Config{}, log.OpenOptions{Clean: true})
	assert.ErrorContains(t, err, "corrupt after a clean shutdown")
}

// The log keeps every shape Kafka writes as it came: headers, compacted
// batches with gaps or no records at all, and transaction markers, which
// keep their offset but are no record of the log's entries.
func TestLogKeepsHeadersCompactedAndControlBatches(t *testing.T) {
	l, _ := open(t, node(t, 1), log.Config{}, log.OpenOptions{})
	_, err := l.AppendAsLeader(protocol.AppendBatch(nil, 0, -1, protocol.NoProducer, []protocol.Record{
		{Timestamp: 1, Value: []byte("a"), Headers: []protocol.RecordHeader{{Key: "trace", Value: []byte("x")}, {Key: "n"}}}}), 0, 0)
	require.NoError(t, err)
	var rs protocol.Records
	rs = protocol.AppendBatchOf(rs, protocol.Batch{Header: protocol.BatchHeader{BaseOffset: 1, LastOffsetDelta: 5,
		ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, Records: []protocol.Record{{Offset: 2, Value: []byte("c")}, {Offset: 5, Value: []byte("f")}}})
	rs = protocol.AppendBatchOf(rs, protocol.Batch{Header: protocol.BatchHeader{BaseOffset: 7, LastOffsetDelta: 2,
		ProducerID: 4, ProducerEpoch: 0, BaseSequence: 3}})
	rs = protocol.AppendControlBatch(rs, 10, 0, protocol.Producer{ID: 4, Epoch: 0, BaseSequence: protocol.NoSequence}, 9, protocol.ControlCommit, 1)
	n, err := l.AppendAsFollower(rs, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, int64(11), l.EndOffset())
	assert.Equal(t, "0:e0:a 1:e0:c,f 7:e0: 10:e0:<COMMIT>", l.String())

	e, ok := l.Entry(0)
	require.True(t, ok)
	assert.Equal(t, []model.RecordHeader{{Key: "trace", Value: model.Bytes("x")}, {Key: "n"}}, e.Headers)
	e, ok = l.Entry(5)
	require.True(t, ok)
	assert.Equal(t, "f", string(e.Value))
	for _, off := range []int64{1, 3, 8, 10} {
		_, ok = l.Entry(off)
		assert.False(t, ok, "offset %d holds no record", off)
	}
	// A fetch returns the batches byte for byte, headers included.
	r, err := l.Read(0, 11, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, "[0..0]@e0 [1..6]@e0 2 records [7..9]@e0 pid 4/0 seq 3 0 records [10..10]@e0 pid 4/0 seq -1 control", r.String())
	first, err := protocol.DecodeBatch(r)
	require.NoError(t, err)
	assert.Equal(t, []protocol.RecordHeader{{Key: "trace", Value: []byte("x")}, {Key: "n"}}, first.Records[0].Headers)
}
