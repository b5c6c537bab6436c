package txn

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/coord"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Env is what the coordinator needs from the broker that hosts it.
type Env interface {
	// Append writes records (one batch, no producer) to partition p of
	// __transaction_state as its leader with acks=all, and calls done
	// exactly once with None once they are committed, or the produce
	// error. done may be called before Append returns.
	Append(p int32, records protocol.Records, done func(protocol.ErrorCode))
	// LeaderOf returns a partition's leader in the broker's metadata.
	LeaderOf(tp model.TopicPartition) (int32, bool)
	// WriteMarkers sends WriteTxnMarkers to a broker and calls done once
	// with its response, or with nil and the error that failed the
	// request (a broken connection, a timeout).
	WriteMarkers(leader int32, m *protocol.WriteTxnMarkers, done func(*protocol.WriteTxnMarkersResponse, protocol.ErrorCode))
	// NewProducerID allocates a producer id unique in the cluster.
	NewProducerID() (int64, protocol.ErrorCode)
}

// Sender sends a response to the node a request came from.
type Sender func(to sim.NodeID, m network.Message)

// entry is one transactional id on its coordinator.
type entry struct {
	md Metadata
	// writing is set while a state change is being appended.
	writing bool
	// markers are the partitions still waiting for this transaction's
	// marker, while the state is PrepareCommit or PrepareAbort.
	markers []model.TopicPartition
	round   int
}

// A Coordinator is one broker's transaction coordinator.
type Coordinator struct {
	n     *sim.Node
	s     *sim.Sim
	cfg   Config
	env   Env
	send  Sender
	owned *coord.Owned // __transaction_state partitions led, with the coordinator epoch (the leader epoch)
	txns  map[string]*entry
	timer sim.Timer
	// expiry is the timer of transactional-id expiry.
	expiry sim.Timer
	// OffsetsPartitions is the partition count of __consumer_offsets, to
	// place AddOffsetsToTxn's group.
	OffsetsPartitions int32
}

// New returns a coordinator on node n that owns nothing until Elected.
func New(n *sim.Node, cfg Config, env Env, send Sender) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Coordinator{n: n, s: n.Sim(), cfg: cfg, env: env, send: send, owned: coord.NewOwned(StateTopic, cfg.StateLogPartitions),
		txns: make(map[string]*entry), OffsetsPartitions: 50}, nil
}

// Config returns the coordinator's configuration.
func (c *Coordinator) Config() Config { return c.cfg }

// PartitionFor returns the __transaction_state partition of a
// transactional id: abs(hash) modulo the partition count, as for groups.
func PartitionFor(transactionalID string, partitions int32) int32 {
	return coord.PartitionFor(transactionalID, partitions)
}

// Transaction returns a transactional id's metadata, if owned here.
func (c *Coordinator) Transaction(id string) (Metadata, bool) {
	e, ok := c.txns[id]
	if !ok {
		return Metadata{}, false
	}
	return e.md.clone(), true
}

// TransactionalIDs returns the ids this coordinator owns, sorted.
func (c *Coordinator) TransactionalIDs() []string { return slices.Sorted(maps.Keys(c.txns)) }

func (c *Coordinator) now() time.Duration { return c.n.Now() }

func (c *Coordinator) trace(kind string, digest uint64, format string, args ...any) {
	c.s.Trace().Emitf(c.n, kind, digest, format, args...)
}

