// Package client holds kafkasim's simulated Kafka clients: the producer,
// the consumer and the admin client, each a state machine that runs inside
// a simulation node, speaks Kafka's requests over the simulated network and
// records every operation in a model history; and the workload drivers that
// make them produce and consume as applications would.
//
// # Clients
//
// Producer (NewProducer) is KafkaProducer: the record accumulator
// (batch.size, linger.ms), the sender (max.in.flight.requests.per.connection,
// retries with KIP-580 backoff, request.timeout.ms, delivery.timeout.ms),
// the built-in and round-robin partitioners, and idempotence with KIP-360
// epoch bumps. Consumer (NewConsumer) is the classic KafkaConsumer: groups
// (eager and cooperative rebalancing, static membership), manual
// assignment, positions, seeks, auto.offset.reset, KIP-320 validation and
// commits. Admin (NewAdmin) is Kafka's Admin: topics (create, delete,
// describe with ELR and epochs, configs, leader elections), offsets of
// partitions, and groups (list, describe, committed offsets, the
// kafka-consumer-groups --describe view and --reset-offsets). Each takes
// its configuration by Kafka's property names through ParseProducerConfig,
// ParseConsumerConfig and ParseAdminConfig, which answer bad values as
// Kafka's ConfigException does.
//
// A node runs a Process holding any of the three; its Receive and
// Disconnected route what the network delivers to the client that sent
// the request. The Env a client gets names the network, the directory of
// Kafka node ids, the brokers to bootstrap from and the Recorder of the
// history, which lives outside the node so that it survives crashes.
//
// # History
//
// Every client call is an operation with its invocation and completion
// time: sends, polls, commits, reads of committed offsets, assignments,
// subscriptions, rebalances, seeks and admin operations. An admin change
// of a group's offsets is a commit outside any generation and an admin
// read of them a fetch-committed, so that the checkers judge them with
// the consumers'. An operation whose effect the client cannot know (a
// timeout, a lost answer, a crash) has an unknown outcome. Each
// incarnation of a client records under its own process number: a
// restarted client never continues a crashed one's operations.
//
// # Workloads
//
// ProducerDriver and ConsumerDriver are what a scenario runs: each is built
// from a small workload struct plus Kafka properties and validated at once
// (NewProducerDriver, NewConsumerDriver); its Boot method is the node's
// sim.Boot, so the driver brings up a fresh client on every start of the
// node. The producer driver sends run-unique values ("producer-3:1742") at
// a seeded, jittered rate until its stop time, then flushes; the consumer
// driver polls in a loop, committing as configured, for a group or with
// every partition of its topics assigned. At the end of a run, Pending,
// Drained and Stats say what is left. All randomness comes from the
// node's random stream.
package client
