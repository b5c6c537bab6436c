package sim_test

import (
	"math/rand/v2"
	"testing"

	"github.com/kafkasim/kafkasim/internal/benchclock"
	"github.com/kafkasim/kafkasim/sim"
)

// floorEntry is one event of the typed heap: its time, a sequence number
// for ties, and the index of the timer to run.
type floorEntry struct {
	at  int64
	seq uint64
	fn  int32
}

func (a floorEntry) less(b floorEntry) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

// floorHeap is the floor a kernel event is measured against: a 4-ary
// min-heap of typed entries, written out, with no interface boxing, no
// closures and no trace.
type floorHeap []floorEntry

func (h *floorHeap) push(e floorEntry) {
	*h = append(*h, e)
	s := *h
	p := len(s) - 1
	for p > 0 {
		parent := (p - 1) / 4
		if !e.less(s[parent]) {
			break
		}
		s[p] = s[parent]
		p = parent
	}
	s[p] = e
}

func (h *floorHeap) pop() floorEntry {
	s := *h
	top := s[0]
	last := len(s) - 1
	x := s[last]
	s = s[:last]
	*h = s
	if last == 0 {
		return top
	}
	p, n := 0, last
	for {
		c := 4*p + 1
		if c >= n {
			break
		}
		best := c
		for j := c + 1; j < min(c+4, n); j++ {
			if s[j].less(s[best]) {
				best = j
			}
		}
		if !s[best].less(x) {
			break
		}
		s[p] = s[best]
		p = best
	}
	s[p] = x
	return top
}

// floorLoop runs events of the typed heap: the same working set as
// benchclock.KernelTimers (1,000 timers, each rescheduling itself up to 1 ms ahead),
// and returns CPU nanoseconds per event.
type floorLoop struct {
	h   floorHeap
	r   *rand.Rand
	now int64
	seq uint64
	ran []int
}

func newFloorLoop() *floorLoop {
	f := &floorLoop{r: sim.NewRand(1, "bench"), ran: make([]int, 1000)}
	for i := range f.ran {
		f.seq++
		f.h.push(floorEntry{at: f.r.Int64N(1_000_000), seq: f.seq, fn: int32(i)})
	}
	return f
}

func (f *floorLoop) run(events int) float64 {
	start := benchclock.CPU()
	for range events {
		e := f.h.pop()
		f.now = e.at
		f.ran[e.fn]++
		f.seq++
		f.h.push(floorEntry{at: f.now + f.r.Int64N(1_000_000), seq: f.seq, fn: e.fn})
	}
	return float64((benchclock.CPU() - start).Nanoseconds()) / float64(events)
}

// BenchmarkKernelVsFloor measures a kernel event against the floor: the
// same working set of timers on a typed 4-ary heap loop (container/heap is
// no floor: it boxes every entry in an interface). The two run in
// alternating slices of 100,000 events, timed in process CPU time, so that
// a loaded machine slows neither. Reported: CPU ns/event of each and their
// ratio.
//
//	go test ./sim -run '^$' -bench KernelVsFloor -benchtime 20x
func BenchmarkKernelVsFloor(b *testing.B) {
	const slice = 100_000
	k, f := benchclock.NewKernelTimers(), newFloorLoop()
	k.Run(slice)
	f.run(slice)
	var kn, fn float64
	b.ResetTimer()
	for range b.N {
		kn += k.Run(slice)
		fn += f.run(slice)
	}
	n := float64(b.N)
	b.ReportMetric(kn/n, "kernel-ns/event")
	b.ReportMetric(fn/n, "floor-ns/event")
	b.ReportMetric(kn/fn, "kernel/floor")
}
