package cluster

import (
	"fmt"
	"strings"

	"github.com/kafkasim/kafkasim/broker"
)

// A Variant is a protocol variant: a switch that brings back how Kafka
// worked before a KIP or a fix, so that the bugs of that time can be found
// again, or turns on a newer protocol that Kafka's defaults leave off.
// Variants lists them all; SetSwitch, the scenario format, the run header
// and the README come from that one list.
type Variant struct {
	// Name is the switch's name (SetSwitch).
	Name string
	// Field is its field in a scenario's cluster.protocol. With Flag set
	// the field is a boolean, true selecting Flag; otherwise it is a
	// string, one of Values.
	Field string
	Flag  string
	// Undoes names the KIP or JIRA whose protocol the variant takes back.
	Undoes string
	// Brings says what the variant brings back, in one line.
	Brings string
	// Values are the accepted values; Default is kafkasim's (and current
	// Kafka's) own.
	Values  []string
	Default string
	// Applies says whose config it changes: broker, controller, quorum
	// (the metadata log's voters and observers), zookeeper (ZooKeeper
	// mode's brokers and controller; AppliesZooKeeper) or consumer (AppliesConsumer:
	// the consumers a scenario's workload starts, Config.Consumer).
	Applies string
	// Header is the run header's entry (name, value) for a value.
	Header func(value string) (string, string)
	apply  func(c *Config, value string) error
}

func boolean(set func(c *Config, b bool)) func(c *Config, v string) error {
	return func(c *Config, v string) error { set(c, v == "true"); return nil }
}

func shown(name string) func(string) (string, string) {
	return func(v string) (string, string) { return "kafkasim." + name, v }
}

var bools = []string{"true", "false"}

// AppliesZooKeeper is Variant.Applies of the switches that exist only in
// ZooKeeper mode.
const AppliesZooKeeper = "zookeeper"

// AppliesConsumer is Variant.Applies of the switches that change the
// consumers (Config.Consumer), not the cluster.
const AppliesConsumer = "consumer"

