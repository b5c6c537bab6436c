package checker_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/internal/benchclock"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// benchHistory is a correct history of about n client operations over 10
// partitions: 10 producers, 5 consumers, outcomes 10% unknown and 10%
// failed.
func benchHistory(n int) *history.History {
	cfg := genConfig{Partitions: 10, Producers: 10, Consumers: 5, Ops: n, Unknown: 10, Fail: 10, Acks: model.AcksAll, Idempotent: true}
	return generate(seeded(1), cfg)
}

// benchLinearizability checks a correct history of about n operations
// over 10 partitions: operations per second, seconds per check (wall and
// CPU), the largest heap while checking (the history included; a
// goroutine of its own samples it) and the live heap of the history alone,
// in MB.
func benchLinearizability(b *testing.B, n int) {
	h := benchHistory(n)
	b.ReportAllocs()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ResetTimer()
	cpu := benchclock.CPU()
	peak := benchclock.StartPeak()
	for range b.N {
		l := checker.CheckLinearizability(h, 0)
		if l.Result != checker.Ok {
			b.Fatalf("result %s", l.Result)
		}
	}
	heap, _ := peak.Stop()
	b.ReportMetric(float64(len(h.Ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/check")
	b.ReportMetric((benchclock.CPU()-cpu).Seconds()/float64(b.N), "cpu-s/check")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "history-MB")
	b.ReportMetric(float64(len(h.Ops)), "ops")
}

// BenchmarkLinearizability10k checks a 10,000-operation history over 10
// partitions: logs with the log checker, committed offsets with porcupine.
func BenchmarkLinearizability10k(b *testing.B) { benchLinearizability(b, 10_000) }

// BenchmarkLinearizability100k is the same with 100,000 operations.
func BenchmarkLinearizability100k(b *testing.B) { benchLinearizability(b, 100_000) }

// BenchmarkLinearizability1M is the same with 1,000,000 operations.
//
//	go test ./checker -run '^$' -bench 'Linearizability1M$' -benchtime 1x
func BenchmarkLinearizability1M(b *testing.B) { benchLinearizability(b, 1_000_000) }

// BenchmarkLinearizabilityVsPorcupine100k checks one 100,000-operation
// history both ways in each iteration and reports the ratios of their
// times: the whole check (logs with the log checker, committed offsets
// with porcupine) against porcupine alone on every partition, as the check
// was before the log checker; and the log checker against porcupine on
// the logs alone (each including its conversion of the history).
func BenchmarkLinearizabilityVsPorcupine100k(b *testing.B) {
	h := benchHistory(100_000)
	logs := func(k checker.PartitionKey) bool { return !k.Offsets }
	var check, logChecker, whole, porcupineLogs time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if l := checker.CheckLinearizability(h, 0); l.Result != checker.Ok {
			b.Fatalf("result %s", l.Result)
		}
		check += time.Since(start)
		start = time.Now()
		if !checker.CheckLogs(h) {
			b.Fatal("the log checker finds a correct history illegal")
		}
		logChecker += time.Since(start)
		start = time.Now()
		ops, _ := checker.Linearization(h)
		if !porcupine.CheckOperations(checker.Porcupine(), ops) {
			b.Fatal("porcupine finds a correct history illegal")
		}
		whole += time.Since(start)
		start = time.Now()
		ops, _ = checker.LinearizationOf(h, logs)
		if !porcupine.CheckOperations(checker.Porcupine(), ops) {
			b.Fatal("porcupine finds a correct history illegal")
		}
		porcupineLogs += time.Since(start)
	}
	b.ReportMetric(float64(whole)/float64(check), "porcupine/check")
	b.ReportMetric(float64(porcupineLogs)/float64(logChecker), "porcupine/logchecker")
	b.ReportMetric(float64(check.Milliseconds())/float64(b.N), "check-ms")
	b.ReportMetric(float64(logChecker.Milliseconds())/float64(b.N), "logchecker-ms")
	b.ReportMetric(float64(whole.Milliseconds())/float64(b.N), "porcupine-ms")
	b.ReportMetric(float64(porcupineLogs.Milliseconds())/float64(b.N), "porcupine-logs-ms")
}

// BenchmarkAnomalies measures anomaly detection throughput.
func BenchmarkAnomalies(b *testing.B) {
	h := benchHistory(100_000)
	b.ResetTimer()
	for range b.N {
		if fs := checker.Bad(checker.Anomalies(h, checker.Run{})); len(fs) > 0 {
			b.Fatalf("%d findings in a correct history: %s", len(fs), fs[0].String())
		}
	}
	b.ReportMetric(float64(len(h.Ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkLinearizabilityIllegal100k checks a 100,000-operation history in
// which one poll skipped a record: the check must prove that no
// linearization exists.
func BenchmarkLinearizabilityIllegal100k(b *testing.B) {
	h := benchHistory(100_000)
	parts := polled(h, 3)
	p := parts[len(parts)/3]
	p.Records = append(p.Records[:1], p.Records[2:]...)
	b.ResetTimer()
	for range b.N {
		if l := checker.CheckLinearizability(h, 0); l.Result != checker.Illegal {
			b.Fatalf("result %s", l.Result)
		}
	}
	b.ReportMetric(float64(len(h.Ops))*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkInvariantsStep measures the invariants' cost per simulation
// step on a cluster of 10 partitions with 3 replicas each, where every
// step appends a record to one partition, replicates it and commits it.
func BenchmarkInvariantsStep(b *testing.B) { benchInvariantsStep(b, false) }

// BenchmarkInvariantsStepPartitionVersions is the same with a view that
// versions each partition (model.PartitionVersions): a step reads only the
// partition it changed.
func BenchmarkInvariantsStepPartitionVersions(b *testing.B) { benchInvariantsStep(b, true) }

func benchInvariantsStep(b *testing.B, perPartition bool) {
	v := newFakeView()
	const parts = 10
	for i := range parts {
		tp := model.TopicPartition{Topic: "t", Partition: int32(i)}
		p := v.part(tp)
		p.md = model.PartitionMetadata{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}
		p.hasMD = true
		for id := int32(1); id <= 3; id++ {
			r := v.replica(tp, id)
			r.epoch = 1
			if id == 1 {
				r.leader, r.isr = true, []int32{1, 2, 3}
			}
		}
	}
	inv := checker.NewInvariants(checker.InvariantConfig{})
	var view model.ClusterView = v
	if perPartition {
		view = partitionVersioned{v}
	}
	inv.Attach(view, nil, nil)
	value := []byte("v")
	for _, tp := range v.Partitions() {
		for id := int32(1); id <= 3; id++ {
			v.replica(tp, id).entries = make([]model.Entry, 0, b.N/parts+1)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		tp := model.TopicPartition{Topic: "t", Partition: int32(i % parts)}
		off := int64(i / parts)
		for id := int32(1); id <= 3; id++ {
			r := v.replica(tp, id)
			r.entries = append(r.entries, model.Entry{Offset: off, LeaderEpoch: 1, Value: value, ProducerID: -1})
			r.hwm = off + 1
		}
		v.touch(tp)
		if err := inv.Check(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
}

// BenchmarkInvariantsUnchanged measures a step that changed nothing the
// checkers can see: the view's version tells them so.
func BenchmarkInvariantsUnchanged(b *testing.B) {
	v, _ := healthyView()
	inv := checker.NewInvariants(checker.InvariantConfig{})
	inv.Attach(v, nil, nil)
	for range b.N {
		if err := inv.Check(); err != nil {
			b.Fatal(err)
		}
	}
}
