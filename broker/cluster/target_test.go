package cluster_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// A cluster is a fault schedule's target as it is.
var _ fault.Target = (*cluster.Cluster)(nil)

func newCluster(t *testing.T, seed uint64, cfg cluster.Config) (*sim.Sim, *cluster.Cluster) {
	s := sim.New(sim.Config{Seed: seed})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	c, err := cluster.New(s, net, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(30*time.Second))
	return s, c
}

func TestFaultSchedule(t *testing.T) {
	s, c := newCluster(t, 3, cluster.DefaultConfig())
	require.NoError(t, c.CreateTopic(cluster.Topic{Name: "orders", Partitions: 1, ReplicationFactor: 3}, 10*time.Second))
	tp := model.TopicPartition{Topic: "orders", Partition: 0}
	names := fault.Names{Brokers: c.BrokerNames(), Controllers: c.ControllerNames(), Partitions: c.PartitionNames()}
	sched := fault.Schedule{
		{At: fault.Duration(s.Now() + time.Second), Kind: fault.Crash, Nodes: []string{"leader(orders-0)"}},
		{At: fault.Duration(s.Now() + 2*time.Second), Kind: fault.Crash, Nodes: []string{"controller"}},
	}
	require.NoError(t, sched.Validate(names, time.Hour))
	first, _ := c.Leader(tp)
	active := c.ActiveController().ID()
	sched.Install(c)
	require.NoError(t, s.RunFor(20*time.Second))
	assert.False(t, c.Node(first).Up(), "the leader at the fault's time was crashed")
	assert.False(t, c.Node(active).Up(), "the active controller was crashed")
	second, ok := c.Leader(tp)
	require.True(t, ok)
	assert.NotEqual(t, first, second, "a new leader was elected")
	require.NotNil(t, c.ActiveController())
	assert.NotEqual(t, active, c.ActiveController().ID())
}

func TestResolve(t *testing.T) {
	_, c := newCluster(t, 1, cluster.DefaultConfig())
	require.NoError(t, c.CreateTopic(cluster.Topic{Name: "t", Partitions: 1, ReplicationFactor: 3}, 10*time.Second))
	names := func(sel string) []string {
		nodes, err := c.Resolve(sel)
		require.NoError(t, err)
		var out []string
		for _, n := range nodes {
			out = append(out, n.Name())
		}
		return out
	}
	assert.Equal(t, []string{"b1", "b2", "b3"}, names("brokers"))
	assert.Equal(t, []string{"c1", "c2", "c3"}, names("controllers"))
	assert.Equal(t, []string{"b1", "b2", "b3", "c1", "c2", "c3"}, names("all"))
	assert.Equal(t, []string{c.ActiveController().Node().Name()}, names("controller"))
	p, _ := c.Partition(model.TopicPartition{Topic: "t"})
	assert.Equal(t, []string{c.Node(p.Leader).Name()}, names("leader(t-0)"))
	assert.Equal(t, []string{c.Node(p.Replicas[1]).Name()}, names("follower(t-0)"))
	assert.Equal(t, []string{"b2"}, names("b2"))

	for sel, want := range map[string]string{
		"leader(nope-0)": `selector "leader(nope-0)" names unknown partition nope-0: known partitions are t-0`,
		"leader(t)":      `selector "leader(t)": write leader(<topic>-<partition>), such as leader(orders-0)`,
		"b9":             `unknown node "b9": accepted are the nodes b1, b2, b3, c1, c2, c3, the selectors brokers, controllers, zookeepers, all, controller, zookeeper-leader, and leader(<topic>-<partition>), follower(<topic>-<partition>)`,
	} {
		_, err := c.Resolve(sel)
		assert.EqualError(t, err, want)
	}

	// Clients the harness adds to the simulation are named directly, so
	// that a schedule can crash, pause or isolate them; the admin node
	// never is.
	s := c.Sim()
	_, err := s.AddNode("consumer-1", func(*sim.Node) any { return nil })
	require.NoError(t, err)
	assert.Equal(t, []string{"consumer-1"}, names("consumer-1"))
	_, err = c.Resolve(cluster.AdminNode)
	assert.EqualError(t, err, `unknown node "admin": accepted are the nodes b1, b2, b3, c1, c2, c3, consumer-1, the selectors brokers, controllers, zookeepers, all, controller, zookeeper-leader, and leader(<topic>-<partition>), follower(<topic>-<partition>)`)
}

