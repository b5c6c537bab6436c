package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// TruncationMode says how a replica that becomes a follower finds where its
// log diverged from the new leader's: Kafka's history, as a switch, so that
// the bugs of each era can be found again.
type TruncationMode uint8

// The truncation modes.
const (
	// TruncateOnFetch is Kafka ≥ 2.7: the follower fetches at once with
	// its last fetched epoch, and the leader answers with a diverging
	// epoch where the logs diverged; the follower truncates and goes on.
	TruncateOnFetch TruncationMode = iota
	// TruncateWithEpochs is Kafka 2.0–2.6: the follower first asks the
	// leader with OffsetsForLeaderEpoch and truncates by KIP-279's
	// iterative rule (walking back epochs until both agree).
	TruncateWithEpochs
	// TruncateWithLegacyEpochs is Kafka 0.11–1.x (KIP-101 before
	// KIP-279): one OffsetsForLeaderEpoch for the follower's latest
	// epoch; the answer has no epoch and the follower truncates to the
	// smaller of the answer and its own log end offset.
	TruncateWithLegacyEpochs
	// TruncateToHighWatermark is Kafka before 0.11: the follower
	// truncates to its own high-water mark (KIP-101's data loss and
	// divergence).
	TruncateToHighWatermark
)

var truncationNames = []string{"fetch", "epochs", "legacy-epochs", "high-watermark"}

