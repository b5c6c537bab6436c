package sim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBuggifyFiresOnlyEnabledPointsAndDrawsNothingOtherwise(t *testing.T) {
	plain := New(Config{Seed: 3})
	for range 100 {
		require.False(t, plain.Buggify("broker.fetch.slow"))
	}
	require.Empty(t, plain.streams, "a point that is off draws nothing")
	require.Zero(t, plain.Marked("buggify.broker.fetch.slow"))

	on := New(Config{Seed: 3, Buggify: map[string]bool{"broker.fetch.slow": true}})
	fired := 0
	for range 1000 {
		if on.Buggify("broker.fetch.slow") {
			fired++
		}
		require.False(t, on.Buggify("broker.heartbeat.lost"), "only enabled points fire")
	}
	require.InDelta(t, 250, fired, 60, "about one time in four")
	require.Equal(t, uint64(fired), on.Marked("buggify.broker.fetch.slow"))
	d := on.BuggifyDelay("broker.fetch.slow", time.Second, 2*time.Second)
	require.GreaterOrEqual(t, d, time.Second)
	require.LessOrEqual(t, d, 2*time.Second)
}
