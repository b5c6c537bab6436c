package scenarios

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/checker"
)

// Limits of one run. A scenario beyond them is refused when it is parsed,
// naming the field, the value and the limit: a run that asks for more
// would take hours or run out of memory instead of answering.
const (
	// MaxBrokers and MaxControllers bound the cluster.
	MaxBrokers     = 64
	MaxControllers = 9
	// MaxZooKeepers bounds a ZooKeeper ensemble.
	MaxZooKeepers = 7
	// MaxClients bounds the producers and consumers of a run, together.
	MaxClients = 1000
	// MaxTopicPartitions bounds one topic's partitions: its CreateTopics
	// must fit one batch of the metadata log (10,000 records).
	MaxTopicPartitions = 5000
	// MaxPartitions bounds the partitions of a run, __consumer_offsets
	// included when a consumer group uses it.
	MaxPartitions = 10000
	// MaxRecordsPerSecond bounds the records every producer of a run
	// sends in a second, together.
	MaxRecordsPerSecond = 20000
	// MaxDuration bounds a run's simulated time.
	MaxDuration = time.Hour
)

// Default values for what a scenario leaves out.
const (
	DefaultBrokers     = 3
	DefaultControllers = 1
	DefaultZooKeepers  = 3
	DefaultDuration    = 60 * time.Second
)

func whole(n int) string { return strconv.Itoa(n) }

