package scenarios_test

import (
	"testing"
	"time"

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
