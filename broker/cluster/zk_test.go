package cluster_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
