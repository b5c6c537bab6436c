package zookeeper_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
)

// BenchmarkCommits measures a 3-server ensemble in steady state: clients
// keep a few setData requests each in flight (as Kafka's controller
// pipelines its ZooKeeper writes), every one committed by a quorum, fsynced
// and applied on every server. One op is one committed write.
//
//	go test ./broker/zookeeper -run '^$' -bench Commits -benchmem
func BenchmarkCommits(b *testing.B) {
	for _, clients := range []int{1, 4} {
		b.Run("clients="+strconv.Itoa(clients), func(b *testing.B) {
			ec := defaultEnsembleConfig()
			ec.clients = clients
			ec.link.Latency = 500 * time.Microsecond
			e, err := newEnsemble(ec)
			if err != nil {
				b.Fatal(err)
			}
			e.light = true // the invariants are the tests' business
			if ok, err := e.runUntil(time.Minute, e.stable); !ok || err != nil {
				b.Fatalf("no stable leader: %v", err)
			}
			const inflight = 8
			committed, issued := 0, 0
			var handles []*zookeeper.Client
			for i, c := range e.clients {
				h, err := c.connect(zookeeper.DefaultClientConfig(), nil)
				if err != nil {
					b.Fatal(err)
				}
				handles = append(handles, h)
				path := "/bench-" + strconv.Itoa(i)
				h.Create(path, nil, zookeeper.Persistent, nil)
			}
			if ok, err := e.runUntil(time.Minute, func() bool {
				for _, h := range handles {
					if h.State() != zookeeper.Connected || h.Pending() > 0 {
						return false
					}
				}
				return true
			}); !ok || err != nil {
				b.Fatalf("clients did not connect: %v", err)
			}
			data := []byte("a partition state of about sixty bytes, like Kafka writes")
			var issue func(i int)
			issue = func(i int) {
				if issued >= b.N {
					return
				}
				issued++
				handles[i].SetData("/bench-"+strconv.Itoa(i), data, -1, func(_ zookeeper.Stat, err error) {
					if err != nil {
						e.s.Fail("bench", err)
						return
					}
					committed++
					issue(i)
				})
			}
			s := e.s
			startSim, startSteps := s.Now(), s.Steps()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range handles {
				for range inflight {
					issue(i)
				}
			}
			ok, err := e.runUntil(time.Duration(b.N)*time.Second+time.Minute, func() bool { return committed >= b.N })
			wall := time.Since(start).Seconds()
			b.StopTimer()
			if err != nil || !ok {
				b.Fatalf("writes not committed: %v (%d of %d)\n%s", err, committed, b.N, e.describe())
			}
			b.ReportMetric(float64(b.N)/wall, "commits/wall-s")
			b.ReportMetric((s.Now()-startSim).Seconds()/wall, "sim-s/wall-s")
			b.ReportMetric(float64(s.Steps()-startSteps)/wall, "events/s")
		})
	}
}
