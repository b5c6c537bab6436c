package group

import (
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/model"
)

// ConsumerProtocolType is the protocol type of consumer groups.
const ConsumerProtocolType = "consumer"

// consumerProtocolVersion is the version of the consumer protocol's
// subscription and assignment that kafkasim writes (Kafka's
// ConsumerProtocolSubscription v3 and ConsumerProtocolAssignment v3).
const consumerProtocolVersion = 3

// A Subscription is what a consumer tells the group leader when it joins:
// its topics, the partitions it owned in its last generation (for sticky
// and cooperative assignors, KIP-429) and that generation.
type Subscription struct {
	Topics     []string
	UserData   []byte
	Owned      []model.TopicPartition
	Generation int32
	Rack       string
}

// An Assignment is what the leader gives each member.
type Assignment struct {
	Partitions []model.TopicPartition
	UserData   []byte
}

// EncodeSubscription encodes a subscription as JoinGroup metadata, in the
// consumer protocol's binary layout.
func EncodeSubscription(s Subscription) []byte {
	w := &writer{}
	w.int16(consumerProtocolVersion)
	w.int32(int32(len(s.Topics)))
	for _, t := range s.Topics {
		w.string(t)
	}
	w.bytes(s.UserData)
	writePartitions(w, s.Owned)
	w.int32(s.Generation)
	w.nullable(s.Rack)
	return w.b
}

// DecodeSubscription decodes JoinGroup metadata written by
// EncodeSubscription (versions 0 to 3).
func DecodeSubscription(p []byte) (Subscription, error) {
	r := &reader{b: p}
	var s Subscription
	v := r.int16()
	if r.err == nil && (v < 0 || v > consumerProtocolVersion) {
		return s, fmt.Errorf("consumer subscription version %d: accepted are 0 to %d", v, consumerProtocolVersion)
	}
	n := r.count(2)
	for range n {
		s.Topics = append(s.Topics, r.string())
	}
	s.UserData = r.bytes()
	s.Generation = -1
	if v >= 1 {
		s.Owned = readPartitions(r)
	}
	if v >= 2 {
		s.Generation = r.int32()
	}
	if v >= 3 {
		s.Rack = r.string()
	}
	return s, r.done("consumer subscription")
}

// EncodeAssignment encodes an assignment as SyncGroup data.
func EncodeAssignment(a Assignment) []byte {
	w := &writer{}
	w.int16(consumerProtocolVersion)
	writePartitions(w, a.Partitions)
	w.bytes(a.UserData)
	return w.b
}

// DecodeAssignment decodes SyncGroup data written by EncodeAssignment. An
// empty input is an empty assignment, as the coordinator gives members the
// leader left out.
func DecodeAssignment(p []byte) (Assignment, error) {
	if len(p) == 0 {
		return Assignment{}, nil
	}
	r := &reader{b: p}
	var a Assignment
	v := r.int16()
	if r.err == nil && (v < 0 || v > consumerProtocolVersion) {
		return a, fmt.Errorf("consumer assignment version %d: accepted are 0 to %d", v, consumerProtocolVersion)
	}
	a.Partitions = readPartitions(r)
	a.UserData = r.bytes()
	return a, r.done("consumer assignment")
}

// writePartitions writes partitions grouped by topic, topics in order of
// first appearance after sorting.
func writePartitions(w *writer, tps []model.TopicPartition) {
	sorted := slices.Clone(tps)
	slices.SortFunc(sorted, model.TopicPartition.Compare)
	var topics []string
	for _, tp := range sorted {
		if len(topics) == 0 || topics[len(topics)-1] != tp.Topic {
			topics = append(topics, tp.Topic)
		}
	}
	w.int32(int32(len(topics)))
	i := 0
	for _, t := range topics {
		w.string(t)
		j := i
		for j < len(sorted) && sorted[j].Topic == t {
			j++
		}
		w.int32(int32(j - i))
		for _, tp := range sorted[i:j] {
			w.int32(tp.Partition)
		}
		i = j
	}
}

func readPartitions(r *reader) []model.TopicPartition {
	var out []model.TopicPartition
	n := r.count(6)
	for range n {
		t := r.string()
		m := r.count(4)
		for range m {
			out = append(out, model.TopicPartition{Topic: t, Partition: r.int32()})
		}
	}
	return out
}

// A UserDataAssignor carries what a member owned in its subscription's
// user data instead of the subscription's owned partitions, as Kafka's
// eager StickyAssignor does: an eager member has given up its partitions
// by the time it rejoins, so it remembers its last assignment and
// generation and sends them along.
type UserDataAssignor interface {
	Assignor
	// UserData encodes a member's last assignment and its generation.
	UserData(assigned []model.TopicPartition, generation int32) []byte
	// OwnedFromUserData decodes what a subscription's user data says the
	// member owned, and in which generation (-1 if it does not say).
	OwnedFromUserData(userData []byte) ([]model.TopicPartition, int32)
}

// MemberOf is the member the assignor a sees in a subscription: what it
// owned comes from the user data for a UserDataAssignor, else from the
// subscription's owned partitions and generation.
func MemberOf(a Assignor, memberID, instanceID string, s Subscription) Member {
	m := Member{ID: memberID, InstanceID: instanceID, Topics: s.Topics, Owned: s.Owned, Generation: s.Generation}
	if u, ok := a.(UserDataAssignor); ok {
		m.Owned, m.Generation = u.OwnedFromUserData(s.UserData)
	}
	return m
}

// UserData implements UserDataAssignor in the layout of Kafka's
// StickyAssignor user data, version 1: the previous assignment by topic,
// then the generation.
func (Sticky) UserData(assigned []model.TopicPartition, generation int32) []byte {
	w := &writer{}
	writePartitions(w, assigned)
	w.int32(generation)
	return w.b
}

// OwnedFromUserData implements UserDataAssignor. Version 0 of the layout
// has no generation (-1 then); user data that is empty or cannot be read
// says nothing was owned.
func (Sticky) OwnedFromUserData(userData []byte) ([]model.TopicPartition, int32) {
	if len(userData) == 0 {
		return nil, -1
	}
	r := &reader{b: userData}
	owned := readPartitions(r)
	if r.err != nil {
		return nil, -1
	}
	if len(r.b) == 0 {
		return owned, -1 // version 0
	}
	gen := r.int32()
	if r.done("sticky assignor user data") != nil {
		return nil, -1
	}
	return owned, gen
}
