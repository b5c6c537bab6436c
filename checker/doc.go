// Package checker judges kafkasim's runs: histories against porcupine's
// linearizability and against Kafka's anomalies, the cluster against its
// invariants after every simulation step, and the final state of the
// replicas. Every finding names the seed, the simulated time, and a command
// that replays the run.
//
// # Linearizability
//
// CheckLinearizability checks a history against the porcupine models of
// this package (Porcupine: a log per partition, a committed-offset register
// per group and partition; Linearization turns a history into their
// operations, and its documentation says exactly what each operation may do
// and how unknown outcomes are handled): partition logs with a checker made for them, which decides
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
// Anomalies judges a history by Kafka's rules. Names and rules follow
// Jepsen's Kafka workload (jepsen.tests.kafka) where one fits. Each
// finding has a class: data-loss, consistency, invariant, incomplete
// (all bad), expected (allowed by the configuration in use) or note.
//
// As in Jepsen, each partition has a version order: every offset at which
// a poll (of any outcome: Kafka's consumers return only committed records,
// whatever becomes of the operation around them) or a final committed log
// saw a record, or an acknowledged send got one. A send is acknowledged
// when its operation succeeded, or when its outcome is unknown but another
// record it wrote was read (Jepsen's must-have-committed), and the client
// learned its offset.
//
//   - lost-write: an acknowledged send whose record no later read and no
//     final log has at its offset, although a read that began after the
//     acknowledgement, or the final log of the partition's leader, reached
//     that offset; or, as Jepsen finds it, that no poll ever read, although
//     a successful poll that recorded no position read a higher offset
//     (such a read is taken to mean every earlier record should have been
//     read). data-loss for acks=all; expected for acks=1, whose leader
//     acknowledges before any follower has the record.
//   - unseen: acknowledged sends that nothing could have read (no read
//     reached their offsets, and no final log was recorded). A note.
//   - inconsistent-offsets: two different records at one offset of the
//     version order. consistency, unless all but one of the records are
//     only known from acks=1 acknowledgements (then expected: acks=1 lost
//     them).
//   - duplicate: one sent record at two offsets of the version order.
//     expected when the producer was not idempotent (its retries may write
//     a batch twice) or the record was sent more than once; consistency
//     when an idempotent producer sent it once.
//   - G1a: a successful poll's (or a final log's) read of a record whose
//     every send definitely failed. A send failed definitely only with an
//     error by which the broker rejects a batch before appending it
//     (NOT_ENOUGH_REPLICAS, NOT_LEADER_OR_FOLLOWER, ...; see
//     history.Definite), or when its client judged the failure certain
//     (Jepsen's :fail). NOT_ENOUGH_REPLICAS_AFTER_APPEND and timeouts leave
//     the outcome open, and reading such a record is fine. consistency.
//   - unsent-value: a read of a record no send produced. consistency.
//   - lost-committed: a record a consumer read (consumers read only below
//     the high-water mark, so it was committed) that the final log of the
//     partition's leader no longer has at its offset. data-loss.
//   - poll-skip, nonmonotonic-poll: a consumer's position in a partition
//     jumped past offsets of the version order, or moved back, between its
//     operations, with no seek, assignment, subscription or rebalance of
//     that partition in between. An assign or subscribe (successful or of
//     unknown outcome) keeps the position in the partitions it still
//     includes and forgets the rest. A poll of an operation that failed or
//     whose outcome is unknown is held to where the last successful one
//     left the consumer and moves nothing. expected, not consistency, for
//     a subscribed consumer whose history records none of its rebalances.
//     int-poll-skip and int-nonmonotonic-poll: the same between successive
//     records of one operation (across its polls), except in partitions a
//     rebalance moved while it ran. Offsets outside the version order
//     (transaction markers, compacted or truncated records) are not skips.
//     consistency.
//   - nonmonotonic-send: one producer's acknowledged sends to one
//     partition got offsets that do not increase in the order it sent
//     them; an assign or subscribe of the client that leaves the partition
//     out forgets its sends there. When the sends did not overlap, the log
//     went back: expected if the earlier send was acks=1, consistency
//     otherwise. When they overlapped: expected without idempotence
//     (retries may reorder), consistency with it.
//   - int-nonmonotonic-send: two successive sends of one operation to one
//     partition whose positions in the version order (the acknowledged
//     offset, or else where a read saw the record) go back. consistency
//     with an idempotent producer, expected without. int-send-skip: other
//     records lie between them: sends of other producers interleave, which
//     Kafka allows. A note.
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
// # Where kafkasim differs from Jepsen
//
// Jepsen's own tests of its checker (jepsen/test/jepsen/tests/kafka_test.clj)
// are cases in testdata/jepsen; kafkasim finds the anomalies each expects.
// It differs deliberately where it knows more, or judges more finely:
//
//   - Classes. Jepsen calls a history invalid for any anomaly outside its
//     allowed list; kafkasim classes each finding, so a duplicate from a
//     producer without idempotence, or an acks=1 loss, is expected, not bad.
//   - unseen is a note: a record nobody read by the end is worth knowing,
//     not wrong (Jepsen counts it an error).
//   - int-send-skip is a note, as Jepsen also allows it.
//   - Positions. kafkasim's histories record where each poll started;
//     with a position, lost-write needs a read that covered the offset
//     after the acknowledgement, rather than Jepsen's any read of a higher
//     offset by anyone, at any time.
//   - Rebalances. A recorded rebalance forgets the consumer's position in
//     the partitions it moved (Jepsen only exempts its int- checks); a
//     subscribed consumer whose rebalances are not recorded gets poll-skip
//     and nonmonotonic-poll as expected, where Jepsen allows them for any
//     test that subscribes.
//   - Seeks. A seek, including Jepsen's :seek-to-beginning?, moves the
//     position; Jepsen's checker ignores it.
//   - nonmonotonic-send judges acknowledged sends only: a send the client
//     gave up on may still land after later ones. Jepsen also judges :info
//     sends it can place.
//   - kafkasim's findings that Jepsen has no name for: unsent-value,
//     lost-committed, the committed-offset checks, nonlinearizable, and the
//     final-state and cluster checks below.
//   - An empty history (no send, no poll) is invalid in Jepsen (its
//     transaction graph is empty); kafkasim check and report say there is
//     nothing to check and exit 1.
//   - Read-write anti-dependencies: Jepsen's Kafka checker draws none (its
//     rw graph is left out), so it never reports G-single or G2; kafkasim
//     derives them from offsets as Elle does (an operation's last read of
//     a partition precedes the writer of the next record) when asked
//     (Options.RWDeps), since Kafka's transactions isolate writes, not
//     reads.
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
