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

func TestSmoke(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	c, err := cluster.New(s, net, cluster.DefaultConfig())
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(30*time.Second))
	t.Logf("ready at %v\n%s", s.Now(), c.Describe())
	require.NoError(t, c.CreateTopic(cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3}, 10*time.Second))
	t.Logf("topic at %v\n%s", s.Now(), c.Describe())
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	leader, ok := c.Leader(tp)
	require.True(t, ok)
	require.NoError(t, c.Node(leader).Crash())
	require.NoError(t, s.RunFor(15*time.Second))
	t.Logf("after crash of %d at %v\n%s", leader, s.Now(), c.Describe())
	require.NoError(t, c.Node(leader).Restart())
	require.NoError(t, s.RunFor(30*time.Second))
	t.Logf("after restart at %v\n%s", s.Now(), c.Describe())
	ctl := c.ActiveController()
	require.NoError(t, ctl.Node().Crash())
	require.NoError(t, s.RunFor(15*time.Second))
	t.Logf("after controller crash at %v\n%s", s.Now(), c.Describe())
}
