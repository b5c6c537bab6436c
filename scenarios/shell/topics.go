package shell

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

var topicFlags = []flagSpec{
	{"bootstrap-server", true}, {"create", false}, {"list", false}, {"describe", false}, {"alter", false}, {"delete", false},
	{"topic", true}, {"partitions", true}, {"replication-factor", true}, {"config", true}, {"if-not-exists", false},
	{"if-exists", false}, {"exclude-internal", false},
}

// topics is kafka-topics.sh.
func (sh *Shell) topics(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-topics.sh", topicFlags, args)
	if err != nil {
		return err
	}
	var actions []string
	for _, a := range []string{"list", "describe", "create", "alter", "delete"} {
		if f.has(a) {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		return errors.New("Command must include exactly one action: --list, --describe, --create, --alter or --delete")
	}
	topic := f.get("topic", "")
	needTopic := func() error {
		if topic == "" {
			return fmt.Errorf("Missing required argument \"[topic]\"")
		}
		return nil
	}
	cmdErr := func(err error) error {
		return fmt.Errorf("Error while executing topic command : %s", err)
	}
	switch actions[0] {
	case "list":
		ts, err := sh.describeTopics(nil)
		if err != nil {
			return cmdErr(err)
		}
		for _, t := range ts {
			b.WriteString(t.Name + "\n")
		}
	case "describe":
		var names []string
		if topic != "" {
			names = []string{topic}
		}
		ts, err := sh.describeTopics(names)
		if errors.Is(err, protocol.UnknownTopicOrPartition) && !f.has("if-exists") {
			return cmdErr(fmt.Errorf("Topic '%s' does not exist as expected", topic))
		}
		if err != nil && !errors.Is(err, protocol.UnknownTopicOrPartition) {
			return cmdErr(err)
		}
		b.WriteString(sh.formatTopics(ts))
	case "create":
		if err := needTopic(); err != nil {
			return err
		}
		if strings.ContainsAny(topic, "._") {
			// kafka-topics warns of names whose '.' and '_' collide in
			// metric names, before it sends the request.
			b.WriteString(collisionWarning + "\n")
		}
		nt := client.NewTopic{Name: topic, Partitions: 1, ReplicationFactor: int16(min(3, len(sh.cl.BrokerIDs())))}
		if v := f.get("partitions", ""); v != "" {
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < 1 {
				return cmdErr(fmt.Errorf("The partitions must be greater than 0, not %q", v))
			}
			nt.Partitions = int32(n)
		}
		if v := f.get("replication-factor", ""); v != "" {
			n, err := strconv.ParseInt(v, 10, 16)
			if err != nil || n < 1 {
				return cmdErr(fmt.Errorf("The replication factor must be greater than 0, not %q", v))
			}
			nt.ReplicationFactor = int16(n)
		}
		cfgs, err := f.props("config")
		if err != nil {
			return err
		}
		if len(cfgs) > 0 {
			nt.Configs = cfgs
		}
		topicErr, err := sh.topicCall(func(answer func([]client.TopicResult)) error {
			return sh.admin.CreateTopics([]client.NewTopic{nt}, answer)
		})
		if err != nil {
			return cmdErr(err)
		}
		if topicErr != nil {
			if errors.Is(topicErr, protocol.TopicAlreadyExists) {
				if f.has("if-not-exists") {
					return nil
				}
				return cmdErr(fmt.Errorf("Topic '%s' already exists.", topic))
			}
			return cmdErr(brokerMessage(topicErr))
		}
		if len(cfgs) > 0 {
			sh.configs[topic] = cfgs
		}
		fmt.Fprintf(b, "Created topic %s.\n", topic)
	case "alter":
		if err := needTopic(); err != nil {
			return err
		}
		return sh.alterPartitions(b, f, topic, cmdErr)
	case "delete":
		if err := needTopic(); err != nil {
			return err
		}
		topicErr, err := sh.topicCall(func(answer func([]client.TopicResult)) error {
			return sh.admin.DeleteTopics([]string{topic}, answer)
		})
		if err != nil {
			return cmdErr(err)
		}
		if topicErr != nil {
			if errors.Is(topicErr, protocol.UnknownTopicOrPartition) {
				if f.has("if-exists") {
					return nil
				}
				return cmdErr(fmt.Errorf("Topic '%s' does not exist as expected", topic))
			}
			return cmdErr(topicErr)
		}
		delete(sh.configs, topic)
	}
	return nil
}

// topicCall makes an admin call for one topic that answers per topic
// (CreateTopics, DeleteTopics, CreatePartitions) and waits for the answer:
// topicErr is the topic's error, err the call's refusal or the wait's.
func (sh *Shell) topicCall(call func(answer func([]client.TopicResult)) error) (topicErr, err error) {
	var res []client.TopicResult
	var callErr error
	if err := sh.await(func(done func()) {
		if callErr = call(func(r []client.TopicResult) { res = r; done() }); callErr != nil {
			done()
		}
	}); err != nil {
		return nil, err
	}
	if callErr != nil {
		return nil, callErr
	}
	if len(res) == 1 {
		return res[0].Err, nil
	}
	return nil, nil
}

func (sh *Shell) describeTopics(names []string) ([]client.TopicDescription, error) {
	var ts []client.TopicDescription
	var derr error
	if err := sh.await(func(done func()) {
		sh.admin.DescribeTopics(names, func(d []client.TopicDescription, e error) { ts, derr = d, e; done() })
	}); err != nil {
		return nil, err
	}
	return ts, derr
}

// formatTopics prints topics as kafka-topics --describe does: a line per
// topic with its id (base64, URL alphabet, unpadded), partition count,
// replication factor and the topic's configs set through the shell or
// the scenario, and a tab-indented line per partition.
func (sh *Shell) formatTopics(ts []client.TopicDescription) string {
	var b strings.Builder
	for _, t := range ts {
		rf := 0
		if len(t.Partitions) > 0 {
			rf = len(t.Partitions[0].Replicas)
		}
		var cfgs []string
		for _, k := range slices.Sorted(maps.Keys(sh.configs[t.Name])) {
			cfgs = append(cfgs, k+"="+sh.configs[t.Name][k])
		}
		fmt.Fprintf(&b, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s\n",
			t.Name, base64.RawURLEncoding.EncodeToString(t.TopicID[:]), len(t.Partitions), rf, strings.Join(cfgs, ","))
		for _, p := range t.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = strconv.Itoa(int(p.Leader))
			}
			fmt.Fprintf(&b, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\tElr: %s\tLastKnownElr: %s",
				t.Name, p.Partition, leader, idList(p.Replicas), idList(p.ISR), idList(p.ELR), idList(p.LastKnownELR))
			if len(p.Offline) > 0 {
				fmt.Fprintf(&b, "\tOffline: %s", idList(p.Offline))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func idList(v []int32) string {
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ",")
}
