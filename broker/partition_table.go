package broker

import (
	"iter"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/model"
)

// partitionTable holds a broker's replicas by topic name, then by
// partition number, so that a lookup on the data path hashes nothing: the
// topic of the previous lookup is compared first (a request lists its
// partitions by topic), then found in a map keyed by name, and the
// partition is an index. A map keyed by model.TopicPartition would hash
// the whole key on every lookup.
type partitionTable struct {
	topics map[string]*topicReplicas
	last   *topicReplicas // the topic of the latest lookup, or nil
	n      int
}

// topicReplicas are a topic's replicas by partition number; nil where the
// broker holds none.
type topicReplicas struct {
	name        string
	byPartition []*partition
}

func newPartitionTable() partitionTable {
	return partitionTable{topics: make(map[string]*topicReplicas)}
}

// topic returns the replicas of topic, or nil.
func (t *partitionTable) topic(topic string) *topicReplicas {
	if t.last != nil && t.last.name == topic {
		return t.last
	}
	r := t.topics[topic]
	if r != nil {
		t.last = r
	}
	return r
}

// get returns the replica of tp, if the broker holds one.
func (t *partitionTable) get(tp model.TopicPartition) (*partition, bool) {
	r := t.topic(tp.Topic)
	if r == nil || tp.Partition < 0 || int(tp.Partition) >= len(r.byPartition) {
		return nil, false
	}
	p := r.byPartition[tp.Partition]
	return p, p != nil
}

// at returns the replica of tp, or nil.
func (t *partitionTable) at(tp model.TopicPartition) *partition {
	p, _ := t.get(tp)
	return p
}

// set makes p the replica of tp.
func (t *partitionTable) set(tp model.TopicPartition, p *partition) {
	r := t.topic(tp.Topic)
	if r == nil {
		r = &topicReplicas{name: tp.Topic}
		t.topics[tp.Topic] = r
	}
	if int(tp.Partition) >= len(r.byPartition) {
		r.byPartition = append(r.byPartition, make([]*partition, int(tp.Partition)+1-len(r.byPartition))...)
	}
	if r.byPartition[tp.Partition] == nil {
		t.n++
	}
	r.byPartition[tp.Partition] = p
}

// remove drops the replica of tp, if any.
func (t *partitionTable) remove(tp model.TopicPartition) {
	r := t.topic(tp.Topic)
	if r == nil || tp.Partition < 0 || int(tp.Partition) >= len(r.byPartition) || r.byPartition[tp.Partition] == nil {
		return
	}
	r.byPartition[tp.Partition] = nil
	t.n--
	ps := r.byPartition
	for len(ps) > 0 && ps[len(ps)-1] == nil {
		ps = ps[:len(ps)-1]
	}
	r.byPartition = ps
	if len(ps) == 0 {
		delete(t.topics, tp.Topic)
		t.last = nil
	}
}

// len returns how many replicas the table holds.
func (t *partitionTable) len() int { return t.n }

// all yields every replica in model.TopicPartition order.
func (t *partitionTable) all() iter.Seq2[model.TopicPartition, *partition] {
	return func(yield func(model.TopicPartition, *partition) bool) {
		for _, topic := range slices.Sorted(maps.Keys(t.topics)) {
			for i, p := range t.topics[topic].byPartition {
				if p != nil && !yield(model.TopicPartition{Topic: topic, Partition: int32(i)}, p) {
					return
				}
			}
		}
	}
}

// sorted returns the partitions of every replica in
// model.TopicPartition order.
func (t *partitionTable) sorted() []model.TopicPartition {
	if t.n == 0 {
		return nil
	}
	out := make([]model.TopicPartition, 0, t.n)
	for tp := range t.all() {
		out = append(out, tp)
	}
	return out
}
