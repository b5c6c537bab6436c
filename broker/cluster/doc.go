// Package cluster builds a whole Kafka cluster on a simulation and reads
// it back: the harness that scenarios, clients and tests build on.
//
// New adds, to a given *sim.Sim and *network.Network, the KRaft
// controllers (node ids 3001.., sim nodes c1..) and the brokers (node ids
// 1..N, sim nodes b1..), each with its config copied from a template in
// Config, a shared protocol.Directory of their node ids, and an admin node
// (AdminNode) that the harness sends its own admin requests from. Start
// boots them; brokers then register with the active controller, catch up
// with the metadata log and are unfenced, as Kafka's do (WaitReady).
//
// Configs are set by Kafka property name (Config.Set, routed by the roles
// the property table in broker/props gives each name: broker and
// controller properties, controller.quorum.* to both), per topic at
// creation (Topic.Configs: min.insync.replicas,
// unclean.leader.election.enable), and the protocol's historical variants
// by switch name (Config.SetSwitch; Variants lists them with the KIP or
// JIRA each takes back).
//
// Reading the cluster: ActiveController, Controller and Broker (the
// running processes, nil when down), Metadata (the committed metadata
// image), Partition and Leader, View (the model.ClusterView the checkers
// read), Describe (a readable summary), and Resolve, which turns node
// names and the selectors of fault schedules (brokers, controllers, all,
// controller, leader(<topic>-<partition>), follower(<topic>-<partition>))
// into nodes when a fault fires: with Sim and Net, a *Cluster is a
// scenarios/fault.Target.
//
// Acting on it: CreateTopic (through the active controller, as an admin
// client's CreateTopics), Send and Request (any request from the admin
// node), and Shutdown (a broker's controlled shutdown). Crashes, power
// losses, pauses and restarts are the sim nodes' own (Node(id)).
//
// Nothing here takes a shortcut past the protocol: topics, elections and
// fencing all go through the controller and the metadata log, so a
// scenario run through the harness is a run of the real thing.
package cluster