// variants is every protocol variant, in the order the README lists them.
var variants = []Variant{
	{Name: "truncation", Field: "truncation", Undoes: "KIP-101 (0.11), KIP-279 (2.0), truncation on fetch (2.7)",
		Brings:  "how followers found where their log diverged: epochs (2.0–2.6, KIP-279), legacy-epochs (0.11–1.x, one OffsetsForLeaderEpoch), high-watermark (before 0.11: truncate to the local high-water mark, KAFKA-1211)",
		Values:  []string{"fetch", "epochs", "legacy-epochs", "high-watermark"},
		Default: "fetch", Applies: "broker", Header: shown("truncation"),
		apply: func(c *Config, v string) error {
			m, err := broker.ParseTruncationMode(v)
			c.Broker.Truncation = m
			return err
		}},
	{Name: "legacy-high-watermark", Field: "legacy_high_watermark", Flag: "true", Undoes: "KAFKA-15583 (Kafka 3.7)",
		Brings: "the high-water mark advances while the ISR is below min.insync.replicas", Values: bools, Default: "false",
		Applies: "broker", Header: shown("legacy-high-watermark"),
		apply: boolean(func(c *Config, b bool) { c.Broker.LegacyHighWatermark = b })},
	{Name: "legacy-producer-checks", Field: "legacy_producer_checks", Flag: "true", Undoes: "KAFKA-6683 (Kafka 2.0)",
		Brings: "the idempotent producer checks of Kafka 0.11–1.1: DUPLICATE_SEQUENCE_NUMBER for a batch older than the cached ones, UNKNOWN_PRODUCER_ID unless a new producer starts at sequence 0", Values: bools,
		Default: "false", Applies: "broker", Header: shown("legacy-producer-checks"),
		apply: boolean(func(c *Config, b bool) { c.Broker.LegacyProducerChecks = b })},
	{Name: "elr", Field: "eligible_leader_replicas", Flag: "true", Undoes: "",
		Brings: "KIP-966's eligible leader replicas (eligible.leader.replicas.version=1; opt-in in Kafka 4.0, on for clusters created by 4.1); off is Kafka before, where the last ISR member stays in the ISR (last replica standing)",
		Values: []string{"false", "true"}, Default: "false", Applies: "controller",
		Header: func(v string) (string, string) {
			if v == "true" {
				return "eligible.leader.replicas.version", "1"
			}
			return "eligible.leader.replicas.version", "0"
		},
		apply: boolean(func(c *Config, b bool) { c.Controller.ELR = b })},
	{Name: "isr-broker-epoch-check", Field: "no_broker_epoch_check", Flag: "false", Undoes: "KIP-903 (Kafka 3.5)",
		Brings: "the controller accepts an AlterPartition that puts back into the ISR a replica whose broker restarted since (KAFKA-14139)",
		Values: bools, Default: "true", Applies: "controller", Header: shown("isr-broker-epoch-check"),
		apply: boolean(func(c *Config, b bool) { c.Controller.IgnoreISRBrokerEpochs = !b })},
	{Name: "pre-vote", Field: "no_pre_vote", Flag: "false", Undoes: "KIP-996 (Kafka 4.0)",
		Brings: "KRaft elections without pre-vote: a voter cut off from the quorum forces a new epoch when it comes back",
		Values: bools, Default: "true", Applies: "quorum", Header: shown("pre-vote"),
		apply: boolean(func(c *Config, b bool) { c.Quorum.PreVote = b })},
	{Name: "check-quorum", Field: "no_check_quorum", Flag: "false", Undoes: "KAFKA-15489 (Kafka 3.7)",
		Brings: "a partitioned KRaft leader keeps leading until it hears of a newer epoch", Values: bools, Default: "true",
		Applies: "quorum", Header: shown("check-quorum"),
		apply: boolean(func(c *Config, b bool) { c.Quorum.CheckQuorum = b })},
	{Name: "high-watermark-in-fetch", Field: "no_high_watermark_in_fetch", Flag: "false", Undoes: "KAFKA-14145 (Kafka 4.1)",
		Brings: "KRaft followers learn the high-water mark only with new records or at the end of a fetch's wait",
		Values: bools, Default: "true", Applies: "quorum", Header: shown("high-watermark-in-fetch"),
		apply: boolean(func(c *Config, b bool) { c.Quorum.HighWatermarkInFetch = b })},
	{Name: "isr-epoch-start-check", Field: "no_isr_epoch_start_check", Flag: "false", Undoes: "KAFKA-7128 (Kafka 2.1)",
		Brings: "a follower joins the ISR once it reaches the leader's high-water mark, which after a leader change may lag what the previous leader committed: elected next, it loses those records",
		Values: bools, Default: "true", Applies: "broker", Header: shown("isr-epoch-start-check"),
		apply: boolean(func(c *Config, b bool) { c.Broker.LegacyISRExpansion = !b })},
	{Name: "fetch-sessions", Field: "no_fetch_sessions", Flag: "false", Undoes: "KIP-227 (Kafka 1.1)",
		Brings: "every Fetch of followers and consumers in full, listing every partition and answered for every partition, without incremental fetch sessions",
		Values: bools, Default: "true", Applies: "broker", Header: shown("fetch-sessions"),
		apply: boolean(func(c *Config, b bool) { c.Broker.NoFetchSessions = !b })},
	{Name: "isr-updates", Field: "isr_updates", Undoes: "KIP-497 (Kafka 2.7)",
		Brings:  "ZooKeeper mode: how leaders change their ISR: alter-partition (2.7+, AlterIsr to the controller, which writes the partition state znode) or zookeeper (before 2.7: the leader writes the znode itself, conditionally on its cached zkVersion, and leaves an /isr_change_notification for the controller)",
		Values:  []string{"alter-partition", "zookeeper"},
		Default: "alter-partition", Applies: AppliesZooKeeper, Header: shown("isr-updates"),
		apply: func(c *Config, v string) error {
			m, err := broker.ParseISRUpdateMode(v)
			c.ZKBroker.ISRUpdates = m
			return err
		}},
	{Name: "controller-epoch-fence", Field: "no_controller_epoch_fence", Flag: "false", Undoes: "KAFKA-6082 (Kafka 2.1)",
		Brings: "ZooKeeper mode: the controller's znode writes are not fenced by /controller_epoch's zkVersion, and a controller whose session expired retries its writes under way on the new session before it resigns: a zombie controller writes after failover",
		Values: bools, Default: "true", Applies: AppliesZooKeeper, Header: shown("controller-epoch-fence"),
		apply: boolean(func(c *Config, b bool) { c.ZKBroker.NoControllerEpochFence = !b })},
	{Name: "isr-zkversion-recheck", Field: "no_isr_zkversion_recheck", Flag: "false", Undoes: "KAFKA-1382 (Kafka 0.8.2); the symptom of KAFKA-2729 and KAFKA-3042",
		Brings: "ZooKeeper mode with isr-updates=zookeeper: a leader whose ISR write lost its answer gets BADVERSION for its own write on the retry and keeps its stale cached zkVersion: every later ISR change is skipped ('Cached zkVersion not equal to that in zookeeper') until a LeaderAndIsr with a newer leader epoch",
		Values: bools, Default: "true", Applies: AppliesZooKeeper, Header: shown("isr-zkversion-recheck"),
		apply: boolean(func(c *Config, b bool) { c.ZKBroker.NoZkVersionRecheck = !b })},
	{Name: "transaction-version", Field: "transaction_version", Undoes: "KIP-890 part 2 (Kafka 4.0)",
		Brings: "transactions version 1: producers add partitions themselves (AddPartitionsToTxn) and the producer epoch stays the same across transactions, so a delayed EndTxn ends a later transaction (KAFKA-17754), and with transaction.partition.verification.enable=false a late Produce opens a transaction no marker ends (KAFKA-14402's hanging transaction)",
		Values: []string{"2", "1"}, Default: "2", Applies: "broker",
		Header: func(v string) (string, string) { return "transaction.version", v },
		apply: func(c *Config, v string) error {
			switch v {
			case "1":
				c.Broker.Txn.Version = 1
			case "2":
				c.Broker.Txn.Version = 2
			default:
				return fmt.Errorf("invalid transaction version %q: accepted are 2 and 1", v)
			}
			return nil
		}},
	{Name: "read-committed-above-lso", Field: "read_committed_above_lso", Flag: "true", Undoes: "KAFKA-9807 (Kafka 2.6)",
		Brings: "read_committed fetches read up to the high-water mark, past the last stable offset: records of open transactions are returned (and later aborted)",
		Values: bools, Default: "false", Applies: "broker", Header: shown("read-committed-above-lso"),
		apply: boolean(func(c *Config, b bool) { c.Broker.ReadCommittedAboveLSO = b })},
	{Name: "leader-restarts-resigned", Field: "no_leader_restarts_resigned", Flag: "false", Undoes: "KAFKA-10527 (Kafka 2.8)",
		Brings: "a KRaft leader that restarts resumes leading its epoch from its quorum-state file, and (as KAFKA-10526's fsync deferral) counts its own appends before it flushes them: after a power loss it writes different entries at the offsets it lost, in the same epoch",
		Values: bools, Default: "true", Applies: "quorum", Header: shown("leader-restarts-resigned"),
		apply: boolean(func(c *Config, b bool) { c.Quorum.LeaderRestartsAsLeader = !b })},
	{Name: "fetch-leader-epoch", Field: "no_fetch_leader_epoch", Flag: "false", Undoes: "KIP-320 (Kafka 2.1)",
		Brings: "followers send no current leader epoch in Fetch, OffsetsForLeaderEpoch and ListOffsets, so no FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH: a zombie follower that missed leader changes keeps fetching from its old leader once it leads again, and appends its records after a suffix that leader truncated (KAFKA-6880; with truncation=epochs, as Kafka 2.0, since truncation on fetch would catch the divergence)",
		Values: bools, Default: "true", Applies: "broker", Header: shown("fetch-leader-epoch"),
		apply: boolean(func(c *Config, b bool) { c.Broker.NoFetchLeaderEpoch = !b })},
	{Name: "isr-commit-high-watermark", Field: "no_isr_commit_high_watermark", Flag: "false", Undoes: "KAFKA-13091 (Kafka 3.0)",
		Brings: "the leader does not advance the high-water mark when an AlterPartition's answer commits an ISR shrink (asynchronous ISR changes, Kafka 2.7–2.8): acks=all produces wait for the next produce or for a follower's fetch that moves, or time out. It shows in ZooKeeper mode, where only the answer tells the leader; a KRaft leader also advances it when the metadata log brings the change",
		Values: bools, Default: "true", Applies: "broker", Header: shown("isr-commit-high-watermark"),
		apply: boolean(func(c *Config, b bool) { c.Broker.NoHighWatermarkOnISRCommit = !b })},
	{Name: "high-watermark-on-full-truncation", Field: "no_high_watermark_on_full_truncation", Flag: "false", Undoes: "KAFKA-9491 (Kafka 2.5)",
		Brings: "a follower whose log ends below its leader's log start offset empties its log and starts at the leader's log start offset, but keeps its old high-water mark, below its own log start offset, until a fetch response brings the leader's (Kafka before 2.5, whose brokers then failed fetches that resolved the high-water mark's position if the follower became leader meanwhile, not modelled)",
		Values: bools, Default: "true", Applies: "broker", Header: shown("high-watermark-on-full-truncation"),
		apply: boolean(func(c *Config, b bool) { c.Broker.KeepHighWatermarkOnFullTruncation = !b })},
	{Name: "producer-state-after-append", Field: "producer_state_before_append", Flag: "false", Undoes: "KAFKA-6683 (Kafka 2.0)",
		Brings: "a batch enters producer state before the log appends it (Kafka 0.11–1.1): the producer-state snapshot that the segment roll inside the append writes already holds the rolling batch, state past the snapshot's own offset; a replica that loads it after losing that batch (a power loss) or truncating to that offset keeps a producer batch its log does not have (Kafka's replica fetcher then crashed on the state)",
		Values: bools, Default: "true", Applies: "broker", Header: shown("producer-state-after-append"),
		apply: boolean(func(c *Config, b bool) { c.Broker.ProducerStateBeforeAppend = !b })},
	{Name: "owned-partitions-generation", Field: "no_owned_partitions_generation", Flag: "false", Undoes: "KAFKA-12984 (Kafka 3.0)",
		Brings: "the cooperative-sticky assignor (in the group leader's consumer) counts every partition a member claims as owned, whatever the member's generation: a member that rejoins with an older generation's partitions keeps them next to their current owner, so two consumers of one group own one partition in the same generation (the fix resolves claims by generation and drops ties)",
		Values: bools, Default: "true", Applies: AppliesConsumer, Header: shown("owned-partitions-generation"),
		apply: boolean(func(c *Config, b bool) { c.Consumer.TrustOwnedPartitions = !b })},
	{Name: "rejoin-drops-lost-partitions", Field: "no_rejoin_drops_lost_partitions", Flag: "false", Undoes: "KAFKA-12983 (Kafka 3.0)",
		Brings: "a consumer that loses its member id or generation while it rejoins (JoinGroup, SyncGroup or Heartbeat answered UNKNOWN_MEMBER_ID or ILLEGAL_GENERATION) keeps its partitions, since onJoinPrepare ran once when the rebalance began, and its next JoinGroup claims them as owned though the group gave them to others",
		Values: bools, Default: "true", Applies: AppliesConsumer, Header: shown("rejoin-drops-lost-partitions"),
		apply: boolean(func(c *Config, b bool) { c.Consumer.KeepPartitionsOnRejoin = !b })},
}

