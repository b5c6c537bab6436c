package broker

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// ISRUpdateMode says how a ZooKeeper-mode leader changes its ISR.
type ISRUpdateMode uint8

// The ISR update modes.
const (
	// ISRViaAlterPartition is Kafka ≥ 2.7 (KIP-497): the leader sends
	// AlterIsr (AlterPartition) to the controller, which writes the
	// partition state znode.
	ISRViaAlterPartition ISRUpdateMode = iota
	// ISRViaZooKeeper is Kafka before 2.7: the leader writes the partition
	// state znode itself, conditionally on its cached zkVersion, and
	// leaves a sequential /isr_change_notification znode that makes the
	// controller send UpdateMetadata.
	ISRViaZooKeeper
)

var isrUpdateNames = []string{"alter-partition", "zookeeper"}

func (m ISRUpdateMode) String() string {
	if int(m) < len(isrUpdateNames) {
		return isrUpdateNames[m]
	}
	return "ISRUpdateMode(" + strconv.Itoa(int(m)) + ")"
}

// ParseISRUpdateMode parses alter-partition or zookeeper.
func ParseISRUpdateMode(s string) (ISRUpdateMode, error) {
	for i, n := range isrUpdateNames {
		if n == s {
			return ISRUpdateMode(i), nil
		}
	}
	return 0, fmt.Errorf("invalid ISR update mode %q: accepted are alter-partition, zookeeper", s)
}

// ZKConfig configures a broker in ZooKeeper mode: its ZooKeeper session,
// and the controller it runs when elected.
type ZKConfig struct {
	// Servers is zookeeper.connect: the ensemble's nodes.
	Servers []sim.NodeID
	// SessionTimeout is zookeeper.session.timeout.ms (18 s).
	SessionTimeout time.Duration
	// TopicDefaults are the topic configs a topic without its own takes
	// (min.insync.replicas, unclean.leader.election.enable), as the
	// controller reads them from its broker config.
	TopicDefaults model.TopicConfig
	// ISRUpdates is how leaders change their ISR.
	ISRUpdates ISRUpdateMode
	// NoControllerEpochFence brings back KAFKA-6082: the controller's
	// writes are not fenced by /controller_epoch's zkVersion, and a
	// controller whose session expired finishes the writes it had under
	// way on the new session (as the old ZkClient retried them) before it
	// resigns.
	NoControllerEpochFence bool
	// AutoLeaderRebalance is auto.leader.rebalance.enable (true): the
	// controller moves leadership back to preferred replicas, checked
	// every LeaderImbalanceCheckInterval
	// (leader.imbalance.check.interval.seconds, 300 s) for brokers that
	// lead less than their share by more than
	// LeaderImbalancePerBrokerPercentage
	// (leader.imbalance.per.broker.percentage, 10).
	AutoLeaderRebalance                bool
	LeaderImbalanceCheckInterval       time.Duration
	LeaderImbalancePerBrokerPercentage int
	// NoZkVersionRecheck brings back the stale cached zkVersion of
	// KAFKA-1382 (the symptom of KAFKA-2729 and KAFKA-3042): a leader whose
	// conditional ISR write lost its answer and got BADVERSION on the
	// retry does not check whether the znode holds its own write.
	NoZkVersionRecheck bool
}

// DefaultZKConfig returns Kafka's defaults for a broker of the ensemble
// servers.
func DefaultZKConfig(servers []sim.NodeID) ZKConfig {
	return ZKConfig{Servers: slices.Clone(servers), SessionTimeout: 18 * time.Second, TopicDefaults: model.TopicConfig{MinInsyncReplicas: 1},
		AutoLeaderRebalance: true, LeaderImbalanceCheckInterval: 300 * time.Second, LeaderImbalancePerBrokerPercentage: 10}
}

