package scenarios

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHuntScenarioIsValidAndReplays(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	for seed := uint64(1); seed <= 200; seed++ {
		a, da, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err, "seed %d", seed)
		b, db, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err)
		require.Equal(t, a, b, "seed %d draws one scenario", seed)
		require.Equal(t, da.String(), db.String())
		require.NotEmpty(t, da.Kinds)
	}
}
