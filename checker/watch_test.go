package checker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// watchClock is a kernel whose time a test sets.
type watchClock struct {
	now   time.Duration
	check func() error
}

func (c *watchClock) AddCheck(_ string, fn func() error) { c.check = fn }
func (c *watchClock) Now() time.Duration                 { return c.now }
func (c *watchClock) Steps() uint64                      { return 0 }

// A leader whose high-water mark stays below what its rule allows after an
// ISR change is a stall from then until it advances; the verdict
// counts the stall and names the one longer than StuckHighWatermarkAfter.
func TestWatchStallsAndStuckHighWatermark(t *testing.T) {
	v, tp := healthyView()
	k := &watchClock{}
	w := checker.NewWatch(nil)
	w.Register(k, v)
	leader := v.replica(tp, 1)
	at := func(d time.Duration) {
		k.now = d
		v.touch(tp)
		require.NoError(t, k.check())
	}
	at(time.Second)
	assert.Empty(t, w.Stalls(tp, 0, time.Minute), "a high-water mark at its due is no stall")

	leader.due = 4 // by time alone: a follower out of the ISR no longer holds it
	at(1500 * time.Millisecond)
	assert.Empty(t, w.Stalls(tp, 0, time.Minute), "a stall starts only at a change of leader or ISR")

	leader.isr = []int32{1, 2} // an ISR change the leader did not look at
	at(2 * time.Second)
	at(3 * time.Second) // still stuck: the same stall
	leader.hwm = 4
	at(4 * time.Second)
	stalls := w.Stalls(tp, 0, time.Minute)
	require.Len(t, stalls, 1)
	assert.Equal(t, checker.Stall{TP: tp, Leader: 1, LeaderEpoch: 1, From: 2 * time.Second, To: 4 * time.Second, HWM: 2, Due: 4, ISR: []int32{1, 2}}, stalls[0])

	leader.due, leader.isr = 9, []int32{1, 3}
	at(10 * time.Second) // open until the end of the run
	stalls = w.Stalls(tp, 0, 20*time.Second)
	require.Len(t, stalls, 2)
	assert.Equal(t, 10*time.Second, stalls[1].To-stalls[1].From)

	verdict := checker.NewVerdict(checker.VerdictInput{Watch: w, From: 0, To: 20 * time.Second, UserPartitions: []model.TopicPartition{tp}})
	assert.Equal(t, 12*time.Second, verdict.Stalled)
	var stuck []checker.Finding
	for _, f := range verdict.Findings {
		if f.Name == string(checker.StuckHighWatermark) {
			stuck = append(stuck, f)
		}
	}
	require.Len(t, stuck, 1, "only the stall longer than %v is a finding", checker.StuckHighWatermarkAfter)
	assert.Equal(t, []int64{4, 5, 6, 7, 8}, stuck[0].Offsets)
	assert.False(t, verdict.OK)
}

// A leader view that appends its ISR to the watch's buffer is compared
// without a copy per check, and a change made in place to the ISR it
// returned before still opens a stall.
func TestWatchComparesAnAppendedISRWithoutAllocating(t *testing.T) {
	v, tp := healthyView()
	v.appendISR = true
	k := &watchClock{}
	w := checker.NewWatch(nil)
	w.Register(k, v)
	leader := v.replica(tp, 1)
	step := func() {
		k.now += time.Millisecond
		v.touch(tp)
		require.NoError(t, k.check())
	}
	step()
	leader.due = 4 // by time alone: no change the leader must look at
	allocs := testing.AllocsPerRun(100, step)
	assert.Zero(t, allocs, "a check of an unchanged leader allocates nothing")
	assert.Empty(t, w.Stalls(tp, 0, time.Hour), "no change of leader or ISR: no stall")

	leader.isr[2] = 4 // changed in place
	step()
	stalls := w.Stalls(tp, 0, time.Hour)
	require.Len(t, stalls, 1, "an ISR changed in place is a change")
	assert.Equal(t, []int32{1, 2, 4}, stalls[0].ISR)
}