// zkBroker is a broker's ZooKeeper side (KafkaZkClient with KafkaServer's
// registration and ReplicaManager's controller-request handling): one
// session at a time, the ephemeral /brokers/ids/<id> whose czxid is the
// broker epoch, the controller epoch of the newest controller heard from,
// and the controller (KafkaController) every broker runs, active on one.
type zkBroker struct {
	b          *Broker
	cfg        ZKConfig
	zk         *zookeeper.Client
	session    int
	registered bool
	ctlEpoch   int32 // ReplicaManager.controllerEpoch
	offset     int64 // the metadata cache's version, for the image
	ctl        *zkController
	shutdown   *zkShutdown
	// writes are the partition states this broker's controller wrote and
	// ZooKeeper accepted; isrFailures the leader's failed conditional ISR
	// writes (isr-updates=zookeeper). Both for the checker.
	writes      []ZKControllerWrite
	isrFailures []ZKISRWriteFailure
}

// ZKControllerWrite is one partition state a ZooKeeper-mode controller
// wrote and ZooKeeper accepted: the controller epoch it acted in, and the
// zxid and zkVersion of the write.
type ZKControllerWrite struct {
	TP              model.TopicPartition
	ControllerEpoch int32
	ZkVersion       int32
	Zxid            zookeeper.Zxid
}

// ZKISRWriteFailure is a leader's conditional ISR write (isr-updates
// zookeeper) that ZooKeeper refused with BADVERSION, and how many times in
// a row the leader's writes for that leader epoch failed on that same
// cached zkVersion.
type ZKISRWriteFailure struct {
	TP          model.TopicPartition
	LeaderEpoch int32
	ZkVersion   int32
	Failures    int
}

// ZKControllerWrites returns, in ZooKeeper mode, every partition state
// write of this broker's controller that ZooKeeper accepted since the
// broker started, oldest first. The slice is shared: read it, never
// change it.
func (b *Broker) ZKControllerWrites() []ZKControllerWrite {
	if b.zk == nil {
		return nil
	}
	return b.zk.writes
}

// ZKISRWriteFailures returns, in ZooKeeper mode, every failed conditional
// ISR write of this broker's leaders since it started, oldest first. The
// slice is shared: read it, never change it.
func (b *Broker) ZKISRWriteFailures() []ZKISRWriteFailure {
	if b.zk == nil {
		return nil
	}
	return b.zk.isrFailures
}

func newZKBroker(b *Broker) *zkBroker {
	zb := &zkBroker{b: b, cfg: *b.cfg.ZooKeeper}
	zb.ctl = newZKController(zb)
	zb.connect()
	return zb
}

// ZooKeeper returns the broker's ZooKeeper handle in ZooKeeper mode, or nil.
// Read it; never drive it.
func (b *Broker) ZooKeeper() *zookeeper.Client {
	if b.zk == nil {
		return nil
	}
	return b.zk.zk
}

// ZKControllerEpoch returns, in ZooKeeper mode, the epoch of the active
// controller this broker runs (and true), or the newest controller epoch
// it has heard of (and false).
func (b *Broker) ZKControllerEpoch() (int32, bool) {
	if b.zk == nil {
		return -1, false
	}
	if b.zk.ctl.active {
		return b.zk.ctl.epoch, true
	}
	return b.zk.ctlEpoch, false
}

// ZKRegistered reports whether a ZooKeeper-mode broker holds its
// /brokers/ids znode in its current session.
func (b *Broker) ZKRegistered() bool { return b.zk != nil && b.zk.registered }

func (zb *zkBroker) emit(kind string, digest uint64, format string, args ...any) {
	tr := zb.b.s.Trace()
	if !tr.Sinking() {
		tr.Emit(zb.b.n, kind, digest, nil)
		return
	}
	tr.Emitf(zb.b.n, kind, digest, format, args...)
}

// connect makes a new session (the first, or after the last expired) and
// registers the broker in it.
func (zb *zkBroker) connect() {
	b := zb.b
	zb.session++
	sess := zb.session
	c, err := zookeeper.NewClient(zookeeper.ClientConfig{SessionTimeout: zb.cfg.SessionTimeout}, zookeeper.ClientSetup{
		Node: b.n, Servers: zb.cfg.Servers,
		Send: func(to sim.NodeID, m network.Message) { b.net.Send(b.n.ID(), to, m) },
		Watcher: func(e zookeeper.Event) {
			if sess == zb.session {
				zb.onEvent(e)
			}
		},
	})
	if err != nil {
		b.s.Fail("broker.zk", fmt.Errorf("broker %d: %w", b.id, err))
		return
	}
	zb.zk = c
	for _, p := range zkTopLevelPaths {
		c.Create(p, nil, zookeeper.Persistent, nil) // NODEEXISTS once created
	}
	zb.register()
}

