package client_test

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// admin answers the admin requests the fake broker serves as a broker
// and its controller would: topics, descriptions, elections, configs,
// and group listings from brokers that coordinate nothing. It reports
// whether m was one. Scripted faults (adminFaults) make a request fail
// with an error, or lose it or its answer.
func (b *fakeBroker) admin(from sim.NodeID, m network.Message) bool {
	fc := b.env
	reply := func(r network.Message) { fc.net.Send(fc.node(b.id), from, r) }
	switch m.(type) {
	case *protocol.CreateTopics, *protocol.DeleteTopics, *protocol.DescribeTopicPartitions, *protocol.ElectLeaders,
		*protocol.IncrementalAlterConfigs, *protocol.ListGroups:
	default:
		return false
	}
	client := fc.s.NodeByID(from).Name()
	what := fmt.Sprintf("b%d <- %s %s", b.id, client, m.(fmt.Stringer).String())
	answer := true
	if len(fc.adminFaults) > 0 {
		f := fc.adminFaults[0]
		if f.times--; f.times <= 0 {
			fc.adminFaults = fc.adminFaults[1:]
		}
		switch f.kind {
		case "lose-request":
			fc.note("%s: lost on the way", what)
			return true
		case "lose-ack":
			answer = false
			defer fc.note("%s: answer lost", what)
		case "error":
			fc.note("%s: %s", what, f.code.String())
			reply(fc.adminError(m, f.code))
			return true
		}
	}
	var resp network.Message
	switch m := m.(type) {
	case *protocol.CreateTopics:
		r := &protocol.CreateTopicsResponse{CorrelationID: m.CorrelationID}
		for _, t := range m.Topics {
			r.Topics = append(r.Topics, fc.createTopic(t))
		}
		resp = r
	case *protocol.DeleteTopics:
		r := &protocol.DeleteTopicsResponse{CorrelationID: m.CorrelationID}
		for _, name := range m.Names {
			te := protocol.TopicError{Name: name}
			if _, ok := fc.topics[name]; !ok {
				te.Error, te.Message = protocol.UnknownTopicOrPartition, "This server does not host this topic-partition."
			} else {
				fc.deleteTopic(name)
			}
			r.Topics = append(r.Topics, te)
		}
		resp = r
	case *protocol.DescribeTopicPartitions:
		resp = fc.describeTopics(m)
	case *protocol.ElectLeaders:
		resp = fc.electLeaders(m)
	case *protocol.IncrementalAlterConfigs:
		r := &protocol.IncrementalAlterConfigsResponse{CorrelationID: m.CorrelationID}
		for _, res := range m.Resources {
			r.Results = append(r.Results, fc.alterConfigs(res))
		}
		resp = r
	case *protocol.ListGroups:
		// Only broker 1 coordinates groups; the others have none.
		resp = &protocol.ListGroupsResponse{CorrelationID: m.CorrelationID}
	}
	if answer {
		reply(resp)
	}
	fc.note("%s: %s", what, resp.(fmt.Stringer).String())
	return true
}

// adminError answers an admin request with one error code throughout.
func (fc *fakeCluster) adminError(m network.Message, code protocol.ErrorCode) network.Message {
	switch m := m.(type) {
	case *protocol.CreateTopics:
		r := &protocol.CreateTopicsResponse{CorrelationID: m.CorrelationID}
		for _, t := range m.Topics {
			r.Topics = append(r.Topics, protocol.TopicError{Name: t.Name, Error: code})
		}
		return r
	case *protocol.DeleteTopics:
		r := &protocol.DeleteTopicsResponse{CorrelationID: m.CorrelationID}
		for _, n := range m.Names {
			r.Topics = append(r.Topics, protocol.TopicError{Name: n, Error: code})
		}
		return r
	case *protocol.DescribeTopicPartitions:
		r := &protocol.DescribeTopicPartitionsResponse{CorrelationID: m.CorrelationID}
		for _, t := range m.Topics {
			r.Topics = append(r.Topics, protocol.DescribedTopic{Name: t, Error: code})
		}
		return r
	case *protocol.ElectLeaders:
		return &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID, Error: code}
	case *protocol.IncrementalAlterConfigs:
		r := &protocol.IncrementalAlterConfigsResponse{CorrelationID: m.CorrelationID}
		for _, res := range m.Resources {
			r.Results = append(r.Results, protocol.AlterConfigsResult{Type: res.Type, Name: res.Name, Error: code})
		}
		return r
	case *protocol.ListGroups:
		return &protocol.ListGroupsResponse{CorrelationID: m.CorrelationID, Error: code}
	}
	panic("not an admin request")
}

