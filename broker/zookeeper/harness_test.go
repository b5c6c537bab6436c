package zookeeper_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// ensemble is a ZooKeeper ensemble in a simulation: servers z1..zN (myid
// 1..N) and client nodes c1..cM, each client node a process holding
// ZooKeeper handles, with the invariants checked after every event.
type ensemble struct {
	s       *sim.Sim
	net     *network.Network
	cfg     zookeeper.Config
	servers []*zkMember
	clients []*clientMember
	ids     map[int64]sim.NodeID
	checker *zookeeper.Checker
	// light skips the invariants, for benchmarks.
	light bool
}

type zkMember struct {
	e    *ensemble
	name string
	sid  int64
	node *sim.Node
}

type clientMember struct {
	e       *ensemble
	name    string
	node    *sim.Node
	handle  *zookeeper.Client // the current handle, nil until connect
	events  []string          // what the default watcher was told, for scripts
	onEvent func(zookeeper.Event)
}

// clientProc is a client node's process: it routes what the network
// delivers to the handles living on the node.
type clientProc struct {
	handles []*zookeeper.Client
}

func (p *clientProc) Receive(from sim.NodeID, m network.Message) {
	for _, h := range p.handles {
		if h.Receive(from, m) {
			return
		}
	}
}

func (p *clientProc) Disconnected(peer sim.NodeID) {
	for _, h := range p.handles {
		h.Disconnected(peer)
	}
}

type ensembleConfig struct {
	seed    uint64
	servers int
	clients int
	zk      zookeeper.Config
	link    network.Link
	replay  string
}

func defaultEnsembleConfig() ensembleConfig {
	return ensembleConfig{seed: 1, servers: 3, clients: 2, zk: zookeeper.DefaultConfig(), link: network.Link{Latency: time.Millisecond}}
}

func newEnsemble(ec ensembleConfig) (*ensemble, error) {
	if ec.replay == "" {
		ec.replay = fmt.Sprintf("go test ./broker/zookeeper (seed %d, %d servers)", ec.seed, ec.servers)
	}
	s := sim.New(sim.Config{Seed: ec.seed, Replay: ec.replay})
	ncfg := network.DefaultConfig()
	ncfg.Link = ec.link
	net, err := network.New(s, ncfg)
	if err != nil {
		return nil, err
	}
	e := &ensemble{s: s, net: net, cfg: ec.zk, ids: make(map[int64]sim.NodeID), checker: zookeeper.NewChecker()}
	for i := 1; i <= ec.servers; i++ {
		m := &zkMember{e: e, name: fmt.Sprintf("z%d", i), sid: int64(i)}
		n, err := s.AddNode(m.name, m.boot)
		if err != nil {
			return nil, err
		}
		m.node = n
		e.servers = append(e.servers, m)
		e.ids[m.sid] = n.ID()
	}
	for i := 1; i <= ec.clients; i++ {
		m := &clientMember{e: e, name: fmt.Sprintf("c%d", i)}
		n, err := s.AddNode(m.name, func(*sim.Node) any { return &clientProc{} })
		if err != nil {
			return nil, err
		}
		m.node = n
		e.clients = append(e.clients, m)
	}
	s.AddCheck("zookeeper-invariants", e.check)
	for _, m := range e.servers {
		if err := m.node.Start(); err != nil {
			return nil, err
		}
	}
	for _, m := range e.clients {
		if err := m.node.Start(); err != nil {
			return nil, err
		}
	}
	return e, s.Err()
}

func (m *zkMember) boot(n *sim.Node) any {
	srv, err := zookeeper.NewServer(m.e.cfg, zookeeper.Setup{
		Node: n, ID: m.sid, Servers: m.e.ids,
		Send: func(to sim.NodeID, msg network.Message) { m.e.net.Send(n.ID(), to, msg) },
	})
	if err != nil {
		n.Sim().Fail("boot", err)
		return nil
	}
	return srv
}

