package group_test

import (
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/model"
)

// The randomized tests of Kafka's AbstractStickyAssignorTest, for both
// sticky assignors: testReassignmentWithRandomSubscriptionsAndChanges and
// testLargeAssignmentWithMultipleConsumersLeavingAndRandomSubscription
// (with up to 60 rather than 200 consumers). After each assignment (for
// cooperative-sticky, once the rebalance completed) Kafka checks validity
// and balance, and after the change stickiness: no two members swapped
// partitions of one topic. Rerun with
//
//	go test ./broker/group -run TestKafkaRandom -v

type stickyAssignor struct {
	name   string
	assign func(aGroup) map[string][]model.TopicPartition
}

var stickyAssignors = []stickyAssignor{
	{"sticky", func(g aGroup) map[string][]model.TopicPartition { return group.Sticky{}.Assign(g.parts, g.members) }},
	{"cooperative-sticky", func(g aGroup) map[string][]model.TopicPartition {
		return group.CooperativeSticky{}.Assign(g.parts, g.members)
	}},
}

// assignAndVerify runs an assignor to the end of the rebalance and checks
// what Kafka's verifyValidityAndBalance checks.
func assignAndVerify(t *rapid.T, a stickyAssignor, g aGroup) map[string][]model.TopicPartition {
	var out map[string][]model.TopicPartition
	if a.name == "sticky" {
		out = a.assign(g)
		checkRound(t, aGroup{parts: g.parts, members: withoutOwned(g.members)}, out)
	} else {
		out = rebalanceFully(t, a.assign, g, func(g aGroup, r map[string][]model.TopicPartition) { checkRound(t, g, r) })
	}
	if x, y, tp, ok := imbalance(g, out); ok {
		t.Fatalf("%s: %s could move from %s (%d partitions) to %s (%d): %v", a.name, tp, x, len(out[x]), y, len(out[y]), out)
	}
	return out
}

// withoutOwned drops what members owned: an eager member gave it all up.
func withoutOwned(members []group.Member) []group.Member {
	out := slices.Clone(members)
	for i := range out {
		out[i].Owned = nil
	}
	return out
}

// requireSticky fails if partitions of one topic moved both from a to b
// and from b to a, among members that owned them and still subscribe.
func requireSticky(t *rapid.T, g aGroup, final map[string][]model.TopicPartition) {
	moved := map[string]bool{}
	for _, m := range g.members {
		for _, tp := range m.Owned {
			if !slices.Contains(m.Topics, tp.Topic) {
				continue
			}
			for id, tps := range final {
				if id != m.ID && slices.Contains(tps, tp) {
					moved[fmt.Sprintf("%s %s>%s", tp.Topic, m.ID, id)] = true
					if moved[fmt.Sprintf("%s %s>%s", tp.Topic, id, m.ID)] {
						t.Fatalf("%s and %s swapped partitions of %s: %v", m.ID, id, tp.Topic, final)
					}
				}
			}
		}
	}
}

func randomSublist(t *rapid.T, topics []string) []string {
	return rapid.SliceOfNDistinct(rapid.SampledFrom(topics), 0, len(topics), rapid.ID[string]).Draw(t, "subscription")
}

func TestKafkaRandomSubscriptionsAndChanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := aGroup{parts: map[string]int32{}}
		var topics []string
		for i := range rapid.IntRange(10, 19).Draw(t, "topics") {
			topics = append(topics, fmt.Sprintf("t%02d", i))
			g.parts[topics[i]] = int32(i + 1)
		}
		n := rapid.IntRange(20, 39).Draw(t, "consumers")
		for i := range n {
			g.members = append(g.members, group.Member{ID: fmt.Sprintf("c%02d", i), Topics: randomSublist(t, topics), Generation: -1})
		}
		a := rapid.SampledFrom(stickyAssignors).Draw(t, "assignor")
		first := assignAndVerify(t, a, g)
		next := aGroup{parts: g.parts}
		for _, m := range g.members {
			next.members = append(next.members, group.Member{ID: m.ID, Topics: randomSublist(t, topics), Owned: first[m.ID], Generation: 1})
		}
		requireSticky(t, next, assignAndVerify(t, a, next))
	})
}

func TestKafkaRandomLargeGroupWithConsumersLeaving(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := aGroup{parts: map[string]int32{}}
		var topics []string
		for i := range 40 {
			topics = append(topics, fmt.Sprintf("t%02d", i))
			g.parts[topics[i]] = int32(rapid.IntRange(1, 10).Draw(t, "partitions"))
		}
		n := rapid.IntRange(20, 60).Draw(t, "consumers")
		for i := range n {
			subs := rapid.SliceOfN(rapid.SampledFrom(topics), 0, 19).Draw(t, "subscription")
			g.members = append(g.members, group.Member{ID: fmt.Sprintf("c%03d", i), Topics: subs, Generation: -1})
		}
		a := rapid.SampledFrom(stickyAssignors).Draw(t, "assignor")
		first := assignAndVerify(t, a, g)
		next := aGroup{parts: g.parts}
		leaving := rapid.SliceOfN(rapid.IntRange(0, n-1), 0, n/4).Draw(t, "leaving")
		for i, m := range g.members {
			if i > 0 { // Kafka's test leaves the first consumer's subscription as it was
				m.Owned, m.Generation = first[m.ID], 1
			}
			if !slices.Contains(leaving, i) {
				next.members = append(next.members, m)
			}
		}
		if len(next.members) == 0 {
			return
		}
		requireSticky(t, next, assignAndVerify(t, a, next))
	})
}
