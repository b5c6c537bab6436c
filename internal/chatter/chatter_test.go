package chatter_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/internal/chatter"
)

// TestSameSeedSameHash is the kernel's determinism test: a run with every
// kind of fault, twice, must give the same trace hash. Go randomises map
// iteration per map, so any map order that reached behaviour would show here.
func TestSameSeedSameHash(t *testing.T) {
	for seed := range uint64(5) {
		cfg := chatter.Config{Seed: seed, Nodes: 5, Duration: 30 * time.Second, Faults: true}
		a, err := chatter.Run(cfg)
		require.NoError(t, err)
		b, err := chatter.Run(cfg)
		require.NoError(t, err)
		require.Equal(t, a, b, "seed %d: two runs differ; replay: go test ./internal/chatter -run TestSameSeedSameHash", seed)
		assert.Greater(t, a.Steps, uint64(50_000), "the run must be non-trivial")
		assert.Greater(t, a.Faults, 5)
		assert.Greater(t, a.Net.Dropped, uint64(0), "faults must drop messages")
	}
}

func TestDifferentSeedsDifferentHashes(t *testing.T) {
	seen := map[string]uint64{}
	for seed := range uint64(20) {
		res, err := chatter.Run(chatter.Config{Seed: seed, Nodes: 3, Duration: 5 * time.Second, Faults: true})
		require.NoError(t, err)
		if prev, dup := seen[res.Hash]; dup {
			t.Fatalf("seeds %d and %d give the same hash %s", prev, seed, res.Hash)
		}
		seen[res.Hash] = seed
	}
}

func TestBadConfig(t *testing.T) {
	_, err := chatter.Run(chatter.Config{Nodes: 1})
	assert.ErrorContains(t, err, "at least 2 nodes")
}
