package broker

import (
	"slices"

	"github.com/kafkasim/kafkasim/broker/fetchsession"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// KIP-227 fetch sessions on the leader, read in proportion to what changed.
//
// A session's response leaves out every partition with nothing to tell:
// no records, no error, no diverging epoch, and the high-water mark, last
// stable offset, log start offset and leader it last told. The leader
// reads only the session's marked partitions, and the rest are exactly
// those a full read would leave out: a partition is marked when the
// fetcher changes or adds it, when the broker's change journal names it
// (every change of a log end offset, high-water mark, last stable offset,
// log start offset, leader, leader epoch, replica set or ISR, and a
// partition created or removed), when a long poll holding it is woken by
// it, and when what the session has in common for every partition (the
// follower's broker epoch, its registration, the isolation level) changes;
// a read partition stays marked unless it was quiet: no error, nothing
// beyond the fetch offset to read, and for a follower caught up and in the
// ISR, so that the follower's fetches that skip it count as fetches at the
// unchanged log end offset (isr.Tracker.Follow). A quiet, unchanged
// partition read again would tell nothing and change nothing but the
// follower's fetch times, which the session's clock gives.

// fetchContext applies a Fetch's KIP-227 session fields: nil for a request
// without them.
func (b *Broker) fetchContext(m *protocol.Fetch) *fetchsession.Context {
	if b.sessions == nil || m.Session == nil {
		return nil
	}
	return b.sessions.NewContext(m, b.n.Now())
}

// sessionKey is what a request of a session has in common for every
// partition, and the registration its follower checks are made against.
func (b *Broker) sessionKey(m *protocol.Fetch) fetchsession.Key {
	reg := int64(-1)
	if m.IsFromFollower() {
		if r, ok := b.image.Broker(m.ReplicaID); ok {
			reg = r.Epoch
		}
	}
	return fetchsession.Key{m.ReplicaEpoch, reg, int64(m.IsolationLevel)}
}

// startSessionRead prepares a full read of x's partitions: its session's
// marks then hold every change from now on.
func (b *Broker) startSessionRead(m *protocol.Fetch, x *fetchsession.Context) {
	if x.Stale() {
		return
	}
	x.Rekey(b.sessionKey(m))
	x.SetSeen(b.changes)
}

// syncSession brings the marks of x's session up to date before a read:
// the partitions changed since its last read, or all of them if the
// journal no longer holds those changes or the session's key changed.
func (b *Broker) syncSession(m *protocol.Fetch, x *fetchsession.Context) {
	if x.Rekey(b.sessionKey(m)) || b.cfg.FetchSessionFullReads {
		x.TouchAll()
	} else if changed, ok := b.changedSince(x.Seen()); ok {
		for _, tp := range changed {
			x.Touch(tp)
		}
	} else {
		x.TouchAll()
	}
	x.SetSeen(b.changes)
}

// follow lets a follower's partition that a read of its session found
// caught up and in the ISR be skipped by the session's next reads: its
// fetch times follow the session's clock.
func (b *Broker) follow(m *protocol.Fetch, part protocol.FetchPartition, pr *protocol.FetchPartitionResponse, x *fetchsession.Context) {
	if x.Stale() || !m.IsFromFollower() || pr.Error != protocol.None || pr.DivergingEpoch.Diverged() {
		return
	}
	p, ok := b.partitions.get(part.TP)
	if !ok || p.log == nil || !p.isLeader || part.FetchOffset < p.log.EndOffset() || !slices.Contains(p.tracker.ISR(), m.ReplicaID) {
		return
	}
	p.tracker.Follow(m.ReplicaID, x.Clock())
}

// quiet reports whether a partition read for a session has nothing more
// to tell until it changes (see the top of this file).
func (b *Broker) quiet(m *protocol.Fetch, part protocol.FetchPartition, pr *protocol.FetchPartitionResponse, x *fetchsession.Context) bool {
	if pr.Error != protocol.None || pr.DivergingEpoch.Diverged() {
		return false
	}
	p, ok := b.partitions.get(part.TP)
	if !ok || p.log == nil || !p.isLeader || b.readLimit(p, m) > part.FetchOffset {
		return false
	}
	return !m.IsFromFollower() || (p.tracker.Following(m.ReplicaID, x.Clock()) && slices.Contains(p.tracker.ISR(), m.ReplicaID))
}

// respondSession finishes a response whose partitions are parts' reads:
// the session (if any, and if still current) unmarks the quiet ones, then
// its context leaves out what has nothing new.
func (b *Broker) respondSession(m *protocol.Fetch, x *fetchsession.Context, parts []protocol.FetchPartition, resp *protocol.FetchResponse) {
	if x == nil {
		return
	}
	if !x.Stale() {
		for i := range resp.Partitions {
			pr := &resp.Partitions[i]
			if b.quiet(m, parts[i], pr, x) {
				x.Unmark(pr.TP)
			} else {
				x.Touch(pr.TP)
			}
		}
	}
	x.Respond(resp)
}

// handleSessionFetch serves an incremental Fetch: it reads the session's
// marked partitions, as a full read would (in order, within the budget,
// following the follower's fetch), and answers or waits for data.
func (b *Broker) handleSessionFetch(from sim.NodeID, m *protocol.Fetch, x *fetchsession.Context) {
	b.syncSession(m, x)
	parts := x.Marked(nil)
	bytes, immediate := 0, false
	budget := fetchBudget(b, m)
	prs := make([]protocol.FetchPartitionResponse, 0, len(parts))
	for i, count := 0, b.changes; i < len(parts); i++ {
		part := parts[i]
		pr := b.readPartition(m, part, true, budget-bytes)
		prs = append(prs, pr)
		b.follow(m, part, &pr, x)
		if pr.Error != protocol.None || pr.DivergingEpoch.Diverged() {
			immediate = true
		}
		bytes += len(pr.Records)
		if b.changes != count {
			// The read changed partitions (a follower's fetch moved a
			// high-water mark, which completed a produce, which wrote
			// to another partition...): a full read would find those
			// that come later in its order changed.
			parts = b.readLater(x, parts, i, count)
			count = b.changes
		}
	}
	resp, w := newFetchResponse(m.CorrelationID, len(prs))
	copy(resp.Partitions, prs)
	x.Tick(b.n.Now())
	if immediate || x.Len() == 0 || m.MaxWait <= 0 || m.MinBytes <= 0 || bytes >= int(m.MinBytes) {
		b.respondSession(m, x, parts, resp)
		b.replyTo(from, resp)
		return
	}
	w = b.holdFetch(w, from, m, resp, x)
	x.Hold()
	b.sessionWaits = append(b.sessionWaits, w)
}

// readLater adds to the partitions to read after parts[i] the session's
// partitions after it that changed since the broker's change count was
// count, in order.
func (b *Broker) readLater(x *fetchsession.Context, parts []protocol.FetchPartition, i int, count uint64) []protocol.FetchPartition {
	after := parts[i].TP
	changed, ok := b.changedSince(count)
	var add []protocol.FetchPartition
	if ok {
		for _, tp := range changed {
			if tp.Compare(after) > 0 {
				if req, ok := x.Request(tp); ok {
					add = append(add, req)
				}
			}
		}
	} else {
		for _, req := range x.All() {
			if req.TP.Compare(after) > 0 {
				add = append(add, req)
			}
		}
	}
	if len(add) == 0 {
		return parts
	}
	rest := append(slices.Clone(parts[i+1:]), add...)
	slices.SortFunc(rest, func(a, b protocol.FetchPartition) int { return a.TP.Compare(b.TP) })
	rest = slices.CompactFunc(rest, func(a, b protocol.FetchPartition) bool { return a.TP == b.TP })
	return append(parts[:i+1], rest...)
}

// sessionReady reports whether an incremental fetch waiting on its
// session has something to return: one of its marked partitions does (the
// others are quiet and unchanged). A wait its session has moved past reads
// every partition it had.
func (b *Broker) sessionReady(w *fetchWait) bool {
	x := w.session
	var parts []protocol.FetchPartition
	if x.Stale() {
		parts = x.All()
	} else {
		b.syncSession(w.req, x)
		parts = x.Marked(b.markedScratch[:0])
		b.markedScratch = parts[:0]
	}
	for _, part := range parts {
		if b.partitionReady(w.req, part) {
			return true
		}
	}
	return false
}

// completeSessionWait answers an incremental fetch that waited: the
// session's marked partitions read again (every partition it had, if the
// session has moved past it).
func (b *Broker) completeSessionWait(w *fetchWait) {
	x, m := w.session, w.req
	if i := slices.Index(b.sessionWaits, w); i >= 0 {
		b.sessionWaits = slices.Delete(b.sessionWaits, i, i+1)
	}
	x.Release()
	var parts []protocol.FetchPartition
	if x.Stale() {
		parts = x.All()
	} else {
		b.syncSession(m, x)
		parts = x.Marked(nil)
	}
	resp := w.resp
	if cap(resp.Partitions) < len(parts) {
		resp.Partitions = make([]protocol.FetchPartitionResponse, len(parts))
	}
	resp.Partitions = resp.Partitions[:len(parts)]
	b.answerFetchWait(w, parts)
}
