package group

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/model"
)

// Sticky is Kafka's StickyAssignor (KIP-54): a balanced assignment that
// moves as few partitions as possible from their previous owners, used with
// the eager rebalance protocol. Every member gives up all its partitions
// before it rejoins, so a member tells the leader what it owned in its
// subscription's user data (see UserDataAssignor).
//
// When every member subscribes to the same topics, members keep what they
// owned up to their fair share (between floor and ceil of partitions over
// members, with exactly partitions mod members at the ceiling) and the rest
// is dealt out in order; otherwise owned partitions stay put, free ones go
// to the least loaded member that can take them (partitions of the topics
// with the fewest subscribers first), and partitions then move from the
// most to the least loaded members while that improves the balance,
// preferring to hand a partition back to its owner of an earlier
// generation. Claims resolve by generation: the newest claim wins, and a
// tie for the newest leaves the partition without an owner. Where Kafka
// picks among equals by the iteration order of a Java hash map, kafkasim
// picks the same (members are taken in the order given, as the JoinGroup
// response lists them).
//
// Kafka's own assignor agrees with this one on its test cases and on
// random groups, except in two deliberate ways: a partition never goes
// back to an older claimant that no longer subscribes to its topic (Kafka
// hands it over, an invalid assignment), and a member taking no part in
// balancing may be an older claimant (Kafka fails with a
// NullPointerException).
type Sticky struct{}

// Name implements Assignor.
func (Sticky) Name() string { return "sticky" }

// Protocol implements Assignor.
func (Sticky) Protocol() RebalanceProtocol { return Eager }

// Assign implements Assignor.
func (Sticky) Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition {
	in := newStickyInput(partitions, members)
	return sortAssignment(in.assign())
}

// CooperativeSticky is Kafka's CooperativeStickyAssignor (KIP-429): the
// sticky assignment of Sticky, used with the cooperative rebalance
// protocol. A partition never goes to a new owner in the round in which
// another member may still hold it: this round leaves it out, its holder
// revokes it, and the follow-up rebalance hands it over. A member may
// still hold a partition it claims as owned unless another member claims
// it with a higher generation; that includes a member that no longer
// subscribes to the partition's topic, and the members of one generation
// that claim the same partition.
//
// Kafka withholds the same partitions when all members subscribe to the
// same topics. Otherwise it withholds only what goes to a member that did
// not claim it at all, so a partition can go straight to an older or
// equal claimant while its newer owner still holds it; kafkasim withholds
// it, as franz-go does since KIP-792.
type CooperativeSticky struct {
	// TrustClaims is the assignor of Kafka before 3.0 (KAFKA-12984, fixed
	// by resolving claims by generation): a member's subscription said
	// what it owned but not in which generation, so every claim counted.
	// Each member keeps the partitions it claims up to its quota, even a
	// partition another member claims too: a member that rejoins with the
	// partitions of an older generation keeps them next to their current
	// owner, both in one generation. A partition is withheld only from
	// members that do not claim it; partitions left over when no member
	// has room stay unassigned (Kafka's "no more unfilled consumers").
	TrustClaims bool
}

// Name implements Assignor.
func (CooperativeSticky) Name() string { return "cooperative-sticky" }

// Protocol implements Assignor.
func (CooperativeSticky) Protocol() RebalanceProtocol { return Cooperative }

// Assign implements Assignor.
func (a CooperativeSticky) Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition {
	in := newStickyInput(partitions, members)
	if a.TrustClaims {
		in.trustClaims()
	}
	out := in.assign()
	for id, tps := range out {
		out[id] = slices.DeleteFunc(tps, func(tp model.TopicPartition) bool { return in.withheld(tp, id) })
	}
	return sortAssignment(out)
}

// stickyInput is a group as the sticky assignors see it.
type stickyInput struct {
	parts   map[string]int32 // the topics to assign: subscribed, existing, not empty
	topics  []string         // their names, sorted
	total   int              // their partitions
	members []Member         // in Java hash map order (see javaMemberOrder)
	// owned is each member's valid claims, in its subscription's order:
	// partitions of topics to assign that no other member claims with the
	// same or a higher generation. A member may own partitions of a topic
	// it no longer subscribes to.
	owned map[string][]model.TopicPartition
	// owner is the valid owner of each validly owned partition; claimed
	// holds every partition some member claims.
	owner   map[model.TopicPartition]string
	claimed map[model.TopicPartition]bool
	// claimants, set by trustClaims only, are every member that validly
	// claims each partition, whatever its generation.
	claimants map[model.TopicPartition][]string
}

func newStickyInput(partitions map[string]int32, members []Member) *stickyInput {
	in := &stickyInput{parts: map[string]int32{}, owned: map[string][]model.TopicPartition{},
		owner: map[model.TopicPartition]string{}, claimed: map[model.TopicPartition]bool{}}
	in.members = javaMemberOrder(members)
	for _, m := range in.members {
		for _, t := range m.Topics {
			if n := partitions[t]; n > 0 {
				in.parts[t] = n
			}
		}
	}
	in.topics = slices.Sorted(maps.Keys(in.parts))
	for _, n := range in.parts {
		in.total += int(n)
	}
	// Resolve claims: the highest generation wins; a tie at the highest
	// generation leaves the partition without a valid owner.
	type claim struct {
		id  string
		gen int32
		tie bool
	}
	best := map[model.TopicPartition]claim{}
	for _, m := range in.members {
		seen := map[model.TopicPartition]bool{}
		for _, tp := range m.Owned {
			in.claimed[tp] = true
			if seen[tp] || tp.Partition < 0 || tp.Partition >= in.parts[tp.Topic] {
				continue
			}
			seen[tp] = true
			c, ok := best[tp]
			switch {
			case !ok || m.Generation > c.gen:
				best[tp] = claim{id: m.ID, gen: m.Generation}
			case m.Generation == c.gen:
				c.tie = true
				best[tp] = c
			}
		}
	}
	for _, m := range in.members {
		in.owned[m.ID] = nil
		for _, tp := range m.Owned {
			if c, ok := best[tp]; ok && !c.tie && c.id == m.ID && in.owner[tp] == "" {
				in.owner[tp] = m.ID
				in.owned[m.ID] = append(in.owned[m.ID], tp)
			}
		}
	}
	return in
}

