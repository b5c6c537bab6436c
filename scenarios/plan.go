package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// offsetsTopic is Kafka's internal topic of committed offsets.
const offsetsTopic = "__consumer_offsets"

// A Plan is a scenario compiled: checked, and built into everything a run
// needs. Compile makes it; Run, Compare and Matrix take it, so that what
// was validated is what runs.
type Plan struct {
	// Scenario is the scenario with its defaults filled in.
	Scenario Scenario
	// Schedule is every fault of the run: the scenario's and the
	// nemesis's (drawn from the seed), sorted by time.
	Schedule fault.Schedule
	// Cluster is the cluster's configuration (without an observer).
	Cluster cluster.Config
	// Network is the network's configuration.
	Network network.Config
	// Topics are the topics created when the cluster starts.
	Topics []cluster.Topic
	// Producers and Consumers are the clients' workloads, one per client
	// node, in node order (Scenario.ProducerNames, ConsumerNames).
	Producers []client.ProducerWorkload
	Consumers []client.ConsumerWorkload
	// Txns are the transactional producers' workloads (Scenario.TxnNames).
	Txns []client.TxnWorkload
	// Config is the run's configuration as the checkers read it; Header
	// the configuration the history's header shows people.
	Config model.RunConfig
	Header map[string]string
}

