package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

// TestCleanVersusUnclean runs one schedule under both elections: clean
// election keeps every acknowledged write and pays in unavailability;
// unclean election is back sooner and loses writes.
func TestCleanVersusUnclean(t *testing.T) {
	s, err := scenarios.Builtin("unclean-election-loss")
	require.NoError(t, err)
	p, err := scenarios.Compile(s)
	require.NoError(t, err)
	c, err := scenarios.Compare(p, scenarios.ElectionVariants(), scenarios.Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"clean", "unclean", "elr"}, c.Variants)
	clean, unclean := c.Results[0], c.Results[1]
	assert.Equal(t, clean.Schedule, unclean.Schedule, "one schedule for every variant")
	cp, ok := clean.PartitionVerdict("orders-0")
	require.True(t, ok)
	up, ok := unclean.PartitionVerdict("orders-0")
	require.True(t, ok)
	assert.Zero(t, cp.Lost)
	assert.Positive(t, up.Lost)
	assert.Greater(t, cp.Unavailable, up.Unavailable, "clean election waits for an ISR member")
	assert.Positive(t, up.Truncated)
	assert.Equal(t, unclean.TruncatedIn["orders-0"], up.Truncated, "the verdict counts the truncations the brokers reported")
	rows := c.Measures()
	require.NotEmpty(t, rows)
	assert.Equal(t, "orders-0 time unavailable (no leader)", rows[0].Name)
	assert.Len(t, rows[0].Values, 3)
	last := rows[len(rows)-1]
	assert.Equal(t, "verdict", last.Name)
	assert.Equal(t, []bool{false, true, false}, last.Bad)
}

func TestMatrixMarksWhatKafkaRefuses(t *testing.T) {
	axes := scenarios.MatrixAxes()
	pick := []scenarios.Axis{axes[0], axes[5]} // acks × enable.idempotence
	p, err := scenarios.Compile(parse(t, small))
	require.NoError(t, err)
	rows, err := scenarios.Matrix(p, pick, scenarios.Options{}, nil)
	require.NoError(t, err)
	require.Len(t, rows, 4)
	for _, r := range rows {
		if r.Values[0] == "1" && r.Values[1] == "true" {
			assert.Contains(t, r.Invalid, "acks", "idempotence needs acks=all")
			assert.Nil(t, r.Result)
		} else {
			assert.Empty(t, r.Invalid)
			require.NotNil(t, r.Result)
		}
	}
}
