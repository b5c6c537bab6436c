package controller

import (
	"fmt"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// ---- CreatePartitions ----

// handleCreatePartitions adds partitions to existing topics, as Kafka's
// quorum controller does: a topic's count only grows (a count at or below
// the current one gets INVALID_PARTITIONS), the new partitions take the
// replication factor of partition 0, the striped placer places them, and
// each is written as a PartitionRecord whose ISR is its active replicas
// and whose leader is the first of them, at leader and partition epoch 0.
// Existing partitions are untouched.
func (c *Controller) handleCreatePartitions(from sim.NodeID, m *protocol.CreatePartitions) {
	fail := func() {
		c.reply(from, &protocol.CreatePartitionsResponse{CorrelationID: m.CorrelationID,
			Topics: notControllerTopics(c, m.Topics, func(t protocol.CreatePartitionsTopic) string { return t.Name })})
	}
	if !c.active {
		fail()
		return
	}
	resp := &protocol.CreatePartitionsResponse{CorrelationID: m.CorrelationID}
	var recs []metadata.Record
	seen := map[string]bool{}
	for _, t := range m.Topics {
		te := protocol.TopicError{Name: t.Name}
		if seen[t.Name] {
			te.Error, te.Message = protocol.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", t.Name)
		} else {
			var trecs []metadata.Record
			te.Error, te.Message, trecs = c.createPartitions(t)
			if te.Error == protocol.None && !m.ValidateOnly {
				recs = append(recs, trecs...)
			}
		}
		seen[t.Name] = true
		resp.Topics = append(resp.Topics, te)
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		for i := range resp.Topics {
			if resp.Topics[i].Error == protocol.None {
				resp.Topics[i].Error, resp.Topics[i].Message = writeError(err), err.Error()
			}
		}
	}, fail)
}

// createPartitions checks one topic's increase and returns the records
// of its new partitions.
func (c *Controller) createPartitions(t protocol.CreatePartitionsTopic) (protocol.ErrorCode, string, []metadata.Record) {
	im := c.working.image
	topic, ok := im.Topic(t.Name)
	if !ok {
		return protocol.UnknownTopicOrPartition, "", nil
	}
	current := topic.Partitions
	switch {
	case t.Count < current:
		return protocol.InvalidPartitions, fmt.Sprintf("The topic %s currently has %d partition(s); %d would not be an increase.", t.Name, current, t.Count), nil
	case t.Count == current:
		return protocol.InvalidPartitions, fmt.Sprintf("Topic already has %d partition(s).", current), nil
	}
	p0, ok := im.Partition(model.TopicPartition{Topic: t.Name, Partition: 0})
	if !ok {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("topic %s has no partition 0", t.Name), nil
	}
	rf := len(p0.Replicas)
	pl := c.newTopicPlacer()
	if err := pl.check(rf); err != nil {
		return protocol.InvalidReplicationFactor, fmt.Sprintf("unable to replicate the partition %d time(s): %v", rf, err), nil
	}
	var recs []metadata.Record
	for id := current; id < t.Count; id++ {
		replicas := pl.place(rf)
		var isr []int32
		for _, r := range replicas {
			if c.isActive(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			return protocol.InvalidReplicationFactor, fmt.Sprintf("unable to replicate the partition %d time(s): all brokers are currently fenced or in controlled shutdown", rf), nil
		}
		recs = append(recs, &metadata.PartitionRecord{PartitionID: id, TopicID: topic.ID, Replicas: replicas, ISR: isr,
			Leader: isr[0], LeaderRecoveryState: protocol.Recovered})
	}
	c.s.Mark("controller.create-partitions")
	c.emit("controller.create-partitions", sim.DigestString(uint64(t.Count), t.Name), "topic %s: %d partition(s) to %d, replication factor %d",
		t.Name, current, t.Count, rf)
	return protocol.None, "", recs
}
