package group

import (
	"cmp"
	"slices"

	"github.com/kafkasim/kafkasim/broker/coord"
	"github.com/kafkasim/kafkasim/model"
)

// Where Kafka's sticky assignor has to pick among equals, it takes the
// first a Java hash map or hash set yields: which member keeps a full
// quota when too many own one, whose older claim counts when two have the
// same generation, which partition of a topic moves back. kafkasim picks
// the same, so that its assignments are Kafka's: it orders keys as
// java.util.HashMap iterates them (by bucket, then in insertion order)
// from their Java hash codes.

// javaTopicPartitionHash is Kafka's TopicPartition.hashCode.
func javaTopicPartitionHash(tp model.TopicPartition) int32 {
	return 31*(31+tp.Partition) + coord.JavaHashCode(tp.Topic)
}

// javaBucket is the bucket of a key with hash code h in a HashMap of
// capacity n (a power of two).
func javaBucket(h int32, n int) int {
	u := uint32(h)
	return int((u ^ u>>16) & uint32(n-1))
}

// javaCapacity is the capacity of a HashMap created with the default
// capacity (16) once it has held n keys: it doubles whenever it holds more
// than three quarters of its capacity.
func javaCapacity(n int) int {
	c := 16
	for n > c*3/4 {
		c *= 2
	}
	return c
}

// javaMemberOrder orders members as a HashMap keyed by member id, filled
// in the given order, iterates them.
func javaMemberOrder(members []Member) []Member {
	n := javaCapacity(len(members))
	out := slices.Clone(members)
	slices.SortStableFunc(out, func(a, b Member) int {
		return cmp.Compare(javaBucket(coord.JavaHashCode(a.ID), n), javaBucket(coord.JavaHashCode(b.ID), n))
	})
	return out
}

// javaFirst returns the partition a HashSet of the given partitions, in
// insertion order, yields first; most is the most it ever held, which
// sets its capacity.
func javaFirst(inserted []model.TopicPartition, most int) model.TopicPartition {
	n := javaCapacity(most)
	best := 0
	for i, tp := range inserted {
		if javaBucket(javaTopicPartitionHash(tp), n) < javaBucket(javaTopicPartitionHash(inserted[best]), n) {
			best = i
		}
	}
	return inserted[best]
}
