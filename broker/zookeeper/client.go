package zookeeper

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// ClientConfig configures a client handle.
type ClientConfig struct {
	// SessionTimeout is the session timeout the client asks for; the
	// server clamps it between 2 and 20 ticks. Kafka's
	// zookeeper.session.timeout.ms defaults to 18 s.
	SessionTimeout time.Duration
}

// DefaultClientConfig returns Kafka's default session timeout, 18 s.
func DefaultClientConfig() ClientConfig { return ClientConfig{SessionTimeout: 18 * time.Second} }

// ClientSetup says where a client runs and whom it talks to.
type ClientSetup struct {
	// Node is the simulated machine the client runs on (a broker's).
	Node *sim.Node
	// Servers is the connect string: the ensemble's nodes. The client
	// shuffles them (from the node's random stream) and tries them in
	// turn.
	Servers []sim.NodeID
	// Send sends a message to another node, typically
	// net.Send(node.ID(), to, m).
	Send func(to sim.NodeID, m network.Message)
	// Watcher is the default watcher: it is told of session events
	// (SyncConnected, Disconnected, Expired, Closed) and of the watch
	// events of requests made with watch set. Nil for none.
	Watcher func(Event)
}

// Event is what a watcher is told (ZooKeeper's WatchedEvent): a session
// event has Type EventNone; a watch event names its znode.
type Event struct {
	Type  EventType
	State KeeperState
	Path  string
}

// String formats the event as ZooKeeper logs it.
func (e Event) String() string {
	if e.Type == EventNone {
		return e.State.String()
	}
	return e.Type.String() + " " + e.Path
}

// ClientState is a handle's state (ZooKeeper.States).
type ClientState uint8

// The client states.
const (
	// Connecting: looking for a server (first connect or after a loss).
	Connecting ClientState = iota
	// Connected: a server serves the session.
	Connected
	// Expired: the ensemble expired the session; the handle is dead and
	// a new one must be made (as Kafka's ZooKeeperClient reinitializes).
	Expired
	// Closed: Close was called.
	Closed
)

// String names the state as ZooKeeper does.
func (s ClientState) String() string {
	switch s {
	case Connecting:
		return "CONNECTING"
	case Connected:
		return "CONNECTED"
	case Expired:
		return "EXPIRED"
	case Closed:
		return "CLOSED"
	}
	return fmt.Sprintf("ClientState(%d)", int(s))
}

// Client is a ZooKeeper handle: one session with the ensemble, served by
// one server at a time, with ZooKeeper's asynchronous API. It is a
// component: the process that embeds it hands it what the network
// delivers (Receive reports whether a message was its own) and the broken
// connections (Disconnected); it sets its own timers on the node.
//
// Every call returns at once and its callback runs later, from one of the
// client's events, never from inside the call. Callbacks and watch events
// come in the order ZooKeeper guarantees: answers in the order the
// requests were made, and a watch event before the answer of any read
// that could see the change. A request issued while no server serves the
// session waits for one (ZooKeeper's own client fails it on every failed
// connection attempt; Kafka's ZooKeeperClient waits for the connection
// instead, and so does this one); every request sent when the connection
// is lost fails with ConnectionLoss (its outcome unknown); after the
// session expires, or the handle is closed, they fail with SessionExpired.
//
// The client pings when idle for a third of the session timeout, gives up
// a server that has been silent for two thirds of it (and a connection
// attempt after the timeout divided by the number of servers), and
// reconnects to the next server after a random wait below a second,
// keeping its session. A server refuses a client that has seen a later
// zxid than it holds, so the client's view never goes back in time.
// Watches are re-registered on the new server (SetWatches), and those
// whose znode changed meanwhile fire at once.
type Client struct {
	cfg     ClientConfig
	node    *sim.Node
	s       *sim.Sim
	send    func(sim.NodeID, network.Message)
	watcher func(Event)
	ids     *rand.Rand

	hosts    []sim.NodeID
	hostIdx  int
	lastIdx  int
	state    ClientState
	st       stream
	server   sim.NodeID
	open     bool // a connection attempt or connection exists
	everConn bool
	attempts int

	sessionID int64
	timeout   time.Duration // negotiated (or asked for, before the first connection)
	lastZxid  Zxid
	xid       int32

	outgoing []*call
	sent     []*call
	dataW    map[string]bool
	existW   map[string]bool
	childW   map[string]bool

	lastSend, lastRecv time.Duration
	timer              sim.Timer
	timerAt            time.Duration
	closeCB            func(error)
	owned              []uint64
}

