package scenarios

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
)

// The README's tables are the museum's and the hunt knobs', as the code
// renders them.
func TestReadmeShowsTheMuseumAndTheHuntKnobs(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	assert.Contains(t, string(readme), MuseumMarkdown(), "README's museum table is stale: paste `kafkasim museum --list`")
	assert.Contains(t, string(readme), HuntKnobsMarkdown(), "README's table of hunt knobs is stale: paste HuntKnobsMarkdown()")
	assert.Contains(t, string(readme), BuggifyMarkdown(), "README's table of BUGGIFY points is stale: paste BuggifyMarkdown()")
}

func TestMuseumEntriesAreConsistent(t *testing.T) {
	names := map[string]bool{}
	runnable := 0
	for _, e := range Museum {
		assert.False(t, names[e.Name], "%s is listed twice", e.Name)
		names[e.Name] = true
		assert.NotEmpty(t, e.Bug, e.Name)
		assert.NotEmpty(t, e.Mechanism, e.Name)
		assert.NotEmpty(t, e.Variant, e.Name)
		if !e.Runnable() {
			_, err := e.HuntBase()
			assert.ErrorContains(t, err, "not runnable", e.Name)
			continue
		}
		runnable++
		assert.True(t, checker.KnownFinding(e.Target.Finding), "%s: unknown finding %q", e.Name, e.Target.Finding)
		if e.Scripted != "" {
			s, err := Builtin(e.Scripted)
			require.NoError(t, err, e.Name)
			assert.Contains(t, s.Expect.Findings, e.Target.Finding, "%s: the scripted scenario %s must expect %s", e.Name, e.Scripted, e.Target.Finding)
		}
		base, err := e.HuntBase()
		require.NoError(t, err, e.Name)
		_, _, err = HuntScenario(base, 1, e.Hunt)
		require.NoError(t, err, e.Name)
		cur, err := e.Current()
		require.NoError(t, err, e.Name)
		require.NoError(t, cur.Defaults().Validate(), e.Name)
		assert.Empty(t, lossVariants(cur.Cluster.Protocol), "%s: current Kafka has no loss variant", e.Name)
		if e.Target.Allowance == checker.AllowVariant {
			assert.NotEmpty(t, lossVariants(base.Cluster.Protocol), "%s: the hunt's scenario has its variant", e.Name)
		}
	}
	assert.GreaterOrEqual(t, runnable, 10)
}

// Every scripted scenario of the museum finds its target on seed 1.
func TestMuseumScriptedFinds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scripted entry")
	}
	for _, e := range Museum {
		if !e.Runnable() || e.Scripted == "" {
			continue
		}
		s, err := Builtin(e.Scripted)
		require.NoError(t, err)
		res, err := Run(s, Options{NoTimeline: true})
		require.NoError(t, err)
		assert.True(t, e.Target.Found(res), "%s: %s did not find %s: %s", e.Name, e.Scripted, e.Target.Finding, res.Summary())
	}
}
