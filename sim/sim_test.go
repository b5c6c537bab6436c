package sim_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/sim"
)

func TestEventsFireInTimeThenSchedulingOrder(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	var got []string
	add := func(at time.Duration, name string) {
		s.At(at, "t", func() { got = append(got, name) })
	}
	add(3*time.Second, "c")
	add(time.Second, "a1")
	add(2*time.Second, "b")
	add(time.Second, "a2") // same time as a1, scheduled later
	add(0, "z")
	require.NoError(t, s.RunUntil(10*time.Second))
	assert.Equal(t, []string{"z", "a1", "a2", "b", "c"}, got)
	assert.Equal(t, 10*time.Second, s.Now())
	assert.EqualValues(t, 5, s.Steps())
}

func TestCancel(t *testing.T) {
	s := sim.New(sim.Config{})
	fired := 0
	a := s.After(time.Second, "a", func() { fired++ })
	b := s.After(2*time.Second, "b", func() { fired += 10 })
	assert.True(t, s.Scheduled(a))
	assert.True(t, s.Cancel(a))
	assert.False(t, s.Cancel(a), "second cancel is a no-op")
	assert.False(t, s.Scheduled(a))
	assert.False(t, s.Cancel(sim.Timer{}), "zero timer")
	require.NoError(t, s.RunFor(5*time.Second))
	assert.Equal(t, 10, fired)
	assert.False(t, s.Cancel(b), "fired timer")
	// The slot of a is reused; the stale handle must not cancel the new event.
	c := s.After(time.Second, "c", func() { fired += 100 })
	assert.False(t, s.Cancel(a))
	assert.True(t, s.Scheduled(c))
	require.NoError(t, s.RunFor(5*time.Second))
	assert.Equal(t, 110, fired)
}

// TestQueueMatchesReference drives the queue with random schedules and
// cancellations and compares the firing order with a sorted reference.
func TestQueueMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := sim.New(sim.Config{})
		type ev struct {
			at  time.Duration
			seq int
		}
		var want []ev
		var got []int
		timers := map[int]sim.Timer{}
		n := rapid.IntRange(1, 200).Draw(t, "n")
		for i := range n {
			at := time.Duration(rapid.IntRange(0, 50).Draw(t, "at"))
			timers[i] = s.At(at, "e", func() { got = append(got, i) })
			want = append(want, ev{at, i})
			if rapid.Bool().Draw(t, "cancel") && i > 0 {
				victim := rapid.IntRange(0, i).Draw(t, "victim")
				if s.Cancel(timers[victim]) {
					want = slices.DeleteFunc(want, func(e ev) bool { return e.seq == victim })
				}
			}
		}
		slices.SortStableFunc(want, func(a, b ev) int { return int(a.at - b.at) })
		require.NoError(t, s.RunUntil(time.Hour))
		wantSeq := make([]int, len(want))
		for i, e := range want {
			wantSeq[i] = e.seq
		}
		if !slices.Equal(wantSeq, got) {
			t.Fatalf("fired %v, want %v", got, wantSeq)
		}
	})
}

func TestRunSteps(t *testing.T) {
	s := sim.New(sim.Config{})
	var tick func()
	count := 0
	tick = func() { count++; s.After(time.Millisecond, "tick", tick) }
	s.After(0, "tick", tick)
	require.NoError(t, s.RunSteps(7))
	assert.Equal(t, 7, count)
	assert.EqualValues(t, 7, s.Steps())
	quiet, err := s.RunUntilQuiet(time.Second)
	require.NoError(t, err)
	assert.False(t, quiet, "a ticking simulation never goes quiet")
	ok, err := s.RunUntilTrue(2*time.Second, func() bool { return count >= 1500 })
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, 1500, count)
}