type call struct {
	req *Request
	cb  func(*Reply, error)
}

// NewClient makes a handle and starts connecting, from a timer that fires
// at once.
func NewClient(cfg ClientConfig, setup ClientSetup) (*Client, error) {
	if setup.Node == nil {
		return nil, errors.New("zookeeper client: Node is nil: give the simulated node the client runs on")
	}
	if setup.Send == nil {
		return nil, errors.New("zookeeper client: Send is nil: give a function that sends a message to another node")
	}
	if len(setup.Servers) == 0 {
		return nil, errors.New("zookeeper client: the connect string is empty: give at least one server")
	}
	if cfg.SessionTimeout <= 0 {
		return nil, fmt.Errorf("zookeeper client: session timeout %v must be positive", cfg.SessionTimeout)
	}
	s := setup.Node.Sim()
	c := &Client{
		cfg: cfg, node: setup.Node, s: s, send: setup.Send, watcher: setup.Watcher,
		ids:     s.Rand("zk-client/" + setup.Node.Name()),
		hosts:   slices.Clone(setup.Servers),
		lastIdx: -1, hostIdx: -1,
		timeout: cfg.SessionTimeout,
		dataW:   make(map[string]bool), existW: make(map[string]bool), childW: make(map[string]bool),
	}
	r := setup.Node.Rand()
	r.Shuffle(len(c.hosts), func(i, j int) { c.hosts[i], c.hosts[j] = c.hosts[j], c.hosts[i] })
	c.node.After(0, "zk.client.start", c.startConnect)
	return c, nil
}

// State returns the handle's state.
func (c *Client) State() ClientState { return c.state }

// SessionID returns the session's id, 0 until the first connection.
func (c *Client) SessionID() int64 { return c.sessionID }

// SessionTimeout returns the negotiated session timeout (before the first
// connection, the one asked for).
func (c *Client) SessionTimeout() time.Duration { return c.timeout }

// LastZxid returns the largest zxid the client has seen in an answer.
func (c *Client) LastZxid() Zxid { return c.lastZxid }

// Server returns the node of the server the client is connected to, and
// whether it is connected.
func (c *Client) Server() (sim.NodeID, bool) { return c.server, c.state == Connected }

// Pending returns the number of requests not answered yet.
func (c *Client) Pending() int { return len(c.outgoing) + len(c.sent) }

// The API.

// Create creates a znode; the callback gets the path created (with its
// sequence number for a sequential mode). Errors: NodeExists, NoNode (no
// parent), NoChildrenForEphemerals, BadArguments, and the session errors.
func (c *Client) Create(path string, data []byte, mode CreateMode, cb func(path string, err error)) {
	c.submit(&Request{Type: OpCreate, Path: path, Data: slices.Clone(data), Mode: mode}, validatePath(path, mode.IsSequential()),
		func(r *Reply, err error) {
			if cb != nil {
				if r != nil {
					cb(r.Path, err)
				} else {
					cb("", err)
				}
			}
		})
}

// Delete deletes a znode at version (-1: any). Errors: NoNode, BadVersion,
// NotEmpty.
func (c *Client) Delete(path string, version int32, cb func(err error)) {
	c.submit(&Request{Type: OpDelete, Path: path, Version: version}, validatePath(path, false),
		func(_ *Reply, err error) {
			if cb != nil {
				cb(err)
			}
		})
}

// SetData sets a znode's data if its version is version (-1: any); the
// callback gets the new stat. Errors: NoNode, BadVersion.
func (c *Client) SetData(path string, data []byte, version int32, cb func(stat Stat, err error)) {
	c.submit(&Request{Type: OpSetData, Path: path, Data: slices.Clone(data), Version: version}, validatePath(path, false),
		func(r *Reply, err error) {
			if cb != nil {
				cb(statOf(r), err)
			}
		})
}

// GetData reads a znode from the connected server; with watch, the default
// watcher is told of its next change (NodeDataChanged or NodeDeleted).
func (c *Client) GetData(path string, watch bool, cb func(data []byte, stat Stat, err error)) {
	c.submit(&Request{Type: OpGetData, Path: path, Watch: watch}, validatePath(path, false),
		func(r *Reply, err error) {
			if err == nil && watch {
				c.dataW[path] = true
			}
			if cb != nil {
				if r != nil {
					cb(r.Data, r.Stat, err)
				} else {
					cb(nil, Stat{}, err)
				}
			}
		})
}

