package client

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// NewTopic is a topic to create (Kafka's NewTopic). Partitions and
// ReplicationFactor of -1 take the broker defaults (num.partitions,
// default.replication.factor).
type NewTopic struct {
	Name              string
	Partitions        int32
	ReplicationFactor int16
	Configs           map[string]string
}

// A TopicResult is one topic's outcome of CreateTopics or DeleteTopics:
// Err is nil on success, an *AdminError otherwise.
type TopicResult struct {
	Name string
	Err  error
}

// ValidateTopicName checks a topic name as Kafka does: 1 to 249
// characters among ASCII letters, digits, '.', '_' and '-', and neither
// "." nor "..".
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return errors.New("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is illegal: it cannot be \".\" or \"..\"", name)
	case len(name) > 249:
		return fmt.Errorf("topic name %.20q... is illegal: it is %d characters long, and the limit is 249", name, len(name))
	}
	for _, r := range name {
		if !(r == '.' || r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			return fmt.Errorf("topic name %q is illegal: %q is not an ASCII letter, digit, '.', '_' or '-'", name, r)
		}
	}
	return nil
}

// CreateTopics asks the controller, through a broker, to create topics
// (Admin.createTopics, kafka-topics --create) and calls done with each
// topic's result, in the order given. Invalid arguments are refused
// before anything is sent, with the error Kafka would answer named.
// NOT_CONTROLLER and other retriable errors are retried. A topic that
// exists once an earlier attempt's outcome went unseen (a timeout) fails
// with TOPIC_ALREADY_EXISTS, as in Kafka, but its history outcome is
// unknown: that attempt may have created it.
func (a *Admin) CreateTopics(topics []NewTopic, done func([]TopicResult)) error {
	if len(topics) == 0 {
		return errors.New("create topics: no topics given")
	}
	seen := map[string]bool{}
	for _, t := range topics {
		if err := ValidateTopicName(t.Name); err != nil {
			return fmt.Errorf("create topics: %w (INVALID_TOPIC_EXCEPTION)", err)
		}
		if seen[t.Name] {
			return fmt.Errorf("create topics: topic %q is given twice (INVALID_REQUEST)", t.Name)
		}
		seen[t.Name] = true
		if t.Partitions == 0 || t.Partitions < -1 {
			return fmt.Errorf("create topics: topic %q: %d partitions: give 1 or more, or -1 for the broker default (INVALID_PARTITIONS)", t.Name, t.Partitions)
		}
		if t.ReplicationFactor == 0 || t.ReplicationFactor < -1 {
			return fmt.Errorf("create topics: topic %q: replication factor %d: give 1 or more, or -1 for the broker default (INVALID_REPLICATION_FACTOR)", t.Name, t.ReplicationFactor)
		}
	}
	ids := make([]int64, len(topics))
	names := make([]string, len(topics))
	for i, t := range topics {
		names[i] = t.Name
		ids[i] = a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "create-topics", Topic: t.Name,
			Partition: -1, Partitions: t.Partitions, ReplicationFactor: t.ReplicationFactor, Offset: -1, Configs: maps.Clone(t.Configs)})
	}
	a.topicOp("create-topics", names, ids, func(corr int32, pending []int, cl *adminCall) network.Message {
		m := &protocol.CreateTopics{CorrelationID: corr, Timeout: a.timeout(cl)}
		for _, i := range pending {
			t := topics[i]
			m.Topics = append(m.Topics, protocol.CreatableTopic{Name: t.Name, NumPartitions: t.Partitions,
				ReplicationFactor: t.ReplicationFactor, Configs: maps.Clone(t.Configs)})
		}
		return m
	}, func(m network.Message) []protocol.TopicError {
		if r, ok := m.(*protocol.CreateTopicsResponse); ok {
			return r.Topics
		}
		return nil
	}, protocol.TopicAlreadyExists, done)
	return nil
}

