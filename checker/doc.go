// Package checker judges kafkasim's runs: histories against porcupine's
// linearizability and against Kafka's anomalies, the cluster against its
// invariants after every simulation step, and the final state of the
// replicas. Every finding names the seed, the simulated time, and a command
// that replays the run.
//
// # Linearizability
//
// CheckLinearizability checks a history against the models of package
// model (a log per partition, a committed-offset register per group and
// partition): partition logs with a checker made for them, which decides
// what porcupine decides for the log model in O(n log n) time and O(n)
// memory (a partition's offsets reveal the order of its sends, so only
// real-time order is left to check), and the registers with porcupine.
// Work is counted in steps, never in time, against a budget per partition:
// Ok, Illegal with a partial linearization of each illegal partition and
// the operation that fits nowhere after it, or Unchecked when a partition
// needed more than its budget (reported as a linearizability-unchecked
// finding of class incomplete: never ok). Visualize writes porcupine's
// HTML explanation of the illegal partitions.
//
// # Anomalies: what Kafka allows and what it does not
//
// Anomalies judges a history by Kafka's rules. Names follow Jepsen's Kafka
// workload where one fits. Each finding has a class: data-loss,
// consistency, invariant, incomplete (all bad), expected (allowed by the
// configuration in use) or note.
//
//   - lost-write: an acknowledged send whose record no later read and no
//     final log has at its offset, although a read that began after the
//     acknowledgement, or the final log of the partition's leader, reached
//     that offset. data-loss for acks=all; expected for acks=1, whose
//     leader acknowledges before any follower has the record.
//   - unseen: acknowledged sends that nothing could have read (no read
//     reached their offset, and no final log was recorded). A note.
//   - inconsistent-offsets: two different records at one offset, among the
//     records polls returned, the committed part (below the high-water
//     mark) of every final log, and the offsets acknowledged sends got.
//     consistency, unless all but one of the records are only known from
//     acks=1 acknowledgements (then expected: acks=1 lost them).
//   - duplicate: one sent record at two offsets. expected when the
//     producer was not idempotent (its retries may write a batch twice) or
//     the record was sent more than once; consistency when an idempotent
//     producer sent it once.
//   - G1a: a read of a record whose every send definitely failed. A send
//     failed definitely only with an error by which the broker rejects a
//     batch before appending it (NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER,
//     ...; see model.Definite). NOT_ENOUGH_REPLICAS_AFTER_APPEND and
//     timeouts leave the outcome open, and reading such a record is fine.
//     consistency.
//   - unsent-value: a read of a record no send produced. consistency.
//   - lost-committed: a record a consumer read (consumers read only below
//     the high-water mark, so it was committed) that the final log of the
//     partition's leader no longer has at its offset. data-loss.
//   - poll-skip, nonmonotonic-poll: a consumer's position in a partition
//     jumped past records that reads saw, or moved back, between polls,
//     with no seek, assignment, subscription or rebalance of that partition
//     in between. int-poll-skip and int-nonmonotonic-poll: the same within
//     one poll. Offsets no read ever saw (transaction markers, compacted
//     or truncated records) are not skips. consistency.
//   - nonmonotonic-send: one producer's acknowledged sends to one
//     partition got offsets that do not increase in the order it sent
//     them. When the sends did not overlap, the log went back: expected
//     if the earlier send was acks=1, consistency otherwise. When they
//     overlapped: expected without idempotence (retries may reorder),
//     consistency with it.
//   - committed-offset-regression: a fetch of committed offsets returned
//     an offset older than a commit that certainly preceded it and was not
//     certainly overwritten (a commit with an unknown outcome may land at
//     any time). committed-offset-inconsistent: it returned an offset no
//     such commit wrote. consistency.
//   - nonlinearizable: a partition has no linearization.
//   - linearizability-unchecked: the linearizability check spent its
//     budget on some partition before it could decide. incomplete.
//
// Runs of consecutive offsets with the same problem make one finding: a
// lost batch is one lost-write, not one per record.
//
// # Final state
//
// FinalState compares, for each partition, every pair of online replicas
// below their common high-water mark: replica-divergence when they
// disagree (expected with unclean.leader.election.enable=true).
//
// # Cluster invariants
//
// Invariants reads a model.ClusterView after every simulation step and
// is the broker's model.Observer; see its documentation for the invariants
// and for which of Kafka's legal but dangerous states each one allows.
package checker