func TestChecksStopTheRunWithSeedAndReplay(t *testing.T) {
	s := sim.New(sim.Config{Seed: 42, Replay: "kafkasim replay run.json"})
	n := 0
	s.AddCheck("n-below-3", func() error {
		if n >= 3 {
			return fmt.Errorf("n is %d", n)
		}
		return nil
	})
	for i := range 10 {
		s.At(time.Duration(i)*time.Second, "inc", func() { n++ })
	}
	err := s.RunUntil(time.Minute)
	require.Error(t, err)
	var f *sim.Failure
	require.True(t, errors.As(err, &f))
	assert.Equal(t, "n-below-3", f.Check)
	assert.Equal(t, 2*time.Second, f.At)
	assert.EqualValues(t, 3, f.Step)
	assert.Contains(t, err.Error(), "seed 42")
	assert.Contains(t, err.Error(), "replay: kafkasim replay run.json")
	assert.Equal(t, 3, n, "nothing runs after the failure")
	assert.False(t, s.Step())
}

func TestRandStreamsAreIndependent(t *testing.T) {
	draw := func(s *sim.Sim) []uint64 {
		r := s.Rand("producer")
		return []uint64{r.Uint64(), r.Uint64(), r.Uint64()}
	}
	a := sim.New(sim.Config{Seed: 7})
	want := draw(a)
	b := sim.New(sim.Config{Seed: 7})
	b.Rand("a-new-consumer").Uint64() // another component draws first
	assert.Equal(t, want, draw(b), "a new stream must not reshuffle others")
	c := sim.New(sim.Config{Seed: 8})
	assert.NotEqual(t, want, draw(c), "another seed draws differently")
	assert.NotEqual(t, a.Rand("x").Uint64(), a.Rand("y").Uint64())
}

type counter struct {
	n     *sim.Node
	ticks *int
}

func bootCounter(ticks *int, boots *[]uint32) sim.Boot {
	return func(n *sim.Node) any {
		*boots = append(*boots, n.Boots())
		c := &counter{n: n, ticks: ticks}
		c.schedule()
		return c
	}
}

func (c *counter) schedule() {
	c.n.After(time.Second, "tick", func() { *c.ticks++; c.schedule() })
}

func TestCrashDropsVolatileStateAndTimers(t *testing.T) {
	s := sim.New(sim.Config{})
	ticks := 0
	var boots []uint32
	n, err := s.AddNode("b1", bootCounter(&ticks, &boots))
	require.NoError(t, err)
	assert.Equal(t, sim.Down, n.State())
	require.NoError(t, n.Start())
	require.Error(t, n.Start(), "starting a running node")
	require.NoError(t, s.RunUntil(3500*time.Millisecond))
	assert.Equal(t, 3, ticks)
	first := n.Process()
	require.NoError(t, n.Crash())
	assert.Nil(t, n.Process())
	require.Error(t, n.Crash(), "crashing a crashed node")
	require.NoError(t, s.RunUntil(10*time.Second))
	assert.Equal(t, 3, ticks, "a crashed node's timers never fire")
	require.NoError(t, n.Restart())
	assert.NotSame(t, first, n.Process())
	require.NoError(t, s.RunUntil(12500*time.Millisecond))
	assert.Equal(t, 5, ticks)
	assert.Equal(t, []uint32{1, 2}, boots)
}

func TestPauseDefersEventsInOrder(t *testing.T) {
	s := sim.New(sim.Config{})
	var got []string
	n, err := s.AddNode("b1", func(n *sim.Node) any { return nil })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	n.After(1*time.Second, "a", func() { got = append(got, fmt.Sprintf("a@%v", s.Now())) })
	cancelled := n.After(2*time.Second, "x", func() { got = append(got, "x") })
	n.After(3*time.Second, "b", func() { got = append(got, fmt.Sprintf("b@%v", s.Now())) })
	n.After(20*time.Second, "c", func() { got = append(got, fmt.Sprintf("c@%v", s.Now())) })
	s.At(500*time.Millisecond, "pause", func() { require.NoError(t, n.Pause()) })
	s.At(4*time.Second, "cancel", func() { assert.True(t, n.Cancel(cancelled)) })
	s.At(10*time.Second, "resume", func() { require.NoError(t, n.Resume()) })
	require.NoError(t, s.RunUntil(time.Minute))
	assert.Equal(t, []string{"a@10s", "b@10s", "c@20s"}, got)
	assert.Error(t, n.Resume(), "resuming a running node")
	require.NoError(t, n.Crash())
	assert.Error(t, n.Pause(), "pausing a crashed node")
}

