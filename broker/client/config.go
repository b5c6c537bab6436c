package client

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/model"
)

// A ConfigError is an invalid client setting, worded as Kafka's
// ConfigException: the config's name, the value and what is accepted.
type ConfigError struct {
	Name  string
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("Invalid value %s for configuration %s: %s", e.Value, e.Name, e.Msg)
}

func badConfig(name string, v any, format string, args ...any) error {
	return &ConfigError{Name: name, Value: fmt.Sprint(v), Msg: fmt.Sprintf(format, args...)}
}

// props reads Kafka-style properties, remembering which were given.
type props struct {
	m    map[string]string
	errs []error
	used map[string]bool
}

func newProps(m map[string]string) *props { return &props{m: m, used: make(map[string]bool)} }

func (p *props) set(name string) bool { _, ok := p.m[name]; return ok }

func (p *props) str(name string, dst *string) {
	if v, ok := p.m[name]; ok {
		p.used[name] = true
		*dst = strings.TrimSpace(v)
	}
}

func (p *props) long(name string, min, max int64, dst *int64) {
	v, ok := p.m[name]
	if !ok {
		return
	}
	p.used[name] = true
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	switch {
	case err != nil:
		p.errs = append(p.errs, badConfig(name, v, "Expected value to be a number."))
	case n < min:
		p.errs = append(p.errs, badConfig(name, v, "Value must be at least %d", min))
	case n > max:
		p.errs = append(p.errs, badConfig(name, v, "Value must be no more than %d", max))
	default:
		*dst = n
	}
}

func (p *props) int(name string, min, max int64, dst *int) {
	n := int64(*dst)
	p.long(name, min, max, &n)
	*dst = int(n)
}

func (p *props) ms(name string, min int64, dst *time.Duration) {
	n := dst.Milliseconds()
	p.long(name, min, math.MaxInt64/int64(time.Millisecond), &n)
	*dst = time.Duration(n) * time.Millisecond
}

func (p *props) bool(name string, dst *bool) {
	v, ok := p.m[name]
	if !ok {
		return
	}
	p.used[name] = true
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		*dst = true
	case "false":
		*dst = false
	default:
		p.errs = append(p.errs, badConfig(name, v, "Expected value to be either true or false"))
	}
}

func (p *props) oneOf(name string, accepted []string, dst *string) {
	v, ok := p.m[name]
	if !ok {
		return
	}
	p.used[name] = true
	v = strings.TrimSpace(v)
	if !slices.Contains(accepted, v) {
		p.errs = append(p.errs, badConfig(name, v, "String must be one of: %s", strings.Join(accepted, ", ")))
		return
	}
	*dst = v
}

func (p *props) unknown(kind string, known []string) {
	for _, k := range slices.Sorted(maps.Keys(p.m)) {
		if !p.used[k] && !slices.Contains(known, k) {
			p.errs = append(p.errs, fmt.Errorf("unknown %s configuration %q: kafkasim's %s accepts %s", kind, k, kind, strings.Join(known, ", ")))
		}
	}
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
}

// DefaultProducerConfig returns Kafka's producer defaults.
func DefaultProducerConfig() ProducerConfig {
	return ProducerConfig{
		ClientID: "producer-1", Acks: model.AcksAll, EnableIdempotence: true, BatchSize: 16384, Linger: 5 * time.Millisecond,
		MaxInFlight: 5, Retries: math.MaxInt32, RetryBackoff: 100 * time.Millisecond, RetryBackoffMax: time.Second,
		RequestTimeout: 30 * time.Second, DeliveryTimeout: 120 * time.Second, MaxBlock: 60 * time.Second,
		MetadataMaxAge: 5 * time.Minute, MaxRequestSize: 1 << 20, AdaptivePartitioning: true,
	}
}

var producerKeys = []string{"acks", "batch.size", "client.id", "delivery.timeout.ms", "enable.idempotence", "linger.ms",
	"max.block.ms", "max.in.flight.requests.per.connection", "max.request.size", "metadata.max.age.ms",
	"partitioner.adaptive.partitioning.enable", "partitioner.class", "partitioner.ignore.keys", "request.timeout.ms",
	"retries", "retry.backoff.max.ms", "retry.backoff.ms"}

