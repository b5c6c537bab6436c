package checker_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

// TestBuiltinHistoriesAgree runs every built-in scenario on a few seeds
// and checks each history with the log checker and with porcupine: they
// must give every partition the same verdict.
func TestBuiltinHistoriesAgree(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, s := range scenarios.Builtins() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			for _, seed := range seeds {
				s.Seed = seed
				res, err := scenarios.Run(s, scenarios.Options{})
				require.NoError(t, err)
				compared, illegal, undecided := agree(t, res.History, fmt.Sprintf("%s seed %d (%d operations)", s.Name, seed, len(res.History.Ops)))
				t.Logf("seed %d: %d operations, %d log partitions compared, %d illegal; %d partitions porcupine did not decide",
					seed, len(res.History.Ops), compared, illegal, undecided)
			}
		})
	}
}
