package kraft_test

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkSteadyCommits measures the quorum in steady state: 3 voters and
// 2 observers, a workload appending one record per simulated millisecond
// to the leader (a busy controller), every record committed on all
// voters and observers. One op is one committed record.
//
//	go test ./broker/kraft -run '^$' -bench SteadyCommits -benchmem
func BenchmarkSteadyCommits(b *testing.B) {
	for _, linger := range []time.Duration{25 * time.Millisecond, 0} {
		b.Run("linger="+linger.String(), func(b *testing.B) {
			cc := defaultClusterConfig()
			cc.observers = 2
			cc.kraft.AppendLinger = linger
			cl, err := newCluster(cc)
			if err != nil {
				b.Fatal(err)
			}
			if ok, err := cl.runUntil(20*time.Second, cl.caughtUp); !ok || err != nil {
				b.Fatalf("no stable leader: %v", err)
			}
			cl.light = true // checks whose cost grows with the log are the tests' business
			s := cl.s
			rec := [][]byte{[]byte("a metadata record of about sixty bytes, like a PartitionChange")}
			appended := 0
			var tick func()
			tick = func() {
				if l := cl.leader(); l != nil && appended < b.N {
					if _, err := l.c.Append(rec); err == nil {
						appended++
					}
				}
				s.After(time.Millisecond, "workload", tick)
			}
			s.After(0, "workload", tick)
			want := cl.leader().c.EndOffset()
			startSim, startSteps := s.Now(), s.Steps()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			done := func() bool {
				if appended < b.N {
					return false
				}
				for _, p := range cl.procs() {
					if p.records < b.N || p.commits < want+int64(b.N) {
						return false
					}
				}
				return true
			}
			ok, err := cl.runUntil(time.Duration(b.N)*time.Millisecond+time.Minute, done)
			wall := time.Since(start).Seconds()
			b.StopTimer()
			if err != nil || !ok {
				b.Fatalf("records not committed everywhere: %v\n%s", err, cl.describe())
			}
			simSec := (s.Now() - startSim).Seconds()
			b.ReportMetric(float64(b.N)/wall, "commits/wall-s")
			b.ReportMetric(simSec/wall, "sim-s/wall-s")
			b.ReportMetric(float64(s.Steps()-startSteps)/wall, "events/s")
		})
	}
}

// BenchmarkFailover measures controller failover: the leader crashes, the
// others elect a new one, which commits its LeaderChange record; then the
// old leader restarts and catches up (outside the timer). One op is one
// election. It reports the wall time per election (ns/op), the simulated
// time from crash to a committing leader, and simulated seconds per wall
// second.
//
//	go test ./broker/kraft -run '^$' -bench Failover -benchmem
func BenchmarkFailover(b *testing.B) {
	for _, voters := range []int{3, 5} {
		b.Run("voters="+strconv.Itoa(voters), func(b *testing.B) {
			cc := defaultClusterConfig()
			cc.voters, cc.observers = voters, 2
			cl, err := newCluster(cc)
			if err != nil {
				b.Fatal(err)
			}
			cl.light = true
			if ok, err := cl.runUntil(20*time.Second, cl.caughtUp); !ok || err != nil {
				b.Fatalf("no stable leader: %v", err)
			}
			s := cl.s
			var simFailover, simTotal time.Duration
			var wall time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				old := cl.leader()
				epoch := old.c.Epoch()
				start, t0 := s.Now(), time.Now()
				if err := old.m.node.Crash(); err != nil {
					b.Fatal(err)
				}
				ok, err := cl.runUntil(time.Minute, func() bool {
					l := cl.leader()
					return l != nil && l.c.Epoch() > epoch && l.c.HighWatermark() > l.c.EpochStartOffset()
				})
				if err != nil || !ok {
					b.Fatalf("election %d: no new leader within a minute: %v\n%s", i, err, cl.describe())
				}
				simFailover += s.Now() - start
				wall += time.Since(t0)
				simTotal += s.Now() - start
				b.StopTimer()
				t1, s1 := time.Now(), s.Now()
				if err := old.m.node.Restart(); err != nil {
					b.Fatal(err)
				}
				if ok, err := cl.runUntil(time.Minute, cl.caughtUp); err != nil || !ok {
					b.Fatalf("election %d: the old leader did not catch up: %v\n%s", i, err, cl.describe())
				}
				wall += time.Since(t1)
				simTotal += s.Now() - s1
				b.StartTimer()
			}
			b.ReportMetric(float64(simFailover.Milliseconds())/float64(b.N), "sim-ms/election")
			b.ReportMetric(simTotal.Seconds()/wall.Seconds(), "sim-s/wall-s")
		})
	}
}