func TestConfigSetRoutes(t *testing.T) {
	cfg := cluster.DefaultConfig()
	require.NoError(t, cfg.Set("min.insync.replicas", "2"))
	assert.Equal(t, 2, cfg.Broker.MinInsyncReplicas)
	assert.Equal(t, 2, cfg.Controller.MinInsyncReplicas)
	require.NoError(t, cfg.Set("broker.session.timeout.ms", "6000"))
	assert.Equal(t, 6*time.Second, cfg.Broker.SessionTimeout)
	assert.Equal(t, 6*time.Second, cfg.Controller.SessionTimeout)
	require.NoError(t, cfg.Set("replica.lag.time.max.ms", "10000"))
	assert.Equal(t, 10*time.Second, cfg.Broker.ReplicaLagTimeMax)
	require.NoError(t, cfg.Set("controller.quorum.election.timeout.ms", "500"))
	assert.Equal(t, 500*time.Millisecond, cfg.Quorum.ElectionTimeout)
	require.NoError(t, cfg.Set("unclean.leader.election.enable", "true"))
	assert.True(t, cfg.Controller.UncleanLeaderElection)

	err := cfg.Set("log.retention.hours", "1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown configuration "log.retention.hours": kafkasim's broker, controller configurations are auto.leader.rebalance.enable,`)
	assert.EqualError(t, cfg.Set("min.insync.replicas", "0"), "invalid value 0 for configuration min.insync.replicas: value must be at least 1")

	require.NoError(t, cfg.SetSwitch("elr", "true"))
	assert.True(t, cfg.Controller.ELR)
	require.NoError(t, cfg.SetSwitch("isr-broker-epoch-check", "false"))
	assert.True(t, cfg.Controller.IgnoreISRBrokerEpochs)
	require.NoError(t, cfg.SetSwitch("truncation", "high-watermark"))
	require.NoError(t, cfg.SetSwitch("check-quorum", "false"))
	assert.False(t, cfg.Quorum.CheckQuorum)
	require.NoError(t, cfg.SetFor(props.Controller, "leader.imbalance.check.interval.seconds", "15"))
	assert.Equal(t, 15*time.Second, cfg.Controller.LeaderImbalanceCheckInterval)
	assert.ErrorContains(t, cfg.SetFor(props.Broker, "leader.imbalance.check.interval.seconds", "15"),
		`unknown configuration "leader.imbalance.check.interval.seconds": kafkasim's broker configurations are`)
	require.NoError(t, cfg.SetFor(props.Broker, "group.max.size", "10"), "every broker property routes, group.* included")
	assert.Equal(t, 10, cfg.Broker.Group.MaxSize)
	assert.EqualError(t, cfg.SetSwitch("truncation", "never"), `switch truncation: invalid value "never": accepted are fetch, epochs, legacy-epochs, high-watermark`)
	assert.EqualError(t, cfg.SetSwitch("elr", "on"), `switch elr: invalid value "on": accepted are false, true`)
	assert.Contains(t, cfg.SetSwitch("kip999", "true").Error(), `unknown switch "kip999": known are check-quorum, controller-epoch-fence, elr,`)
}

func TestConfigValidate(t *testing.T) {
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = 0, 0
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "0 brokers: give at least 1")
	assert.Contains(t, err.Error(), "0 controllers: give at least 1")
}

// TestQuorumSizes runs quorums of 1, 3 and 5 controllers: the cluster
// comes up, and after the active controller crashes (and, for a quorum of
// one, restarts) another active controller takes over from the committed
// log; with a majority of the quorum down, no controller is active.
func TestQuorumSizes(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		t.Run(fmt.Sprintf("controllers=%d", n), func(t *testing.T) {
			cfg := cluster.DefaultConfig()
			cfg.Controllers = n
			s, c := newCluster(t, uint64(n), cfg)
			require.NoError(t, c.CreateTopic(cluster.Topic{Name: "t", Partitions: 2, ReplicationFactor: 3}, 10*time.Second))
			offset := c.Metadata().Offset()
			old := c.ActiveController()
			require.NoError(t, old.Node().Crash())
			if n == 1 {
				require.NoError(t, old.Node().Restart())
			}
			ok, err := s.RunUntilTrue(s.Now()+30*time.Second, func() bool { return c.ActiveController() != nil })
			require.NoError(t, err)
			require.True(t, ok, "no active controller after the failover")
			assert.GreaterOrEqual(t, c.ActiveController().Committed().Offset(), offset, "the new active controller has the committed log")
			require.NoError(t, c.CreateTopic(cluster.Topic{Name: "u", Partitions: 1, ReplicationFactor: 3}, 10*time.Second))
			if n == 1 {
				return
			}
			// Take down a majority: nothing can be active.
			for _, id := range c.ControllerIDs()[:n/2+1] {
				if node := c.Node(id); node.Up() {
					require.NoError(t, node.Crash())
				}
			}
			require.NoError(t, s.RunFor(10*time.Second))
			assert.Nil(t, c.ActiveController(), "a minority of the quorum must not be active")
		})
	}
}
