package group

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/props"
)

// Config configures a broker's group coordinator, with Kafka's broker
// config names and defaults (DefaultConfig).
type Config struct {
	// OffsetsTopicPartitions is offsets.topic.num.partitions (50): how many
	// partitions __consumer_offsets has, which decides each group's
	// coordinator. It must match the topic as created.
	OffsetsTopicPartitions int32
	// OffsetsTopicReplicationFactor is offsets.topic.replication.factor
	// (3), for whoever creates the topic.
	OffsetsTopicReplicationFactor int16
	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms (6 s) and group.max.session.timeout.ms
	// (30 min): the session timeouts a member may ask for.
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms (3 s): how
	// long the first rebalance of an empty group waits for more members.
	InitialRebalanceDelay time.Duration
	// MaxSize is group.max.size: the most members a group may have.
	MaxSize int
	// OffsetCommitTimeout is offsets.commit.timeout.ms (5 s): how long an
	// append to __consumer_offsets may wait for the ISR; the Log the broker
	// gives the coordinator applies it.
	OffsetCommitTimeout time.Duration
	// NewMemberJoinTimeout bounds how long a new member waiting for its
	// first JoinGroup response is kept alive without heartbeats (Kafka's
	// fixed 5 minutes).
	NewMemberJoinTimeout time.Duration
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		OffsetsTopicPartitions:        50,
		OffsetsTopicReplicationFactor: 3,
		MinSessionTimeout:             6 * time.Second,
		MaxSessionTimeout:             30 * time.Minute,
		InitialRebalanceDelay:         3 * time.Second,
		MaxSize:                       1<<31 - 1,
		OffsetCommitTimeout:           5 * time.Second,
		NewMemberJoinTimeout:          5 * time.Minute,
	}
}

// Setters binds the broker's offsets.* and group.* properties to a
// Config's fields; broker.Setters embeds them.
var Setters = props.Bind(props.Broker,
	props.Num("offsets.topic.num.partitions", func(c *Config) *int32 { return &c.OffsetsTopicPartitions }),
	props.Num("offsets.topic.replication.factor", func(c *Config) *int16 { return &c.OffsetsTopicReplicationFactor }),
	props.Dur("offsets.commit.timeout.ms", func(c *Config) *time.Duration { return &c.OffsetCommitTimeout }),
	props.Dur("group.min.session.timeout.ms", func(c *Config) *time.Duration { return &c.MinSessionTimeout }),
	props.Dur("group.max.session.timeout.ms", func(c *Config) *time.Duration { return &c.MaxSessionTimeout }),
	props.Dur("group.initial.rebalance.delay.ms", func(c *Config) *time.Duration { return &c.InitialRebalanceDelay }),
	props.Num("group.max.size", func(c *Config) *int { return &c.MaxSize }),
)

// Validate reports every invalid setting, naming the config and what it
// accepts.
func (c Config) Validate() error {
	errs := []error{Setters.Validate(&c)}
	if c.MaxSessionTimeout < c.MinSessionTimeout {
		errs = append(errs, props.Invalid("group.max.session.timeout.ms", c.MaxSessionTimeout.Milliseconds(),
			"must be at least group.min.session.timeout.ms (%d)", c.MinSessionTimeout.Milliseconds()))
	}
	if c.NewMemberJoinTimeout <= 0 {
		errs = append(errs, fmt.Errorf("invalid new member join timeout %v: must be positive", c.NewMemberJoinTimeout))
	}
	return errors.Join(errs...)
}
