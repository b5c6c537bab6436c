package group_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/model"
)

// Differential tests against an independent implementation of Kafka's
// consumer assignors: franz-go's group balancers (pkg/kgo), fed the
// members' subscriptions in the consumer protocol's encoding as a
// JoinGroup response carries them. Rerun with
//
//	go test ./broker/group -run TestAgainstFranzGo -v -rapid.checks=2000
//
// Range and round-robin must agree exactly. franz-go's sticky balancer is
// a different algorithm from Kafka's (its own, optimal one), so
// cooperative-sticky is held to properties instead, over a whole
// cooperative rebalance (rounds until nothing is withheld): every round is
// valid and never hands a partition to a member that did not hold it
// while another member still does; the final assignment is complete and
// balanced in Kafka's sense (no partition could go to a member that
// subscribes to its topic and holds two or more fewer); with identical
// subscriptions it is fully balanced (sizes differ by at most one) and
// moves at most one partition more than franz-go's.
//
// Where franz-go's semantics differ from Kafka's Java client, the test
// follows Kafka:
//   - With different subscriptions Kafka's general sticky algorithm
//     settles for a local optimum: it moves one partition at a time toward
//     a member two or more partitions lighter, so it can stop with sizes
//     3,3,2,2 spread as 2,4,3,2,2 where a chain of moves would do (t0:6,
//     t1:2, t2:5; m0 {t1}, m1 {t1,t2}, m2 {t0,t2}, m3 {t0}, n0 {t0}), and
//     it can move more partitions than needed (t1:4, t3:6; m0 {t1,t3}
//     owning t1-1 t1-3 t3-2 t3-5, m1 {t3} owning t3-0 t3-3, m2 {t1},
//     m4 {t1} owning t1-0 t1-2: Kafka moves 5 where franz-go moves 3).
//     Kafka's own classes give exactly these assignments. Full balance
//     and the movement bound are therefore asserted for identical
//     subscriptions only; over 20,000 random groups, Kafka's algorithm
//     moved more than franz-go's plus one in 33 groups with different
//     subscriptions and was less balanced than franz-go's in 185.
//   - Two members claiming a partition in the same generation: Kafka
//     trusts neither claim, withholds the partition until both revoked it
//     and assigns it in the follow-up round; franz-go keeps it with one
//     claimant. Movement is compared only on groups without such claims.
//   - A cooperative member without a generation (subscription version 1):
//     Kafka still reads its owned partitions, franz-go reads them from its
//     user data only. Members that own partitions here have a generation.

// aGroup is a random group: topics t0.. with their partition counts, and
// members with subscriptions and, if drawn, what they owned.
type aGroup struct {
	parts   map[string]int32
	members []group.Member
}

// drawChangedGroup draws a group, previous ownership coming from an earlier
// balanced assignment of a group that then changed: members left or
// joined and subscriptions changed. conflicts adds claims of partitions
// other members own, in the same or another generation.
func drawChangedGroup(t *rapid.T, conflicts bool) aGroup {
	g := aGroup{parts: map[string]int32{}}
	var topics []string
	for i := range rapid.IntRange(1, 4).Draw(t, "topics") {
		name := fmt.Sprintf("t%d", i)
		topics = append(topics, name)
		g.parts[name] = int32(rapid.IntRange(1, 8).Draw(t, "partitions"))
	}
	identical := rapid.Bool().Draw(t, "identical")
	subscription := func() []string {
		if identical {
			return topics
		}
		s := rapid.SliceOfNDistinct(rapid.SampledFrom(topics), 1, len(topics), rapid.ID[string]).Draw(t, "subscription")
		if rapid.IntRange(0, 9).Draw(t, "missing topic") == 0 {
			s = append(s, "gone") // a topic that does not exist
		}
		return s
	}
	n := rapid.IntRange(1, 7).Draw(t, "members")
	for i := range n {
		m := group.Member{ID: fmt.Sprintf("m%d", i), Topics: subscription(), Generation: -1}
		if rapid.IntRange(0, 3).Draw(t, "static") == 0 {
			m.InstanceID = fmt.Sprintf("i%d", rapid.IntRange(0, 9).Draw(t, "instance"))
			if slices.ContainsFunc(g.members, func(o group.Member) bool { return o.InstanceID == m.InstanceID }) {
				m.InstanceID = ""
			}
		}
		g.members = append(g.members, m)
	}
	if rapid.Bool().Draw(t, "previously assigned") {
		gen := int32(rapid.IntRange(1, 5).Draw(t, "generation"))
		prev := group.RoundRobin{}.Assign(g.parts, g.members)
		for i := range g.members {
			g.members[i].Owned, g.members[i].Generation = prev[g.members[i].ID], gen
		}
		// The group changes: members leave, join, resubscribe.
		for range rapid.IntRange(0, 2).Draw(t, "leave") {
			if len(g.members) > 1 {
				i := rapid.IntRange(0, len(g.members)-1).Draw(t, "leaver")
				g.members = slices.Delete(g.members, i, i+1)
			}
		}
		for i := range rapid.IntRange(0, 2).Draw(t, "join") {
			g.members = append(g.members, group.Member{ID: fmt.Sprintf("n%d", i), Topics: subscription(), Generation: -1})
		}
		if !identical && rapid.Bool().Draw(t, "resubscribe") {
			i := rapid.IntRange(0, len(g.members)-1).Draw(t, "resubscriber")
			g.members[i].Topics = subscription()
		}
	}
	if conflicts {
		for range rapid.IntRange(1, 3).Draw(t, "conflicts") {
			from := rapid.IntRange(0, len(g.members)-1).Draw(t, "claimed from")
			to := rapid.IntRange(0, len(g.members)-1).Draw(t, "claimer")
			owned := g.members[from].Owned
			if len(owned) == 0 || from == to {
				continue
			}
			tp := rapid.SampledFrom(owned).Draw(t, "claimed")
			if !slices.Contains(g.members[to].Owned, tp) {
				g.members[to].Owned = append(g.members[to].Owned, tp)
			}
			if g.members[to].Generation < 0 || rapid.Bool().Draw(t, "other generation") {
				g.members[to].Generation = int32(rapid.IntRange(0, 6).Draw(t, "claimer generation"))
			}
		}
	}
	return g
}

