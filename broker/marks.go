package broker

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Marks lists every coverage mark the broker fires, with what reaching it
// shows. A scenario may expect any of them (expect.marks); a test holds
// every Mark call of the broker to this table.
var Marks = []sim.MarkInfo{
	{Name: "broker.alter-partition.rejected", Meaning: "the controller rejected a leader's AlterPartition: the leader goes back to the committed ISR"},
	{Name: "broker.alter-partition.timeout", Meaning: "an AlterPartition got no answer in time, and the leader sends it again"},
	{Name: "broker.produce.recompressed", Meaning: "a leader rebuilt a producer's batches with its topic's compression.type (a codec other than the producer's, or uncompressed)"},
	{Name: "broker.connection-refused", Meaning: "a broker not yet registered, caught up and unfenced refused a connection (its listeners are closed)"},
	{Name: "broker.controlled-shutdown", Meaning: "a broker asked the controller for a controlled shutdown"},
	{Name: "broker.fetch.append-failed", Meaning: "a follower could not append the records it fetched (a storage error)"},
	{Name: "broker.fetch.diverging-epoch", Meaning: "a leader answered a follower's fetch with a diverging epoch: the follower's log ends in an epoch the leader's does not"},
	{Name: "broker.fetch.offset-out-of-range", Meaning: "a follower fetched from an offset outside the leader's log"},
	{Name: "broker.fetch.stale-broker-epoch", Meaning: "a leader ignored a fetch from a follower incarnation older than its registration (KIP-903)"},
	{Name: "broker.fetch." + protocol.FencedLeaderEpoch.String(), Meaning: "a fetch carried a leader epoch older than the partition's, and was fenced (KIP-320)"},
	{Name: "broker.fetch." + protocol.UnknownLeaderEpoch.String(), Meaning: "a fetch carried a leader epoch newer than the broker knows"},
	{Name: "broker.isr.expand", Meaning: "a leader asked to add a caught-up follower to the ISR"},
	{Name: "broker.isr.expand.below-epoch-start", Meaning: "a leader asked to add a follower below the start of its leader epoch to the ISR (the KAFKA-7128 variant)"},
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
	{Name: "broker.truncate.diverging-epoch", Meaning: "a follower truncated to where a fetch said its epoch diverges from the leader's"},
	{Name: "broker.truncate.high-watermark", Meaning: "a follower truncated to its high-water mark (the rule before KIP-101, or a log without epochs)"},
	{Name: "broker.truncate.legacy-offsets-for-leader-epoch", Meaning: "a follower truncated by OffsetsForLeaderEpoch under the rule before KIP-279"},
	{Name: "broker.truncate.offsets-for-leader-epoch", Meaning: "a follower truncated to where OffsetsForLeaderEpoch said the leader's epoch ends (KIP-101, KIP-279)"},
	{Name: "broker.truncate.out-of-range", Meaning: "a follower whose log ran past the leader's cut it to the leader's end"},
	{Name: "broker.zk.controller.alter-rejected", Meaning: "the ZooKeeper-mode controller rejected an AlterIsr (stale zkVersion, leader epoch, an offline replica)"},
	{Name: "broker.zk.controller.broker-bounced", Meaning: "the ZooKeeper-mode controller saw a broker registered again with a new broker epoch before it saw it go (KIP-380): it failed it first, then started it"},
	{Name: "broker.zk.controller.broker-change", Meaning: "the ZooKeeper-mode controller saw brokers come or go under /brokers/ids (or bounce, with a new broker epoch)"},
	{Name: "broker.zk.controller.election", Meaning: "the ZooKeeper-mode controller elected a leader from the live ISR"},
	{Name: "broker.zk.controller.elected", Meaning: "a broker created /controller and bumped /controller_epoch: it is the active controller"},
	{Name: "broker.zk.controller.failover", Meaning: "a broker became the ZooKeeper-mode controller after another had been (controller epoch above 1)"},
	{Name: "broker.zk.controller.moved", Meaning: "a controller's write failed the /controller_epoch zkVersion check (ControllerMovedException): a newer controller exists, and it resigned (KAFKA-6082's fence)"},
	{Name: "broker.zk.controller.partitions-created", Meaning: "the ZooKeeper-mode controller wrote the first states of new partitions"},
	{Name: "broker.zk.controller.resigned", Meaning: "a ZooKeeper-mode controller resigned (session expired, /controller moved, or fenced)"},
	{Name: "broker.zk.controller.state-conflict", Meaning: "a controller's conditional write of a partition state failed on its zkVersion: it read the state again"},
	{Name: "broker.zk.controller.unclean-election", Meaning: "the ZooKeeper-mode controller elected a leader outside the ISR (unclean.leader.election.enable)"},
	{Name: "broker.zk.controller.zombie-retry", Meaning: "a controller whose session expired retried a write on its new session (KAFKA-6082)"},
	{Name: "broker.zk.controller.zombie-write", Meaning: "a controller whose session expired wrote a partition state after another controller was elected (KAFKA-6082)"},
	{Name: "broker.zk.isr-update-skipped", Meaning: "a leader's own ISR write failed on its cached zkVersion: 'Cached zkVersion not equal to that in zookeeper, skip updating ISR'"},
	{Name: "broker.zk.isr-write-rechecked", Meaning: "a leader's retried ISR write got BADVERSION, and the znode held its own write (KAFKA-1382's fix)"},
	{Name: "broker.zk.isr-write-retried", Meaning: "a leader's ISR write lost its connection and was sent again (its outcome unknown)"},
	{Name: "broker.zk.leader-epoch-not-newer", Meaning: "a broker ignored a LeaderAndIsr partition state whose leader epoch is not newer than its own"},
	{Name: "broker.zk.registration-conflict", Meaning: "a broker found /brokers/ids/<id> held by its previous session and waited for ZooKeeper to expire it"},
	{Name: "broker.zk.session-expired", Meaning: "a broker's ZooKeeper session expired: it made a new one and registered again, with a new broker epoch"},
	{Name: "broker.zk.stale-broker-epoch", Meaning: "a broker ignored a controller request for an older broker epoch of itself (KIP-380)"},
	{Name: "broker.zk.stale-controller-epoch", Meaning: "a broker ignored a request from a controller older than one it had heard from (a zombie controller fenced)"},
	{Name: "broker.zombie-fenced", Meaning: "a leader learned that the controller fenced it and moved its leadership: it was a zombie until then"},
	{Name: "log.recovery.torn-tail", Meaning: "log recovery cut a torn tail: a partial batch a power loss left"},
}
