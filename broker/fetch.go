package broker

import (
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/fetchsession"
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// fetchWait is a Fetch held until data arrives or its max wait passes
// (Kafka's DelayedFetch).
type fetchWait struct {
	b     *Broker
	from  sim.NodeID
	req   *protocol.Fetch
	timer sim.Timer
	done  bool
	// seq orders the broker's waits by arrival: a partition wakes the
	// waits holding it in that order.
	seq uint64
	// resp is the response read when the request arrived, never sent:
	// the completion reads into it again.
	resp *protocol.FetchResponse
	// session is the request's fetch session context, nil without one.
	// An incremental request waits on its session (Broker.sessionWaits),
	// any other on each of its partitions (partition.fetchWaits).
	session *fetchsession.Context
}

// ready reports whether a partition of the request has something to return
// (or an error to report).
func (w *fetchWait) ready() bool {
	if w.session.Incremental() {
		return w.b.sessionReady(w)
	}
	for _, part := range w.req.Partitions {
		if w.b.partitionReady(w.req, part) {
			return true
		}
	}
	return false
}

// partitionReady reports whether a partition of m has something to return
// or an error to report.
func (b *Broker) partitionReady(m *protocol.Fetch, part protocol.FetchPartition) bool {
	p, ok := b.partitions.get(part.TP)
	if !ok || p.log == nil || !p.isLeader || p.leaderEpoch != b.epochOf(part) {
		return true
	}
	return b.readLimit(p, m) > part.FetchOffset
}

// epochOf returns the epoch a request partition expects: its own, or the
// partition's current one when the request gives none.
func (b *Broker) epochOf(part protocol.FetchPartition) int32 {
	if part.CurrentLeaderEpoch != protocol.NoEpoch {
		return part.CurrentLeaderEpoch
	}
	if p, ok := b.partitions.get(part.TP); ok {
		return p.leaderEpoch
	}
	return protocol.NoEpoch
}

// handleFetch serves a Fetch from a follower or a consumer, holding it
// (long poll) when nothing is ready.
func (b *Broker) handleFetch(from sim.NodeID, m *protocol.Fetch) {
	if b.s.Buggify("broker.fetch.slow") {
		b.n.After(b.s.BuggifyDelay("broker.fetch.slow", 500*time.Millisecond, 5*time.Second), "broker.fetch.slow", func() { b.handleFetch(from, m) })
		return
	}
	x := b.fetchContext(m)
	if x != nil && x.Error != protocol.None {
		b.s.Mark("broker.fetch." + x.Error.String())
		b.replyTo(from, &protocol.FetchResponse{CorrelationID: m.CorrelationID, Error: x.Error})
		return
	}
	if x.Incremental() {
		b.handleSessionFetch(from, m, x)
		return
	}
	resp, w := newFetchResponse(m.CorrelationID, len(m.Partitions))
	bytes, immediate := 0, false
	budget := fetchBudget(b, m)
	b.startSessionRead(m, x)
	for i, part := range m.Partitions {
		pr := b.readPartition(m, part, true, budget-bytes)
		resp.Partitions[i] = pr
		b.follow(m, part, &pr, x)
		if pr.Error != protocol.None || pr.DivergingEpoch.Diverged() {
			immediate = true
		}
		bytes += len(pr.Records)
	}
	if !x.Stale() {
		x.Tick(b.n.Now())
	}
	if immediate || len(m.Partitions) == 0 || m.MaxWait <= 0 || m.MinBytes <= 0 || bytes >= int(m.MinBytes) {
		b.respondSession(m, x, m.Partitions, resp)
		b.replyTo(from, resp)
		return
	}
	w = b.holdFetch(w, from, m, resp, x)
	for _, part := range m.Partitions {
		if p, ok := b.partitions.get(part.TP); ok {
			p.fetchWaits = append(p.fetchWaits, w)
		}
	}
}

// holdFetch makes w (the response's own wait, or a new one when it has
// none) the wait of a fetch that has nothing to return yet, and starts the
// timer that answers it after m.MaxWait. The caller files it where the
// data it waits for will wake it.
func (b *Broker) holdFetch(w *fetchWait, from sim.NodeID, m *protocol.Fetch, resp *protocol.FetchResponse, x *fetchsession.Context) *fetchWait {
	if w == nil {
		w = new(fetchWait)
	}
	b.waitSeq++
	*w = fetchWait{b: b, from: from, req: m, resp: resp, session: x, seq: b.waitSeq}
	w.timer = b.n.AfterFunc(m.MaxWait, "broker.fetch.wait", fireFetchWait, w)
	return w
}

// fetchBudget is the bytes a response to m may hold.
func fetchBudget(b *Broker, m *protocol.Fetch) int {
	if m.MaxBytes <= 0 {
		return int(b.cfg.ReplicaFetchResponseMaxBytes)
	}
	return int(m.MaxBytes)
}

// fireFetchWait completes a long poll whose max wait passed (a function,
// not a closure per wait, so that holding a Fetch does not allocate one).
func fireFetchWait(a any) {
	w := a.(*fetchWait)
	w.b.completeFetchWait(w)
}

// fetchResponseBuf holds a FetchResponse, the partitions of a small one and
// the wait that holds it if it must wait, in one allocation.
type fetchResponseBuf struct {
	resp  protocol.FetchResponse
	parts [2]protocol.FetchPartitionResponse
	wait  fetchWait
}

// newFetchResponse returns a response to the Fetch corr with n partitions,
// and for a small one the storage of its wait.
func newFetchResponse(corr int32, n int) (*protocol.FetchResponse, *fetchWait) {
	if n > len(fetchResponseBuf{}.parts) {
		return &protocol.FetchResponse{CorrelationID: corr, Partitions: make([]protocol.FetchPartitionResponse, n)}, nil
	}
	buf := &fetchResponseBuf{}
	buf.resp = protocol.FetchResponse{CorrelationID: corr, Partitions: buf.parts[:n:n]}
	return &buf.resp, &buf.wait
}

func (b *Broker) completeFetchWait(w *fetchWait) {
	if w.done {
		return
	}
	w.done = true
	b.n.Cancel(w.timer)
	if w.session.Incremental() {
		b.completeSessionWait(w)
		return
	}
	m := w.req
	// A completed wait leaves its partitions' lists at once: an idle
	// partition would otherwise hold it (and its request) until it changes.
	for _, part := range m.Partitions {
		if p, ok := b.partitions.get(part.TP); ok {
			p.removeFetchWait(w)
		}
	}
	b.startSessionRead(m, w.session)
	b.answerFetchWait(w, m.Partitions)
}

// answerFetchWait answers a fetch that waited: parts read again, in order,
// within the fetch's byte budget, into the response its wait holds.
func (b *Broker) answerFetchWait(w *fetchWait, parts []protocol.FetchPartition) {
	m, resp := w.req, w.resp
	bytes, budget := 0, fetchBudget(b, m)
	for i, part := range parts {
		resp.Partitions[i] = b.readPartition(m, part, false, budget-bytes)
		bytes += len(resp.Partitions[i].Records)
	}
	b.respondSession(m, w.session, parts, resp)
	b.replyTo(w.from, resp)
}

// readPartition reads one partition of a Fetch (Kafka's Partition.fetchRecords):
// leadership and epoch checks, the diverging-epoch check on the last
// fetched epoch, the read, and for followers the update of their state.
func (b *Broker) readPartition(m *protocol.Fetch, part protocol.FetchPartition, update bool, budget int) protocol.FetchPartitionResponse {
	pr := protocol.FetchPartitionResponse{TP: part.TP, HighWatermark: -1, LastStableOffset: -1, LogStartOffset: -1,
		DivergingEpoch: protocol.NoDivergence, CurrentLeader: protocol.LeaderAndEpoch{LeaderID: protocol.NoNode, LeaderEpoch: protocol.NoEpoch}}
	p, ok := b.partitions.get(part.TP)
	if !ok || p.log == nil {
		pr.Error = protocol.UnknownTopicOrPartition
		if b.failedStart != nil {
			pr.Error = protocol.KafkaStorageError
		}
		return pr
	}
	pr.CurrentLeader = protocol.LeaderAndEpoch{LeaderID: p.leader, LeaderEpoch: p.leaderEpoch}
	// The epoch first, as Kafka's Partition.getLocalLog: a requester on an
	// older epoch is fenced even where this broker no longer leads.
	if code := p.checkEpoch(part.CurrentLeaderEpoch); code != protocol.None {
		b.s.Mark("broker.fetch." + code.String())
		pr.Error = code
		return pr
	}
	if !p.isLeader {
		pr.Error = protocol.NotLeaderOrFollower
		return pr
	}
	follower := m.IsFromFollower()
	if follower {
		if !slices.Contains(p.replicas, m.ReplicaID) || m.ReplicaID == b.id {
			pr.Error = protocol.NotLeaderOrFollower
			if part.CurrentLeaderEpoch != protocol.NoEpoch {
				pr.Error = protocol.UnknownLeaderEpoch
			}
			return pr
		}
		if reg, ok := b.image.Broker(m.ReplicaID); ok && m.ReplicaEpoch != protocol.NoBrokerEpoch && reg.Epoch > m.ReplicaEpoch {
			b.s.Mark("broker.fetch.stale-broker-epoch")
			pr.Error = protocol.NotLeaderOrFollower
			return pr
		}
	}
	l := p.log
	hwm, leo := l.HighWatermark(), l.EndOffset()
	pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset = hwm, l.LastStableOffset(), l.StartOffset()
	if part.LastFetchedEpoch != protocol.NoEpoch {
		epoch, end := l.EndOffsetForEpoch(part.LastFetchedEpoch)
		if epoch == protocol.NoEpoch || end == protocol.NoOffset || part.FetchOffset < l.StartOffset() {
			pr.Error = protocol.OffsetOutOfRange
			return pr
		}
		if epoch < part.LastFetchedEpoch || end < part.FetchOffset {
			b.s.Mark("broker.fetch.diverging-epoch")
			pr.DivergingEpoch = protocol.EpochEndOffset{Epoch: epoch, EndOffset: end}
			return pr
		}
	}
	limit := b.readLimit(p, m)
	maxBytes := int(part.MaxBytes)
	if maxBytes <= 0 {
		maxBytes = int(b.cfg.ReplicaFetchMaxBytes)
	}
	recs, err := l.Read(part.FetchOffset, limit, max(min(maxBytes, budget), 1))
	if err != nil {
		pr.Error = log.ErrorCode(err)
		return pr
	}
	pr.Records = recs
	if m.IsolationLevel == protocol.ReadCommitted && !follower {
		pr.AbortedTransactions = l.AbortedTransactions(part.FetchOffset, limit)
	}
	if follower && update {
		p.updateFollower(m.ReplicaID, part.FetchOffset, leo, m.ReplicaEpoch)
		if p.tracker.UpdateFollowerLogStart(m.ReplicaID, part.LogStartOffset) {
			p.completeDeleteWaits()
		}
	}
	return pr
}

// wakeFetchWaits completes the long polls on this partition that now have
// something to return: those waiting on the partition and the incremental
// session fetches whose session holds it, in the order they arrived.
func (p *partition) wakeFetchWaits() {
	b := p.b
	if len(p.fetchWaits) == 0 && len(b.sessionWaits) == 0 {
		return
	}
	// The session waits holding the partition, marked there (its change
	// may be counted only after the wake, as when it stops leading). A
	// nested wake takes a list of its own.
	held := b.heldScratch[:0]
	b.heldScratch = nil
	for _, w := range b.sessionWaits {
		if w.session.Contains(p.tp) {
			w.session.Touch(p.tp)
			held = append(held, w)
		}
	}
	// Filter in place: the list keeps its array, and a completed wait's
	// removal from this partition (in completeFetchWait) only searches
	// the part already kept, where it is not.
	waits := p.fetchWaits
	p.fetchWaits = waits[:0]
	i, j := 0, 0
	for i < len(waits) || j < len(held) {
		if j == len(held) || (i < len(waits) && waits[i].seq < held[j].seq) {
			w := waits[i]
			waits[i] = nil
			i++
			if w.done {
				continue
			}
			if w.ready() {
				b.completeFetchWait(w)
				continue
			}
			p.fetchWaits = append(p.fetchWaits, w)
			continue
		}
		w := held[j]
		j++
		if !w.done && w.ready() {
			b.completeFetchWait(w)
		}
	}
	clear(held)
	b.heldScratch = held[:0]
}

// removeFetchWait takes a completed long poll off the partition's list,
// keeping the order of the others.
func (p *partition) removeFetchWait(w *fetchWait) {
	if i := slices.Index(p.fetchWaits, w); i >= 0 {
		p.fetchWaits = slices.Delete(p.fetchWaits, i, i+1)
	}
}

// updateFollower records a follower's fetch (Kafka's
// updateFollowerFetchState), then considers ISR expansion and the
// high-water mark.
func (p *partition) updateFollower(id int32, fetchOffset, leaderLEO, brokerEpoch int64) {
	moved := p.tracker.UpdateFollower(id, fetchOffset, leaderLEO, brokerEpoch, p.b.n.Now())
	p.maybeExpandISR(id)
	if moved {
		p.maybeIncrementHighWatermark()
	}
}
