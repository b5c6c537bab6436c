package client

import (
	"maps"
	"slices"
)

// noteAssignmentSnapshot remembers, on the member that computed the
// group's assignment, the partition counts of the subscribed topics the
// assignment was computed from (Kafka's ConsumerCoordinator keeps this
// metadata snapshot); other members forget theirs.
func (c *Consumer) noteAssignmentSnapshot(leader bool, counts map[string]int32) {
	if !leader {
		c.assignSnapshot = nil
		return
	}
	c.assignSnapshot = maps.Clone(counts)
}

// checkAssignmentMetadata asks the group leader to rejoin once its
// metadata shows a subscribed topic with another partition count than
// the assignment was computed from: partitions were added
// (CreatePartitions), and the group rebalances to hand them out, as
// Kafka's leader does when its metadata snapshot changes.
func (c *Consumer) checkAssignmentMetadata() {
	if c.assignSnapshot == nil || c.needsRejoin || c.joining {
		return
	}
	for _, t := range slices.Sorted(maps.Keys(c.assignSnapshot)) {
		ps, ok := c.c.partitions(t)
		if ok && int32(len(ps)) != c.assignSnapshot[t] {
			c.s.Mark("client.consumer.partitions-changed-rejoin")
			c.assignSnapshot = nil
			c.needsRejoin = true
			return
		}
	}
}
