package broker

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// delayedRequest is what every delayed request shares (Kafka's
// DelayedOperation): the partitions still waiting, the timer of its
// timeout, and whether it was answered. A request is answered exactly
// once: when its last partition completes, or when its timeout passes.
type delayedRequest struct {
	b       *Broker
	pending int
	timer   sim.Timer
	sent    bool
	// waiting[i]: partition i of the request has no answer yet
	waiting []bool
}

// answered reports whether the request was answered (its waits left in a
// purgatory are dropped at the next check).
func (d *delayedRequest) answered() bool { return d.sent }

// await makes partition i of the request wait.
func (d *delayedRequest) await(i int) {
	d.waiting[i] = true
	d.pending++
}

// completed marks partition i answered and reports whether it was the
// last one the request waited for.
func (d *delayedRequest) completed(i int) bool {
	d.waiting[i] = false
	d.pending--
	return d.pending == 0
}

// finish marks the request answered and stops its timer; it reports false
// when the request was answered before.
func (d *delayedRequest) finish() bool {
	if d.sent {
		return false
	}
	d.sent = true
	d.b.n.Cancel(d.timer)
	return true
}

// expiring reports whether the timeout of a request not yet answered
// passed, and marks it.
func (d *delayedRequest) expiring(mark string) bool {
	if d.sent {
		return false
	}
	d.b.s.Mark(mark)
	return true
}

// delayedOperation is a delayed request as a purgatory checks it: Produce
// waiting for the high-water mark, DeleteRecords for the low watermark.
type delayedOperation interface {
	answered() bool
	// check tells whether the partition can answer a wait for required
	// now, with which error code and value (an offset), or must wait on.
	check(p *partition, required int64) (code protocol.ErrorCode, value int64, ok bool)
	// complete answers partition i of the request.
	complete(i int, code protocol.ErrorCode, value int64, p *partition)
}

// delayedWait is one partition of a delayed request, waiting in that
// partition's purgatory until it reaches required. It lives in its
// request's storage when the request has few partitions.
type delayedWait[R delayedOperation] struct {
	req      R
	index    int // the partition's position in the request
	required int64
	done     bool
}

// purgatory is one partition's delayed operations of one kind (Kafka's
// DelayedOperationPurgatory, one per request type, keyed by partition):
// each is completed by the first check that finds it satisfied or failed,
// or by its request's timeout. The partition checks it again whenever what
// the operations wait for may have moved: the high-water mark, the ISR,
// leadership, a follower's fetch (its log start offset), a broker fenced
// or registered. The list's array is reused from check to check, so that a
// busy partition's produce path does not allocate for it.
type purgatory[R delayedOperation] struct {
	waits []*delayedWait[R]
}

// tryCompleteElseWatch completes w at once if the partition can answer it,
// and keeps it otherwise.
func (q *purgatory[R]) tryCompleteElseWatch(p *partition, w *delayedWait[R]) {
	if code, v, ok := w.req.check(p, w.required); ok {
		w.done = true
		w.req.complete(w.index, code, v, p)
		return
	}
	q.waits = append(q.waits, w)
}

// checkAndComplete completes the waits the partition can answer now and
// keeps the others, in their order.
func (q *purgatory[R]) checkAndComplete(p *partition) {
	if len(q.waits) == 0 {
		return
	}
	// Completing a wait answers a request, whose callback may append and
	// add waits: the list is empty meanwhile, the kept ones are filtered
	// into its own array, and those added meanwhile follow them.
	waits := q.waits
	q.waits = nil
	keep := waits[:0]
	for i, w := range waits {
		waits[i] = nil
		if w.done || w.req.answered() {
			continue
		}
		code, v, ok := w.req.check(p, w.required)
		if !ok {
			keep = append(keep, w)
			continue
		}
		w.done = true
		w.req.complete(w.index, code, v, p)
	}
	if len(q.waits) > 0 {
		keep = append(keep, q.waits...)
	}
	q.waits = keep
}

// failAll answers every wait with code: the partition can answer none of
// them any more (it no longer leads).
func (q *purgatory[R]) failAll(p *partition, code protocol.ErrorCode) {
	waits := q.waits
	q.waits = nil
	for _, w := range waits {
		if !w.done && !w.req.answered() {
			w.done = true
			w.req.complete(w.index, code, -1, p)
		}
	}
}

// checkDelayed checks the partition's delayed DeleteRecords and Produce
// requests again (Kafka's tryCompleteDelayedRequests).
func (p *partition) checkDelayed() {
	p.deleteWaits.checkAndComplete(p)
	p.produceWaits.checkAndComplete(p)
}

// failDelayed answers the partition's delayed DeleteRecords and Produce
// requests with NOT_LEADER_OR_FOLLOWER: it no longer leads.
func (p *partition) failDelayed() {
	p.deleteWaits.failAll(p, protocol.NotLeaderOrFollower)
	p.produceWaits.failAll(p, protocol.NotLeaderOrFollower)
}
