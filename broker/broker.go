// Package broker is Kafka's broker data path running on kafkasim's kernel:
// partition logs, the replica manager (leader or follower per partition,
// from applied KRaft metadata), Produce with acks 0, 1 and all, Fetch with
// long polls, replica fetchers (one per source broker), truncation by
// diverging epoch or, as historical switches, by OffsetsForLeaderEpoch or
// to the high-water mark, ISR shrink and expand through AlterPartition,
// the high-water mark, periodic checkpoints and restart recovery.
//
// A Broker is a sim process: Boot returns the sim.Boot that builds it on
// every start. Metadata reaches it through ApplyMetadata, called by the
// metadata source (a KRaft observer, or a test's controller double).
package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// A Broker is one Kafka broker process.
type Broker struct {
	n           *sim.Node
	s           *sim.Sim
	cfg         Config
	id          int32
	net         *network.Network
	dir         *protocol.Directory
	incarnation metadata.Uuid
	epoch       int64 // broker epoch from the latest registration of this incarnation; -1 until then

	image      *metadata.Image
	controller int32

	partitions map[model.TopicPartition]*partition
	fetchers   map[int32]*fetcher // by source (leader) broker id

	corr   int32
	alters map[int32]*alterRequest // AlterPartition requests in flight, by correlation id
	alterQ map[model.TopicPartition]bool
	// produceChans are the clients' connections that sent produce
	// requests, by client node: one request at a time each.
	produceChans map[sim.NodeID]*produceChannel
	alterT       sim.Timer

	fetchWaits  map[*fetchWait]struct{}
	changes     uint64
	lastHWMs    map[model.TopicPartition]int64
	failedStart error

	// With a controller quorum: the metadata log replica, the lifecycle
	// towards the controller, and admin requests forwarded to it.
	meta     *metadataFollower
	life     *lifecycle
	forwards map[int32]*forwarded

	// The group coordinator of the __consumer_offsets partitions this
	// broker leads, and the producer ids it hands out.
	coord *group.Coordinator
	pids  ProducerIDs
}

// Boot returns the sim.Boot of a broker with cfg. It panics if cfg is
// invalid: validate it first (Config.Validate).
func Boot(cfg Config) sim.Boot {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("broker %d: %v", cfg.BrokerID, err))
	}
	return func(n *sim.Node) any { return start(n, cfg) }
}

func start(n *sim.Node, cfg Config) *Broker {
	b := &Broker{
		n: n, s: n.Sim(), cfg: cfg, id: cfg.BrokerID, net: cfg.Network, dir: cfg.Directory, epoch: -1,
		incarnation: metadata.NewUuid(n.Rand()),
		image:       metadata.NewImage(), controller: protocol.NoNode,
		partitions:   make(map[model.TopicPartition]*partition),
		fetchers:     make(map[int32]*fetcher),
		alters:       make(map[int32]*alterRequest),
		alterQ:       make(map[model.TopicPartition]bool),
		produceChans: make(map[sim.NodeID]*produceChannel),
		fetchWaits:   make(map[*fetchWait]struct{}),
		lastHWMs:     make(map[model.TopicPartition]int64),
		// Correlation ids differ between incarnations, so that a late
		// answer to a request of a previous process is never taken for an
		// answer to this one's.
		corr: int32(n.Boots()&0x7f) << 24,
	}
	previousEpoch := readPreviousEpoch(n.Disk())
	b.startCoordinator()
	if err := b.loadLogs(); err != nil {
		// A failed log directory: Kafka's broker would stop. This one stays
		// up without partitions and answers KAFKA_STORAGE_ERROR.
		b.failedStart = err
		b.s.Trace().Emitf(n, "broker.storage-error", 0, "%v", err)
	}
	b.schedule(cfg.HighWatermarkCheckpointInterval, "broker.hwm-checkpoint", b.checkpointHighWatermarks)
	b.schedule(cfg.RecoveryPointCheckpointInterval, "broker.recovery-point-checkpoint", b.checkpointRecoveryPoints)
	b.schedule(cfg.ReplicaLagTimeMax/2, "broker.isr-expiration", b.maybeShrinkISRs)
	if cfg.LogFlushInterval > 0 {
		b.schedule(cfg.LogFlushInterval, "broker.log-flush", b.flushLogs)
	}
	if cfg.ControllerQuorum != nil {
		meta, err := startMetadataFollower(b)
		if err != nil {
			b.s.Trace().Emitf(n, "broker.storage-error", 0, "metadata log: %v", err)
			return b
		}
		b.meta = meta
		b.life = newLifecycle(b, previousEpoch)
	}
	return b
}