func TestCrashWhilePausedDropsDeferredEvents(t *testing.T) {
	s := sim.New(sim.Config{})
	fired := 0
	n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
	require.NoError(t, n.Start())
	n.After(time.Second, "a", func() { fired++ })
	require.NoError(t, n.Pause())
	require.NoError(t, s.RunFor(2*time.Second))
	require.NoError(t, n.Crash())
	require.NoError(t, n.Restart())
	require.NoError(t, s.RunFor(2*time.Second))
	assert.Equal(t, 0, fired)
}

func TestClockSkewAndDrift(t *testing.T) {
	s := sim.New(sim.Config{})
	n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
	require.NoError(t, n.Start())
	require.NoError(t, n.SetClock(5*time.Second, 100_000)) // 10% fast
	require.NoError(t, s.RunFor(10*time.Second))
	assert.Equal(t, 16*time.Second, n.Now(), "10s global at +10% plus 5s skew")
	var firedAt time.Duration
	n.After(11*time.Second, "t", func() { firedAt = s.Now() })
	require.NoError(t, s.RunFor(time.Minute))
	assert.Equal(t, 20*time.Second, firedAt, "11 local seconds are 10 global seconds at +10%")
	assert.Error(t, n.SetClock(0, sim.MaxDriftPPM))
	assert.Error(t, n.SetClock(0, -sim.MaxDriftPPM))
}

func TestNodeNamesAreValidated(t *testing.T) {
	s := sim.New(sim.Config{})
	boot := func(n *sim.Node) any { return nil }
	_, err := s.AddNode("", boot)
	assert.ErrorContains(t, err, "empty")
	_, err = s.AddNode("b 1", boot)
	assert.ErrorContains(t, err, "letters, digits")
	_, err = s.AddNode("b1", boot)
	require.NoError(t, err)
	_, err = s.AddNode("b1", boot)
	assert.ErrorContains(t, err, "already exists")
	_, err = s.AddNode("b2", nil)
	assert.ErrorContains(t, err, "boot")
	_, err = s.Node("b9")
	assert.ErrorContains(t, err, `unknown node "b9": known nodes are b1`)
}

func TestLifecycleHooksAndTrace(t *testing.T) {
	s := sim.New(sim.Config{})
	var rec sim.Recorder
	s.Trace().SetSink(rec.Record)
	var events []string
	s.OnNode(func(n *sim.Node, ev sim.NodeEvent) { events = append(events, n.Name()+":"+ev.String()) })
	n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
	require.NoError(t, n.Start())
	require.NoError(t, n.Pause())
	require.NoError(t, n.Resume())
	require.NoError(t, n.Crash())
	n.PowerLoss(false)
	n.LoseDisk()
	assert.Equal(t, []string{"b1:start", "b1:pause", "b1:resume", "b1:crash", "b1:power-loss", "b1:disk-loss"}, events)
	require.Len(t, rec.Records, 6)
	assert.Equal(t, "0 0s b1 node.start", rec.Records[0].String())
	assert.EqualValues(t, 6, s.Trace().Len())
}

func TestTraceSinkDoesNotChangeHash(t *testing.T) {
	run := func(sink bool) string {
		s := sim.New(sim.Config{Seed: 3})
		if sink {
			var rec sim.Recorder
			s.Trace().SetSink(rec.Record)
		}
		ticks := 0
		var boots []uint32
		n, _ := s.AddNode("b1", bootCounter(&ticks, &boots))
		require.NoError(t, n.Start())
		s.Trace().Emitf(n, "custom", 99, "detail %d", 1)
		require.NoError(t, s.RunFor(5*time.Second))
		return s.Trace().HashString()
	}
	assert.Equal(t, run(false), run(true))
}

