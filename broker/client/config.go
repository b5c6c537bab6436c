package client

import (
	"errors"
	"math"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/model"
)

func badConfig(name string, v any, format string, args ...any) error {
	return props.Invalid(name, v, format, args...)
}

// Partitioner names accepted by partitioner.class.
const (
	// BuiltInPartitioner is the default (an empty partitioner.class): keys
	// by murmur2, keyless records by the uniform sticky partitioner
	// (KIP-794).
	BuiltInPartitioner = ""
	// RoundRobinPartitioner is Kafka's RoundRobinPartitioner: every record,
	// keyed or not, to the next available partition in turn.
	RoundRobinPartitioner = "org.apache.kafka.clients.producer.RoundRobinPartitioner"
)

// ProducerConfig configures a producer, with Kafka's names and defaults
// (DefaultProducerConfig, Kafka 4.x).
type ProducerConfig struct {
	ClientID string // client.id
	// Acks is acks: all (-1, the default), 1 or 0.
	Acks model.Acks
	// EnableIdempotence is enable.idempotence (true).
	EnableIdempotence bool
	// BatchSize is batch.size (16384 bytes).
	BatchSize int
	// Linger is linger.ms (5 ms since Kafka 4.0, KIP-1030; 0 before).
	Linger time.Duration
	// MaxInFlight is max.in.flight.requests.per.connection (5).
	MaxInFlight int
	// Retries is retries (2147483647).
	Retries int
	// RetryBackoff and RetryBackoffMax are retry.backoff.ms (100 ms) and
	// retry.backoff.max.ms (1000 ms): the backoff doubles per attempt up
	// to the maximum, with ±20% jitter (KIP-580).
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// RequestTimeout is request.timeout.ms (30 s).
	RequestTimeout time.Duration
	// DeliveryTimeout is delivery.timeout.ms (120 s): the bound on the time
	// from send to outcome.
	DeliveryTimeout time.Duration
	// MaxBlock is max.block.ms (60 s): how long send waits for metadata.
	MaxBlock time.Duration
	// MetadataMaxAge is metadata.max.age.ms (5 min).
	MetadataMaxAge time.Duration
	// MaxRequestSize is max.request.size (1048576 bytes).
	MaxRequestSize int
	// Partitioner is partitioner.class: BuiltInPartitioner or
	// RoundRobinPartitioner.
	Partitioner string
	// PartitionerIgnoreKeys is partitioner.ignore.keys (false).
	PartitionerIgnoreKeys bool
	// AdaptivePartitioning is partitioner.adaptive.partitioning.enable
	// (true): the sticky partitioner favours partitions with shorter
	// queues.
	AdaptivePartitioning bool
	// CompressionType is compression.type (none): the codec the producer
	// compresses its batches with (none, gzip, snappy, lz4, zstd).
	CompressionType string
	// TransactionalID is transactional.id (unset): makes the producer
	// transactional.
	TransactionalID string
	// TransactionTimeout is transaction.timeout.ms (60 s).
	TransactionTimeout time.Duration
}

// DefaultProducerConfig returns Kafka's producer defaults.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{
		ClientID: "producer-1", Acks: model.AcksAll, EnableIdempotence: true, BatchSize: 16384, Linger: 5 * time.Millisecond,
		MaxInFlight: 5, Retries: math.MaxInt32, RetryBackoff: 100 * time.Millisecond, RetryBackoffMax: time.Second,
		RequestTimeout: 30 * time.Second, DeliveryTimeout: 120 * time.Second, MaxBlock: 60 * time.Second,
		MetadataMaxAge: 5 * time.Minute, MaxRequestSize: 1 << 20, AdaptivePartitioning: true, CompressionType: "none",
		TransactionTimeout: time.Minute,
	}
}

