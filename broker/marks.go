package broker

import (
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Marks lists every coverage mark the broker fires, with what reaching it
// shows. A scenario may expect any of them (expect.marks); a test holds
// every Mark call of the broker to this table.
var Marks = []sim.MarkInfo{
	{Name: "broker.alter-partition.rejected", Meaning: "the controller rejected a leader's AlterPartition: the leader goes back to the committed ISR"},
	{Name: "broker.alter-partition.timeout", Meaning: "an AlterPartition got no answer in time, and the leader sends it again"},
	{Name: "broker.connection-refused", Meaning: "a broker not yet registered, caught up and unfenced refused a connection (its listeners are closed)"},
	{Name: "broker.controlled-shutdown", Meaning: "a broker asked the controller for a controlled shutdown"},
	{Name: "broker.fetch.append-failed", Meaning: "a follower could not append the records it fetched (a storage error)"},
	{Name: "broker.fetch.diverging-epoch", Meaning: "a leader answered a follower's fetch with a diverging epoch: the follower's log ends in an epoch the leader's does not"},
	{Name: "broker.fetch.offset-out-of-range", Meaning: "a follower fetched from an offset outside the leader's log"},
	{Name: "broker.fetch.stale-broker-epoch", Meaning: "a leader ignored a fetch from a follower incarnation older than its registration (KIP-903)"},
	{Name: "broker.fetch." + protocol.FencedLeaderEpoch.String(), Meaning: "a fetch carried a leader epoch older than the partition's, and was fenced (KIP-320)"},
	{Name: "broker.fetch." + protocol.UnknownLeaderEpoch.String(), Meaning: "a fetch carried a leader epoch newer than the broker knows"},
	{Name: "broker.isr.expand", Meaning: "a leader asked to add a caught-up follower to the ISR"},
	{Name: "broker.isr.shrink", Meaning: "a leader asked to remove lagging followers from the ISR"},
	{Name: "broker.isr.shrunk-to-one", Meaning: "a leader asked to shrink the ISR to itself alone"},
	{Name: "broker.lifecycle.serving", Meaning: "a broker caught up with the metadata log and is ready to be unfenced"},
	{Name: "broker.list-offsets.offset-not-available", Meaning: "a new leader answered ListOffsets with OFFSET_NOT_AVAILABLE: it has not learned its high-water mark yet"},
	{Name: "broker.offsets-topic.create", Meaning: "a broker asked the controller to create __consumer_offsets"},
	{Name: "broker.produce.duplicate-sequence", Meaning: "a leader recognised a retried idempotent batch and answered with the offsets of its first write"},
	{Name: "broker.produce.held-back", Meaning: "a produce request waited for the earlier one of its connection (Kafka mutes the connection)"},
	{Name: "broker.produce.not-enough-replicas", Meaning: "an acks=all produce was refused before the append: the ISR is below min.insync.replicas"},
	{Name: "broker.produce.not-enough-replicas-after-append", Meaning: "an acks=all produce was appended, then failed: the ISR shrank below min.insync.replicas"},
	{Name: "broker.produce.request-timed-out", Meaning: "an acks=all produce waited its timeout for the ISR and answered REQUEST_TIMED_OUT"},
	{Name: "broker.recovering", Meaning: "a leader elected uncleanly recovered before serving (KIP-704)"},
	{Name: "broker.follower.log-start-offset", Meaning: "a follower moved its log start offset up to the leader's (retention or DeleteRecords on the leader)"},
	{Name: "broker.truncate.fully-and-start-at", Meaning: "a follower whose log ended below the leader's log start offset emptied it and started again there"},
	{Name: "broker.truncate.diverging-epoch", Meaning: "a follower truncated to where a fetch said its epoch diverges from the leader's"},
	{Name: "broker.truncate.high-watermark", Meaning: "a follower truncated to its high-water mark (the rule before KIP-101, or a log without epochs)"},
	{Name: "broker.truncate.legacy-offsets-for-leader-epoch", Meaning: "a follower truncated by OffsetsForLeaderEpoch under the rule before KIP-279"},
	{Name: "broker.truncate.offsets-for-leader-epoch", Meaning: "a follower truncated to where OffsetsForLeaderEpoch said the leader's epoch ends (KIP-101, KIP-279)"},
	{Name: "broker.truncate.out-of-range", Meaning: "a follower whose log ran past the leader's cut it to the leader's end"},
	{Name: "broker.zombie-fenced", Meaning: "a leader learned that the controller fenced it and moved its leadership: it was a zombie until then"},
	{Name: "log.retention." + string(log.RetentionTime), Meaning: "retention deleted segments whose newest record was older than retention.ms"},
	{Name: "log.retention." + string(log.RetentionSize), Meaning: "retention deleted the oldest segments of a log larger than retention.bytes"},
	{Name: "log.retention." + string(log.RetentionLogStart), Meaning: "retention deleted segments wholly below a log start offset DeleteRecords moved"},
	{Name: "log.cleaner.cleaned", Meaning: "the log cleaner compacted a log whose cleanup.policy includes compact"},
	{Name: "log.cleaner.tombstones-removed", Meaning: "the log cleaner removed tombstones older than delete.retention.ms"},
	{Name: "log.recovery.torn-tail", Meaning: "log recovery cut a torn tail: a partial batch a power loss left"},
}