// Elected tells the coordinator that its broker leads partition p of
// __transaction_state at leaderEpoch, whose whole log is records. It loads
// every transactional id there (the last record of each wins) and
// completes the transactions that were prepared: their markers are sent
// again (Kafka's TransactionStateManager loading, then the marker
// channel's completion of pending transactions).
func (c *Coordinator) Elected(p int32, leaderEpoch int32, records protocol.Records) error {
	if load, err := c.owned.Electing(p, leaderEpoch); !load {
		return err
	}
	c.Resigned(p)
	loaded := map[string]Metadata{}
	if err := DecodeLog(records, func(m Metadata) { loaded[m.TransactionalID] = m }); err != nil {
		c.trace("txn.load-failed", uint64(p), "partition %d: %v", p, err)
		return fmt.Errorf("loading %s-%d: %w", StateTopic, p, err)
	}
	c.owned.Add(p, leaderEpoch)
	for _, id := range slices.Sorted(maps.Keys(loaded)) {
		if loaded[id].State == Dead {
			c.s.Mark("txn.load-skips-expired")
			delete(loaded, id) // a tombstone: the id expired
			continue
		}
		e := &entry{md: loaded[id]}
		c.txns[id] = e
		if e.md.State == PrepareCommit || e.md.State == PrepareAbort {
			c.s.Mark("txn.failover-completes-prepared")
			c.startMarkers(e)
		}
	}
	c.trace("txn.loaded", uint64(p), "partition %d at coordinator epoch %d: %d transactional ids", p, leaderEpoch, len(loaded))
	if !c.s.Scheduled(c.timer) {
		c.timer = c.n.After(c.cfg.AbortTimedOutInterval, "txn.abort-timed-out", c.abortTimedOut)
	}
	if !c.s.Scheduled(c.expiry) {
		c.expiry = c.n.After(c.cfg.RemoveExpiredInterval, "txn.remove-expired", c.removeExpired)
	}
	return nil
}

// Resigned tells the coordinator that its broker no longer leads
// partition p: its transactional ids are dropped from memory.
func (c *Coordinator) Resigned(p int32) {
	if !c.owned.Remove(p) {
		return
	}
	for _, id := range slices.Sorted(maps.Keys(c.txns)) {
		if c.owned.PartitionFor(id) == p {
			delete(c.txns, id)
		}
	}
	if c.owned.Len() == 0 {
		c.n.Cancel(c.timer)
		c.n.Cancel(c.expiry)
	}
}

// Owns reports whether the coordinator leads a partition of
// __transaction_state.
func (c *Coordinator) Owns(p int32) bool { return c.owned.Owns(p) }

// owner checks that the coordinator owns a transactional id's partition.
func (c *Coordinator) owner(id string) (int32, protocol.ErrorCode) {
	_, epoch, ok := c.owned.Owner(id)
	if !ok {
		return 0, protocol.NotCoordinator
	}
	return epoch, protocol.None
}

// Handle takes a transaction request and reports whether it was one.
func (c *Coordinator) Handle(from sim.NodeID, m network.Message) bool {
	switch m := m.(type) {
	case *protocol.InitProducerId:
		if m.TransactionalID == "" {
			return false
		}
		c.initProducerID(m, func(r *protocol.InitProducerIdResponse) { c.send(from, r) })
	case *protocol.AddPartitionsToTxn:
		c.addPartitions(m, func(r *protocol.AddPartitionsToTxnResponse) { c.send(from, r) })
	case *protocol.AddOffsetsToTxn:
		tp := model.TopicPartition{Topic: group.OffsetsTopic, Partition: coord.PartitionFor(m.GroupID, c.OffsetsPartitions)}
		c.addPartitions(&protocol.AddPartitionsToTxn{CorrelationID: m.CorrelationID, TxnProducer: m.TxnProducer, Partitions: []model.TopicPartition{tp}},
			func(r *protocol.AddPartitionsToTxnResponse) {
				code := r.Error
				if code == protocol.None && len(r.Partitions) > 0 {
					code = r.Partitions[0].Error
				}
				c.send(from, &protocol.AddOffsetsToTxnResponse{CorrelationID: m.CorrelationID, Error: code})
			})
	case *protocol.EndTxn:
		c.endTxn(m, func(r *protocol.EndTxnResponse) { c.send(from, r) })
	default:
		return false
	}
	return true
}