// Compile checks a scenario and builds its plan. The error lists every
// problem, each naming its field and what is accepted.
func Compile(s Scenario) (*Plan, error) {
	s = s.Defaults()
	c := &problems{}
	p := &Plan{Scenario: s}
	bad := c.bad
	if s.Name == "" {
		bad("name", "is empty: give the scenario a name such as my-scenario")
	}
	for _, r := range s.Name {
		if !(r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			bad("name", "%q has %q: names are letters, digits, '-' and '_'", s.Name, r)
			break
		}
	}
	durationOK := c.dur("duration", "duration", time.Duration(*s.Duration))
	cl := s.Cluster
	brokersOK := c.num("cluster.brokers", "cluster.brokers", float64(*cl.Brokers))
	switch {
	case cl.Metadata != "" && cl.Metadata != string(cluster.KRaft) && !cl.ZK():
		bad("cluster.metadata", "%q is not a metadata mode: accepted are %s", cl.Metadata, strings.Join(cluster.MetadataModes(), ", "))
	case cl.ZK():
		if *cl.Controllers != 0 {
			bad("cluster.controllers", "%d KRaft controllers in ZooKeeper mode: give 0 or leave it out (the controller is elected among the brokers through ZooKeeper)", *cl.Controllers)
		}
		c.num("cluster.zookeepers", "cluster.zookeepers", float64(*cl.ZooKeepers))
	default:
		c.num("cluster.controllers", "cluster.controllers", float64(*cl.Controllers))
		if cl.ZooKeepers != nil {
			bad("cluster.zookeepers", "is set in KRaft mode: set cluster.metadata to \"zookeeper\" for a ZooKeeper ensemble, or leave it out")
		}
	}
	c.dur("cluster.os_writeback", "cluster.os_writeback", time.Duration(cl.OSWriteback))
	p.Cluster, p.Header = c.cluster(s)

	topics := map[string]bool{}
	partitions := 0
	for i, t := range cl.Topics {
		at := fmt.Sprintf("cluster.topics[%d]", i)
		if err := controller.ValidateTopicName(t.Name); err != nil {
			bad(at+".name", "INVALID_TOPIC_EXCEPTION: %v", err)
		} else if t.Name == offsetsTopic {
			bad(at+".name", "%s is Kafka's internal topic of committed offsets, created by the group coordinator: give another name", t.Name)
		} else if slices.Contains(controller.InternalTopics, t.Name) {
			bad(at+".name", "%s is one of Kafka's internal topics (%s), which users do not create: give another name", t.Name, strings.Join(controller.InternalTopics, ", "))
		}
		for _, other := range cl.Topics[:i] {
			if controller.Collides(t.Name, other.Name) {
				bad(at+".name", "INVALID_TOPIC_EXCEPTION: Topic '%s' collides with existing topic: %s ('.' and '_' are one character in Kafka's metric names: use either, not both)", t.Name, other.Name)
			}
		}
		if topics[t.Name] {
			bad(at+".name", "topic %q is defined twice", t.Name)
		}
		topics[t.Name] = true
		c.num("cluster.topics[].partitions", at+".partitions", float64(*t.Partitions))
		partitions += max(*t.Partitions, 0)
		rf := *t.ReplicationFactor
		if c.num("cluster.topics[].replication_factor", at+".replication_factor", float64(rf)) && brokersOK && rf > *cl.Brokers {
			bad(at+".replication_factor", "INVALID_REPLICATION_FACTOR: %d must be between 1 and the number of brokers (%d)", rf, *cl.Brokers)
		}
		tc, err := controller.ParseTopicConfig(p.Cluster.Controller.TopicDefaults(), rf, t.Config)
		if err != nil {
			bad(at+".config", "INVALID_CONFIG: %v", err)
		}
		tc.Name = t.Name
		p.Config.Topics = append(p.Config.Topics, tc)
		p.Topics = append(p.Topics, cluster.Topic{Name: t.Name, Partitions: *t.Partitions, ReplicationFactor: rf, Configs: t.Config})
	}
	slices.SortFunc(p.Config.Topics, func(a, b model.TopicConfig) int { return strings.Compare(a.Name, b.Name) })
	p.Network = c.network(cl.Network)

	w := s.Workload
	rate := 0.0
	for i, pr := range w.Producers {
		at := fmt.Sprintf("workload.producers[%d]", i)
		c.num("workload.producers[].count", at+".count", float64(pr.Count))
		if !topics[pr.Topic] {
			bad(at+".topic", "unknown topic %q: the scenario's topics are %s", pr.Topic, topicList(topics))
		}
		if c.num("workload.producers[].rate", at+".rate", pr.Rate) {
			rate += float64(max(pr.Count, 0)) * pr.Rate
		}
		c.num("workload.producers[].keys", at+".keys", float64(pr.Keys))
		if _, err := client.ParseProducerConfig(pr.Config); err != nil {
			bad(at+".config", "%v", err)
		}
	}
	for i, g := range w.Consumers {
		at := fmt.Sprintf("workload.consumers[%d]", i)
		c.num("workload.consumers[].count", at+".count", float64(g.Count))
		if len(g.Topics) == 0 {
			bad(at+".topics", "give at least one topic to read")
		}
		for _, t := range g.Topics {
			if !topics[t] {
				bad(at+".topics", "unknown topic %q: the scenario's topics are %s", t, topicList(topics))
			}
		}
		if _, err := client.ParseConsumerConfig(consumerProps(g)); err != nil {
			bad(at+".config", "%v", err)
		}
	}
	for i, t := range w.Transactions {
		at := fmt.Sprintf("workload.transactions[%d]", i)
		if t.Count < 1 {
			bad(at+".count", "%d: give at least 1 transactional producer", t.Count)
		}
		for _, name := range []string{t.Topic, t.Input} {
			if name != "" && !topics[name] {
				bad(at, "unknown topic %q: the scenario's topics are %s", name, topicList(topics))
			}
		}
		if err := txnWorkload(t, 0).Validate(); err != nil {
			bad(at, "%v", err)
		}
	}
	offsets := int(p.Cluster.Broker.Group.OffsetsTopicPartitions)
	if slices.ContainsFunc(w.Consumers, func(g Consumers) bool { return g.Group != "" }) {
		partitions += offsets
	}
	c.total("partitions", "the number of partitions", float64(partitions))
	c.total("clients", "the number of producers and consumers", float64(len(s.ProducerNames())+len(s.ConsumerNames())))
	c.total("records per second", "the producers' rate together", rate)
	if c.dur("workload.produce_until", "workload.produce_until", time.Duration(w.ProduceUntil)) && w.ProduceUntil > *s.Duration {
		bad("workload.produce_until", "%v is outside the run (0 to %v)", time.Duration(w.ProduceUntil), time.Duration(*s.Duration))
	}
	if err := checkBuggify(s.Buggify); err != nil {
		bad("buggify", "%v", err)
	}
	c.num("checks.linearizability_budget", "checks.linearizability_budget", float64(s.Checks.LinearizabilityBudget))
	if durationOK {
		if err := s.Faults.Validate(s.faultNames(offsets), time.Duration(*s.Duration)); err != nil {
			bad("faults", "%v", err)
		}
		for i, f := range s.Faults {
			if f.Kind == fault.AddPartitions && f.Partitions > MaxTopicPartitions {
				bad(fmt.Sprintf("faults[%d].partitions", i), "%d is above the limit of %d partitions per topic", f.Partitions, MaxTopicPartitions)
			}
		}
	}
	if n := s.Nemesis; n != nil {
		if err := n.knobs(s).Validate(); err != nil {
			bad("nemesis", "%v", err)
		}
		names := s.faultNames(offsets)
		all := slices.Concat(names.Brokers, names.Controllers, names.ZooKeepers, names.Clients)
		for _, t := range n.Targets {
			if !slices.Contains(all, t) {
				bad("nemesis.targets", "unknown node %q: known nodes are %s", t, strings.Join(all, ", "))
			}
		}
	}
	c.expect(s.Expect)
	if len(c.errs) == 0 {
		// Kafka's rules between settings (replica.fetch.wait.max.ms within
		// replica.socket.timeout.ms, ...).
		if err := p.Cluster.Validate(); err != nil {
			bad("cluster", "%v", err)
		}
	}
	if err := errors.Join(c.errs...); err != nil {
		return nil, err
	}

	p.Producers, p.Consumers = workloads(s)
	for i := range p.Consumers {
		p.Consumers[i].Protocol = p.Cluster.Consumer
	}
	for _, t := range s.Workload.Transactions {
		for range t.Count {
			p.Txns = append(p.Txns, txnWorkload(t, time.Duration(s.Workload.ProduceUntil)))
		}
	}
	p.Config.Default = p.Cluster.Controller.TopicDefaults()
	p.Config.ELR = p.Cluster.Controller.ELR
	p.Config.Truncation = p.Cluster.Broker.Truncation.String()
	p.Config.FlushIntervalMessages = p.Cluster.Broker.LogFlushIntervalMessages
	p.Config.FlushInterval = p.Cluster.Broker.LogFlushInterval
	p.Config.OSWriteback = time.Duration(cl.OSWriteback)
	names := s.ProducerNames()
	for i, w := range p.Producers {
		props := maps.Clone(w.Properties)
		if props == nil {
			props = map[string]string{}
		}
		if _, set := props["client.id"]; !set {
			props["client.id"] = names[i]
		}
		pc, err := client.ParseProducerConfig(props)
		if err != nil {
			return nil, fmt.Errorf("workload: producer %s: %w", names[i], err)
		}
		p.Config.Producers = append(p.Config.Producers, model.ProducerConfig{Client: pc.ClientID, Acks: pc.Acks, Idempotence: pc.EnableIdempotence})
	}
	schedule := slices.Clone(s.Faults)
	if n := s.Nemesis; n != nil {
		drawn, err := n.knobs(s).Generate(sim.NewRand(s.Seed, "nemesis"))
		if err != nil {
			return nil, fmt.Errorf("nemesis: %w", err)
		}
		schedule = append(schedule, drawn...)
	}
	p.Schedule = schedule.Sorted()
	return p, nil
}

