package broker

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/txn"
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
	// ZooKeeper, when set (and ControllerQuorum is not), runs the broker in
	// ZooKeeper mode: it registers in ZooKeeper, takes part in the
	// controller election, and gets its metadata from the ZooKeeper-mode
	// controller's LeaderAndIsr and UpdateMetadata requests.
	ZooKeeper *ZKConfig
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
	// FetchSessionCacheSlots is max.incremental.fetch.session.cache.slots
	// (1000): how many KIP-227 fetch sessions the broker keeps.
	FetchSessionCacheSlots int
	// FetchSessionEviction is min.incremental.fetch.session.eviction.ms
	// (120 s).
	FetchSessionEviction time.Duration
	// NoFetchSessions takes back KIP-227 (Kafka 1.1): the broker's replica
	// fetchers send every Fetch in full, without a session, and the broker
	// serves session requests in full without opening one.
	NoFetchSessions bool
	// FetchSessionFullReads makes the leader read every partition of a
	// fetch session for each of its requests, and followers rebuild every
	// partition of each request, as Kafka does; by default both touch only
	// the partitions that changed, which answers and behaves the same (a
	// test compares the two).
	FetchSessionFullReads bool
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
	// LogRetentionCheckInterval is log.retention.check.interval.ms (5
	// min): how often retention deletes segments.
	LogRetentionCheckInterval time.Duration
	// LogCleanerBackoff is log.cleaner.backoff.ms (15 s): how often the
	// log cleaner looks for a compacted log to clean.
	LogCleanerBackoff time.Duration
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
	// LegacyISRExpansion lets a follower join the ISR below the start of
	// the leader's epoch, as Kafka did before 2.1 (KAFKA-7128).
	LegacyISRExpansion bool
	// NoFetchLeaderEpoch makes the replica fetcher send no current leader
	// epoch in Fetch, OffsetsForLeaderEpoch and ListOffsets, as Kafka did
	// before KIP-320 (2.1): a leader cannot fence a follower that missed a
	// leader change (KAFKA-6880's zombie replica).
	NoFetchLeaderEpoch bool
	// LegacyProducerChecks validates idempotent producers as Kafka 0.11–1.1
	// did (see log.Config).
	LegacyProducerChecks bool
	// NoHighWatermarkOnISRCommit leaves the high-water mark alone when an
	// AlterPartition's answer commits an ISR change, as Kafka 2.7–2.8 did
	// (KAFKA-13091): after a shrink it waits for the next produce or for a
	// follower's fetch that moves.
	NoHighWatermarkOnISRCommit bool
	// KeepHighWatermarkOnFullTruncation leaves a follower's high-water
	// mark below its log start offset after it empties its log to start at
	// the leader's, as Kafka did before 2.5 (KAFKA-9491; see log.Config).
	KeepHighWatermarkOnFullTruncation bool
	// ProducerStateBeforeAppend records a batch in producer state before
	// its append, as Kafka 0.11–1.1 did (KAFKA-6683; see log.Config).
	ProducerStateBeforeAppend bool

	// Group configures the broker's group coordinator and
	// __consumer_offsets (offsets.topic.*, group.*).
	Group group.Config
	// ReadCommittedAboveLSO lets read_committed fetches read up to the
	// high-water mark, past open transactions (KAFKA-9807's race).
	ReadCommittedAboveLSO bool
	// Txn configures the broker's transaction coordinator and
	// __transaction_state (transaction.*).
	Txn txn.Config
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
		FetchSessionCacheSlots:          1000,
		FetchSessionEviction:            120 * time.Second,
		HighWatermarkCheckpointInterval: 5 * time.Second,
		RecoveryPointCheckpointInterval: 60 * time.Second,
		LogRetentionCheckInterval:       5 * time.Minute,
		LogCleanerBackoff:               15 * time.Second,
		AlterPartitionRetryBackoff:      100 * time.Millisecond,
		Group:                           group.DefaultConfig(),
		Txn:                             txn.DefaultConfig(),
		Quorum:                          kraft.DefaultConfig(),
		HeartbeatInterval:               2 * time.Second,
		SessionTimeout:                  9 * time.Second,
	}
}

