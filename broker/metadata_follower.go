package broker

import (
	"fmt"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// MetadataLogDir is metadata.log.dir on a broker's disk: the broker keeps
// its replica of __cluster_metadata-0 there, apart from its partition
// logs.
const MetadataLogDir = "metadata/" + kraft.DefaultDir

// metadataFollower is the broker's replica of the metadata log: a KRaft
// observer whose committed batches the broker applies in order, and whose
// leader is the active controller (Kafka's MetadataLoader and
// BrokerMetadataPublisher). A (re)started broker replays the log from the
// start, but publishes nothing until it has read up to the high-water mark
// it learns from the quorum, and then publishes it all at once, as
// Kafka's loader does: it never acts on a half-replayed image.
type metadataFollower struct {
	b         *Broker
	raft      *kraft.Client
	published bool
	pending   []metadata.Record
	last      int64 // offset of the last record (or control batch) pending
}

func startMetadataFollower(b *Broker) (*metadataFollower, error) {
	f := &metadataFollower{b: b, last: -1}
	raft, err := kraft.New(b.cfg.Quorum, kraft.Setup{
		Node: b.n, ID: b.id, Voters: b.cfg.ControllerQuorum, Listener: f, Dir: MetadataLogDir,
		Send: func(to sim.NodeID, m network.Message) { b.net.Send(b.n.ID(), to, m) },
	})
	if err != nil {
		return nil, err
	}
	f.raft = raft
	return f, nil
}

// HandleCommit implements kraft.Listener.
func (f *metadataFollower) HandleCommit(batch *kraft.Batch) {
	b := f.b
	for _, p := range batch.Records {
		r, err := metadata.Decode(p)
		if err != nil {
			b.s.Fail("broker.metadata", fmt.Errorf("broker %d: metadata batch at offset %d: %w", b.id, batch.BaseOffset, err))
			return
		}
		f.pending = append(f.pending, r)
	}
	f.last = batch.LastOffset()
	if !f.published {
		next := f.raft.Log().BatchAt(batch.EndOffset())
		if next != nil && next.EndOffset() <= f.raft.HighWatermark() {
			return // more of the committed log to replay first
		}
		f.published = true
		b.s.Trace().Emitf(b.n, "broker.metadata.caught-up", uint64(f.last), "replayed the metadata log through offset %d (%d records)",
			f.last, len(f.pending))
	}
	recs := f.pending
	f.pending = nil
	if err := b.ApplyMetadata(recs, f.last); err != nil {
		b.s.Fail("broker.metadata", err)
		return
	}
	if b.life != nil {
		b.life.metadataApplied()
	}
}

// HandleLeaderChange implements kraft.Listener: the quorum's leader is the
// active controller.
func (f *metadataFollower) HandleLeaderChange(leader, epoch int32) {
	f.b.SetController(leader)
}

// MetadataOffset returns the offset of the last metadata record the broker
// applied, or -1.
func (b *Broker) MetadataOffset() int64 { return b.image.Offset() }

// MetadataLog returns the broker's KRaft observer, or nil when metadata
// comes from ApplyMetadata calls. Read it; never drive it.
func (b *Broker) MetadataLog() *kraft.Client {
	if b.meta == nil {
		return nil
	}
	return b.meta.raft
}
