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
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/internal/strictjson"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// A Scenario is one run described as data. Its JSON form is the scenario
// file format; every field is documented on its type, unknown fields are
// errors, and omitted fields take the defaults Defaults gives. Optional
// values whose zero means something (a count, a latency of 0s) are
// pointers: nil, omitted or JSON null, is unset; an explicit 0 is 0, and
// refused where 0 is out of range (Fields lists every bound).
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
	Duration *fault.Duration `json:"duration,omitempty"`
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
	// Metadata is where the cluster keeps its metadata: "kraft" (the
	// default: KRaft controllers c1..cM) or "zookeeper" (Kafka's ZooKeeper
	// mode before 4.0: a ZooKeeper ensemble z1..zN and a controller elected
	// among the brokers; controllers must then be 0 or left out).
	Metadata string `json:"metadata,omitempty"`
	// ZooKeepers is the ZooKeeper ensemble's size in ZooKeeper mode
	// (default 3).
	ZooKeepers  *int `json:"zookeepers,omitempty"`
	Brokers     *int `json:"brokers,omitempty"`
	Controllers *int `json:"controllers,omitempty"`
	// BrokerConfig and ControllerConfig are Kafka properties by name, such
	// as "replica.lag.time.max.ms": "10000" or "min.insync.replicas": "2":
	// properties brokers read, and properties controllers read (the
	// property table, kafkasim config, lists them). A property both read
	// (min.insync.replicas, controller.quorum.*) goes to both.
	BrokerConfig     map[string]string `json:"broker_config,omitempty"`
	ControllerConfig map[string]string `json:"controller_config,omitempty"`
	// Protocol chooses historical protocol variants, to find old bugs.
	Protocol Protocol `json:"protocol,omitempty"`
	Topics   []Topic  `json:"topics"`
	Network  Network  `json:"network"`
	// OSWriteback, when set, is how long the operating system lets dirty
	// page-cache data sit before writing it back on its own (Linux: 30s).
	// Unset, only fsync makes data durable.
	OSWriteback fault.Duration `json:"os_writeback,omitempty"`
}

// Topic is a topic created when the cluster starts.
type Topic struct {
	Name              string            `json:"name"`
	Partitions        *int              `json:"partitions,omitempty"`
	ReplicationFactor *int              `json:"replication_factor,omitempty"`
	Config            map[string]string `json:"config,omitempty"`
}

// Network shapes every link.
type Network struct {
	Latency       *fault.Duration `json:"latency,omitempty"`
	Jitter        *fault.Duration `json:"jitter,omitempty"`
	DetectTimeout *fault.Duration `json:"detect_timeout,omitempty"`
	Loss          float64         `json:"loss,omitempty"`
	Duplicate     float64         `json:"duplicate,omitempty"`
	Reorder       float64         `json:"reorder,omitempty"`
	ReorderDelay  fault.Duration  `json:"reorder_delay,omitempty"`
}