// ParseProducerConfig reads producer properties as Kafka's ProducerConfig
// does: defaults for what is not given, ConfigException-style errors for
// invalid values, and Kafka's rules for idempotence: explicitly enabled,
// it requires acks=all, retries > 0 and at most 5 requests in flight; left
// at its default, conflicting settings turn it off.
func ParseProducerConfig(m map[string]string) (ProducerConfig, error) {
	c := DefaultProducerConfig()
	p := newProps(m)
	p.str("client.id", &c.ClientID)
	if v, ok := m["acks"]; ok {
		p.used["acks"] = true
		a, err := model.ParseAcks(strings.TrimSpace(v))
		if err != nil {
			p.errs = append(p.errs, badConfig("acks", v, "String must be one of: all, -1, 0, 1"))
		}
		c.Acks = a
	}
	p.bool("enable.idempotence", &c.EnableIdempotence)
	p.int("batch.size", 0, math.MaxInt32, &c.BatchSize)
	p.ms("linger.ms", 0, &c.Linger)
	p.int("max.in.flight.requests.per.connection", 1, math.MaxInt32, &c.MaxInFlight)
	p.int("retries", 0, math.MaxInt32, &c.Retries)
	p.ms("retry.backoff.ms", 0, &c.RetryBackoff)
	p.ms("retry.backoff.max.ms", 0, &c.RetryBackoffMax)
	p.ms("request.timeout.ms", 0, &c.RequestTimeout)
	p.ms("delivery.timeout.ms", 0, &c.DeliveryTimeout)
	p.ms("max.block.ms", 0, &c.MaxBlock)
	p.ms("metadata.max.age.ms", 0, &c.MetadataMaxAge)
	p.int("max.request.size", 0, math.MaxInt32, &c.MaxRequestSize)
	p.oneOf("partitioner.class", []string{BuiltInPartitioner, RoundRobinPartitioner}, &c.Partitioner)
	p.bool("partitioner.ignore.keys", &c.PartitionerIgnoreKeys)
	p.bool("partitioner.adaptive.partitioning.enable", &c.AdaptivePartitioning)
	p.unknown("producer", producerKeys)
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	if !p.set("enable.idempotence") && (c.Acks != model.AcksAll || c.Retries == 0 || c.MaxInFlight > 5) {
		c.EnableIdempotence = false
	}
	if !p.set("delivery.timeout.ms") && c.DeliveryTimeout < c.Linger+c.RequestTimeout {
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
		errs = append(errs, badConfig("acks", c.Acks, "String must be one of: all, -1, 0, 1"))
	}
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"linger.ms", c.Linger}, {"retry.backoff.ms", c.RetryBackoff}, {"retry.backoff.max.ms", c.RetryBackoffMax},
		{"request.timeout.ms", c.RequestTimeout}, {"delivery.timeout.ms", c.DeliveryTimeout}, {"max.block.ms", c.MaxBlock}, {"metadata.max.age.ms", c.MetadataMaxAge}} {
		if v.d < 0 {
			errs = append(errs, badConfig(v.name, v.d.Milliseconds(), "Value must be at least 0"))
		}
	}
	if c.BatchSize < 0 {
		errs = append(errs, badConfig("batch.size", c.BatchSize, "Value must be at least 0"))
	}
	if c.MaxInFlight < 1 {
		errs = append(errs, badConfig("max.in.flight.requests.per.connection", c.MaxInFlight, "Value must be at least 1"))
	}
	if c.Retries < 0 {
		errs = append(errs, badConfig("retries", c.Retries, "Value must be at least 0"))
	}
	if c.Partitioner != BuiltInPartitioner && c.Partitioner != RoundRobinPartitioner {
		errs = append(errs, badConfig("partitioner.class", c.Partitioner, "accepted are the built-in partitioner (empty) and %s", RoundRobinPartitioner))
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
}

// DefaultConsumerConfig returns Kafka's consumer defaults.
func DefaultConsumerConfig() ConsumerConfig {
	return ConsumerConfig{
		ClientID: "consumer-1", AutoOffsetReset: ResetLatest, EnableAutoCommit: true, AutoCommitInterval: 5 * time.Second,
		SessionTimeout: 45 * time.Second, HeartbeatInterval: 3 * time.Second, MaxPollInterval: 5 * time.Minute,
		MaxPollRecords: 500, FetchMinBytes: 1, FetchMaxBytes: 52428800, MaxPartitionFetchBytes: 1 << 20,
		FetchMaxWait: 500 * time.Millisecond, RequestTimeout: 30 * time.Second, DefaultAPITimeout: 60 * time.Second,
		RetryBackoff: 100 * time.Millisecond, MetadataMaxAge: 5 * time.Minute, Assignors: []string{"range", "cooperative-sticky"},
	}
}

