package log_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// TestTxnScripts runs the transaction scripts under testdata against one
// partition log: transactional appends, markers, the high-water mark,
// the last stable offset, the aborted-transactions index, reads at both
// isolation levels, truncation and recovery.
// `go test ./broker/log -run TestTxnScripts -rewrite` regenerates them.
func TestTxnScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/txn", func(t *testing.T, path string) {
		n := node(t, 1)
		l, _ := open(t, n, log.Config{}, log.OpenOptions{})
		epoch := int32(0)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			a := txnArgs(d)
			switch d.Cmd {
			case "leader-epoch":
				epoch = int32(a.int("epoch", 0))
				if err := l.AssignEpochStartOffset(epoch, l.EndOffset()); err != nil {
					return "error: " + err.Error() + "\n"
				}
				return ""
			case "append":
				p := protocol.Producer{ID: a.int("pid", protocol.NoProducerID), Epoch: int16(a.int("epoch", 0)), BaseSequence: int32(a.int("seq", 0))}
				values := strings.Split(a.str("values", "x"), ",")
				recs := protocol.NewRecords(p, 1, values...)
				if _, ok := a["txn"]; ok {
					recs = protocol.NewTxnRecords(p, 1, values...)
				}
				info, err := l.AppendAsLeader(recs, epoch, 0)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return fmt.Sprintf("offsets %d..%d\n", info.FirstOffset, info.LastOffset)
			case "marker":
				typ := protocol.ControlCommit
				if a.str("type", "commit") == "abort" {
					typ = protocol.ControlAbort
				}
				info, err := l.AppendMarker(log.Marker{ProducerID: a.int("pid", 0), ProducerEpoch: int16(a.int("epoch", 0)), Type: typ,
					CoordinatorEpoch: int32(a.int("coordinator-epoch", 0))}, epoch, time.Millisecond)
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return fmt.Sprintf("marker at %d\n", info.FirstOffset)
			case "hwm":
				l.SetHighWatermark(a.int("to", 0))
				return state(l)
			case "truncate":
				if _, _, err := l.TruncateTo(a.int("to", 0)); err != nil {
					return "error: " + err.Error() + "\n"
				}
				return state(l)
			case "reopen":
				hwm := l.HighWatermark()
				l2, _, err := log.Open(n.Disk(), tp, log.Config{}, log.OpenOptions{Clean: true, RecoveryPoint: l.EndOffset(), HighWatermark: hwm})
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				l = l2
				return state(l)
			case "state":
				return state(l)
			case "fetch":
				return fetch(l, a.int("from", 0), a.str("isolation", "read_uncommitted"))
			}
			return "unknown command " + d.Cmd + "\n"
		})
	})
}

type txnArgMap map[string]string

func txnArgs(d *datadriven.TestData) txnArgMap {
	m := txnArgMap{}
	for _, a := range d.CmdArgs {
		m[a.Key] = strings.Join(a.Vals, ",")
	}
	return m
}

func (m txnArgMap) str(k, def string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return def
}

func (m txnArgMap) int(k string, def int64) int64 {
	v, ok := m[k]
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("argument %s=%q is not an integer", k, v))
	}
	return n
}

func state(l *log.Log) string {
	var b strings.Builder
	fmt.Fprintf(&b, "log: %s\n", l)
	fmt.Fprintf(&b, "leo=%d hwm=%d lso=%d\n", l.EndOffset(), l.HighWatermark(), l.LastStableOffset())
	for _, o := range l.OngoingTxns() {
		fmt.Fprintf(&b, "open: producer %d epoch %d from %d\n", o.ProducerID, o.Epoch, o.FirstOffset)
	}
	for _, a := range l.AbortedTxns() {
		fmt.Fprintf(&b, "aborted: producer %d %d..%d\n", a.ProducerID, a.FirstOffset, a.LastOffset)
	}
	return b.String()
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