// stale reports whether a callback belongs to an older session.
func (zb *zkBroker) stale(sess int) bool { return sess != zb.session }

// register creates the ephemeral /brokers/ids/<id>. A znode left by this
// broker's previous session (a restart within the session timeout) makes
// the registration wait until ZooKeeper expires that session; Kafka's
// broker fails its start then, and its supervisor starts it again.
func (zb *zkBroker) register() {
	b, sess, zk := zb.b, zb.session, zb.zk
	data := mustJSON(zkBrokerZnode{Version: 5, Host: b.n.Name(), Port: 9092, JmxPort: -1,
		Timestamp: strconv.FormatInt(b.n.Now().Milliseconds(), 10), Endpoints: []string{"PLAINTEXT://" + b.n.Name() + ":9092"}})
	path := ZKBrokerPath(b.id)
	zk.Create(path, data, zookeeper.Ephemeral, func(_ string, err error) {
		if zb.stale(sess) {
			return
		}
		switch {
		case err == nil, errors.Is(err, zookeeper.NodeExists):
			zk.GetData(path, false, func(_ []byte, st zookeeper.Stat, err error) {
				if zb.stale(sess) {
					return
				}
				switch {
				case err == nil && st.EphemeralOwner == zk.SessionID():
					zb.onRegistered(st.Czxid)
				case err == nil || errors.Is(err, zookeeper.NoNode) || errors.Is(err, zookeeper.ConnectionLoss):
					b.s.Mark("broker.zk.registration-conflict")
					zb.emit("broker.zk.registration-conflict", uint64(b.id), "%s is held by another session: retrying", path)
					b.n.After(time.Second, "broker.zk.register", func() {
						if !zb.stale(sess) {
							zb.register()
						}
					})
				}
			})
		case errors.Is(err, zookeeper.ConnectionLoss):
			zb.register()
		}
	})
}

func (zb *zkBroker) onRegistered(czxid zookeeper.Zxid) {
	b := zb.b
	zb.registered = true
	b.epoch = int64(czxid)
	zb.emit("broker.zk.registered", uint64(czxid), "registered %s with broker epoch %d (its czxid)", ZKBrokerPath(b.id), czxid)
	zb.ctl.elect()
}

// onEvent is the session's default watcher.
func (zb *zkBroker) onEvent(e zookeeper.Event) {
	if e.Type == zookeeper.EventNone {
		zb.emit("broker.zk.session", uint64(uint32(e.State)), "session %x: %s", zb.zk.SessionID(), e.State)
		if e.State == zookeeper.StateExpired {
			zb.onSessionExpired()
		}
		return
	}
	switch e.Path {
	case ZKControllerPath:
		zb.ctl.onControllerChange()
	case ZKBrokerIDsPath:
		zb.ctl.onBrokerChange()
	case ZKTopicsPath:
		zb.ctl.onTopicChange()
	case ZKIsrChangePath:
		zb.ctl.onIsrChangeNotification()
	}
}

// onSessionExpired makes a new session, registers again (a new broker
// epoch) and takes part in the controller election again; the controller
// resigns first (or, under KAFKA-6082, once its writes under way are done).
func (zb *zkBroker) onSessionExpired() {
	b := zb.b
	b.s.Mark("broker.zk.session-expired")
	zb.registered = false
	old := zb.zk
	zb.ctl.onSessionExpired(old)
	zb.connect()
}