// Variants returns every protocol variant.
func Variants() []Variant { return append([]Variant(nil), variants...) }

// VariantByName returns the variant of a switch name.
func VariantByName(name string) (Variant, bool) {
	for _, v := range variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

// VariantByField returns the variant of a scenario's cluster.protocol
// field.
func VariantByField(field string) (Variant, bool) {
	for _, v := range variants {
		if v.Field == field {
			return v, true
		}
	}
	return Variant{}, false
}

// Accepts says what a scenario's field takes, in words.
func (v Variant) Accepts() string {
	if v.Flag != "" {
		return fmt.Sprintf("true (%s=%s) or false", v.Name, v.Flag)
	}
	return "one of " + strings.Join(v.Values, ", ")
}

// VariantsMarkdown renders the variants as a Markdown table.
func VariantsMarkdown() string {
	var b strings.Builder
	b.WriteString("| `cluster.protocol` field | switch | accepts | undoes | brings back | applies to |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for _, v := range variants {
		undoes := v.Undoes
		if undoes == "" {
			undoes = "—"
		}
		fmt.Fprintf(&b, "| `%s` | `%s` | %s | %s | %s | %s |\n", v.Field, v.Name, v.Accepts(), undoes, v.Brings, v.Applies)
	}
	return b.String()
}
