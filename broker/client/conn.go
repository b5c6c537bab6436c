package client

import (
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Env is what a client needs from the simulation around it: the network,
// the directory of Kafka node ids, the brokers to bootstrap from
// (bootstrap.servers) and the history to record its operations in. The
// Recorder lives outside the client's node so that it survives crashes.
type Env struct {
	Net       *network.Network
	Dir       *protocol.Directory
	Bootstrap []int32
	Recorder  *history.Recorder
	// NoFetchSessions makes consumers fetch without KIP-227 sessions, as
	// clients before Kafka 1.1 did (the cluster's fetch-sessions variant).
	NoFetchSessions bool
}

// call is a request waiting for its response.
type call struct {
	broker int32
	timer  sim.Timer
	done   func(network.Message, protocol.ErrorCode)
}

// PartitionInfo is a partition as the client's metadata knows it.
type PartitionInfo struct {
	Topic       string
	Partition   int32
	Leader      int32
	LeaderEpoch int32
	Replicas    []int32
	ISR         []int32
}

// conn is the request plumbing every client shares (Kafka's NetworkClient
// and Metadata): correlation ids, request timeouts, disconnects, and a
// metadata cache refreshed by Metadata requests.
type conn struct {
	n        *sim.Node
	s        *sim.Sim
	env      Env
	clientID string
	corr     int32 // requests sent
	tag      int32 // which client of the node: see nextCorrelation
	calls    map[int32]*call

	topics      map[string][]PartitionInfo
	topicErrs   map[string]protocol.ErrorCode
	brokers     []int32
	wanted      map[string]bool // topics the client needs metadata for; nil: all
	allTopics   bool
	metaPending bool
	metaRetryT  sim.Timer // the next attempt after a failed refresh
	metaWaiters []func()
	metaUpdated time.Duration
	metaVersion int
	next        int // rotation over brokers for "least loaded node"
	// ready holds the brokers that answered a request since the last
	// disconnect from them or request timeout: Kafka's established
	// connections, which its least loaded node prefers to a broker it
	// still has to connect to.
	ready   map[int32]bool
	tried   map[int32]time.Duration // when a request last went to each broker
	maxAge  time.Duration
	backoff time.Duration
	timeout time.Duration
}

// Client tags of nextCorrelation: the clients of one Process.
const (
	producerTag int32 = 1
	consumerTag int32 = 2
	adminTag    int32 = 3
)

func newConn(n *sim.Node, env Env, clientID string, tag int32, timeout, backoff, maxAge time.Duration) *conn {
	return &conn{n: n, s: n.Sim(), env: env, clientID: clientID, tag: tag, calls: make(map[int32]*call),
		topics: make(map[string][]PartitionInfo), topicErrs: make(map[string]protocol.ErrorCode),
		wanted: make(map[string]bool), ready: make(map[int32]bool), tried: make(map[int32]time.Duration),
		timeout: timeout, backoff: backoff, maxAge: maxAge, metaUpdated: -1}
}

func (c *conn) now() time.Duration { return c.s.Now() }

// incarnation numbers a client's incarnations on its node 0, 1, 2, ...:
// the history's process of the operations it records, so that a
// restarted client never continues the operations of the one that
// crashed (their outcomes stay unknown).
func incarnation(n *sim.Node) int { return max(int(n.Boots())-1, 0) }

// request sends a request to a broker; done gets the response, or
// NETWORK_EXCEPTION (disconnected, unknown broker) or REQUEST_TIMED_OUT
// (no answer within timeout). done never runs before request returns.
func (c *conn) request(broker int32, timeout time.Duration, build func(corr int32) network.Message, done func(network.Message, protocol.ErrorCode)) {
	corr := c.nextCorrelation()
	m := build(corr)
	dst, ok := c.env.Dir.Node(broker)
	if !ok {
		c.n.After(0, "client.unknown-broker", func() { done(nil, protocol.NetworkException) })
		return
	}
	cl := &call{broker: broker, done: done}
	cl.timer = c.n.After(timeout, "client.request-timeout", func() {
		if c.calls[corr] == cl {
			delete(c.calls, corr)
			// Kafka's NetworkClient closes the connection of a request that
			// timed out: the broker is no longer ready.
			delete(c.ready, broker)
			c.s.Mark("client.request-timeout")
			done(nil, protocol.RequestTimedOut)
		}
	})
	c.calls[corr] = cl
	c.tried[broker] = c.now()
	c.env.Net.Send(c.n.ID(), dst, m)
}

// send sends a request that gets no response (Produce with acks=0).
func (c *conn) send(broker int32, build func(corr int32) network.Message) bool {
	corr := c.nextCorrelation()
	dst, ok := c.env.Dir.Node(broker)
	if !ok {
		return false
	}
	c.env.Net.Send(c.n.ID(), dst, build(corr))
	return true
}

// nextCorrelation returns the correlation id of the next request: the
// request count times four plus the client's tag, so that the producer,
// consumer and admin client of one Process never share an id and each
// response finds the client that sent its request.
func (c *conn) nextCorrelation() int32 {
	c.corr++
	return c.corr*4 + c.tag
}

// owns reports whether m answers one of this conn's requests.
func (c *conn) owns(m network.Message) bool {
	r, ok := m.(protocol.Response)
	if !ok {
		return false
	}
	_, ok = c.calls[r.Correlation()]
	return ok
}

// receive completes the call a response answers and reports whether m was
// a response to one.
func (c *conn) receive(from sim.NodeID, m network.Message) bool {
	r, ok := m.(protocol.Response)
	if !ok {
		return false
	}
	cl := c.calls[r.Correlation()]
	if cl == nil {
		return true // answered too late: the request timed out
	}
	if id, ok := c.env.Dir.ID(from); !ok || id != cl.broker {
		return true
	}
	delete(c.calls, r.Correlation())
	c.n.Cancel(cl.timer)
	c.ready[cl.broker] = true
	cl.done(m, protocol.None)
	return true
}

// disconnected fails every request in flight to the broker.
func (c *conn) disconnected(peer sim.NodeID) {
	id, ok := c.env.Dir.ID(peer)
	if !ok {
		return
	}
	delete(c.ready, id)
	for _, corr := range slices.Sorted(maps.Keys(c.calls)) {
		if cl := c.calls[corr]; cl.broker == id {
			delete(c.calls, corr)
			c.n.Cancel(cl.timer)
			cl.done(nil, protocol.NetworkException)
		}
	}
}

// inFlight counts the requests in flight to a broker.
func (c *conn) inFlight(broker int32) int {
	n := 0
	for _, cl := range c.calls {
		if cl.broker == broker {
			n++
		}
	}
	return n
}

// anyBroker picks the broker for a request any broker can answer, as
// Kafka's least loaded node does: starting from the next broker in turn,
// the first ready one (it answered since the last disconnect or timeout)
// with no request in flight, else the ready one with the fewest, else,
// among the others, the one tried longest ago. A broker that is still
// starting, whose listeners accept no requests yet, is thus asked only
// when no other will do, and not again and again.
func (c *conn) anyBroker() int32 {
	ids := c.brokers
	if len(ids) == 0 {
		ids = c.env.Bootstrap
	}
	if len(ids) == 0 {
		return protocol.NoNode
	}
	c.next++
	best, other := protocol.NoNode, protocol.NoNode
	for i := range ids {
		id := ids[(c.next+i)%len(ids)]
		if !c.ready[id] {
			if other == protocol.NoNode || c.triedAt(id) < c.triedAt(other) {
				other = id
			}
			continue
		}
		load := c.inFlight(id)
		if load == 0 {
			return id
		}
		if best == protocol.NoNode || load < c.inFlight(best) {
			best = id
		}
	}
	if best != protocol.NoNode {
		return best
	}
	return other
}

// triedAt is when a request last went to a broker; never: -1.
func (c *conn) triedAt(id int32) time.Duration {
	if t, ok := c.tried[id]; ok {
		return t
	}
	return -1
}

// need adds topics to the metadata the client keeps.
func (c *conn) need(topics ...string) {
	for _, t := range topics {
		if !c.wanted[t] {
			c.wanted[t] = true
			c.metaUpdated = -1 // force a refresh for the new topic
		}
	}
}

// partitions returns a topic's partitions, if the metadata has it.
func (c *conn) partitions(topic string) ([]PartitionInfo, bool) {
	ps, ok := c.topics[topic]
	return ps, ok && len(ps) > 0
}

func (c *conn) leader(tp model.TopicPartition) (PartitionInfo, bool) {
	ps := c.topics[tp.Topic]
	if tp.Partition < 0 || int(tp.Partition) >= len(ps) || ps[tp.Partition].Leader == protocol.NoNode {
		return PartitionInfo{Leader: protocol.NoNode, LeaderEpoch: protocol.NoEpoch}, false
	}
	return ps[tp.Partition], true
}

// missing reports whether the metadata says a partition does not exist:
// its topic is unknown to the brokers, or has fewer partitions.
func (c *conn) missing(tp model.TopicPartition) bool {
	if code, ok := c.topicErrs[tp.Topic]; ok {
		return code == protocol.UnknownTopicOrPartition
	}
	ps, ok := c.topics[tp.Topic]
	return ok && (tp.Partition < 0 || int(tp.Partition) >= len(ps))
}

// stale reports whether the metadata is due a refresh.
func (c *conn) stale() bool {
	return c.metaUpdated < 0 || c.now()-c.metaUpdated >= c.maxAge
}

// refresh asks for metadata now (unless a request is in flight, or a
// refresh failed less than retry.backoff.ms ago: the attempt scheduled
// then asks) and calls then, if given, once an answer arrived.
func (c *conn) refresh(then func()) {
	if then != nil {
		c.metaWaiters = append(c.metaWaiters, then)
	}
	if c.metaPending || c.s.Scheduled(c.metaRetryT) {
		return
	}
	broker := c.anyBroker()
	if broker == protocol.NoNode {
		return
	}
	c.metaPending = true
	var topics []string
	if !c.allTopics {
		topics = slices.Sorted(maps.Keys(c.wanted))
		if topics == nil {
			topics = []string{}
		}
	}
	c.request(broker, c.timeout, func(corr int32) network.Message {
		return &protocol.Metadata{CorrelationID: corr, Topics: topics}
	}, func(m network.Message, code protocol.ErrorCode) {
		c.metaPending = false
		resp, _ := m.(*protocol.MetadataResponse)
		if code != protocol.None || resp == nil {
			// Try another broker after the backoff.
			c.metaRetryT = c.n.After(c.backoff, "client.metadata-retry", func() { c.refresh(nil) })
			return
		}
		c.apply(resp)
		if !c.allTopics && len(c.wanted) > len(topics) {
			// Topics were added while the request was in flight (Kafka's
			// partial update for new topics): ask again at once, and
			// answer the waiters once their topics are in.
			c.metaUpdated = -1
			c.refresh(nil)
			return
		}
		waiters := c.metaWaiters
		c.metaWaiters = nil
		for _, w := range waiters {
			w()
		}
	})
}

func (c *conn) apply(resp *protocol.MetadataResponse) {
	c.metaUpdated = c.now()
	c.metaVersion++
	if len(resp.Brokers) > 0 {
		c.brokers = slices.Clone(resp.Brokers)
		slices.Sort(c.brokers)
	}
	for _, t := range resp.Topics {
		if t.Error != protocol.None && len(t.Partitions) == 0 {
			c.topicErrs[t.Name] = t.Error
			delete(c.topics, t.Name)
			continue
		}
		delete(c.topicErrs, t.Name)
		n := 0
		for _, p := range t.Partitions {
			n = max(n, int(p.Partition)+1)
		}
		old := c.topics[t.Name]
		ps := make([]PartitionInfo, n)
		for i := range ps {
			ps[i] = PartitionInfo{Topic: t.Name, Partition: int32(i), Leader: protocol.NoNode, LeaderEpoch: protocol.NoEpoch}
		}
		for _, p := range t.Partitions {
			info := PartitionInfo{Topic: t.Name, Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, Replicas: p.Replicas, ISR: p.ISR}
			if int(p.Partition) < len(old) && old[p.Partition].LeaderEpoch > p.LeaderEpoch {
				// Metadata from a broker behind the one we heard from
				// before: keep the newer leader (KIP-320).
				c.s.Mark("client.metadata.stale-epoch-ignored")
				info = old[p.Partition]
			}
			ps[p.Partition] = info
		}
		c.topics[t.Name] = ps
	}
}

// invalidate marks the metadata stale after an error that says the
// client's view of a partition's leader is out of date.
func (c *conn) invalidate() { c.metaUpdated = -1 }

// metadataError reports whether an error code means the client's
// metadata is out of date (Kafka's InvalidMetadataException).
func metadataError(code protocol.ErrorCode) bool {
	switch code {
	case protocol.NotLeaderOrFollower, protocol.LeaderNotAvailable, protocol.UnknownTopicOrPartition,
		protocol.FencedLeaderEpoch, protocol.UnknownLeaderEpoch, protocol.KafkaStorageError, protocol.NetworkException,
		protocol.NotCoordinator, protocol.CoordinatorNotAvailable:
		return true
	}
	return false
}