// ProducerSetters binds the producer properties (props.Producer) to a
// ProducerConfig's fields.
var ProducerSetters = props.Bind(props.Producer,
	props.Text("client.id", func(c *ProducerConfig) *string { return &c.ClientID }),
	props.Func("acks", func(c *ProducerConfig, v props.Value) { c.Acks, _ = model.ParseAcks(v.String()) }),
	props.Flag("enable.idempotence", func(c *ProducerConfig) *bool { return &c.EnableIdempotence }),
	props.Num("batch.size", func(c *ProducerConfig) *int { return &c.BatchSize }),
	props.Dur("linger.ms", func(c *ProducerConfig) *time.Duration { return &c.Linger }),
	props.Num("max.in.flight.requests.per.connection", func(c *ProducerConfig) *int { return &c.MaxInFlight }),
	props.Num("retries", func(c *ProducerConfig) *int { return &c.Retries }),
	props.Dur("retry.backoff.ms", func(c *ProducerConfig) *time.Duration { return &c.RetryBackoff }),
	props.Dur("retry.backoff.max.ms", func(c *ProducerConfig) *time.Duration { return &c.RetryBackoffMax }),
	props.Dur("request.timeout.ms", func(c *ProducerConfig) *time.Duration { return &c.RequestTimeout }),
	props.Dur("delivery.timeout.ms", func(c *ProducerConfig) *time.Duration { return &c.DeliveryTimeout }),
	props.Dur("max.block.ms", func(c *ProducerConfig) *time.Duration { return &c.MaxBlock }),
	props.Dur("metadata.max.age.ms", func(c *ProducerConfig) *time.Duration { return &c.MetadataMaxAge }),
	props.Num("max.request.size", func(c *ProducerConfig) *int { return &c.MaxRequestSize }),
	props.Text("partitioner.class", func(c *ProducerConfig) *string { return &c.Partitioner }),
	props.Flag("partitioner.ignore.keys", func(c *ProducerConfig) *bool { return &c.PartitionerIgnoreKeys }),
	props.Flag("partitioner.adaptive.partitioning.enable", func(c *ProducerConfig) *bool { return &c.AdaptivePartitioning }),
	props.Text("compression.type", func(c *ProducerConfig) *string { return &c.CompressionType }),
	props.Text("transactional.id", func(c *ProducerConfig) *string { return &c.TransactionalID }),
	props.Dur("transaction.timeout.ms", func(c *ProducerConfig) *time.Duration { return &c.TransactionTimeout }),
)

// ParseProducerConfig reads producer properties as Kafka's ProducerConfig
// does: defaults for what is not given, ConfigException-style errors for
// invalid values, and Kafka's rules for idempotence: explicitly enabled,
// it requires acks=all, retries > 0 and at most 5 requests in flight; left
// at its default, conflicting settings turn it off.
func ParseProducerConfig(m map[string]string) (ProducerConfig, error) {
	c := DefaultProducerConfig()
	if err := ProducerSetters.Apply(&c, m); err != nil {
		return c, err
	}
	_, idempotence := m["enable.idempotence"]
	if !idempotence && c.TransactionalID == "" && (c.Acks != model.AcksAll || c.Retries == 0 || c.MaxInFlight > 5) {
		c.EnableIdempotence = false
	}
	if _, set := m["delivery.timeout.ms"]; !set && c.DeliveryTimeout < c.Linger+c.RequestTimeout {
		// Kafka overrides a default delivery timeout that is too short.
		c.DeliveryTimeout = c.Linger + c.RequestTimeout
	}
	return c, c.Validate()
}

// Validate checks the settings together, as Kafka's producer does at
// construction.
func (c ProducerConfig) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, badConfig("client.id", `""`, "a producer in a simulation needs a client id to name it in the history"))
	}
	if c.Acks != model.AcksAll && c.Acks != model.AcksLeader && c.Acks != model.AcksNone {
		errs = append(errs, badConfig("acks", c.Acks, "expected one of all, -1, 0, 1"))
	}
	errs = append(errs, ProducerSetters.Validate(&c))
	if c.TransactionalID != "" && !c.EnableIdempotence {
		errs = append(errs, badConfig("enable.idempotence", false, "Cannot set a transactional.id without also enabling idempotence."))
	}
	if c.EnableIdempotence {
		if c.MaxInFlight > 5 {
			errs = append(errs, badConfig("max.in.flight.requests.per.connection", c.MaxInFlight, "Must set max.in.flight.requests.per.connection to at most 5 when using the idempotent producer."))
		}
		if c.Retries == 0 {
			errs = append(errs, badConfig("retries", c.Retries, "Must set retries to non-zero when using the idempotent producer."))
		}
		if c.Acks != model.AcksAll {
			errs = append(errs, badConfig("acks", c.Acks, "Must set acks to all in order to use the idempotent producer. Otherwise we cannot guarantee idempotence."))
		}
	}
	if c.DeliveryTimeout < c.Linger+c.RequestTimeout {
		errs = append(errs, badConfig("delivery.timeout.ms", c.DeliveryTimeout.Milliseconds(), "should be equal to or larger than linger.ms + request.timeout.ms (%d)", (c.Linger+c.RequestTimeout).Milliseconds()))
	}
	return errors.Join(errs...)
}

// Offset reset policies of auto.offset.reset.
const (
	ResetEarliest = "earliest"
	ResetLatest   = "latest"
	ResetNone     = "none"
	// ReadUncommitted and ReadCommitted are isolation.level's values.
	ReadUncommitted = "read_uncommitted"
	ReadCommitted   = "read_committed"
)

