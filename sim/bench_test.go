package sim_test

import (
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// BenchmarkTimerEvents measures the kernel alone: 1,000 timers, each
// rescheduling itself when it fires, so the queue holds a steady working
// set. Reported: kernel events per wall second.
//
//	go test ./sim -run '^$' -bench TimerEvents -benchmem
func BenchmarkTimerEvents(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	r := s.Rand("bench")
	const timers = 1000
	fns := make([]func(), timers)
	for i := range fns {
		fns[i] = func() { s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i]) }
		s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := s.Steps()
	for range b.N {
		s.Step()
	}
	b.ReportMetric(float64(s.Steps()-start)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkNodeTimers is BenchmarkTimerEvents with timers owned by nodes
// (incarnation and pause checks on every event).
//
//	go test ./sim -run '^$' -bench NodeTimers -benchmem
func BenchmarkNodeTimers(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	r := s.Rand("bench")
	for i := range 10 {
		_, _ = s.AddNode(string(rune('a'+i)), func(n *sim.Node) any {
			fns := make([]func(), 100)
			for j := range fns {
				fns[j] = func() { n.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[j]) }
				n.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[j])
			}
			return nil
		})
	}
	for _, n := range s.Nodes() {
		_ = n.Start()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := s.Steps()
	for range b.N {
		s.Step()
	}
	b.ReportMetric(float64(s.Steps()-start)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkCancel measures scheduling and cancelling a timeout that never
// fires, the common case for request timeouts.
//
//	go test ./sim -run '^$' -bench Cancel -benchmem
func BenchmarkCancel(b *testing.B) {
	s := sim.New(sim.Config{Seed: 1})
	fn := func() {}
	for i := range 1000 {
		s.After(time.Duration(i)*time.Millisecond, "bg", fn)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t := s.After(30*time.Second, "timeout", fn)
		s.Cancel(t)
	}
}
