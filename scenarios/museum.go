package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// A MuseumEntry is one known Kafka bug: where it is recorded, how it
// happens, the protocol variant (or configuration) that brings it back,
// the built-in scenario that shows it on a hand-written schedule, the
// finding that shows it, and a hunt that looks for it blind (the same
// cluster and workload, the schedule drawn by the hunt's knobs).
type MuseumEntry struct {
	// Name is the entry's name on the command line ("kafka-1211").
	Name string
	// Bug is the JIRA, KIP or report that records it.
	Bug string
	// Mechanism says in one line how the bug loses or corrupts data.
	Mechanism string
	// Variant is the protocol variant or configuration that brings the
	// bug back, as a scenario spells it.
	Variant string
	// Scripted is the built-in scenario that shows the bug on a
	// hand-written schedule ("" when none exists yet).
	Scripted string
	// Target is what the scripted run and the hunt must find.
	Target Target
	// Base, when set, builds the hunt's scenario; unset, the hunt runs the
	// scripted scenario's cluster and workload (its faults dropped).
	Base func() (Scenario, error)
	// Hunt configures the hunt: the fault kinds it draws from (the
	// family the bug lives in; the schedule is the hunt's).
	Hunt HuntOptions
	// Fix turns the hunt's scenario into current Kafka (the variant off,
	// or the recommended configuration), for the false-positive column.
	Fix func(Scenario) Scenario
	// Needs, when set, says what the harness lacks to run the entry
	// faithfully (such as "needs variant X"): the entry is listed, not run.
	Needs string
}

// Runnable reports whether the harness can run the entry.
func (e MuseumEntry) Runnable() bool { return e.Needs == "" }

// HuntBase returns the scenario the entry's hunt draws its seeds from.
func (e MuseumEntry) HuntBase() (Scenario, error) {
	if !e.Runnable() {
		return Scenario{}, fmt.Errorf("museum entry %s is not runnable yet: %s", e.Name, e.Needs)
	}
	if e.Base != nil {
		return e.Base()
	}
	return Builtin(e.Scripted)
}

// Current returns the hunt's scenario with current Kafka: the variant off.
func (e MuseumEntry) Current() (Scenario, error) {
	s, err := e.HuntBase()
	if err != nil {
		return Scenario{}, err
	}
	s.Name += "-current"
	if e.Fix != nil {
		return e.Fix(s), nil
	}
	s.Cluster.Protocol = Protocol{}
	return s, nil
}

// withProtocol returns a Base that takes a built-in and sets a variant.
func withProtocol(builtin string, set func(*Protocol)) func() (Scenario, error) {
	return func() (Scenario, error) {
		s, err := Builtin(builtin)
		if err != nil {
			return Scenario{}, err
		}
		set(&s.Cluster.Protocol)
		return s, nil
	}
}

// txnHuntBase returns a Base that takes a built-in whose transactions
// all commit and lets them poll (read_committed) and abort one in three,
// as Jepsen's transactional workload does: the hunt's seeds may then end
// a committed transaction's records with a later abort marker, which the
// polls show.
func txnHuntBase(builtin string) func() (Scenario, error) {
	return func() (Scenario, error) {
		s, err := Builtin(builtin)
		if err != nil {
			return Scenario{}, err
		}
		s.Workload.Transactions = slices.Clone(s.Workload.Transactions)
		for i := range s.Workload.Transactions {
			t := &s.Workload.Transactions[i]
			t.PollChance, t.AbortChance = 1, 0.3
		}
		return s, nil
	}
}

// topicConfig returns a Fix that sets properties on every topic.
func topicConfig(kv ...string) func(Scenario) Scenario {
	return func(s Scenario) Scenario {
		s.Cluster.Topics = slices.Clone(s.Cluster.Topics)
		for i := range s.Cluster.Topics {
			t := &s.Cluster.Topics[i]
			t.Config = maps.Clone(t.Config)
			if t.Config == nil {
				t.Config = map[string]string{}
			}
			for j := 0; j+1 < len(kv); j += 2 {
				t.Config[kv[j]] = kv[j+1]
			}
		}
		return s
	}
}