// server returns the member's running server, or nil.
func (m *zkMember) server() *zookeeper.Server {
	s, _ := m.node.Process().(*zookeeper.Server)
	return s
}

func (e *ensemble) running() []*zookeeper.Server {
	var out []*zookeeper.Server
	for _, m := range e.servers {
		if s := m.server(); s != nil {
			out = append(out, s)
		}
	}
	return out
}

func (e *ensemble) check() error {
	if e.light {
		return nil
	}
	return e.checker.Check(e.running())
}

// leader returns the running server that leads in broadcast with the
// highest epoch, or nil.
func (e *ensemble) leader() *zkMember {
	var best *zkMember
	for _, m := range e.servers {
		s := m.server()
		if s == nil || s.State() != zookeeper.Leading || s.Phase() != zookeeper.Broadcast {
			continue
		}
		if best == nil || s.CurrentEpoch() > best.server().CurrentEpoch() {
			best = m
		}
	}
	return best
}

// stable reports whether a leader broadcasts and every running server
// follows it, synchronised.
func (e *ensemble) stable() bool {
	l := e.leader()
	if l == nil {
		return false
	}
	for _, m := range e.servers {
		s := m.server()
		if s == nil || m.node.State() != sim.Up {
			continue
		}
		if s.Phase() != zookeeper.Broadcast || s.Leader() != l.sid || s.CurrentEpoch() != l.server().CurrentEpoch() {
			return false
		}
	}
	return true
}

// caughtUp reports whether the ensemble is stable and every running server
// has applied everything the leader has.
func (e *ensemble) caughtUp() bool {
	if !e.stable() {
		return false
	}
	ls := e.leader().server()
	if ls.Outstanding() > 0 {
		return false
	}
	last, _ := ls.Tree().LastTxn()
	for _, s := range e.running() {
		if z, _ := s.Tree().LastTxn(); z != last {
			return false
		}
	}
	return true
}

func (e *ensemble) member(name string) (*zkMember, *clientMember, error) {
	var names []string
	for _, m := range e.servers {
		if m.name == name {
			return m, nil, nil
		}
		names = append(names, m.name)
	}
	for _, m := range e.clients {
		if m.name == name {
			return nil, m, nil
		}
		names = append(names, m.name)
	}
	return nil, nil, fmt.Errorf("unknown node %q: the ensemble has %s", name, strings.Join(names, ", "))
}

func (e *ensemble) serverNodes() []sim.NodeID {
	out := make([]sim.NodeID, len(e.servers))
	for i, m := range e.servers {
		out[i] = m.node.ID()
	}
	return out
}

// connect makes a new handle on a client node.
func (c *clientMember) connect(cfg zookeeper.ClientConfig, servers []sim.NodeID) (*zookeeper.Client, error) {
	if servers == nil {
		servers = c.e.serverNodes()
	}
	p, ok := c.node.Process().(*clientProc)
	if !ok {
		return nil, fmt.Errorf("%s is down", c.name)
	}
	n := c.node
	h, err := zookeeper.NewClient(cfg, zookeeper.ClientSetup{
		Node: n, Servers: servers,
		Send: func(to sim.NodeID, msg network.Message) { c.e.net.Send(n.ID(), to, msg) },
		Watcher: func(ev zookeeper.Event) {
			c.events = append(c.events, ev.String())
			if c.onEvent != nil {
				c.onEvent(ev)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	p.handles = append(p.handles, h)
	c.handle = h
	return h, nil
}

func (e *ensemble) runUntil(d time.Duration, cond func() bool) (bool, error) {
	return e.s.RunUntilTrue(e.s.Now()+d, cond)
}

func (e *ensemble) describe() string {
	var b strings.Builder
	for _, m := range e.servers {
		if s := m.server(); s != nil {
			fmt.Fprintf(&b, "  %s (%v): %s\n", m.name, m.node.State(), s)
		} else {
			fmt.Fprintf(&b, "  %s: down\n", m.name)
		}
	}
	return b.String()
}
