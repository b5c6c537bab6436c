package broker

import (
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// handleMetadata answers from the broker's metadata image, as clients ask.
func (b *Broker) handleMetadata(from sim.NodeID, m *protocol.Metadata) {
	resp := &protocol.MetadataResponse{CorrelationID: m.CorrelationID, ControllerID: b.controller}
	for _, id := range b.image.Brokers() {
		if reg, _ := b.image.Broker(id); !reg.Fenced {
			resp.Brokers = append(resp.Brokers, id)
		}
	}
	topics := m.Topics
	if topics == nil {
		topics = b.image.Topics()
	}
	for _, name := range topics {
		tm := protocol.TopicMetadata{Name: name}
		t, ok := b.image.Topic(name)
		if !ok {
			tm.Error = protocol.UnknownTopicOrPartition
			resp.Topics = append(resp.Topics, tm)
			continue
		}
		for i := range t.Partitions {
			reg, ok := b.image.Partition(protocol.TopicPartition{Topic: name, Partition: i})
			if !ok {
				continue
			}
			pm := protocol.PartitionMetadata{Partition: i, Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch,
				Replicas: slices.Clone(reg.Replicas), ISR: slices.Clone(reg.ISR)}
			if reg.Leader == protocol.NoNode {
				pm.Error = protocol.LeaderNotAvailable
			}
			for _, r := range reg.Replicas {
				if br, ok := b.image.Broker(r); !ok || br.Fenced {
					pm.OfflineReplicas = append(pm.OfflineReplicas, r)
				}
			}
			tm.Partitions = append(tm.Partitions, pm)
		}
		resp.Topics = append(resp.Topics, tm)
	}
	b.replyTo(from, resp)
}

// handleDescribeTopicPartitions answers from the broker's applied
// metadata: every partition's leader, epochs, replicas, ISR and ELR.
func (b *Broker) handleDescribeTopicPartitions(from sim.NodeID, m *protocol.DescribeTopicPartitions) {
	resp := &protocol.DescribeTopicPartitionsResponse{CorrelationID: m.CorrelationID}
	topics := m.Topics
	if topics == nil {
		topics = b.image.Topics()
	}
	for _, name := range topics {
		dt := protocol.DescribedTopic{Name: name}
		t, ok := b.image.Topic(name)
		if !ok {
			dt.Error = protocol.UnknownTopicOrPartition
			resp.Topics = append(resp.Topics, dt)
			continue
		}
		dt.TopicID = t.ID
		for i := range t.Partitions {
			reg, ok := b.image.Partition(protocol.TopicPartition{Topic: name, Partition: i})
			if !ok {
				continue
			}
			dp := protocol.DescribedPartition{Partition: i, Leader: reg.Leader, LeaderEpoch: reg.LeaderEpoch,
				PartitionEpoch: reg.PartitionEpoch, Replicas: slices.Clone(reg.Replicas), ISR: slices.Clone(reg.ISR),
				ELR: slices.Clone(reg.ELR), LastKnownELR: slices.Clone(reg.LastKnownELR),
				Recovering: reg.LeaderRecoveryState == protocol.Recovering}
			if reg.Leader == protocol.NoNode {
				dp.Error = protocol.LeaderNotAvailable
			}
			for _, r := range reg.Replicas {
				if br, ok := b.image.Broker(r); !ok || br.Fenced {
					dp.OfflineReplicas = append(dp.OfflineReplicas, r)
				}
			}
			dt.Partitions = append(dt.Partitions, dp)
		}
		resp.Topics = append(resp.Topics, dt)
	}
	b.replyTo(from, resp)
}

// handleDescribeCluster answers with the brokers the applied metadata
// registers and the active controller.
func (b *Broker) handleDescribeCluster(from sim.NodeID, m *protocol.DescribeCluster) {
	resp := &protocol.DescribeClusterResponse{CorrelationID: m.CorrelationID, ControllerID: b.controller}
	for _, id := range b.image.Brokers() {
		reg, _ := b.image.Broker(id)
		if reg.Fenced && !m.IncludeFencedBrokers {
			continue
		}
		resp.Brokers = append(resp.Brokers, protocol.DescribedBroker{ID: id, Fenced: reg.Fenced,
			InControlledShutdown: reg.InControlledShutdown, Epoch: reg.Epoch})
	}
	b.replyTo(from, resp)
}