// producerConfig returns a Fix that sets properties on every producer.
func producerConfig(kv ...string) func(Scenario) Scenario {
	return func(s Scenario) Scenario {
		s.Workload.Producers = slices.Clone(s.Workload.Producers)
		for i := range s.Workload.Producers {
			p := &s.Workload.Producers[i]
			p.Config = maps.Clone(p.Config)
			if p.Config == nil {
				p.Config = map[string]string{}
			}
			for j := 0; j+1 < len(kv); j += 2 {
				p.Config[kv[j]] = kv[j+1]
			}
		}
		return s
	}
}

// Museum is the table of known Kafka bugs, runnable entries first.
var Museum = []MuseumEntry{
	{
		Name: "kafka-1211", Bug: "KAFKA-1211 (KIP-101)",
		Mechanism: "a restarted follower truncates its log to its checkpointed high-water mark, is elected, and the records only it held are gone",
		Variant:   "truncation=high-watermark", Scripted: "kip101-loss-legacy",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.Isolate}},
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowVariant},
	},
	{
		Name: "kip-101-divergence", Bug: "KIP-101 (second scenario)",
		Mechanism: "two replicas that lost unflushed records in a power loss come back with different records at the same offsets, which truncating to the high-water mark cannot see",
		Variant:   "truncation=high-watermark", Scripted: "kip101-divergence-legacy",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.PowerLoss}},
		Target: Target{Finding: string(checker.ReplicaDivergence)},
	},
	{
		Name: "kafka-6361", Bug: "KAFKA-6361 (KIP-279)",
		Mechanism: "after fast leader changes, OffsetsForLeaderEpoch answers with an epoch the follower never had and the follower keeps a diverged suffix",
		Variant:   "truncation=legacy-epochs", Scripted: "kip279-fast-leader-changes-legacy",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Partition, fault.Isolate}},
		Target: Target{Finding: string(checker.ReplicaDivergence)},
	},
	{
		Name: "kafka-14139", Bug: "KAFKA-14139 (KIP-903)",
		Mechanism: "a stale AlterPartition keeps a broker that restarted without its data in the ISR; it is elected and committed records are lost",
		Variant:   "no_broker_epoch_check", Scripted: "kip903-stale-alter-partition",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.DiskLoss, fault.Partition}},
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowVariant},
	},
	{
		Name: "kafka-15583", Bug: "KAFKA-15583",
		Mechanism: "the high-water mark advances while the ISR is below min.insync.replicas, so consumers read records no eligible leader replica holds; the leader dies and an ELR member is elected",
		Variant:   "legacy_high_watermark with eligible_leader_replicas (KIP-966 needed the fix)",
		Hunt:      HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.Isolate, fault.Partition}, ContinueAfterInvariant: true},
		Base:      withProtocol("last-replica-standing-elr", func(p *Protocol) { *p = p.With("legacy-high-watermark", "true") }),
		Fix: func(s Scenario) Scenario {
			s.Cluster.Protocol = s.Cluster.Protocol.With("legacy-high-watermark", "false")
			return s
		},
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowVariant},
	},
	{
		Name: "jepsen-2013", Bug: "Jepsen: Kafka (2013)",
		Mechanism: "with min.insync.replicas=1 the ISR shrinks to the leader alone; when it dies an unclean election picks a replica without acknowledged writes",
		Variant:   "min.insync.replicas=1, unclean.leader.election.enable=true (configuration)", Scripted: "jepsen-2013",
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowUnclean},
		Fix:    topicConfig("min.insync.replicas", "2", "unclean.leader.election.enable", "false"),
	},
	{
		Name: "kip-106", Bug: "KIP-106 (unclean election off by default since 0.11)",
		Mechanism: "an out-of-sync replica is elected when the ISR is gone and truncates the log others acknowledged",
		Variant:   "unclean.leader.election.enable=true (configuration)", Scripted: "unclean-election-loss",
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowUnclean},
		Fix:    topicConfig("unclean.leader.election.enable", "false"),
	},
	{
		Name: "kip-679", Bug: "KIP-679 (acks=all by default since 3.0)",
		Mechanism: "acks=1 acknowledges before any follower copies the write; the leader dies and a follower without it is elected",
		Variant:   "acks=1 (configuration)", Scripted: "acks1-leader-dies",
		Target: Target{Finding: string(checker.LostWrite), Allowance: checker.AllowAcks},
		Fix:    producerConfig("acks", "all"),
	},
	{
		Name: "zombie-leader", Bug: "acks=1 on a zombie leader",
		Mechanism: "a leader cut off from the controller keeps acknowledging acks=1 writes until it is fenced; the new leader never had them",
		Variant:   "acks=1 (configuration)", Scripted: "zombie-leader",
		Target: Target{Finding: string(checker.LostWrite), Allowance: checker.AllowAcks},
		Fix:    producerConfig("acks", "all"),
	},
	{
		Name: "kip-966", Bug: "KIP-966 (last replica standing)",
		Mechanism: "the ISR shrinks to one replica, which loses power with unflushed records and is elected again as the last ISR member",
		Variant:   "eligible_leader_replicas off; no fsync", Scripted: "last-replica-standing",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Isolate, fault.PowerLoss, fault.Crash}},
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowNoFsync},
		Fix: func(s Scenario) Scenario {
			s.Cluster.Protocol = Protocol{"elr": "true"}
			return s
		},
	},
	{
		Name: "power-loss-no-fsync", Bug: "Kafka's design: replication instead of fsync",
		Mechanism: "two of three replicas lose power before the OS writes back acknowledged records; one of them is elected",
		Variant:   "log.flush.interval.messages unset (configuration)", Scripted: "power-loss-two-of-three",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Isolate, fault.PowerLoss, fault.AllBrokers}},
		Target: Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowNoFsync},
		Fix: func(s Scenario) Scenario {
			s.Cluster.BrokerConfig = maps.Clone(s.Cluster.BrokerConfig)
			s.Cluster.BrokerConfig["log.flush.interval.messages"] = "1"
			return s
		},
	},
	{
		Name: "kafka-7128", Bug: "KAFKA-7128 (Kafka 2.1)",
		Mechanism: "a new leader's high-water mark lags what its predecessor committed; a follower that reaches it joins the ISR without the committed records, is elected next, and they are lost",
		Variant:   "no_isr_epoch_start_check",
		Hunt:      HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.Isolate, fault.Partition}},
		Base:      withProtocol("standard", func(p *Protocol) { *p = p.With("isr-epoch-start-check", "false") }),
		Target:    Target{Finding: string(checker.LostCommitted), Allowance: checker.AllowVariant},
	},
	{Name: "kafka-6082", Bug: "KAFKA-6082 (ZooKeeper mode, fixed in 2.1)",
		Mechanism: "a controller whose ZooKeeper session expired carries on as a zombie: its write, retried on the session its client re-created and not fenced by /controller_epoch's zkVersion, lands after a newer controller took over; the leader's cached zkVersion is stale from then on and its ISR changes are refused in a loop",
		Variant:   "no_controller_epoch_fence (ZooKeeper mode)", Scripted: "zk-zombie-controller-legacy",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Partition, fault.Isolate, fault.Cut, fault.Pause}},
		Target: Target{Finding: string(checker.DeposedControllerWrite)},
	},
	{Name: "kafka-1382", Bug: "KAFKA-1382 (fixed in 0.8.2); the same stuck ISR reported as KAFKA-2729 and KAFKA-3042",
		Mechanism: "a leader that writes its ISR to ZooKeeper loses the answer, resends, gets BADVERSION for its own write and keeps its stale cached zkVersion: every later ISR change is skipped, so it cannot drop a dead follower and acks=all stalls",
		Variant:   "isr_updates=zookeeper with no_isr_zkversion_recheck (ZooKeeper mode)", Scripted: "zk-isr-stale-zkversion-legacy",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Partition, fault.Isolate, fault.Cut}},
		Target: Target{Finding: string(checker.StaleISRZkVersion)},
	},
	{
		Name: "kafka-9807", Bug: "KAFKA-9807",
		Mechanism: "read_committed fetches read past the last stable offset: consumers see records of open transactions, their own uncommitted sends and records that are later aborted",
		Variant:   "read_committed_above_lso", Scripted: "kafka-9807-read-above-lso",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.Partition}},
		Target: Target{Finding: string(checker.PrecommittedRead)},
	},
	{
		Name: "kafka-14402", Bug: "KAFKA-14402 (KIP-890)",
		Mechanism: "a Produce delayed past its transaction's abort marker opens a transaction no marker ends: the last stable offset hangs and read_committed consumers stall",
		Variant:   "transaction_version=1 with transaction.partition.verification.enable=false", Scripted: "kafka-14402-hanging-txn",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Delay}, DelayMessages: []string{"Produce"}},
		Target: Target{Finding: string(checker.HangingTransaction)},
	},
	{
		Name: "kafka-17754", Bug: "KAFKA-17754 (KIP-890)",
		Mechanism: "a delayed EndTxn of one transaction commits or aborts the producer's next transaction, which has the same producer epoch: records it writes afterwards open a transaction its own marker never ends, and a later abort marker aborts them though it committed",
		Variant:   "transaction_version=1 with transaction.partition.verification.enable=false", Scripted: "kafka-17754-delayed-endtxn",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Delay}, DelayMessages: []string{"EndTxn", "Produce"}},
		Base:   txnHuntBase("kafka-17754-delayed-endtxn"),
		Target: Target{Finding: string(checker.CommittedTxnAborted)},
	},
	{
		Name: "kafka-6880", Bug: "KAFKA-6880 (KIP-320, Kafka 2.1)",
		Mechanism: "a follower cut off from the controller keeps fetching on stale metadata; its Fetch carries no leader epoch, so when its old leader leads again after truncating, it answers the zombie, which appends after a suffix the leader truncated: the logs diverge below the high-water mark",
		Variant:   "no_fetch_leader_epoch with truncation=epochs (Kafka 2.0)", Scripted: "kafka-6880-zombie-follower",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.ControllerPartition, fault.Crash, fault.Pause}, Buggify: true},
		Target: Target{Finding: string(checker.CommittedPrefixMismatch)},
	},
	{
		Name: "kafka-15489", Bug: "KAFKA-15489 (Kafka 3.7)",
		Mechanism: "a KRaft leader cut off from the other voters does not resign; the brokers on its side keep fetching metadata from it while a newer leader has moved the quorum on",
		Variant:   "no_check_quorum", Scripted: "kafka-15489-stale-metadata",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Partition}},
		Target: Target{Finding: string(checker.StaleMetadata)},
	},
	{
		Name: "kafka-10527", Bug: "KAFKA-10527 (Kafka 2.8)",
		Mechanism: "a KRaft leader that lost unflushed log entries in a power loss comes back leading the same epoch and writes other entries at those offsets: two logs for one epoch",
		Variant:   "no_leader_restarts_resigned", Scripted: "kafka-10527-leader-restart",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.PowerLoss, fault.Crash}},
		Target: Target{Finding: string(checker.MetadataDivergence)},
	},
	{Name: "kafka-3919", Bug: "KAFKA-3919", Mechanism: "after a power outage, recovery rebuilds acks=1 offsets wrongly and offsets go backwards",
		Variant: "pre-0.11 log recovery", Needs: "needs variant: log recovery of Kafka 0.10 (offsets from the message set)"},
	{
		Name: "kafka-13091", Bug: "KAFKA-13091 (Kafka 3.0)",
		Mechanism: "with asynchronous ISR changes (AlterPartition, ZooKeeper mode 2.7-2.8) the leader does not advance the high-water mark when the controller's answer commits an ISR shrink: acks=all produces wait for the next produce or a follower's fetch that moves, or time out (unavailability, not loss)",
		Variant:   "no_isr_commit_high_watermark", Scripted: "kafka-13091-isr-shrink-hwm",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Partition, fault.Pause, fault.Cut}},
		Target: Target{Finding: string(checker.StuckHighWatermark)},
	},
	{
		Name: "kafka-9491", Bug: "KAFKA-9491 (Kafka 2.5; reported as fast election during reassignment and replica fetcher failures)",
		Mechanism: "a follower behind its leader's log start offset empties its log and starts at that offset but keeps its old high-water mark, below its own log start offset; elected before its next fetch, Kafka's broker failed the fetches that resolved that high-water mark's position (the failures are not modelled: the finding is the state)",
		Variant:   "no_high_watermark_on_full_truncation", Scripted: "kafka-9491-full-truncation-hwm",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.Pause, fault.Isolate}},
		Target: Target{Finding: string(checker.LogStartAboveHWM)},
	},
	{
		Name: "kafka-12984", Bug: "KAFKA-12984 (Kafka 3.0), fed by KAFKA-12983",
		Mechanism: "the cooperative-sticky assignor of Kafka 2.8 sent no generation with a member's owned partitions, so the claims of a member rejoining from an older generation counted as much as the current owner's: both kept the partition, one partition went to two consumers of one generation (the fix resolves claims by generation and drops ties); the consumer of the time (KAFKA-12983) rejoined claiming partitions it had lost during the rebalance",
		Variant:   "no_owned_partitions_generation with no_rejoin_drops_lost_partitions (Kafka 2.8's consumer)", Scripted: "kafka-12984-cooperative-double-claim",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Delay, fault.Crash, fault.Isolate}, DelayMessages: []string{"JoinGroup"}, Workload: true},
		Target: Target{Finding: string(checker.PartitionOwnedTwice)},
	},
	{
		Name: "kafka-6683", Bug: "KAFKA-6683 (Kafka 2.0)",
		Mechanism: "the broker recorded a batch in producer state before it appended it, so the producer-state snapshot written by the segment roll inside that append held the batch that rolled, state past the snapshot's own offset; a replica that loads the snapshot without that batch (lost in a power loss, or truncated away) remembers a batch its log does not hold, on which Kafka's replica fetcher crashed (the crash is not modelled: the finding is the state; the fix also dropped the DUPLICATE_SEQUENCE_NUMBER check, legacy_producer_checks)",
		Variant:   "producer_state_before_append", Scripted: "kafka-6683-snapshot-past-offset",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.PowerLoss, fault.Crash, fault.Partition}},
		Target: Target{Finding: string(checker.InvalidProducerState)},
	},
	{
		Name: "kip-996", Bug: "KIP-996 (pre-vote, Kafka 4.0)",
		Mechanism: "a voter cut off from the quorum stands in epoch after epoch; when it rejoins, its Vote requests in its high epoch push a healthy leader out of its epoch",
		Variant:   "no_pre_vote", Scripted: "kip-996-disruptive-voter",
		Hunt:   HuntOptions{Kinds: []fault.Kind{fault.Partition, fault.Isolate}},
		Target: Target{Finding: string(checker.DisruptedQuorum)},
	},
}

