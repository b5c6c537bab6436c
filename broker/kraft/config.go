package kraft

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/props"
)

// Config holds the settings of one KRaft replica, named after Kafka's
// controller.quorum.* configs. DefaultConfig gives Kafka 4.x's defaults.
type Config struct {
	// ElectionTimeout is controller.quorum.election.timeout.ms: how long a
	// voter without a leader waits before it starts an election, and how
	// long an election may last. Each wait is drawn uniformly from
	// [ElectionTimeout, 2×ElectionTimeout) from the node's seeded stream,
	// as Kafka randomises it. Default 1 s.
	ElectionTimeout time.Duration
	// FetchTimeout is controller.quorum.fetch.timeout.ms: how long a voter
	// following a leader goes without a successful Fetch before it starts
	// an election. With CheckQuorum, a leader that has not heard a Fetch
	// from a majority of the voters within 1.5×FetchTimeout resigns.
	// Default 2 s.
	FetchTimeout time.Duration
	// ElectionBackoffMax is controller.quorum.election.backoff.max.ms: the
	// cap of the binary exponential backoff between lost elections, and of
	// the staggered waits that follow an EndQuorumEpoch. Default 1 s.
	ElectionBackoffMax time.Duration
	// RequestTimeout is controller.quorum.request.timeout.ms: a request
	// not answered within it is given up and retried. Default 2 s.
	RequestTimeout time.Duration
	// RetryBackoff is controller.quorum.retry.backoff.ms: the wait before a
	// failed request to a node is retried. Default 20 ms.
	RetryBackoff time.Duration
	// AppendLinger is controller.quorum.append.linger.ms: how long the
	// leader lets appended records accumulate before it writes them to its
	// log as one batch and flushes it. Zero writes every Append at once.
	// Default 25 ms.
	AppendLinger time.Duration
	// FetchMaxWait is how long the leader holds a Fetch that finds no new
	// records before answering it (the long poll). Kafka fixes it at
	// 500 ms (KafkaRaftClient's MAX_FETCH_WAIT_MS); it is no config there.
	FetchMaxWait time.Duration
	// MaxUncommitted bounds the records the leader holds beyond the
	// high-water mark (written or lingering); Append fails with
	// ErrUncommittedBacklog past it. Kafka bounds the leader's pending
	// batches by memory instead. Default 10,000.
	MaxUncommitted int
	// MaxBatchBytes bounds the record bytes of one batch, and so of one
	// Append (Kafka's 8 MiB batch limit). Default 8 MiB.
	MaxBatchBytes int

	// PreVote turns on KIP-996 (Kafka 4.0+): a voter first asks for
	// non-binding pre-votes, in its current epoch, and starts a real
	// election only if a majority would grant it, so that a voter cut off
	// from the quorum cannot force a new epoch when it comes back. Off
	// gives the elections of Kafka 3.x. Default on.
	PreVote bool
	// CheckQuorum makes a leader resign when a majority of the voters has
	// not fetched from it within 1.5×FetchTimeout (KAFKA-15489, Kafka 3.7).
	// Off gives the earlier behaviour, where a partitioned leader keeps
	// its role until it hears of a newer epoch. Default on.
	CheckQuorum bool
	// HighWatermarkInFetch makes followers send the high-water mark they
	// know in Fetch, and the leader answer a waiting Fetch as soon as its
	// high-water mark passes it (KAFKA-14145, Kafka 4.1). Off gives the
	// earlier behaviour, where a waiting Fetch is answered only by new
	// records or the end of its wait. Default on.
	HighWatermarkInFetch bool
	// LeaderRestartsAsLeader brings back KRaft before KAFKA-10527 (Kafka
	// 2.8), with the leader fsync deferral KAFKA-10526 explored: a leader
	// counts its own appends toward the high-water mark before they are
	// flushed, and a leader that restarts resumes leading its epoch from
	// its quorum-state file instead of coming back resigned. A leader that
	// lost unflushed entries in a power loss then writes different entries
	// at the same offsets in the same epoch. Default off.
	LeaderRestartsAsLeader bool
}

// DefaultConfig returns Kafka 4.x's defaults.
func DefaultConfig() Config {
	return Config{
		ElectionTimeout:      1000 * time.Millisecond,
		FetchTimeout:         2000 * time.Millisecond,
		ElectionBackoffMax:   1000 * time.Millisecond,
		RequestTimeout:       2000 * time.Millisecond,
		RetryBackoff:         20 * time.Millisecond,
		AppendLinger:         25 * time.Millisecond,
		FetchMaxWait:         500 * time.Millisecond,
		MaxUncommitted:       10_000,
		MaxBatchBytes:        8 << 20,
		PreVote:              true,
		CheckQuorum:          true,
		HighWatermarkInFetch: true,
	}
}

// Setters binds the controller.quorum.* properties (props.Quorum) to a
// Config's fields.
var Setters = props.Bind(props.Quorum,
	props.Dur("controller.quorum.election.timeout.ms", func(c *Config) *time.Duration { return &c.ElectionTimeout }),
	props.Dur("controller.quorum.fetch.timeout.ms", func(c *Config) *time.Duration { return &c.FetchTimeout }),
	props.Dur("controller.quorum.election.backoff.max.ms", func(c *Config) *time.Duration { return &c.ElectionBackoffMax }),
	props.Dur("controller.quorum.request.timeout.ms", func(c *Config) *time.Duration { return &c.RequestTimeout }),
	props.Dur("controller.quorum.retry.backoff.ms", func(c *Config) *time.Duration { return &c.RetryBackoff }),
	props.Dur("controller.quorum.append.linger.ms", func(c *Config) *time.Duration { return &c.AppendLinger }),
)

// Validate reports every setting that is out of range, naming the Kafka
// config and what is accepted, as Kafka's ConfigException does.
func (c Config) Validate() error {
	errs := []error{Setters.Validate(&c)}
	if c.FetchMaxWait <= 0 {
		errs = append(errs, fmt.Errorf("invalid fetch max wait %v: must be positive", c.FetchMaxWait))
	}
	if c.MaxUncommitted < 1 {
		errs = append(errs, fmt.Errorf("invalid value %d for max uncommitted records: must be at least 1", c.MaxUncommitted))
	}
	if c.MaxBatchBytes < 1 {
		errs = append(errs, fmt.Errorf("invalid value %d for max batch bytes: must be at least 1", c.MaxBatchBytes))
	}
	return errors.Join(errs...)
}