// receive handles the ZooKeeper-mode messages; it reports whether m was
// one.
func (zb *zkBroker) receive(from sim.NodeID, m network.Message) bool {
	if zb.zk.Receive(from, m) {
		return true
	}
	switch m := m.(type) {
	case *zookeeper.ConnectResponse, *zookeeper.Reply, *zookeeper.WatcherEvent, *zookeeper.FIN:
		return true // for a handle of an expired session
	case *protocol.LeaderAndIsr:
		zb.handleLeaderAndIsr(from, m)
	case *protocol.UpdateMetadata:
		zb.handleUpdateMetadata(from, m)
	case *protocol.StopReplica:
		zb.handleStopReplica(from, m)
	case *protocol.AlterPartition:
		zb.ctl.handleAlterPartition(from, m)
	case *protocol.ControlledShutdown:
		zb.ctl.handleControlledShutdown(from, m)
	case *protocol.CreateTopics, *protocol.ElectLeaders, *protocol.DeleteTopics:
		req := m.(protocol.ForwardableRequest)
		if !zb.ctl.active {
			if zb.b.controller == zb.b.id {
				zb.b.replyTo(from, notControllerResponse(req, "this broker is no longer the active controller"))
				return true
			}
			return false // forwarded to the active controller
		}
		switch m := m.(type) {
		case *protocol.CreateTopics:
			zb.ctl.handleCreateTopics(from, m)
		case *protocol.ElectLeaders:
			zb.ctl.handleElectLeaders(from, m)
		case *protocol.DeleteTopics:
			zb.ctl.handleDeleteTopics(from, m)
		}
	case *protocol.ControlledShutdownResponse:
		zb.onControlledShutdownResponse(m)
	case *protocol.StopReplicaResponse:
		zb.ctl.onStopReplicaResponse(from, m)
	case *protocol.LeaderAndIsrResponse, *protocol.UpdateMetadataResponse:
	default:
		return false
	}
	return true
}

// checkController fences a controller request: an older controller epoch
// than the newest heard of is STALE_CONTROLLER_EPOCH, a broker epoch older
// than this registration's STALE_BROKER_EPOCH (KIP-380).
func (zb *zkBroker) checkController(h protocol.ControllerHeader, what string) protocol.ErrorCode {
	b := zb.b
	if h.ControllerEpoch < zb.ctlEpoch {
		b.s.Mark("broker.zk.stale-controller-epoch")
		zb.emit("broker.zk.stale-controller-epoch", uint64(h.ControllerEpoch), "%s from controller %d with epoch %d ignored: the newest controller epoch is %d",
			what, h.ControllerID, h.ControllerEpoch, zb.ctlEpoch)
		return protocol.StaleControllerEpoch
	}
	if h.BrokerEpoch >= 0 && h.BrokerEpoch < b.epoch {
		b.s.Mark("broker.zk.stale-broker-epoch")
		zb.emit("broker.zk.stale-broker-epoch", uint64(h.BrokerEpoch), "%s for broker epoch %d ignored: this broker's epoch is %d", what, h.BrokerEpoch, b.epoch)
		return protocol.StaleBrokerEpoch
	}
	zb.ctlEpoch = h.ControllerEpoch
	return protocol.None
}

// stateRecords returns the records that put a partition state into the
// metadata cache; known names topics already added in this batch.
func (zb *zkBroker) stateRecords(ps protocol.PartitionState, known map[string]bool) []metadata.Record {
	var recs []metadata.Record
	if t, ok := zb.b.image.Topic(ps.TP.Topic); !ok && !known[ps.TP.Topic] {
		recs = append(recs, &metadata.TopicRecord{Name: ps.TP.Topic, TopicID: ps.TopicID})
		known[ps.TP.Topic] = true
	} else if ok && t.ID != metadata.Uuid(ps.TopicID) {
		return nil
	}
	return append(recs, &metadata.PartitionRecord{PartitionID: ps.TP.Partition, TopicID: ps.TopicID, Replicas: slices.Clone(ps.Replicas),
		ISR: slices.Clone(ps.ISR), Leader: ps.Leader, LeaderEpoch: ps.LeaderEpoch, PartitionEpoch: ps.ZkVersion,
		LeaderRecoveryState: protocol.Recovered})
}

// applyCache applies records to the metadata cache (the image), without
// acting on partitions: only LeaderAndIsr makes a replica lead or follow.
func (zb *zkBroker) applyCache(recs []metadata.Record) {
	if len(recs) == 0 {
		return
	}
	b := zb.b
	zb.offset++
	d, err := b.image.Apply(recs, zb.offset)
	if err != nil {
		zb.emit("broker.zk.metadata-error", 0, "%v", err)
	}
	if d != nil && len(d.Brokers) > 0 {
		for _, tp := range b.sortedPartitions() {
			if p := b.partitions.at(tp); p.isLeader {
				p.maybeIncrementHighWatermark()
			}
		}
	}
}