// schedule runs fn every d on the broker's clock.
func (b *Broker) schedule(d time.Duration, kind string, fn func()) {
	if d <= 0 {
		d = time.Millisecond
	}
	var tick func()
	tick = func() {
		fn()
		b.n.After(d, kind, tick)
	}
	b.n.After(d, kind, tick)
}

// loadLogs opens every partition log on the disk (LogManager.loadLogs):
// the clean-shutdown marker says whether recovery can be skipped, the
// checkpoints give each log its recovery point and high-water mark.
func (b *Broker) loadLogs() error {
	d := b.n.Disk()
	clean := d.Exists(log.CleanShutdownFile)
	if clean {
		if err := d.Remove(log.CleanShutdownFile); err != nil {
			return err
		}
	}
	hwms, err := log.ReadOffsetCheckpoint(d, log.ReplicationOffsetCheckpoint)
	if err != nil {
		return err
	}
	rps, err := log.ReadOffsetCheckpoint(d, log.RecoveryPointCheckpoint)
	if err != nil {
		return err
	}
	for _, tp := range log.Partitions(d) {
		l, info, err := log.Open(d, tp, b.logConfig(), log.OpenOptions{Clean: clean, RecoveryPoint: rps[tp], HighWatermark: hwms[tp], Now: b.n.Now()})
		if err != nil {
			return err
		}
		if info.Truncated > 0 {
			b.s.Mark("log.recovery.torn-tail")
			b.s.Trace().Emitf(b.n, "log.recovery", sim.Digest(uint64(info.TruncatedFrom), uint64(info.Truncated)),
				"%s: cut %d bytes from offset %d: %s", tp, info.Truncated, info.TruncatedFrom, info.Reason)
			b.observeTruncation(tp, info.TruncatedFrom, -1, "recovery")
		}
		p := newPartition(b, tp)
		p.log = l
		b.partitions[tp] = p
	}
	return nil
}

func (b *Broker) logConfig() log.Config {
	return log.Config{FlushIntervalMessages: b.cfg.LogFlushIntervalMessages, LegacyProducerChecks: b.cfg.LegacyProducerChecks}
}

// ID returns the broker's node id.
func (b *Broker) ID() int32 { return b.id }

// Node returns the broker's sim node.
func (b *Broker) Node() *sim.Node { return b.n }

// IncarnationID returns this process's incarnation id, which its
// registration carries.
func (b *Broker) IncarnationID() metadata.Uuid { return b.incarnation }

// BrokerEpoch returns the broker epoch of this incarnation's registration,
// or -1 before the metadata carried it.
func (b *Broker) BrokerEpoch() int64 { return b.epoch }

// Image returns the broker's metadata image. Read it; never change it.
func (b *Broker) Image() *metadata.Image { return b.image }

// Controller returns the active controller's id as the metadata source
// last said, or -1.
func (b *Broker) Controller() int32 { return b.controller }

// StartupError returns why the broker could not load its logs, or nil.
func (b *Broker) StartupError() error { return b.failedStart }

// Changes returns a counter that grows whenever the broker's replicas
// change in a way a checker can see.
func (b *Broker) Changes() uint64 { return b.changes }

func (b *Broker) changed() { b.changes++ }

// changed records a change to one partition: its version becomes the
// broker's change count, which only grows while the broker process lives.
func (p *partition) changed() {
	p.b.changes++
	p.version = p.b.changes
}

// SetController tells the broker which node is the active controller.
func (b *Broker) SetController(id int32) {
	if id == b.controller {
		return
	}
	old := b.controller
	b.controller = id
	b.s.Trace().Emitf(b.n, "broker.controller", uint64(id), "active controller is %d", id)
	if old != protocol.NoNode {
		// Forwarded admin requests go again to the new controller. An
		// AlterPartition in flight waits for its answer (see failAlters).
		b.failForwards(old, fmt.Sprintf("controller %d is no longer the active controller", old))
	}
	if b.life != nil {
		b.life.controllerChanged()
	}
	if len(b.alterQ) > 0 {
		b.sendAlterPartitions()
	}
}

