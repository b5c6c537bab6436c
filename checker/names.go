package checker

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// A FindingName names a kind of finding. The checkers name their findings
// with the constants below only, and Registry documents each; a scenario's
// expectations are checked against it.
type FindingName string

// The names of findings, Jepsen's where one fits.
const (
	// Kafka's anomalies, judged from the history.
	LostWrite                   FindingName = "lost-write"
	LostCommitted               FindingName = "lost-committed"
	Unseen                      FindingName = "unseen"
	Duplicate                   FindingName = "duplicate"
	InconsistentOffsets         FindingName = "inconsistent-offsets"
	UnsentValue                 FindingName = "unsent-value"
	G1a                         FindingName = "G1a"
	PollSkip                    FindingName = "poll-skip"
	NonmonotonicPoll            FindingName = "nonmonotonic-poll"
	IntPollSkip                 FindingName = "int-poll-skip"
	IntNonmonotonicPoll         FindingName = "int-nonmonotonic-poll"
	NonmonotonicSend            FindingName = "nonmonotonic-send"
	IntNonmonotonicSend         FindingName = "int-nonmonotonic-send"
	IntSendSkip                 FindingName = "int-send-skip"
	RetentionSkip               FindingName = "retention-skip"
	PrecommittedRead            FindingName = "precommitted-read"
	G0                          FindingName = "G0"
	G1c                         FindingName = "G1c"
	GSingle                     FindingName = "G-single"
	G2                          FindingName = "G2"
	EOSDuplicate                FindingName = "eos-duplicate"
	EOSLost                     FindingName = "eos-lost"
	CompactionLostKey           FindingName = "compaction-lost-key"
	CommittedOffsetRegression   FindingName = "committed-offset-regression"
	CommittedOffsetInconsistent FindingName = "committed-offset-inconsistent"
	KeyMoved                    FindingName = "key-moved"
	HangingTransaction          FindingName = "hanging-transaction"
	CommittedTxnAborted         FindingName = "committed-txn-aborted"
	PartitionOwnedTwice         FindingName = "partition-owned-twice"
	// Linearizability, checked by porcupine.
	Nonlinearizable FindingName = "nonlinearizable"
	// LinearizabilityUnchecked: the check's work budget ran out first.
	LinearizabilityUnchecked FindingName = "linearizability-unchecked"
	// The final state of the replicas.
	ReplicaDivergence FindingName = "replica-divergence"
	// Cluster invariants, checked after every event.
	DuplicateLeader         FindingName = "duplicate-leader"
	EpochRegression         FindingName = "epoch-regression"
	PartitionEpochStale     FindingName = "partition-epoch-stale"
	LeaderNotInISR          FindingName = "leader-not-in-isr"
	ISRNotSubset            FindingName = "isr-not-subset"
	HWMAboveLEO             FindingName = "hwm-above-leo"
	LogStartAboveHWM        FindingName = "log-start-above-hwm"
	HWMAboveISRLEO          FindingName = "hwm-above-isr-leo"
	LSOAboveOpenTxn         FindingName = "lso-above-open-txn"
	LSOAboveHWM             FindingName = "lso-above-hwm"
	CommittedPrefixMismatch FindingName = "committed-prefix-mismatch"
	AckByNonLeader          FindingName = "ack-by-non-leader"
	AckedNotReplicated      FindingName = "acked-not-replicated"
	ISRMemberLostData       FindingName = "isr-member-lost-data"
	AckAfterMemberLostData  FindingName = "ack-after-member-lost-data"
	InvalidProducerState    FindingName = "invalid-producer-state"
	// ZooKeeper mode's controller and leaders, checked after every event.
	DeposedControllerWrite FindingName = "deposed-controller-write"
	StaleISRZkVersion      FindingName = "stale-isr-zkversion"
	// The KRaft metadata quorum, checked after every event.
	MetadataDivergence FindingName = "metadata-divergence"
	StaleMetadata      FindingName = "stale-metadata"
	DisruptedQuorum    FindingName = "disrupted-quorum"
	// The cluster's availability, judged from its timeline.
	StuckHighWatermark FindingName = "stuck-high-watermark"
)

