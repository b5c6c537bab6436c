// Package broker is Kafka's broker data path running on kafkasim's kernel:
// partition logs, the replica manager (leader or follower per partition,
// from applied KRaft metadata), Produce with acks 0, 1 and all, Fetch with
// long polls, replica fetchers (one per source broker), truncation by
// diverging epoch or, as historical switches, by OffsetsForLeaderEpoch or
// to the high-water mark, ISR shrink and expand through AlterPartition,
// the high-water mark, periodic checkpoints and restart recovery. The
// leader's rules over its followers (caught up, ISR eligibility, the
// maximal ISR, the high-water mark, shrink and expand) live in the pure
// package broker/isr.
//
// A Broker is a sim process: Boot returns the sim.Boot that builds it on
// every start. Metadata reaches it through ApplyMetadata, called by the
// metadata source (a KRaft observer, or a test's controller double).
//
// One file per Kafka component: broker.go the process, requests.go the
// requests it accepts (KafkaApis and its listeners), replica_manager.go
// metadata deltas applied to partitions, partition.go one replica as
// leader or follower, produce.go Produce and DelayedProduce, fetch.go
// Fetch served by the leader and DelayedFetch, fetcher.go the follower's
// replica fetcher, alter_partition.go ISR changes and the
// AlterPartitionManager, offsets.go ListOffsets and OffsetsForLeaderEpoch,
// describe.go answers from the metadata image, forward.go admin requests
// forwarded to the controller, lifecycle.go the BrokerLifecycleManager,
// checkpoints.go the LogManager's loading, checkpoints, flushes and clean
// shutdown, metadata_follower.go the metadata log replica, groups.go the
// group coordinator's glue, view.go the checkers' view.
package broker

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/fetchsession"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/txn"
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

	partitions partitionTable
	fetchers   map[int32]*fetcher // by source (leader) broker id
	// sessions are the KIP-227 fetch sessions of the fetchers of this
	// broker's partitions; nil without sessions (NoFetchSessions).
	sessions *fetchsession.Cache
	// sessionWaits are the incremental session fetches waiting for data,
	// in arrival order; waitSeq numbers every held fetch in arrival order.
	sessionWaits []*fetchWait
	waitSeq      uint64
	// heldScratch and markedScratch are scratch lists of wakeFetchWaits
	// and sessionReady, kept so that a wake does not allocate one.
	heldScratch   []*fetchWait
	markedScratch []protocol.FetchPartition

	corr   int32
	alters map[int32]*alterRequest // AlterPartition requests in flight, by correlation id
	alterQ map[model.TopicPartition]bool
	// produceChans are the clients' connections that sent produce
	// requests, by client node: one request at a time each.
	produceChans map[sim.NodeID]*produceChannel
	alterT       sim.Timer

	changes uint64
	// journal names the partitions of the latest changes, one per change
	// (changedSince); unjournaled counts changes a checker can see that
	// the journal does not name (a partition without a log appearing).
	journal     []model.TopicPartition
	unjournaled uint64
	lastHWMs    map[model.TopicPartition]int64
	// hwmCheckpoints is set once the broker acted on partition leadership
	// since it started, and wrote the high-water marks at once.
	hwmCheckpoints bool
	// lastStarts is what log-start-offset-checkpoint holds;
	// lastRetention when the last retention pass ran.
	lastStarts    map[model.TopicPartition]int64
	lastRetention time.Duration
	lastClean     time.Duration
	failedStart   error

	// With a controller quorum: the metadata log replica, the lifecycle
	// towards the controller, and admin requests forwarded to it.
	meta     *metadataFollower
	life     *lifecycle
	forwards map[int32]*forwarded
	// In ZooKeeper mode: the session, the registration and the controller.
	zk *zkBroker

	// The group coordinator of the __consumer_offsets partitions this
	// broker leads, and the producer ids it hands out.
	coord *group.Coordinator
	pids  ProducerIDs
	// The transaction coordinator of the __transaction_state partitions
	// this broker leads, and its transaction requests to other brokers in
	// flight (WriteTxnMarkers, AddPartitionsToTxn), by correlation id.
	txnCoord    *txn.Coordinator
	txnRequests map[int32]*txnRequest
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
		partitions:   newPartitionTable(),
		fetchers:     make(map[int32]*fetcher),
		alters:       make(map[int32]*alterRequest),
		alterQ:       make(map[model.TopicPartition]bool),
		produceChans: make(map[sim.NodeID]*produceChannel),
		lastHWMs:     make(map[model.TopicPartition]int64),
		// Correlation ids differ between incarnations, so that a late
		// answer to a request of a previous process is never taken for an
		// answer to this one's.
		corr: int32(n.Boots()&0x7f) << 24,
	}
	if !cfg.NoFetchSessions {
		// Session ids, as correlation ids, differ between incarnations.
		b.sessions = fetchsession.NewCache(cfg.FetchSessionCacheSlots, cfg.FetchSessionEviction, int32(n.Boots()&0x7f)<<24)
	}
	previousEpoch := readPreviousEpoch(n.Disk())
	b.startCoordinator()
	if err := b.loadLogs(); err != nil {
		// A failed log directory: Kafka's broker would stop. This one stays
		// up without partitions and answers KAFKA_STORAGE_ERROR.
		b.failedStart = err
		b.s.Trace().Emitf(n, "broker.storage-error", 0, "%v", err)
	}
	b.lastRetention, b.lastClean = n.Now(), n.Now()
	b.schedule(cfg.HighWatermarkCheckpointInterval, "broker.hwm-checkpoint", func() {
		b.checkpointHighWatermarks()
		b.maybeCleanupLogs()
		b.maybeCleanLogs()
	})
	b.schedule(cfg.RecoveryPointCheckpointInterval, "broker.recovery-point-checkpoint", func() {
		b.checkpointRecoveryPoints()
		b.checkpointLogStartOffsets(false)
	})
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
	} else if cfg.ZooKeeper != nil {
		b.zk = newZKBroker(b)
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

// changedPartition counts a change to one partition and journals it.
func (b *Broker) changedPartition(tp model.TopicPartition) {
	b.changes++
	b.journal = append(b.journal, tp)
	if len(b.journal) >= 2*journalKeep {
		n := copy(b.journal, b.journal[len(b.journal)-journalKeep:])
		b.journal = b.journal[:n]
	}
}

// journalKeep is how many of the latest partition changes a broker keeps
// for changedSince at least.
const journalKeep = 1024

// changedSince returns the partitions changed after the broker's change
// count was count, in the order of the changes (a partition may come more
// than once); false when the journal no longer holds them all.
func (b *Broker) changedSince(count uint64) ([]model.TopicPartition, bool) {
	if count > b.changes || b.changes-count > uint64(len(b.journal)) {
		return nil, false
	}
	return b.journal[len(b.journal)-int(b.changes-count):], true
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

func (b *Broker) sortedPartitions() []model.TopicPartition {
	return b.partitions.sorted()
}

// Partition returns the broker's replica of tp, if it hosts one.
func (b *Broker) Partition(tp model.TopicPartition) (*Replica, bool) {
	p, ok := b.partitions.get(tp)
	if !ok || p.log == nil {
		return nil, false
	}
	return &Replica{p: p}, true
}

// Partitions returns the partitions the broker has a log for, sorted.
func (b *Broker) Partitions() []model.TopicPartition {
	var out []model.TopicPartition
	for _, tp := range b.sortedPartitions() {
		if b.partitions.at(tp).log != nil {
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

// observeTruncation tells the observer that [from, to) left a replica.
func (b *Broker) observeTruncation(tp model.TopicPartition, from, to int64, reason string) {
	if b.cfg.Observer != nil && (to < 0 || from < to) {
		b.cfg.Observer.Truncated(tp, b.id, from, to, reason)
	}
}

// observeLogStart tells the observer, if it listens, that a replica's log
// start offset moved.
func (b *Broker) observeLogStart(tp model.TopicPartition, from, to int64, reason string) {
	if o, ok := b.cfg.Observer.(model.LogStartObserver); ok && from < to {
		o.LogStartMoved(tp, b.id, from, to, reason)
	}
}
