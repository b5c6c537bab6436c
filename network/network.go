// Package network is kafkasim's simulated network. Kafka speaks over TCP, so
// the network offers connections: per ordered pair of nodes, messages arrive
// in order and exactly once while the connection is up. A crash, a power
// loss or a partition breaks a connection: whatever is in flight on it is
// lost, and the sender learns of the break as a disconnect, fast when the
// peer's machine answers with a reset (the peer process crashed) and after
// the sender's detection timeout otherwise. The next send opens a new
// connection.
//
// Below that abstraction, knobs for loss, duplication and reordering let an
// experiment break TCP's promises on purpose. Partitions of any shape, one-way
// cuts and heals change which directed links carry messages. Every send,
// delivery, drop and break goes into the simulation's trace.
package network

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// A Message is anything one node sends another. Kind names it in the trace
// (for example "Fetch" or "FetchResponse").
type Message interface {
	Kind() string
}

// A Sized message reports its size in bytes, for links with a bandwidth
// limit. Messages that are not Sized count as 100 bytes.
type Sized interface {
	Size() int
}

// A Digester message summarises its content in a 64-bit digest that goes
// into the trace hash, so that two runs that send different content at the
// same moments still hash differently.
type Digester interface {
	Digest() uint64
}

// A Receiver is a process that accepts messages. The network delivers to
// the destination node's current process if it implements Receiver.
type Receiver interface {
	Receive(from sim.NodeID, m Message)
}

// A Refuser is a process that may not be listening: while Refuses returns
// true for a sender, a new connection from it is refused, as a port that
// is not open yet refuses a TCP connection. The message is lost and the
// sender learns of a disconnect after a round trip, at once rather than
// after its request timeout. Connections already open are not affected.
type Refuser interface {
	Refuses(from sim.NodeID, m Message) bool
}

// A Disconnectable process wants to be told when its connection to a peer
// breaks, so that it can fail the requests it had in flight on it.
type Disconnectable interface {
	Disconnected(peer sim.NodeID)
}

// Link is the behaviour of one directed link.
type Link struct {
	// Latency is the one-way base delay of a message.
	Latency time.Duration
	// Jitter adds a seeded uniform delay in [0, Jitter) to each message;
	// order within a connection is kept regardless.
	Jitter time.Duration
	// Bandwidth, in bytes per second, limits how fast messages leave the
	// sender; 0 means unlimited.
	Bandwidth int64
	// Loss is the probability that a message silently vanishes while the
	// connection stays up (a fault below TCP).
	Loss float64
	// Duplicate is the probability that a message is delivered twice.
	Duplicate float64
	// Reorder is the probability that a message ignores the connection's
	// order and takes up to ReorderDelay longer.
	Reorder      float64
	ReorderDelay time.Duration
}

// Config configures a network.
type Config struct {
	// Link is the behaviour of every link unless SetLink overrides it.
	Link Link
	// DetectTimeout is how long a sender takes to notice a connection that
	// broke silently (peer powered off, partition, one-way cut). Senders may
	// set their own with SetDetectTimeout.
	DetectTimeout time.Duration
}

// DefaultConfig is a datacenter network: 500µs latency with 100µs jitter,
// no bandwidth limit, no loss, and a 10 s detection timeout (Kafka's
// socket.connection.setup.timeout.ms).
func DefaultConfig() Config {
	return Config{
		Link:          Link{Latency: 500 * time.Microsecond, Jitter: 100 * time.Microsecond},
		DetectTimeout: 10 * time.Second,
	}
}

// Validate reports what is wrong with a link's settings.
func (l Link) Validate() error {
	var errs []error
	if l.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative: give 0 or more", l.Latency))
	}
	if l.Jitter < 0 {
		errs = append(errs, fmt.Errorf("jitter %v is negative: give 0 or more", l.Jitter))
	}
	if l.Bandwidth < 0 {
		errs = append(errs, fmt.Errorf("bandwidth %d is negative: give bytes per second, or 0 for unlimited", l.Bandwidth))
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", l.Loss}, {"duplicate", l.Duplicate}, {"reorder", l.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			errs = append(errs, fmt.Errorf("%s probability %v is out of range: give a number from 0 to 1", p.name, p.v))
		}
	}
	if l.Reorder > 0 && l.ReorderDelay <= 0 {
		errs = append(errs, fmt.Errorf("reorder delay %v must be positive when reorder probability is %v", l.ReorderDelay, l.Reorder))
	}
	return errors.Join(errs...)
}

