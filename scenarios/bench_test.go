package scenarios_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/internal/benchclock"
	"github.com/kafkasim/kafkasim/scenarios"
)

// BenchmarkStandardSeed runs the standard scenario (3 brokers, 3
// controllers, 3 partitions RF=3, 3 producers, a group of 3 consumers, 60
// simulated seconds, random faults, full checking), one seed per
// iteration: seeds per wall minute, seeds per CPU minute of the process
// (per core, garbage collection included: the honest figure on a shared
// machine), and simulated seconds per wall second.
//
//	go test ./scenarios -run '^$' -bench StandardSeed -benchtime 20x
func BenchmarkStandardSeed(b *testing.B) {
	s, err := scenarios.Builtin("standard")
	if err != nil {
		b.Fatal(err)
	}
	var simulated time.Duration
	var ops, steps int
	b.ReportAllocs()
	cpu := benchclock.CPU()
	for i := range b.N {
		s.Seed = uint64(i + 1)
		res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true})
		if err != nil {
			b.Fatal(err)
		}
		simulated += res.End
		ops += len(res.History.Ops)
		steps += int(res.Steps)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Minutes(), "seeds/min")
	b.ReportMetric(float64(b.N)/(benchclock.CPU()-cpu).Minutes(), "seeds/cpu-min")
	b.ReportMetric(simulated.Seconds()/b.Elapsed().Seconds(), "sim-s/s")
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(ops)/float64(b.N), "ops/seed")
}

// BenchmarkTenK runs the standard scenario (seed 1) with its first
// producer at 3,334 records/s, 10,000 records/s in all, for 60 simulated
// seconds with full checking, one run per iteration, as
//
//	kafkasim run standard --seed 1 --no-report --set workload.producers.0.rate=3334
//
// runs it: wall and CPU seconds per run, the largest heap (objects, live or
// not yet swept), the largest live heap a collection marked and the peak
// resident set of the process, in MB, sampled from a goroutine of their
// own so that the run is untouched. It fails unless the verdict is
// definite: linearizability checked, nothing unchecked.
//
//	go test ./scenarios -run '^$' -bench TenK -benchtime 1x
func BenchmarkTenK(b *testing.B) {
	s, err := scenarios.Builtin("standard")
	if err != nil {
		b.Fatal(err)
	}
	if s, err = scenarios.Override(s, "workload.producers.0.rate=3334"); err != nil {
		b.Fatal(err)
	}
	s.Seed = 1
	var heap, live, rss uint64
	var ops int
	runtime.GC()
	cpu := benchclock.CPU()
	peak := benchclock.StartPeak()
	for range b.N {
		res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true}) // as --no-report
		if err != nil {
			b.Fatal(err)
		}
		if l := res.Report.Linearizability; l == nil || l.Result != checker.Ok || !res.OK() {
			b.Fatalf("verdict %s: want ok with linearizability checked", res.Summary())
		}
		ops += len(res.History.Ops)
	}
	heap, live = peak.Stop()
	rss = benchclock.PeakRSS()
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "wall-s")
	b.ReportMetric((benchclock.CPU()-cpu).Seconds()/float64(b.N), "cpu-s")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
	b.ReportMetric(float64(ops)/float64(b.N), "ops/run")
}