// ConsumerConfig configures a consumer, with Kafka's names and defaults
// (DefaultConsumerConfig).
type ConsumerConfig struct {
	ClientID string // client.id
	// GroupID is group.id; empty for a consumer outside any group (manual
	// assignment only).
	GroupID string
	// GroupInstanceID is group.instance.id: set, the member is static
	// (KIP-345).
	GroupInstanceID string
	// AutoOffsetReset is auto.offset.reset: latest (default), earliest or none.
	AutoOffsetReset string
	// EnableAutoCommit is enable.auto.commit (true with a group).
	EnableAutoCommit bool
	// AutoCommitInterval is auto.commit.interval.ms (5 s).
	AutoCommitInterval time.Duration
	// SessionTimeout is session.timeout.ms (45 s since Kafka 3.0, KIP-735).
	SessionTimeout time.Duration
	// HeartbeatInterval is heartbeat.interval.ms (3 s).
	HeartbeatInterval time.Duration
	// MaxPollInterval is max.poll.interval.ms (5 min): also the rebalance
	// timeout the consumer gives the coordinator.
	MaxPollInterval time.Duration
	// MaxPollRecords is max.poll.records (500).
	MaxPollRecords int
	// FetchMinBytes, FetchMaxBytes, MaxPartitionFetchBytes and FetchMaxWait
	// are fetch.min.bytes (1), fetch.max.bytes (52428800),
	// max.partition.fetch.bytes (1048576) and fetch.max.wait.ms (500 ms).
	FetchMinBytes          int
	FetchMaxBytes          int
	MaxPartitionFetchBytes int
	FetchMaxWait           time.Duration
	// RequestTimeout is request.timeout.ms (30 s).
	RequestTimeout time.Duration
	// DefaultAPITimeout is default.api.timeout.ms (60 s): how long
	// commitSync and the other blocking calls keep retrying.
	DefaultAPITimeout time.Duration
	// RetryBackoff is retry.backoff.ms (100 ms).
	RetryBackoff time.Duration
	// MetadataMaxAge is metadata.max.age.ms (5 min).
	MetadataMaxAge time.Duration
	// Assignors is partition.assignment.strategy, in order of preference
	// (range, cooperative-sticky by default, as Kafka 3.x and 4.x).
	Assignors []string
	// IsolationLevel is isolation.level: read_uncommitted (default) or
	// read_committed.
	IsolationLevel string
	// Protocol holds the consumer's protocol variants (no Kafka property:
	// cluster.Variants sets them); the zero value is current Kafka.
	Protocol ConsumerProtocol
}

// ConsumerProtocol is how consumers of an older Kafka behaved, each field
// a protocol variant that brings back a fixed bug. The zero value is
// current Kafka.
type ConsumerProtocol struct {
	// TrustOwnedPartitions is the cooperative-sticky assignor before
	// Kafka 3.0 (KAFKA-12984): every partition a member claims as owned
	// counts, whatever the member's generation, and each claimant keeps
	// it (group.CooperativeSticky.TrustClaims).
	TrustOwnedPartitions bool
	// KeepPartitionsOnRejoin is the consumer before Kafka 3.0
	// (KAFKA-12983): a member that loses its member id or generation
	// while it rejoins (a JoinGroup, SyncGroup or Heartbeat answered
	// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION or FENCED_INSTANCE_ID) keeps
	// its partitions, because the callback that gives them up as lost ran
	// once, when the rebalance began, and rejoins claiming them as owned.
	KeepPartitionsOnRejoin bool
}

// assignor returns the assignor the group leader runs for a protocol
// name, with the variants that change it.
func (p ConsumerProtocol) assignor(name string) (group.Assignor, error) {
	a, err := group.AssignorByName(name)
	if cs, ok := a.(group.CooperativeSticky); ok && p.TrustOwnedPartitions {
		cs.TrustClaims = true
		a = cs
	}
	return a, err
}

// DefaultConsumerConfig returns Kafka's consumer defaults.
func DefaultConsumerConfig() ConsumerConfig {
	return ConsumerConfig{
		ClientID: "consumer-1", AutoOffsetReset: ResetLatest, EnableAutoCommit: true, AutoCommitInterval: 5 * time.Second,
		SessionTimeout: 45 * time.Second, HeartbeatInterval: 3 * time.Second, MaxPollInterval: 5 * time.Minute,
		MaxPollRecords: 500, FetchMinBytes: 1, FetchMaxBytes: 52428800, MaxPartitionFetchBytes: 1 << 20,
		FetchMaxWait: 500 * time.Millisecond, RequestTimeout: 30 * time.Second, DefaultAPITimeout: 60 * time.Second,
		RetryBackoff: 100 * time.Millisecond, MetadataMaxAge: 5 * time.Minute, Assignors: []string{"range", "cooperative-sticky"},
		IsolationLevel: ReadUncommitted,
	}
}