// Validate reports what is wrong with a network configuration.
func (c Config) Validate() error {
	err := c.Link.Validate()
	if c.DetectTimeout <= 0 {
		err = errors.Join(err, fmt.Errorf("detect timeout %v must be positive", c.DetectTimeout))
	}
	return err
}

// link is the state of one directed link and of the connection over it.
type link struct {
	cfg        Link
	blocked    bool
	up         bool   // a connection is established
	gen        uint32 // connection generation: bumped when a connection opens or breaks
	inflight   int    // messages sent on the current connection, not yet delivered
	lastArrive time.Duration
	busyUntil  time.Duration
	notify     sim.Timer // pending disconnect notification to the sender
}

// Network is the simulated network of one simulation.
type Network struct {
	s       *sim.Sim
	cfg     Config
	n       int // nodes covered by links
	links   []link
	detect  map[sim.NodeID]time.Duration
	offline []bool // the node's machine is powered off: nobody answers for it
	rng     *rand.Rand
	free    []*inflight
	stats   Stats
	deliver func(any)
	discon  func(any)
	holds   []*hold
}

// Stats counts what the network did.
type Stats struct {
	Sent, Delivered, Dropped, Duplicated, Breaks uint64
	// Held counts the messages a Hold delayed.
	Held uint64
}

type inflight struct {
	from, to sim.NodeID
	gen      uint32
	msg      Message
	// digest is the message's trace digest, computed once when it was
	// sent: a message is not changed once sent.
	digest uint64
	// held: a hold delayed the message. It left the connection's order
	// and reached the destination's machine, so a later break of the
	// connection does not lose it; only the destination going down does.
	held bool
}

type disconnect struct {
	from, to sim.NodeID
	gen      uint32
}

// New returns the network of simulation s.
func New(s *sim.Sim, cfg Config) (*Network, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("network config: %w", err)
	}
	n := &Network{s: s, cfg: cfg, detect: make(map[sim.NodeID]time.Duration), rng: s.Rand("network")}
	n.deliver = n.onDeliver
	n.discon = n.onDisconnect
	s.OnNode(n.onNode)
	return n, nil
}

// Stats returns counts of what the network has done.
func (n *Network) Stats() Stats { return n.stats }

// grow makes room for every node of the simulation.
func (n *Network) grow() {
	want := len(n.s.Nodes())
	if want <= n.n {
		return
	}
	links := make([]link, want*want)
	for i := range want {
		for j := range want {
			if i < n.n && j < n.n {
				links[i*want+j] = n.links[i*n.n+j]
			} else {
				links[i*want+j].cfg = n.cfg.Link
			}
		}
	}
	n.links, n.n = links, want
	for len(n.offline) < want {
		n.offline = append(n.offline, false)
	}
}

func (n *Network) link(from, to sim.NodeID) *link {
	n.grow()
	return &n.links[int(from)*n.n+int(to)]
}

func (n *Network) node(id sim.NodeID) (*sim.Node, error) {
	if nd := n.s.NodeByID(id); nd != nil {
		return nd, nil
	}
	return nil, fmt.Errorf("unknown node id %d: the simulation has nodes 0 to %d", id, len(n.s.Nodes())-1)
}

// SetLink overrides the behaviour of the directed link from → to.
func (n *Network) SetLink(from, to sim.NodeID, l Link) error {
	src, err := n.node(from)
	if err != nil {
		return err
	}
	dst, err := n.node(to)
	if err != nil {
		return err
	}
	if err := l.Validate(); err != nil {
		return fmt.Errorf("link %s→%s: %w", src, dst, err)
	}
	n.link(from, to).cfg = l
	return nil
}

// SetDetectTimeout sets how long node takes to notice that a connection
// broke silently.
func (n *Network) SetDetectTimeout(node sim.NodeID, d time.Duration) error {
	if _, err := n.node(node); err != nil {
		return err
	}
	if d <= 0 {
		return fmt.Errorf("detect timeout %v must be positive", d)
	}
	n.detect[node] = d
	return nil
}

