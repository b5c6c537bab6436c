package reports_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/reports"
)

// sampleRun builds a run with every section filled: a leader change, a
// fault, a finding and ops client operations.
func sampleRun(ops int) reports.Run {
	d := 60 * time.Second
	r := reports.Run{
		Title:       "unclean-election-loss",
		Description: "All brokers down, then the stale replica comes back first.",
		Verdict:     reports.Verdict{OK: false, Summary: "lost-write: 3 acknowledged writes lost on orders-0"},
		Seed:        42,
		TraceHash:   "00112233aabbccdd",
		Replay:      "kafkasim run unclean-election-loss --seed 42",
		Duration:    d,
		Steps:       123456,
		Config:      []reports.KV{{"unclean.leader.election.enable", "true"}, {"min.insync.replicas", "1"}},
		Faults:      []reports.Event{{At: 20 * time.Second, Step: 5000, Kind: "all-brokers-down", Text: "all-brokers-down power"}},
		Findings: []reports.Finding{{Name: "lost-write", Class: "data-loss", Partition: "orders-0", At: 31 * time.Second, Step: 7000,
			Message: "value 17 acknowledged at offset 12 is missing <script>alert(1)</script>"}},
		Coverage: []reports.Count{{"controller.election.unclean", 1}},
		Notes:    []string{"a note"},
	}
	tl := reports.PartitionTimeline{Name: "orders-0", Replicas: []int32{1, 2, 3}}
	for i := range 600 {
		at := time.Duration(i) * 100 * time.Millisecond
		leader, epoch := int32(1), int32(1)
		online := true
		if at >= 20*time.Second {
			leader, epoch = 3, 2
		}
		if at >= 20*time.Second && at < 30*time.Second {
			leader, online = -1, false
		}
		s := reports.PartitionSample{At: at, Step: uint64(i * 10), Leader: leader, LeaderEpoch: epoch, ISR: []int32{leader}}
		for range 3 {
			s.Replicas = append(s.Replicas, reports.ReplicaSample{Online: online, LogEndOffset: int64(i), HighWatermark: int64(i) - 1})
		}
		tl.Samples = append(tl.Samples, s)
	}
	r.Partitions = []reports.PartitionTimeline{tl}
	for c := range 3 {
		lane := reports.Lane{Client: fmt.Sprintf("producer-%d", c)}
		n := ops / 3
		for i := range n {
			start := d * time.Duration(i) / time.Duration(n+1)
			op := reports.Op{Start: start, End: start + 3*time.Millisecond, Kind: "send", Outcome: "ok", Label: fmt.Sprintf("value %d → offset %d", i, i)}
			if i%97 == 0 {
				op.Outcome, op.End = "unknown", -1
			}
			lane.Ops = append(lane.Ops, op)
		}
		r.Clients = append(r.Clients, lane)
	}
	return r
}

func TestRunReportHasEverySection(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, reports.WriteRun(&buf, sampleRun(300)))
	page := buf.String()
	for _, want := range []string{
		"<!DOCTYPE html>", `class="verdict bad"`, "lost-write: 3 acknowledged writes lost on orders-0",
		"kafkasim run unclean-election-loss --seed 42", "00112233aabbccdd", "all-brokers-down power",
		"orders-0", `id="lanes-data"`, "controller.election.unclean", "unclean.leader.election.enable",
		"--until-step 7000", "<svg",
		// The legend explains the finding's name, from checker.Registry.
		"What the findings mean", `<td class="mono">lost-write</td><td>data-loss, expected</td>`, "(Jepsen: <span class=\"mono\">lost-write</span>)",
	} {
		assert.True(t, strings.Contains(page, want), "page lacks %q", want)
	}
	assert.False(t, strings.Contains(page, "<script>alert(1)</script>"), "text must be escaped")
	assert.False(t, strings.Contains(page, "http://"), "nothing may load from a network")
	assert.False(t, strings.Contains(page, "https://"), "nothing may load from a network")
}

func TestOKVerdict(t *testing.T) {
	r := sampleRun(0)
	r.Verdict = reports.Verdict{OK: true, Summary: "ok: no anomalies"}
	r.Findings = nil
	var buf bytes.Buffer
	require.NoError(t, reports.WriteRun(&buf, r))
	assert.True(t, strings.Contains(buf.String(), `class="verdict ok"`))
	assert.False(t, strings.Contains(buf.String(), `id="findings"`))
}

// TestLargeHistoryStaysBounded renders 100,000 operations and a long
// partition timeline: the page must stay under 20 MB and say what it
// sampled.
func TestLargeHistoryStaysBounded(t *testing.T) {
	r := sampleRun(300_000)
	long := r.Partitions[0]
	for i := range 20_000 {
		s := long.Samples[len(long.Samples)-1]
		s.At += time.Millisecond
		s.Replicas = []reports.ReplicaSample{{Online: true, LogEndOffset: int64(1000 + i)}, {Online: true}, {Online: true}}
		long.Samples = append(long.Samples, s)
	}
	r.Partitions[0] = long
	var buf bytes.Buffer
	require.NoError(t, reports.WriteRun(&buf, r))
	assert.Less(t, buf.Len(), 20<<20, "report is %d bytes", buf.Len())
	assert.True(t, strings.Contains(buf.String(), "The client history has 300000 operations; the lanes show"))
	assert.True(t, strings.Contains(buf.String(), "changed 20600 times"))
}

func TestWriteFileLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	err := reports.WriteFile(path, func(w io.Writer) error {
		_, _ = w.Write([]byte("partial"))
		return errors.New("boom")
	})
	require.ErrorContains(t, err, "boom")
	entries, _ := os.ReadDir(dir)
	assert.Empty(t, entries, "no partial or temporary file is left")

	require.NoError(t, reports.WriteFile(path, func(w io.Writer) error { return reports.WriteRun(w, sampleRun(30)) }))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(b), "<!DOCTYPE html>"))
	entries, _ = os.ReadDir(dir)
	assert.Len(t, entries, 1)

	err = reports.WriteFile(filepath.Join(dir, "missing-dir", "r.html"), func(w io.Writer) error { return nil })
	assert.ErrorContains(t, err, "write report")
}
