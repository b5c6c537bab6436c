// Package scenarios turns kafkasim's parts into the harness users come
// for: a scenario describes a cluster, a workload and faults as plain data;
// Run builds the simulation, drives it, checks everything and returns what
// happened; replays, shrinking, sweeps over seeds and the comparison of
// configurations on one schedule build on it.
package scenarios

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// A Scenario is one run described as data. Its JSON form is the scenario
// file format; every field is documented on its type, unknown fields are
// errors, and omitted fields take the defaults Defaults gives.
type Scenario struct {
	// Name names the scenario (letters, digits, '-', '_').
	Name string `json:"name"`
	// Description is one line: what the scenario does.
	Description string `json:"description"`
	// Shows is what the scenario is expected to show, in one line.
	Shows string `json:"shows,omitempty"`
	// Expect is the outcome the scenario is expected to have; a run that
	// differs fails its expectation (the run itself still succeeds).
	Expect Expect `json:"expect"`
	// Seed decides every random choice of the run.
	Seed uint64 `json:"seed"`
	// Duration is the simulated time the run lasts.
	Duration fault.Duration `json:"duration"`
	// Cluster is the Kafka cluster.
	Cluster Cluster `json:"cluster"`
	// Workload is what the clients do.
	Workload Workload `json:"workload"`
	// Faults is the fault schedule.
	Faults fault.Schedule `json:"faults,omitempty"`
	// Nemesis, when set, adds random faults drawn from the seed.
	Nemesis *Nemesis `json:"nemesis,omitempty"`
	// Checks says which checkers judge the run.
	Checks Checks `json:"checks"`
	// Buggify enables BUGGIFY points by name (BuggifyPoints): rare but
	// legal paths the code may take. Hunts draw them; plain runs have none.
	Buggify []string `json:"buggify,omitempty"`
}

// Expect is a scenario's expected outcome.
type Expect struct {
	// Findings lists the names of the findings the run must produce (for
	// example "lost-write"); empty means the run must produce no finding
	// of the data-loss or invariant classes.
	Findings []string `json:"findings,omitempty"`
	// Absent lists findings the run must not produce, of any class (for
	// example "replica-divergence" for a scenario whose point is that the
	// replicas converge although data is lost).
	Absent []string `json:"absent,omitempty"`
	// Marks gives coverage marks the run must reach at least so many
	// times (for example "controller.kip903.rejected": 1), so that a
	// scenario about a code path fails when its faults stop reaching it.
	// The HTML report's coverage table lists a run's marks.
	Marks map[string]uint64 `json:"marks,omitempty"`
}

// Cluster describes the Kafka cluster. Broker nodes are named b1..bN (node
// ids 1..N), controller nodes c1..cM.
type Cluster struct {
	Brokers     int `json:"brokers"`
	Controllers int `json:"controllers"`
	// BrokerConfig and ControllerConfig are Kafka properties by name, such
	// as "replica.lag.time.max.ms": "10000" or "min.insync.replicas": "2".
	BrokerConfig     map[string]string `json:"broker_config,omitempty"`
	ControllerConfig map[string]string `json:"controller_config,omitempty"`
	// Protocol chooses historical protocol variants, to find old bugs.
	Protocol Protocol `json:"protocol"`
	Topics   []Topic  `json:"topics"`
	Network  Network  `json:"network"`
	// OSWriteback, when set, is how long the operating system lets dirty
	// page-cache data sit before writing it back on its own (Linux: 30s).
	// Unset, only fsync makes data durable.
	OSWriteback fault.Duration `json:"os_writeback,omitempty"`
}

