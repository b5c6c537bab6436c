package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func zkCluster(t *testing.T, seed uint64) (*sim.Sim, *cluster.Cluster) {
	t.Helper()
	s := sim.New(sim.Config{Seed: seed})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	cfg := cluster.DefaultConfig()
	cfg.Metadata, cfg.Controllers = cluster.ZooKeeper, 0
	c, err := cluster.New(s, net, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(60*time.Second))
	require.NoError(t, c.CreateTopic(cluster.Topic{Name: "orders", Partitions: 2, ReplicationFactor: 3}, 30*time.Second))
	return s, c
}

func TestZooKeeperModeElectsAndFailsOver(t *testing.T) {
	s, c := zkCluster(t, 1)
	tp := model.TopicPartition{Topic: "orders", Partition: 0}
	leader, ok := c.Leader(tp)
	require.True(t, ok)
	t.Log(c.Describe())
	nodes, err := c.Resolve("leader(orders-0)")
	require.NoError(t, err)
	require.NoError(t, nodes[0].Crash())
	require.NoError(t, s.RunFor(30*time.Second))
	after, ok := c.Leader(tp)
	require.True(t, ok)
	require.NotEqual(t, leader, after)
	p, _ := c.Partition(tp)
	require.NotContains(t, p.ISR, leader)
	t.Log(c.Describe())

	ctl := c.ZKController()
	require.NotNil(t, ctl)
	epoch, _ := ctl.ZKControllerEpoch()
	require.NoError(t, ctl.Node().Crash())
	require.NoError(t, s.RunFor(30*time.Second))
	next := c.ZKController()
	require.NotNil(t, next)
	e2, _ := next.ZKControllerEpoch()
	require.Greater(t, e2, epoch)
	t.Log(c.Describe())
}

// TestZooKeeperModeDeterminism runs one seed and one fault schedule over
// brokers and ZooKeeper servers twice, and requires the same trace hash; a
// different seed must give a different one.
func TestZooKeeperModeDeterminism(t *testing.T) {
	schedule := []step{
		{3 * time.Second, "crash", "b1"}, {4 * time.Second, "crash", "z1"}, {6 * time.Second, "pause", "b2"},
		{9 * time.Second, "isolate", "z2"}, {30 * time.Second, "resume", "b2"}, {31 * time.Second, "restart", "b1"},
		{32 * time.Second, "heal", "z2"}, {33 * time.Second, "restart", "z1"}, {35 * time.Second, "power-loss", "z3"},
	}
	topic := cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}}
	cfg := cluster.DefaultConfig()
	cfg.Metadata, cfg.Controllers = cluster.ZooKeeper, 0
	hash := func(seed uint64) (string, uint64) {
		_, s := run(t, seed, cfg, topic, schedule, nil)
		return s.Trace().HashString(), s.Steps()
	}
	h1, n1 := hash(7)
	h2, n2 := hash(7)
	require.Equal(t, h1, h2, "seed 7 twice: trace hashes differ; replay: go test ./broker/cluster -run TestZooKeeperModeDeterminism")
	require.Equal(t, n1, n2)
	h3, _ := hash(8)
	require.NotEqual(t, h1, h3, "seeds 7 and 8 gave the same trace hash")
}

// TestZooKeeperModeProperties draws fault schedules over brokers and
// ZooKeeper servers and checks, after every step, the epoch invariants of
// TestProperties on the ZooKeeper-mode controller's state: one leader per
// leader epoch, committed epochs never going back.
func TestZooKeeperModeProperties(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64Range(1, 1<<20).Draw(rt, "seed")
		schedule := drawSchedule(rt, 3, 0)
		for i, f := range schedule {
			if rapid.Bool().Draw(rt, fmt.Sprintf("zk%d", i)) && f.kind != "disk-loss" {
				schedule[i].node = "z" + f.node[1:]
			}
		}
		cfg := cluster.DefaultConfig()
		cfg.Metadata, cfg.Controllers = cluster.ZooKeeper, 0
		topic := cluster.Topic{Name: "t", Partitions: 2, ReplicationFactor: 3}
		w := newEpochWatch()
		_, s := run(rt, seed, cfg, topic, schedule, w.check)
		require.NoError(rt, s.Err(), "seed %d, schedule %v", seed, schedule)
	})
}
