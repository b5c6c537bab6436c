package client

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Marks lists every coverage mark the clients fire (producer, consumer,
// admin), with what reaching it shows. A scenario may expect any of them
// (expect.marks); a test holds every Mark call of the clients to this
// table.
var Marks = []sim.MarkInfo{
	{Name: "client.admin.delete-records.retriable", Meaning: "a partition leader answered DeleteRecords with a retriable error (no leader here, or the low watermark took too long), and the admin client retries it"},
	{Name: "client.admin.ambiguous-outcome", Meaning: "an admin call ran out of time while a request was in flight: whether it took effect is unknown"},
	{Name: "client.admin.coordinator-moved", Meaning: "an admin group call found the coordinator gone and looks it up again"},
	{Name: "client.admin.deadline", Meaning: "an admin call reached default.api.timeout.ms before it ended"},
	{Name: "client.admin.reset-clamped", Meaning: "an offset reset asked for an offset outside the partition's log and was clamped to it"},
	{Name: "client.admin.reset-refused-active-group", Meaning: "an offset reset was refused: the group has active members"},
	{Name: "client.admin.retry", Meaning: "an admin call retried after a retriable error"},
	{Name: "client.admin.timeout", Meaning: "an admin call ran out of time or tries on a retriable error and failed with a timeout"},
	{Name: "client.consumer.partitions-changed-rejoin", Meaning: "the group leader saw a subscribed topic's partition count change since its assignment and rejoined to rebalance"},
	{Name: "client.metadata.stale-epoch-ignored", Meaning: "a client ignored metadata with an older leader epoch than it knew (KIP-320)"},
	{Name: "client.producer.adaptive-choice", Meaning: "the producer's partitioner chose a partition by queue sizes (KIP-794's adaptive partitioning)"},
	{Name: "client.producer.delivery-timeout", Meaning: "a batch expired: delivery.timeout.ms passed before it was acknowledged"},
	{Name: "client.producer.epoch-bump", Meaning: "the idempotent producer bumped its epoch (KIP-360)"},
	{Name: "client.producer.max-block-expired", Meaning: "a send waited max.block.ms for its topic's metadata and failed"},
	{Name: "client.producer." + protocol.OutOfOrderSequenceNumber.String(), Meaning: "a real sequence gap: the producer bumps its epoch and resends from sequence 0 (KIP-360)"},
	{Name: "client.producer." + protocol.UnknownProducerId.String(), Meaning: "the broker lost the producer's state: the producer bumps its epoch and resends from sequence 0 (KIP-360)"},
	{Name: "client.producer.retry", Meaning: "the producer sent a batch again"},
	{Name: "client.producer.sequence-resolved", Meaning: "a partition's unresolved sequences (batches that expired after they were sent) resolved with no gap once none was pending: no epoch bump"},
	{Name: "client.producer.out-of-order-not-next", Meaning: "OUT_OF_ORDER_SEQUENCE_NUMBER for a batch that is not the next sequence: retried without an epoch bump, as Kafka's producer does"},
	{Name: "client.producer.sticky-switch", Meaning: "the sticky partitioner moved to another partition (KIP-794)"},
	{Name: "client.request-timeout", Meaning: "a request timed out and the client closed its connection (request.timeout.ms)"},
	{Name: "consumer.control-batch-skipped", Meaning: "a consumer skipped a control batch (a transaction marker): never returned as data"},
	{Name: "client.txn.offsets-added-by-group-coordinator", Meaning: "under transaction version 2 sendOffsetsToTransaction sent TxnOffsetCommit without AddOffsetsToTxn: the group coordinator adds its partition (KIP-890 part 2)"},
	{Name: "client.txn.partition-added-by-leader", Meaning: "under transaction version 2 a transactional producer sent to a partition without AddPartitionsToTxn: its leader adds the partition (KIP-890 part 2)"},
	{Name: "client.txn.abortable-error", Meaning: "a transactional producer hit an error that only an abort clears (a send failed, an AddPartitionsToTxn was refused)"},
	{Name: "client.txn.commit-refused", Meaning: "commitTransaction failed because a send of the transaction had failed: the application must abort"},
	{Name: "client.txn.driver-abort", Meaning: "a transactional workload aborted a transaction: by choice, or after a failed send"},
	{Name: "client.txn.fatal-error", Meaning: "a transactional producer was fenced or hit a fatal error and must be closed"},
	{Name: "client.txn.retry-CONCURRENT_TRANSACTIONS", Meaning: "a transactional request waited for the previous transaction's markers (CONCURRENT_TRANSACTIONS)"},
	{Name: "client.txn.retry-COORDINATOR_LOAD_IN_PROGRESS", Meaning: "a transactional request waited for the coordinator to load"},
	{Name: "consumer.aborted-batch-skipped", Meaning: "a read_committed consumer skipped a batch of an aborted transaction, named by the fetch response's aborted transactions"},
	{Name: "consumer.cooperative-revoke", Meaning: "a consumer revoked partitions in a cooperative rebalance (KIP-429)"},
	{Name: "consumer.unsubscribed-revoke", Meaning: "a consumer revoked the partitions of topics it no longer subscribes to before it rejoined its group (onJoinPrepare)"},
	{Name: "consumer.coordinator-lost", Meaning: "a consumer lost its group coordinator and looks it up again"},
	{Name: "consumer.generation-reset", Meaning: "a consumer reset its generation and member id and will rejoin"},
	{Name: "consumer.rejoin-keeps-lost-partitions", Meaning: "a consumer (before KAFKA-12983's fix) lost its member id or generation while rejoining and kept its partitions, which its next JoinGroup claims as owned"},
	{Name: "consumer.max-poll-interval-exceeded", Meaning: "the application stopped polling for max.poll.interval.ms: the consumer leaves its group"},
	{Name: "consumer.no-offset-for-partition", Meaning: "a consumer with auto.offset.reset=none has no position for a partition"},
	{Name: "consumer.offset-out-of-range", Meaning: "a consumer fetched outside the log and resets its position by auto.offset.reset"},
	{Name: "consumer.position-skipped-offsets", Meaning: "a fetch held no data records past the position (markers, compacted batches): the position moved past them"},
	{Name: "consumer.rebalance-signalled", Meaning: "a heartbeat or commit answered REBALANCE_IN_PROGRESS: the consumer rejoins"},
	{Name: "consumer.truncation-detected", Meaning: "a consumer's position validation found its position past the leader's epoch end: the log was truncated (KIP-320)"},
}