// DeleteTopics asks the controller, through a broker, to delete topics
// (Admin.deleteTopics, kafka-topics --delete) and calls done with each
// topic's result, in the order given. A topic that is gone once an
// earlier attempt's outcome went unseen fails with
// UNKNOWN_TOPIC_OR_PARTITION, with an unknown outcome in the history.
func (a *Admin) DeleteTopics(names []string, done func([]TopicResult)) error {
	if len(names) == 0 {
		return errors.New("delete topics: no topics given")
	}
	seen := map[string]bool{}
	for _, n := range names {
		if err := ValidateTopicName(n); err != nil {
			return fmt.Errorf("delete topics: %w (INVALID_TOPIC_EXCEPTION)", err)
		}
		if seen[n] {
			return fmt.Errorf("delete topics: topic %q is given twice (INVALID_REQUEST)", n)
		}
		seen[n] = true
	}
	names = slices.Clone(names)
	ids := make([]int64, len(names))
	for i, n := range names {
		ids[i] = a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "delete-topics", Topic: n, Partition: -1, Offset: -1})
	}
	a.topicOp("delete-topics", names, ids, func(corr int32, pending []int, cl *adminCall) network.Message {
		m := &protocol.DeleteTopics{CorrelationID: corr, Timeout: a.timeout(cl)}
		for _, i := range pending {
			m.Names = append(m.Names, names[i])
		}
		return m
	}, func(m network.Message) []protocol.TopicError {
		if r, ok := m.(*protocol.DeleteTopicsResponse); ok {
			return r.Topics
		}
		return nil
	}, protocol.UnknownTopicOrPartition, done)
	return nil
}

// topicOp runs a per-topic controller operation: it sends the topics
// still pending, settles each topic's answer, retries the retriable ones
// together until the deadline, and records every topic's outcome.
// ambiguous is the error that, after an attempt whose outcome went
// unseen, may be that attempt's own doing (a topic that exists after a
// lost creation, or is gone after a lost deletion).
func (a *Admin) topicOp(name string, names []string, ids []int64,
	build func(corr int32, pending []int, cl *adminCall) network.Message, results func(network.Message) []protocol.TopicError,
	ambiguous protocol.ErrorCode, done func([]TopicResult)) {
	out := make([]TopicResult, len(names))
	pending := make([]int, len(names))
	for i, n := range names {
		pending[i] = i
		out[i].Name = n
	}
	var cl *adminCall
	settle := func(i int, err *AdminError) {
		now := a.now()
		switch {
		case err == nil:
			a.rec.AdminOK(ids[i], now, nil)
		case err.Code == ambiguous && cl.indefinite:
			a.s.Mark("client.admin.ambiguous-outcome")
			out[i].Err = err
			a.rec.Unknown(ids[i], now, err.Code.String())
		case cl.indefinite:
			out[i].Err = err
			a.rec.Unknown(ids[i], now, err.Code.String())
		default:
			out[i].Err = err
			a.rec.Fail(ids[i], now, err.Code.String())
		}
	}
	cl = a.newCall(name, func() {
		a.end(cl)
		for _, i := range pending {
			settle(i, a.timedOut(cl))
		}
		done(out)
	})
	var attempt func()
	attempt = func() {
		a.request(cl, a.anyBroker(), func(corr int32) network.Message { return build(corr, pending, cl) },
			func(m network.Message, code protocol.ErrorCode) {
				var rs []protocol.TopicError
				if code == protocol.None {
					rs = results(m)
					// NOT_CONTROLLER for any topic: the controller moved
					// (or the broker could not reach it). As Kafka's admin
					// client, retry the whole request.
					for _, t := range rs {
						if t.Error == protocol.NotController {
							code = protocol.NotController
						}
					}
				}
				if code != protocol.None {
					a.c.invalidate()
					if a.retry(cl, code, attempt) {
						return
					}
					a.end(cl)
					for _, i := range pending {
						settle(i, a.failure(cl, code, ""))
					}
					done(out)
					return
				}
				answers := map[string]protocol.TopicError{}
				for _, t := range rs {
					answers[t.Name] = t
				}
				a.end(cl)
				for _, i := range pending {
					t, ok := answers[names[i]]
					switch {
					case !ok:
						settle(i, &AdminError{Code: protocol.UnknownServerError, Message: "the response did not name the topic"})
					case t.Error == protocol.None:
						settle(i, nil)
					default:
						// Per-topic errors are final, as in Kafka's
						// admin client.
						settle(i, &AdminError{Code: t.Error, Message: t.Message})
					}
				}
				done(out)
			})
	}
	attempt()
}

// PartitionDescription is one partition as DescribeTopics tells it:
// leader (-1: none), epochs, replicas, ISR, ELR and last known ELR
// (KIP-966), the replicas on fenced or unknown brokers, and whether an
// unclean leader is still recovering (KIP-704).
type PartitionDescription struct {
	Partition      int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
	ELR            []int32
	LastKnownELR   []int32
	Offline        []int32
	Recovering     bool
}

