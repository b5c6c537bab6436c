// Package chatter is a small workload for the kernel and the network alone:
// nodes that send numbered messages to random peers, persist what they have
// seen to disk, and suffer seeded crashes, power losses, pauses and
// partitions. The determinism tests, the kernel benchmarks and the
// kernel-level demo all run it; it exercises every kernel feature without any
// Kafka logic.
package chatter

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Config sizes a chatter run.
type Config struct {
	Seed     uint64
	Nodes    int           // number of nodes (at least 2)
	Duration time.Duration // simulated time to run
	Interval time.Duration // mean time between a node's sends
	Faults   bool          // inject crashes, power losses, pauses and partitions
}

// Result summarises a run.
type Result struct {
	Hash      string
	Steps     uint64
	Records   uint64
	Net       network.Stats
	Received  uint64 // messages received by live processes, summed over the run
	Persisted uint64 // counts durable on disk at the end, summed over nodes
	Faults    int
}

// msg is one chatter message.
type msg struct {
	From sim.NodeID
	Seq  uint64
}

func (m *msg) Kind() string             { return "chat" }
func (m *msg) Digest() uint64           { return sim.Digest(uint64(m.From), m.Seq) }
func (m *msg) String() string           { return fmt.Sprintf("chat#%d from %d", m.Seq, m.From) }
func (m *msg) Size() int                { return 64 }
func (p *proc) Disconnected(sim.NodeID) { p.disconnects++ }

// proc is one node's process.
type proc struct {
	n           *sim.Node
	net         *network.Network
	peers       int
	seq         uint64
	seen        uint64
	disconnects uint64
	file        *sim.File
	interval    time.Duration
	received    *uint64
}

func (p *proc) Receive(from sim.NodeID, m network.Message) {
	p.seen++
	*p.received++
	var buf [8]byte
	binary.LittleEndian.PutUint64(buf[:], p.seen)
	_ = p.file.WriteAt(buf[:], 0)
	if p.seen%16 == 0 {
		_ = p.file.Sync()
	}
}

func (p *proc) tick() {
	r := p.n.Rand()
	to := sim.NodeID(r.IntN(p.peers))
	if to != p.n.ID() {
		p.seq++
		p.net.Send(p.n.ID(), to, &msg{From: p.n.ID(), Seq: p.seq})
	}
	p.n.After(time.Duration(r.Int64N(int64(2*p.interval))+1), "chatter.tick", p.tick)
}

// Run runs a chatter simulation and returns its summary.
func Run(cfg Config) (Result, error) {
	if cfg.Nodes < 2 {
		return Result{}, fmt.Errorf("chatter needs at least 2 nodes, got %d", cfg.Nodes)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Millisecond
	}
	s := sim.New(sim.Config{Seed: cfg.Seed})
	net, err := network.New(s, network.DefaultConfig())
	if err != nil {
		return Result{}, err
	}
	var received uint64
	for i := range cfg.Nodes {
		_, err := s.AddNode(fmt.Sprintf("n%d", i+1), func(n *sim.Node) any {
			f, err := n.Disk().Open("seen")
			if err != nil {
				f, _ = n.Disk().Create("seen")
			}
			p := &proc{n: n, net: net, peers: cfg.Nodes, file: f, interval: cfg.Interval, received: &received}
			if b, _ := f.Bytes(); len(b) >= 8 {
				p.seen = binary.LittleEndian.Uint64(b)
			}
			p.n.After(0, "chatter.tick", p.tick)
			return p
		})
		if err != nil {
			return Result{}, err
		}
	}
	for _, n := range s.Nodes() {
		if err := n.Start(); err != nil {
			return Result{}, err
		}
	}
	faults := 0
	if cfg.Faults {
		faults = nemesis(s, net, s.Rand("nemesis"), cfg.Duration)
	}
	if err := s.RunUntil(cfg.Duration); err != nil {
		return Result{}, err
	}
	res := Result{Hash: s.Trace().HashString(), Steps: s.Steps(), Records: s.Trace().Len(), Net: net.Stats(), Received: received, Faults: faults}
	for _, n := range s.Nodes() {
		if f, err := n.Disk().Open("seen"); err == nil {
			if b, _ := f.Bytes(); len(b) >= 8 {
				res.Persisted += binary.LittleEndian.Uint64(b)
			}
		}
	}
	return res, nil
}

// nemesis schedules a fault every second or so, healing each after a while.
func nemesis(s *sim.Sim, net *network.Network, r *rand.Rand, until time.Duration) int {
	nodes := s.Nodes()
	count := 0
	for at := time.Second; at < until; at += time.Duration(r.Int64N(int64(2 * time.Second))) {
		victim := nodes[r.IntN(len(nodes))]
		heal := at + time.Duration(r.Int64N(int64(3*time.Second)))
		count++
		switch r.IntN(5) {
		case 0:
			s.At(at, "nemesis.crash", func() { _ = victim.Crash() })
			s.At(heal, "nemesis.restart", func() { _ = victim.Restart() })
		case 1:
			tear := r.IntN(2) == 0
			s.At(at, "nemesis.power-loss", func() { victim.PowerLoss(tear) })
			s.At(heal, "nemesis.restart", func() { _ = victim.Restart() })
		case 2:
			s.At(at, "nemesis.pause", func() { _ = victim.Pause() })
			s.At(heal, "nemesis.resume", func() { _ = victim.Resume() })
		case 3:
			s.At(at, "nemesis.isolate", func() { _ = net.Isolate(victim.ID()) })
			s.At(heal, "nemesis.heal", net.Heal)
		case 4:
			other := nodes[r.IntN(len(nodes))]
			s.At(at, "nemesis.cut", func() { _ = net.Cut(victim.ID(), other.ID()) })
			s.At(heal, "nemesis.heal", net.Heal)
		}
	}
	return count
}
