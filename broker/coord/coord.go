// Package coord is what Kafka's group and transaction coordinators share:
// a key (a group id, a transactional id) lives in one partition of an
// internal topic (__consumer_offsets, __transaction_state), chosen by the
// key's hash, and a broker's coordinator serves the keys of the partitions
// its broker leads: it loads their state from the partition's log when the
// broker becomes leader and drops it when the broker no longer leads.
package coord

import (
	"fmt"
	"unicode/utf16"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// JavaHashCode is Java's String.hashCode: s[0]·31^(n-1) + … + s[n-1] over
// the string's UTF-16 code units, in 32-bit two's complement arithmetic.
func JavaHashCode(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// PartitionFor returns the partition of an internal topic that holds a
// key, as Kafka's coordinators compute it: abs(key.hashCode) modulo the
// number of partitions, where abs maps Integer.MIN_VALUE to 0 as Kafka's
// Utils.abs does.
func PartitionFor(key string, partitions int32) int32 {
	if partitions <= 0 {
		return 0
	}
	h := JavaHashCode(key)
	if h == -1<<31 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// Owned is the set of an internal topic's partitions that a coordinator
// serves, each with the leader epoch at which its broker leads it (the
// coordinator epoch).
type Owned struct {
	topic      string
	partitions int32
	epochs     map[int32]int32
}

// NewOwned returns an empty set for topic, which has partitions
// partitions.
func NewOwned(topic string, partitions int32) *Owned {
	return &Owned{topic: topic, partitions: partitions, epochs: make(map[int32]int32)}
}

// Electing reports whether an election for partition p at leaderEpoch
// should load the partition: false for an election older than the one
// loaded, an error for a partition the topic does not have.
func (o *Owned) Electing(p, leaderEpoch int32) (bool, error) {
	if p < 0 || p >= o.partitions {
		return false, fmt.Errorf("elected for partition %d of %s, which has partitions 0 to %d", p, o.topic, o.partitions-1)
	}
	if e, ok := o.epochs[p]; ok && e > leaderEpoch {
		return false, nil
	}
	return true, nil
}

// Add records that partition p is served at leaderEpoch, once loaded.
func (o *Owned) Add(p, leaderEpoch int32) { o.epochs[p] = leaderEpoch }

// Remove drops partition p and reports whether it was served.
func (o *Owned) Remove(p int32) bool {
	if _, ok := o.epochs[p]; !ok {
		return false
	}
	delete(o.epochs, p)
	return true
}

// Owns reports whether partition p is served.
func (o *Owned) Owns(p int32) bool { _, ok := o.epochs[p]; return ok }

// Epoch returns the coordinator epoch of partition p, if served.
func (o *Owned) Epoch(p int32) (int32, bool) { e, ok := o.epochs[p]; return e, ok }

// Len returns how many partitions are served.
func (o *Owned) Len() int { return len(o.epochs) }

// PartitionFor returns the partition of a key in this topic.
func (o *Owned) PartitionFor(key string) int32 { return PartitionFor(key, o.partitions) }

// Owner returns a key's partition and its coordinator epoch, and whether
// the partition is served: when it is not, the coordinator answers
// NOT_COORDINATOR.
func (o *Owned) Owner(key string) (p, epoch int32, ok bool) {
	p = o.PartitionFor(key)
	epoch, ok = o.epochs[p]
	return p, epoch, ok
}

// A Loader is a coordinator that serves the keys of the internal-topic
// partitions its broker leads.
type Loader interface {
	// Elected tells the coordinator that its broker leads partition p at
	// leaderEpoch, whose whole log is records.
	Elected(p int32, leaderEpoch int32, records protocol.Records) error
	// Resigned tells the coordinator that its broker no longer leads p.
	Resigned(p int32)
}

// Move is what a leadership change of an internal-topic partition asks of
// its coordinator.
type Move int

// The moves.
const (
	// Stay: nothing changed for the coordinator.
	Stay Move = iota
	// Load: the broker leads the partition at a new epoch; the
	// coordinator loads it (again).
	Load
	// Unload: the broker no longer leads the partition.
	Unload
)

// MoveOf returns the move for a partition whose broker led it (wasLeader,
// at oldEpoch) and now leads it or not (isLeader, at epoch); hasLog is
// whether the broker has the partition's log to load from.
func MoveOf(wasLeader, isLeader, hasLog bool, oldEpoch, epoch int32) Move {
	switch {
	case isLeader && hasLog && (!wasLeader || epoch != oldEpoch):
		return Load
	case wasLeader && !isLeader:
		return Unload
	}
	return Stay
}