// TopicDescription is one topic as DescribeTopics tells it.
type TopicDescription struct {
	Name       string
	TopicID    [16]byte
	Partitions []PartitionDescription
}

// DescribeTopics describes topics (all of them when names is nil) from a
// broker's metadata with DescribeTopicPartitions, as Kafka's admin
// client does since KIP-966, and calls done with the topics found,
// sorted by name; err names the topics that do not exist
// (UNKNOWN_TOPIC_OR_PARTITION), or why the call failed.
func (a *Admin) DescribeTopics(names []string, done func([]TopicDescription, error)) {
	names = slices.Clone(names)
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "describe-topics", Topic: strings.Join(names, ","), Partition: -1, Offset: -1})
	var cl *adminCall
	finish := func(out []TopicDescription, err error, result map[string]string) {
		if a.end(cl) {
			a.recordRead(id, err, result)
			done(out, err)
		}
	}
	cl = a.newCall("describe-topics", func() { finish(nil, a.timedOut(cl), nil) })
	var attempt func()
	attempt = func() {
		a.request(cl, a.anyBroker(), func(corr int32) network.Message {
			return &protocol.DescribeTopicPartitions{CorrelationID: corr, Topics: names}
		}, func(m network.Message, code protocol.ErrorCode) {
			resp, _ := m.(*protocol.DescribeTopicPartitionsResponse)
			if code == protocol.None && resp == nil {
				code = protocol.UnknownServerError
			}
			if code != protocol.None {
				if !a.retry(cl, code, attempt) {
					finish(nil, a.failure(cl, code, ""), nil)
				}
				return
			}
			var out []TopicDescription
			var missing []string
			result := map[string]string{}
			for _, t := range resp.Topics {
				if t.Error != protocol.None {
					missing = append(missing, t.Name)
					result[t.Name] = t.Error.String()
					continue
				}
				td := TopicDescription{Name: t.Name, TopicID: t.TopicID}
				for _, p := range t.Partitions {
					pd := PartitionDescription{Partition: p.Partition, Leader: p.Leader, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch,
						Replicas: slices.Clone(p.Replicas), ISR: slices.Clone(p.ISR), ELR: slices.Clone(p.ELR),
						LastKnownELR: slices.Clone(p.LastKnownELR), Offline: slices.Clone(p.OfflineReplicas), Recovering: p.Recovering}
					td.Partitions = append(td.Partitions, pd)
					result[fmt.Sprintf("%s-%d", t.Name, p.Partition)] = pd.summary()
				}
				slices.SortFunc(td.Partitions, func(x, y PartitionDescription) int { return int(x.Partition) - int(y.Partition) })
				out = append(out, td)
			}
			slices.SortFunc(out, func(x, y TopicDescription) int { return strings.Compare(x.Name, y.Name) })
			if len(missing) > 0 {
				slices.Sort(missing)
				finish(out, &AdminError{Code: protocol.UnknownTopicOrPartition, Message: "no such topic: " + strings.Join(missing, ", ")}, nil)
				return
			}
			finish(out, nil, result)
		})
	}
	attempt()
}

// summary is a partition's description in one line, for the history.
func (p PartitionDescription) summary() string {
	s := fmt.Sprintf("leader=%d leader-epoch=%d partition-epoch=%d replicas=%s isr=%s elr=%s last-known-elr=%s",
		p.Leader, p.LeaderEpoch, p.PartitionEpoch, ids(p.Replicas), ids(p.ISR), ids(p.ELR), ids(p.LastKnownELR))
	if len(p.Offline) > 0 {
		s += " offline=" + ids(p.Offline)
	}
	if p.Recovering {
		s += " recovering"
	}
	return s
}

// ids joins node ids with commas, as kafka-topics prints them.
func ids(v []int32) string {
	s := make([]string, len(v))
	for i, id := range v {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ",")
}

