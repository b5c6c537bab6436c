package broker_test

import (
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/internal/benchclock"
	"github.com/kafkasim/kafkasim/model"
)

// partitionsRun runs 3 brokers for 20 simulated seconds with a topic of 3
// partitions written at 1,000 records/s (acks=all, 5 ms linger) and
// idle-3 more idle partitions, with the invariants and the watch checking
// after every event when checked, and returns the CPU nanoseconds per
// kernel event.
func partitionsRun(b *testing.B, partitions int, checked bool) float64 {
	b.StopTimer()
	e, err := newEnv(envOptions{seed: 1, brokers: 3, jitter: 100 * time.Microsecond})
	if err != nil {
		b.Fatal(err)
	}
	e.quiet = true
	if err := e.ctrl.createTopic("t", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, nil); err != nil {
		b.Fatal(err)
	}
	if idle := partitions - 3; idle > 0 {
		as := make([][]int32, idle)
		for i := range as {
			as[i] = []int32{int32(i%3 + 1), int32((i+1)%3 + 1), int32((i+2)%3 + 1)}
		}
		if err := e.ctrl.createTopic("idle", as, nil); err != nil {
			b.Fatal(err)
		}
	}
	if checked {
		inv := checker.NewInvariants(checker.InvariantConfig{})
		inv.Register(e.s, e.view())
		checker.NewWatch(func(model.TopicPartition, int) int { return 1 }).Register(e.s, e.view())
	}
	p := &steadyProducer{e: e, linger: 5 * time.Millisecond, rate: 1000, topic: "t"}
	e.client.After(0, "producer.linger", p.tick)
	if err := e.s.RunFor(2 * time.Second); err != nil { // topics created, leaders elected
		b.Fatal(err)
	}
	steps := e.s.Steps()
	start := benchclock.CPU()
	b.StartTimer()
	if err := e.s.RunFor(20 * time.Second); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	return float64((benchclock.CPU() - start).Nanoseconds()) / float64(e.s.Steps()-steps)
}

// BenchmarkPartitions300vs3 compares the cost of a kernel event with 300
// partitions against 3 (the same write load on 3 partitions; the others
// idle but replicated and followed), with the per-event invariants and
// the watch, and reports the ratio, and the checkers' own cost per event
// (checked minus unchecked) at each size.
//
//	go test ./broker -run '^$' -bench Partitions300vs3 -benchtime 3x
func BenchmarkPartitions300vs3(b *testing.B) {
	var c3, c300, u3, u300 float64
	for range b.N {
		c3 += partitionsRun(b, 3, true)
		c300 += partitionsRun(b, 300, true)
		u3 += partitionsRun(b, 3, false)
		u300 += partitionsRun(b, 300, false)
	}
	n := float64(b.N)
	b.ReportMetric(c3/n, "ns/event@3")
	b.ReportMetric(c300/n, "ns/event@300")
	b.ReportMetric(c300/c3, "event300/3")
	b.ReportMetric((c3-u3)/n, "check-ns/event@3")
	b.ReportMetric((c300-u300)/n, "check-ns/event@300")
	b.ReportMetric((c300-u300)/(c3-u3), "check300/3")
}
