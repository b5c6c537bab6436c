package model

import "time"

// QuorumView is an optional extension of ClusterView in KRaft mode: the
// replicas of the metadata log (__cluster_metadata), the controllers that
// vote and the brokers that observe, as the checkers see them.
type QuorumView interface {
	// QuorumVersion changes whenever anything QuorumReplicas or
	// QuorumBatches returns may have changed (a role, an epoch, the log, a
	// fetch, a replica starting or stopping).
	QuorumVersion() uint64
	// QuorumReplicas returns every running replica of the metadata log,
	// voters first, each group by node id.
	QuorumReplicas() []QuorumReplica
	// QuorumBatches returns a running replica's log batches that end
	// after offset from, in log order.
	QuorumBatches(id int32, from int64) []QuorumBatch
	// QuorumFetchTimeout is controller.quorum.fetch.timeout.ms.
	QuorumFetchTimeout() time.Duration
}

// A QuorumReplica is one running replica of the metadata log.
type QuorumReplica struct {
	ID    int32
	Voter bool
	// Incarnation changes whenever the replica's node restarts.
	Incarnation uint32
	// Role is the replica's state, as KRaft names it: unattached,
	// prospective, candidate, leader, follower or resigned.
	Role string
	// Epoch is the epoch it is in; Leader the leader it knows for it
	// (NoLeader when none).
	Epoch  int32
	Leader int32
	// EndOffset and HighWatermark of its log (-1: unknown).
	EndOffset, HighWatermark int64
	// Truncations counts the truncations of its log since it started.
	Truncations uint64
	// LastFetch is when, in the simulation's time, a Fetch of this
	// replica was last answered successfully (-1 never since it started),
	// by FetchLeader in FetchEpoch.
	LastFetch   time.Duration
	FetchLeader int32
	FetchEpoch  int32
}

// A QuorumBatch is one batch of a metadata log: its offsets
// [BaseOffset, EndOffset), the epoch it was written in, and a digest of
// its contents.
type QuorumBatch struct {
	BaseOffset, EndOffset int64
	Epoch                 int32
	Digest                uint64
}