// ElectLeaders asks the controller, through a broker, for preferred or
// unclean leader elections (Admin.electLeaders, kafka-leader-election)
// of the given partitions or, with nil, of every partition. done gets
// each partition's error code (NONE, ELECTION_NOT_NEEDED,
// ELIGIBLE_LEADERS_NOT_AVAILABLE, ...), or why the call failed.
func (a *Admin) ElectLeaders(typ protocol.ElectionType, tps []model.TopicPartition, done func(map[model.TopicPartition]protocol.ErrorCode, error)) error {
	if typ != protocol.ElectPreferred && typ != protocol.ElectUnclean {
		return fmt.Errorf("elect leaders: election type %d: accepted are %s (%d) and %s (%d)", typ,
			protocol.ElectPreferred, protocol.ElectPreferred, protocol.ElectUnclean, protocol.ElectUnclean)
	}
	if tps != nil {
		tps = slices.Clone(tps)
		slices.SortFunc(tps, model.TopicPartition.Compare)
		tps = slices.Compact(tps)
	}
	parts := "all"
	if tps != nil {
		parts = tpNames(tps)
	}
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "elect-leaders", Partition: -1, Offset: -1,
		Configs: map[string]string{"election-type": strings.ToLower(typ.String()), "partitions": parts}})
	var cl *adminCall
	finish := func(out map[model.TopicPartition]protocol.ErrorCode, err error) {
		if !a.end(cl) {
			return
		}
		result := map[string]string{}
		for tp, c := range out {
			result[tp.String()] = c.String()
		}
		a.record(id, cl, err, result)
		done(out, err)
	}
	cl = a.newCall("elect-leaders", func() { finish(nil, a.timedOut(cl)) })
	var attempt func()
	attempt = func() {
		a.request(cl, a.anyBroker(), func(corr int32) network.Message {
			return &protocol.ElectLeaders{CorrelationID: corr, ElectionType: typ, Partitions: tps}
		}, func(m network.Message, code protocol.ErrorCode) {
			resp, _ := m.(*protocol.ElectLeadersResponse)
			if code == protocol.None && resp == nil {
				code = protocol.UnknownServerError
			}
			if code == protocol.None {
				code = resp.Error
			}
			if code != protocol.None {
				if code == protocol.NotController {
					a.c.invalidate()
				}
				if !a.retry(cl, code, attempt) {
					finish(nil, a.failure(cl, code, ""))
				}
				return
			}
			out := map[model.TopicPartition]protocol.ErrorCode{}
			for _, r := range resp.Results {
				out[r.TP] = r.Error
			}
			finish(out, nil)
		})
	}
	attempt()
	return nil
}

// AlterTopicConfigs changes a topic's configs (Admin.incrementalAlterConfigs
// on a topic, kafka-configs --alter): set holds the configs to set, del
// the ones to delete (back to the cluster default). done gets nil or why
// the change was refused (INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION, ...).
func (a *Admin) AlterTopicConfigs(topic string, set map[string]string, del []string, done func(error)) error {
	if err := ValidateTopicName(topic); err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	if len(set) == 0 && len(del) == 0 {
		return fmt.Errorf("alter configs of topic %s: no config to set or delete", topic)
	}
	res := protocol.AlterConfigsResource{Type: protocol.ResourceTopic, Name: topic}
	configs := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(set)) {
		res.Configs = append(res.Configs, protocol.AlterableConfig{Name: k, Op: protocol.ConfigSet, Value: set[k]})
		configs[k] = set[k]
	}
	for _, k := range slices.Sorted(slices.Values(del)) {
		if _, dup := configs[k]; dup {
			return fmt.Errorf("alter configs of topic %s: %s is both set and deleted, or deleted twice", topic, k)
		}
		res.Configs = append(res.Configs, protocol.AlterableConfig{Name: k, Op: protocol.ConfigDelete})
		configs[k] = ""
	}
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "incremental-alter-configs", Topic: topic,
		Partition: -1, Offset: -1, Configs: configs})
	var cl *adminCall
	finish := func(err error) {
		if a.end(cl) {
			a.record(id, cl, err, nil)
			done(err)
		}
	}
	cl = a.newCall("incremental-alter-configs", func() { finish(a.timedOut(cl)) })
	var attempt func()
	attempt = func() {
		a.request(cl, a.anyBroker(), func(corr int32) network.Message {
			return &protocol.IncrementalAlterConfigs{CorrelationID: corr, Resources: []protocol.AlterConfigsResource{res}}
		}, func(m network.Message, code protocol.ErrorCode) {
			resp, _ := m.(*protocol.IncrementalAlterConfigsResponse)
			msg := ""
			if code == protocol.None {
				code = protocol.UnknownServerError
				if resp != nil && len(resp.Results) == 1 {
					code, msg = resp.Results[0].Error, resp.Results[0].Message
				}
				if code != protocol.NotController {
					// The resource's own answer, success or error, is
					// final.
					finish((&AdminError{Code: code, Message: msg}).err())
					return
				}
			}
			a.c.invalidate()
			if !a.retry(cl, code, attempt) {
				finish(a.failure(cl, code, msg))
			}
		})
	}
	attempt()
	return nil
}
