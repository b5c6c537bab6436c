package group

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/model"
)

// general is the sticky assignment for members with different
// subscriptions, as Kafka's general assignment builder does it: keep valid
// ownership, deal free partitions to the least loaded member that can take
// them, then move partitions toward balance.
type general struct {
	in *stickyInput
	// subs are each member's subscribed topics that are being assigned;
	// potential are each topic's subscribers, by member id.
	subs      map[string][]string
	subSet    map[string]map[string]bool
	potential map[string][]string
	// assignment holds the members taking part in balancing; owner maps
	// every assigned partition to its member; order lists the members
	// taking part by number of partitions, then member id.
	assignment map[string][]model.TopicPartition
	owner      map[model.TopicPartition]string
	order      []string
	// sortedPartitions are all partitions, those of topics with the fewest
	// subscribers first; prev is, for partitions claimed by members of an
	// older generation than the newest, the newest such claim.
	sortedPartitions []model.TopicPartition
	prev             map[model.TopicPartition]prevClaim
	moves            movements
	// revocationRequired says a member lost a partition of a topic it no
	// longer subscribes to.
	revocationRequired bool
}

type prevClaim struct {
	id  string
	gen int32
}

func newGeneral(in *stickyInput) *general {
	g := &general{in: in, subs: map[string][]string{}, subSet: map[string]map[string]bool{}, potential: map[string][]string{},
		assignment: map[string][]model.TopicPartition{}, owner: map[model.TopicPartition]string{}, prev: map[model.TopicPartition]prevClaim{}}
	for _, m := range in.members {
		g.subSet[m.ID] = map[string]bool{}
		for _, t := range slices.Compact(slices.Sorted(slices.Values(m.Topics))) {
			if in.parts[t] > 0 {
				g.subs[m.ID] = append(g.subs[m.ID], t)
				g.subSet[m.ID][t] = true
				g.potential[t] = append(g.potential[t], m.ID)
			}
		}
	}
	topics := slices.Clone(in.topics)
	slices.SortStableFunc(topics, func(a, b string) int { return cmp.Compare(len(g.potential[a]), len(g.potential[b])) })
	g.sortedPartitions = in.allPartitions(topics)
	g.moves = movements{byPartition: map[model.TopicPartition]movePair{}, byTopic: map[string]map[movePair]*moveSet{}}
	return g
}

func (g *general) build() map[string][]model.TopicPartition {
	g.prepopulatePrev()
	// Keep what members validly own in topics they still subscribe to.
	assigned := map[model.TopicPartition]bool{}
	for _, m := range g.in.members {
		g.assignment[m.ID] = []model.TopicPartition{}
		for _, tp := range g.in.owned[m.ID] {
			if !g.subSet[m.ID][tp.Topic] {
				g.revocationRequired = true
				continue
			}
			g.assignment[m.ID] = append(g.assignment[m.ID], tp)
			g.owner[tp] = m.ID
			assigned[tp] = true
		}
	}
	var unassigned []model.TopicPartition
	for _, tp := range g.sortedPartitions {
		if !assigned[tp] {
			unassigned = append(unassigned, tp)
		}
	}
	for _, m := range g.in.members {
		g.add(m.ID)
	}
	g.balance(unassigned)
	return g.assignment
}

// prepopulatePrev records the claims of members whose generation is older
// than the newest in the group, the newest such claim per partition.
func (g *general) prepopulatePrev() {
	newest := int32(-1)
	for _, m := range g.in.members {
		newest = max(newest, m.Generation)
	}
	for _, m := range g.in.members {
		gen := max(m.Generation, -1)
		if gen >= newest {
			continue
		}
		for _, tp := range m.Owned {
			if c, ok := g.prev[tp]; !ok || gen > c.gen {
				g.prev[tp] = prevClaim{id: m.ID, gen: gen}
			}
		}
	}
}

func (g *general) less(a, b string) int {
	return cmp.Or(cmp.Compare(len(g.assignment[a]), len(g.assignment[b])), strings.Compare(a, b))
}