// FindingInfo documents one finding name.
type FindingInfo struct {
	Name FindingName
	// Classes are the classes a finding of this name can take, most
	// serious first: the configuration may make an anomaly expected.
	Classes []Class
	// Meaning says what the finding means, in one line.
	Meaning string
	// Jepsen is the anomaly's name in Jepsen's Kafka checker, where it
	// has one.
	Jepsen string
}

// Registry is every finding the checkers can produce, sorted by name. It
// is the one home of finding names: FindingNames, KnownFinding, the
// validation of scenarios' expectations, the reports' legend and the
// README's list of findings come from it.
var Registry = sortedRegistry([]FindingInfo{
	{LostWrite, []Class{DataLoss, Expected}, "a write acknowledged to the producer is not in the log a later read or the final log shows at its offset (expected for acks=1)", "lost-write"},
	{LostCommitted, []Class{DataLoss, Expected}, "a committed record (read below the high-water mark, or acknowledged to acks=all) is gone from the final leader's log (expected after an unclean election)", ""},
	{Unseen, []Class{Note}, "acknowledged records that no read and no final log reached", "unseen"},
	{Duplicate, []Class{Consistency, Expected}, "one sent record at two offsets (expected when a producer without idempotence retries, or when an idempotent one bumps its epoch after a gap in its sequences and resends, KIP-360)", "duplicate"},
	{InconsistentOffsets, []Class{Consistency, Expected}, "two different records at one offset (expected when all but one are acks=1 writes)", "inconsistent-offsets"},
	{UnsentValue, []Class{Consistency}, "a record was read that no send in the history produced", ""},
	{G1a, []Class{Consistency}, "aborted read: a record whose every send definitely failed was read", "G1a"},
	{PollSkip, []Class{Consistency}, "between two polls a consumer skipped records others read, with no seek, assignment or rebalance in between", "poll-skip"},
	{NonmonotonicPoll, []Class{Consistency}, "between two polls a consumer went back to an earlier offset, with no seek, assignment or rebalance in between", "nonmonotonic-poll"},
	{IntPollSkip, []Class{Consistency}, "one poll returned records with a gap that others read", "int-poll-skip"},
	{IntNonmonotonicPoll, []Class{Consistency}, "one poll returned an offset at or below the one before it", "int-nonmonotonic-poll"},
	{NonmonotonicSend, []Class{Consistency, Expected}, "a producer's later send to a partition got an earlier offset (expected for acks=1, or overlapping sends without idempotence)", "nonmonotonic-send"},
	{IntNonmonotonicSend, []Class{Consistency, Expected}, "one operation's sends to a partition got offsets out of their order (expected without idempotence)", "int-nonmonotonic-send"},
	{IntSendSkip, []Class{Note}, "other records lie between one operation's consecutive sends to a partition: other producers interleave, which Kafka allows", "int-send-skip"},
	{KeyMoved, []Class{Expected}, "a partition increase (CreatePartitions) sent a key's later records to another partition than its earlier ones: per-key order across the two is lost, which the increase allows", ""},
	{RetentionSkip, []Class{DataLoss}, "a consumer fell behind the log start offset (retention.ms, retention.bytes or DeleteRecords deleted what it had not read) and auto.offset.reset moved it past acknowledged records it never read: a loss the configuration allows", ""},
	{PrecommittedRead, []Class{Consistency}, "a transaction polled a record it sent itself before it committed: read_committed reads see committed records only", "precommitted-read"},
	{G0, []Class{Consistency}, "write cycle: transactions' writes ordered one way on one partition and the other way on another (checked with ww dependencies on)", "G0"},
	{G1c, []Class{Consistency}, "circular information flow: a cycle of write-read (and write-write) dependencies between transactions", "G1c"},
	{GSingle, []Class{Consistency}, "read skew: a cycle of dependencies with exactly one read-write anti-dependency (a transaction missed the next record of a partition it polled, written by one that came before it; checked with rw dependencies on)", "G-single"},
	{G2, []Class{Consistency}, "write skew: a cycle of dependencies with more than one read-write anti-dependency, and none with exactly one (checked with rw dependencies on)", "G2"},
	{CommittedTxnAborted, []Class{Consistency}, "a record of a transaction whose commit was acknowledged was aborted: read_committed polls read past its offset without returning it (a delayed EndTxn ended the wrong transaction, KAFKA-17754)", ""},
	{HangingTransaction, []Class{Consistency}, "a transaction is left open on a partition after its producer's transaction ended (committed or aborted): no marker will end it, so the last stable offset is stuck and read_committed consumers stall (KAFKA-14402)", ""},
	{EOSDuplicate, []Class{Consistency}, "a consume-transform-produce pipeline output one input record in two committed transactions: exactly-once broken", ""},
	{EOSLost, []Class{DataLoss}, "a pipeline's committed transactions moved past an input record without outputting it", ""},
	{CompactionLostKey, []Class{DataLoss}, "the final leader of a compacted topic cleaned its log past a key's latest acknowledged record, and that record is gone (the cleaner must keep the latest record of every key)", ""},
	{PartitionOwnedTwice, []Class{Consistency}, "two running consumers of one group owned one partition as members of the same generation: the group's assignment gave it twice, and both read it (KAFKA-12984)", ""},
	{CommittedOffsetRegression, []Class{Consistency}, "a group's committed offset read back went below the latest acknowledged commit", ""},
	{CommittedOffsetInconsistent, []Class{Consistency}, "a group's committed offset read back is one no acknowledged commit before it wrote", ""},
	{Nonlinearizable, []Class{Consistency, Expected}, "porcupine found no linearization of a partition's log or a group's committed offset (expected when the anomalies behind it are)", ""},
	{LinearizabilityUnchecked, []Class{Incomplete}, "the linearizability check spent its work budget before it decided: the verdict is unchecked, never ok", ""},
	{ReplicaDivergence, []Class{Consistency, Expected}, "two replicas' final logs differ below their common high-water mark (expected after an unclean election)", ""},
	{DuplicateLeader, []Class{Invariant}, "two brokers led a partition in the same leader epoch", ""},
	{EpochRegression, []Class{Invariant}, "a leader epoch or partition epoch went down", ""},
	{PartitionEpochStale, []Class{Invariant}, "the controller changed a partition's leader, ISR, ELR or replicas without a new partition epoch", ""},
	{LeaderNotInISR, []Class{Invariant}, "the controller's leader of a partition is not in its ISR", ""},
	{ISRNotSubset, []Class{Invariant}, "an ISR or ELR names a broker outside the assignment, twice, or in both", ""},
	{HWMAboveLEO, []Class{Invariant}, "a replica's high-water mark is above its log end offset", ""},
	{LogStartAboveHWM, []Class{Invariant}, "a replica's log start offset is above its high-water mark: retention or DeleteRecords deleted records that were not committed, or a follower that emptied its log to start at its leader's log start offset kept its old high-water mark (KAFKA-9491)", ""},
	{HWMAboveISRLEO, []Class{Invariant}, "the leader's high-water mark is above the log end offset of an ISR member that did not restart", ""},
	{LSOAboveOpenTxn, []Class{Invariant, Expected}, "a leader's last stable offset is above the first offset of a transaction still open on it: read_committed consumers can read records that may yet abort (expected under a protocol variant that brings such a bug back)", ""},
	{LSOAboveHWM, []Class{Invariant, Expected}, "a leader's last stable offset is above its high-water mark: read_committed consumers can read records not yet committed (expected under a protocol variant that brings such a bug back)", ""},
	{CommittedPrefixMismatch, []Class{Invariant, Expected, Note}, "two replicas disagree on a record below their high-water marks (expected after an unclean election or a power loss; a note when a restart lost it)", ""},
	{AckByNonLeader, []Class{Invariant}, "a broker acknowledged an acks=all write while not the partition's leader", ""},
	{AckedNotReplicated, []Class{Invariant}, "an acks=all write was acknowledged before every ISR member had it", ""},
	{ISRMemberLostData, []Class{Note}, "an ISR member restarted with its log below the leader's high-water mark and stays in the ISR: committed records are at risk", ""},
	{MetadataDivergence, []Class{Invariant}, "two replicas of the KRaft metadata log hold different batches at one offset of one epoch: two logs for one epoch (KAFKA-10527)", ""},
	{StaleMetadata, []Class{Invariant}, "a broker kept having its metadata fetches answered by a KRaft leader of an epoch the quorum had replaced, for longer than twice controller.quorum.fetch.timeout.ms (KAFKA-15489)", ""},
	{DisruptedQuorum, []Class{Invariant}, "a KRaft leader was pushed into a newer epoch while a majority of the voters still fetched from it: a voter disrupted a healthy quorum (KIP-996)", ""},
	{InvalidProducerState, []Class{Invariant}, "a replica's producer state remembers a producer's batch its log does not hold at those offsets (at or past its log end offset, or where other records are): state loaded from a producer-state snapshot that held state past its own offset, or left by an append that failed (KAFKA-6683); a retry of the batch is answered as a duplicate at offsets that do not hold it, and Kafka's replica fetcher crashed on such state", ""},
	{AckAfterMemberLostData, []Class{Note}, "an acks=all write was acknowledged counting an ISR member that restarted without the records", ""},
	{DeposedControllerWrite, []Class{Invariant}, "ZooKeeper mode: ZooKeeper accepted a partition state written by a controller of epoch E after it had committed a newer controller epoch: a deposed controller's write, not fenced by /controller_epoch's zkVersion (KAFKA-6082)", ""},
	{StaleISRZkVersion, []Class{Invariant}, "ZooKeeper mode: a leader's conditional ISR write was refused again on the same cached zkVersion while ZooKeeper's partition state names it leader in the same leader epoch at another zkVersion: its ISR cannot change until a newer leader epoch comes (KAFKA-1382, KAFKA-2729, KAFKA-3042)", ""},
	{StuckHighWatermark, []Class{Invariant}, "a leader kept its high-water mark below what every member of its ISR had fetched for longer than 5 s: acks=all produces and consumers waited with nothing to wait for (unavailability, not loss)", ""},
})

