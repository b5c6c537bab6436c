package benchclock

import (
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// KernelTimers is the kernel's benchmark working set: 1,000 timers that
// each reschedule themselves a random delay ahead (sim's
// BenchmarkTimerEvents), the kernel event that ratios are measured against.
type KernelTimers struct{ s *sim.Sim }

// NewKernelTimers builds the working set on a fresh simulation.
func NewKernelTimers() *KernelTimers {
	s := sim.New(sim.Config{Seed: 1})
	r := s.Rand("bench")
	fns := make([]func(), 1000)
	for i := range fns {
		fns[i] = func() { s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i]) }
		s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i])
	}
	return &KernelTimers{s: s}
}

// Run executes events kernel events and returns CPU nanoseconds per event.
func (k *KernelTimers) Run(events int) float64 {
	start := CPU()
	for range events {
		k.s.Step()
	}
	return float64((CPU() - start).Nanoseconds()) / float64(events)
}