func (zb *zkBroker) handleLeaderAndIsr(from sim.NodeID, m *protocol.LeaderAndIsr) {
	b := zb.b
	resp := &protocol.LeaderAndIsrResponse{CorrelationID: m.CorrelationID}
	if resp.Error = zb.checkController(m.ControllerHeader, "LeaderAndIsr"); resp.Error != protocol.None {
		b.replyTo(from, resp)
		return
	}
	b.SetController(m.ControllerID)
	var recs []metadata.Record
	var apply []protocol.PartitionState
	known := map[string]bool{}
	for _, ps := range m.Partitions {
		cur := protocol.NoEpoch
		if p, ok := b.partitions.get(ps.TP); ok {
			cur = p.leaderEpoch
		}
		if ps.LeaderEpoch <= cur {
			// Kafka 2.x ignores a partition state whose leader epoch is not
			// newer than the replica's.
			b.s.Mark("broker.zk.leader-epoch-not-newer")
			zb.emit("broker.zk.leader-epoch-not-newer", uint64(ps.LeaderEpoch), "LeaderAndIsr for %s ignored: leader epoch %d is not newer than %d",
				ps.TP, ps.LeaderEpoch, cur)
			resp.Partitions = append(resp.Partitions, protocol.LeaderAndIsrPartitionError{TP: ps.TP, Error: protocol.StaleControllerEpoch})
			continue
		}
		if r := zb.stateRecords(ps, known); r != nil {
			recs = append(recs, r...)
			apply = append(apply, ps)
		}
		resp.Partitions = append(resp.Partitions, protocol.LeaderAndIsrPartitionError{TP: ps.TP})
	}
	zb.applyCache(recs)
	for _, ps := range apply {
		b.applyPartition(ps.TP, &metadata.Partition{Replicas: slices.Clone(ps.Replicas), ISR: slices.Clone(ps.ISR), Leader: ps.Leader,
			LeaderEpoch: ps.LeaderEpoch, PartitionEpoch: ps.ZkVersion, LeaderRecoveryState: protocol.Recovered})
	}
	if len(apply) > 0 {
		b.startHighWatermarkCheckpoints()
	}
	b.replyTo(from, resp)
}

func (zb *zkBroker) handleUpdateMetadata(from sim.NodeID, m *protocol.UpdateMetadata) {
	b := zb.b
	resp := &protocol.UpdateMetadataResponse{CorrelationID: m.CorrelationID}
	if resp.Error = zb.checkController(m.ControllerHeader, "UpdateMetadata"); resp.Error != protocol.None {
		b.replyTo(from, resp)
		return
	}
	b.SetController(m.ControllerID)
	var recs []metadata.Record
	live := map[int32]bool{}
	for _, lb := range m.LiveBrokers {
		live[lb.ID] = true
		reg, ok := b.image.Broker(lb.ID)
		switch {
		case !ok || reg.Epoch < lb.Epoch:
			recs = append(recs, &metadata.RegisterBrokerRecord{BrokerID: lb.ID, BrokerEpoch: lb.Epoch})
		case reg.Epoch == lb.Epoch && reg.Fenced:
			recs = append(recs, &metadata.UnfenceBrokerRecord{ID: lb.ID, Epoch: lb.Epoch})
		}
	}
	for _, id := range b.image.Brokers() {
		if reg, _ := b.image.Broker(id); !live[id] && !reg.Fenced {
			recs = append(recs, &metadata.FenceBrokerRecord{ID: id, Epoch: reg.Epoch})
		}
	}
	known := map[string]bool{}
	for _, t := range m.Topics {
		if _, ok := b.image.Topic(t.Name); ok {
			continue
		}
		known[t.Name] = true
		recs = append(recs, &metadata.TopicRecord{Name: t.Name, TopicID: t.ID})
		for _, k := range slices.Sorted(maps.Keys(t.Configs)) {
			v := t.Configs[k]
			recs = append(recs, &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: t.Name, Name: k, Value: &v})
		}
	}
	for _, ps := range m.Partitions {
		if ps.Leader != zkLeaderDuringDelete {
			recs = append(recs, zb.stateRecords(ps, known)...)
		}
	}
	recs = append(recs, zb.removeDeleted(m)...)
	zb.applyCache(recs)
	b.replyTo(from, resp)
}

