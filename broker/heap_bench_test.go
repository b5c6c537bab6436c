package broker_test

import (
	"math"
	"runtime"
	"strings"
	"testing"
	"time"
)

// heapSampleRate is the memory profile's sampling rate while the live-heap
// benchmark runs: fine enough to attribute a few megabytes.
const heapSampleRate = 4096

// liveHeap is the live heap, estimated from the memory profile, less what
// the partition logs (broker/log and the simulated disks' files) and the
// test client's records of responses and acks (the history) hold.
func liveHeap() (total, excluded float64) {
	return liveHeapExcluding(func(fn string) bool {
		return strings.Contains(fn, "/broker/log.") || strings.Contains(fn, "sim.(*File)") ||
			strings.Contains(fn, "broker_test.(*clientProcess)") || strings.Contains(fn, "broker_test.(*observer)")
	})
}

// liveHeapExcluding is the live heap, and the share of it allocated under
// a function exclude names.
func liveHeapExcluding(exclude func(fn string) bool) (total, excluded float64) {
	// The profile describes the heap as of the last completed collection.
	runtime.GC()
	runtime.GC()
	n, _ := runtime.MemProfile(nil, false)
	recs := make([]runtime.MemProfileRecord, n+64)
	n, _ = runtime.MemProfile(recs, false)
	for _, r := range recs[:n] {
		objs, bytes := r.InUseObjects(), r.InUseBytes()
		if objs <= 0 {
			continue
		}
		avg := float64(bytes) / float64(objs)
		v := float64(bytes) / (1 - math.Exp(-avg/heapSampleRate))
		total += v
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if exclude(f.Function) {
				excluded += v
				break
			}
			if !more {
				break
			}
		}
	}
	return total, excluded
}

// BenchmarkLiveHeap runs 3 brokers with one written topic (3 partitions,
// 60 records/s, acks=all) and 27 idle partitions whose followers long-poll
// their leaders, for 960 simulated seconds, and reports the live heap of
// the brokers and clients at 60 and 960 simulated seconds and their ratio
// (flat in simulated time: near 1). The partition logs and the client's
// records (the history) are excluded: they grow by design.
//
//	go test ./broker -run '^$' -bench LiveHeap -benchtime 1x
func BenchmarkLiveHeap(b *testing.B) {
	old := runtime.MemProfileRate
	runtime.MemProfileRate = heapSampleRate
	defer func() { runtime.MemProfileRate = old }()
	var at60, at960, logs960 float64
	for range b.N {
		e, err := newEnv(envOptions{seed: 1, brokers: 3, jitter: 100 * time.Microsecond})
		if err != nil {
			b.Fatal(err)
		}
		e.quiet = true
		if err := e.ctrl.createTopic("t", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, nil); err != nil {
			b.Fatal(err)
		}
		idle := make([][]int32, 27)
		for i := range idle {
			idle[i] = []int32{int32(i%3 + 1), int32((i+1)%3 + 1), int32((i+2)%3 + 1)}
		}
		if err := e.ctrl.createTopic("idle", idle, nil); err != nil {
			b.Fatal(err)
		}
		p := &steadyProducer{e: e, linger: 100 * time.Millisecond, rate: 60, topic: "t"}
		e.client.After(0, "producer.linger", p.tick)
		if err := e.s.RunFor(60 * time.Second); err != nil {
			b.Fatal(err)
		}
		clear(e.responses)
		e.obs.acked = nil
		total, excl := liveHeap()
		at60 = total - excl
		if err := e.s.RunFor(900 * time.Second); err != nil {
			b.Fatal(err)
		}
		clear(e.responses)
		e.obs.acked = nil
		total, excl = liveHeap()
		at960, logs960 = total-excl, excl
		runtime.KeepAlive(e)
	}
	b.ReportMetric(at60/1e6, "MB@60s")
	b.ReportMetric(at960/1e6, "MB@960s")
	b.ReportMetric(logs960/1e6, "logs-MB@960s")
	b.ReportMetric(at960/at60, "heap960/60")
}
