// Package zookeeper is kafkasim's ZooKeeper ensemble: servers that run ZAB
// as ZooKeeper 3.8 implements it, their data trees, sessions and watches,
// and the client handle that ZooKeeper-mode Kafka builds on.
//
// # Servers
//
// A Server (NewServer) is a process on its own node, driven by the kernel
// (Receive, Disconnected). It keeps a data directory on the node's disk —
// the transaction log (log.<zxid> files), snapshots (snapshot.<zxid>) and
// the acceptedEpoch and currentEpoch files — and recovers from it when it
// starts: the newest valid snapshot, then every logged transaction after
// it. Then it elects:
//
//   - Fast leader election by (epoch, zxid, server id), with
//     Notifications, election rounds (the logical clock), finalizeWait and
//     a notification timeout that doubles up to 60 s; servers that already
//     follow or lead answer with the leader they know, so a server that
//     comes back joins the established ensemble.
//   - Discovery: followers send FOLLOWERINFO with their accepted epoch; the
//     leader proposes one more than the largest of a quorum (LEADERINFO);
//     followers persist it and answer ACKEPOCH with their current epoch and
//     last zxid (-1 if they had accepted it already, which does not count).
//   - Synchronisation: a DIFF from the in-memory commit log (or from the
//     log on disk, if smaller than a third of the last snapshot), a TRUNC
//     when the follower holds proposals beyond the leader's history (its
//     log is truncated and its database reloaded), or a SNAP of the whole
//     tree; then NEWLEADER — a follower acknowledges it only once what it
//     was sent is in its fsynced log (after a DIFF) or in a snapshot (after
//     a SNAP, fsynced; after a TRUNC, as ZooKeeper, not), and it has
//     written currentEpoch — and, once a quorum has acknowledged, UPTODATE.
//   - Broadcast: requests become transactions on the leader (conditions
//     checked against the tree plus the outstanding changes of proposals
//     not yet applied; a failed request becomes an error transaction with
//     its own zxid), each is proposed, logged and fsynced by every server
//     before its ACK (forceSync), and committed once a quorum has
//     acknowledged it, in zxid order. The leader pings every half tick and
//     steps down when a quorum has not answered within syncLimit ticks; a
//     follower leaves a leader silent for syncLimit ticks.
//
// After a random number of logged transactions between snapCount/2 and
// snapCount (50,000 to 100,000 by default) a server rolls its log and
// takes a snapshot, which is not fsynced: a power loss can leave it invalid, and
// recovery then uses an older one and the logs, which are never purged.
//
// # Data tree, sessions, watches
//
// The DataTree holds persistent, ephemeral and sequential znodes with
// ZooKeeper's Stat (czxid, mzxid, pzxid, version, cversion,
// ephemeralOwner), and create, delete, setData, check and atomic multi
// with ZooKeeper's errors (NONODE, NODEEXISTS, BADVERSION, NOTEMPTY,
// NOCHILDRENFOREPHEMERALS). A client session is a transaction
// (createSession); the leader's session tracker expires it on a tick
// boundary once no server has reported activity for its timeout
// (negotiated between 2 and 20 ticks), with a closeSession transaction
// that deletes its ephemeral znodes. Reads are served by the server the
// client is connected to, from its own tree, so they may be stale; sync
// makes that server catch up first. Watches are one-shot, per server, and
// re-registered (SetWatches) when a client moves.
//
// # Client
//
// A Client (NewClient) is one session, a component embedded in a broker's
// process. Its API is ZooKeeper's asynchronous one: Create, Delete,
// SetData, GetData, Exists, GetChildren, Multi, Sync and Close, each with a
// callback; watch events and session events (SyncConnected,
// Disconnected, Expired, Closed) go to the handle's default watcher. What
// ZooKeeper-mode Kafka needs is there: ephemeral /brokers/ids/N and
// /controller (an ephemeral znode whose owner is the session, visible in
// Stat.EphemeralOwner), conditional writes on a znode's version (Kafka's
// zkVersion) and multi with CheckOp (the /controller_epoch fence),
// watches, and sessions that survive a server failure but expire, with
// their ephemerals, when the client is silent too long — after which the
// handle reports Expired and Kafka makes a new one.
//
// # Invariants
//
// A Checker (NewChecker, Check after every step) checks one leader per
// epoch, one history (a zxid names one transaction, with one history
// before it, in every log and tree; trees at the same zxid are equal),
// committed transactions never lost (each commit extends every earlier
// one, and a server synchronised with a later leader holds them), and
// ephemeral znodes only for sessions the tree knows.
//
// # Fidelity notes
//
// Simplified or left out, on purpose:
//   - No observers, dynamic reconfiguration, ACLs, authentication and
//     session passwords, quotas, local sessions, read-only mode, TTL and
//     container znodes, the four-letter words, or the digest check between
//     servers (ZooKeeper 3.6's digest is kept for the invariants only).
//   - Connections: ZooKeeper runs on TCP. Here each connection carries an
//     id and sequence numbers, and a gap breaks it, as TCP would; FIN
//     stands for the close that TCP tells the other end of. The election
//     runs on the same simulated links, without QuorumCnxManager's rule
//     that only the larger id connects.
//   - Time: each server's work is instantaneous, so a snapshot is exact
//     rather than fuzzy, group commit is one fsync per proposal, and the
//     races between ZooKeeper's request-processor threads (such as
//     ZOOKEEPER-4785) cannot happen.
//   - Known ZooKeeper defects avoided: TRUNC removes snapshots newer than
//     its zxid (the dirty snapshot of ZOOKEEPER-1549); synchronisation from
//     the log uses only the history a server loaded or received, never
//     the older log before a SNAP (ZOOKEEPER-2846); a snapshot of a zxid
//     that already has a valid one is not rewritten, and the initial empty
//     snapshot is fsynced (ZooKeeper would refuse to start if a power loss
//     took it, ZOOKEEPER-3056).
//   - A server leaving FOLLOWING or LEADING reloads its database from its
//     disk, which ZooKeeper's fastForwardDataBase amounts to except after
//     a SNAP or TRUNC that NEWLEADER did not persist (ZOOKEEPER-3642).
//   - A log record whose checksum fails stops the server, as in
//     ZooKeeper; a torn (partial) record ends its file, and replay goes on
//     with the next file.
//   - The client follows 3.8: it never decides on its own that its session
//     expired (3.9's client-side expiry is not modelled); session ids are
//     made, as ZooKeeper does, from the server id and its clock at start.
//     A request made while the client has no connection waits for one, as
//     Kafka's ZooKeeperClient makes it, where ZooKeeper's own client fails
//     it with CONNECTIONLOSS at every failed connection attempt.
//
// Coverage marks (sim.Mark) name the rare paths: zk.sync.trunc,
// zk.sync.snap, zk.sync.txnlog, zk.session.expired,
// zk.session.revalidate.expired, zk.leader.not-sufficient-followers,
// zk.leader.learner-txn-timeout, zk.leader.follower-ahead,
// zk.follower.read-timeout, zk.follower.epoch-already-accepted,
// zk.election.joined-established, zk.recovery.invalid-snapshot,
// zk.recovery.torn-log and others.
package zookeeper