// trustClaims makes every member own every partition it claims (of a
// topic to assign, once per member), whatever its generation and whoever
// else claims it: the input of Kafka's sticky assignors before 3.0
// (CooperativeSticky.TrustClaims).
func (in *stickyInput) trustClaims() {
	in.claimants = map[model.TopicPartition][]string{}
	clear(in.owner)
	for _, m := range in.members {
		in.owned[m.ID] = nil
		for _, tp := range m.Owned {
			if tp.Partition < 0 || tp.Partition >= in.parts[tp.Topic] || slices.Contains(in.claimants[tp], m.ID) {
				continue
			}
			in.claimants[tp] = append(in.claimants[tp], m.ID)
			in.owned[m.ID] = append(in.owned[m.ID], tp)
			if in.owner[tp] == "" {
				in.owner[tp] = m.ID
			}
		}
	}
}

// withheld says whether the cooperative protocol keeps tp from member id
// this round: some member claims it, and id is not its valid owner (with
// trusted claims: not one of its claimants).
func (in *stickyInput) withheld(tp model.TopicPartition, id string) bool {
	if in.claimants != nil {
		return in.claimed[tp] && !slices.Contains(in.claimants[tp], id)
	}
	return in.claimed[tp] && in.owner[tp] != id
}

// assign returns the sticky assignment, every member present.
func (in *stickyInput) assign() map[string][]model.TopicPartition {
	if len(in.members) == 0 {
		return map[string][]model.TopicPartition{}
	}
	if in.identicalSubscriptions() {
		return in.constrained()
	}
	return newGeneral(in).build()
}

// identicalSubscriptions compares the members' subscriptions as given,
// including topics that do not exist.
func (in *stickyInput) identicalSubscriptions() bool {
	first := slices.Compact(slices.Sorted(slices.Values(in.members[0].Topics)))
	for _, m := range in.members[1:] {
		if !slices.Equal(slices.Compact(slices.Sorted(slices.Values(m.Topics))), first) {
			return false
		}
	}
	return true
}

// allPartitions returns the partitions of topics in the given order.
func (in *stickyInput) allPartitions(topics []string) []model.TopicPartition {
	out := make([]model.TopicPartition, 0, in.total)
	for _, t := range topics {
		for p := range in.parts[t] {
			out = append(out, model.TopicPartition{Topic: t, Partition: p})
		}
	}
	return out
}

// constrained assigns when every member subscribes to the same topics.
// Each member may hold between minQuota and maxQuota partitions, exactly
// (total mod members) of them maxQuota. Members keep what they owned, by
// partition number, up to minQuota, or up to maxQuota while fewer members
// than that hold maxQuota; the partitions left over go round-robin, in
// topic and partition order, to the members (by member id) below
// minQuota, then one each to those at minQuota until enough hold maxQuota.
func (in *stickyInput) constrained() map[string][]model.TopicPartition {
	c := len(in.members)
	minQ, maxQ := in.total/c, (in.total+c-1)/c
	wantAtMax, atMax := in.total%c, 0
	out := emptyAssignment(in.members)
	kept := map[model.TopicPartition]bool{}
	var underMin, atMin []string
	for _, m := range in.members {
		owned := slices.Clone(in.owned[m.ID])
		slices.SortFunc(owned, func(a, b model.TopicPartition) int {
			return cmp.Or(cmp.Compare(a.Partition, b.Partition), strings.Compare(a.Topic, b.Topic))
		})
		keep := len(owned)
		switch {
		case len(owned) < minQ:
			underMin = append(underMin, m.ID)
		case len(owned) >= maxQ && atMax < wantAtMax:
			keep = maxQ
			if atMax++; atMax == wantAtMax {
				atMin = nil
			}
		default:
			keep = minQ
			if atMax < wantAtMax {
				atMin = append(atMin, m.ID)
			}
		}
		out[m.ID] = append(out[m.ID], owned[:keep]...)
		for _, tp := range owned[:keep] {
			kept[tp] = true
		}
	}
	slices.Sort(underMin)
	slices.Sort(atMin)
	next := 0 // the member of underMin to take the next partition
	for _, tp := range in.allPartitions(in.topics) {
		if kept[tp] {
			continue
		}
		var id string
		switch {
		case next < len(underMin):
			id = underMin[next]
		case len(underMin) > 0:
			next = 0
			id = underMin[0]
		case len(atMin) > 0:
			id, atMin = atMin[0], atMin[1:]
		case in.claimants != nil:
			// Trusted claims kept a partition twice: the quotas no
			// longer add up, and what is left stays unassigned.
			continue
		default:
			// The quotas add up to the partitions: this cannot happen.
			panic("group: sticky assignment ran out of members with room")
		}
		out[id] = append(out[id], tp)
		switch n := len(out[id]); {
		case n == minQ && next < len(underMin) && underMin[next] == id:
			underMin = slices.Delete(underMin, next, next+1)
			atMin = append(atMin, id)
		default:
			if next < len(underMin) && underMin[next] == id {
				next++
			}
			if n == maxQ {
				atMax++
			}
		}
	}
	return out
}
