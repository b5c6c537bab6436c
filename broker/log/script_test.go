package log_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// logScript drives one partition log on one node's disk: appends with
// timestamps, the high-water mark, retention passes, DeleteRecords, the
// cleaner, crashes and power losses.
type logScript struct {
	n    *sim.Node
	l    *log.Log
	cfg  log.Config
	hwm  int64
	lso  int64
	cln  int64
	epoc int32
}

// TestLogScripts runs the scripts of segments, retention and the cleaner;
// the transaction scripts (testdata/txn) have their own commands.
func TestLogScripts(t *testing.T) {
	for _, dir := range []string{"testdata/segments", "testdata/retention", "testdata/cleaner"} {
		t.Run(dir, func(t *testing.T) { walkLogScripts(t, dir) })
	}
}

func walkLogScripts(t *testing.T, dir string) {
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		s := &logScript{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := s.handle(t, d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

func (s *logScript) arg(d *datadriven.TestData, name string) (string, bool) {
	for _, a := range d.CmdArgs {
		if a.Key == name && len(a.Vals) > 0 {
			return strings.Join(a.Vals, ","), true
		}
	}
	return "", false
}

func (s *logScript) num(d *datadriven.TestData, name string, def int64) int64 {
	v, ok := s.arg(d, name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return n
}

func (s *logScript) open(opt log.OpenOptions) (string, error) {
	opt.LogStartOffset = s.lso
	opt.HighWatermark = s.hwm
	l, info, err := log.Open(s.n.Disk(), tp, s.cfg, opt)
	if err != nil {
		return "", err
	}
	s.l = l
	out := ""
	if info.Truncated > 0 {
		out = fmt.Sprintf("recovery cut %d bytes from offset %d: %s\n", info.Truncated, info.TruncatedFrom, info.Reason)
	}
	return out + s.state(), nil
}

func (s *logScript) state() string {
	var b strings.Builder
	fmt.Fprintf(&b, "log start %d, end %d, hwm %d\n", s.l.StartOffset(), s.l.EndOffset(), s.l.HighWatermark())
	for _, seg := range s.l.Segments() {
		fmt.Fprintf(&b, "segment %s [%d, %d) %d bytes, %d batches\n", log.SegmentName(seg.BaseOffset), seg.BaseOffset, seg.EndOffset, seg.Bytes, seg.Batches)
	}
	fmt.Fprintf(&b, "batches %s\n", s.l.String())
	return b.String()
}

func (s *logScript) handle(t *testing.T, d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "open":
		s.n = node(t, uint64(s.num(d, "seed", 1)))
		tc := log.DefaultTopicConfig()
		for _, a := range d.CmdArgs {
			v := strings.Join(a.Vals, ",")
			n, _ := strconv.ParseInt(v, 10, 64)
			switch a.Key {
			case "segment.bytes":
				tc.SegmentBytes = n
			case "segment.ms":
				tc.SegmentMs = n
			case "retention.ms":
				tc.RetentionMs = n
			case "retention.bytes":
				tc.RetentionBytes = n
			case "cleanup.policy":
				tc.Delete, tc.Compact = strings.Contains(v, "delete"), strings.Contains(v, "compact")
			case "delete.retention.ms":
				tc.DeleteRetentionMs = n
			case "min.compaction.lag.ms":
				tc.MinCompactionLagMs = n
			case "min.cleanable.dirty.ratio":
				tc.MinCleanableDirtyRatio, _ = strconv.ParseFloat(v, 64)
			case "seed":
			default:
				return "", fmt.Errorf("open: unknown argument %s", a.Key)
			}
		}
		s.cfg = log.Config{Topic: tc}
		s.hwm, s.lso, s.cln = 0, 0, 0
		return s.open(log.OpenOptions{Clean: true})
	case "append":
		ts := s.num(d, "ts", 0)
		var recs []protocol.Record
		for _, f := range strings.Fields(d.Input) {
			r := protocol.Record{Timestamp: ts}
			k, v, kv := strings.Cut(f, "=")
			switch {
			case kv && v == "":
				r.Key = []byte(k) // a tombstone
			case kv:
				r.Key, r.Value = []byte(k), []byte(v)
			default:
				r.Value = []byte(f)
			}
			recs = append(recs, r)
		}
		info, err := s.l.AppendAsLeader(protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer, recs), s.epoc, time.Duration(ts)*time.Millisecond)
		if err != nil {
			return "", err
		}
		s.l.SetHighWatermark(s.l.EndOffset())
		s.hwm = s.l.HighWatermark()
		return fmt.Sprintf("appended [%d, %d]\n", info.FirstOffset, info.LastOffset), nil
	case "hwm":
		s.l.SetHighWatermark(s.num(d, "offset", 0))
		s.hwm = s.l.HighWatermark()
		return s.state(), nil
	case "retention":
		now := s.num(d, "now", 0)
		dels, err := s.l.DeleteOldSegments(now, time.Duration(now)*time.Millisecond)
		var b strings.Builder
		for _, del := range dels {
			fmt.Fprintf(&b, "deleted %d segments (%d bytes) by %s: log start %d -> %d\n", del.Segments, del.Bytes, del.Reason, del.From, del.To)
		}
		s.lso = s.l.StartOffset()
		b.WriteString(s.state())
		return b.String(), err
	case "delete-records":
		low, err := s.l.DeleteRecordsBefore(s.num(d, "before", -1))
		s.lso = s.l.StartOffset()
		return fmt.Sprintf("low watermark %d\n", low), err
	case "read":
		r, err := s.l.Read(s.num(d, "offset", 0), s.l.EndOffset(), 1<<20)
		if err != nil {
			return "", err
		}
		return r.String() + "\n", nil
	case "start-at":
		off := s.num(d, "offset", 0)
		if err := s.l.TruncateFullyAndStartAt(off, 0); err != nil {
			return "", err
		}
		s.hwm, s.lso = off, off
		return s.state(), nil
	case "crash":
		require.NoError(t, s.n.Crash())
		require.NoError(t, s.n.Restart())
		return s.open(log.OpenOptions{})
	case "power-loss":
		s.n.PowerLoss(false)
		require.NoError(t, s.n.Restart())
		return s.open(log.OpenOptions{})
	case "clean":
		now := s.num(d, "now", 0)
		res, ok, err := s.l.Clean(now)
		if err != nil {
			return "", err
		}
		var b strings.Builder
		switch {
		case !s.l.TopicConfig().Compact:
			b.WriteString("nothing to clean: cleanup.policy is delete\n")
		case !ok:
			ratio, end := s.l.DirtyRatio(now)
			fmt.Fprintf(&b, "nothing to clean (dirty ratio %.2f below offset %d)\n", ratio, end)
		default:
			fmt.Fprintf(&b, "cleaned [%d, %d) at dirty ratio %.2f: %d -> %d bytes, %d records removed (%d tombstones)\n",
				res.FirstDirty, res.End, res.DirtyRatio, res.BytesBefore, res.BytesAfter, res.Removed, res.Tombstones)
		}
		b.WriteString(s.state())
		keys := s.l.Keys()
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			fmt.Fprintf(&b, "key %s: %s\n", k, strings.Join(keys[k], " "))
		}
		return b.String(), nil
	case "flush":
		return "", s.l.Flush(0)
	case "files":
		return strings.Join(s.n.Disk().List(""), "\n") + "\n", nil
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}