// ConsumerSetters binds the consumer properties (props.Consumer) to a
// ConsumerConfig's fields.
var ConsumerSetters = props.Bind(props.Consumer,
	props.Text("client.id", func(c *ConsumerConfig) *string { return &c.ClientID }),
	props.Text("group.id", func(c *ConsumerConfig) *string { return &c.GroupID }),
	props.Text("group.instance.id", func(c *ConsumerConfig) *string { return &c.GroupInstanceID }),
	props.Text("auto.offset.reset", func(c *ConsumerConfig) *string { return &c.AutoOffsetReset }),
	props.Flag("enable.auto.commit", func(c *ConsumerConfig) *bool { return &c.EnableAutoCommit }),
	props.Dur("auto.commit.interval.ms", func(c *ConsumerConfig) *time.Duration { return &c.AutoCommitInterval }),
	props.Dur("session.timeout.ms", func(c *ConsumerConfig) *time.Duration { return &c.SessionTimeout }),
	props.Dur("heartbeat.interval.ms", func(c *ConsumerConfig) *time.Duration { return &c.HeartbeatInterval }),
	props.Dur("max.poll.interval.ms", func(c *ConsumerConfig) *time.Duration { return &c.MaxPollInterval }),
	props.Num("max.poll.records", func(c *ConsumerConfig) *int { return &c.MaxPollRecords }),
	props.Num("fetch.min.bytes", func(c *ConsumerConfig) *int { return &c.FetchMinBytes }),
	props.Num("fetch.max.bytes", func(c *ConsumerConfig) *int { return &c.FetchMaxBytes }),
	props.Num("max.partition.fetch.bytes", func(c *ConsumerConfig) *int { return &c.MaxPartitionFetchBytes }),
	props.Dur("fetch.max.wait.ms", func(c *ConsumerConfig) *time.Duration { return &c.FetchMaxWait }),
	props.Dur("request.timeout.ms", func(c *ConsumerConfig) *time.Duration { return &c.RequestTimeout }),
	props.Dur("default.api.timeout.ms", func(c *ConsumerConfig) *time.Duration { return &c.DefaultAPITimeout }),
	props.Dur("retry.backoff.ms", func(c *ConsumerConfig) *time.Duration { return &c.RetryBackoff }),
	props.Dur("metadata.max.age.ms", func(c *ConsumerConfig) *time.Duration { return &c.MetadataMaxAge }),
	props.Items("partition.assignment.strategy", func(c *ConsumerConfig) *[]string { return &c.Assignors }),
	props.Text("isolation.level", func(c *ConsumerConfig) *string { return &c.IsolationLevel }),
)

// ParseConsumerConfig reads consumer properties as Kafka's ConsumerConfig
// does, including its rule that without a group.id auto-commit is off (and
// may not be turned on).
func ParseConsumerConfig(m map[string]string) (ConsumerConfig, error) {
	c := DefaultConsumerConfig()
	if err := ConsumerSetters.Apply(&c, m); err != nil {
		return c, err
	}
	if c.GroupID == "" {
		if _, set := m["enable.auto.commit"]; set && c.EnableAutoCommit {
			return c, badConfig("enable.auto.commit", true, "enable.auto.commit cannot be set to true when the default group id (null) is used")
		}
		c.EnableAutoCommit = false
	}
	return c, c.Validate()
}

// Validate checks the settings together.
func (c ConsumerConfig) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, badConfig("client.id", `""`, "a consumer in a simulation needs a client id to name it in the history"))
	}
	if len(c.Assignors) == 0 {
		errs = append(errs, badConfig("partition.assignment.strategy", `""`, "give at least one assignor: range, roundrobin, sticky, cooperative-sticky"))
	}
	for _, a := range c.Assignors {
		if _, err := group.AssignorByName(a); err != nil {
			errs = append(errs, badConfig("partition.assignment.strategy", a, "%v", err))
		}
	}
	if c.GroupID != "" && c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, badConfig("heartbeat.interval.ms", c.HeartbeatInterval.Milliseconds(), "Heartbeat must be set lower than the session timeout (session.timeout.ms = %d)", c.SessionTimeout.Milliseconds()))
	}
	if c.GroupID == "" && c.EnableAutoCommit {
		errs = append(errs, badConfig("enable.auto.commit", true, "enable.auto.commit cannot be set to true when the default group id (null) is used"))
	}
	if c.GroupInstanceID != "" && c.GroupID == "" {
		errs = append(errs, badConfig("group.instance.id", c.GroupInstanceID, "a static member needs a group.id"))
	}
	errs = append(errs, ConsumerSetters.Validate(&c))
	return errors.Join(errs...)
}