// write appends a state change and applies it once committed; done gets
// the outcome, with append errors mapped as Kafka's coordinator maps them.
func (c *Coordinator) write(e *entry, next Metadata, done func(protocol.ErrorCode)) {
	id := next.TransactionalID
	p, epoch, _ := c.owned.Owner(id)
	next.Updated = c.now()
	e.writing = true
	c.env.Append(p, encodeBatch(next, c.now()), func(code protocol.ErrorCode) {
		e.writing = false
		if cur, ok := c.owned.Epoch(p); !ok || cur != epoch || c.txns[id] != e {
			c.s.Mark("txn.write-lost-coordinator")
			done(protocol.NotCoordinator)
			return
		}
		switch code {
		case protocol.None:
			e.md = next
			c.trace("txn.state", sim.Digest(uint64(next.ProducerID), uint64(next.ProducerEpoch), uint64(next.State)), "%s", next)
			if next.State == Dead {
				delete(c.txns, id) // the tombstone is written: the id is gone
			}
			done(protocol.None)
		case protocol.UnknownTopicOrPartition, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend, protocol.RequestTimedOut:
			done(protocol.CoordinatorNotAvailable)
		case protocol.NotLeaderOrFollower, protocol.KafkaStorageError:
			done(protocol.NotCoordinator)
		default:
			done(protocol.UnknownServerError)
		}
	})
}