func (zb *zkBroker) handleStopReplica(from sim.NodeID, m *protocol.StopReplica) {
	b := zb.b
	resp := &protocol.StopReplicaResponse{CorrelationID: m.CorrelationID}
	if resp.Error = zb.checkController(m.ControllerHeader, "StopReplica"); resp.Error != protocol.None {
		b.replyTo(from, resp)
		return
	}
	for _, sp := range m.Partitions {
		p, ok := b.partitions.get(sp.TP)
		if !ok || (sp.LeaderEpoch != zkEpochDuringDelete && sp.LeaderEpoch < p.leaderEpoch) {
			continue
		}
		wasLeader := p.isLeader
		p.becomeNone(protocol.NotLeaderOrFollower)
		p.leader = protocol.NoNode
		b.coordinatorMoved(p, wasLeader, p.leaderEpoch)
		if sp.Delete {
			p.deleteLog()
			b.partitions.remove(sp.TP)
		}
		b.changedPartition(sp.TP)
		zb.emit("broker.zk.stop-replica", uint64(sp.LeaderEpoch), "%s stopped (delete %t)", sp.TP, sp.Delete)
	}
	b.replyTo(from, resp)
}

// ---- ISR changes written by the leader (before Kafka 2.7) ----

// writeISR writes a leader's pending ISR change to its partition state
// znode, conditionally on the cached zkVersion (Partition.updateIsr before
// KIP-497), and on success leaves an ISR change notification.
func (zb *zkBroker) writeISR(p *partition) {
	b, sess, zk := zb.b, zb.session, zb.zk
	pend := p.tracker.Pending()
	if pend == nil {
		return
	}
	tp, epoch, version := p.tp, p.leaderEpoch, p.partitionEpoch
	data := encodeState(b.id, epoch, pend.ISR, zb.ctlEpoch)
	path := ZKPartitionStatePath(tp)
	var attempt func(retry bool)
	attempt = func(retry bool) {
		zk.SetData(path, data, version, func(st zookeeper.Stat, err error) {
			if zb.stale(sess) || b.partitions.at(tp) != p || p.tracker.Pending() != pend || p.leaderEpoch != epoch {
				return
			}
			switch {
			case err == nil:
				zb.isrWritten(p, st.Version)
			case errors.Is(err, zookeeper.ConnectionLoss):
				// KafkaZkClient resends a request whose connection broke;
				// its outcome is unknown.
				b.s.Mark("broker.zk.isr-write-retried")
				attempt(true)
			case errors.Is(err, zookeeper.BadVersion) && retry && !zb.cfg.NoZkVersionRecheck:
				// KAFKA-1382's fix: read the znode; if it holds this very
				// write, the retried request had gone through.
				zk.GetData(path, false, func(got []byte, st zookeeper.Stat, err error) {
					if zb.stale(sess) || b.partitions.at(tp) != p || p.tracker.Pending() != pend {
						return
					}
					if err == nil && string(got) == string(data) {
						b.s.Mark("broker.zk.isr-write-rechecked")
						zb.isrWritten(p, st.Version)
						return
					}
					zb.isrSkipped(p, version, err == nil)
				})
			default:
				zb.isrSkipped(p, version, errors.Is(err, zookeeper.BadVersion))
			}
		})
	}
	attempt(false)
}

func (zb *zkBroker) isrWritten(p *partition, version int32) {
	b := zb.b
	p.tracker.Commit(p.tracker.Pending().ISR)
	p.partitionEpoch = version
	p.emit("broker.isr.committed", sim.Digest(uint64(version), uint64(len(p.tracker.ISR()))), "ISR %v written to ZooKeeper at zkVersion %d",
		p.tracker.ISR(), version)
	p.changed()
	if !p.maybeIncrementHighWatermark() {
		p.checkDelayed()
	}
	note := mustJSON(zkIsrChangeZnode{Version: 1, Partitions: []zkIsrChangeEntry{{Topic: p.tp.Topic, Partition: p.tp.Partition}}})
	zb.zk.Create(ZKIsrChangePath+"/isr_change_", note, zookeeper.PersistentSequential, nil)
	_ = b
}