// ApplyMetadata applies metadata records up to metadata log offset offset,
// and then acts on what changed: partitions this broker now leads or
// follows, replicas it no longer hosts, brokers fenced or re-registered.
// Records must arrive in log order, each once.
func (b *Broker) ApplyMetadata(records []metadata.Record, offset int64) error {
	delta, err := b.image.Apply(records, offset)
	if delta != nil {
		b.react(delta)
	}
	if err != nil {
		return fmt.Errorf("broker %d: %w", b.id, err)
	}
	return nil
}

func (b *Broker) react(d *metadata.Delta) {
	if slices.Contains(d.Brokers, b.id) {
		if reg, ok := b.image.Broker(b.id); ok && reg.IncarnationID == b.incarnation && reg.Epoch != b.epoch {
			b.epoch = reg.Epoch
			b.s.Trace().Emitf(b.n, "broker.registered", uint64(b.epoch), "broker epoch %d", b.epoch)
		}
	}
	for _, tp := range d.RemovedPartitions {
		if p, ok := b.partitions[tp]; ok {
			wasLeader := p.isLeader
			p.becomeNone(protocol.NotLeaderOrFollower)
			b.coordinatorMoved(p, wasLeader, p.leaderEpoch)
			p.deleteLog()
			delete(b.partitions, tp)
			b.changed()
		}
	}
	for _, tp := range d.Partitions {
		reg, _ := b.image.Partition(tp)
		p := b.partitions[tp]
		if !slices.Contains(reg.Replicas, b.id) {
			if p != nil {
				wasLeader := p.isLeader
				p.becomeNone(protocol.NotLeaderOrFollower)
				b.coordinatorMoved(p, wasLeader, p.leaderEpoch)
				p.deleteLog()
				delete(b.partitions, tp)
				b.changed()
			}
			continue
		}
		if p == nil {
			p = newPartition(b, tp)
			b.partitions[tp] = p
		}
		if err := p.ensureLog(); err != nil {
			b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%s: %v", tp, err)
			continue
		}
		wasLeader, oldEpoch := p.isLeader, p.leaderEpoch
		p.applyRegistration(reg)
		b.coordinatorMoved(p, wasLeader, oldEpoch)
	}
	if len(d.Brokers) > 0 {
		// Fencing and re-registration change ISR eligibility and the
		// high-water mark's set of caught-up replicas.
		for _, tp := range b.sortedPartitions() {
			if p := b.partitions[tp]; p.isLeader {
				p.maybeIncrementHighWatermark()
			}
		}
	}
}

func (b *Broker) sortedPartitions() []model.TopicPartition {
	return slices.SortedFunc(maps.Keys(b.partitions), model.TopicPartition.Compare)
}

// Partition returns the broker's replica of tp, if it hosts one.
func (b *Broker) Partition(tp model.TopicPartition) (*Replica, bool) {
	p, ok := b.partitions[tp]
	if !ok || p.log == nil {
		return nil, false
	}
	return &Replica{p: p}, true
}

// Partitions returns the partitions the broker has a log for, sorted.
func (b *Broker) Partitions() []model.TopicPartition {
	var out []model.TopicPartition
	for _, tp := range b.sortedPartitions() {
		if b.partitions[tp].log != nil {
			out = append(out, tp)
		}
	}
	return out
}

// minISR returns the effective min.insync.replicas of a topic: the
// topic's config, else the broker default, capped by the replication
// factor as Kafka ≥ 3.7 does.
func (b *Broker) minISR(topic string, replicas int) int {
	m := b.cfg.MinInsyncReplicas
	if v, ok := b.image.TopicConfig(topic, MinInsyncReplicasConfig); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			m = n
		}
	}
	return min(m, max(replicas, 1))
}

// Send sends a message to a Kafka node id.
func (b *Broker) send(to int32, m network.Message) bool {
	dst, ok := b.dir.Node(to)
	if !ok {
		return false
	}
	b.net.Send(b.n.ID(), dst, m)
	return true
}

func (b *Broker) nextCorrelation() int32 {
	b.corr++
	return b.corr
}

