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
// timestamps, keys and producers, transactional appends and markers, the
// high-water mark and the last stable offset, reads at both isolation
// levels, retention passes, DeleteRecords, the cleaner, truncation, crashes
// and power losses. A script that does not start with open runs on a log
// with the zero configuration.
type logScript struct {
	n    *sim.Node
	l    *log.Log
	cfg  log.Config
	hwm  int64
	lso  int64
	cln  int64
	epoc int32
}

// TestLogScripts runs the scripts under testdata: segments, retention,
// the cleaner and transactions (markers, the last stable offset, the
// aborted-transactions index, reads at both isolation levels).
// `go test ./broker/log -run TestLogScripts -rewrite` regenerates them.
func TestLogScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := &logScript{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if s.l == nil && d.Cmd != "open" {
				s.n = node(t, 1)
				s.l, _ = open(t, s.n, log.Config{}, log.OpenOptions{})
			}
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
	fmt.Fprintf(&b, "log start %d, end %d, hwm %d", s.l.StartOffset(), s.l.EndOffset(), s.l.HighWatermark())
	if lso := s.l.LastStableOffset(); lso != s.l.HighWatermark() {
		fmt.Fprintf(&b, ", lso %d", lso)
	}
	b.WriteString("\n")
	for _, seg := range s.l.Segments() {
		fmt.Fprintf(&b, "segment %s [%d, %d) %d bytes, %d batches\n", log.SegmentName(seg.BaseOffset), seg.BaseOffset, seg.EndOffset, seg.Bytes, seg.Batches)
	}
	fmt.Fprintf(&b, "batches %s\n", s.l.String())
	for _, o := range s.l.OngoingTxns() {
		fmt.Fprintf(&b, "open: producer %d epoch %d from %d\n", o.ProducerID, o.Epoch, o.FirstOffset)
	}
	for _, a := range s.l.AbortedTxns() {
		fmt.Fprintf(&b, "aborted: producer %d %d..%d\n", a.ProducerID, a.FirstOffset, a.LastOffset)
	}
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
	case "leader-epoch":
		s.epoc = int32(s.num(d, "epoch", 0))
		return "", s.l.AssignEpochStartOffset(s.epoc, s.l.EndOffset())
	case "append":
		// Records are the input's words (key=value, key= for a tombstone,
		// or a value), or values=a,b; pid, epoch and seq name the
		// producer, txn makes the batch transactional; the high-water mark
		// follows the log's end unless keep-hwm.
		ts := s.num(d, "ts", 0)
		p := protocol.NoProducer
		if pid, ok := s.arg(d, "pid"); ok {
			id, _ := strconv.ParseInt(pid, 10, 64)
			p = protocol.Producer{ID: id, Epoch: int16(s.num(d, "epoch", 0)), BaseSequence: int32(s.num(d, "seq", 0))}
		}
		var recs []protocol.Record
		words := strings.Fields(d.Input)
		if v, ok := s.arg(d, "values"); ok {
			words = strings.Split(v, ",")
		}
		for _, f := range words {
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
		batch := protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, p, recs)
		if d.HasArg("txn") {
			batch = protocol.AppendTxnBatch(nil, p, recs)
		}
		info, err := s.l.AppendAsLeader(batch, s.epoc, time.Duration(ts)*time.Millisecond)
		if err != nil {
			return "", err
		}
		if !d.HasArg("keep-hwm") {
			s.l.SetHighWatermark(s.l.EndOffset())
			s.hwm = s.l.HighWatermark()
		}
		return fmt.Sprintf("appended [%d, %d]\n", info.FirstOffset, info.LastOffset), nil
	case "marker":
		typ := protocol.ControlCommit
		if v, _ := s.arg(d, "type"); v == "abort" {
			typ = protocol.ControlAbort
		}
		info, err := s.l.AppendMarker(log.Marker{ProducerID: s.num(d, "pid", 0), ProducerEpoch: int16(s.num(d, "epoch", 0)), Type: typ,
			CoordinatorEpoch: int32(s.num(d, "coordinator-epoch", 0))}, s.epoc, time.Millisecond)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("marker at %d\n", info.FirstOffset), nil
	case "truncate":
		if _, _, err := s.l.TruncateTo(s.num(d, "to", 0)); err != nil {
			return "", err
		}
		return s.state(), nil
	case "reopen":
		hwm := s.l.HighWatermark()
		l, _, err := log.Open(s.n.Disk(), tp, s.cfg, log.OpenOptions{Clean: true, RecoveryPoint: s.l.EndOffset(), HighWatermark: hwm})
		if err != nil {
			return "", err
		}
		s.l = l
		return s.state(), nil
	case "state":
		return s.state(), nil
	case "fetch":
		iso, _ := s.arg(d, "isolation")
		return fetch(s.l, s.num(d, "from", 0), iso), nil
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

// fetch reads from offset as a consumer's fetch would at the isolation
// level: up to the high-water mark, or to the last stable offset with the
// aborted transactions, filtered as Kafka's consumer filters them.
func fetch(l *log.Log, from int64, isolation string) string {
	limit := l.HighWatermark()
	var aborted []protocol.AbortedTransaction
	committed := isolation == "read_committed"
	if committed {
		limit = l.LastStableOffset()
		aborted = l.AbortedTransactions(from, limit)
	}
	recs, err := l.Read(from, limit, 1<<20)
	if err != nil {
		return "error: " + err.Error() + "\n"
	}
	f := protocol.NewAbortFilter(aborted)
	var vals []string
	_ = recs.Batches(func(h protocol.BatchHeader, b []byte) bool {
		if committed && f.Skip(h, b) || h.IsControl() {
			return true
		}
		_ = protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
			if r.Offset >= from {
				vals = append(vals, fmt.Sprintf("%d:%s", r.Offset, r.Value))
			}
			return true
		})
		return true
	})
	var b strings.Builder
	if committed {
		fmt.Fprintf(&b, "aborted list: %v\n", aborted)
	}
	fmt.Fprintf(&b, "records: %s\n", strings.Join(vals, " "))
	return b.String()
}