// cluster builds the cluster's configuration: the shape, the properties
// of broker_config and controller_config (each checked against its role in
// the property table), and the protocol variants; and the header's view of
// them.
func (c *problems) cluster(s Scenario) (cluster.Config, map[string]string) {
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = *s.Cluster.Brokers, *s.Cluster.Controllers
	header := map[string]string{}
	if s.Cluster.ZK() {
		cfg.Metadata, cfg.ZooKeepers = cluster.ZooKeeper, *s.Cluster.ZooKeepers
		header["kafkasim.metadata"] = string(cluster.ZooKeeper)
	}
	for _, section := range []struct {
		field string
		role  props.Role
		props map[string]string
	}{{"cluster.broker_config", props.Broker, s.Cluster.BrokerConfig}, {"cluster.controller_config", props.Controller, s.Cluster.ControllerConfig}} {
		for _, k := range slices.Sorted(maps.Keys(section.props)) {
			if err := cfg.SetFor(section.role, k, section.props[k]); err != nil {
				c.bad(section.field, "%v", err)
			}
			header[k] = section.props[k]
		}
	}
	for _, t := range s.Cluster.Topics {
		for k, v := range t.Config {
			header[t.Name+"."+k] = v
		}
	}
	for _, name := range slices.Sorted(maps.Keys(s.Cluster.Protocol)) {
		v, ok := cluster.VariantByName(name)
		if !ok {
			c.bad("cluster.protocol", "unknown switch %q: known are %s", name, strings.Join(cluster.Switches(), ", "))
			continue
		}
		value := s.Cluster.Protocol[name]
		if err := cfg.SetSwitch(name, value); err != nil {
			c.bad("cluster.protocol."+v.Field, "%v", err)
			continue
		}
		if v.Applies == cluster.AppliesZooKeeper && !s.Cluster.ZK() && value != v.Default {
			c.bad("cluster.protocol."+v.Field, "switch %s applies to ZooKeeper mode only: set cluster.metadata to \"zookeeper\"", name)
			continue
		}
		k, text := v.Header(value)
		header[k] = text
	}
	return cfg, header
}

