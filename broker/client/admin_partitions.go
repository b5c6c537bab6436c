package client

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// NewPartitions raises a topic's partition count to TotalCount (Kafka's
// NewPartitions.increaseTo): partitions are only ever added, and keyed
// records hash over the new count from then on.
type NewPartitions struct {
	Topic      string
	TotalCount int32
}

// CreatePartitions asks the controller, through a broker, to add
// partitions to existing topics (Admin.createPartitions, kafka-topics
// --alter --partitions) and calls done with each topic's result, in the
// order given. A count that is not above the topic's current one fails
// with INVALID_PARTITIONS, an unknown topic with
// UNKNOWN_TOPIC_OR_PARTITION. Retriable errors are retried; a topic that
// already has the count once an earlier attempt's outcome went unseen
// fails with INVALID_PARTITIONS, as in Kafka, with an unknown outcome in
// the history: that attempt may have added them.
func (a *Admin) CreatePartitions(topics []NewPartitions, done func([]TopicResult)) error {
	if len(topics) == 0 {
		return errors.New("create partitions: no topics given")
	}
	seen := map[string]bool{}
	for _, t := range topics {
		if err := ValidateTopicName(t.Topic); err != nil {
			return fmt.Errorf("create partitions: %w (INVALID_TOPIC_EXCEPTION)", err)
		}
		if seen[t.Topic] {
			return fmt.Errorf("create partitions: topic %q is given twice (INVALID_REQUEST)", t.Topic)
		}
		seen[t.Topic] = true
		if t.TotalCount < 1 {
			return fmt.Errorf("create partitions: topic %q: a total count of %d: give the new, larger partition count (INVALID_PARTITIONS)", t.Topic, t.TotalCount)
		}
	}
	topics = slices.Clone(topics)
	names := make([]string, len(topics))
	ids := make([]int64, len(topics))
	for i, t := range topics {
		names[i] = t.Topic
		ids[i] = a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "create-partitions", Topic: t.Topic,
			Partition: -1, Partitions: t.TotalCount, Offset: -1})
	}
	a.topicOp("create-partitions", names, ids, func(corr int32, pending []int, cl *adminCall) network.Message {
		m := &protocol.CreatePartitions{CorrelationID: corr, Timeout: a.timeout(cl)}
		for _, i := range pending {
			m.Topics = append(m.Topics, protocol.CreatePartitionsTopic{Name: topics[i].Topic, Count: topics[i].TotalCount})
		}
		return m
	}, func(m network.Message) []protocol.TopicError {
		if r, ok := m.(*protocol.CreatePartitionsResponse); ok {
			return r.Topics
		}
		return nil
	}, protocol.InvalidPartitions, done)
	return nil
}
