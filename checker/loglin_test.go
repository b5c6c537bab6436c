package checker_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// The budget counts work: a check that needs more than it has is
// unchecked, the same way every time, and says how large the budget was.
func TestExhaustedBudgetIsUnchecked(t *testing.T) {
	h := generate(seeded(5), genConfig{Partitions: 2, Producers: 2, Consumers: 2, Ops: 300, Unknown: 10, Fail: 10, Acks: model.AcksAll, Idempotent: true})
	full := checker.CheckLinearizability(h, 0)
	require.Equal(t, checker.Ok, full.Result)
	require.Equal(t, checker.DefaultBudget, full.Budget)
	var logSteps, most int64
	for _, p := range full.Partitions {
		if !p.Key.Offsets {
			logSteps = max(logSteps, p.Steps)
		}
		most = max(most, p.Steps)
	}
	require.Positive(t, logSteps)
	// Enough for every partition: the same verdict and the same work.
	again := checker.CheckLinearizability(h, most)
	assert.Equal(t, checker.Ok, again.Result)
	assert.Equal(t, full.Spent, again.Spent)

	// One step short on the largest partition.
	for range 3 {
		l := checker.CheckLinearizability(h, most-1)
		require.Equal(t, checker.Unchecked, l.Result)
		assert.Equal(t, fmt.Sprintf("unchecked (budget of %d steps exhausted)", most-1), l.String())
		unchecked := 0
		for _, p := range l.Partitions {
			if p.Result == checker.Unchecked {
				unchecked++
				assert.Equal(t, most-1, p.Steps, "an exhausted partition spent its budget")
			}
		}
		assert.Equal(t, 1, unchecked)
	}

	// Too small for any log: every log is unchecked, and the report is not
	// ok, with one finding that names the budget.
	r := checker.Check(h, checker.Options{Budget: 3})
	require.Equal(t, checker.Unchecked, r.Linearizability.Result)
	require.False(t, r.OK())
	var found []checker.Finding
	for _, f := range r.Findings {
		if f.Name == "linearizability-unchecked" {
			found = append(found, f)
		}
	}
	require.Len(t, found, 1)
	assert.Equal(t, checker.Incomplete, found[0].Class)
	assert.Contains(t, found[0].Message, "linearizability unchecked (budget of 3 steps exhausted) for the log of t-0")
	assert.Contains(t, r.Summary(), "1 linearizability-unchecked")
}

// Porcupine's search of a register is metered too: a register it cannot
// decide within the budget is unchecked, not illegal.
func TestRegisterBudget(t *testing.T) {
	h, err := parseHistory(`
c1 commit g t-0=5 @0-10
c1 commit g t-0=7 @20-30
c2 fetch g t-0=5 @40-50
`)
	require.NoError(t, err)
	l := checker.CheckLinearizability(h, 0)
	require.Equal(t, checker.Illegal, l.Result)
	require.Len(t, l.Partitions, 1)
	p := l.Partitions[0]
	assert.Equal(t, []int64{0, 1}, p.Longest)
	assert.Equal(t, int64(2), p.Stuck)
	for b := int64(1); b < p.Steps; b++ {
		assert.Equal(t, checker.Unchecked, checker.CheckLinearizability(h, b).Result, "budget %d", b)
	}
	assert.Equal(t, checker.Illegal, checker.CheckLinearizability(h, p.Steps).Result)
	var buf bytes.Buffer
	require.NoError(t, l.Visualize(&buf), "porcupine draws an illegal register")
	assert.Contains(t, strings.ReplaceAll(buf.String(), `\u003e`, ">"), "fetch-committed(g, t-0) -> 5")
}

// An illegal log's explanation: a partial linearization that keeps real
// time, and the first operation to return of those left out.
func TestLogExplanation(t *testing.T) {
	for _, tc := range []struct {
		history string
		longest []int64
		stuck   int64
	}{{
		// An acknowledged send whose offset precedes one that returned
		// before it was invoked.
		history: `
p1 send t-0 a -> 1 @0-10
p1 send t-0 b -> 0 @20-30
`,
		longest: nil, stuck: 0,
	}, {
		// A read that saw a record before its send was invoked.
		history: `
p1 send t-0 a -> 0 @0-10
c1 poll t-0 pos=0 0:a 1:b @20-30
p1 send t-0 b -> 1 @40-50
`,
		longest: []int64{0}, stuck: 1,
	}, {
		// The final log lacks acknowledged records: every send fits, the
		// final log does not.
		history: `
p1 send t-0 a -> 0 @0-10
p1 send t-0 b -> 1 @20-30
partition t-0 leader=1 replicas=1 isr=1 epoch=1
replica t-0 1 leader epoch=1 hwm=1 0:a
`,
		longest: []int64{0, 1}, stuck: -1,
	}} {
		h, err := parseHistory(tc.history)
		require.NoError(t, err)
		l := checker.CheckLinearizability(h, 0)
		require.Equal(t, checker.Illegal, l.Result, tc.history)
		p := l.Partitions[0]
		assert.Equal(t, tc.longest, p.Longest, tc.history)
		assert.Equal(t, tc.stuck, p.Stuck, tc.history)
		assert.NotEmpty(t, p.StuckText)
	}
}

// The visualization of a large illegal log shows the end of the partial
// linearization, where it got stuck, without searching the whole log.
func TestVisualizeLargeIllegalLog(t *testing.T) {
	h := benchHistory(20_000)
	parts := polled(h, 3)
	p := parts[len(parts)/2]
	p.Records = append(p.Records[:1], p.Records[2:]...)
	l := checker.CheckLinearizability(h, 0)
	require.Equal(t, checker.Illegal, l.Result)
	var illegal checker.LinPartition
	for _, lp := range l.Partitions {
		if lp.Result == checker.Illegal {
			illegal = lp
		}
	}
	require.Equal(t, checker.PartitionKey{TP: p.TP()}, illegal.Key)
	assert.Contains(t, illegal.StuckText, fmt.Sprintf("poll(from %d)", p.Position))
	assert.Greater(t, len(illegal.Longest), 100)
	var buf bytes.Buffer
	require.NoError(t, l.Visualize(&buf))
	page := strings.ReplaceAll(buf.String(), `\u003e`, ">") // as JSON escapes it
	assert.Contains(t, page, illegal.StuckText)
	assert.Contains(t, page, fmt.Sprintf("poll(from %d) -> [%d:%s", p.Position, p.Records[0].Offset, p.Records[0].Value))
	assert.Contains(t, page, "log of ", "the log's states along the partial linearization")
	assert.Less(t, buf.Len(), 5<<20, "a window of the log, not all of it")

	ok := checker.CheckLinearizability(benchHistory(1_000), 0)
	require.Equal(t, checker.Ok, ok.Result)
	assert.Error(t, ok.Visualize(&buf), "nothing to draw when nothing is illegal")
}
