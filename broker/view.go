package broker

import (
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// Replica is a live view of one broker's replica of a partition; it
// implements model.ReplicaView.
type Replica struct {
	p *partition
}

var (
	_ model.ReplicaView       = (*Replica)(nil)
	_ model.TxnReplicaView    = (*Replica)(nil)
	_ model.ProducerStateView = (*Replica)(nil)
)

// readCommitted is a read_committed consumer's fetch, to ask readLimit
// where such a fetch stops.
var readCommitted = protocol.Fetch{ReplicaID: protocol.ConsumerReplicaID, IsolationLevel: protocol.ReadCommitted}

// Broker returns the id of the broker holding the replica.
func (r *Replica) Broker() int32 { return r.p.b.id }

// Online reports whether the broker process is running with the replica
// loaded.
func (r *Replica) Online() bool { return r.p.b.n.Up() && r.p.b.n.Process() == r.p.b && r.p.log != nil }

// Incarnation returns the broker node's incarnation.
func (r *Replica) Incarnation() uint32 { return r.p.b.n.Incarnation() }

// IsLeader reports whether the replica acts as leader.
func (r *Replica) IsLeader() bool { return r.p.isLeader }

// LeaderEpoch returns the epoch the replica believes current.
func (r *Replica) LeaderEpoch() int32 { return r.p.leaderEpoch }

// PartitionEpoch returns the partition epoch the replica last applied.
func (r *Replica) PartitionEpoch() int32 { return r.p.partitionEpoch }

// Leader returns the leader the replica believes current.
func (r *Replica) Leader() int32 { return r.p.leader }

// HighWatermark returns the replica's high-water mark.
func (r *Replica) HighWatermark() int64 { return r.p.log.HighWatermark() }

// LastStableOffset returns where a read_committed fetch from the replica
// stops: the log's last stable offset, or whatever the fetch path uses
// instead under a protocol variant (read_committed_above_lso).
func (r *Replica) LastStableOffset() int64 { return r.p.b.readLimit(r.p, &readCommitted) }

// OpenTxns appends the log's open transactions to dst, by first offset.
func (r *Replica) OpenTxns(dst []model.OpenTxn) []model.OpenTxn {
	for _, o := range r.p.log.OngoingTxns() {
		dst = append(dst, model.OpenTxn{ProducerID: o.ProducerID, ProducerEpoch: o.Epoch, FirstOffset: o.FirstOffset})
	}
	return dst
}

// Markers appends the log's transaction markers at or after from to dst.
func (r *Replica) Markers(dst []model.TxnMarker, from int64) []model.TxnMarker {
	for _, m := range r.p.log.AppendMarkers(nil, from) {
		dst = append(dst, model.TxnMarker{Offset: m.Offset, ProducerID: m.ProducerID, Commit: m.Type == protocol.ControlCommit})
	}
	return dst
}

// LastProducerBatches appends each producer's last remembered batch to
// dst, by producer id.
func (r *Replica) LastProducerBatches(dst []model.ProducerBatch) []model.ProducerBatch {
	return r.p.log.AppendLastProducerBatches(dst)
}

// LogStartOffset returns the first offset of the replica's log.
func (r *Replica) LogStartOffset() int64 { return r.p.log.StartOffset() }

// CleanerCheckpoint returns how far the log cleaner compacted the
// replica's log (history.Compacted).
func (r *Replica) CleanerCheckpoint() int64 { return r.p.log.CleanerCheckpoint() }

// LogEndOffset returns the replica's log end offset.
func (r *Replica) LogEndOffset() int64 { return r.p.log.EndOffset() }

// Entry returns the record at offset.
func (r *Replica) Entry(offset int64) (model.Entry, bool) { return r.p.log.Entry(offset) }

// ISR returns the maximal ISR while the replica leads, nil otherwise.
func (r *Replica) ISR() []int32 {
	if !r.p.isLeader {
		return nil
	}
	return slices.Clone(r.p.maximalISR())
}

// AppendISR appends the maximal ISR to dst while the replica leads (nothing
// otherwise) and returns the extended slice: ISR without a copy of its own,
// for a checker that compares it after every step.
func (r *Replica) AppendISR(dst []int32) []int32 {
	if !r.p.isLeader {
		return dst
	}
	return append(dst, r.p.maximalISR()...)
}

// CommittedISR returns the ISR the controller committed, as the leader
// knows it (nil when following).
func (r *Replica) CommittedISR() []int32 {
	if !r.p.isLeader {
		return nil
	}
	return slices.Clone(r.p.tracker.ISR())
}

// PendingISR returns the ISR change awaiting the controller, if any.
func (r *Replica) PendingISR() ([]int32, bool) {
	c := r.p.tracker.Pending()
	if c == nil {
		return nil, false
	}
	return slices.Clone(c.ISR), true
}

// HighWatermarkDue returns the high-water mark the leader's rule allows
// now, from what its followers fetched (Kafka's maybeIncrementLeaderHW
// would set it): the current one when it may not advance, or when the
// replica does not lead.
func (r *Replica) HighWatermarkDue() int64 {
	p := r.p
	if p.log == nil {
		return -1
	}
	if !p.isLeader {
		return p.log.HighWatermark()
	}
	hw, _ := p.tracker.HighWatermark(p.log.HighWatermark(), p.log.EndOffset(), p.b.n.Now())
	return hw
}

// Log returns the replica's log, for inspection.
func (r *Replica) Log() *log.Log { return r.p.log }

// offlineReplica is a replica whose broker is down (or has no log for it):
// it reports what the view last saw of it.
type offlineReplica struct {
	broker      int32
	incarnation uint32
	snap        snapshot
}

type snapshot struct {
	epoch           int32
	hwm, start, end int64
}

func (o *offlineReplica) Broker() int32                   { return o.broker }
func (o *offlineReplica) Online() bool                    { return false }
func (o *offlineReplica) Incarnation() uint32             { return o.incarnation }
func (o *offlineReplica) IsLeader() bool                  { return false }
func (o *offlineReplica) LeaderEpoch() int32              { return o.snap.epoch }
func (o *offlineReplica) HighWatermark() int64            { return o.snap.hwm }
func (o *offlineReplica) LogStartOffset() int64           { return o.snap.start }
func (o *offlineReplica) LogEndOffset() int64             { return o.snap.end }
func (o *offlineReplica) Entry(int64) (model.Entry, bool) { return model.Entry{}, false }
func (o *offlineReplica) ISR() []int32                    { return nil }

// ClusterView is model.ClusterView over a set of broker nodes and the
// authoritative metadata (the controller's image).
type ClusterView struct {
	nodes    map[int32]*sim.Node
	ids      []int32
	metadata func() *metadata.Image
	last     map[replicaKey]snapshot
	words    []uint64 // Version's scratch
	cursor   []uint64 // ChangedPartitions' scratch
	changed  []model.TopicPartition

	quorum       []QuorumMember
	fetchTimeout time.Duration
	qwords       []uint64 // QuorumVersion's scratch
}

type replicaKey struct {
	broker int32
	tp     model.TopicPartition
}

var (
	_ model.ClusterView       = (*ClusterView)(nil)
	_ model.PartitionVersions = (*ClusterView)(nil)
	_ model.PartitionChanges  = (*ClusterView)(nil)
)

// NewClusterView returns a view of the brokers (by node id) whose process,
// when up, is a *Broker, with partition metadata from meta.
func NewClusterView(brokers map[int32]*sim.Node, meta func() *metadata.Image) *ClusterView {
	v := &ClusterView{nodes: brokers, metadata: meta, last: make(map[replicaKey]snapshot)}
	for id := range brokers {
		v.ids = append(v.ids, id)
	}
	slices.Sort(v.ids)
	return v
}

// Broker returns the running broker with the given id, if any.
func (v *ClusterView) Broker(id int32) (*Broker, bool) {
	n, ok := v.nodes[id]
	if !ok || !n.Up() {
		return nil, false
	}
	b, ok := n.Process().(*Broker)
	return b, ok
}

// Version changes whenever a broker changed something a checker can see,
// a broker started or stopped, or the metadata moved on.
func (v *ClusterView) Version() uint64 {
	words := v.words[:0]
	words = append(words, uint64(v.metadata().Offset()))
	for _, id := range v.ids {
		n := v.nodes[id]
		var changes uint64
		if b, ok := v.Broker(id); ok {
			changes = b.Changes()
		}
		words = append(words, uint64(n.Incarnation()), changes)
	}
	v.words = words
	return sim.Digest(words...)
}

// PartitionVersion changes whenever the partition's committed metadata
// (every change bumps its partition epoch) or one of its replicas changed,
// or one of their brokers started or stopped.
func (v *ClusterView) PartitionVersion(tp model.TopicPartition) uint64 {
	p, ok := v.metadata().Partition(tp)
	if !ok {
		return 0
	}
	words := append(v.words[:0], uint64(p.PartitionEpoch), uint64(p.LeaderEpoch), uint64(uint32(p.Leader)))
	for _, id := range p.Replicas {
		var inc, state, version uint64 // state: 0 down, 1 up without the replica, 2 up with it
		if n, ok := v.nodes[id]; ok {
			inc = uint64(n.Incarnation())
		}
		if b, ok := v.Broker(id); ok {
			state = 1
			if r, ok := b.partitions.get(tp); ok {
				state, version = 2, r.version
			}
		}
		words = append(words, uint64(uint32(id)), inc, state, version)
	}
	v.words = words
	return sim.Digest(words...)
}

// ChangedPartitions returns the partitions whose PartitionVersion may have
// changed since cursor: those the brokers journaled as changed, or every
// partition when the metadata moved on, a broker started or stopped, or a
// broker's journal no longer reaches back to the cursor. The cursor holds
// the metadata offset, then for each broker its incarnation, whether it
// runs, its unjournaled changes and its change count.
func (v *ClusterView) ChangedPartitions(cursor []uint64) ([]model.TopicPartition, []uint64) {
	next := append(v.cursor[:0], uint64(v.metadata().Offset()))
	for _, id := range v.ids {
		var up, unjournaled, changes uint64
		if b, ok := v.Broker(id); ok {
			up, unjournaled, changes = 1, b.unjournaled, b.changes
		}
		next = append(next, uint64(v.nodes[id].Incarnation()), up, unjournaled, changes)
	}
	all := len(cursor) != len(next) || cursor[0] != next[0]
	changed := v.changed[:0]
	for i, id := range v.ids {
		if all {
			break
		}
		at := 1 + 4*i
		if cursor[at] != next[at] || cursor[at+1] != next[at+1] || cursor[at+2] != next[at+2] {
			all = true
			break
		}
		if next[at+1] == 0 || cursor[at+3] == next[at+3] {
			continue
		}
		b, _ := v.Broker(id)
		tps, ok := b.changedSince(cursor[at+3])
		if !ok {
			all = true
			break
		}
		changed = append(changed, tps...)
	}
	// The caller's cursor becomes the view's scratch, and the scratch the
	// caller's cursor.
	v.cursor = cursor
	if all {
		v.changed = changed[:0]
		return v.Partitions(), next
	}
	slices.SortFunc(changed, model.TopicPartition.Compare)
	changed = slices.Compact(changed)
	meta := v.metadata()
	changed = slices.DeleteFunc(changed, func(tp model.TopicPartition) bool {
		_, ok := meta.Partition(tp)
		return !ok
	})
	v.changed = changed
	return changed, next
}

// Partitions returns every partition of the metadata, sorted.
func (v *ClusterView) Partitions() []model.TopicPartition { return v.metadata().Partitions() }

// Metadata returns a partition's committed state.
func (v *ClusterView) Metadata(tp model.TopicPartition) (model.PartitionMetadata, bool) {
	p, ok := v.metadata().Partition(tp)
	if !ok {
		return model.PartitionMetadata{}, false
	}
	return p.Model(), true
}

// Replicas returns one view per assigned replica, in assignment order.
func (v *ClusterView) Replicas(tp model.TopicPartition) []model.ReplicaView {
	p, ok := v.metadata().Partition(tp)
	if !ok {
		return nil
	}
	out := make([]model.ReplicaView, 0, len(p.Replicas))
	for _, id := range p.Replicas {
		key := replicaKey{id, tp}
		if b, ok := v.Broker(id); ok {
			if r, ok := b.Partition(tp); ok {
				v.last[key] = snapshot{epoch: r.LeaderEpoch(), hwm: r.HighWatermark(), start: r.LogStartOffset(), end: r.LogEndOffset()}
				out = append(out, r)
				continue
			}
		}
		var inc uint32
		if n, ok := v.nodes[id]; ok {
			inc = n.Incarnation()
		}
		out = append(out, &offlineReplica{broker: id, incarnation: inc, snap: v.last[key]})
	}
	return out
}