// Workload is what the clients do. Producer nodes are named producer-1..,
// consumer nodes consumer-1.., numbered across all groups.
type Workload struct {
	Producers []Producers `json:"producers,omitempty"`
	Consumers []Consumers `json:"consumers,omitempty"`
	// Transactions are transactional producers, named txn-1.. .
	Transactions []Transactions `json:"transactions,omitempty"`
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

// Transactions are Count transactional producers: Jepsen-style
// transactions on Topic (sends and read_committed polls, committed or
// aborted), or, with Input and Group, a consume-transform-produce pipeline
// from Input to Topic with sendOffsetsToTransaction.
type Transactions struct {
	Count int    `json:"count"`
	Topic string `json:"topic"`
	Input string `json:"input,omitempty"`
	Group string `json:"group,omitempty"`
	// Rate is transactions per second per producer (Jepsen-style).
	Rate        float64 `json:"rate,omitempty"`
	MaxSends    int     `json:"max_sends,omitempty"`
	PollChance  float64 `json:"poll_chance,omitempty"`
	AbortChance float64 `json:"abort_chance,omitempty"`
	// Start delays the producers' initTransactions.
	Start fault.Duration `json:"start,omitempty"`
	// Config is producer properties by Kafka name.
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
	// WWDeps adds write-write dependencies to the transaction cycle
	// check (Jepsen's :ww-deps), which then finds G0 (checker.Deps.WW).
	WWDeps bool `json:"ww_deps,omitempty"`
	// RWDeps adds read-write anti-dependencies to the transaction cycle
	// check, which then finds G-single and G2 (checker.Deps.RW): Kafka
	// allows them unless the workload rules them out.
	RWDeps bool `json:"rw_deps,omitempty"`
	// ContinueAfterInvariant records a broken cluster invariant as a
	// finding and lets the run go on, instead of stopping it at the first
	// violation: for scenarios about old bugs, whose point is what the
	// broken invariant leads to.
	ContinueAfterInvariant bool `json:"continue_after_invariant,omitempty"`
}

// Defaults fills in what s leaves out and returns it. It keeps s's own
// values, valid or not: Compile judges them.
func (s Scenario) Defaults() Scenario {
	if s.Duration == nil {
		s.Duration = new(fault.Duration(DefaultDuration))
	}
	c := &s.Cluster
	if c.Brokers == nil {
		c.Brokers = new(DefaultBrokers)
	}
	if c.ZK() {
		if c.Controllers == nil {
			c.Controllers = new(0)
		}
		if c.ZooKeepers == nil {
			c.ZooKeepers = new(DefaultZooKeepers)
		}
	}
	if c.Controllers == nil {
		c.Controllers = new(DefaultControllers)
	}
	c.Topics = slices.Clone(c.Topics)
	for i := range c.Topics {
		t := &c.Topics[i]
		if t.Partitions == nil {
			t.Partitions = new(1)
		}
		if t.ReplicationFactor == nil {
			t.ReplicationFactor = new(min(3, max(*c.Brokers, 1)))
		}
	}
	if s.Workload.ProduceUntil == 0 {
		d := *s.Duration
		if d <= math.MaxInt64/4 {
			s.Workload.ProduceUntil = d * 4 / 5
		} else {
			s.Workload.ProduceUntil = d - d/5 // no overflow; Compile refuses such a duration
		}
	}
	if n := s.Nemesis; n != nil {
		n := *n
		s.Nemesis = &n
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

// val returns an optional value, or its zero when unset.
func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// BrokerNames returns the broker nodes' names, b1..bN.
func (s Scenario) BrokerNames() []string { return names("b", val(s.Cluster.Brokers)) }

// ControllerNames returns the controller nodes' names, c1..cM.
func (s Scenario) ControllerNames() []string { return names("c", val(s.Cluster.Controllers)) }

// ZooKeeperNames returns the ZooKeeper servers' node names, z1..zN (none in
// KRaft mode).
func (s Scenario) ZooKeeperNames() []string {
	if !s.Cluster.ZK() {
		return nil
	}
	return names("z", min(val(s.Cluster.ZooKeepers), MaxZooKeepers))
}

// ZK reports whether the cluster runs in ZooKeeper mode.
func (c Cluster) ZK() bool { return c.Metadata == string(cluster.ZooKeeper) }

// ProducerNames returns the producer nodes' names, producer-1.. .
func (s Scenario) ProducerNames() []string {
	n := 0
	for _, p := range s.Workload.Producers {
		n += max(p.Count, 0)
	}
	return names("producer-", n)
}

// TxnNames returns the transactional producers' names, txn-1.. .
func (s Scenario) TxnNames() []string {
	n := 0
	for _, t := range s.Workload.Transactions {
		n += max(t.Count, 0)
	}
	return names("txn-", n)
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
	n = min(max(n, 0), MaxClients) // an invalid count is reported by Compile, not here
	out := make([]string, n)
	for i := range n {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

// FaultNames says which node names and selectors the scenario's faults may
// use.
func (s Scenario) FaultNames() fault.Names {
	cfg := broker.DefaultConfig(1)
	if v, ok := s.Cluster.BrokerConfig["offsets.topic.num.partitions"]; ok {
		_ = cfg.Set("offsets.topic.num.partitions", v) // an invalid value is reported by Compile
	}
	return s.faultNames(int(cfg.Group.OffsetsTopicPartitions))
}

// faultNames is FaultNames with __consumer_offsets' partition count.
func (s Scenario) faultNames(offsetsPartitions int) fault.Names {
	n := fault.Names{
		Brokers:     s.BrokerNames(),
		Controllers: s.ControllerNames(),
		ZooKeepers:  s.ZooKeeperNames(),
		Clients:     slices.Concat(s.ProducerNames(), s.ConsumerNames(), s.TxnNames()),
	}
	n.Topics = map[string]int{}
	for _, t := range s.Cluster.Topics {
		n.Topics[t.Name] = val(t.Partitions)
		for p := range min(val(t.Partitions), MaxTopicPartitions) {
			n.Partitions = append(n.Partitions, fmt.Sprintf("%s-%d", t.Name, p))
		}
	}
	// With a consumer group, faults may target its coordinator: the
	// leader of a partition of __consumer_offsets.
	if slices.ContainsFunc(s.Workload.Consumers, func(c Consumers) bool { return c.Group != "" }) {
		for p := range min(offsetsPartitions, MaxPartitions) {
			n.Partitions = append(n.Partitions, fmt.Sprintf("__consumer_offsets-%d", p))
		}
	}
	// With transactions, faults may target a transaction coordinator:
	// the leader of a partition of __transaction_state.
	if len(s.Workload.Transactions) > 0 {
		parts := 50
		if v, err := strconv.Atoi(s.Cluster.BrokerConfig["transaction.state.log.num.partitions"]); err == nil && v > 0 {
			parts = v
		}
		for p := range min(parts, MaxPartitions) {
			n.Partitions = append(n.Partitions, fmt.Sprintf("__transaction_state-%d", p))
		}
	}
	return n
}

// Parse reads a scenario from JSON, rejecting unknown fields, fills in
// defaults and validates it. name (a file name) starts every error.
func Parse(name string, data []byte) (Scenario, error) {
	var head struct {
		Format string `json:"format"`
	}
	if json.Unmarshal(data, &head) == nil && head.Format == ReplayFormat {
		return Scenario{}, fmt.Errorf("%s is a replay file, not a scenario file: run it again with `kafkasim replay %s` (a scenario file is the object under its \"scenario\" key)", name, name)
	}
	if err := objectShape(data, "scenario file", scenarioShape); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	var s Scenario
	if err := strictjson.Check(data, &s); err != nil {
		return Scenario{}, fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
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

// scenarioShape is what a scenario file looks like, for the error about a file that is not one.
const scenarioShape = `{"name": "mine", "cluster": {"brokers": 3, "topics": [{"name": "orders", "partitions": 3}]}, ` +
	`"workload": {...}, "faults": [...]} (kafkasim scenarios show standard prints a whole one)`

// objectShape refuses input that is empty or not one JSON object, saying what the file should look like.
func objectShape(data []byte, what, shape string) error {
	t := bytes.TrimSpace(data)
	if len(t) == 0 {
		return fmt.Errorf("the %s is empty; a %s is one JSON object: %s", what, what, shape)
	}
	if t[0] != '{' {
		got := "a JSON value"
		switch c := t[0]; {
		case c == '[':
			got = "a JSON array"
		case c == '"':
			got = "a JSON string"
		case bytes.HasPrefix(t, []byte("true")) || bytes.HasPrefix(t, []byte("false")):
			got = "a JSON boolean"
		case bytes.HasPrefix(t, []byte("null")):
			got = "JSON null"
		case c == '-' || (c >= '0' && c <= '9'):
			got = "a JSON number"
		default:
			got = fmt.Sprintf("%q, which is not JSON", strictjson.Clip(string(t[:min(len(t), 20)])))
		}
		return fmt.Errorf("a %s is one JSON object ({...}), but this one starts with %s; a %s looks like %s", what, got, what, shape)
	}
	return nil
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

// Validate reports every problem with a scenario, each naming its field:
// it is Compile with the plan discarded, so that what validates is what
// runs.
func (s Scenario) Validate() error {
	_, err := Compile(s)
	return err
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
