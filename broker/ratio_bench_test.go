package broker_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/internal/benchclock"
	"github.com/kafkasim/kafkasim/sim"
)

// kernelEvents runs the kernel alone on 1,000 self-rescheduling timers (as
// sim's BenchmarkTimerEvents) and returns CPU nanoseconds per event.
type kernelEvents struct{ s *sim.Sim }

func newKernelEvents() *kernelEvents {
	s := sim.New(sim.Config{Seed: 1})
	r := s.Rand("bench")
	fns := make([]func(), 1000)
	for i := range fns {
		fns[i] = func() { s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i]) }
		s.After(time.Duration(r.Int64N(1_000_000)), "bench", fns[i])
	}
	return &kernelEvents{s: s}
}

func (k *kernelEvents) run(events int) float64 {
	start := benchclock.CPU()
	for range events {
		k.s.Step()
	}
	return float64((benchclock.CPU() - start).Nanoseconds()) / float64(events)
}

// BenchmarkBrokerVsKernel measures a broker event against a kernel event in
// one run: 3 brokers, 3 partitions with replication factor 3, acks=all,
// 1,000 records/s in 5 ms batches (Kafka 4.0's linger.ms), one simulated
// second per iteration (a fresh cluster every 100), alternating with
// 100,000 kernel timer events, both timed in process CPU time. Reported:
// CPU ns per event of each, their ratio, allocations per broker event (the
// test producer and its record of acknowledgements included) and simulated
// seconds per CPU second.
//
//	go test ./broker -run '^$' -bench BrokerVsKernel -benchtime 100x
func BenchmarkBrokerVsKernel(b *testing.B) {
	k := newKernelEvents()
	k.run(100_000)
	var e *env
	var brokerCPU time.Duration
	var events, mallocs uint64
	var kernelNs float64
	var ms runtime.MemStats
	for i := range b.N {
		if i%100 == 0 {
			e, _ = newBenchCluster(b, 5*time.Millisecond)
		}
		runtime.ReadMemStats(&ms)
		m0, steps := ms.Mallocs, e.s.Steps()
		start := benchclock.CPU()
		if err := e.s.RunFor(time.Second); err != nil {
			b.Fatal(err)
		}
		brokerCPU += benchclock.CPU() - start
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - m0
		events += e.s.Steps() - steps
		kernelNs += k.run(100_000)
	}
	brokerNs := float64(brokerCPU.Nanoseconds()) / float64(events)
	kernelNs /= float64(b.N)
	b.ReportMetric(brokerNs, "broker-ns/event")
	b.ReportMetric(kernelNs, "kernel-ns/event")
	b.ReportMetric(brokerNs/kernelNs, "broker/kernel")
	b.ReportMetric(float64(mallocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(b.N)/brokerCPU.Seconds(), "sim-s/cpu-s")
}