func (c *Coordinator) initProducerID(m *protocol.InitProducerId, reply func(*protocol.InitProducerIdResponse)) {
	resp := &protocol.InitProducerIdResponse{CorrelationID: m.CorrelationID, ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
	fail := func(code protocol.ErrorCode) { resp.Error = code; reply(resp) }
	if _, code := c.owner(m.TransactionalID); code != protocol.None {
		fail(code)
		return
	}
	timeout := time.Duration(m.TransactionTimeoutMs) * time.Millisecond
	if timeout <= 0 || timeout > c.cfg.MaxTimeout {
		fail(protocol.InvalidTransactionTimeout)
		return
	}
	e, ok := c.txns[m.TransactionalID]
	if !ok {
		pid, code := c.env.NewProducerID()
		if code != protocol.None {
			fail(code)
			return
		}
		e = &entry{md: Metadata{TransactionalID: m.TransactionalID, ProducerID: pid, ProducerEpoch: -1, LastProducerEpoch: -1, State: Empty}}
		c.txns[m.TransactionalID] = e
	}
	md := e.md
	switch {
	case e.writing, md.State == PrepareCommit, md.State == PrepareAbort, md.State == PrepareEpochFence:
		fail(protocol.ConcurrentTransactions)
		return
	case m.ProducerID != protocol.NoProducerID && (m.ProducerID != md.ProducerID || (m.ProducerEpoch != md.ProducerEpoch && m.ProducerEpoch != md.LastProducerEpoch)):
		fail(protocol.ProducerFenced)
		return
	case md.State == Ongoing:
		// A new instance (or a timed-out one) fences the open
		// transaction: the epoch is bumped and the transaction aborted;
		// the caller retries until the abort completes.
		c.s.Mark("txn.init-fences-ongoing")
		c.fenceAndAbort(e)
		fail(protocol.ConcurrentTransactions)
		return
	}
	next := md.clone()
	next.LastProducerEpoch = md.ProducerEpoch
	next.ProducerEpoch = md.ProducerEpoch + 1
	next.Timeout = timeout
	next.State = Empty
	next.Partitions = nil
	c.write(e, next, func(code protocol.ErrorCode) {
		if code != protocol.None {
			fail(code)
			return
		}
		resp.ProducerID, resp.ProducerEpoch = next.ProducerID, next.ProducerEpoch
		resp.TransactionVersion = int8(c.cfg.Version)
		reply(resp)
	})
}

// check validates a request's producer against the metadata.
func (c *Coordinator) check(p protocol.TxnProducer) (*entry, protocol.ErrorCode) {
	if _, code := c.owner(p.TransactionalID); code != protocol.None {
		return nil, code
	}
	e, ok := c.txns[p.TransactionalID]
	if !ok || e.md.ProducerID != p.ProducerID {
		return nil, protocol.InvalidProducerIdMapping
	}
	return e, protocol.None
}

// AddPartitions answers an AddPartitionsToTxn that this broker, as a
// partition leader, sends its own coordinator: with VerifyOnly, whether
// the partitions are in the producer's ongoing transaction (transaction
// version 1 with verification); without, the partitions are added
// (version 2). Requests from other brokers come through Handle.
func (c *Coordinator) AddPartitions(m *protocol.AddPartitionsToTxn, reply func(*protocol.AddPartitionsToTxnResponse)) {
	c.addPartitions(m, reply)
}

func (c *Coordinator) addPartitions(m *protocol.AddPartitionsToTxn, reply func(*protocol.AddPartitionsToTxnResponse)) {
	resp := &protocol.AddPartitionsToTxnResponse{CorrelationID: m.CorrelationID}
	answer := func(code protocol.ErrorCode) {
		resp.Partitions = resp.Partitions[:0]
		for _, tp := range m.Partitions {
			resp.Partitions = append(resp.Partitions, protocol.PartitionError{TP: tp, Error: code})
		}
		reply(resp)
	}
	e, code := c.check(m.TxnProducer)
	if code == protocol.None && m.ProducerEpoch != e.md.ProducerEpoch {
		code = protocol.ProducerFenced
	}
	if code != protocol.None {
		answer(code)
		return
	}
	md := e.md
	if m.VerifyOnly {
		for _, tp := range m.Partitions {
			code := protocol.None
			if md.State != Ongoing || !md.has(tp) {
				code = protocol.InvalidTxnState
			}
			resp.Partitions = append(resp.Partitions, protocol.PartitionError{TP: tp, Error: code})
		}
		reply(resp)
		return
	}
	if e.writing || md.State == PrepareCommit || md.State == PrepareAbort || md.State == PrepareEpochFence {
		answer(protocol.ConcurrentTransactions)
		return
	}
	if md.State == Ongoing && !slices.ContainsFunc(m.Partitions, func(tp model.TopicPartition) bool { return !md.has(tp) }) {
		answer(protocol.None)
		return
	}
	next := md.clone()
	if md.State != Ongoing {
		next.Partitions = nil
		next.Start = c.now()
	}
	next.State = Ongoing
	next.add(m.Partitions...)
	c.write(e, next, answer)
}

func (c *Coordinator) endTxn(m *protocol.EndTxn, reply func(*protocol.EndTxnResponse)) {
	resp := &protocol.EndTxnResponse{CorrelationID: m.CorrelationID, ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
	answer := func(code protocol.ErrorCode, md Metadata) {
		resp.Error = code
		if code == protocol.None && c.cfg.Version >= 2 {
			resp.ProducerID, resp.ProducerEpoch = md.ProducerID, md.ProducerEpoch
		}
		reply(resp)
	}
	e, code := c.check(m.TxnProducer)
	if code != protocol.None {
		answer(code, Metadata{})
		return
	}
	md := e.md
	want, complete := PrepareAbort, CompleteAbort
	if m.Committed {
		want, complete = PrepareCommit, CompleteCommit
	}
	if e.writing {
		answer(protocol.ConcurrentTransactions, md)
		return
	}
	if c.cfg.Version >= 2 && m.ProducerEpoch == md.LastProducerEpoch && md.ProducerEpoch == m.ProducerEpoch+1 {
		// A retried EndTxn after the bump: answered from the outcome.
		switch md.State {
		case complete:
			c.s.Mark("txn.end-retry-answered")
			answer(protocol.None, md)
		case want:
			answer(protocol.ConcurrentTransactions, md)
		default:
			answer(protocol.ProducerFenced, md)
		}
		return
	}
	if m.ProducerEpoch != md.ProducerEpoch {
		answer(protocol.ProducerFenced, md)
		return
	}
	switch md.State {
	case Ongoing:
	case want, PrepareEpochFence:
		answer(protocol.ConcurrentTransactions, md)
		return
	case complete:
		answer(protocol.None, md) // a retry of a completed end
		return
	case Empty, CompleteCommit, CompleteAbort:
		if c.cfg.Version < 2 || m.Committed {
			c.s.Mark("txn.end-invalid-state")
			answer(protocol.InvalidTxnState, md)
			return
		}
		// Version 2: the producer wrote nothing the leaders added (its
		// sends failed before), and aborts: the epoch is bumped all the
		// same, with no partition to mark.
		c.s.Mark("txn.empty-abort")
	default:
		c.s.Mark("txn.end-invalid-state")
		answer(protocol.InvalidTxnState, md)
		return
	}
	next := md.clone()
	next.State = want
	if c.cfg.Version >= 2 {
		next.LastProducerEpoch = md.ProducerEpoch
		next.ProducerEpoch = md.ProducerEpoch + 1
	}
	c.write(e, next, func(code protocol.ErrorCode) {
		answer(code, next)
		if code == protocol.None {
			c.startMarkers(e)
		}
	})
}

// fenceAndAbort aborts an open transaction at a bumped epoch, fencing its
// producer: a newer instance's InitProducerId, or the timeout.
func (c *Coordinator) fenceAndAbort(e *entry) {
	prev := e.md
	e.md.State = PrepareEpochFence
	next := prev.clone()
	next.LastProducerEpoch = prev.ProducerEpoch
	next.ProducerEpoch = prev.ProducerEpoch + 1
	next.State = PrepareAbort
	c.write(e, next, func(code protocol.ErrorCode) {
		if code != protocol.None {
			if e.md.State == PrepareEpochFence {
				e.md = prev // the fence is tried again later
			}
			return
		}
		c.startMarkers(e)
	})
}

// abortTimedOut aborts the transactions open longer than their timeout
// (Kafka's abortTimedOutTransactions), then runs again after the interval.
func (c *Coordinator) abortTimedOut() {
	for _, id := range c.TransactionalIDs() {
		e := c.txns[id]
		if e.md.State == Ongoing && !e.writing && c.now()-e.md.Start > e.md.Timeout {
			c.s.Mark("txn.timeout-abort")
			c.trace("txn.timed-out", uint64(e.md.ProducerID), "%s open since %v, timeout %v: aborting", id, e.md.Start, e.md.Timeout)
			c.fenceAndAbort(e)
		}
	}
	if c.owned.Len() > 0 {
		c.timer = c.n.After(c.cfg.AbortTimedOutInterval, "txn.abort-timed-out", c.abortTimedOut)
	}
}

// removeExpired removes the transactional ids that have had no
// transaction for transactional.id.expiration.ms (Kafka's
// removeExpiredTransactionalIds): in Empty, CompleteCommit or
// CompleteAbort, last updated that long ago. Each goes to Dead with a
// tombstone in __transaction_state and then leaves the coordinator, so
// that a later InitProducerId for it starts afresh with a new producer id
// and a reload after failover does not bring it back. It runs again after
// transaction.remove.expired.transaction.cleanup.interval.ms.
func (c *Coordinator) removeExpired() {
	for _, id := range c.TransactionalIDs() {
		e := c.txns[id]
		switch e.md.State {
		case Empty, CompleteCommit, CompleteAbort:
		default:
			continue
		}
		if e.writing || c.now()-e.md.Updated < c.cfg.IDExpiration {
			continue
		}
		c.s.Mark("txn.id-expired")
		c.trace("txn.expired", uint64(e.md.ProducerID), "%s idle since %v (transactional.id.expiration.ms %v): removing", id, e.md.Updated, c.cfg.IDExpiration)
		next := e.md.clone()
		next.State = Dead
		next.Partitions = nil
		c.write(e, next, func(protocol.ErrorCode) {})
	}
	if c.owned.Len() > 0 {
		c.expiry = c.n.After(c.cfg.RemoveExpiredInterval, "txn.remove-expired", c.removeExpired)
	}
}

// startMarkers sends the prepared transaction's markers to every
// partition's leader, then writes the completed state.
func (c *Coordinator) startMarkers(e *entry) {
	e.markers = slices.Clone(e.md.Partitions)
	e.round++
	c.sendMarkers(e, e.round)
}

func (c *Coordinator) sendMarkers(e *entry, round int) {
	id := e.md.TransactionalID
	if c.txns[id] != e || e.round != round {
		return
	}
	if len(e.markers) == 0 {
		c.completeTxn(e)
		return
	}
	_, coordEpoch, _ := c.owned.Owner(id)
	byLeader := map[int32][]model.TopicPartition{}
	var unknown []model.TopicPartition
	for _, tp := range e.markers {
		leader, ok := c.env.LeaderOf(tp)
		if !ok || leader == protocol.NoNode {
			unknown = append(unknown, tp)
			continue
		}
		byLeader[leader] = append(byLeader[leader], tp)
	}
	md := e.md
	outstanding := len(byLeader)
	finish := func() {
		outstanding--
		if outstanding > 0 || c.txns[id] != e || e.round != round {
			return
		}
		if len(e.markers) == 0 {
			c.completeTxn(e)
			return
		}
		e.round++
		next := e.round
		c.n.After(c.cfg.MarkerRetryBackoff, "txn.markers-retry", func() { c.sendMarkers(e, next) })
	}
	if outstanding == 0 {
		outstanding = 1
		finish()
		return
	}
	for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
		tps := byLeader[leader]
		req := &protocol.WriteTxnMarkers{Markers: []protocol.TxnMarkerEntry{{ProducerID: md.ProducerID, ProducerEpoch: md.ProducerEpoch,
			Committed: md.State == PrepareCommit, CoordinatorEpoch: coordEpoch, Partitions: tps}}}
		c.env.WriteMarkers(leader, req, func(r *protocol.WriteTxnMarkersResponse, code protocol.ErrorCode) {
			if c.txns[id] == e && e.round == round && r != nil {
				for _, res := range r.Markers {
					for _, pe := range res.Partitions {
						if markerDone(pe.Error) {
							if pe.Error != protocol.None {
								c.s.Mark("txn.marker-refused")
								c.trace("txn.marker-refused", uint64(pe.Error), "%s %s: %s", id, pe.TP, pe.Error)
							}
							e.markers = slices.DeleteFunc(e.markers, func(tp model.TopicPartition) bool { return tp == pe.TP })
						}
					}
				}
			}
			finish()
		})
	}
}

// markerDone reports whether a leader's answer to a marker ends the
// coordinator's attempts: written, or refused for good (the producer or
// coordinator moved on, the partition is gone).
func markerDone(code protocol.ErrorCode) bool {
	switch code {
	case protocol.None, protocol.InvalidProducerEpoch, protocol.TransactionCoordinatorFenced, protocol.ProducerFenced:
		return true
	}
	return false
}

// completeTxn writes CompleteCommit or CompleteAbort once every marker is
// written.
func (c *Coordinator) completeTxn(e *entry) {
	next := e.md.clone()
	switch e.md.State {
	case PrepareCommit:
		next.State = CompleteCommit
	case PrepareAbort:
		next.State = CompleteAbort
	default:
		return
	}
	next.Partitions = nil
	round := e.round
	c.write(e, next, func(code protocol.ErrorCode) {
		if code != protocol.None && c.txns[e.md.TransactionalID] == e && e.round == round {
			// Try the completion again later; the markers are written.
			c.n.After(c.cfg.MarkerRetryBackoff, "txn.complete-retry", func() {
				if c.txns[e.md.TransactionalID] == e && e.round == round && !e.writing {
					c.completeTxn(e)
				}
			})
		}
	})
}
