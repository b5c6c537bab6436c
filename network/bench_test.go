package network_test

import (
	"testing"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

type echo struct {
	n   *sim.Node
	net *network.Network
	m   network.Message
}

// Receive answers every message with the same message, so a fixed number of
// messages stays in flight.
func (e *echo) Receive(from sim.NodeID, m network.Message) { e.net.Send(e.n.ID(), from, m) }

// BenchmarkDeliveries measures the network: 10 nodes bouncing 1,000
// messages between them over latency with jitter. Reported: deliveries per
// wall second.
//
//	go test ./network -run '^$' -bench Deliveries -benchmem
func BenchmarkDeliveries(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	net, err := network.New(s, network.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var procs []*echo
	for i := range 10 {
		n, _ := s.AddNode(string(rune('a'+i)), func(n *sim.Node) any {
			e := &echo{n: n, net: net}
			procs = append(procs, e)
			return e
		})
		_ = n.Start()
	}
	msg := text("ping")
	for i := range 1000 {
		net.Send(sim.NodeID(i%10), sim.NodeID((i+1)%10), msg)
	}
	b.ReportAllocs()
	b.ResetTimer()
	before := net.Stats().Delivered
	for range b.N {
		s.Step()
	}
	b.ReportMetric(float64(net.Stats().Delivered-before)/b.Elapsed().Seconds(), "deliveries/s")
}
