package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A run that enables the slow OffsetsForLeaderEpoch point, on a scenario
// whose followers ask where epochs end (truncation=legacy-epochs), fires
// it; the same run without it never does.
func TestBuggifySlowOffsetsForLeaderEpochFires(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a scenario twice")
	}
	const mark = "buggify.broker.offsets-for-leader-epoch.slow"
	base, err := Builtin("kip279-fast-leader-changes-legacy")
	require.NoError(t, err)
	plain, err := Run(base, Options{NoTimeline: true})
	require.NoError(t, err)
	assert.Zero(t, plain.Marks[mark])

	s := base
	s.Buggify = []string{"broker.offsets-for-leader-epoch.slow"}
	var fired uint64
	for seed := uint64(1); seed <= 8 && fired == 0; seed++ {
		s.Seed = seed
		res, err := Run(s, Options{NoTimeline: true})
		require.NoError(t, err)
		fired = res.Marks[mark]
	}
	assert.NotZero(t, fired, "the point fired on none of 8 seeds")
}
