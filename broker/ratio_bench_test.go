package broker_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/internal/benchclock"
)

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
	k := benchclock.NewKernelTimers()
	k.Run(100_000)
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
		kernelNs += k.Run(100_000)
	}
	brokerNs := float64(brokerCPU.Nanoseconds()) / float64(events)
	kernelNs /= float64(b.N)
	b.ReportMetric(brokerNs, "broker-ns/event")
	b.ReportMetric(kernelNs, "kernel-ns/event")
	b.ReportMetric(brokerNs/kernelNs, "broker/kernel")
	b.ReportMetric(float64(mallocs)/float64(events), "allocs/event")
	b.ReportMetric(float64(b.N)/brokerCPU.Seconds(), "sim-s/cpu-s")
}
