package sim

import "time"

// A Timer names a scheduled event so that it can be cancelled. The zero Timer
// names nothing; cancelling it is a no-op.
type Timer struct {
	slot int32 // index into the slab, plus one (so the zero value is invalid)
	gen  uint32
}

// IsZero reports whether t is the zero Timer, which names no event.
func (t Timer) IsZero() bool { return t.slot == 0 }

// event is one slab slot: a scheduled call of fn(arg), owned by a node
// incarnation or by the world (owner nil).
type event struct {
	at    time.Duration
	seq   uint64
	owner *Node
	inc   uint32 // owner's incarnation when scheduled
	gen   uint32 // bumped every time the slot is freed
	heap  int32  // position in the heap, or -1
	// deferred is set while the event waits for its paused owner to resume.
	deferred bool
	kind     string // trace kind, e.g. "timer" or "deliver"
	fn       func(any)
	arg      any
}

// heapEntry keeps the ordering key next to the slot index so that sifting
// compares without touching the slab.
type heapEntry struct {
	at   time.Duration
	seq  uint64
	slot int32
}

func (a heapEntry) less(b heapEntry) bool {
	return a.at < b.at || (a.at == b.at && a.seq < b.seq)
}

// queue is an indexed 4-ary min-heap over a slab of events: O(log n) push,
// pop and cancel, no allocation once the slab has grown to the working set.
type queue struct {
	slab []event
	free []int32
	heap []heapEntry
}

func (q *queue) len() int { return len(q.heap) }

// alloc returns a free slot index.
func (q *queue) alloc() int32 {
	if n := len(q.free); n > 0 {
		i := q.free[n-1]
		q.free = q.free[:n-1]
		return i
	}
	q.slab = append(q.slab, event{heap: -1})
	return int32(len(q.slab) - 1)
}

// release frees slot i; any Timer naming it goes stale.
func (q *queue) release(i int32) {
	e := &q.slab[i]
	e.gen++
	e.heap = -1
	e.deferred = false
	e.owner = nil
	e.fn = nil
	e.arg = nil
	q.free = append(q.free, i)
}

// lookup returns the slot a timer names, or -1 if the timer is stale.
func (q *queue) lookup(t Timer) int32 {
	i := t.slot - 1
	if i < 0 || int(i) >= len(q.slab) || q.slab[i].gen != t.gen {
		return -1
	}
	return i
}

func (q *queue) push(i int32) {
	e := &q.slab[i]
	e.heap = int32(len(q.heap))
	q.heap = append(q.heap, heapEntry{at: e.at, seq: e.seq, slot: i})
	q.up(int(e.heap))
}

// popMin removes and returns the slot of the earliest event.
func (q *queue) popMin() int32 {
	top := q.heap[0].slot
	q.removeAt(0)
	return top
}

func (q *queue) peek() (heapEntry, bool) {
	if len(q.heap) == 0 {
		return heapEntry{}, false
	}
	return q.heap[0], true
}

// removeAt removes the heap entry at position p.
func (q *queue) removeAt(p int) {
	last := len(q.heap) - 1
	q.slab[q.heap[p].slot].heap = -1
	if p != last {
		q.heap[p] = q.heap[last]
		q.slab[q.heap[p].slot].heap = int32(p)
	}
	q.heap = q.heap[:last]
	if p < last {
		if !q.up(p) {
			q.down(p)
		}
	}
}

func (q *queue) up(p int) bool {
	h := q.heap
	x := h[p]
	moved := false
	for p > 0 {
		parent := (p - 1) / 4
		if !x.less(h[parent]) {
			break
		}
		h[p] = h[parent]
		q.slab[h[p].slot].heap = int32(p)
		p = parent
		moved = true
	}
	h[p] = x
	q.slab[x.slot].heap = int32(p)
	return moved
}

func (q *queue) down(p int) {
	h := q.heap
	n := len(h)
	x := h[p]
	for {
		c := 4*p + 1
		if c >= n {
			break
		}
		best := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if h[j].less(h[best]) {
				best = j
			}
		}
		if !h[best].less(x) {
			break
		}
		h[p] = h[best]
		q.slab[h[p].slot].heap = int32(p)
		p = best
	}
	h[p] = x
	q.slab[x.slot].heap = int32(p)
}
