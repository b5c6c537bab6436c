package scenarios_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

func TestShrinkKeepsTheFinding(t *testing.T) {
	s, err := scenarios.Builtin("unclean-election-loss")
	require.NoError(t, err)
	sh, err := scenarios.Shrink(s, scenarios.ShrinkOptions{Keep: []string{"lost-committed"}})
	require.NoError(t, err)
	assert.Equal(t, 5, sh.From)
	assert.Less(t, len(sh.Scenario.Faults), sh.From, "some fault was not needed: %s", sh.Scenario.Faults)
	assert.LessOrEqual(t, *sh.Scenario.Duration, *s.Duration)
	ok, _ := sh.Result.Expected()
	assert.True(t, ok, "the minimal run still shows the loss: %s", sh.Result.Summary())
	// 1-minimal: dropping any one remaining fault loses the finding.
	for i := range sh.Scenario.Faults {
		c := sh.Scenario
		c.Faults = append(c.Faults[:i:i], c.Faults[i+1:]...)
		res, err := scenarios.Run(c, scenarios.Options{NoTimeline: true})
		require.NoError(t, err)
		found := false
		for _, f := range res.Findings() {
			found = found || f.Name == "lost-committed"
		}
		assert.False(t, found, "fault %s was not needed", sh.Scenario.Faults[i])
	}
	script, err := scenarios.RegressionScript(sh.Scenario, sh.Result, "shrunk from unclean-election-loss")
	require.NoError(t, err)
	assert.Contains(t, script, "# shrunk from unclean-election-loss\nrun\n{")
	assert.Contains(t, script, "lost-committed [data-loss] orders-0\n")
}

func TestShrinkNeedsAFailure(t *testing.T) {
	_, err := scenarios.Shrink(parse(t, small), scenarios.ShrinkOptions{})
	assert.ErrorContains(t, err, "found no problem: there is nothing to shrink")
	_, err = scenarios.Shrink(parse(t, small), scenarios.ShrinkOptions{Keep: []string{"lost-write"}})
	assert.ErrorContains(t, err, "does not produce [lost-write]")
}

// TestRegressionScripts runs the scenario scripts under testdata: each run
// directive's input is a scenario, its expected output the run's outcome.
// Shrunk failures are written in this form (kafkasim shrink --script);
// `go test ./scenarios -run TestRegressionScripts -rewrite` updates them.
func TestRegressionScripts(t *testing.T) {
	// Scripts are the files directly in testdata (rapid keeps its failure
	// files in testdata/rapid).
	paths, err := filepath.Glob("testdata/*")
	require.NoError(t, err)
	for _, path := range paths {
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			continue
		}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "run":
				s, err := scenarios.Parse(d.Pos, []byte(d.Input))
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true})
				if err != nil {
					return "error: " + err.Error() + "\n"
				}
				return scenarios.Outcome(res)
			}
			t.Fatalf("%s: unknown command %q: scripts know run", d.Pos, d.Cmd)
			return ""
		})
	}
}
