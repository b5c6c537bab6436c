package group

import (
	"slices"

	"github.com/kafkasim/kafkasim/model"
)

// CooperativeSticky is Kafka's CooperativeStickyAssignor (KIP-429): a
// balanced assignment that moves as few partitions as possible from their
// previous owners, used with the cooperative rebalance protocol. A
// partition that changes owner is first revoked: this round leaves it out
// of the new owner's assignment, the old owner gives it up, and the
// follow-up rebalance hands it over.
type CooperativeSticky struct{}

// Name implements Assignor.
func (CooperativeSticky) Name() string { return "cooperative-sticky" }

// Protocol implements Assignor.
func (CooperativeSticky) Protocol() RebalanceProtocol { return Cooperative }

// Assign implements Assignor.
func (CooperativeSticky) Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition {
	sorted := sortedMembers(members)
	all := subscribedPartitions(partitions, members)
	owners := previousOwners(all, sorted)
	var out map[string][]model.TopicPartition
	if identicalSubscriptions(sorted) {
		out = constrainedAssign(all, sorted, owners)
	} else {
		out = generalAssign(partitions, all, sorted, owners)
	}
	// Cooperative: a partition whose previous owner is someone else is
	// withheld until that owner has revoked it.
	for id, tps := range out {
		out[id] = slices.DeleteFunc(tps, func(tp model.TopicPartition) bool {
			prev, ok := owners[tp]
			return ok && prev != id
		})
	}
	return sortAssignment(out)
}

// previousOwners resolves who validly owned each partition: the member
// claiming it with the highest generation, provided it still subscribes to
// the topic. Two claims with the same highest generation cancel out.
func previousOwners(all []model.TopicPartition, members []Member) map[model.TopicPartition]string {
	exists := make(map[model.TopicPartition]bool, len(all))
	for _, tp := range all {
		exists[tp] = true
	}
	type claim struct {
		id  string
		gen int32
		tie bool
	}
	claims := make(map[model.TopicPartition]claim)
	for _, m := range members {
		for _, tp := range m.Owned {
			if !exists[tp] || !subscribes(m, tp.Topic) {
				continue
			}
			c, ok := claims[tp]
			switch {
			case !ok || m.Generation > c.gen:
				claims[tp] = claim{id: m.ID, gen: m.Generation}
			case m.Generation == c.gen && m.ID != c.id:
				c.tie = true
				claims[tp] = c
			}
		}
	}
	owners := make(map[model.TopicPartition]string, len(claims))
	for tp, c := range claims {
		if !c.tie {
			owners[tp] = c.id
		}
	}
	return owners
}

func identicalSubscriptions(members []Member) bool {
	for _, m := range members[1:] {
		a, b := slices.Sorted(slices.Values(m.Topics)), slices.Sorted(slices.Values(members[0].Topics))
		if !slices.Equal(slices.Compact(a), slices.Compact(b)) {
			return false
		}
	}
	return true
}

// ownedBy returns, per member, the partitions it validly owned, sorted.
func ownedBy(all []model.TopicPartition, owners map[model.TopicPartition]string) map[string][]model.TopicPartition {
	out := make(map[string][]model.TopicPartition)
	for _, tp := range all { // all is sorted, so each list is too
		if id, ok := owners[tp]; ok {
			out[id] = append(out[id], tp)
		}
	}
	return out
}

// constrainedAssign balances partitions when every member subscribes to the
// same topics: each member may hold between floor(P/C) and ceil(P/C)
// partitions, with exactly P mod C members at the ceiling. Members keep
// what they owned up to their quota; the rest is dealt out.
func constrainedAssign(all []model.TopicPartition, members []Member, owners map[model.TopicPartition]string) map[string][]model.TopicPartition {
	out := emptyAssignment(members)
	c := len(members)
	minQ, maxQ := len(all)/c, (len(all)+c-1)/c
	atMax, wantAtMax := 0, len(all)%c
	owned := ownedBy(all, owners)
	kept := make(map[model.TopicPartition]bool)
	for _, m := range members {
		mine := owned[m.ID]
		keep := len(mine)
		if keep > minQ {
			if atMax < wantAtMax {
				keep = maxQ
				atMax++
			} else {
				keep = minQ
			}
		}
		out[m.ID] = append(out[m.ID], mine[:keep]...)
		for _, tp := range mine[:keep] {
			kept[tp] = true
		}
	}
	free := slices.DeleteFunc(slices.Clone(all), func(tp model.TopicPartition) bool { return kept[tp] })
	for _, m := range members {
		for len(out[m.ID]) < minQ && len(free) > 0 {
			out[m.ID] = append(out[m.ID], free[0])
			free = free[1:]
		}
	}
	for _, m := range members {
		if len(free) == 0 {
			break
		}
		if len(out[m.ID]) == minQ && atMax < wantAtMax {
			out[m.ID] = append(out[m.ID], free[0])
			free = free[1:]
			atMax++
		}
	}
	return out
}

// generalAssign handles members with different subscriptions: keep valid
// ownership, give each free partition to the eligible member holding the
// fewest, then move partitions from the most to the least loaded eligible
// member while that narrows the gap by more than one.
func generalAssign(partitions map[string]int32, all []model.TopicPartition, members []Member, owners map[model.TopicPartition]string) map[string][]model.TopicPartition {
	out := emptyAssignment(members)
	owned := ownedBy(all, owners)
	for _, m := range members {
		out[m.ID] = append(out[m.ID], owned[m.ID]...)
	}
	byID := make(map[string]Member, len(members))
	for _, m := range members {
		byID[m.ID] = m
	}
	// potential counts the partitions a member could hold: among equally
	// loaded members, the one with fewer alternatives takes a partition,
	// so that members with wider subscriptions stay free for partitions
	// only they can take (as Kafka's sticky assignor orders consumers).
	potential := make(map[string]int, len(members))
	for _, m := range members {
		for _, t := range slices.Compact(slices.Sorted(slices.Values(m.Topics))) {
			potential[m.ID] += int(partitions[t])
		}
	}
	leastLoaded := func(topic string, except string) (string, bool) {
		best, found := "", false
		for _, m := range members {
			if m.ID == except || !subscribes(m, topic) {
				continue
			}
			if !found || len(out[m.ID]) < len(out[best]) ||
				(len(out[m.ID]) == len(out[best]) && potential[m.ID] < potential[best]) {
				best, found = m.ID, true
			}
		}
		return best, found
	}
	for _, tp := range all {
		if _, ok := owners[tp]; ok {
			continue
		}
		if id, ok := leastLoaded(tp.Topic, ""); ok {
			out[id] = append(out[id], tp)
		}
	}
	for moved := true; moved; {
		moved = false
		// Visit members from most to least loaded, in a stable order.
		order := slices.Clone(members)
		slices.SortStableFunc(order, func(a, b Member) int { return len(out[b.ID]) - len(out[a.ID]) })
		for _, from := range order {
			tps := out[from.ID]
			// Move a partition the member did not own before in preference
			// to one it owned: that move costs no revocation.
			for pass := 0; pass < 2 && !moved; pass++ {
				for i := len(tps) - 1; i >= 0 && !moved; i-- {
					if _, was := owners[tps[i]]; was == (pass == 0) {
						continue
					}
					to, ok := leastLoaded(tps[i].Topic, from.ID)
					if ok && len(out[to])+1 < len(tps) {
						out[to] = append(out[to], tps[i])
						out[from.ID] = slices.Delete(tps, i, i+1)
						moved = true
					}
				}
			}
			if moved {
				break
			}
		}
	}
	return out
}