// network builds the network's configuration from its defaults: a value
// given, 0 included, replaces the default.
func (c *problems) network(n Network) network.Config {
	cfg := network.DefaultConfig()
	set := func(name string, d *fault.Duration, dst *time.Duration) {
		if d != nil && c.dur("cluster.network."+name, "cluster.network."+name, time.Duration(*d)) {
			*dst = time.Duration(*d)
		}
	}
	set("latency", n.Latency, &cfg.Link.Latency)
	set("jitter", n.Jitter, &cfg.Link.Jitter)
	set("detect_timeout", n.DetectTimeout, &cfg.DetectTimeout)
	rd := fault.Duration(n.ReorderDelay)
	set("reorder_delay", &rd, &cfg.Link.ReorderDelay)
	for _, f := range []struct {
		name string
		v    float64
		dst  *float64
	}{{"loss", n.Loss, &cfg.Link.Loss}, {"duplicate", n.Duplicate, &cfg.Link.Duplicate}, {"reorder", n.Reorder, &cfg.Link.Reorder}} {
		if c.num("cluster.network."+f.name, "cluster.network."+f.name, f.v) {
			*f.dst = f.v
		}
	}
	if err := cfg.Validate(); err != nil {
		c.bad("cluster.network", "%v", err)
	}
	return cfg
}

// expect checks the expected findings and marks.
func (c *problems) expect(e Expect) {
	for _, list := range []struct {
		field string
		names []string
	}{{"expect.findings", e.Findings}, {"expect.absent", e.Absent}} {
		for _, name := range list.names {
			if !checker.KnownFinding(name) {
				c.bad(list.field, "unknown finding %q: accepted are %s", name, strings.Join(checker.FindingNames, ", "))
			}
			if slices.Contains(e.Findings, name) && slices.Contains(e.Absent, name) && list.field == "expect.absent" {
				c.bad(list.field, "%q is both expected and absent", name)
			}
		}
	}
	for _, mark := range slices.Sorted(maps.Keys(e.Marks)) {
		if !KnownMark(mark) {
			c.bad("expect.marks", "%s", unknownMark(mark))
		}
		if e.Marks[mark] == 0 {
			c.bad("expect.marks", "%q wants 0 times: give the least number of times the run must reach it, 1 or more", mark)
		}
	}
}

// consumerProps are a consumer group's properties as its consumers get
// them: group.id from the group, auto-commit off without one, and reading
// from the earliest offset unless told otherwise.
func consumerProps(g Consumers) map[string]string {
	props := maps.Clone(g.Config)
	if props == nil {
		props = map[string]string{}
	}
	if g.Group != "" {
		props["group.id"] = g.Group
	} else if _, set := props["enable.auto.commit"]; !set {
		props["enable.auto.commit"] = "false"
	}
	if _, set := props["auto.offset.reset"]; !set {
		props["auto.offset.reset"] = "earliest"
	}
	return props
}

// txnWorkload is one transactional producer's workload.
func txnWorkload(t Transactions, until time.Duration) client.TxnWorkload {
	if t.Input != "" {
		until = 0 // a pipeline drains its input to the end of the run
	}
	return client.TxnWorkload{Topic: t.Topic, Input: t.Input, Group: t.Group, Rate: t.Rate, MaxSends: t.MaxSends,
		PollChance: t.PollChance, AbortChance: t.AbortChance, Start: time.Duration(t.Start), Until: until, Properties: t.Config}
}

// workloads are the clients' workloads, one per client node.
func workloads(s Scenario) ([]client.ProducerWorkload, []client.ConsumerWorkload) {
	var prods []client.ProducerWorkload
	for _, p := range s.Workload.Producers {
		for range p.Count {
			prods = append(prods, client.ProducerWorkload{Topic: p.Topic, Rate: p.Rate, Keys: p.Keys,
				Until: time.Duration(s.Workload.ProduceUntil), Properties: p.Config})
		}
	}
	var cons []client.ConsumerWorkload
	for _, c := range s.Workload.Consumers {
		for range c.Count {
			cons = append(cons, client.ConsumerWorkload{Topics: c.Topics, Assign: c.Group == "", Properties: consumerProps(c)})
		}
	}
	return prods, cons
}