// Protocol selects protocol variants. The zero value is current Kafka.
type Protocol struct {
	// Truncation is how a follower finds where its log diverged: "fetch"
	// (Kafka 2.7+, the default), "epochs" (2.0–2.6, KIP-279),
	// "legacy-epochs" (0.11–1.x, KIP-101 before KIP-279) or
	// "high-watermark" (before 0.11).
	Truncation string `json:"truncation,omitempty"`
	// EligibleLeaderReplicas turns on KIP-966's ELR.
	EligibleLeaderReplicas bool `json:"eligible_leader_replicas,omitempty"`
	// NoBrokerEpochCheck turns off KIP-903's check of broker epochs in
	// AlterPartition, to find KAFKA-14139 again.
	NoBrokerEpochCheck bool `json:"no_broker_epoch_check,omitempty"`
	// LegacyHighWatermark lets the high-water mark advance while the ISR
	// is below min.insync.replicas, as before Kafka 3.7.
	LegacyHighWatermark bool `json:"legacy_high_watermark,omitempty"`
	// LegacyProducerChecks validates idempotent producers as Kafka
	// 0.11–1.1 did.
	LegacyProducerChecks bool `json:"legacy_producer_checks,omitempty"`
	// NoPreVote turns off KIP-996's pre-vote in the metadata quorum.
	NoPreVote bool `json:"no_pre_vote,omitempty"`
}

// Topic is a topic created when the cluster starts.
type Topic struct {
	Name              string            `json:"name"`
	Partitions        int               `json:"partitions"`
	ReplicationFactor int               `json:"replication_factor"`
	Config            map[string]string `json:"config,omitempty"`
}

// Network shapes every link.
type Network struct {
	Latency       fault.Duration `json:"latency,omitempty"`
	Jitter        fault.Duration `json:"jitter,omitempty"`
	DetectTimeout fault.Duration `json:"detect_timeout,omitempty"`
	Loss          float64        `json:"loss,omitempty"`
	Duplicate     float64        `json:"duplicate,omitempty"`
	Reorder       float64        `json:"reorder,omitempty"`
	ReorderDelay  fault.Duration `json:"reorder_delay,omitempty"`
}

// Workload is what the clients do. Producer nodes are named producer-1..,
// consumer nodes consumer-1.., numbered across all groups.
type Workload struct {
	Producers []Producers `json:"producers,omitempty"`
	Consumers []Consumers `json:"consumers,omitempty"`
	// ProduceUntil stops the producers, so that consumers can read what
	// was written before the run ends. Unset: at 80% of the duration.
	ProduceUntil fault.Duration `json:"produce_until,omitempty"`
}

// Producers are Count producers writing to one topic.
type Producers struct {
	Count int    `json:"count"`
	Topic string `json:"topic"`
	// Rate is records per second per producer.
	Rate float64 `json:"rate"`
	// Keys is how many distinct keys records cycle through; 0 sends
	// records without a key.
	Keys int `json:"keys,omitempty"`
	// Config is producer properties by Kafka name ("acks": "1", ...).
	Config map[string]string `json:"config,omitempty"`
}

// Consumers are Count consumers reading topics, in one group or, with no
// group, each assigned every partition of the topics manually.
type Consumers struct {
	Count  int               `json:"count"`
	Group  string            `json:"group,omitempty"`
	Topics []string          `json:"topics"`
	Config map[string]string `json:"config,omitempty"`
}

// Nemesis draws random faults from the seed; see fault.Nemesis for each
// knob's meaning.
type Nemesis struct {
	Kinds     []fault.Kind   `json:"kinds"`
	Targets   []string       `json:"targets,omitempty"`
	Start     fault.Duration `json:"start,omitempty"`
	End       fault.Duration `json:"end,omitempty"`
	Interval  fault.Duration `json:"interval"`
	Length    fault.Duration `json:"length"`
	MaxFaulty int            `json:"max_faulty,omitempty"`
	Tear      bool           `json:"tear,omitempty"`
	MaxSkew   fault.Duration `json:"max_skew,omitempty"`
	MaxDrift  int64          `json:"max_drift_ppm,omitempty"`
}

// Checks says which checkers judge a run.
type Checks struct {
	// NoLinearizability skips porcupine (the anomaly checkers still run).
	NoLinearizability bool `json:"no_linearizability,omitempty"`
	// LinearizabilityBudget bounds the linearizability check, in steps
	// per partition (work, not time); unset: checker.DefaultBudget.
	LinearizabilityBudget int64 `json:"linearizability_budget,omitempty"`
	// ContinueAfterInvariant records a broken cluster invariant as a
	// finding and lets the run go on, instead of stopping it at the first
	// violation: for scenarios about old bugs, whose point is what the
	// broken invariant leads to.
	ContinueAfterInvariant bool `json:"continue_after_invariant,omitempty"`
}