// fields are the scenario's bounded values: their types, ranges and
// defaults, as the property table gives Kafka's. Compile checks every value
// against its entry; the README's limits table lists them.
var fields = []props.Prop{
	{Name: "duration", Type: props.Duration, Range: props.Between(float64(time.Millisecond), float64(MaxDuration)),
		Default: DefaultDuration.String(), Doc: "the simulated time the run lasts, before the final phase"},
	{Name: "cluster.brokers", Type: props.Int, Range: props.Between(1, MaxBrokers), Default: whole(DefaultBrokers),
		Doc: "the brokers, b1..bN (node ids 1..N)"},
	{Name: "cluster.controllers", Type: props.Int, Range: props.Between(1, MaxControllers), Default: whole(DefaultControllers),
		Doc: "the KRaft controllers, c1..cM (usually 1, 3 or 5); 0 in ZooKeeper mode"},
	{Name: "cluster.zookeepers", Type: props.Int, Range: props.Between(1, MaxZooKeepers), Default: whole(DefaultZooKeepers),
		Doc: "in ZooKeeper mode (cluster.metadata \"zookeeper\"), the ensemble's servers, z1..zN (usually 1, 3 or 5)"},
	{Name: "cluster.os_writeback", Type: props.Duration, Range: props.Between(0, float64(MaxDuration)),
		Doc: "how long dirty page-cache data waits before the OS writes it back (Linux: 30s); unset or 0: only fsync makes data durable"},
	{Name: "cluster.topics[].partitions", Type: props.Int, Range: props.Between(1, MaxTopicPartitions), Default: "1",
		Doc: "a topic's partitions"},
	{Name: "cluster.topics[].replication_factor", Type: props.Int, Range: props.Between(1, MaxBrokers), Default: "min(3, brokers)",
		Doc: "a topic's replicas per partition, at most the brokers"},
	{Name: "cluster.network.latency", Type: props.Duration, Range: props.Between(0, float64(time.Minute)), Default: "500µs",
		Doc: "one-way delay of every message"},
	{Name: "cluster.network.jitter", Type: props.Duration, Range: props.Between(0, float64(time.Minute)), Default: "100µs",
		Doc: "the most a message's delay varies, drawn from the seed"},
	{Name: "cluster.network.detect_timeout", Type: props.Duration, Range: props.Between(float64(time.Millisecond), float64(time.Hour)), Default: "10s",
		Doc: "how long a sender takes to learn that its connection broke"},
	{Name: "cluster.network.reorder_delay", Type: props.Duration, Range: props.Between(0, float64(time.Minute)), Default: "0s",
		Doc: "the extra delay of a reordered message"},
	{Name: "cluster.network.loss", Type: props.Double, Range: props.Between(0, 1), Default: "0",
		Doc: "the probability that a message is lost (its connection breaks)"},
	{Name: "cluster.network.duplicate", Type: props.Double, Range: props.Between(0, 1), Default: "0",
		Doc: "the probability that a message is delivered twice"},
	{Name: "cluster.network.reorder", Type: props.Double, Range: props.Between(0, 1), Default: "0",
		Doc: "the probability that a message is held back by reorder_delay"},
	{Name: "workload.producers[].count", Type: props.Int, Range: props.Between(1, MaxClients),
		Doc: "producers of the group, each its own client node"},
	{Name: "workload.producers[].rate", Type: props.Double, Range: props.Between(0.001, MaxRecordsPerSecond),
		Doc: "records per second per producer"},
	{Name: "workload.producers[].keys", Type: props.Int, Range: props.Between(0, 1_000_000), Default: "0",
		Doc: "distinct keys the records cycle through; 0: no key"},
	{Name: "workload.consumers[].count", Type: props.Int, Range: props.Between(1, MaxClients),
		Doc: "consumers of the group, each its own client node"},
	{Name: "workload.produce_until", Type: props.Duration, Range: props.Between(0, float64(MaxDuration)), Default: "80% of duration",
		Doc: "when the producers stop, so that consumers read what was written"},
	{Name: "checks.linearizability_budget", Type: props.Int, Range: props.Between(0, 1e12), Default: strconv.FormatInt(checker.DefaultBudget, 10),
		Doc: "the linearizability check's work budget per partition, counted in steps, never in time (unset or 0: the default); a partition that needs more is unchecked, never ok"},
	{Name: "checks.ww_deps", Type: props.Bool, Default: "false",
		Doc: "the transaction cycle check also draws write-write dependencies (Jepsen's :ww-deps), and finds G0: Kafka orders each partition on its own, so a workload must rule such cycles out for them to be bugs"},
	{Name: "checks.rw_deps", Type: props.Bool, Default: "false",
		Doc: "the transaction cycle check also draws read-write anti-dependencies, and finds G-single and G2: Kafka's transactions isolate writes, not reads, so a workload must rule such cycles out for them to be bugs"},
	{Name: "clients", Type: props.Int, Range: props.Between(0, MaxClients),
		Doc: "limit: producers and consumers of a run, together"},
	{Name: "partitions", Type: props.Int, Range: props.Between(0, MaxPartitions),
		Doc: "limit: partitions of a run, __consumer_offsets included when a group uses it"},
	{Name: "records per second", Type: props.Double, Range: props.Between(0, MaxRecordsPerSecond),
		Doc: "limit: records every producer sends per second, together"},
}

// Fields returns the scenario's bounded values, in the order of the format.
func Fields() []props.Prop { return append([]props.Prop(nil), fields...) }

func field(name string) *props.Prop {
	for i := range fields {
		if fields[i].Name == name {
			return &fields[i]
		}
	}
	panic("scenarios: no bounds for " + name)
}

// problems collects a scenario's problems, each naming its field.
type problems struct{ errs []error }

func (c *problems) bad(field, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// num checks a number against its field's bounds; at names the value
// (such as "cluster.topics[2].partitions"), name its entry.
func (c *problems) num(name, at string, x float64) bool {
	p := field(name)
	if err := p.Check(at, x); err != nil {
		c.bad(at, "%s is out of range: give %s", err.(*props.Error).Value, p.Accepted())
		return false
	}
	return true
}

// dur checks a duration.
func (c *problems) dur(name, at string, d time.Duration) bool {
	return c.num(name, at, float64(d))
}

// total checks a run's total against a limit.
func (c *problems) total(name, what string, x float64) {
	p := field(name)
	if _, max := p.Bounds(); x > max {
		c.bad(name, "%s is %s, above the limit of %s per run", what, strconv.FormatFloat(x, 'f', -1, 64), strconv.FormatFloat(max, 'f', -1, 64))
	}
}