// isrSkipped is Kafka's "Cached zkVersion not equal to that in zookeeper,
// skip updating ISR": the change is dropped until a LeaderAndIsr brings a
// newer state.
func (zb *zkBroker) isrSkipped(p *partition, version int32, badVersion bool) {
	zb.b.s.Mark("broker.zk.isr-update-skipped")
	p.emit("broker.zk.isr-update-skipped", uint64(version), "cached zkVersion %d not equal to that in ZooKeeper: skip updating ISR %v",
		version, p.tracker.Pending().ISR)
	p.tracker.Rollback()
	p.changed()
	p.maybeIncrementHighWatermark()
	if !badVersion {
		return
	}
	n := 1
	for i := len(zb.isrFailures) - 1; i >= 0; i-- {
		if f := zb.isrFailures[i]; f.TP == p.tp {
			if f.LeaderEpoch == p.leaderEpoch && f.ZkVersion == version {
				n = f.Failures + 1
			}
			break
		}
	}
	zb.isrFailures = append(zb.isrFailures, ZKISRWriteFailure{TP: p.tp, LeaderEpoch: p.leaderEpoch, ZkVersion: version, Failures: n})
}

// ---- controlled shutdown ----

// zkShutdown is a controlled shutdown under way (KafkaServer's
// controlledShutdown): ControlledShutdown to the controller until it says
// nothing is left, then the clean shutdown and the session's close.
type zkShutdown struct {
	done  func(error)
	corr  int32
	timer sim.Timer
	retry sim.Timer
}

func (zb *zkBroker) controlledShutdown(timeout time.Duration, done func(error)) {
	b := zb.b
	if zb.shutdown != nil {
		return
	}
	b.s.Mark("broker.controlled-shutdown")
	zb.shutdown = &zkShutdown{done: done}
	zb.shutdown.timer = b.n.After(timeout, "broker.controlled-shutdown.timeout", func() {
		zb.finishShutdown(fmt.Errorf("broker %d: timed out after %v waiting for the controller to approve controlled shutdown", b.id, timeout))
	})
	zb.sendControlledShutdown()
}

func (zb *zkBroker) sendControlledShutdown() {
	b, sd := zb.b, zb.shutdown
	if sd == nil {
		return
	}
	sd.corr = b.nextCorrelation()
	if b.controller == protocol.NoNode || !b.send(b.controller, &protocol.ControlledShutdown{CorrelationID: sd.corr, BrokerID: b.id, BrokerEpoch: b.epoch}) {
		sd.retry = b.n.After(time.Second, "broker.controlled-shutdown.retry", zb.sendControlledShutdown)
	}
}

func (zb *zkBroker) onControlledShutdownResponse(m *protocol.ControlledShutdownResponse) {
	b, sd := zb.b, zb.shutdown
	if sd == nil || m.CorrelationID != sd.corr {
		return
	}
	if m.Error == protocol.None && len(m.Remaining) == 0 {
		zb.finishShutdown(nil)
		return
	}
	sd.retry = b.n.After(time.Second, "broker.controlled-shutdown.retry", zb.sendControlledShutdown)
}

func (zb *zkBroker) finishShutdown(reason error) {
	b, sd := zb.b, zb.shutdown
	if sd == nil || sd.done == nil {
		return
	}
	b.n.Cancel(sd.timer)
	b.n.Cancel(sd.retry)
	done := sd.done
	sd.done = nil
	zb.ctl.resign("the broker is shutting down")
	err := b.Shutdown()
	if err == nil {
		err = reason
	}
	// Closing the session deletes /brokers/ids/<id> at once; the broker
	// stops once the ensemble confirms, or after a second.
	finished := false
	finish := func() {
		if !finished {
			finished = true
			done(err)
		}
	}
	zb.zk.Close(func(error) { finish() })
	b.n.After(time.Second, "broker.zk.close-timeout", finish)
}
