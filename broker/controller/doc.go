// Package controller is Kafka's KRaft controller (KIP-631) running on
// kafkasim's kernel: a process that embeds a voter of the metadata quorum
// (broker/kraft) and, while it leads the quorum, is the active controller.
//
// The active controller serialises every decision: it decides from its
// working image (the committed metadata plus the records it appended that
// are not committed yet, as Kafka's QuorumController does), appends the
// records, and answers a request only once its records are committed. When
// it loses the quorum's leadership it drops its working image, its broker
// sessions and the answers still waiting (they fail with NOT_CONTROLLER);
// the next active controller starts from the committed image.
//
// What it decides, as Kafka does:
//   - Brokers: registration (a new incarnation gets a new broker epoch and
//     registers fenced; DUPLICATE_BROKER_REGISTRATION while the previous
//     incarnation's session lives), heartbeats (unfence once the broker
//     has applied its registration; fence on request), session expiry
//     after broker.session.timeout.ms (the broker leaves every ISR and
//     leadership), and controlled shutdown (leaderships move away, then the
//     broker may stop).
//   - Topics: CreateTopics with the striped replica placer, configs
//     (min.insync.replicas, unclean.leader.election.enable), DeleteTopics,
//     IncrementalAlterConfigs.
//   - Leaders: clean election (a live ISR member, in assignment order),
//     unclean election where the topic allows it (any live replica; the
//     leader starts RECOVERING, KIP-704), preferred election (ElectLeaders
//     and auto.leader.rebalance.enable), periodic unclean elections
//     (unclean.leader.election.interval.ms), and AlterPartition validation
//     with Kafka's error codes and KIP-903's broker epoch check.
//   - KIP-966's Eligible Leader Replicas, as a switch (Config.ELR).
//
// Historical variants are switches in Config: ELR (off: Kafka before 4.0)
// and IgnoreISRBrokerEpochs (on: Kafka before 3.5, KAFKA-14139).
//
// Coverage marks (sim.Mark): controller.election.{clean,unclean,elr,
// last-known-leader,preferred}, controller.partition.offline,
// controller.fence.session-expired, controller.alter-partition.rejected-*
// (one per error code, such as rejected-invalid-update-version),
// controller.failover, controller.kip903.rejected,
// controller.kip903.unchecked, controller.registration.duplicate,
// controller.registration.unclean-shutdown, controller.unfence,
// controller.controlled-shutdown, controller.controlled-shutdown.complete,
// controller.elr.added, controller.elr.cleared-by-config and
// controller.leader-recovered.
package controller