var consumerKeys = []string{"auto.commit.interval.ms", "auto.offset.reset", "client.id", "default.api.timeout.ms",
	"enable.auto.commit", "fetch.max.bytes", "fetch.max.wait.ms", "fetch.min.bytes", "group.id", "group.instance.id",
	"heartbeat.interval.ms", "max.partition.fetch.bytes", "max.poll.interval.ms", "max.poll.records", "metadata.max.age.ms",
	"partition.assignment.strategy", "request.timeout.ms", "retry.backoff.ms", "session.timeout.ms"}

// ParseConsumerConfig reads consumer properties as Kafka's ConsumerConfig
// does, including its rule that without a group.id auto-commit is off (and
// may not be turned on).
func ParseConsumerConfig(m map[string]string) (ConsumerConfig, error) {
	c := DefaultConsumerConfig()
	p := newProps(m)
	p.str("client.id", &c.ClientID)
	p.str("group.id", &c.GroupID)
	p.str("group.instance.id", &c.GroupInstanceID)
	p.oneOf("auto.offset.reset", []string{ResetLatest, ResetEarliest, ResetNone}, &c.AutoOffsetReset)
	p.bool("enable.auto.commit", &c.EnableAutoCommit)
	p.ms("auto.commit.interval.ms", 0, &c.AutoCommitInterval)
	p.ms("session.timeout.ms", 0, &c.SessionTimeout)
	p.ms("heartbeat.interval.ms", 0, &c.HeartbeatInterval)
	p.ms("max.poll.interval.ms", 1, &c.MaxPollInterval)
	p.int("max.poll.records", 1, math.MaxInt32, &c.MaxPollRecords)
	p.int("fetch.min.bytes", 0, math.MaxInt32, &c.FetchMinBytes)
	p.int("fetch.max.bytes", 0, math.MaxInt32, &c.FetchMaxBytes)
	p.int("max.partition.fetch.bytes", 0, math.MaxInt32, &c.MaxPartitionFetchBytes)
	p.ms("fetch.max.wait.ms", 0, &c.FetchMaxWait)
	p.ms("request.timeout.ms", 0, &c.RequestTimeout)
	p.ms("default.api.timeout.ms", 0, &c.DefaultAPITimeout)
	p.ms("retry.backoff.ms", 0, &c.RetryBackoff)
	p.ms("metadata.max.age.ms", 0, &c.MetadataMaxAge)
	if v, ok := m["partition.assignment.strategy"]; ok {
		p.used["partition.assignment.strategy"] = true
		c.Assignors = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.Assignors = append(c.Assignors, s)
			}
		}
	}
	p.unknown("consumer", consumerKeys)
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	if c.GroupID == "" {
		if p.set("enable.auto.commit") && c.EnableAutoCommit {
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
	if c.AutoOffsetReset != ResetLatest && c.AutoOffsetReset != ResetEarliest && c.AutoOffsetReset != ResetNone {
		errs = append(errs, badConfig("auto.offset.reset", c.AutoOffsetReset, "String must be one of: latest, earliest, none"))
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
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"auto.commit.interval.ms", c.AutoCommitInterval}, {"fetch.max.wait.ms", c.FetchMaxWait}, {"request.timeout.ms", c.RequestTimeout},
		{"default.api.timeout.ms", c.DefaultAPITimeout}, {"retry.backoff.ms", c.RetryBackoff}, {"session.timeout.ms", c.SessionTimeout}, {"heartbeat.interval.ms", c.HeartbeatInterval}} {
		if v.d < 0 {
			errs = append(errs, badConfig(v.name, v.d.Milliseconds(), "Value must be at least 0"))
		}
	}
	if c.MaxPollInterval <= 0 {
		errs = append(errs, badConfig("max.poll.interval.ms", c.MaxPollInterval.Milliseconds(), "Value must be at least 1"))
	}
	if c.MaxPollRecords < 1 {
		errs = append(errs, badConfig("max.poll.records", c.MaxPollRecords, "Value must be at least 1"))
	}
	return errors.Join(errs...)
}
