package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/protocol"
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

// Validate reports every invalid setting.
func (c Config) Validate() error {
	var errs []error
	if err := c.Quorum.Validate(); err != nil {
		errs = append(errs, err)
	}
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
	atLeast := func(name string, v, least time.Duration, unit time.Duration) {
		if v < least {
			errs = append(errs, &ConfigError{name, int64(v / unit), fmt.Sprintf("value must be at least %d", least/unit)})
		}
	}
	atLeast("broker.session.timeout.ms", c.SessionTimeout, time.Millisecond, time.Millisecond)
	atLeast("leader.imbalance.check.interval.seconds", c.LeaderImbalanceCheckInterval, time.Second, time.Second)
	atLeast("unclean.leader.election.interval.ms", c.UncleanLeaderElectionInterval, time.Millisecond, time.Millisecond)
	if c.DefaultReplicationFactor < 1 {
		errs = append(errs, &ConfigError{"default.replication.factor", c.DefaultReplicationFactor, "value must be at least 1"})
	}
	if c.NumPartitions < 1 {
		errs = append(errs, &ConfigError{"num.partitions", c.NumPartitions, "value must be at least 1"})
	}
	if c.MinInsyncReplicas < 1 {
		errs = append(errs, &ConfigError{"min.insync.replicas", c.MinInsyncReplicas, "value must be at least 1"})
	}
	if c.MaxElectionsPerImbalance < 1 {
		errs = append(errs, &ConfigError{"max elections per imbalance", c.MaxElectionsPerImbalance, "value must be at least 1"})
	}
	return errors.Join(errs...)
}

// property is one Kafka property that Set understands.
type property struct {
	kind string // "ms", "s", "int", "bool", "version"
	set  func(c *Config, v int64)
}

func ms(v int64) time.Duration { return time.Duration(v) * time.Millisecond }

var properties = map[string]property{
	"broker.session.timeout.ms":                 {"ms", func(c *Config, v int64) { c.SessionTimeout = ms(v) }},
	"auto.leader.rebalance.enable":              {"bool", func(c *Config, v int64) { c.AutoLeaderRebalance = v == 1 }},
	"leader.imbalance.check.interval.seconds":   {"s", func(c *Config, v int64) { c.LeaderImbalanceCheckInterval = time.Duration(v) * time.Second }},
	"unclean.leader.election.interval.ms":       {"ms", func(c *Config, v int64) { c.UncleanLeaderElectionInterval = ms(v) }},
	"default.replication.factor":                {"int", func(c *Config, v int64) { c.DefaultReplicationFactor = int(v) }},
	"num.partitions":                            {"int", func(c *Config, v int64) { c.NumPartitions = int(v) }},
	"min.insync.replicas":                       {"int", func(c *Config, v int64) { c.MinInsyncReplicas = int(v) }},
	"unclean.leader.election.enable":            {"bool", func(c *Config, v int64) { c.UncleanLeaderElection = v == 1 }},
	"eligible.leader.replicas.version":          {"version", func(c *Config, v int64) { c.ELR = v == 1 }},
	"controller.quorum.election.timeout.ms":     {"ms", func(c *Config, v int64) { c.Quorum.ElectionTimeout = ms(v) }},
	"controller.quorum.fetch.timeout.ms":        {"ms", func(c *Config, v int64) { c.Quorum.FetchTimeout = ms(v) }},
	"controller.quorum.election.backoff.max.ms": {"ms", func(c *Config, v int64) { c.Quorum.ElectionBackoffMax = ms(v) }},
	"controller.quorum.request.timeout.ms":      {"ms", func(c *Config, v int64) { c.Quorum.RequestTimeout = ms(v) }},
	"controller.quorum.retry.backoff.ms":        {"ms", func(c *Config, v int64) { c.Quorum.RetryBackoff = ms(v) }},
	"controller.quorum.append.linger.ms":        {"ms", func(c *Config, v int64) { c.Quorum.AppendLinger = ms(v) }},
}

// Properties returns the Kafka property names Set accepts, sorted.
func Properties() []string { return slices.Sorted(maps.Keys(properties)) }

// Set sets a config by its Kafka property name from its text form, as a
// controller.properties line would, and checks the value.
func (c *Config) Set(name, value string) error {
	p, ok := properties[name]
	if !ok {
		return fmt.Errorf("unknown controller configuration %q: known are %s", name, strings.Join(Properties(), ", "))
	}
	switch p.kind {
	case "bool":
		switch value {
		case "true":
			p.set(c, 1)
		case "false":
			p.set(c, 0)
		default:
			return &ConfigError{name, value, "expected value to be either true or false"}
		}
		return nil
	case "version":
		if value != "0" && value != "1" {
			return &ConfigError{name, value, "accepted are 0 (off) and 1 (on)"}
		}
		p.set(c, int64(value[0]-'0'))
		return nil
	}
	v, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return &ConfigError{name, value, "expected a whole number"}
	}
	least := int64(0)
	if p.kind == "int" || p.kind == "s" || name == "broker.session.timeout.ms" {
		least = 1
	}
	if v < least {
		return &ConfigError{name, value, fmt.Sprintf("value must be at least %d", least)}
	}
	p.set(c, v)
	return nil
}

// Topic config names the controller understands.
const (
	MinInsyncReplicasConfig     = "min.insync.replicas"
	UncleanLeaderElectionConfig = "unclean.leader.election.enable"
)

// TopicConfigs are the topic config names kafkasim models.
var TopicConfigs = []string{MinInsyncReplicasConfig, UncleanLeaderElectionConfig}

// ValidateTopicConfig checks one topic (or cluster-default) config value as
// Kafka's topic config definitions do, and says what is accepted.
func ValidateTopicConfig(name, value string) error {
	switch name {
	case MinInsyncReplicasConfig:
		n, err := strconv.Atoi(value)
		if err != nil {
			return &ConfigError{name, value, "expected a whole number of type int"}
		}
		if n < 1 {
			return &ConfigError{name, value, "value must be at least 1"}
		}
	case UncleanLeaderElectionConfig:
		if value != "true" && value != "false" {
			return &ConfigError{name, value, "expected value to be either true or false"}
		}
	default:
		return fmt.Errorf("unknown topic config name %q: known are %s", name, strings.Join(TopicConfigs, ", "))
	}
	return nil
}