// add puts a member into order; remove takes it out. A member's number of
// partitions changes only while it is out.
func (g *general) add(id string) {
	i, _ := slices.BinarySearchFunc(g.order, id, g.less)
	g.order = slices.Insert(g.order, i, id)
}

func (g *general) remove(id string) {
	if i, ok := slices.BinarySearchFunc(g.order, id, g.less); ok {
		g.order = slices.Delete(g.order, i, i+1)
	}
}

// maxSize is how many partitions a member could hold at most.
func (g *general) maxSize(id string) int {
	n := 0
	for _, t := range g.subs[id] {
		n += int(g.in.parts[t])
	}
	return n
}

func (g *general) balance(unassigned []model.TopicPartition) {
	initializing := len(g.assignment[g.order[len(g.order)-1]]) == 0
	// Each free partition goes to the least loaded member subscribed to
	// its topic.
	for _, tp := range unassigned {
		for _, id := range g.order {
			if g.subSet[id][tp.Topic] {
				g.remove(id)
				g.assignment[id] = append(g.assignment[id], tp)
				g.owner[tp] = id
				g.add(id)
				break
			}
		}
	}
	// Partitions of topics with a single subscriber, and members holding
	// all they can of such topics only, take no part in balancing.
	fixedTopic := func(t string) bool { return len(g.potential[t]) < 2 }
	movable := func(tps []model.TopicPartition) []model.TopicPartition {
		return slices.DeleteFunc(slices.Clone(tps), func(tp model.TopicPartition) bool { return fixedTopic(tp.Topic) })
	}
	reassignable := movable(g.sortedPartitions)
	unassigned = movable(unassigned)
	fixed := map[string][]model.TopicPartition{}
	for _, m := range g.in.members {
		tps := g.assignment[m.ID]
		if len(tps) < g.maxSize(m.ID) || slices.ContainsFunc(tps, func(tp model.TopicPartition) bool { return !fixedTopic(tp.Topic) }) {
			continue
		}
		g.remove(m.ID)
		fixed[m.ID] = tps
		delete(g.assignment, m.ID)
	}
	before, beforeOwner := g.copyAssignment(), maps.Clone(g.owner)
	if !g.revocationRequired {
		// First try to balance by moving only the partitions just dealt.
		g.reassign(unassigned)
	}
	moved := g.reassign(reassignable)
	// Keep the moves only if they improved the balance.
	if !initializing && moved && balanceScore(g.assignment) >= balanceScore(before) {
		g.assignment, g.owner, g.order = before, beforeOwner, nil
		for id := range g.assignment {
			g.add(id)
		}
	}
	for id, tps := range fixed {
		g.assignment[id] = tps
		g.add(id)
	}
}

func (g *general) copyAssignment() map[string][]model.TopicPartition {
	out := make(map[string][]model.TopicPartition, len(g.assignment))
	for id, tps := range g.assignment {
		out[id] = slices.Clone(tps)
	}
	return out
}

// balanceScore is the sum over pairs of members of the difference in their
// numbers of partitions: 0 when all hold the same number.
func balanceScore(a map[string][]model.TopicPartition) int {
	var sizes []int
	for _, tps := range a {
		sizes = append(sizes, len(tps))
	}
	score := 0
	for i := range sizes {
		for j := i + 1; j < len(sizes); j++ {
			score += max(sizes[i]-sizes[j], sizes[j]-sizes[i])
		}
	}
	return score
}

// balanced says no partition can move from one member to another that
// holds two or more fewer and subscribes to its topic.
func (g *general) balanced() bool {
	if len(g.order) == 0 || len(g.assignment[g.order[0]]) >= len(g.assignment[g.order[len(g.order)-1]])-1 {
		return true
	}
	for _, id := range g.order {
		n := len(g.assignment[id])
		if n == g.maxSize(id) {
			continue
		}
		for _, t := range g.subs[id] {
			for p := range g.in.parts[t] {
				other, ok := g.owner[model.TopicPartition{Topic: t, Partition: p}]
				if !ok || other == id {
					continue
				}
				if tps, in := g.assignment[other]; in && n+1 < len(tps) {
					return false
				}
			}
		}
	}
	return true
}

