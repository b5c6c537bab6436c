package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/reports"
)

func sampleComparison() reports.Comparison {
	clean := sampleRun(30)
	clean.Verdict = reports.Verdict{OK: true, Summary: "ok: no acknowledged write lost; orders-0 offline 41s"}
	clean.Findings = nil
	unclean := sampleRun(30)
	return reports.Comparison{
		Title:   "all brokers down: clean vs unclean election",
		Seed:    42,
		Replay:  "kafkasim compare all-brokers-down --seed 42",
		Faults:  unclean.Faults,
		Columns: []string{"clean", "unclean"},
		Rows: []reports.ComparisonRow{
			{Measure: "orders-0 time offline", Values: []string{"41s", "10s"}, Bad: []bool{true, false}},
			{Measure: "orders-0 acknowledged writes lost", Values: []string{"0", "3"}, Bad: []bool{false, true}},
		},
		Runs: []reports.Run{clean, unclean},
	}
}

func sampleSweep() reports.Sweep {
	s := reports.Sweep{
		Title: "standard scenario, 1000 seeds", Scenario: "standard", Seeds: 1000,
		Outcomes: []reports.Count{{"ok", 990}, {"lost-write", 10}},
		Failures: []reports.SweepFailure{{Seed: 17, Summary: "lost-write on orders-1", Replay: "kafkasim run standard --seed 17"}},
		Headline: reports.Verdict{Summary: "✘ 1 of 1000 seeds found a problem"},
		Coverage: []reports.Count{{"isr.shrunk-to-one", 412}, {"controller.failover", 0}},
	}
	var lost, offline []float64
	for i := range 1000 {
		lost = append(lost, float64(i%7))
		offline = append(offline, float64(i%50)/3)
	}
	s.Histograms = []reports.Histogram{{Title: "acknowledged writes lost per run", Unit: "writes", Values: lost}, {Title: "time offline", Unit: "s", Values: offline}, {Title: "empty", Unit: "s"}}
	return s
}

func TestComparisonReport(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, reports.WriteComparison(&buf, sampleComparison()))
	page := buf.String()
	for _, want := range []string{
		`class="verdict bad"`, "✘ unclean: lost-write", "kafkasim compare all-brokers-down --seed 42",
		`<td class="num cell bad-value">3</td>`, `<td class="num cell">0</td>`, "<h3>clean</h3>", "<h3>unclean</h3>", "orders-0 time offline",
		"What the findings mean",
	} {
		assert.True(t, strings.Contains(page, want), "page lacks %q", want)
	}
}

// TestMatrixHeadlineFromRows: a matrix has rows but no runs; its headline is
// the one its caller computed from the rows' verdicts, never a green "every
// configuration passed" by default.
func TestMatrixHeadlineFromRows(t *testing.T) {
	c := sampleComparison()
	c.Runs = nil
	var buf bytes.Buffer
	require.NoError(t, reports.WriteComparison(&buf, c))
	assert.Contains(t, buf.String(), `class="verdict bad"`, "no runs is not a pass")
	assert.NotContains(t, buf.String(), "every configuration passed")
	c.Headline = &reports.Verdict{OK: false, Summary: "✘ 32 of 48 configurations lost records (997 records at most)"}
	buf.Reset()
	require.NoError(t, reports.WriteComparison(&buf, c))
	assert.Contains(t, buf.String(), "✘ 32 of 48 configurations lost records")
	assert.Contains(t, buf.String(), `class="verdict bad"`)
}

func TestSweepReport(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, reports.WriteSweep(&buf, sampleSweep()))
	page := buf.String()
	for _, want := range []string{
		"✘ 1 of 1000 seeds found a problem", "99.0%", "kafkasim run standard --seed 17",
		"controller.failover (never reached)", "acknowledged writes lost per run", "no values",
		"What the findings mean",
	} {
		assert.True(t, strings.Contains(page, want), "page lacks %q", want)
	}
}
