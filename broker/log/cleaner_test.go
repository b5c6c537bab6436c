package log_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// TestCleanerKeepsTheLatestOfEveryKey: whatever the appends, segment size,
// dirty ratio and cleanings, after each cleaning the log holds the latest
// record of every key below the cleaner's checkpoint (a tombstone only
// until a later cleaning past delete.retention.ms), each key's records
// stay in offset order, and nothing at or above the checkpoint changed.
func TestCleanerKeepsTheLatestOfEveryKey(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := node(t, rapid.Uint64().Draw(t, "seed"))
		tc := log.DefaultTopicConfig()
		tc.Delete, tc.Compact = rapid.Bool().Draw(t, "delete"), true
		tc.RetentionMs = -1
		tc.SegmentBytes = int64(rapid.IntRange(80, 400).Draw(t, "segment.bytes"))
		tc.MinCleanableDirtyRatio = rapid.Float64Range(0, 1).Draw(t, "ratio")
		tc.DeleteRetentionMs = 1000
		l, _ := open(t, n, log.Config{Topic: tc}, log.OpenOptions{Clean: true})
		now := int64(0)
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			if rapid.IntRange(0, 4).Draw(t, "op") == 0 {
				now += int64(rapid.IntRange(0, 2000).Draw(t, "wait"))
				before := l.Keys()
				cp := l.CleanerCheckpoint()
				_, _, err := l.Clean(now)
				require.NoError(t, err)
				after := l.Keys()
				checkCleaned(t, before, after, cp, l.CleanerCheckpoint())
				continue
			}
			var recs []protocol.Record
			for range rapid.IntRange(1, 3).Draw(t, "records") {
				k := fmt.Sprintf("k%d", rapid.IntRange(0, 5).Draw(t, "key"))
				r := protocol.Record{Timestamp: now, Key: []byte(k)}
				if rapid.IntRange(0, 6).Draw(t, "tombstone") > 0 {
					r.Value = []byte(fmt.Sprintf("v%d", step))
				}
				recs = append(recs, r)
			}
			_, err := l.AppendAsLeader(protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer, recs), 0, 0)
			require.NoError(t, err)
			l.SetHighWatermark(l.EndOffset())
		}
	})
}

// checkCleaned holds one cleaning to the compaction guarantees.
func checkCleaned(t *rapid.T, before, after map[string][]string, oldCP, newCP int64) {
	offsetOf := func(s string) int64 {
		var o int64
		_, _ = fmt.Sscanf(s, "%d:", &o)
		return o
	}
	for k, recs := range before {
		kept := after[k]
		// Per-key order holds, and what is kept was there before.
		for i := 1; i < len(kept); i++ {
			if offsetOf(kept[i-1]) >= offsetOf(kept[i]) {
				t.Fatalf("key %s out of order after cleaning: %v", k, kept)
			}
		}
		// Nothing at or above the new checkpoint changed.
		var above, aboveAfter []string
		for _, r := range recs {
			if offsetOf(r) >= newCP {
				above = append(above, r)
			}
		}
		for _, r := range kept {
			if offsetOf(r) >= newCP {
				aboveAfter = append(aboveAfter, r)
			}
		}
		if fmt.Sprint(above) != fmt.Sprint(aboveAfter) {
			t.Fatalf("key %s: records above the cleaner's checkpoint %d changed: %v -> %v", k, newCP, above, aboveAfter)
		}
		// The latest record of the key survives, unless it is a tombstone
		// an earlier cleaning had kept (below the old checkpoint).
		last := recs[len(recs)-1]
		tombstoneGone := len(last) > 6 && last[len(last)-5:] == "<nil>" && offsetOf(last) < oldCP
		if !tombstoneGone && (len(kept) == 0 || kept[len(kept)-1] != last) {
			t.Fatalf("key %s lost its latest record %s: kept %v (checkpoint %d -> %d)", k, last, kept, oldCP, newCP)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Fatalf("key %s appeared in cleaning", k)
		}
	}
}