// Exists reads a znode's stat (err NoNode if it does not exist); with
// watch, the default watcher is told when it is created, changed or
// deleted.
func (c *Client) Exists(path string, watch bool, cb func(stat Stat, err error)) {
	c.submit(&Request{Type: OpExists, Path: path, Watch: watch}, validatePath(path, false),
		func(r *Reply, err error) {
			if watch {
				switch {
				case err == nil:
					c.dataW[path] = true
				case errors.Is(err, NoNode):
					c.existW[path] = true
				}
			}
			if cb != nil {
				cb(statOf(r), err)
			}
		})
}

// GetChildren lists a znode's children, sorted; with watch, the default
// watcher is told when they change (NodeChildrenChanged) or the znode is
// deleted.
func (c *Client) GetChildren(path string, watch bool, cb func(children []string, stat Stat, err error)) {
	c.submit(&Request{Type: OpGetChildren, Path: path, Watch: watch}, validatePath(path, false),
		func(r *Reply, err error) {
			if err == nil && watch {
				c.childW[path] = true
			}
			if cb != nil {
				if r != nil {
					cb(r.Children, r.Stat, err)
				} else {
					cb(nil, Stat{}, err)
				}
			}
		})
}

// Multi applies operations atomically: all or none. On failure err is the
// first failing operation's error and results say, per operation, Ok
// (before it), its error, or RuntimeInconsistency (after it).
func (c *Client) Multi(ops []Op, cb func(results []OpResult, err error)) {
	var bad error
	for _, o := range ops {
		if err := validatePath(o.Path, o.Type == OpCreate && o.Mode.IsSequential()); err != nil {
			bad = err
			break
		}
	}
	c.submit(&Request{Type: OpMulti, Ops: slices.Clone(ops)}, bad,
		func(r *Reply, err error) {
			if cb != nil {
				if r != nil {
					cb(r.Results, err)
				} else {
					cb(nil, err)
				}
			}
		})
}

// Sync makes the connected server catch up with the leader: reads issued
// after it see every write the leader had committed when it got the sync.
func (c *Client) Sync(path string, cb func(err error)) {
	c.submit(&Request{Type: OpSync, Path: path}, validatePath(path, false),
		func(_ *Reply, err error) {
			if cb != nil {
				cb(err)
			}
		})
}

// Close ends the session: its ephemeral znodes are deleted at once. The
// callback runs when the ensemble has closed it (or at once if the handle
// is not connected).
func (c *Client) Close(cb func(err error)) {
	switch c.state {
	case Closed, Expired:
		c.later(func() {
			if cb != nil {
				cb(nil)
			}
		})
		return
	case Connecting:
		c.closeCB = cb
		c.finish(Closed, SessionExpired)
		return
	}
	c.closeCB = cb
	c.submit(&Request{Type: OpCloseSession}, nil, func(_ *Reply, err error) {
		if c.state == Connected || c.state == Connecting {
			c.finish(Closed, SessionExpired)
		}
	})
}

func statOf(r *Reply) Stat {
	if r == nil {
		return Stat{}
	}
	return r.Stat
}

// later runs fn from a client event.
func (c *Client) later(fn func()) { c.node.After(0, "zk.client.callback", fn) }

func (c *Client) submit(r *Request, invalid error, cb func(*Reply, error)) {
	if invalid != nil {
		c.later(func() { cb(nil, fmt.Errorf("%w: %v", BadArguments, invalid)) })
		return
	}
	if c.state == Closed || c.state == Expired {
		c.later(func() { cb(nil, SessionExpired) })
		return
	}
	c.xid++
	r.Xid = c.xid
	k := &call{req: r, cb: cb}
	if c.state == Connected {
		c.transmit(k)
		return
	}
	c.outgoing = append(c.outgoing, k)
}

func (c *Client) transmit(k *call) {
	c.st.out++
	k.req.Conn, k.req.Seq = c.st.id, c.st.out
	c.sent = append(c.sent, k)
	c.lastSend = c.node.Now()
	c.send(c.server, k.req)
}

// Connection management (ClientCnxn's SendThread).

