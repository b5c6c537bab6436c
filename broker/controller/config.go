package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Config configures one controller process. Fields carry Kafka's config
// names and defaults (DefaultConfig); durations are Kafka's *.ms settings.
type Config struct {
	// NodeID is node.id; it must be one of Voters.
	NodeID int32
	// Voters is controller.quorum.voters: every controller's node id and
	// the simulated node that runs it.
	Voters map[int32]sim.NodeID
	// Directory maps Kafka node ids to sim nodes; Network carries messages.
	Directory *protocol.Directory
	Network   *network.Network
	// Quorum holds the controller.quorum.* settings of the metadata quorum.
	Quorum kraft.Config

	// SessionTimeout is broker.session.timeout.ms (9 s): a broker that
	// does not heartbeat within it is fenced.
	SessionTimeout time.Duration
	// AutoLeaderRebalance is auto.leader.rebalance.enable (true): the
	// controller moves leadership back to preferred replicas.
	AutoLeaderRebalance bool
	// LeaderImbalanceCheckInterval is
	// leader.imbalance.check.interval.seconds (300 s).
	LeaderImbalanceCheckInterval time.Duration
	// UncleanLeaderElectionInterval is unclean.leader.election.interval.ms
	// (5 min): how often the controller tries unclean elections for
	// partitions without a leader, where the topic allows them.
	UncleanLeaderElectionInterval time.Duration
	// DefaultReplicationFactor is default.replication.factor (1), used
	// when CreateTopics asks for -1.
	DefaultReplicationFactor int
	// NumPartitions is num.partitions (1), used when CreateTopics asks for
	// -1.
	NumPartitions int
	// MinInsyncReplicas is min.insync.replicas (1), the cluster default.
	MinInsyncReplicas int
	// UncleanLeaderElection is unclean.leader.election.enable (false), the
	// cluster default.
	UncleanLeaderElection bool
	// MaxElectionsPerImbalance bounds the elections of one periodic
	// rebalance or unclean-election pass (Kafka's 1,000).
	MaxElectionsPerImbalance int

	// ELR turns on KIP-966's Eligible Leader Replicas
	// (eligible.leader.replicas.version=1; opt-in in Kafka 4.0, the default
	// of new clusters from 4.1): replicas that leave the ISR while it is
	// below min.insync.replicas stay eligible, the election order is ISR,
	// ELR, then the last known leader, and a broker that restarts after an
	// unclean shutdown leaves the ELR. Off gives Kafka before 4.0, where
	// the last ISR member is never removed ("last replica standing").
	ELR bool
	// IgnoreISRBrokerEpochs turns off KIP-903's check (Kafka 3.5): the
	// controller then accepts an AlterPartition that puts back into the
	// ISR a replica whose broker re-registered since the leader saw it
	// fetch, the bug of KAFKA-14139.
	IgnoreISRBrokerEpochs bool
}

// DefaultConfig returns Kafka 4.x's defaults for controller id.
func DefaultConfig(id int32) Config {
	return Config{
		NodeID:                        id,
		Quorum:                        kraft.DefaultConfig(),
		SessionTimeout:                9 * time.Second,
		AutoLeaderRebalance:           true,
		LeaderImbalanceCheckInterval:  300 * time.Second,
		UncleanLeaderElectionInterval: 5 * time.Minute,
		DefaultReplicationFactor:      1,
		NumPartitions:                 1,
		MinInsyncReplicas:             1,
		MaxElectionsPerImbalance:      1000,
	}
}

// Setters binds the controller properties (props.Controller) to a
// Config's fields, the metadata quorum's (kraft.Setters) included.
var Setters = props.Bind(props.Controller,
	props.Dur("broker.session.timeout.ms", func(c *Config) *time.Duration { return &c.SessionTimeout }),
	props.Flag("auto.leader.rebalance.enable", func(c *Config) *bool { return &c.AutoLeaderRebalance }),
	props.Dur("leader.imbalance.check.interval.seconds", func(c *Config) *time.Duration { return &c.LeaderImbalanceCheckInterval }),
	props.Dur("unclean.leader.election.interval.ms", func(c *Config) *time.Duration { return &c.UncleanLeaderElectionInterval }),
	props.Num("default.replication.factor", func(c *Config) *int { return &c.DefaultReplicationFactor }),
	props.Num("num.partitions", func(c *Config) *int { return &c.NumPartitions }),
	props.Num("min.insync.replicas", func(c *Config) *int { return &c.MinInsyncReplicas }),
	props.Flag("unclean.leader.election.enable", func(c *Config) *bool { return &c.UncleanLeaderElection }),
	props.Func("eligible.leader.replicas.version", func(c *Config, v props.Value) { c.ELR = v.Int() == 1 }),
	props.Embed(kraft.Setters, func(c *Config) *kraft.Config { return &c.Quorum }),
)

// Set sets a controller property from its text form, as a
// controller.properties line would, and checks the value.
func (c *Config) Set(name, value string) error { return Setters.Set(c, name, value) }

