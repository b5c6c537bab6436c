package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/cluster"
)

// TestDeterminism runs one seed and one fault schedule twice, with ELR on
// and off, and requires the same trace hash; a different seed must give a
// different one.
func TestDeterminism(t *testing.T) {
	schedule := []step{
		{3 * time.Second, "crash", "b1"}, {4 * time.Second, "pause", "c1"}, {6 * time.Second, "power-loss", "b2"},
		{9 * time.Second, "isolate", "b3"}, {14 * time.Second, "resume", "c1"}, {16 * time.Second, "restart", "b1"},
		{20 * time.Second, "heal", "b3"}, {22 * time.Second, "restart", "b2"}, {25 * time.Second, "crash", "c2"},
	}
	topic := cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}}
	for _, elr := range []bool{false, true} {
		cfg := cluster.DefaultConfig()
		cfg.Controller.ELR = elr
		hash := func(seed uint64) (string, uint64) {
			_, s := run(t, seed, cfg, topic, schedule, nil)
			return s.Trace().HashString(), s.Steps()
		}
		h1, n1 := hash(7)
		h2, n2 := hash(7)
		require.Equal(t, h1, h2, "seed 7 twice (elr=%t): trace hashes differ; replay: go test ./broker/cluster -run TestDeterminism", elr)
		require.Equal(t, n1, n2)
		h3, _ := hash(8)
		require.NotEqual(t, h1, h3, "seeds 7 and 8 gave the same trace hash (elr=%t)", elr)
	}
}