func (c *Client) startConnect() {
	if c.state == Closed || c.state == Expired {
		return
	}
	c.hostIdx = (c.hostIdx + 1) % len(c.hosts)
	if c.lastIdx == -1 {
		c.lastIdx = 0 // StaticHostProvider never sleeps before the first attempt
	}
	c.attempts++
	c.server = c.hosts[c.hostIdx]
	c.st = stream{id: c.ids.Uint64() >> 1, peer: c.server}
	c.owned = append(c.owned, c.st.id)
	if len(c.owned) > 16 {
		c.owned = c.owned[1:]
	}
	c.open = true
	c.st.out++
	now := c.node.Now()
	c.lastSend, c.lastRecv = now, now
	c.send(c.server, &ConnectRequest{Conn: c.st.id, Seq: c.st.out, LastZxidSeen: c.lastZxid,
		TimeOut: int32(c.timeout.Milliseconds()), SessionID: c.sessionID})
	c.rearm()
}

func (c *Client) readTimeout() time.Duration { return c.timeout * 2 / 3 }

func (c *Client) connectTimeout() time.Duration { return c.timeout / time.Duration(len(c.hosts)) }

// rearm sets the timer for the next duty: a ping, or giving up a silent
// server.
func (c *Client) rearm() {
	if !c.open {
		return
	}
	now := c.node.Now()
	var at time.Duration
	if c.state == Connected {
		at = c.lastRecv + c.readTimeout()
		idle := now - c.lastSend
		next := c.readTimeout()/2 - idle
		if idle > time.Second {
			next -= time.Second
		}
		at = min(at, now+max(next, 0))
	} else {
		at = c.lastSend + c.connectTimeout()
	}
	at = max(at, now+time.Microsecond)
	if c.s.Scheduled(c.timer) && c.timerAt <= at {
		return
	}
	c.node.Cancel(c.timer)
	c.timerAt = at
	c.timer = c.node.After(at-now, "zk.client.timer", c.onTimer)
}

func (c *Client) onTimer() {
	c.timer = sim.Timer{}
	if !c.open {
		return
	}
	now := c.node.Now()
	if c.state == Connected {
		if now-c.lastRecv >= c.readTimeout() {
			c.s.Mark("zk.client.read-timeout")
			c.lost()
			return
		}
		idle := now - c.lastSend
		next := c.readTimeout()/2 - idle
		if idle > time.Second {
			next -= time.Second
		}
		if next <= 0 {
			c.st.out++
			c.lastSend = now
			c.send(c.server, &Request{Conn: c.st.id, Seq: c.st.out, Xid: pingXid, Type: OpPing})
		}
	} else if now-c.lastSend >= c.connectTimeout() {
		c.s.Mark("zk.client.connect-timeout")
		c.lost()
		return
	}
	c.rearm()
}

// lost handles a lost connection (or a failed attempt): every request
// sent on it fails with ConnectionLoss, the watcher is told Disconnected, and
// the client tries the next server after a random wait below a second
// (plus a second when it has tried them all).
func (c *Client) lost() {
	if !c.open {
		return
	}
	c.open = false
	c.node.Cancel(c.timer)
	if c.state == Connected {
		c.state = Connecting
		c.event(Event{Type: EventNone, State: StateDisconnected})
	}
	c.failAll(ConnectionLoss)
	if c.state != Connecting {
		return
	}
	delay := time.Duration(c.node.Rand().IntN(1000)) * time.Millisecond
	if (c.hostIdx+1)%len(c.hosts) == c.lastIdx {
		delay += time.Second // back at the server it last connected to: the host provider's spin delay
	}
	c.node.After(delay, "zk.client.reconnect", c.startConnect)
}

// failAll fails the requests sent on the lost connection; with a final
// code (the handle is finished) it fails those waiting to be sent too.
func (c *Client) failAll(code Code) {
	calls := c.sent
	c.sent = nil
	if code != ConnectionLoss {
		calls = append(calls, c.outgoing...)
		c.outgoing = nil
	}
	var keep []*call
	for _, k := range calls {
		if k.req.Type == OpCloseSession && code == ConnectionLoss {
			keep = append(keep, k) // Close keeps trying
			continue
		}
		k.cb(nil, code)
	}
	c.outgoing = append(keep, c.outgoing...)
}