// Validate reports every invalid setting, and what a running controller
// lacks (its place among the voters, its directory and network).
func (c Config) Validate() error {
	errs := []error{c.ValidateSettings()}
	if _, ok := c.Voters[c.NodeID]; !ok {
		errs = append(errs, fmt.Errorf("controller config: node.id %d is not among controller.quorum.voters %v", c.NodeID,
			slices.Sorted(maps.Keys(c.Voters))))
	}
	if c.Directory == nil {
		errs = append(errs, errors.New("controller config: Directory is nil: give the node id directory"))
	}
	if c.Network == nil {
		errs = append(errs, errors.New("controller config: Network is nil: give the simulation's network"))
	}
	return errors.Join(errs...)
}

// ValidateSettings reports every invalid setting: each property's range
// (from the property table) and the quorum's.
func (c Config) ValidateSettings() error {
	errs := []error{Setters.Validate(&c)}
	if err := c.Quorum.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.MaxElectionsPerImbalance < 1 {
		errs = append(errs, props.Invalid("max elections per imbalance", c.MaxElectionsPerImbalance, "value must be at least 1"))
	}
	return errors.Join(errs...)
}

// Topic config names the controller reads.
const (
	MinInsyncReplicasConfig     = "min.insync.replicas"
	UncleanLeaderElectionConfig = "unclean.leader.election.enable"
	// CompressionTypeConfig is read by brokers, from the metadata image,
	// when they append a producer's batches: the controller only checks
	// its value.
	CompressionTypeConfig = "compression.type"
)

// TopicSetters binds the topic configs (props.Topic) to the typed form
// the checkers read (model.TopicConfig).
var TopicSetters = props.Bind(props.Topic,
	props.Num(MinInsyncReplicasConfig, func(c *model.TopicConfig) *int { return &c.MinInsyncReplicas }),
	props.Flag(UncleanLeaderElectionConfig, func(c *model.TopicConfig) *bool { return &c.UncleanLeaderElection }),
	props.Func(CompressionTypeConfig, func(*model.TopicConfig, props.Value) {}),
	props.Func(CleanupPolicyConfig, func(c *model.TopicConfig, v props.Value) { c.CleanupPolicy = NormalizeCleanupPolicy(v.List()) }),
	props.Func("retention.ms", func(c *model.TopicConfig, v props.Value) { c.RetentionMs = v.Int() }),
	props.Num("retention.bytes", func(c *model.TopicConfig) *int64 { return &c.RetentionBytes }),
	props.Num("segment.bytes", func(c *model.TopicConfig) *int64 { return &c.SegmentBytes }),
	props.Func("segment.ms", func(c *model.TopicConfig, v props.Value) { c.SegmentMs = v.Int() }),
	props.Func("delete.retention.ms", func(c *model.TopicConfig, v props.Value) { c.DeleteRetentionMs = v.Int() }),
	props.Func("min.cleanable.dirty.ratio", func(c *model.TopicConfig, v props.Value) { c.MinCleanableDirtyRatio = v.Float() }),
	props.Func("min.compaction.lag.ms", func(c *model.TopicConfig, v props.Value) { c.MinCompactionLagMs = v.Int() }),
)

// CleanupPolicyConfig is cleanup.policy.
const CleanupPolicyConfig = "cleanup.policy"

// NormalizeCleanupPolicy spells a cleanup.policy list as the run's
// configuration records it: "delete", "compact" or "compact,delete".
func NormalizeCleanupPolicy(items []string) string {
	c, d := slices.Contains(items, "compact"), slices.Contains(items, "delete")
	switch {
	case c && d:
		return "compact,delete"
	case c:
		return "compact"
	}
	return "delete"
}

// TopicDefaults returns the configs a topic without its own takes: the
// controller's static config.
func (c Config) TopicDefaults() model.TopicConfig {
	return model.TopicConfig{MinInsyncReplicas: c.MinInsyncReplicas, UncleanLeaderElection: c.UncleanLeaderElection,
		CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, SegmentBytes: 1 << 30, SegmentMs: 604800000,
		DeleteRetentionMs: 86400000, MinCleanableDirtyRatio: 0.5}
}

// ParseTopicConfig reads a topic's configs over the defaults and checks
// them against its replication factor: min.insync.replicas above it is
// refused (Kafka accepts it at creation; kafkasim takes it for a typo, as
// the README's fidelity table says). The replication factor's own range is
// the caller's to check.
func ParseTopicConfig(defaults model.TopicConfig, replicationFactor int, configs map[string]string) (model.TopicConfig, error) {
	t := defaults
	errs := []error{TopicSetters.Apply(&t, configs)}
	if _, set := configs[MinInsyncReplicasConfig]; set && replicationFactor > 0 && t.MinInsyncReplicas > replicationFactor {
		errs = append(errs, props.Invalid(MinInsyncReplicasConfig, t.MinInsyncReplicas,
			"value must be at most the replication factor %d", replicationFactor))
	}
	return t, errors.Join(errs...)
}

// ValidateTopicName checks a topic's name as Kafka's Topic.validate does:
// 1 to 249 of ASCII letters, digits, '.', '_' and '-', not "." or "..".
func ValidateTopicName(name string) error {
	if msg := validateTopicName(name); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// ValidateTopicConfig checks one topic (or cluster-default) config value
// against the table, and says what is accepted.
func ValidateTopicConfig(name, value string) error {
	_, err := props.Parse(props.Topic, name, value)
	return err
}
