// Package group holds Kafka's consumer-group logic that is shared by the
// group coordinator on the brokers and the consumers: the partition
// assignors and the rebalance protocols they use.
package group

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/model"
)

// RebalanceProtocol is how members give up partitions during a rebalance.
type RebalanceProtocol uint8

const (
	// Eager: every member revokes all its partitions before rejoining.
	Eager RebalanceProtocol = iota
	// Cooperative: members keep their partitions and revoke only those the
	// new assignment takes away, which then move in a follow-up rebalance
	// (KIP-429).
	Cooperative
)

func (p RebalanceProtocol) String() string {
	if p == Cooperative {
		return "cooperative"
	}
	return "eager"
}

// A Member is one consumer's view of itself as the group leader's assignor
// sees it: its subscription and, for sticky assignors, what it owned.
type Member struct {
	ID         string   // the member id the coordinator gave it
	InstanceID string   // group.instance.id for static members (KIP-345), else empty
	Topics     []string // subscribed topics
	// Owned are the partitions the member owned in Generation, as sticky
	// assignors read them from the member's subscription.
	Owned      []model.TopicPartition
	Generation int32
}

// An Assignor computes a group's assignment, as the group leader does in
// Kafka's classic protocol.
type Assignor interface {
	// Name is the protocol name Kafka uses: "range", "roundrobin",
	// "sticky", "cooperative-sticky".
	Name() string
	// Protocol is the rebalance protocol the assignor supports.
	Protocol() RebalanceProtocol
	// Assign maps each member id to its partitions, given the number of
	// partitions of every topic. Every partition of a subscribed topic is
	// assigned to exactly one member subscribed to it (a cooperative
	// assignor may leave some out for a follow-up round); partitions of
	// topics nobody subscribes to are left out; lists are sorted. members
	// come in the order the JoinGroup response lists them.
	Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition
}

// assignors are the built-in assignors by every name Kafka accepts for them
// in partition.assignment.strategy.
var assignors = map[string]Assignor{
	"range":              Range{},
	"roundrobin":         RoundRobin{},
	"sticky":             Sticky{},
	"cooperative-sticky": CooperativeSticky{},
	"org.apache.kafka.clients.consumer.RangeAssignor":             Range{},
	"org.apache.kafka.clients.consumer.RoundRobinAssignor":        RoundRobin{},
	"org.apache.kafka.clients.consumer.StickyAssignor":            Sticky{},
	"org.apache.kafka.clients.consumer.CooperativeStickyAssignor": CooperativeSticky{},
}

// AssignorByName returns the assignor with the given protocol or class name.
func AssignorByName(name string) (Assignor, error) {
	if a, ok := assignors[name]; ok {
		return a, nil
	}
	return nil, fmt.Errorf("unknown partition assignor %q: accepted are range, roundrobin, sticky, cooperative-sticky (or Kafka's class names for them)", name)
}

// sortedMembers orders members as Kafka's range and round-robin assignors
// do: static members (with a group.instance.id, KIP-345) first, by instance
// id, so that they keep their place across restarts whatever member id
// they rejoin with; then dynamic members by member id.
func sortedMembers(members []Member) []Member {
	out := slices.Clone(members)
	slices.SortFunc(out, compareMembers)
	return out
}

func compareMembers(a, b Member) int {
	switch {
	case a.InstanceID != "" && b.InstanceID != "":
		return cmp.Or(strings.Compare(a.InstanceID, b.InstanceID), strings.Compare(a.ID, b.ID))
	case a.InstanceID != "":
		return -1
	case b.InstanceID != "":
		return 1
	}
	return strings.Compare(a.ID, b.ID)
}

func subscribes(m Member, topic string) bool { return slices.Contains(m.Topics, topic) }

// subscribedPartitions returns every partition of every topic some member
// subscribes to, sorted by topic then partition.
func subscribedPartitions(partitions map[string]int32, members []Member) []model.TopicPartition {
	var out []model.TopicPartition
	for _, topic := range slices.Sorted(maps.Keys(partitions)) {
		if !slices.ContainsFunc(members, func(m Member) bool { return subscribes(m, topic) }) {
			continue
		}
		for p := range partitions[topic] {
			out = append(out, model.TopicPartition{Topic: topic, Partition: p})
		}
	}
	return out
}

func emptyAssignment(members []Member) map[string][]model.TopicPartition {
	out := make(map[string][]model.TopicPartition, len(members))
	for _, m := range members {
		out[m.ID] = nil
	}
	return out
}

func sortAssignment(a map[string][]model.TopicPartition) map[string][]model.TopicPartition {
	for _, tps := range a {
		slices.SortFunc(tps, model.TopicPartition.Compare)
	}
	return a
}

// Range is Kafka's RangeAssignor: per topic, the partitions in order are cut
// into contiguous ranges, one per subscribed member in sorted order; the first
// (partitions mod members) members get one extra.
type Range struct{}

// Name implements Assignor.
func (Range) Name() string { return "range" }

// Protocol implements Assignor.
func (Range) Protocol() RebalanceProtocol { return Eager }

// Assign implements Assignor.
func (Range) Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition {
	out := emptyAssignment(members)
	sorted := sortedMembers(members)
	for _, topic := range slices.Sorted(maps.Keys(partitions)) {
		var subs []Member
		for _, m := range sorted {
			if subscribes(m, topic) {
				subs = append(subs, m)
			}
		}
		if len(subs) == 0 {
			continue
		}
		n := int(partitions[topic])
		per, extra := n/len(subs), n%len(subs)
		next := 0
		for i, m := range subs {
			count := per
			if i < extra {
				count++
			}
			for p := next; p < next+count; p++ {
				out[m.ID] = append(out[m.ID], model.TopicPartition{Topic: topic, Partition: int32(p)})
			}
			next += count
		}
	}
	return sortAssignment(out)
}

// RoundRobin is Kafka's RoundRobinAssignor: every partition, in topic then
// partition order, goes to the next member in sorted circular order that
// subscribes to its topic.
type RoundRobin struct{}

// Name implements Assignor.
func (RoundRobin) Name() string { return "roundrobin" }

// Protocol implements Assignor.
func (RoundRobin) Protocol() RebalanceProtocol { return Eager }

// Assign implements Assignor.
func (RoundRobin) Assign(partitions map[string]int32, members []Member) map[string][]model.TopicPartition {
	out := emptyAssignment(members)
	sorted := sortedMembers(members)
	next := 0
	for _, tp := range subscribedPartitions(partitions, members) {
		for !subscribes(sorted[next%len(sorted)], tp.Topic) {
			next++
		}
		m := sorted[next%len(sorted)]
		out[m.ID] = append(out[m.ID], tp)
		next++
	}
	return sortAssignment(out)
}