// MuseumNames lists the museum's entries by name, in table order.
func MuseumNames() []string {
	out := make([]string, len(Museum))
	for i, e := range Museum {
		out[i] = e.Name
	}
	return out
}

// MuseumEntryNamed returns the museum's entry with the given name.
func MuseumEntryNamed(name string) (MuseumEntry, bool) {
	i := slices.IndexFunc(Museum, func(e MuseumEntry) bool { return e.Name == name })
	if i < 0 {
		return MuseumEntry{}, false
	}
	return Museum[i], true
}

// MuseumMarkdown renders the museum as the README's table.
func MuseumMarkdown() string {
	var b strings.Builder
	b.WriteString("| entry | bug | mechanism | variant | scripted | finding |\n|---|---|---|---|---|---|\n")
	for _, e := range Museum {
		scripted, finding := "`"+e.Scripted+"`", e.Target.Finding
		if e.Scripted == "" {
			scripted = "none yet (hunt only)"
		}
		if !e.Runnable() {
			scripted, finding = "not runnable: "+e.Needs, ""
		}
		if e.Target.Allowance != "" {
			finding += " (allowed by " + string(e.Target.Allowance) + ")"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", e.Name, e.Bug, e.Mechanism, e.Variant, scripted, finding)
	}
	return b.String()
}

// HuntTarget resolves what `kafkasim hunt NAME` hunts: a museum entry's
// hunt scenario and target (current: the entry's fix, hunted for false
// positives, with no target), or a built-in scenario or scenario file with
// no target (any run that is not OK is a find), with the entry's hunt
// configuration (the zero one for a scenario). replay is the hunt's name
// as its replay commands spell it.
func HuntTarget(name string, current bool) (s Scenario, t Target, h HuntOptions, replay string, err error) {
	if e, ok := MuseumEntryNamed(name); ok {
		if current {
			s, err = e.Current()
			return s, Target{}, e.Hunt, name + " --current", err
		}
		s, err = e.HuntBase()
		return s, e.Target, e.Hunt, name, err
	}
	if current {
		return Scenario{}, Target{}, h, "", fmt.Errorf("--current needs a museum entry, not %q: the entries are %s", name, strings.Join(MuseumNames(), ", "))
	}
	s, err = Load(name)
	if err != nil {
		return Scenario{}, Target{}, h, "", fmt.Errorf("%w (or a museum entry: %s)", err, strings.Join(MuseumNames(), ", "))
	}
	return s, Target{}, h, name, nil
}
