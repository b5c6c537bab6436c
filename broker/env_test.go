package broker_test

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// controllerID is the controller double's node id.
const controllerID = 100

// clientID is the Kafka node id the test client's node is known by.
const clientID = 200

// env is a simulated cluster for tests: brokers 1..N, the controller
// double, a client node, and a log of what the client and the observer saw.
type env struct {
	s      *sim.Sim
	net    *network.Network
	dir    *protocol.Directory
	nodes  map[int32]*sim.Node
	cfgs   map[int32]broker.Config
	ctrl   *controller
	client *sim.Node
	out    []string
	obs    *observer
	corr   int32
	// responses keeps every response the client received, by correlation id.
	responses map[int32]protocol.Response
	quiet     bool
}

type envOptions struct {
	seed    uint64
	brokers int
	latency time.Duration
	jitter  time.Duration
	config  func(c *broker.Config)
}

func newEnv(o envOptions) (*env, error) {
	if o.brokers <= 0 {
		o.brokers = 3
	}
	if o.latency == 0 {
		o.latency = time.Millisecond
	}
	s := sim.New(sim.Config{Seed: o.seed, Replay: fmt.Sprintf("go test ./broker -run <this test> (seed %d)", o.seed)})
	ncfg := network.DefaultConfig()
	ncfg.Link.Latency, ncfg.Link.Jitter = o.latency, o.jitter
	net, err := network.New(s, ncfg)
	if err != nil {
		return nil, err
	}
	e := &env{s: s, net: net, dir: protocol.NewDirectory(), nodes: make(map[int32]*sim.Node), cfgs: make(map[int32]broker.Config),
		responses: make(map[int32]protocol.Response)}
	e.obs = &observer{env: e}
	e.ctrl = newController(e, controllerID)
	for i := 1; i <= o.brokers; i++ {
		id := int32(i)
		cfg := broker.DefaultConfig(id)
		cfg.Directory, cfg.Network, cfg.Observer = e.dir, net, e.obs
		if o.config != nil {
			o.config(&cfg)
		}
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		n, err := s.AddNode(fmt.Sprintf("b%d", i), broker.Boot(cfg))
		if err != nil {
			return nil, err
		}
		if err := e.dir.Add(id, n.ID()); err != nil {
			return nil, err
		}
		e.nodes[id] = n
		e.cfgs[id] = cfg
	}
	cn, err := s.AddNode("controller", func(*sim.Node) any { return &controllerProcess{c: e.ctrl} })
	if err != nil {
		return nil, err
	}
	e.ctrl.node = cn
	if err := e.dir.Add(controllerID, cn.ID()); err != nil {
		return nil, err
	}
	e.client, err = s.AddNode("client", func(*sim.Node) any { return &clientProcess{e: e} })
	if err != nil {
		return nil, err
	}
	if err := e.dir.Add(clientID, e.client.ID()); err != nil {
		return nil, err
	}
	for _, n := range s.Nodes() {
		if err := n.Start(); err != nil {
			return nil, err
		}
	}
	for _, id := range e.brokerIDs() {
		if err := e.ctrl.register(id); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *env) brokerIDs() []int32 {
	ids := make([]int32, 0, len(e.nodes))
	for id := range e.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (e *env) broker(id int32) (*broker.Broker, bool) {
	n, ok := e.nodes[id]
	if !ok || !n.Up() {
		return nil, false
	}
	b, ok := n.Process().(*broker.Broker)
	return b, ok
}

func (e *env) logf(format string, args ...any) {
	if e.quiet {
		return
	}
	e.out = append(e.out, fmt.Sprintf(format, args...))
}

func (e *env) flush() string {
	var b strings.Builder
	for _, l := range e.out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	e.out = e.out[:0]
	return b.String()
}

func (e *env) nextCorr() int32 {
	e.corr++
	return e.corr
}

// send sends a request from the client node to a broker.
func (e *env) send(to int32, m network.Message) error {
	n, ok := e.nodes[to]
	if !ok {
		return fmt.Errorf("unknown broker %d: brokers are %v", to, e.brokerIDs())
	}
	e.net.Send(e.client.ID(), n.ID(), m)
	return nil
}

func (e *env) view() *broker.ClusterView {
	return broker.NewClusterView(e.nodes, func() *metadata.Image { return e.ctrl.image })
}

// clientProcess logs the responses the client receives.
type clientProcess struct{ e *env }

func (c *clientProcess) Receive(from sim.NodeID, m network.Message) {
	id, _ := c.e.dir.ID(from)
	if r, ok := m.(protocol.Response); ok {
		c.e.responses[r.Correlation()] = r
	}
	c.e.logf("client <- b%d: %v", id, m)
}

// observer logs what the broker tells model.Observer and keeps the acks
// for property checks.
type observer struct {
	env   *env
	acked []ack
	isrs  [][]int32 // every ISR kept, once each (intern)
}

// intern returns the kept copy of isr (the broker's own slice, valid only
// during the call): one copy per distinct ISR, not per acknowledgement.
func (o *observer) intern(isr []int32) []int32 {
	for _, s := range o.isrs {
		if slices.Equal(s, isr) {
			return s
		}
	}
	s := slices.Clone(isr)
	o.isrs = append(o.isrs, s)
	return s
}

type ack struct {
	tp          model.TopicPartition
	leader      int32
	epoch       int32
	first, last int64
	isr         []int32
}

func (o *observer) Acked(tp model.TopicPartition, leader, epoch int32, first, last int64, isr []int32) {
	o.acked = append(o.acked, ack{tp, leader, epoch, first, last, o.intern(isr)})
	if o.env.quiet {
		return // no formatting arguments boxed for nobody (benchmarks)
	}
	o.env.logf("observer: b%d acked %s [%d, %d] at epoch %d with ISR %v", leader, tp, first, last, epoch, isr)
}

func (o *observer) Truncated(tp model.TopicPartition, b int32, from, to int64, reason string) {
	if to < 0 {
		o.env.logf("observer: b%d truncated %s from %d (%s)", b, tp, from, reason)
		return
	}
	o.env.logf("observer: b%d truncated %s [%d, %d) (%s)", b, tp, from, to, reason)
}