// finish ends the handle.
func (c *Client) finish(st ClientState, code Code) {
	wasOpen := c.open
	c.state = st
	c.open = false
	c.node.Cancel(c.timer)
	if wasOpen && c.st.id != 0 {
		c.send(c.server, &FIN{Conn: c.st.id})
	}
	c.failAll(code)
	if st == Expired {
		c.event(Event{Type: EventNone, State: StateExpired})
	} else {
		c.event(Event{Type: EventNone, State: StateClosed})
	}
	if cb := c.closeCB; cb != nil {
		c.closeCB = nil
		cb(nil)
	}
}

func (c *Client) event(e Event) {
	if c.watcher != nil {
		c.watcher(e)
	}
}

// Disconnected tells the client that its connection to peer broke.
func (c *Client) Disconnected(peer sim.NodeID) {
	if c.open && peer == c.server {
		c.s.Mark("zk.client.disconnected")
		c.lost()
	}
}

// Receive handles a message if it is this client's, and reports whether
// it was.
func (c *Client) Receive(from sim.NodeID, m network.Message) bool {
	var conn, seq uint64
	switch m := m.(type) {
	case *FIN:
		conn = m.Conn
	case *ConnectResponse:
		conn, seq = m.Conn, m.Seq
	case *Reply:
		conn, seq = m.Conn, m.Seq
	case *WatcherEvent:
		conn, seq = m.Conn, m.Seq
	default:
		return false
	}
	if !slices.Contains(c.owned, conn) {
		return false
	}
	if !c.open || conn != c.st.id || from != c.server {
		return true // an old connection's
	}
	if _, fin := m.(*FIN); fin {
		c.s.Mark("zk.client.fin")
		c.lost()
		return true
	}
	ok, broken := c.st.accept(seq)
	if broken {
		c.lost()
		return true
	}
	if !ok {
		return true
	}
	c.lastRecv = c.node.Now()
	switch m := m.(type) {
	case *ConnectResponse:
		c.onConnected(m)
	case *Reply:
		c.onReply(m)
	case *WatcherEvent:
		c.onWatcherEvent(m)
	}
	if c.open {
		c.rearm()
	}
	return true
}

func (c *Client) onConnected(m *ConnectResponse) {
	if c.state != Connecting {
		return
	}
	if m.TimeOut <= 0 {
		c.s.Mark("zk.client.expired")
		c.finish(Expired, SessionExpired)
		return
	}
	c.sessionID = m.SessionID
	c.timeout = time.Duration(m.TimeOut) * time.Millisecond
	c.state = Connected
	c.lastIdx = c.hostIdx
	reconnect := c.everConn
	c.everConn = true
	// Watches are re-registered and waiting requests sent before anything
	// the watcher does on hearing SyncConnected.
	if reconnect && len(c.dataW)+len(c.existW)+len(c.childW) > 0 {
		c.st.out++
		c.lastSend = c.node.Now()
		c.send(c.server, &Request{Conn: c.st.id, Seq: c.st.out, Xid: setWatchesXid, Type: OpSetWatches, RelativeZxid: c.lastZxid,
			DataWatches: slices.Sorted(maps.Keys(c.dataW)), ExistWatches: slices.Sorted(maps.Keys(c.existW)),
			ChildWatches: slices.Sorted(maps.Keys(c.childW))})
	}
	out := c.outgoing
	c.outgoing = nil
	for _, k := range out {
		c.transmit(k)
	}
	c.event(Event{Type: EventNone, State: StateSyncConnected})
}

func (c *Client) onReply(r *Reply) {
	if r.Zxid > 0 && r.Zxid > c.lastZxid {
		c.lastZxid = r.Zxid
	}
	if r.Xid == pingXid || r.Xid == setWatchesXid {
		return
	}
	if len(c.sent) == 0 || c.sent[0].req.Xid != r.Xid {
		c.s.Mark("zk.client.xid-out-of-order")
		c.lost()
		return
	}
	k := c.sent[0]
	c.sent[0] = nil
	c.sent = c.sent[1:]
	k.cb(r, r.Err.err())
}

func (c *Client) onWatcherEvent(e *WatcherEvent) {
	switch e.Type {
	case EventNodeCreated, EventNodeDataChanged:
		delete(c.dataW, e.Path)
		delete(c.existW, e.Path)
	case EventNodeDeleted:
		delete(c.dataW, e.Path)
		delete(c.existW, e.Path)
		delete(c.childW, e.Path)
	case EventNodeChildrenChanged:
		delete(c.childW, e.Path)
	}
	c.event(Event{Type: e.Type, State: e.State, Path: e.Path})
}