func (n *Network) detectTimeout(node sim.NodeID) time.Duration {
	if d, ok := n.detect[node]; ok {
		return d
	}
	return n.cfg.DetectTimeout
}

// Send sends m from one node to another over their connection, opening one
// if needed. Sending from a node that is not running does nothing. Sending
// over a blocked link, or to a node that is down, loses the message and the
// sender later learns of a disconnect.
func (n *Network) Send(from, to sim.NodeID, m Message) {
	src, dst := n.s.NodeByID(from), n.s.NodeByID(to)
	if src == nil || dst == nil {
		panic(fmt.Sprintf("network: send %s from node %d to node %d: unknown node", m.Kind(), from, to))
	}
	tr := n.s.Trace()
	digest := messageDigest(from, to, m)
	if src.State() != sim.Up {
		tr.Emit(src, "net.drop", digest, m)
		n.stats.Dropped++
		return
	}
	n.stats.Sent++
	l := n.link(from, to)
	if l.blocked || !dst.Up() {
		tr.Emit(src, "net.drop", digest, m)
		n.stats.Dropped++
		delay := n.detectTimeout(from)
		if !dst.Up() && !l.blocked && !n.offline[to] {
			delay = 2 * l.cfg.Latency // connection refused by the peer's OS
		}
		n.breakLink(from, to, delay, true)
		return
	}
	if !l.up {
		if rf, ok := dst.Process().(Refuser); ok && rf.Refuses(from, m) {
			tr.Emit(src, "net.refused", digest, m)
			n.stats.Dropped++
			n.breakLink(from, to, 2*l.cfg.Latency, true)
			return
		}
		l.up = true
		l.gen++
		n.s.Cancel(l.notify)
		l.notify = sim.Timer{}
	}
	tr.Emit(src, "net.send", digest, m)
	if l.cfg.Loss > 0 && n.rng.Float64() < l.cfg.Loss {
		tr.Emit(src, "net.loss", digest, m)
		n.stats.Dropped++
		return
	}
	copies := 1
	if l.cfg.Duplicate > 0 && n.rng.Float64() < l.cfg.Duplicate {
		copies = 2
		n.stats.Duplicated++
	}
	now := n.s.Now()
	start := now
	if l.cfg.Bandwidth > 0 {
		size := 100
		if sz, ok := m.(Sized); ok {
			size = sz.Size()
		}
		start = max(now, l.busyUntil)
		l.busyUntil = start + time.Duration(int64(size)*int64(time.Second)/l.cfg.Bandwidth)
		start = l.busyUntil
	}
	for range copies {
		at := start + l.cfg.Latency
		if l.cfg.Jitter > 0 {
			at += time.Duration(n.rng.Int64N(int64(l.cfg.Jitter)))
		}
		h := n.holding(from, to, m)
		switch {
		case l.cfg.Reorder > 0 && n.rng.Float64() < l.cfg.Reorder:
			at += time.Duration(n.rng.Int64N(int64(l.cfg.ReorderDelay)))
		case h == nil:
			at = max(at, l.lastArrive)
			l.lastArrive = at
		}
		f := n.alloc()
		f.from, f.to, f.gen, f.msg, f.digest, f.held = from, to, l.gen, m, digest, h != nil
		if h != nil {
			// Held: out of the connection's order, it arrives after the
			// messages sent behind it.
			at += h.For
			tr.Emitf(src, "net.hold", digest, "%s held for %v", m.Kind(), h.For)
		} else {
			l.inflight++
		}
		n.s.ScheduleOn(dst, at, "net.deliver", n.deliver, f)
	}
}

// Connection returns the generation of the connection from → to and
// whether it is up. A receiver tells the requests of one connection from
// those of a later one by it: the generation changes whenever a connection
// opens or breaks.
func (n *Network) Connection(from, to sim.NodeID) (gen uint32, up bool) {
	n.grow()
	l := n.link(from, to)
	return l.gen, l.up
}