func TestMarksCountWithoutChangingTheHash(t *testing.T) {
	run := func(mark bool) (*sim.Sim, string) {
		s := sim.New(sim.Config{Seed: 1})
		s.After(time.Second, "x", func() {
			if mark {
				s.Mark("rare.path")
				s.Mark("rare.path")
				s.Mark("other")
			}
		})
		require.NoError(t, s.RunFor(2*time.Second))
		return s, s.Trace().HashString()
	}
	s, h1 := run(true)
	_, h2 := run(false)
	assert.Equal(t, h1, h2)
	assert.EqualValues(t, 2, s.Marked("rare.path"))
	assert.EqualValues(t, 0, s.Marked("never"))
	assert.Equal(t, []string{"other", "rare.path"}, s.MarkNames())
}

// TestTimersNeverFireEarlyOnADriftingClock: whatever the drift and the
// moment, a node's timer fires once its own clock has advanced by at least
// the duration asked, and not a nanosecond of global time later.
func TestTimersNeverFireEarlyOnADriftingClock(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s := sim.New(sim.Config{})
		n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
		_ = n.Start()
		ppm := rapid.Int64Range(-sim.MaxDriftPPM+1, sim.MaxDriftPPM-1).Draw(rt, "ppm")
		if err := n.SetClock(time.Duration(rapid.Int64Range(-1e9, 1e9).Draw(rt, "skew")), ppm); err != nil {
			rt.Fatal(err)
		}
		_ = s.RunFor(time.Duration(rapid.Int64Range(0, 1e12).Draw(rt, "start")))
		d := time.Duration(rapid.Int64Range(0, 1e10).Draw(rt, "d"))
		startLocal, startGlobal := n.Now(), s.Now()
		var firedLocal, firedGlobal time.Duration
		n.After(d, "t", func() { firedLocal, firedGlobal = n.Now(), s.Now() })
		_ = s.RunFor(time.Duration(2*d + time.Second))
		if firedLocal-startLocal < d {
			rt.Fatalf("fired after %v local, asked %v", firedLocal-startLocal, d)
		}
		// One global nanosecond earlier, the local clock had not yet moved d.
		local := func(g time.Duration) time.Duration {
			return g + (g/1_000_000)*time.Duration(ppm) + (g%1_000_000)*time.Duration(ppm)/1_000_000
		}
		if firedGlobal > startGlobal && local(firedGlobal-1)-local(startGlobal) >= d {
			rt.Fatalf("fired at %v global, but the local clock had moved %v by %v", firedGlobal, d, firedGlobal-1)
		}
	})
}

// TestRunsNeverPassTheirLimit: events of a crashed node, discarded on the
// way, must not carry a run past its time limit to the next live event.
func TestRunsNeverPassTheirLimit(t *testing.T) {
	for _, paused := range []bool{false, true} {
		s := sim.New(sim.Config{})
		n, _ := s.AddNode("b1", func(n *sim.Node) any { return nil })
		require.NoError(t, n.Start())
		n.After(time.Second, "t", func() {})
		if paused {
			require.NoError(t, n.Pause())
		} else {
			require.NoError(t, n.Crash())
		}
		late := false
		s.At(time.Minute, "late", func() { late = true })
		require.NoError(t, s.RunUntil(2*time.Second))
		assert.Equal(t, 2*time.Second, s.Now())
		assert.False(t, late, "the event at 1m ran within RunUntil(2s)")
		ok, err := s.RunUntilTrue(3*time.Second, func() bool { return late })
		require.NoError(t, err)
		assert.False(t, ok)
		assert.Equal(t, 3*time.Second, s.Now())
		assert.False(t, late)
	}
}
