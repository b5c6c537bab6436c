package scenarios_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

func TestSweepShardsMergeByConcatenation(t *testing.T) {
	s := parse(t, small)
	var whole []scenarios.SeedSummary
	var merged bytes.Buffer
	for shard := range 2 {
		sums, err := scenarios.Sweep(s, scenarios.SweepOptions{First: 10, Count: 5, Shard: shard, Shards: 2, Parallel: 2})
		require.NoError(t, err)
		whole = append(whole, sums...)
		require.NoError(t, scenarios.WriteSummaries(&merged, sums))
	}
	require.Len(t, whole, 5, "the shards split the seeds without overlap")
	back, err := scenarios.ReadSummaries(&merged)
	require.NoError(t, err)
	var seeds []uint64
	for _, s := range back {
		seeds = append(seeds, s.Seed)
		assert.Equal(t, "small", s.Scenario)
		assert.Contains(t, s.Replay, "kafkasim run small --seed ")
		assert.NotEmpty(t, s.TraceHash)
	}
	assert.Equal(t, []uint64{10, 11, 12, 13, 14}, seeds, "merged summaries come back in seed order")
	tally := scenarios.TallySummaries(back)
	assert.Equal(t, 5, tally.Seeds)
	assert.Equal(t, 5, tally.Outcomes["ok"])
	for _, st := range scenarios.States {
		_, listed := tally.Coverage[st.Name]
		assert.True(t, listed, "coverage lists %s even when no run reached it", st.Name)
	}
}

func TestSweepDeterminismCheck(t *testing.T) {
	sums, err := scenarios.Sweep(parse(t, small), scenarios.SweepOptions{First: 1, Count: 2, Determinism: true, Parallel: 2})
	require.NoError(t, err)
	for _, s := range sums {
		assert.Empty(t, s.Error, "seed %d", s.Seed)
		assert.True(t, s.OK)
	}
}

func TestSweepErrors(t *testing.T) {
	s := parse(t, small)
	_, err := scenarios.Sweep(s, scenarios.SweepOptions{Count: 0})
	assert.ErrorContains(t, err, "give at least 1")
	_, err = scenarios.Sweep(s, scenarios.SweepOptions{Count: 3, Shard: 2, Shards: 2})
	assert.ErrorContains(t, err, "shard 2/2")
	_, err = scenarios.ReadSummaries(strings.NewReader("{\"scenario\":\"x\",\"seed\":1}\nnot json\n"))
	assert.ErrorContains(t, err, "line 2 is not a seed summary")
	_, err = scenarios.ReadSummaries(strings.NewReader(""))
	assert.ErrorContains(t, err, "no seed summaries")
}