// A crash between writing a segment's cleaned copy and renaming it over the
// segment leaves a ".cleaned" file: the next open deletes it and keeps the
// segment as it was, so the log reads as before the interrupted cleaning.
func TestOpenRemovesACleaningCutShortByACrash(t *testing.T) {
	n := node(t, 7)
	tc := log.DefaultTopicConfig()
	tc.Delete, tc.Compact = false, true
	tc.SegmentBytes = 200
	tc.MinCleanableDirtyRatio = 0
	l, _ := open(t, n, log.Config{Topic: tc}, log.OpenOptions{Clean: true})
	for i := range 12 {
		r := protocol.Record{Key: []byte(fmt.Sprintf("k%d", i%3)), Value: []byte(fmt.Sprintf("v%d", i))}
		_, err := l.AppendAsLeader(protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer, []protocol.Record{r}), 0, 0)
		require.NoError(t, err)
	}
	l.SetHighWatermark(l.EndOffset())
	require.NoError(t, l.Flush(0))
	before := l.Keys()

	var segs []string
	for _, name := range n.Disk().List("") {
		if strings.HasSuffix(name, ".log") {
			segs = append(segs, name)
		}
	}
	require.Greater(t, len(segs), 1, "the log must have rolled")
	// The cleaner wrote and synced the first segment's cleaned copy, then
	// the broker died before the rename.
	f, err := n.Disk().Create(segs[0] + ".cleaned")
	require.NoError(t, err)
	require.NoError(t, f.WriteAt([]byte("half a cleaned segment"), 0))
	require.NoError(t, f.Sync())

	reopened, _ := open(t, n, log.Config{Topic: tc}, log.OpenOptions{})
	for _, name := range n.Disk().List("") {
		require.False(t, strings.HasSuffix(name, ".cleaned"), "%s survived the reopen", name)
	}
	require.Equal(t, before, reopened.Keys(), "the interrupted cleaning changed nothing")
	require.Equal(t, l.EndOffset(), reopened.EndOffset())
}

// The cleaner keeps every producer's last batch, empty if all its records
// were superseded, so that the producer's state survives cleaning and a
// restart: a retry is still a duplicate, its next batch still in sequence.
func TestCleanerKeepsEachProducersLastBatch(t *testing.T) {
	n := node(t, 3)
	tc := log.DefaultTopicConfig()
	tc.Delete, tc.Compact = false, true
	tc.SegmentBytes = 150
	tc.MinCleanableDirtyRatio = 0
	l, _ := open(t, n, log.Config{Topic: tc}, log.OpenOptions{Clean: true})
	send := func(l *log.Log, pid int64, seq int32, key, value string) error {
		r := protocol.Record{Key: []byte(key), Value: []byte(value)}
		_, err := l.AppendAsLeader(protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch,
			protocol.Producer{ID: pid, Epoch: 0, BaseSequence: seq}, []protocol.Record{r}), 0, 0)
		return err
	}
	require.NoError(t, send(l, 5, 0, "k", "from-5"))
	for i := range 8 {
		require.NoError(t, send(l, 6, int32(i), "k", fmt.Sprintf("from-6-%d", i)))
	}
	l.SetHighWatermark(l.EndOffset())
	res, cleaned, err := l.Clean(0)
	require.NoError(t, err)
	require.True(t, cleaned)
	require.Equal(t, 1, res.Retained, "producer 5's only batch is kept, empty")
	require.NotContains(t, fmt.Sprint(l.Keys()["k"]), "from-5", "its record is gone")
	require.NoError(t, l.Flush(0))

	reopened, _ := open(t, n, log.Config{Topic: tc}, log.OpenOptions{})
	end := reopened.EndOffset()
	// A retry of producer 5's batch is still recognised as its duplicate.
	require.NoError(t, send(reopened, 5, 0, "k", "from-5"))
	require.Equal(t, end, reopened.EndOffset(), "the retried batch was written again: producer 5's state was lost with its records")
	require.NoError(t, send(reopened, 5, 1, "k", "from-5-again"), "and its next batch is in sequence")
}