// Default values for what a scenario leaves out.
const (
	DefaultBrokers     = 3
	DefaultControllers = 1
	DefaultDuration    = 60 * time.Second
)

// Defaults fills in what s leaves out and returns it.
func (s Scenario) Defaults() Scenario {
	if s.Duration == 0 {
		s.Duration = fault.Duration(DefaultDuration)
	}
	if s.Cluster.Brokers == 0 {
		s.Cluster.Brokers = DefaultBrokers
	}
	if s.Cluster.Controllers == 0 {
		s.Cluster.Controllers = DefaultControllers
	}
	for i := range s.Cluster.Topics {
		t := &s.Cluster.Topics[i]
		if t.Partitions == 0 {
			t.Partitions = 1
		}
		if t.ReplicationFactor == 0 {
			t.ReplicationFactor = min(3, s.Cluster.Brokers)
		}
	}
	if s.Workload.ProduceUntil == 0 {
		s.Workload.ProduceUntil = s.Duration * 4 / 5
	}
	if n := s.Nemesis; n != nil {
		if n.End == 0 {
			n.End = s.Workload.ProduceUntil
		}
		if n.MaxFaulty == 0 {
			n.MaxFaulty = 1
		}
		if len(n.Targets) == 0 {
			n.Targets = s.BrokerNames()
		}
	}
	return s
}

// BrokerNames returns the broker nodes' names, b1..bN.
func (s Scenario) BrokerNames() []string { return names("b", s.Cluster.Brokers) }

// ControllerNames returns the controller nodes' names, c1..cM.
func (s Scenario) ControllerNames() []string { return names("c", s.Cluster.Controllers) }

// ProducerNames returns the producer nodes' names, producer-1.. .
func (s Scenario) ProducerNames() []string {
	n := 0
	for _, p := range s.Workload.Producers {
		n += max(p.Count, 0)
	}
	return names("producer-", n)
}

// ConsumerNames returns the consumer nodes' names, consumer-1.. .
func (s Scenario) ConsumerNames() []string {
	n := 0
	for _, c := range s.Workload.Consumers {
		n += max(c.Count, 0)
	}
	return names("consumer-", n)
}

func names(prefix string, n int) []string {
	n = max(n, 0) // an invalid count is reported by Validate, not here
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

// FaultNames says which node names and selectors the scenario's faults may
// use.
func (s Scenario) FaultNames() fault.Names {
	n := fault.Names{
		Brokers:     s.BrokerNames(),
		Controllers: s.ControllerNames(),
		Clients:     slices.Concat(s.ProducerNames(), s.ConsumerNames()),
	}
	for _, t := range s.Cluster.Topics {
		for p := range t.Partitions {
			n.Partitions = append(n.Partitions, fmt.Sprintf("%s-%d", t.Name, p))
		}
	}
	// With a consumer group, faults may target its coordinator: the
	// leader of a partition of __consumer_offsets.
	if slices.ContainsFunc(s.Workload.Consumers, func(c Consumers) bool { return c.Group != "" }) {
		parts := 50 // offsets.topic.num.partitions
		if v, err := strconv.Atoi(s.Cluster.BrokerConfig["offsets.topic.num.partitions"]); err == nil && v > 0 {
			parts = v
		}
		for p := range parts {
			n.Partitions = append(n.Partitions, fmt.Sprintf("__consumer_offsets-%d", p))
		}
	}
	return n
}

// Parse reads a scenario from JSON, rejecting unknown fields, fills in
// defaults and validates it. name (a file name) starts every error.
func Parse(name string, data []byte) (Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, jsonError(data, err))
	}
	if dec.More() {
		return Scenario{}, fmt.Errorf("%s: unexpected data after the scenario's closing brace", name)
	}
	s = s.Defaults()
	if err := s.Validate(); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// jsonError adds the line and column to a JSON error, and the field path
