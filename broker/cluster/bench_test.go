package cluster_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func benchCluster(b *testing.B, cfg cluster.Config, topic cluster.Topic) (*sim.Sim, *cluster.Cluster) {
	b.Helper()
	s := sim.New(sim.Config{Seed: 1})
	net, err := network.New(s, network.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	c, err := cluster.New(s, net, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Start(); err != nil {
		b.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		b.Fatal(err)
	}
	if err := c.CreateTopic(topic, time.Minute); err != nil {
		b.Fatal(err)
	}
	return s, c
}

func elections(s *sim.Sim) uint64 {
	var n uint64
	for _, m := range s.MarkNames() {
		if strings.HasPrefix(m, "controller.election.") {
			n += s.Marked(m)
		}
	}
	return n
}

// BenchmarkControllerFailover crashes the active controller of a
// 3-controller, 3-broker cluster (one topic, 10 partitions) and runs until
// another controller is active, then restarts the crashed one: one
// failover per iteration. It reports the simulated time a failover takes
// and how many simulated seconds run per wall second.
func BenchmarkControllerFailover(b *testing.B) {
	s, c := benchCluster(b, cluster.DefaultConfig(), cluster.Topic{Name: "t", Partitions: 10, ReplicationFactor: 3})
	var simTotal, failTotal time.Duration
	b.ResetTimer()
	for range b.N {
		start := s.Now()
		old := c.ActiveController()
		if err := old.Node().Crash(); err != nil {
			b.Fatal(err)
		}
		ok, err := s.RunUntilTrue(s.Now()+time.Minute, func() bool { return c.ActiveController() != nil })
		if err != nil || !ok {
			b.Fatalf("no failover: %v", err)
		}
		failTotal += s.Now() - start
		if err := old.Node().Restart(); err != nil {
			b.Fatal(err)
		}
		if err := s.RunFor(5 * time.Second); err != nil {
			b.Fatal(err)
		}
		simTotal += s.Now() - start
	}
	b.StopTimer()
	wall := b.Elapsed().Seconds()
	b.ReportMetric(failTotal.Seconds()*1000/float64(b.N), "sim-ms/failover")
	b.ReportMetric(simTotal.Seconds()/wall, "sim-s/wall-s")
	if s.Marked("controller.failover") < uint64(b.N) {
		b.Fatalf("%d failovers marked for %d iterations", s.Marked("controller.failover"), b.N)
	}
}

// BenchmarkLeaderElections1000 runs leader elections on 1,000 partitions
// (3 brokers, RF 3): each iteration crashes a broker (its session expires
// and the controller moves its leaderships away and shrinks every ISR),
// restarts it (it catches up and rejoins every ISR), and then runs a
// preferred election of every partition (ElectLeaders), which moves the
// leaderships back. It reports the wall time per election, the elections
// per simulated second, and the simulated seconds per wall second.
func BenchmarkLeaderElections1000(b *testing.B) {
	cfg := cluster.DefaultConfig()
	cfg.Controllers = 1
	s, c := benchCluster(b, cfg, cluster.Topic{Name: "t", Partitions: 1000, ReplicationFactor: 3})
	base := elections(s)
	simStart := s.Now()
	b.ResetTimer()
	for i := range b.N {
		id := int32(i%3 + 1)
		if err := c.Node(id).Crash(); err != nil {
			b.Fatal(err)
		}
		if err := s.RunFor(12 * time.Second); err != nil {
			b.Fatal(err)
		}
		if err := c.Node(id).Restart(); err != nil {
			b.Fatal(err)
		}
		if err := s.RunFor(15 * time.Second); err != nil {
			b.Fatal(err)
		}
		ctl := c.ActiveController()
		resp, err := c.Request(ctl.ID(), &protocol.ElectLeaders{CorrelationID: c.NextCorrelation(), ElectionType: protocol.ElectPreferred}, 10*time.Second)
		if err != nil {
			b.Fatal(err)
		}
		if r := resp.(*protocol.ElectLeadersResponse); r.Error != protocol.None {
			b.Fatalf("ElectLeaders: %s", r.Error)
		}
		if err := s.RunFor(3 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	n := elections(s) - base
	if n == 0 {
		b.Fatal("no elections")
	}
	simSecs := (s.Now() - simStart).Seconds()
	wall := b.Elapsed().Seconds()
	b.ReportMetric(wall*1e6/float64(n), "wall-µs/election")
	b.ReportMetric(float64(n)/simSecs, "elections/sim-s")
	b.ReportMetric(float64(n)/float64(b.N), "elections/op")
	b.ReportMetric(simSecs/wall, "sim-s/wall-s")
}
