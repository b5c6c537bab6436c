// Package kraft is kafkasim's KRaft metadata quorum: the Raft variant of
// KIP-595, with KIP-996's pre-vote, that replicates Kafka's metadata log
// (__cluster_metadata) among the controllers and out to the brokers.
//
// A Client is a component, not a process: a controller process embeds one
// as a voter, a broker process embeds one as an observer. The process hands
// it the messages and broken connections it gets (Receive, Disconnected);
// the Client sets its own timers on the node, keeps its log and its
// quorum-state file on the node's disk, and tells a Listener of committed
// batches and of leader changes.
//
// What the Client does, as Kafka does it:
//   - Epochs and votes: a voter whose leader goes silent for
//     controller.quorum.fetch.timeout.ms first asks for pre-votes in its
//     epoch (Prospective), and only with a majority of them starts an
//     election in a new epoch (Candidate). A vote goes to a candidate whose
//     log is at least as up to date (last epoch, then end offset), at most
//     once per epoch, and is fsynced in the quorum-state file before it is
//     sent. Lost elections back off exponentially, with randomised timeouts.
//   - The leader writes a LeaderChange control record at the start of its
//     epoch and announces itself with BeginQuorumEpoch. Followers and
//     observers pull with Fetch (fetch offset, last fetched epoch); the
//     leader answers with records, its high-water mark, or the
//     DivergingEpoch from which the follower truncates. Voters flush what
//     they append before acknowledging it by their next Fetch; the
//     high-water mark is the largest offset a majority holds, and moves
//     only once that includes an entry of the leader's own epoch.
//   - A leader that hears no Fetch from a majority within 1.5×fetch timeout
//     resigns (check-quorum); a leader that resigns tells the voters with
//     EndQuorumEpoch so that the most caught-up one stands first. A leader
//     that restarts comes back resigned in its epoch.
//
// Historical variants are switches in Config: PreVote (off: Kafka 3.x
// elections), CheckQuorum (off: before Kafka 3.7) and HighWatermarkInFetch
// (off: before KAFKA-14145).
//
// Coverage marks (sim.Mark) name the rare paths: kraft.prevote.rejected,
// kraft.truncate.diverging-epoch, kraft.leader.resigned.check-quorum,
// kraft.vote.granted.longer-log, kraft.hwm.held-for-own-epoch,
// kraft.recovery.torn-tail, kraft.recovery.resigned and others.
package kraft
