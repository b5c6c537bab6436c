package group

import (
	"errors"
	"fmt"
	"time"
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

// Validate reports every invalid setting, naming the config and what it
// accepts.
func (c Config) Validate() error {
	var errs []error
	bad := func(name string, v any, want string) {
		errs = append(errs, fmt.Errorf("invalid value %v for configuration %s: %s", v, name, want))
	}
	if c.OffsetsTopicPartitions < 1 {
		bad("offsets.topic.num.partitions", c.OffsetsTopicPartitions, "value must be at least 1")
	}
	if c.OffsetsTopicReplicationFactor < 1 {
		bad("offsets.topic.replication.factor", c.OffsetsTopicReplicationFactor, "value must be at least 1")
	}
	if c.MinSessionTimeout < 0 {
		bad("group.min.session.timeout.ms", c.MinSessionTimeout.Milliseconds(), "value must be at least 0")
	}
	if c.MaxSessionTimeout < c.MinSessionTimeout {
		bad("group.max.session.timeout.ms", c.MaxSessionTimeout.Milliseconds(), fmt.Sprintf("value must be at least group.min.session.timeout.ms (%d)", c.MinSessionTimeout.Milliseconds()))
	}
	if c.InitialRebalanceDelay < 0 {
		bad("group.initial.rebalance.delay.ms", c.InitialRebalanceDelay.Milliseconds(), "value must be at least 0")
	}
	if c.MaxSize < 1 {
		bad("group.max.size", c.MaxSize, "value must be at least 1")
	}
	if c.OffsetCommitTimeout < 1 {
		bad("offsets.commit.timeout.ms", c.OffsetCommitTimeout.Milliseconds(), "value must be at least 1")
	}
	if c.NewMemberJoinTimeout <= 0 {
		bad("new member join timeout", c.NewMemberJoinTimeout, "value must be positive")
	}
	return errors.Join(errs...)
}