func (fc *fakeCluster) createTopic(t protocol.CreatableTopic) protocol.TopicError {
	te := protocol.TopicError{Name: t.Name}
	parts, rf := t.NumPartitions, t.ReplicationFactor
	if parts == -1 {
		parts = 1 // num.partitions
	}
	if rf == -1 {
		rf = 1 // default.replication.factor
	}
	switch {
	case fc.topics[t.Name] > 0:
		te.Error, te.Message = protocol.TopicAlreadyExists, fmt.Sprintf("Topic '%s' already exists.", t.Name)
	case parts < 1:
		te.Error, te.Message = protocol.InvalidPartitions, "Number of partitions was set to an invalid non-positive value."
	case rf < 1 || int32(rf) > fc.brokers:
		te.Error, te.Message = protocol.InvalidReplicationFactor,
			fmt.Sprintf("Unable to replicate the partition %d time(s): only %d broker(s) are registered.", rf, fc.brokers)
	default:
		for k, v := range t.Configs {
			if k != "min.insync.replicas" && k != "unclean.leader.election.enable" && k != "retention.ms" {
				te.Error, te.Message = protocol.InvalidConfig, fmt.Sprintf("Unknown topic config name: %s", k)
				return te
			}
			if fc.configs[t.Name] == nil {
				fc.configs[t.Name] = map[string]string{}
			}
			fc.configs[t.Name][k] = v
		}
		fc.place(t.Name, parts, rf)
	}
	return te
}

func (fc *fakeCluster) deleteTopic(name string) {
	for p := range fc.topics[name] {
		tp := model.TopicPartition{Topic: name, Partition: p}
		delete(fc.leaders, tp)
		delete(fc.epochs, tp)
		delete(fc.replicas, tp)
		delete(fc.isr, tp)
		delete(fc.logs, tp)
	}
	delete(fc.topics, name)
	delete(fc.configs, name)
}

func (fc *fakeCluster) describeTopics(m *protocol.DescribeTopicPartitions) *protocol.DescribeTopicPartitionsResponse {
	r := &protocol.DescribeTopicPartitionsResponse{CorrelationID: m.CorrelationID}
	names := m.Topics
	if names == nil {
		for t := range fc.topics {
			names = append(names, t)
		}
		slices.Sort(names)
	}
	for _, name := range names {
		dt := protocol.DescribedTopic{Name: name}
		n, ok := fc.topics[name]
		if !ok {
			dt.Error = protocol.UnknownTopicOrPartition
		}
		for p := range n {
			tp := model.TopicPartition{Topic: name, Partition: p}
			dt.Partitions = append(dt.Partitions, protocol.DescribedPartition{Partition: p, Leader: fc.leaders[tp], LeaderEpoch: fc.epochs[tp],
				PartitionEpoch: fc.epochs[tp], Replicas: slices.Clone(fc.replicas[tp]), ISR: slices.Clone(fc.isr[tp])})
		}
		r.Topics = append(r.Topics, dt)
	}
	return r
}

// electLeaders elects the first replica of each partition (preferred),
// or, for an unclean election, the first replica when there is no leader.
func (fc *fakeCluster) electLeaders(m *protocol.ElectLeaders) *protocol.ElectLeadersResponse {
	r := &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID}
	tps := m.Partitions
	if tps == nil {
		for tp := range fc.leaders {
			tps = append(tps, tp)
		}
		slices.SortFunc(tps, model.TopicPartition.Compare)
	}
	for _, tp := range tps {
		res := protocol.PartitionResult{TP: tp}
		reps, ok := fc.replicas[tp]
		switch {
		case !ok:
			res.Error = protocol.UnknownTopicOrPartition
		case m.ElectionType == protocol.ElectPreferred && fc.leaders[tp] == reps[0]:
			res.Error = protocol.ElectionNotNeeded
		case m.ElectionType == protocol.ElectUnclean && fc.leaders[tp] != protocol.NoNode:
			res.Error = protocol.ElectionNotNeeded
		default:
			fc.leaders[tp] = reps[0]
			fc.epochs[tp]++
		}
		r.Results = append(r.Results, res)
	}
	return r
}

func (fc *fakeCluster) alterConfigs(res protocol.AlterConfigsResource) protocol.AlterConfigsResult {
	out := protocol.AlterConfigsResult{Type: res.Type, Name: res.Name}
	if _, ok := fc.topics[res.Name]; res.Type != protocol.ResourceTopic || !ok {
		out.Error, out.Message = protocol.UnknownTopicOrPartition, "no such topic: "+res.Name
		return out
	}
	for _, c := range res.Configs {
		if c.Name == "min.insync.replicas" && c.Op == protocol.ConfigSet {
			if n, err := strconv.Atoi(c.Value); err != nil || n < 1 {
				out.Error, out.Message = protocol.InvalidConfig, fmt.Sprintf("Invalid value %s for configuration min.insync.replicas: Value must be at least 1", c.Value)
				return out
			}
		}
	}
	if fc.configs[res.Name] == nil {
		fc.configs[res.Name] = map[string]string{}
	}
	for _, c := range res.Configs {
		if c.Op == protocol.ConfigDelete {
			delete(fc.configs[res.Name], c.Name)
		} else {
			fc.configs[res.Name][c.Name] = c.Value
		}
	}
	return out
}