// to a type error.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	off := int64(-1)
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
		err = fmt.Errorf("field %s: want a %s, got a JSON %s", typ.Field, typ.Type, typ.Value)
	}
	if off < 0 {
		return err
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Validate reports every problem with a scenario (after Defaults), each
// naming its field: a run starts only from a valid scenario.
func (s Scenario) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if s.Name == "" {
		bad("name", "is empty: give the scenario a name such as my-scenario")
	}
	for _, r := range s.Name {
		if !(r == '-' || r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')) {
			bad("name", "%q has %q: names are letters, digits, '-' and '_'", s.Name, r)
			break
		}
	}
	if s.Duration <= 0 {
		bad("duration", "%v must be positive", time.Duration(s.Duration))
	}
	c := s.Cluster
	if c.Brokers < 1 || c.Brokers > 64 {
		bad("cluster.brokers", "%d is out of range: give 1 to 64", c.Brokers)
	}
	if c.Controllers < 1 || c.Controllers > 9 {
		bad("cluster.controllers", "%d is out of range: give 1 to 9 (a KRaft quorum is usually 1, 3 or 5)", c.Controllers)
	}
	if c.Protocol.Truncation != "" {
		if _, err := broker.ParseTruncationMode(c.Protocol.Truncation); err != nil {
			bad("cluster.protocol.truncation", "%v", err)
		}
	}
	if err := checkBrokerConfig(c.BrokerConfig); err != nil {
		bad("cluster.broker_config", "%v", err)
	}
	if c.OSWriteback < 0 {
		bad("cluster.os_writeback", "%v is negative", time.Duration(c.OSWriteback))
	}
	topics := map[string]bool{}
	for i, t := range c.Topics {
		field := fmt.Sprintf("cluster.topics[%d]", i)
		if t.Name == "" {
			bad(field+".name", "is empty")
		}
		if topics[t.Name] {
			bad(field+".name", "topic %q is defined twice", t.Name)
		}
		topics[t.Name] = true
		if t.Partitions < 1 {
			bad(field+".partitions", "INVALID_PARTITIONS: %d is below 1", t.Partitions)
		}
		if t.ReplicationFactor < 1 || t.ReplicationFactor > c.Brokers {
			bad(field+".replication_factor", "INVALID_REPLICATION_FACTOR: %d must be between 1 and the number of brokers (%d)", t.ReplicationFactor, c.Brokers)
		}
		if err := broker.ValidateTopicConfig(t.ReplicationFactor, t.Config); err != nil {
			bad(field+".config", "INVALID_CONFIG: %v", err)
		}
	}
	if err := networkSpec(c.Network).Validate(); err != nil {
		bad("cluster.network", "%v", err)
	}
	for i, p := range s.Workload.Producers {
		field := fmt.Sprintf("workload.producers[%d]", i)
		if p.Count < 1 {
			bad(field+".count", "%d: give at least 1", p.Count)
		}
		if !topics[p.Topic] {
			bad(field+".topic", "unknown topic %q: the scenario's topics are %s", p.Topic, topicList(topics))
		}
		if !(p.Rate > 0) {
			bad(field+".rate", "%v: give records per second per producer, above 0", p.Rate)
		}
		if p.Keys < 0 {
			bad(field+".keys", "%d is negative: give the number of distinct keys, or 0 for no key", p.Keys)
		}
		if _, err := client.ParseProducerConfig(p.Config); err != nil {
			bad(field+".config", "%v", err)
		}
	}
	for i, g := range s.Workload.Consumers {
		field := fmt.Sprintf("workload.consumers[%d]", i)
		if g.Count < 1 {
			bad(field+".count", "%d: give at least 1", g.Count)
		}
		if len(g.Topics) == 0 {
			bad(field+".topics", "give at least one topic to read")
		}
		for _, t := range g.Topics {
			if !topics[t] {
				bad(field+".topics", "unknown topic %q: the scenario's topics are %s", t, topicList(topics))
			}
		}
		cfg := maps.Clone(g.Config)
		if cfg == nil {
			cfg = map[string]string{}
		}
		if g.Group != "" {
			cfg["group.id"] = g.Group
		} else if _, set := cfg["enable.auto.commit"]; !set {
			cfg["enable.auto.commit"] = "false"
		}
		if _, err := client.ParseConsumerConfig(cfg); err != nil {
			bad(field+".config", "%v", err)
		}
	}
	if s.Workload.ProduceUntil < 0 || s.Workload.ProduceUntil > s.Duration {
		bad("workload.produce_until", "%v is outside the run (0 to %v)", time.Duration(s.Workload.ProduceUntil), time.Duration(s.Duration))
	}
	if err := s.Faults.Validate(s.FaultNames(), time.Duration(s.Duration)); err != nil {
		bad("faults", "%v", err)
	}
	if n := s.Nemesis; n != nil {
		if err := n.knobs(s).Validate(); err != nil {
			bad("nemesis", "%v", err)
		}
		names := s.FaultNames()
		all := slices.Concat(names.Brokers, names.Controllers, names.Clients)
		for _, t := range n.Targets {
			if !slices.Contains(all, t) {
				bad("nemesis.targets", "unknown node %q: known nodes are %s", t, strings.Join(all, ", "))
			}
		}
	}
	for _, list := range []struct {
		field string
		names []string
	}{{"expect.findings", s.Expect.Findings}, {"expect.absent", s.Expect.Absent}} {
		for _, name := range list.names {
			if !checker.KnownFinding(name) {
				bad(list.field, "unknown finding %q: accepted are %s", name, strings.Join(checker.FindingNames, ", "))
			}
			if slices.Contains(s.Expect.Findings, name) && slices.Contains(s.Expect.Absent, name) && list.field == "expect.absent" {
				bad(list.field, "%q is both expected and absent", name)
			}
		}
	}
	for _, mark := range slices.Sorted(maps.Keys(s.Expect.Marks)) {
		if !KnownMark(mark) {
			bad("expect.marks", "%s", unknownMark(mark))
		}
		if s.Expect.Marks[mark] == 0 {
			bad("expect.marks", "%q wants 0 times: give the least number of times the run must reach it, 1 or more", mark)
		}
	}
	if err := checkBuggify(s.Buggify); err != nil {
		bad("buggify", "%v", err)
	}
	if s.Checks.LinearizabilityBudget < 0 {
		bad("checks.linearizability_budget", "%d is negative: give a number of steps, or leave it out for %d", s.Checks.LinearizabilityBudget, checker.DefaultBudget)
	}
	return errors.Join(errs...)
}

