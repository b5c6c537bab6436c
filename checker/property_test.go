package checker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
)

func describe(r *checker.Report) string {
	var b strings.Builder
	if r.Linearizability != nil {
		fmt.Fprintf(&b, "linearizability: %s\n", r.Linearizability.Result)
		for _, p := range r.Linearizability.Partitions {
			if p.Result != checker.Ok {
				fmt.Fprintf(&b, "  %s: %s, %d of %d placed, stuck at op %d: %s\n", p.Key, p.Result, len(p.Longest), p.Ops, p.Stuck, p.StuckText)
			}
		}
	}
	for _, f := range r.Findings {
		b.WriteString(f.Short() + "\n")
	}
	return b.String()
}

// Histories from a correct reference log pass every check.
func TestGeneratedHistoriesPass(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cfg := defaultGen()
		cfg.Ops = rapid.IntRange(1, 60).Draw(t, "ops")
		cfg.Partitions = rapid.IntRange(1, 3).Draw(t, "partitions")
		h := generate(rapidRandom{t}, cfg)
		r := checker.Check(h, checker.Options{})
		require.Equal(t, checker.Ok, r.Linearizability.Result, "%s", describe(r))
		require.Empty(t, checker.Bad(r.Findings), "%s", describe(r))
		require.True(t, r.OK())
		for _, f := range r.Findings {
			require.Contains(t, []string{"unseen"}, f.Name, "only notes: %s", f.String())
		}
	})
}

// A mutation that breaks a correct history.
type mutation struct {
	name string
	// apply changes h and returns the findings that must now appear
	// (any one of them), or ok=false if h offers nothing to mutate.
	// Unless legal is set, porcupine must find the result illegal too.
	apply func(t *rapid.T, h *history.History) (want []string, legal, ok bool)
}

// polled returns every successful poll part with at least n records.
func polled(h *history.History, n int) []*history.PollPart {
	var out []*history.PollPart
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindPoll || op.Outcome != history.OK {
			continue
		}
		for j := range op.Poll.Parts {
			if len(op.Poll.Parts[j].Records) >= n {
				out = append(out, &op.Poll.Parts[j])
			}
		}
	}
	return out
}

