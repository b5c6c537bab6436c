package client_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// runWorkload runs 3 producer drivers (100 records/s each, 10 keys,
// stopping 10 s before the end) and a group of 3 consumer drivers
// (commitSync every 5 polls) against a 3-broker, 1-controller KRaft
// cluster with a 6-partition topic for d of simulated time, and returns
// the history's operation count and the trace hash.
func runWorkload(tb testing.TB, seed uint64, d time.Duration) (ops int, hash string) {
	s := sim.New(sim.Config{Seed: seed})
	net, err := network.New(s, network.DefaultConfig())
	if err != nil {
		tb.Fatal(err)
	}
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = 3, 1
	c, err := cluster.New(s, net, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	if err := c.Start(); err != nil {
		tb.Fatal(err)
	}
	if err := c.WaitReady(30 * time.Second); err != nil {
		tb.Fatal(err)
	}
	if err := c.CreateTopic(cluster.Topic{Name: "t", Partitions: 6, ReplicationFactor: 3}, time.Minute); err != nil {
		tb.Fatal(err)
	}
	rec := history.NewRecorder(history.Header{Seed: seed})
	env := client.Env{Net: net, Dir: c.Directory(), Bootstrap: c.BrokerIDs(), Recorder: rec}
	start := s.Now()
	for i := 1; i <= 3; i++ {
		d, err := client.NewProducerDriver(env, client.ProducerWorkload{Topic: "t", Rate: 100, Keys: 10, Until: start + d - 10*time.Second})
		if err != nil {
			tb.Fatal(err)
		}
		n, err := s.AddNode(fmt.Sprintf("producer-%d", i), d.Boot)
		if err != nil {
			tb.Fatal(err)
		}
		if err := n.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		d, err := client.NewConsumerDriver(env, client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: 5,
			Properties: map[string]string{"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": "false"}})
		if err != nil {
			tb.Fatal(err)
		}
		n, err := s.AddNode(fmt.Sprintf("consumer-%d", i), d.Boot)
		if err != nil {
			tb.Fatal(err)
		}
		if err := n.Start(); err != nil {
			tb.Fatal(err)
		}
	}
	if err := s.RunUntil(start + d); err != nil {
		tb.Fatal(err)
	}
	rec.Close(s.Now(), nil)
	h, err := rec.History()
	if err != nil {
		tb.Fatal(err)
	}
	return len(h.Ops), s.Trace().HashString()
}

// BenchmarkWorkload3x3 is the measurement: 3 producers and a group
// of 3 consumers on a 3-broker cluster for 60 simulated seconds. It
// reports simulated seconds per wall second, history operations per wall
// second and allocated bytes per history operation.
func BenchmarkWorkload3x3(b *testing.B) {
	var ops int
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := range b.N {
		n, _ := runWorkload(b, uint64(i+1), time.Minute)
		ops += n
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	wall := b.Elapsed().Seconds()
	b.ReportMetric(60*float64(b.N)/wall, "sim-s/s")
	b.ReportMetric(float64(ops)/wall, "ops/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(ops), "B/op-history")
	b.ReportMetric(float64(ops)/float64(b.N), "ops/run")
}

// The whole workload is deterministic: one seed, one trace hash.
func TestWorkloadOnAClusterIsDeterministic(t *testing.T) {
	n1, h1 := runWorkload(t, 5, 20*time.Second)
	n2, h2 := runWorkload(t, 5, 20*time.Second)
	if h1 != h2 || n1 != n2 {
		t.Fatalf("seed 5 ran twice: %d ops, hash %s, then %d ops, hash %s; replay: go test ./broker/client -run TestWorkloadOnAClusterIsDeterministic", n1, h1, n2, h2)
	}
	if n1 < 3000 {
		t.Fatalf("seed 5: only %d operations in 20 s of 3 producers at 100/s and 3 consumers", n1)
	}
}
