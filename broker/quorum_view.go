package broker

import (
	"time"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// A QuorumMember is one replica of the metadata log for the view: its node
// and, while its process runs, its KRaft client (nil otherwise).
type QuorumMember struct {
	ID     int32
	Voter  bool
	Node   *sim.Node
	Client func() *kraft.Client
}

var _ model.QuorumView = (*ClusterView)(nil)

// SetQuorum gives the view the replicas of the metadata log, voters first,
// each group by id, and controller.quorum.fetch.timeout.ms. Without it
// the view has no quorum replicas (ZooKeeper mode).
func (v *ClusterView) SetQuorum(members []QuorumMember, fetchTimeout time.Duration) {
	v.quorum, v.fetchTimeout = members, fetchTimeout
}

func (v *ClusterView) quorumClient(m QuorumMember) *kraft.Client {
	if !m.Node.Up() {
		return nil
	}
	return m.Client()
}

// QuorumVersion changes whenever a quorum replica changed its role, epoch
// or log, had a Fetch answered, or started or stopped.
func (v *ClusterView) QuorumVersion() uint64 {
	words := v.qwords[:0]
	for _, m := range v.quorum {
		var changes uint64
		if c := v.quorumClient(m); c != nil {
			changes = c.Changes() + 1
		}
		words = append(words, uint64(m.Node.Incarnation()), changes)
	}
	v.qwords = words
	return sim.Digest(words...)
}

// QuorumReplicas returns the running replicas of the metadata log.
func (v *ClusterView) QuorumReplicas() []model.QuorumReplica {
	out := make([]model.QuorumReplica, 0, len(v.quorum))
	for _, m := range v.quorum {
		c := v.quorumClient(m)
		if c == nil {
			continue
		}
		at, leader, epoch := c.LastFetch()
		out = append(out, model.QuorumReplica{
			ID: m.ID, Voter: m.Voter, Incarnation: m.Node.Incarnation(), Role: c.Role().String(),
			Epoch: c.Epoch(), Leader: c.Leader(), EndOffset: c.EndOffset(), HighWatermark: c.HighWatermark(),
			Truncations: c.Log().Truncations(), LastFetch: at, FetchLeader: leader, FetchEpoch: epoch,
		})
	}
	return out
}

// QuorumBatches returns a running replica's batches that end after from.
func (v *ClusterView) QuorumBatches(id int32, from int64) []model.QuorumBatch {
	for _, m := range v.quorum {
		if m.ID != id {
			continue
		}
		c := v.quorumClient(m)
		if c == nil {
			return nil
		}
		batches := c.Log().Batches()
		i := len(batches)
		for i > 0 && batches[i-1].EndOffset() > from {
			i--
		}
		out := make([]model.QuorumBatch, 0, len(batches)-i)
		for _, b := range batches[i:] {
			out = append(out, model.QuorumBatch{BaseOffset: b.BaseOffset, EndOffset: b.EndOffset(), Epoch: b.Epoch, Digest: b.Digest()})
		}
		return out
	}
	return nil
}

// QuorumFetchTimeout is controller.quorum.fetch.timeout.ms.
func (v *ClusterView) QuorumFetchTimeout() time.Duration { return v.fetchTimeout }