// reassign moves partitions of list, in order, to better suited members
// until the assignment is balanced or no move helps; it says whether it
// moved any.
func (g *general) reassign(list []model.TopicPartition) bool {
	moved := false
	for modified := true; modified; {
		modified = false
		for _, tp := range list {
			if g.balanced() {
				break
			}
			from := g.owner[tp]
			size := len(g.assignment[from])
			// Back to its owner of an earlier generation, if that evens
			// things out.
			if c, ok := g.prev[tp]; ok && g.subSet[c.id][tp.Topic] {
				if tps, in := g.assignment[c.id]; in && size > len(tps)+1 {
					g.move(tp, c.id)
					moved, modified = true, true
					continue
				}
			}
			for _, other := range g.potential[tp.Topic] {
				if tps, in := g.assignment[other]; in && size > len(tps)+1 {
					g.move(tp, g.leastLoaded(tp.Topic))
					moved, modified = true, true
					break
				}
			}
		}
	}
	return moved
}

func (g *general) leastLoaded(topic string) string {
	for _, id := range g.order {
		if g.subSet[id][topic] {
			return id
		}
	}
	panic("group: no member subscribes to " + topic)
}

// move gives tp to member to; if a partition of the same topic moved from
// to to tp's owner earlier, that one moves back instead, so that no two
// members swap partitions of one topic.
func (g *general) move(tp model.TopicPartition, to string) {
	tp = g.moves.actual(tp, g.owner[tp], to)
	from := g.owner[tp]
	g.remove(from)
	g.remove(to)
	g.moves.move(tp, from, to)
	g.assignment[from] = slices.DeleteFunc(g.assignment[from], func(x model.TopicPartition) bool { return x == tp })
	g.assignment[to] = append(g.assignment[to], tp)
	g.owner[tp] = to
	g.add(to)
	g.add(from)
}

// movements tracks where partitions moved during one assignment: from
// their first owner to their current one. The partitions of a topic that
// moved between the same two members are kept in insertion order, with
// the most each such set ever held, to pick among them as Kafka does.
type movements struct {
	byPartition map[model.TopicPartition]movePair
	byTopic     map[string]map[movePair]*moveSet
}

type movePair struct{ from, to string }

type moveSet struct {
	tps  []model.TopicPartition
	most int
}

func (m *movements) record(tp model.TopicPartition, p movePair) {
	m.byPartition[tp] = p
	if m.byTopic[tp.Topic] == nil {
		m.byTopic[tp.Topic] = map[movePair]*moveSet{}
	}
	set := m.byTopic[tp.Topic][p]
	if set == nil {
		set = &moveSet{}
		m.byTopic[tp.Topic][p] = set
	}
	set.tps = append(set.tps, tp)
	set.most = max(set.most, len(set.tps))
}

func (m *movements) forget(tp model.TopicPartition) movePair {
	p := m.byPartition[tp]
	delete(m.byPartition, tp)
	set := m.byTopic[tp.Topic][p]
	set.tps = slices.DeleteFunc(set.tps, func(x model.TopicPartition) bool { return x == tp })
	if len(set.tps) == 0 {
		delete(m.byTopic[tp.Topic], p)
	}
	if len(m.byTopic[tp.Topic]) == 0 {
		delete(m.byTopic, tp.Topic)
	}
	return p
}

func (m *movements) move(tp model.TopicPartition, from, to string) {
	if _, ok := m.byPartition[tp]; !ok {
		m.record(tp, movePair{from, to})
		return
	}
	if p := m.forget(tp); p.from != to {
		m.record(tp, movePair{p.from, to})
	}
}

// actual returns the partition to move from member from to member to in
// place of tp: one of its topic that moved from to to from before (the
// first a Java hash set of them yields), else tp itself.
func (m *movements) actual(tp model.TopicPartition, from, to string) model.TopicPartition {
	if m.byTopic[tp.Topic] == nil {
		return tp
	}
	if p, ok := m.byPartition[tp]; ok {
		from = p.from
	}
	back := m.byTopic[tp.Topic][movePair{to, from}]
	if back == nil {
		return tp
	}
	return javaFirst(back.tps, back.most)
}