func (m TruncationMode) String() string {
	if int(m) < len(truncationNames) {
		return truncationNames[m]
	}
	return "TruncationMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseTruncationMode parses a mode's name: fetch, epochs, legacy-epochs
// or high-watermark.
func ParseTruncationMode(s string) (TruncationMode, error) {
	for i, n := range truncationNames {
		if n == s {
			return TruncationMode(i), nil
		}
	}
	return 0, fmt.Errorf("invalid truncation mode %q: accepted are %s", s, strings.Join(truncationNames, ", "))
}

// Config configures a broker. Fields carry Kafka's config names and
// defaults (DefaultConfig); durations are Kafka's *.ms settings.
type Config struct {
	// BrokerID is node.id.
	BrokerID int32
	// Directory maps Kafka node ids to sim nodes; Network carries messages.
	Directory *protocol.Directory
	Network   *network.Network
	// Observer, if set, is told of acks=all acknowledgements and of
	// truncations.
	Observer model.Observer

	// ControllerQuorum is controller.quorum.voters: the controllers' node
	// ids and sim nodes. When set, the broker follows the metadata log as
	// a KRaft observer, applies what it commits, registers with the active
	// controller and heartbeats; when nil, metadata comes only from
	// ApplyMetadata and SetController calls (a test's controller double).
	ControllerQuorum map[int32]sim.NodeID
	// Quorum holds the controller.quorum.* settings of the broker's
	// metadata log replica.
	Quorum kraft.Config
	// HeartbeatInterval is broker.heartbeat.interval.ms (2 s).
	HeartbeatInterval time.Duration
	// SessionTimeout is broker.session.timeout.ms (9 s): it bounds the
	// lifecycle's retry backoff, and half of it is its request timeout.
	SessionTimeout time.Duration

	// MinInsyncReplicas is min.insync.replicas, the default for topics
	// that do not set it (1).
	MinInsyncReplicas int
	// ReplicaLagTimeMax is replica.lag.time.max.ms (30 s).
	ReplicaLagTimeMax time.Duration
	// ReplicaFetchWaitMax is replica.fetch.wait.max.ms (500 ms).
	ReplicaFetchWaitMax time.Duration
	// ReplicaFetchMinBytes is replica.fetch.min.bytes (1).
	ReplicaFetchMinBytes int32
	// ReplicaFetchMaxBytes is replica.fetch.max.bytes (1 MiB), per partition.
	ReplicaFetchMaxBytes int32
	// ReplicaFetchResponseMaxBytes is replica.fetch.response.max.bytes (10 MiB).
	ReplicaFetchResponseMaxBytes int32
	// ReplicaFetchBackoff is replica.fetch.backoff.ms (1 s).
	ReplicaFetchBackoff time.Duration
	// ReplicaSocketTimeout is replica.socket.timeout.ms (30 s): how long a
	// fetcher waits for a response.
	ReplicaSocketTimeout time.Duration
	// HighWatermarkCheckpointInterval is
	// replica.high.watermark.checkpoint.interval.ms (5 s).
	HighWatermarkCheckpointInterval time.Duration
	// RecoveryPointCheckpointInterval is
	// log.flush.offset.checkpoint.interval.ms (60 s).
	RecoveryPointCheckpointInterval time.Duration
	// LogFlushIntervalMessages is log.flush.interval.messages; 0 is
	// Kafka's default, never.
	LogFlushIntervalMessages int64
	// LogFlushInterval is log.flush.interval.ms; 0 is Kafka's default,
	// never.
	LogFlushInterval time.Duration
	// AlterPartitionRetryBackoff is how long the broker waits before it
	// resends an AlterPartition whose answer was lost (retry.backoff.ms,
	// 100 ms).
	AlterPartitionRetryBackoff time.Duration

	// Truncation is the follower truncation protocol; TruncateOnFetch is
	// current Kafka.
	Truncation TruncationMode
	// LegacyHighWatermark lets the leader advance the high-water mark
	// while the ISR is below min.insync.replicas, as Kafka did before 3.7
	// (KAFKA-15583).
	LegacyHighWatermark bool
	// LegacyProducerChecks validates idempotent producers as Kafka 0.11–1.1
	// did (see log.Config).
	LegacyProducerChecks bool

	// Group configures the broker's group coordinator and
	// __consumer_offsets (offsets.topic.*, group.*).
	Group group.Config
}

// DefaultConfig returns Kafka's defaults for broker id.
func DefaultConfig(id int32) Config {
	return Config{
		BrokerID:                        id,
		MinInsyncReplicas:               1,
		ReplicaLagTimeMax:               30 * time.Second,
		ReplicaFetchWaitMax:             500 * time.Millisecond,
		ReplicaFetchMinBytes:            1,
		ReplicaFetchMaxBytes:            1 << 20,
		ReplicaFetchResponseMaxBytes:    10 << 20,
		ReplicaFetchBackoff:             time.Second,
		ReplicaSocketTimeout:            30 * time.Second,
		HighWatermarkCheckpointInterval: 5 * time.Second,
		RecoveryPointCheckpointInterval: 60 * time.Second,
		AlterPartitionRetryBackoff:      100 * time.Millisecond,
		Group:                           group.DefaultConfig(),
		Quorum:                          kraft.DefaultConfig(),
		HeartbeatInterval:               2 * time.Second,
		SessionTimeout:                  9 * time.Second,
	}
}

// A ConfigError is Kafka's ConfigException: a config, the value given, and
// what is accepted.
type ConfigError struct {
	Name   string
	Value  any
	Accept string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid value %v for configuration %s: %s", e.Value, e.Name, e.Accept)
}

func durationAtLeast(errs *[]error, name string, v, least time.Duration) {
	if v < least {
		*errs = append(*errs, &ConfigError{Name: name, Value: v.Milliseconds(), Accept: fmt.Sprintf("value must be at least %d", least.Milliseconds())})
	}
}

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if c.BrokerID < 0 {
		errs = append(errs, &ConfigError{"node.id", c.BrokerID, "value must be at least 0"})
	}
	if c.MinInsyncReplicas < 1 {
		errs = append(errs, &ConfigError{"min.insync.replicas", c.MinInsyncReplicas, "value must be at least 1"})
	}
	durationAtLeast(&errs, "replica.lag.time.max.ms", c.ReplicaLagTimeMax, 0)
	durationAtLeast(&errs, "replica.fetch.wait.max.ms", c.ReplicaFetchWaitMax, 0)
	durationAtLeast(&errs, "replica.fetch.backoff.ms", c.ReplicaFetchBackoff, 0)
	durationAtLeast(&errs, "replica.socket.timeout.ms", c.ReplicaSocketTimeout, time.Millisecond)
	durationAtLeast(&errs, "replica.high.watermark.checkpoint.interval.ms", c.HighWatermarkCheckpointInterval, time.Millisecond)
	durationAtLeast(&errs, "log.flush.offset.checkpoint.interval.ms", c.RecoveryPointCheckpointInterval, time.Millisecond)
	durationAtLeast(&errs, "log.flush.interval.ms", c.LogFlushInterval, 0)
	durationAtLeast(&errs, "retry.backoff.ms", c.AlterPartitionRetryBackoff, 0)
	if c.ReplicaFetchWaitMax > c.ReplicaSocketTimeout {
		errs = append(errs, &ConfigError{"replica.socket.timeout.ms", c.ReplicaSocketTimeout.Milliseconds(),
			fmt.Sprintf("must be at least replica.fetch.wait.max.ms (%d)", c.ReplicaFetchWaitMax.Milliseconds())})
	}
	if c.ReplicaFetchMinBytes < 0 {
		errs = append(errs, &ConfigError{"replica.fetch.min.bytes", c.ReplicaFetchMinBytes, "value must be at least 0"})
	}
	if c.ReplicaFetchMaxBytes < 0 {
		errs = append(errs, &ConfigError{"replica.fetch.max.bytes", c.ReplicaFetchMaxBytes, "value must be at least 0"})
	}
	if c.ReplicaFetchResponseMaxBytes < 0 {
		errs = append(errs, &ConfigError{"replica.fetch.response.max.bytes", c.ReplicaFetchResponseMaxBytes, "value must be at least 0"})
	}
	if c.LogFlushIntervalMessages < 0 {
		errs = append(errs, &ConfigError{"log.flush.interval.messages", c.LogFlushIntervalMessages, "value must be at least 1, or 0 for never"})
	}
	if c.Truncation > TruncateToHighWatermark {
		errs = append(errs, &ConfigError{"truncation mode", int(c.Truncation), "accepted are " + strings.Join(truncationNames, ", ")})
	}
	if c.Directory == nil {
		errs = append(errs, errors.New("broker config: Directory is nil: give the node id directory"))
	}
	if c.ControllerQuorum != nil {
		if len(c.ControllerQuorum) == 0 {
			errs = append(errs, errors.New("broker config: controller.quorum.voters is empty: give at least one controller"))
		}
		if _, ok := c.ControllerQuorum[c.BrokerID]; ok {
			errs = append(errs, fmt.Errorf("broker config: node.id %d is also a controller: give brokers and controllers distinct ids", c.BrokerID))
		}
		if err := c.Quorum.Validate(); err != nil {
			errs = append(errs, err)
		}
		durationAtLeast(&errs, "broker.heartbeat.interval.ms", c.HeartbeatInterval, time.Millisecond)
		durationAtLeast(&errs, "broker.session.timeout.ms", c.SessionTimeout, time.Millisecond)
	}
	if c.Network == nil {
		errs = append(errs, errors.New("broker config: Network is nil: give the simulation's network"))
	}
	if err := c.Group.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// setting is one Kafka property that Set understands.
type setting struct {
	kind string // "ms", "int", "bool", "mode"
	set  func(c *Config, v int64)
}

var settings = map[string]setting{
	"min.insync.replicas":                           {"int", func(c *Config, v int64) { c.MinInsyncReplicas = int(v) }},
	"replica.lag.time.max.ms":                       {"ms", func(c *Config, v int64) { c.ReplicaLagTimeMax = time.Duration(v) * time.Millisecond }},
	"replica.fetch.wait.max.ms":                     {"ms", func(c *Config, v int64) { c.ReplicaFetchWaitMax = time.Duration(v) * time.Millisecond }},
	"replica.fetch.min.bytes":                       {"int", func(c *Config, v int64) { c.ReplicaFetchMinBytes = int32(v) }},
	"replica.fetch.max.bytes":                       {"int", func(c *Config, v int64) { c.ReplicaFetchMaxBytes = int32(v) }},
	"replica.fetch.response.max.bytes":              {"int", func(c *Config, v int64) { c.ReplicaFetchResponseMaxBytes = int32(v) }},
	"replica.fetch.backoff.ms":                      {"ms", func(c *Config, v int64) { c.ReplicaFetchBackoff = time.Duration(v) * time.Millisecond }},
	"replica.socket.timeout.ms":                     {"ms", func(c *Config, v int64) { c.ReplicaSocketTimeout = time.Duration(v) * time.Millisecond }},
	"replica.high.watermark.checkpoint.interval.ms": {"ms", func(c *Config, v int64) { c.HighWatermarkCheckpointInterval = time.Duration(v) * time.Millisecond }},
	"log.flush.offset.checkpoint.interval.ms":       {"ms", func(c *Config, v int64) { c.RecoveryPointCheckpointInterval = time.Duration(v) * time.Millisecond }},
	"log.flush.interval.messages":                   {"int", func(c *Config, v int64) { c.LogFlushIntervalMessages = v }},
	"log.flush.interval.ms":                         {"ms", func(c *Config, v int64) { c.LogFlushInterval = time.Duration(v) * time.Millisecond }},
	"retry.backoff.ms":                              {"ms", func(c *Config, v int64) { c.AlterPartitionRetryBackoff = time.Duration(v) * time.Millisecond }},
	"broker.heartbeat.interval.ms":                  {"ms", func(c *Config, v int64) { c.HeartbeatInterval = time.Duration(v) * time.Millisecond }},
	"broker.session.timeout.ms":                     {"ms", func(c *Config, v int64) { c.SessionTimeout = time.Duration(v) * time.Millisecond }},
	"offsets.topic.num.partitions":                  {"int", func(c *Config, v int64) { c.Group.OffsetsTopicPartitions = int32(v) }},
	"offsets.topic.replication.factor":              {"int", func(c *Config, v int64) { c.Group.OffsetsTopicReplicationFactor = int16(v) }},
	"offsets.commit.timeout.ms":                     {"ms", func(c *Config, v int64) { c.Group.OffsetCommitTimeout = time.Duration(v) * time.Millisecond }},
	"group.min.session.timeout.ms":                  {"ms", func(c *Config, v int64) { c.Group.MinSessionTimeout = time.Duration(v) * time.Millisecond }},
	"group.max.session.timeout.ms":                  {"ms", func(c *Config, v int64) { c.Group.MaxSessionTimeout = time.Duration(v) * time.Millisecond }},
	"group.initial.rebalance.delay.ms":              {"ms", func(c *Config, v int64) { c.Group.InitialRebalanceDelay = time.Duration(v) * time.Millisecond }},
	"group.max.size":                                {"int", func(c *Config, v int64) { c.Group.MaxSize = int(v) }},
}

// Set sets a config by its Kafka property name from its text form, as a
// server.properties line would, and checks the value.
func (c *Config) Set(name, value string) error {
	s, ok := settings[name]
	if !ok {
		return fmt.Errorf("unknown configuration %q: known are %s", name, strings.Join(slices.Sorted(maps.Keys(settings)), ", "))
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return &ConfigError{Name: name, Value: value, Accept: "expected a whole number"}
	}
	if v < 0 {
		accept := "value must be at least 0"
		if name == "min.insync.replicas" {
			accept = "value must be at least 1"
		}
		return &ConfigError{Name: name, Value: value, Accept: accept}
	}
	s.set(c, v)
	return nil
}

// ParseAcks parses a producer's acks setting: all, -1, 0 or 1.
func ParseAcks(s string) (int16, error) {
	switch s {
	case "all", "-1":
		return protocol.AcksAll, nil
	case "0":
		return protocol.AcksNone, nil
	case "1":
		return protocol.AcksLeader, nil
	}
	return 0, &ConfigError{Name: "acks", Value: s, Accept: "string must be one of: all, -1, 0, 1"}
}

// Topic config names the broker reads from metadata.
const (
	MinInsyncReplicasConfig     = "min.insync.replicas"
	UncleanLeaderElectionConfig = "unclean.leader.election.enable"
)

// ValidateTopicConfig checks a topic's configs against its replication
// factor, as topic creation does: min.insync.replicas must be a whole
// number from 1 to the replication factor, and
// unclean.leader.election.enable true or false.
func ValidateTopicConfig(replicationFactor int, configs map[string]string) error {
	var errs []error
	if replicationFactor < 1 {
		errs = append(errs, &ConfigError{Name: "replication.factor", Value: replicationFactor, Accept: "value must be at least 1"})
	}
	for _, name := range slices.Sorted(maps.Keys(configs)) {
		v := configs[name]
		switch name {
		case MinInsyncReplicasConfig:
			n, err := strconv.Atoi(v)
			switch {
			case err != nil:
				errs = append(errs, &ConfigError{Name: name, Value: v, Accept: "expected a whole number"})
			case n < 1:
				errs = append(errs, &ConfigError{Name: name, Value: v, Accept: "value must be at least 1"})
			case n > replicationFactor:
				errs = append(errs, &ConfigError{Name: name, Value: v,
					Accept: fmt.Sprintf("value must be at most the replication factor %d", replicationFactor)})
			}
		case UncleanLeaderElectionConfig:
			if v != "true" && v != "false" {
				errs = append(errs, &ConfigError{Name: name, Value: v, Accept: "expected true or false"})
			}
		default:
			errs = append(errs, fmt.Errorf("unknown topic configuration %q: known are %s, %s", name, MinInsyncReplicasConfig, UncleanLeaderElectionConfig))
		}
	}
	return errors.Join(errs...)
}