var mutations = []mutation{
	{"a poll drops a record", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		// Not a poll's last record: that leaves a legal read of a shorter
		// run, and only a later poll by the same consumer could tell.
		parts := polled(h, 2)
		if len(parts) == 0 {
			return nil, false, false
		}
		p := parts[rapid.IntRange(0, len(parts)-1).Draw(t, "part")]
		i := rapid.IntRange(0, len(p.Records)-2).Draw(t, "record")
		p.Records = slices.Delete(p.Records, i, i+1)
		return []string{"poll-skip", "int-poll-skip"}, false, true
	}},
	{"the final log loses its tail", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		leaders := checker.FinalLogs(h)
		var cands []int
		for i := range h.Replicas {
			for _, l := range leaders {
				if h.Replicas[i].TP == l.TP && h.Replicas[i].Broker == l.Broker && len(l.Records) > 0 {
					cands = append(cands, i)
				}
			}
		}
		if len(cands) == 0 {
			return nil, false, false
		}
		r := &h.Replicas[cands[rapid.IntRange(0, len(cands)-1).Draw(t, "replica")]]
		// The leader lost its tail from some offset on, as a truncation
		// would. Some record lost must have been acknowledged or read.
		i := rapid.IntRange(0, len(r.Records)-1).Draw(t, "from")
		known := make(map[string]bool)
		for j := range h.Ops {
			op := &h.Ops[j]
			switch {
			case op.Kind == history.KindSend && op.Outcome == history.OK && op.Send.TP() == r.TP:
				known[string(op.Send.Value)] = true
			case op.Kind == history.KindPoll && op.Outcome == history.OK:
				for _, pp := range op.Poll.Parts {
					for _, rec := range pp.Records {
						known[string(rec.Value)] = known[string(rec.Value)] || pp.TP() == r.TP
					}
				}
			}
		}
		if !slices.ContainsFunc(r.Records[i:], func(rec history.Record) bool { return known[string(rec.Value)] }) {
			return nil, false, false
		}
		r.Records = r.Records[:i]
		r.LogEndOffset = int64(i)
		r.HighWatermark = int64(i)
		return []string{"lost-write", "lost-committed"}, false, true
	}},
	{"a poll reads a value from another offset", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		parts := polled(h, 2)
		if len(parts) == 0 {
			return nil, false, false
		}
		p := parts[rapid.IntRange(0, len(parts)-1).Draw(t, "part")]
		i := rapid.IntRange(1, len(p.Records)-1).Draw(t, "record")
		p.Records[i].Value = p.Records[i-1].Value
		return []string{"duplicate", "inconsistent-offsets"}, false, true
	}},
	{"two records swap offsets", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		parts := polled(h, 2)
		if len(parts) == 0 {
			return nil, false, false
		}
		p := parts[rapid.IntRange(0, len(parts)-1).Draw(t, "part")]
		i := rapid.IntRange(1, len(p.Records)-1).Draw(t, "record")
		p.Records[i].Value, p.Records[i-1].Value = p.Records[i-1].Value, p.Records[i].Value
		return []string{"inconsistent-offsets", "duplicate"}, false, true
	}},
	{"two acknowledged sends swap offsets", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		var sends []*history.Op
		for i := range h.Ops {
			op := &h.Ops[i]
			if op.Kind == history.KindSend && op.Outcome == history.OK && op.Send.Partition == 0 {
				sends = append(sends, op)
			}
		}
		if len(sends) < 2 {
			return nil, false, false
		}
		i := rapid.IntRange(1, len(sends)-1).Draw(t, "send")
		a, b := sends[i-1], sends[i]
		a.Send.Offset, b.Send.Offset = b.Send.Offset, a.Send.Offset
		return []string{"inconsistent-offsets", "duplicate", "nonmonotonic-send"}, false, true
	}},
	{"a committed offset reads stale", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		// Two acknowledged commits of fresh offsets, one after the other,
		// then a fetch that returns the first.
		end := h.Ops[len(h.Ops)-1].Complete
		for i := range h.Ops {
			end = max(end, h.Ops[i].Complete)
		}
		id := h.Ops[len(h.Ops)-1].ID
		ms := time.Millisecond
		old := int64(rapid.IntRange(1000, 1010).Draw(t, "old"))
		for i, off := range []int64{old, old + int64(rapid.IntRange(1, 5).Draw(t, "step")), old} {
			kind := history.KindCommit
			if i == 2 {
				kind = history.KindFetchCommitted
			}
			at := end + time.Duration(2*i+1)*ms
			id++
			h.Ops = append(h.Ops, history.Op{ID: id, Client: "auditor", Kind: kind, Invoke: at, Complete: at + ms, Outcome: history.OK,
				Offsets: &history.Offsets{Group: "g", Offsets: []history.CommittedOffset{{Topic: "t", Partition: 0, Offset: off, LeaderEpoch: -1}}}})
		}
		return []string{"committed-offset-regression"}, false, true
	}},
	{"a definitely failed send is read", func(t *rapid.T, h *history.History) ([]string, bool, bool) {
		parts := polled(h, 1)
		var failed *history.Op
		for i := range h.Ops {
			op := &h.Ops[i]
			if op.Kind == history.KindSend && op.Effective() == history.Fail && op.Send.Partition == 0 {
				failed = op
			}
		}
		for _, p := range parts {
			if p.Partition == 0 && failed != nil {
				p.Records[len(p.Records)-1].Value = failed.Send.Value
				return []string{"G1a"}, false, true
			}
		}
		return nil, false, false
	}},
}

// Each mutation of a correct history is flagged, by name, and porcupine
// finds it illegal.
func TestMutatedHistoriesAreFlagged(t *testing.T) {
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			applied := 0
			rapid.Check(t, func(t *rapid.T) {
				cfg := defaultGen()
				cfg.Ops = rapid.IntRange(20, 80).Draw(t, "ops")
				h := generate(rapidRandom{t}, cfg)
				want, legal, ok := m.apply(t, h)
				if !ok {
					t.Skip("nothing to mutate")
				}
				applied++
				r := checker.Check(h, checker.Options{})
				requireRegistered(t, r.Findings)
				var names []string
				for _, f := range checker.Bad(r.Findings) {
					names = append(names, f.Name)
				}
				require.False(t, r.OK(), "%s", describe(r))
				found := false
				for _, w := range want {
					found = found || slices.Contains(names, w)
				}
				require.True(t, found, "want one of %v, got %v\n%s", want, names, describe(r))
				if !legal {
					require.Equal(t, checker.Illegal, r.Linearizability.Result, "%s", describe(r))
				}
			})
			require.Greater(t, applied, 10, "the mutation must apply to most generated histories")
		})
	}
}
