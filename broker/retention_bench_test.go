package broker_test

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkRetentionHeap writes 1,000 records/s (acks=all, batches every
// 100 ms) to one partition replicated on 3 brokers for one hour of
// simulated time, with retention.ms of 10 minutes and 1 MiB segments
// (retention checked every 5 minutes, Kafka's default), and reports the
// live heap at 10 and 60 simulated minutes and their ratio. The partition
// logs and the simulated disks' files count (retention bounds them); only
// the test client's records of responses and acks (the history) are left
// out.
//
//	go test ./broker -run '^$' -bench RetentionHeap -benchtime 1x
func BenchmarkRetentionHeap(b *testing.B) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = heapSampleRate
	defer func() { runtime.MemProfileRate = old }()
	clients := func(fn string) bool {
		return strings.Contains(fn, "broker_test.(*clientProcess)") || strings.Contains(fn, "broker_test.(*observer)")
	}
	var at10, at60 float64
	var starts int64
	for range b.N {
		e, err := newEnv(envOptions{seed: 1, brokers: 3, jitter: 100 * time.Microsecond})
		if err != nil {
			b.Fatal(err)
		}
		e.quiet = true
		if err := e.ctrl.createTopic("t", [][]int32{{1, 2, 3}}, map[string]string{"retention.ms": "600000", "segment.bytes": "1048576"}); err != nil {
			b.Fatal(err)
		}
		p := &steadyProducer{e: e, linger: 100 * time.Millisecond, rate: 1000, topic: "t"}
		e.client.After(0, "producer.linger", p.tick)
		if err := e.s.RunFor(10 * time.Minute); err != nil {
			b.Fatal(err)
		}
		clear(e.responses)
		e.obs.acked = nil
		total, excl := liveHeapExcluding(clients)
		at10 = total - excl
		if err := e.s.RunFor(50 * time.Minute); err != nil {
			b.Fatal(err)
		}
		clear(e.responses)
		e.obs.acked = nil
		total, excl = liveHeapExcluding(clients)
		at60 = total - excl
		if br, ok := e.broker(1); ok {
			for _, tp := range br.Partitions() {
				if r, ok := br.Partition(tp); ok && tp.Topic == "t" {
					starts = r.LogStartOffset()
				}
			}
		}
		runtime.KeepAlive(e)
	}
	b.ReportMetric(at10/1e6, "MB@10min")
	b.ReportMetric(at60/1e6, "MB@60min")
	b.ReportMetric(at60/at10, "heap60/10")
	b.ReportMetric(float64(starts), "log-start@60min")
}