func sortedRegistry(r []FindingInfo) []FindingInfo {
	slices.SortFunc(r, func(a, b FindingInfo) int { return cmp.Compare(a.Name, b.Name) })
	return r
}

// FindingNames lists, sorted, the name of every finding the checkers may
// produce: scenarios name them in their expectations, and a name outside
// this list is a typo.
var FindingNames = func() []string {
	out := make([]string, len(Registry))
	for i, f := range Registry {
		out[i] = string(f.Name)
	}
	return out
}()

// Info returns what the registry says of a finding name.
func Info(name string) (FindingInfo, bool) {
	i, ok := slices.BinarySearch(FindingNames, name)
	if !ok {
		return FindingInfo{}, false
	}
	return Registry[i], true
}

// KnownFinding reports whether name is the name of a finding.
func KnownFinding(name string) bool {
	_, ok := Info(name)
	return ok
}

// FindingsMarkdown renders the registry as the Markdown table the README
// shows: one row per finding with its classes, meaning and Jepsen's name.
func FindingsMarkdown() string {
	var b strings.Builder
	b.WriteString("| finding | class | meaning | Jepsen |\n| --- | --- | --- | --- |\n")
	for _, f := range Registry {
		classes := make([]string, len(f.Classes))
		for i, c := range f.Classes {
			classes[i] = c.String()
		}
		jepsen := "–"
		if f.Jepsen != "" {
			jepsen = "`" + f.Jepsen + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", f.Name, strings.Join(classes, ", "), f.Meaning, jepsen)
	}
	return b.String()
}
