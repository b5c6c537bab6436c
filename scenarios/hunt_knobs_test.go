package scenarios

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hunt draws leader.imbalance.check.interval.seconds per seed, never
// above the scenario's own value (Kafka's 300 s when it sets none), and
// from its own stream: the fault schedule does not depend on it.
func TestHuntDrawsTheImbalanceCheckIntervalUpToTheScenarios(t *testing.T) {
	const key = "leader.imbalance.check.interval.seconds"
	for _, c := range []struct {
		builtin string
		most    int
	}{{"standard", 300}, {"kip279-fast-leader-changes-legacy", 15}} {
		base, err := Builtin(c.builtin)
		require.NoError(t, err)
		seen := map[int]bool{}
		for seed := uint64(1); seed <= 30; seed++ {
			s, _, err := HuntScenario(base, seed, HuntOptions{})
			require.NoError(t, err)
			v, err := strconv.Atoi(s.Cluster.ControllerConfig[key])
			require.NoError(t, err, c.builtin)
			require.GreaterOrEqual(t, v, 2, c.builtin)
			require.LessOrEqual(t, v, c.most, c.builtin)
			seen[v] = true
			noKnob := base
			noKnob.Cluster.ControllerConfig = map[string]string{key: "7"}
			other, _, err := HuntScenario(noKnob, seed, HuntOptions{})
			require.NoError(t, err)
			require.Equal(t, s.Faults, other.Faults, "the schedule does not depend on the controller's knobs")
		}
		require.Greater(t, len(seen), 5, "%s: the interval varies from seed to seed", c.builtin)
	}
}
