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
	EOSDuplicate                FindingName = "eos-duplicate"
	EOSLost                     FindingName = "eos-lost"
	CompactionLostKey           FindingName = "compaction-lost-key"
	CommittedOffsetRegression   FindingName = "committed-offset-regression"
	CommittedOffsetInconsistent FindingName = "committed-offset-inconsistent"
	KeyMoved                    FindingName = "key-moved"
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
	CommittedPrefixMismatch FindingName = "committed-prefix-mismatch"
	AckByNonLeader          FindingName = "ack-by-non-leader"
	AckedNotReplicated      FindingName = "acked-not-replicated"
	ISRMemberLostData       FindingName = "isr-member-lost-data"
	AckAfterMemberLostData  FindingName = "ack-after-member-lost-data"
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
	{Duplicate, []Class{Consistency, Expected}, "one sent record at two offsets (expected when a producer without idempotence retries)", "duplicate"},
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
	{EOSDuplicate, []Class{Consistency}, "a consume-transform-produce pipeline output one input record in two committed transactions: exactly-once broken", ""},
	{EOSLost, []Class{DataLoss}, "a pipeline's committed transactions moved past an input record without outputting it", ""},
	{CompactionLostKey, []Class{DataLoss}, "the final leader of a compacted topic cleaned its log past a key's latest acknowledged record, and that record is gone (the cleaner must keep the latest record of every key)", ""},
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
	{CommittedPrefixMismatch, []Class{Invariant, Expected, Note}, "two replicas disagree on a record below their high-water marks (expected after an unclean election or a power loss; a note when a restart lost it)", ""},
	{AckByNonLeader, []Class{Invariant}, "a broker acknowledged an acks=all write while not the partition's leader", ""},
	{AckedNotReplicated, []Class{Invariant}, "an acks=all write was acknowledged before every ISR member had it", ""},
	{ISRMemberLostData, []Class{Note}, "an ISR member restarted with its log below the leader's high-water mark and stays in the ISR: committed records are at risk", ""},
	{AckAfterMemberLostData, []Class{Note}, "an acks=all write was acknowledged counting an ISR member that restarted without the records", ""},
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
