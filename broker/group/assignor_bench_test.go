package group_test

import (
	"fmt"
	"testing"

	"github.com/kafkasim/kafkasim/broker/group"
)

// largeGroup is the group of Kafka's testLargeAssignmentAndGroupWith*
// tests: topics of the given partitions each, and consumers subscribing
// to all of them, or (lastOneTopic) the last consumer to the first topic
// only. Every consumer but the first then owns what a first assignment
// gave it.
func largeGroup(topics, partitions, consumers int, lastOneTopic bool) (map[string]int32, []group.Member) {
	parts := map[string]int32{}
	var names []string
	for i := range topics {
		names = append(names, fmt.Sprintf("t%d", i))
		parts[names[i]] = int32(partitions)
	}
	var members []group.Member
	for i := range consumers {
		m := group.Member{ID: fmt.Sprintf("c%d", i), Topics: names, Generation: -1}
		if lastOneTopic && i == consumers-1 {
			m.Topics = names[:1]
		}
		members = append(members, m)
	}
	first := group.CooperativeSticky{}.Assign(parts, members)
	for i := 1; i < len(members); i++ {
		members[i].Owned, members[i].Generation = first[members[i].ID], 1
	}
	return parts, members
}

// BenchmarkStickyLarge times the rebalance of Kafka's scale tests, which
// Kafka's test requires within 30 s (identical subscriptions: 500 topics
// of 2,000 partitions, 2,000 consumers) and 90 s (the last consumer
// subscribes to one topic).
//
//	go test ./broker/group -run '^$' -bench StickyLarge -benchtime 1x
func BenchmarkStickyLarge(b *testing.B) {
	for _, c := range []struct {
		name                          string
		topics, partitions, consumers int
		lastOneTopic                  bool
	}{
		{"identical-500x2000-2000", 500, 2000, 2000, false},
		{"different-500x2000-2000", 500, 2000, 2000, true},
	} {
		b.Run(c.name, func(b *testing.B) {
			parts, members := largeGroup(c.topics, c.partitions, c.consumers, c.lastOneTopic)
			b.ResetTimer()
			for range b.N {
				group.CooperativeSticky{}.Assign(parts, members)
			}
			b.ReportMetric(float64(c.topics*c.partitions), "partitions")
		})
	}
}