// Receive implements network.Receiver: requests from clients, followers
// and the controller, and responses to this broker's own requests.
func (b *Broker) Receive(from sim.NodeID, m network.Message) {
	if b.receiveControlPlane(from, m) {
		return
	}
	switch m := m.(type) {
	case *protocol.Produce:
		b.handleProduce(from, m)
	case *protocol.Fetch:
		b.handleFetch(from, m)
	case *protocol.ListOffsets:
		b.handleListOffsets(from, m)
	case *protocol.OffsetsForLeaderEpoch:
		b.handleOffsetsForLeaderEpoch(from, m)
	case *protocol.Metadata:
		b.handleMetadata(from, m)
	case *protocol.InitProducerId:
		b.replyTo(from, b.pids.Handle(m, b.epoch))
	case *protocol.FindCoordinator:
		b.handleFindCoordinator(from, m)
	case *protocol.FetchResponse:
		b.onFetchResponse(from, m)
	case *protocol.OffsetsForLeaderEpochResponse:
		b.onOffsetsForLeaderEpochResponse(from, m)
	case *protocol.ListOffsetsResponse:
		b.onListOffsetsResponse(from, m)
	case *protocol.AlterPartitionResponse:
		b.onAlterPartitionResponse(from, m)
	default:
		if b.coord != nil && b.coord.Handle(from, m) {
			return
		}
		b.s.Trace().Emitf(b.n, "broker.unknown-request", 0, "%s from node %d ignored", m.Kind(), from)
	}
}

// Disconnected implements network.Disconnectable: requests in flight to
// the peer are failed (fetchers back off, AlterPartition is resent).
func (b *Broker) Disconnected(peer sim.NodeID) {
	if b.meta != nil {
		b.meta.raft.Disconnected(peer)
	}
	id, ok := b.dir.ID(peer)
	if !ok {
		return
	}
	if id == b.controller && b.life != nil {
		b.life.abandon(true)
	}
	if len(b.forwards) > 0 {
		b.failForwards(id, fmt.Sprintf("the connection to controller %d broke", id))
	}
	if f, ok := b.fetchers[id]; ok {
		f.failInflight("disconnected")
	}
	b.failAlters(id)
}

func (b *Broker) replyTo(from sim.NodeID, m network.Message) { b.net.Send(b.n.ID(), from, m) }

// observeTruncation tells the observer that [from, to) left a replica.
func (b *Broker) observeTruncation(tp model.TopicPartition, from, to int64, reason string) {
	if b.cfg.Observer != nil && (to < 0 || from < to) {
		b.cfg.Observer.Truncated(tp, b.id, from, to, reason)
	}
}

// checkpointHighWatermarks writes replication-offset-checkpoint when a
// high-water mark changed since the last write.
func (b *Broker) checkpointHighWatermarks() {
	hwms := make(map[model.TopicPartition]int64, len(b.partitions))
	for tp, p := range b.partitions {
		if p.log != nil {
			hwms[tp] = p.log.HighWatermark()
		}
	}
	dirty := b.lastHWMs == nil || len(hwms) != len(b.lastHWMs)
	for tp, v := range hwms {
		if old, ok := b.lastHWMs[tp]; !ok || old != v {
			dirty = true
		}
	}
	if !dirty {
		return
	}
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.ReplicationOffsetCheckpoint, hwms); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
		return
	}
	b.lastHWMs = hwms
}

func (b *Broker) recoveryPoints() map[model.TopicPartition]int64 {
	rps := make(map[model.TopicPartition]int64, len(b.partitions))
	for tp, p := range b.partitions {
		if p.log != nil {
			rps[tp] = p.log.RecoveryPoint()
		}
	}
	return rps
}

func (b *Broker) checkpointRecoveryPoints() {
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.RecoveryPointCheckpoint, b.recoveryPoints()); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
	}
}

func (b *Broker) flushLogs() {
	now := b.n.Now()
	for _, tp := range b.sortedPartitions() {
		p := b.partitions[tp]
		if p.log != nil && p.log.Unflushed() > 0 && now-p.log.LastFlush() >= b.cfg.LogFlushInterval {
			if err := p.log.Flush(now); err != nil {
				b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%s: %v", tp, err)
			}
		}
	}
}

// Shutdown is a clean shutdown's disk work: every log flushed, the
// checkpoints written and the clean-shutdown marker left, so that the
// next start skips recovery. The caller then stops the node (Crash).
func (b *Broker) Shutdown() error {
	var errs []error
	now := b.n.Now()
	for _, tp := range b.sortedPartitions() {
		if p := b.partitions[tp]; p.log != nil {
			errs = append(errs, p.log.Flush(now))
		}
	}
	b.lastHWMs = nil
	b.checkpointHighWatermarks()
	errs = append(errs, log.WriteOffsetCheckpoint(b.n.Disk(), log.RecoveryPointCheckpoint, b.recoveryPoints()))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The marker holds the broker epoch, which the next incarnation sends
	// as its previous broker epoch (KIP-966).
	return log.WriteFileAtomic(b.n.Disk(), log.CleanShutdownFile, cleanShutdownContent(b.epoch))
}