func messageDigest(from, to sim.NodeID, m Message) uint64 {
	var d uint64
	if dg, ok := m.(Digester); ok {
		d = dg.Digest()
	}
	return sim.DigestString(sim.Digest(uint64(from), uint64(to), d), m.Kind())
}

func (n *Network) alloc() *inflight {
	if k := len(n.free); k > 0 {
		f := n.free[k-1]
		n.free = n.free[:k-1]
		return f
	}
	return new(inflight)
}

func (n *Network) onDeliver(a any) {
	f := a.(*inflight)
	from, to, gen, m, digest, held := f.from, f.to, f.gen, f.msg, f.digest, f.held
	f.msg = nil
	n.free = append(n.free, f)
	dst := n.s.NodeByID(to)
	l := n.link(from, to)
	if !held && (!l.up || l.gen != gen) {
		// Counted as dropped when the connection broke.
		n.s.Trace().Emit(dst, "net.drop", digest, m)
		return
	}
	if !held {
		l.inflight--
	}
	n.stats.Delivered++
	n.s.Trace().Emit(dst, "net.recv", digest, m)
	if r, ok := dst.Process().(Receiver); ok {
		r.Receive(from, m)
	}
}

// breakLink breaks the connection from → to, if one is up, and tells the
// sender after delay. With attempt set the sender was trying to use the link
// (a failed connection attempt), so it is told even if no connection was up.
// A link has at most one pending notification.
func (n *Network) breakLink(from, to sim.NodeID, delay time.Duration, attempt bool) {
	l := n.link(from, to)
	wasUp := l.up
	if wasUp {
		n.s.Trace().Emitf(n.s.NodeByID(from), "net.break", sim.Digest(uint64(from), uint64(to), uint64(l.inflight)),
			"connection to %s, %d in flight lost", n.s.NodeByID(to), l.inflight)
		n.close(l)
	}
	src := n.s.NodeByID(from)
	if !(wasUp || attempt) || !src.Up() || n.s.Scheduled(l.notify) {
		return
	}
	l.notify = n.s.ScheduleOn(src, n.s.Now()+delay, "net.disconnect", n.discon, &disconnect{from: from, to: to, gen: l.gen})
}

func (n *Network) onDisconnect(a any) {
	d := a.(*disconnect)
	l := n.link(d.from, d.to)
	l.notify = sim.Timer{}
	if l.up && l.gen != d.gen {
		return // a new connection opened since; requests on the old one time out
	}
	src := n.s.NodeByID(d.from)
	n.s.Trace().Emit(src, "net.disconnected", sim.Digest(uint64(d.from), uint64(d.to)), n.s.NodeByID(d.to).Name())
	if p, ok := src.Process().(Disconnectable); ok {
		p.Disconnected(d.to)
	}
}

func (n *Network) onNode(nd *sim.Node, ev sim.NodeEvent) {
	n.grow()
	id := nd.ID()
	switch ev {
	case sim.NodeStarted:
		n.offline[id] = false
		for peer := range n.n {
			n.linkDown(id, sim.NodeID(peer)) // a fresh process has no connections
		}
	case sim.NodeCrashed, sim.NodePowerLost:
		if ev == sim.NodePowerLost {
			n.offline[id] = true
		}
		for peer := range n.n {
			p := sim.NodeID(peer)
			n.linkDown(id, p)
			if !n.links[peer*n.n+int(id)].up {
				continue
			}
			delay := n.detectTimeout(p)
			if ev == sim.NodeCrashed {
				delay = 2 * n.links[peer*n.n+int(id)].cfg.Latency // the peer's OS resets the connection
			}
			n.breakLink(p, id, delay, false)
		}
	}
}

// close closes the connection over l: what is in flight on it is lost.
func (n *Network) close(l *link) {
	l.up = false
	l.gen++
	n.stats.Breaks++
	n.stats.Dropped += uint64(l.inflight)
	l.inflight = 0
}

// linkDown marks the connection from → to broken without telling anyone
// (the sender is the node going down).
func (n *Network) linkDown(from, to sim.NodeID) {
	l := n.link(from, to)
	if l.up {
		n.close(l)
	}
	n.s.Cancel(l.notify)
	l.notify = sim.Timer{}
}
