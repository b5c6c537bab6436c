package isr_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/isr"
)

// TestFollowEqualsFetchingEveryTime: a leader that skips the fetches a
// follower makes through a fetch session while nothing changed (it had
// caught up, and the log end offset stayed), letting the follower's times
// follow the session's clock, sees the follower exactly as a leader that
// records every fetch: the same fetch and caught-up times, the same
// out-of-sync verdicts and the same high-water mark.
func TestFollowEqualsFetchingEveryTime(t *testing.T) {
	skipped := 0
	rapid.Check(t, func(t *rapid.T) {
		md := &metadata{brokers: map[int32]isr.Registration{1: {Epoch: 11}, 2: {Epoch: 12}}, minISR: 1}
		every := isr.New(1, isr.Config{ReplicaLagTimeMax: 10 * time.Second}, md)
		lazy := isr.New(1, isr.Config{ReplicaLagTimeMax: 10 * time.Second}, md)
		for _, tr := range []*isr.Tracker{every, lazy} {
			tr.Assign([]int32{1, 2}, []int32{1, 2})
			tr.StartLeaderEpoch(0, 0, true)
		}
		var (
			now, clock  time.Duration
			leo, offset int64
			bound       bool // lazy's follower follows clock, and leo has not moved since
		)
		for i := range rapid.IntRange(1, 80).Draw(t, "steps") {
			switch rapid.IntRange(0, 3).Draw(t, "action") {
			case 0:
				leo += int64(rapid.IntRange(1, 3).Draw(t, "records"))
				bound = false
			case 1:
				now += time.Duration(rapid.IntRange(0, 8000).Draw(t, "ms")) * time.Millisecond
			default:
				offset = rapid.Int64Range(offset, leo).Draw(t, "fetch offset")
				every.UpdateFollower(2, offset, leo, 12, now)
				if bound && offset == leo {
					clock = now // the session's request skips the partition
					skipped++
				} else {
					lazy.UpdateFollower(2, offset, leo, 12, now)
					clock = now
					bound = offset >= leo && lazy.Follow(2, &clock)
				}
			}
			a, _ := every.Follower(2)
			b, _ := lazy.Follower(2)
			require.Equal(t, a, b, "step %d", i)
			require.Equal(t, every.OutOfSync(leo, now), lazy.OutOfSync(leo, now), "step %d", i)
			require.Equal(t, every.CaughtUp(2, leo, now), lazy.CaughtUp(2, leo, now), "step %d", i)
			hw1, ok1 := every.HighWatermark(0, leo, now)
			hw2, ok2 := lazy.HighWatermark(0, leo, now)
			require.Equal(t, [2]any{hw1, ok1}, [2]any{hw2, ok2}, "step %d", i)
		}
	})
	require.Positive(t, skipped, "no fetch was skipped")
}
