package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// TestFetchSessionReadsOnlyChanges: a leader that reads only the changed
// partitions of a fetch session, and followers that rebuild only the
// changed partitions of their requests, behave exactly as when every
// partition is read and rebuilt for every request (as Kafka does): the
// same trace hash, through crashes, power loss, pauses and partitions that
// change leaders, shrink ISRs (a follower cut off for longer than
// replica.lag.time.max.ms) and expand them again, with a topic of many
// partitions of which only a few are written.
func TestFetchSessionReadsOnlyChanges(t *testing.T) {
	schedule := []step{
		{3 * time.Second, "isolate", "b3"}, {8 * time.Second, "pause", "b2"}, {12 * time.Second, "resume", "b2"},
		{40 * time.Second, "heal", "b3"}, {50 * time.Second, "crash", "b1"}, {56 * time.Second, "power-loss", "b2"},
		{60 * time.Second, "restart", "b1"}, {64 * time.Second, "restart", "b2"}, {70 * time.Second, "isolate", "b1"},
		{75 * time.Second, "heal", "b1"},
	}
	for _, seed := range []uint64{1, 2} {
		hash := func(full bool) (string, uint64) {
			cfg := cluster.DefaultConfig()
			cfg.Broker.FetchSessionFullReads = full
			s := runFewWritten(t, seed, cfg, schedule)
			return s.Trace().HashString(), s.Steps()
		}
		h1, n1 := hash(true)
		h2, n2 := hash(false)
		require.Equal(t, h1, h2, "seed %d: reading only what changed gives another trace than reading everything; replay: go test ./broker/cluster -run TestFetchSessionReadsOnlyChanges", seed)
		require.Equal(t, n1, n2)
	}
}

// runFewWritten runs a 3-broker cluster with a topic of 24 partitions, of
// which 3 are written every 100 ms (acks=all), through schedule, then
// heals and restarts everything and runs on.
func runFewWritten(t *testing.T, seed uint64, cfg cluster.Config, schedule []step) *sim.Sim {
	s := sim.New(sim.Config{Seed: seed, Replay: fmt.Sprintf("go test ./broker/cluster -run TestFetchSessionReadsOnlyChanges (seed %d)", seed)})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	c, err := cluster.New(s, net, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(30*time.Second))
	topic := cluster.Topic{Name: "t", Partitions: 24, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}}
	require.NoError(t, c.CreateTopic(topic, 10*time.Second))
	start := s.Now()
	for _, f := range schedule {
		s.At(start+f.at, "fault."+f.kind, func() { apply(s, net, f) })
	}
	keepProducing(s, c, topic.Name, 3, protocol.AcksAll, 100*time.Millisecond)
	require.NoError(t, s.RunUntil(start+80*time.Second))
	healAll(s, net)
	require.NoError(t, s.RunFor(30*time.Second))
	return s
}
