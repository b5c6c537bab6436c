// Package txn is the transaction coordinator (KIP-98, KIP-890): it owns
// the transactional ids whose partition of __transaction_state its broker
// leads, keeps each one's producer id, epoch and transaction state there,
// answers InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn and EndTxn,
// writes commit and abort markers to partition leaders with
// WriteTxnMarkers, aborts transactions open longer than their timeout, and
// after a failover reloads the log and completes what was prepared.
//
// Like the group coordinator it is a state machine driven by its broker:
// requests (Handle), leadership of __transaction_state partitions
// (Elected, Resigned) and timers on the broker's node.
package txn

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/props"
)

// StateTopic is Kafka's internal topic of transaction state.
const StateTopic = "__transaction_state"

// Config configures a broker's transaction coordinator, with Kafka's
// broker config names and defaults (DefaultConfig).
type Config struct {
	// StateLogPartitions is transaction.state.log.num.partitions (50).
	StateLogPartitions int32
	// StateLogReplicationFactor is
	// transaction.state.log.replication.factor (3).
	StateLogReplicationFactor int16
	// MaxTimeout is transaction.max.timeout.ms (15 min).
	MaxTimeout time.Duration
	// AbortTimedOutInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s).
	AbortTimedOutInterval time.Duration
	// AppendTimeout bounds an append to __transaction_state (Kafka uses
	// the request timeout of the client's request).
	AppendTimeout time.Duration
	// MarkerRetryBackoff is how long the coordinator waits before it
	// resends markers a leader could not write.
	MarkerRetryBackoff time.Duration
	// PartitionVerification is
	// transaction.partition.verification.enable (true): under transaction
	// version 1 a leader verifies a producer's first transactional write
	// to a partition with the coordinator (KIP-890 part 1).
	PartitionVerification bool
	// IDExpiration is transactional.id.expiration.ms (7 days): a
	// transactional id idle that long is removed.
	IDExpiration time.Duration
	// RemoveExpiredInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms (1 h):
	// how often the coordinator looks for expired transactional ids.
	RemoveExpiredInterval time.Duration
	// Version is the transaction protocol: 2 (KIP-890: a producer epoch
	// bump at every transaction's end, partitions added by the leaders'
	// verification) or 1 before it.
	Version int
}

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{StateLogPartitions: 50, StateLogReplicationFactor: 3, MaxTimeout: 15 * time.Minute,
		AbortTimedOutInterval: 10 * time.Second, AppendTimeout: 5 * time.Second, MarkerRetryBackoff: 100 * time.Millisecond,
		PartitionVerification: true, IDExpiration: 7 * 24 * time.Hour, RemoveExpiredInterval: time.Hour, Version: 2}
}

// Setters binds the broker's transaction.* properties to a Config's
// fields; broker.Setters embeds them.
var Setters = props.Bind(props.Broker,
	props.Num("transaction.state.log.num.partitions", func(c *Config) *int32 { return &c.StateLogPartitions }),
	props.Num("transaction.state.log.replication.factor", func(c *Config) *int16 { return &c.StateLogReplicationFactor }),
	props.Dur("transaction.max.timeout.ms", func(c *Config) *time.Duration { return &c.MaxTimeout }),
	props.Dur("transaction.abort.timed.out.transaction.cleanup.interval.ms", func(c *Config) *time.Duration { return &c.AbortTimedOutInterval }),
	props.Flag("transaction.partition.verification.enable", func(c *Config) *bool { return &c.PartitionVerification }),
	props.Dur("transactional.id.expiration.ms", func(c *Config) *time.Duration { return &c.IDExpiration }),
	props.Dur("transaction.remove.expired.transaction.cleanup.interval.ms", func(c *Config) *time.Duration { return &c.RemoveExpiredInterval }),
)

// Validate reports every invalid setting.
func (c Config) Validate() error {
	errs := []error{Setters.Validate(&c)}
	if c.Version != 1 && c.Version != 2 {
		errs = append(errs, fmt.Errorf("invalid transaction.version %d: accepted are 1 and 2", c.Version))
	}
	if c.AppendTimeout <= 0 || c.MarkerRetryBackoff <= 0 {
		errs = append(errs, fmt.Errorf("invalid append timeout %v or marker backoff %v: both must be positive", c.AppendTimeout, c.MarkerRetryBackoff))
	}
	return errors.Join(errs...)
}

// MarkerTimeout is how long a leader waits for a marker to replicate.
func (c Config) MarkerTimeout() time.Duration {
	if c.AppendTimeout <= 0 {
		return 5 * time.Second
	}
	return c.AppendTimeout
}