// Setters binds the broker properties (props.Broker) to a Config's
// fields: its own, its group coordinator's (group.Setters) and its
// metadata log replica's (kraft.Setters).
var Setters = props.Bind(props.Broker,
	props.Num("min.insync.replicas", func(c *Config) *int { return &c.MinInsyncReplicas }),
	props.Dur("replica.lag.time.max.ms", func(c *Config) *time.Duration { return &c.ReplicaLagTimeMax }),
	props.Dur("replica.fetch.wait.max.ms", func(c *Config) *time.Duration { return &c.ReplicaFetchWaitMax }),
	props.Num("replica.fetch.min.bytes", func(c *Config) *int32 { return &c.ReplicaFetchMinBytes }),
	props.Num("replica.fetch.max.bytes", func(c *Config) *int32 { return &c.ReplicaFetchMaxBytes }),
	props.Num("replica.fetch.response.max.bytes", func(c *Config) *int32 { return &c.ReplicaFetchResponseMaxBytes }),
	props.Dur("replica.fetch.backoff.ms", func(c *Config) *time.Duration { return &c.ReplicaFetchBackoff }),
	props.Dur("replica.socket.timeout.ms", func(c *Config) *time.Duration { return &c.ReplicaSocketTimeout }),
	props.Num("max.incremental.fetch.session.cache.slots", func(c *Config) *int { return &c.FetchSessionCacheSlots }),
	props.Dur("min.incremental.fetch.session.eviction.ms", func(c *Config) *time.Duration { return &c.FetchSessionEviction }),
	props.Dur("replica.high.watermark.checkpoint.interval.ms", func(c *Config) *time.Duration { return &c.HighWatermarkCheckpointInterval }),
	props.Dur("log.flush.offset.checkpoint.interval.ms", func(c *Config) *time.Duration { return &c.RecoveryPointCheckpointInterval }),
	props.Func("log.flush.interval.messages", func(c *Config, v props.Value) { c.LogFlushIntervalMessages = flushMessages(v.Int()) }),
	props.Dur("log.flush.interval.ms", func(c *Config) *time.Duration { return &c.LogFlushInterval }),
	props.Dur("log.retention.check.interval.ms", func(c *Config) *time.Duration { return &c.LogRetentionCheckInterval }),
	props.Dur("log.cleaner.backoff.ms", func(c *Config) *time.Duration { return &c.LogCleanerBackoff }),
	props.Dur("retry.backoff.ms", func(c *Config) *time.Duration { return &c.AlterPartitionRetryBackoff }),
	props.Dur("broker.heartbeat.interval.ms", func(c *Config) *time.Duration { return &c.HeartbeatInterval }),
	props.Dur("broker.session.timeout.ms", func(c *Config) *time.Duration { return &c.SessionTimeout }),
	props.Embed(group.Setters, func(c *Config) *group.Config { return &c.Group }),
	props.Embed(txn.Setters, func(c *Config) *txn.Config { return &c.Txn }),
	props.Embed(kraft.Setters, func(c *Config) *kraft.Config { return &c.Quorum }),
)

// flushMessages maps Kafka's "never" (Long.MAX_VALUE, the default) to
// the Config's 0.
func flushMessages(n int64) int64 {
	if n == math.MaxInt64 {
		return 0
	}
	return n
}

// Set sets a broker property from its text form, as a server.properties
// line would, and checks the value.
func (c *Config) Set(name, value string) error { return Setters.Set(c, name, value) }

// Validate reports every invalid setting, and what a running broker lacks
// (its directory, network, controller quorum).
func (c Config) Validate() error {
	errs := []error{c.ValidateSettings()}
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
	}
	if c.Network == nil {
		errs = append(errs, errors.New("broker config: Network is nil: give the simulation's network"))
	}
	if z := c.ZooKeeper; z != nil {
		if c.ControllerQuorum != nil {
			errs = append(errs, errors.New("broker config: both controller.quorum.voters and zookeeper.connect are set: a broker runs in KRaft or in ZooKeeper mode"))
		}
		if len(z.Servers) == 0 {
			errs = append(errs, errors.New("broker config: zookeeper.connect is empty: give at least one ZooKeeper server"))
		}
		if z.SessionTimeout <= 0 {
			errs = append(errs, props.Invalid("zookeeper.session.timeout.ms", z.SessionTimeout.Milliseconds(), "value must be positive"))
		}
	}
	return errors.Join(errs...)
}

// ValidateSettings reports every invalid setting: each property's range
// (from the property table) and Kafka's rules between them.
func (c Config) ValidateSettings() error {
	errs := []error{Setters.Validate(&c)}
	if c.BrokerID < 0 {
		errs = append(errs, props.Invalid("node.id", c.BrokerID, "value must be at least 0"))
	}
	if c.LogFlushIntervalMessages < 0 {
		errs = append(errs, props.Invalid("log.flush.interval.messages", c.LogFlushIntervalMessages, "value must be at least 1 (0: never)"))
	}
	if c.ReplicaFetchWaitMax > c.ReplicaSocketTimeout {
		errs = append(errs, props.Invalid("replica.socket.timeout.ms", c.ReplicaSocketTimeout.Milliseconds(),
			"must be at least replica.fetch.wait.max.ms (%d)", c.ReplicaFetchWaitMax.Milliseconds()))
	}
	if err := c.Txn.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Truncation > TruncateToHighWatermark {
		errs = append(errs, props.Invalid("truncation mode", int(c.Truncation), "accepted are %s", strings.Join(truncationNames, ", ")))
	}
	if c.ControllerQuorum != nil {
		if err := c.Quorum.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Group.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ParseAcks parses a producer's acks setting: all, -1, 0 or 1.
func ParseAcks(s string) (int16, error) {
	v, err := props.Parse(props.Producer, "acks", s)
	if err != nil {
		return 0, err
	}
	switch v.String() {
	case "0":
		return protocol.AcksNone, nil
	case "1":
		return protocol.AcksLeader, nil
	}
	return protocol.AcksAll, nil
}

// MinInsyncReplicasConfig is the topic config name the broker reads from
// metadata.
const MinInsyncReplicasConfig = "min.insync.replicas"