// franzAssign runs a franz-go balancer over the group as its client's
// leader does: members sorted static first (by instance id), then by
// member id, with the metadata kafkasim's consumers send.
func franzAssign(t *rapid.T, b kgo.GroupBalancer, g aGroup) map[string][]model.TopicPartition {
	members := slices.Clone(g.members)
	slices.SortFunc(members, func(a, b group.Member) int {
		switch {
		case a.InstanceID != "" && b.InstanceID != "":
			return strings.Compare(a.InstanceID, b.InstanceID)
		case a.InstanceID != "":
			return -1
		case b.InstanceID != "":
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	var join []kmsg.JoinGroupResponseMember
	for _, m := range members {
		jm := kmsg.NewJoinGroupResponseMember()
		jm.MemberID = m.ID
		if m.InstanceID != "" {
			jm.InstanceID = kmsg.StringPtr(m.InstanceID)
		}
		jm.ProtocolMetadata = group.EncodeSubscription(group.Subscription{Topics: m.Topics, Owned: m.Owned, Generation: m.Generation})
		join = append(join, jm)
	}
	mb, topics, err := b.MemberBalancer(join)
	if err != nil {
		t.Fatalf("franz-go cannot read the subscriptions: %v", err)
	}
	counts := map[string]int32{}
	for topic := range topics {
		if n, ok := g.parts[topic]; ok {
			counts[topic] = n
		}
	}
	var into kgo.IntoSyncAssignment
	if be, ok := mb.(kgo.GroupMemberBalancerOrError); ok {
		if into, err = be.BalanceOrError(counts); err != nil {
			t.Fatalf("franz-go balance: %v", err)
		}
	} else {
		into = mb.Balance(counts)
	}
	out := map[string][]model.TopicPartition{}
	for _, m := range g.members {
		out[m.ID] = nil
	}
	for _, a := range into.IntoSyncAssignment() {
		var ca kmsg.ConsumerMemberAssignment
		if err := ca.ReadFrom(a.MemberAssignment); err != nil {
			t.Fatalf("franz-go assignment for %s: %v", a.MemberID, err)
		}
		for _, topic := range ca.Topics {
			for _, p := range topic.Partitions {
				out[a.MemberID] = append(out[a.MemberID], model.TopicPartition{Topic: topic.Topic, Partition: p})
			}
		}
	}
	for id := range out {
		slices.SortFunc(out[id], model.TopicPartition.Compare)
	}
	return out
}

func TestAgainstFranzGoRangeAndRoundRobin(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := drawChangedGroup(t, false)
		for _, c := range []struct {
			ours group.Assignor
			ref  kgo.GroupBalancer
		}{{group.Range{}, kgo.RangeBalancer()}, {group.RoundRobin{}, kgo.RoundRobinBalancer()}} {
			got, want := c.ours.Assign(g.parts, g.members), franzAssign(t, c.ref, g)
			if !equalAssignments(got, want) {
				t.Fatalf("%s differs from franz-go:\nkafkasim %v\nfranz-go %v", c.ours.Name(), got, want)
			}
		}
	})
}

func equalAssignments(a, b map[string][]model.TopicPartition) bool {
	return maps.EqualFunc(a, b, func(x, y []model.TopicPartition) bool { return slices.Equal(x, y) })
}

// rebalanceFully runs a cooperative rebalance to its end: each round, members
// revoke what they did not get and own the rest in the next generation;
// it stops once a round withholds nothing. check sees every round with
// the members it was computed from.
func rebalanceFully(t *rapid.T, assign func(aGroup) map[string][]model.TopicPartition, g aGroup, check func(aGroup, map[string][]model.TopicPartition)) map[string][]model.TopicPartition {
	for round := 0; ; round++ {
		a := assign(g)
		if check != nil {
			check(g, a)
		}
		next := aGroup{parts: g.parts}
		settled := true
		for _, m := range g.members {
			for _, tp := range m.Owned {
				if !slices.Contains(a[m.ID], tp) {
					settled = false // a revocation: the member rejoins
				}
			}
			m.Owned, m.Generation = a[m.ID], max(m.Generation, 0)+1
			next.members = append(next.members, m)
		}
		if settled && completeIn(g, a) {
			return a
		}
		if round == 5 {
			t.Fatalf("still rebalancing after %d rounds", round)
		}
		g = next
	}
}

func completeIn(g aGroup, a map[string][]model.TopicPartition) bool {
	n, want := 0, 0
	for _, tps := range a {
		n += len(tps)
	}
	for topic, p := range g.parts {
		if slices.ContainsFunc(g.members, func(m group.Member) bool { return slices.Contains(m.Topics, topic) }) {
			want += int(p)
		}
	}
	return n == want
}

// checkRound asserts one cooperative round: each partition goes to one
// member subscribed to its topic, and a member gets a partition it did
// not claim only if no other member claims it and loses it this round
// (Kafka's CooperativeStickyAssignorTest rule).
func checkRound(t *rapid.T, g aGroup, a map[string][]model.TopicPartition) {
	owner := map[model.TopicPartition]string{}
	for _, m := range g.members {
		for _, tp := range a[m.ID] {
			if prev, dup := owner[tp]; dup {
				t.Fatalf("%s assigned to %s and %s", tp, prev, m.ID)
			}
			owner[tp] = m.ID
			if !slices.Contains(m.Topics, tp.Topic) {
				t.Fatalf("%s assigned to %s, which does not subscribe to %s", tp, m.ID, tp.Topic)
			}
		}
	}
	for _, m := range g.members {
		for _, tp := range a[m.ID] {
			if slices.Contains(m.Owned, tp) {
				continue
			}
			for _, o := range g.members {
				if o.ID != m.ID && slices.Contains(o.Owned, tp) && !slices.Contains(a[o.ID], tp) {
					t.Fatalf("%s goes to %s in the round in which %s still holds it", tp, m.ID, o.ID)
				}
			}
		}
	}
}

// moves counts the partitions whose final owner is not the member that
// owned them before.
func moves(g aGroup, final map[string][]model.TopicPartition) int {
	n := 0
	for _, m := range g.members {
		for _, tp := range m.Owned {
			if !slices.Contains(final[m.ID], tp) {
				n++
			}
		}
	}
	return n
}

// imbalance finds a partition that could move from member x to member y,
// which subscribes to its topic and holds two or more fewer.
func imbalance(g aGroup, a map[string][]model.TopicPartition) (x, y string, tp model.TopicPartition, ok bool) {
	for _, mx := range g.members {
		for _, my := range g.members {
			if len(a[mx.ID]) < len(a[my.ID])+2 {
				continue
			}
			for _, tp := range a[mx.ID] {
				if slices.Contains(my.Topics, tp.Topic) {
					return mx.ID, my.ID, tp, true
				}
			}
		}
	}
	return "", "", model.TopicPartition{}, false
}

func identicalSubscriptions(g aGroup) bool {
	first := slices.Sorted(slices.Values(g.members[0].Topics))
	return !slices.ContainsFunc(g.members, func(m group.Member) bool {
		return !slices.Equal(slices.Sorted(slices.Values(m.Topics)), first)
	})
}

func TestAgainstFranzGoCooperativeSticky(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		conflicts := rapid.IntRange(0, 3).Draw(t, "conflicting claims") == 0
		g := drawChangedGroup(t, conflicts)
		ours := rebalanceFully(t, func(g aGroup) map[string][]model.TopicPartition {
			return group.CooperativeSticky{}.Assign(g.parts, g.members)
		}, g, func(g aGroup, a map[string][]model.TopicPartition) { checkRound(t, g, a) })
		if !completeIn(g, ours) {
			t.Fatalf("incomplete after the rebalance: %v", ours)
		}
		if conflicts {
			return
		}
		if x, y, tp, ok := imbalance(g, ours); ok {
			t.Fatalf("%s could move from %s (%d partitions) to %s (%d):\ngroup %v %+v\nkafkasim %v", tp, x, len(ours[x]), y, len(ours[y]), g.parts, g.members, ours)
		}
		if !identicalSubscriptions(g) {
			return
		}
		if spread(ours) > 1 {
			t.Fatalf("identical subscriptions, yet unbalanced: %v", ours)
		}
		ref := rebalanceFully(t, func(g aGroup) map[string][]model.TopicPartition {
			return franzAssign(t, kgo.CooperativeStickyBalancer(), g)
		}, g, nil)
		if mo, mr := moves(g, ours), moves(g, ref); mo > mr+1 {
			t.Fatalf("kafkasim moves %d partitions, franz-go %d:\ngroup %v %+v\nkafkasim %v\nfranz-go %v", mo, mr, g.parts, g.members, ours, ref)
		}
	})
}
