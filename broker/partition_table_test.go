package broker

import (
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/model"
)

// TestPartitionTableIsAMap holds the broker's partition table to a map
// keyed by model.TopicPartition under random sets, removals and lookups,
// including partitions it never held (negative numbers, unknown topics).
func TestPartitionTableIsAMap(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		table := newPartitionTable()
		want := map[model.TopicPartition]*partition{}
		genTP := rapid.Custom(func(t *rapid.T) model.TopicPartition {
			return model.TopicPartition{Topic: rapid.SampledFrom([]string{"a", "b", "orders", "__consumer_offsets"}).Draw(t, "topic"),
				Partition: rapid.Int32Range(-1, 12).Draw(t, "partition")}
		})
		for range rapid.IntRange(0, 200).Draw(t, "steps") {
			tp := genTP.Draw(t, "tp")
			switch rapid.IntRange(0, 2).Draw(t, "op") {
			case 0:
				if tp.Partition < 0 {
					continue
				}
				p := &partition{tp: tp}
				table.set(tp, p)
				want[tp] = p
			case 1:
				table.remove(tp)
				delete(want, tp)
			}
			p, ok := table.get(tp)
			wp, wok := want[tp]
			require.Equal(t, wok, ok, "%s", tp)
			require.Same(t, wp, p, "%s", tp)
			require.Equal(t, len(want), table.len())
		}
		require.Equal(t, slices.SortedFunc(maps.Keys(want), model.TopicPartition.Compare), table.sorted())
		for tp, p := range table.all() {
			require.Same(t, want[tp], p, "%s", tp)
		}
	})
}
