package controller

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/sim"
)

func TestPlacerStripes(t *testing.T) {
	brokers := []usableBroker{{id: 1}, {id: 2}, {id: 3}}
	p := newPlacer(sim.NewRand(1, "placement"), brokers)
	require.NoError(t, p.check(3))
	var leaders []int32
	for range 3 {
		r := p.place(3)
		leaders = append(leaders, r[0])
		// Each partition is the unfenced brokers in ring order from its
		// leader: the striped layout.
		i := slices.Index([]int32{1, 2, 3}, r[0])
		assert.Equal(t, []int32{r[0], int32((i+1)%3 + 1), int32((i+2)%3 + 1)}, r)
	}
	slices.Sort(leaders)
	assert.Equal(t, []int32{1, 2, 3}, leaders, "the first round of partitions has every broker lead once")
}

func TestPlacerErrors(t *testing.T) {
	rng := sim.NewRand(1, "placement")
	assert.EqualError(t, newPlacer(rng, []usableBroker{{id: 1}, {id: 2}}).check(3),
		"the target replication factor of 3 cannot be reached because only 2 broker(s) are registered")
	assert.EqualError(t, newPlacer(rng, []usableBroker{{id: 1, fenced: true}}).check(1), "all brokers are currently fenced")
	assert.Error(t, newPlacer(rng, []usableBroker{{id: 1}}).check(0))
}

// TestPlacerProperties: replicas are distinct, the leader is unfenced,
// fenced brokers are used only when the unfenced ones run out, and leaders
// spread evenly over the unfenced brokers.
func TestPlacerProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 9).Draw(t, "brokers")
		var brokers []usableBroker
		unfenced := 0
		for i := range n {
			f := rapid.Bool().Draw(t, fmt.Sprintf("fenced%d", i))
			if !f {
				unfenced++
			}
			brokers = append(brokers, usableBroker{id: int32(i + 1), fenced: f})
		}
		rf := rapid.IntRange(1, n).Draw(t, "rf")
		parts := rapid.IntRange(1, 30).Draw(t, "partitions")
		p := newPlacer(sim.NewRand(rapid.Uint64().Draw(t, "seed"), "placement"), brokers)
		if err := p.check(rf); err != nil {
			if unfenced > 0 {
				t.Fatalf("check(%d) with %d unfenced of %d: %v", rf, unfenced, n, err)
			}
			return
		}
		isFenced := func(id int32) bool { return brokers[id-1].fenced }
		counts := map[int32]int{}
		for range parts {
			r := p.place(rf)
			require.Len(t, r, rf)
			sorted := slices.Clone(r)
			slices.Sort(sorted)
			require.Equal(t, len(r), len(slices.Compact(sorted)), "distinct replicas: %v", r)
			require.False(t, isFenced(r[0]), "leader %d is fenced: %v", r[0], r)
			fencedUsed := 0
			for _, id := range r {
				if isFenced(id) {
					fencedUsed++
				}
			}
			require.Equal(t, max(0, rf-unfenced), fencedUsed, "fenced brokers only when the unfenced run out: %v", r)
			counts[r[0]]++
		}
		lo, hi := parts, 0
		for _, b := range brokers {
			if !b.fenced {
				lo, hi = min(lo, counts[b.id]), max(hi, counts[b.id])
			}
		}
		require.LessOrEqual(t, hi-lo, 1, "each round of partitions has every unfenced broker lead once: %v", counts)
	})
}