func topicList(topics map[string]bool) string {
	if len(topics) == 0 {
		return "none (define them in cluster.topics)"
	}
	return strings.Join(slices.Sorted(maps.Keys(topics)), ", ")
}

// knobs turns the nemesis spec into the generator's knobs.
func (n *Nemesis) knobs(s Scenario) fault.Nemesis {
	return fault.Nemesis{
		Kinds:       n.Kinds,
		Targets:     n.Targets,
		Start:       time.Duration(n.Start),
		End:         time.Duration(n.End),
		Interval:    time.Duration(n.Interval),
		Length:      time.Duration(n.Length),
		MaxFaulty:   n.MaxFaulty,
		Tear:        n.Tear,
		MaxSkew:     time.Duration(n.MaxSkew),
		MaxDriftPPM: n.MaxDrift,
	}
}

// checkBrokerConfig validates broker properties by name.
func checkBrokerConfig(props map[string]string) error {
	cfg := broker.DefaultConfig(1)
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(props)) {
		if err := cfg.Set(k, props[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// networkSpec turns the scenario's network section into the network's
// configuration, starting from its defaults.
func networkSpec(n Network) network.Config {
	cfg := network.DefaultConfig()
	if n.Latency > 0 {
		cfg.Link.Latency = time.Duration(n.Latency)
	}
	if n.Jitter > 0 {
		cfg.Link.Jitter = time.Duration(n.Jitter)
	}
	if n.DetectTimeout != 0 {
		cfg.DetectTimeout = time.Duration(n.DetectTimeout)
	}
	cfg.Link.Loss, cfg.Link.Duplicate, cfg.Link.Reorder = n.Loss, n.Duplicate, n.Reorder
	cfg.Link.ReorderDelay = time.Duration(n.ReorderDelay)
	return cfg
}
