package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// zkTopic is a topic as the controller's context knows it.
type zkTopic struct {
	id         metadata.Uuid
	assignment [][]int32
	configs    map[string]string
}

// zkState is a partition state znode's content with its zkVersion.
type zkState struct {
	leader          int32
	leaderEpoch     int32
	isr             []int32
	controllerEpoch int32
	version         int32
}

// zkController is the ZooKeeper-mode controller (KafkaController) every
// broker runs: elected through the ephemeral /controller and
// /controller_epoch, it reads the cluster's state from ZooKeeper when it
// becomes active (onControllerFailover), watches /brokers/ids,
// /brokers/topics and /isr_change_notification, elects leaders and
// shrinks ISRs with conditional writes to the partition state znodes
// (fenced by /controller_epoch's zkVersion since KAFKA-6082), and tells
// brokers with LeaderAndIsr, UpdateMetadata and StopReplica.
type zkController struct {
	zb *zkBroker
	b  *Broker

	active       bool
	loaded       bool
	zombie       bool // its session expired; it has not resigned yet (KAFKA-6082)
	gen          int  // bumped on every activation and resignation
	epoch        int32
	epochVersion int32
	controllerID int32 // as /controller last read said

	live     map[int32]int64
	topics   map[string]*zkTopic
	states   map[model.TopicPartition]*zkState
	shutting map[int32]bool
	bouncing map[int32]bool // re-registered with a new epoch: failed first, started after (KIP-380)
	busy     map[model.TopicPartition]bool
	dirty    map[string]bool // watch events that came during the load
	deleting map[string]*zkDeletion
	corr     int32
}

func newZKController(zb *zkBroker) *zkController {
	return &zkController{zb: zb, b: zb.b, controllerID: protocol.NoNode}
}

func (c *zkController) emit(kind string, digest uint64, format string, args ...any) {
	c.zb.emit(kind, digest, format, args...)
}

// ---- election ----

// elect reads /controller (watching it) and, if there is none, tries to
// become the controller.
func (c *zkController) elect() {
	zb := c.zb
	if c.active && c.zombie {
		// The old ZkClient's handleNewSession: resign, then elect.
		c.resign("its ZooKeeper session expired")
	}
	sess, zk := zb.session, zb.zk
	zk.Exists(ZKControllerPath, true, func(_ zookeeper.Stat, err error) {
		if zb.stale(sess) {
			return
		}
		switch {
		case errors.Is(err, zookeeper.NoNode):
			c.tryBecomeController()
		case err == nil:
			zk.GetData(ZKControllerPath, true, func(data []byte, st zookeeper.Stat, err error) {
				if zb.stale(sess) {
					return
				}
				switch {
				case err == nil:
					id, derr := decodeControllerID(data)
					if derr != nil {
						return
					}
					c.controllerID = id
					if c.active && (id != c.b.id || st.EphemeralOwner != zk.SessionID()) {
						c.resign(fmt.Sprintf("/controller names broker %d", id))
					}
				case errors.Is(err, zookeeper.NoNode):
					c.elect()
				}
			})
		case errors.Is(err, zookeeper.ConnectionLoss):
			c.elect()
		}
	})
}

// tryBecomeController creates /controller and bumps /controller_epoch:
// atomically in one multi, remembering the epoch znode's zkVersion for
// the fence (Kafka ≥ 2.1, KAFKA-6082), or one after the other.
func (c *zkController) tryBecomeController() {
	zb, b := c.zb, c.b
	sess, zk := zb.session, zb.zk
	me := mustJSON(zkControllerZnode{Version: 1, BrokerID: b.id, Timestamp: strconv.FormatInt(b.n.Now().Milliseconds(), 10)})
	zk.GetData(ZKControllerEpochPath, false, func(data []byte, st zookeeper.Stat, err error) {
		if zb.stale(sess) {
			return
		}
		switch {
		case errors.Is(err, zookeeper.NoNode):
			zk.Create(ZKControllerEpochPath, []byte("0"), zookeeper.Persistent, func(_ string, err error) {
				if !zb.stale(sess) {
					c.tryBecomeController()
				}
			})
			return
		case err != nil:
			c.elect()
			return
		}
		n, perr := strconv.Atoi(string(data))
		if perr != nil {
			return
		}
		epoch := int32(n) + 1
		next := []byte(strconv.Itoa(int(epoch)))
		if zb.cfg.NoControllerEpochFence {
			zk.Create(ZKControllerPath, me, zookeeper.Ephemeral, func(_ string, err error) {
				if zb.stale(sess) {
					return
				}
				if err != nil {
					c.elect()
					return
				}
				zk.SetData(ZKControllerEpochPath, next, st.Version, func(st zookeeper.Stat, err error) {
					if zb.stale(sess) {
						return
					}
					if err != nil {
						c.elect()
						return
					}
					c.activate(epoch, st.Version)
				})
			})
			return
		}
		zk.Multi([]zookeeper.Op{zookeeper.CreateOp(ZKControllerPath, me, zookeeper.Ephemeral),
			zookeeper.SetDataOp(ZKControllerEpochPath, next, st.Version)}, func(res []zookeeper.OpResult, err error) {
			if zb.stale(sess) {
				return
			}
			if err != nil {
				c.elect()
				return
			}
			c.activate(epoch, res[1].Stat.Version)
		})
	})
}

// activate is onControllerFailover: load everything from ZooKeeper, then
// act on it.
func (c *zkController) activate(epoch, epochVersion int32) {
	b := c.b
	c.active, c.loaded, c.zombie = true, false, false
	c.gen++
	c.epoch, c.epochVersion, c.controllerID = epoch, epochVersion, b.id
	c.shutting = map[int32]bool{}
	c.bouncing = map[int32]bool{}
	c.busy = map[model.TopicPartition]bool{}
	c.dirty = map[string]bool{}
	c.deleting = map[string]*zkDeletion{}
	b.s.Mark("broker.zk.controller.elected")
	if epoch > 1 {
		b.s.Mark("broker.zk.controller.failover")
	}
	c.emit("broker.zk.controller.active", uint64(epoch), "active controller with epoch %d (zkVersion %d)", epoch, epochVersion)
	c.load()
	c.scheduleRebalance()
}

// resign stops acting as the controller.
func (c *zkController) resign(why string) {
	if !c.active {
		return
	}
	c.active, c.loaded, c.zombie = false, false, false
	c.gen++
	c.failDeletions()
	c.b.s.Mark("broker.zk.controller.resigned")
	c.emit("broker.zk.controller.resigned", uint64(c.epoch), "resigned as controller of epoch %d: %s", c.epoch, why)
}

func (c *zkController) onControllerChange() { c.elect() }

// onSessionExpired: the controller resigns at once; under KAFKA-6082 it
// goes on as a zombie until the new session is there.
func (c *zkController) onSessionExpired(*zookeeper.Client) {
	if !c.active {
		return
	}
	if c.zb.cfg.NoControllerEpochFence {
		c.zombie = true
		c.emit("broker.zk.controller.zombie", uint64(c.epoch), "session expired while controller of epoch %d: carrying on until the new session", c.epoch)
		return
	}
	c.resign("its ZooKeeper session expired")
}

// ---- ZooKeeper access ----

// tracker counts the answers a step waits for.
type tracker struct {
	pending int
	failed  bool
	then    func()
}

func (t *tracker) add() { t.pending++ }
func (t *tracker) done() {
	t.pending--
	if t.pending == 0 && !t.failed {
		t.then()
	}
}

// current reports whether a callback of activation gen may still act.
func (c *zkController) current(gen int) bool { return c.active && c.gen == gen }

// zkFailed handles an error from ZooKeeper in the middle of a step: the
// session is gone (resign) or the connection broke (the step is redone).
func (c *zkController) zkFailed(gen int, err error, redo func()) {
	if !c.current(gen) {
		return
	}
	switch {
	case errors.Is(err, zookeeper.SessionExpired):
		if !c.zb.cfg.NoControllerEpochFence {
			c.resign("its ZooKeeper session expired")
		}
	default:
		c.b.n.After(100*time.Millisecond, "broker.zk.controller.retry", func() {
			if c.current(gen) {
				redo()
			}
		})
	}
}

// load reads the brokers, topics and partition states (with their watches)
// and then acts on them.
func (c *zkController) load() {
	gen, zk := c.gen, c.zb.zk
	live := map[int32]int64{}
	topics := map[string]*zkTopic{}
	states := map[model.TopicPartition]*zkState{}
	t := &tracker{}
	fail := func(err error) {
		if !t.failed {
			t.failed = true
			c.zkFailed(gen, err, c.load)
		}
	}
	t.then = func() {
		if !c.current(gen) {
			return
		}
		c.live, c.topics, c.states, c.loaded = live, topics, states, true
		c.emit("broker.zk.controller.loaded", uint64(len(states)), "read %d brokers, %d topics, %d partition states from ZooKeeper",
			len(live), len(topics), len(states))
		c.afterLoad()
	}
	t.add()
	c.readBrokers(gen, func(m map[int32]int64) { maps.Copy(live, m); t.done() }, fail)
	t.add()
	zk.GetChildren(ZKTopicsPath, true, func(names []string, _ zookeeper.Stat, err error) {
		if err != nil {
			fail(err)
			return
		}
		for _, name := range names {
			t.add()
			c.readTopic(name, func(top *zkTopic, st map[model.TopicPartition]*zkState) {
				if top != nil {
					topics[name] = top
					maps.Copy(states, st)
				}
				t.done()
			}, fail)
		}
		t.done()
	})
}

// readBrokers lists /brokers/ids (watching it) with each broker's epoch.
func (c *zkController) readBrokers(gen int, then func(map[int32]int64), fail func(error)) {
	zk := c.zb.zk
	zk.GetChildren(ZKBrokerIDsPath, true, func(ids []string, _ zookeeper.Stat, err error) {
		if err != nil {
			fail(err)
			return
		}
		out := map[int32]int64{}
		t := &tracker{then: func() { then(out) }}
		t.add()
		for _, name := range ids {
			id, perr := strconv.Atoi(name)
			if perr != nil {
				continue
			}
			t.add()
			zk.Exists(ZKBrokerIDsPath+"/"+name, false, func(st zookeeper.Stat, err error) {
				if err == nil {
					out[int32(id)] = int64(st.Czxid)
				} else if !errors.Is(err, zookeeper.NoNode) {
					t.failed = true
					fail(err)
					return
				}
				t.done()
			})
		}
		t.done()
	})
}

// readTopic reads a topic's assignment, configs and partition states.
func (c *zkController) readTopic(name string, then func(*zkTopic, map[model.TopicPartition]*zkState), fail func(error)) {
	zk := c.zb.zk
	zk.GetData(ZKTopicPath(name), false, func(data []byte, _ zookeeper.Stat, err error) {
		if errors.Is(err, zookeeper.NoNode) {
			then(nil, nil)
			return
		}
		if err != nil {
			fail(err)
			return
		}
		id, assignment, derr := decodeTopic(data)
		if derr != nil {
			then(nil, nil)
			return
		}
		top := &zkTopic{id: id, assignment: assignment, configs: map[string]string{}}
		states := map[model.TopicPartition]*zkState{}
		t := &tracker{then: func() { then(top, states) }}
		t.add()
		t.add()
		zk.GetData(ZKTopicConfigsPath+"/"+name, false, func(data []byte, _ zookeeper.Stat, err error) {
			if err == nil {
				var z zkTopicConfigZnode
				if json.Unmarshal(data, &z) == nil && z.Config != nil {
					top.configs = z.Config
				}
			} else if !errors.Is(err, zookeeper.NoNode) {
				t.failed = true
				fail(err)
				return
			}
			t.done()
		})
		for p := range assignment {
			tp := model.TopicPartition{Topic: name, Partition: int32(p)}
			t.add()
			zk.GetData(ZKPartitionStatePath(tp), false, func(data []byte, st zookeeper.Stat, err error) {
				if err == nil {
					if s, derr := decodeState(data); derr == nil {
						states[tp] = &zkState{leader: s.Leader, leaderEpoch: s.LeaderEpoch, isr: s.ISR, controllerEpoch: s.ControllerEpoch, version: st.Version}
					}
				} else if !errors.Is(err, zookeeper.NoNode) {
					t.failed = true
					fail(err)
					return
				}
				t.done()
			})
		}
		t.done()
	})
}

// afterLoad is the rest of onControllerFailover: UpdateMetadata to every
// live broker, LeaderAndIsr with the current states to every live replica,
// new partitions started, and leaders elected and ISRs shrunk where
// brokers are gone.
func (c *zkController) afterLoad() {
	all := c.partitions()
	c.sendUpdateMetadata(c.liveIDs(), all)
	for _, id := range c.liveIDs() {
		c.sendLeaderAndIsr(id, c.replicaPartitions(id, all), false)
	}
	c.startNewPartitions(all)
	c.reconcile(all, "controller failover")
	c.onIsrChangeNotification()
	dirty := c.dirty
	c.dirty = map[string]bool{}
	if dirty[ZKBrokerIDsPath] {
		c.onBrokerChange()
	}
	if dirty[ZKTopicsPath] {
		c.onTopicChange()
	}
}

// ---- the controller context ----

func (c *zkController) liveIDs() []int32 { return slices.Sorted(maps.Keys(c.live)) }

func (c *zkController) alive(id int32) bool {
	_, ok := c.live[id]
	return ok && !c.shutting[id] && !c.bouncing[id]
}

// partitions lists the partitions of the topics the controller knows,
// but those being deleted: they get no elections and no LeaderAndIsr.
func (c *zkController) partitions() []model.TopicPartition {
	var out []model.TopicPartition
	for _, name := range slices.Sorted(maps.Keys(c.topics)) {
		if c.deleting[name] != nil {
			continue
		}
		for p := range c.topics[name].assignment {
			out = append(out, model.TopicPartition{Topic: name, Partition: int32(p)})
		}
	}
	return out
}

func (c *zkController) replicas(tp model.TopicPartition) []int32 {
	t, ok := c.topics[tp.Topic]
	if !ok || int(tp.Partition) >= len(t.assignment) {
		return nil
	}
	return t.assignment[tp.Partition]
}

func (c *zkController) replicaPartitions(id int32, tps []model.TopicPartition) []model.TopicPartition {
	var out []model.TopicPartition
	for _, tp := range tps {
		if _, ok := c.states[tp]; ok && slices.Contains(c.replicas(tp), id) {
			out = append(out, tp)
		}
	}
	return out
}

func (c *zkController) unclean(topic string) bool {
	if v, ok := c.topics[topic].configs[controller.UncleanLeaderElectionConfig]; ok {
		return v == "true"
	}
	return c.zb.cfg.TopicDefaults.UncleanLeaderElection
}

func (c *zkController) state(tp model.TopicPartition) protocol.PartitionState {
	st, t := c.states[tp], c.topics[tp.Topic]
	return protocol.PartitionState{TP: tp, TopicID: t.id, ControllerEpoch: st.controllerEpoch, Leader: st.leader, LeaderEpoch: st.leaderEpoch,
		ISR: slices.Clone(st.isr), ZkVersion: st.version, Replicas: slices.Clone(c.replicas(tp))}
}

func (c *zkController) header(to int32) protocol.ControllerHeader {
	c.corr++
	epoch, ok := c.live[to]
	if !ok {
		epoch = -1
	}
	return protocol.ControllerHeader{CorrelationID: c.corr, ControllerID: c.b.id, ControllerEpoch: c.epoch, BrokerEpoch: epoch}
}

func (c *zkController) sendLeaderAndIsr(to int32, tps []model.TopicPartition, isNew bool) {
	if len(tps) == 0 {
		return
	}
	m := &protocol.LeaderAndIsr{ControllerHeader: c.header(to)}
	for _, tp := range tps {
		ps := c.state(tp)
		ps.IsNew = isNew
		m.Partitions = append(m.Partitions, ps)
	}
	c.b.send(to, m)
}

func (c *zkController) sendUpdateMetadata(to []int32, tps []model.TopicPartition) {
	for _, id := range to {
		m := &protocol.UpdateMetadata{ControllerHeader: c.header(id)}
		for _, b := range c.liveIDs() {
			m.LiveBrokers = append(m.LiveBrokers, protocol.LiveBroker{ID: b, Epoch: c.live[b]})
		}
		seen := map[string]bool{}
		for _, tp := range tps {
			if _, ok := c.states[tp]; !ok {
				continue
			}
			if !seen[tp.Topic] {
				seen[tp.Topic] = true
				t := c.topics[tp.Topic]
				m.Topics = append(m.Topics, protocol.TopicInfo{Name: tp.Topic, ID: t.id, Configs: maps.Clone(t.configs)})
			}
			m.Partitions = append(m.Partitions, c.state(tp))
		}
		c.b.send(id, m)
	}
}

// announce tells the partitions' live replicas (LeaderAndIsr) and every
// live broker (UpdateMetadata) of their new states.
func (c *zkController) announce(tps []model.TopicPartition, isNew bool) {
	for _, id := range c.liveIDs() {
		c.sendLeaderAndIsr(id, c.replicaPartitions(id, tps), isNew)
	}
	c.sendUpdateMetadata(c.liveIDs(), tps)
}

// ---- partition state changes ----

// next returns a partition's next state after the brokers that are gone or
// shutting down, or nil when nothing changes: a leader elected from the
// live ISR in assignment order (or, with unclean election, from any live
// replica), and the ISR without the brokers that are gone, never empty.
func (c *zkController) next(tp model.TopicPartition) (*zkState, string) {
	st := c.states[tp]
	replicas := c.replicas(tp)
	isr := []int32{}
	for _, id := range st.isr {
		if c.alive(id) {
			isr = append(isr, id)
		}
	}
	leader, kind := st.leader, ""
	if leader == protocol.NoNode || !c.alive(leader) {
		leader, kind = protocol.NoNode, "offline"
		for _, r := range replicas {
			if c.alive(r) && slices.Contains(st.isr, r) {
				leader, kind = r, "clean"
				break
			}
		}
		if leader == protocol.NoNode && c.unclean(tp.Topic) {
			for _, r := range replicas {
				if c.alive(r) {
					leader, kind, isr = r, "unclean", []int32{r}
					break
				}
			}
		}
	}
	if len(isr) == 0 {
		// The ISR never becomes empty: the last member stays.
		switch {
		case slices.Contains(st.isr, st.leader):
			isr = []int32{st.leader}
		case len(st.isr) > 0:
			isr = []int32{st.isr[0]}
		}
	}
	if leader == st.leader && slices.Equal(isr, st.isr) {
		return nil, ""
	}
	return &zkState{leader: leader, leaderEpoch: st.leaderEpoch + 1, isr: isr, controllerEpoch: c.epoch}, kind
}

// reconcile writes the next state of every partition that needs one, and
// announces each once written.
func (c *zkController) reconcile(tps []model.TopicPartition, why string) {
	c.reconcileThen(tps, why, nil)
}

// reconcileThen is reconcile, calling done (if not nil) once every write
// it started has finished.
func (c *zkController) reconcileThen(tps []model.TopicPartition, why string, done func()) {
	t := &tracker{then: func() {
		if done != nil {
			done()
		}
	}}
	t.add()
	for _, tp := range tps {
		if _, ok := c.states[tp]; !ok || c.busy[tp] {
			continue
		}
		nx, kind := c.next(tp)
		if nx == nil {
			continue
		}
		switch kind {
		case "unclean":
			c.b.s.Mark("broker.zk.controller.unclean-election")
		case "clean":
			c.b.s.Mark("broker.zk.controller.election")
		}
		t.add()
		c.writeState(tp, nx, func(ok bool) {
			if ok {
				c.announce([]model.TopicPartition{tp}, false)
			} else {
				c.reconcile([]model.TopicPartition{tp}, why)
			}
			t.done()
		})
	}
	t.done()
}

// writeState writes a partition state znode conditionally on the cached
// zkVersion, in a multi with a check of /controller_epoch's zkVersion
// (Kafka ≥ 2.1) or alone (KAFKA-6082). done(false) follows a conflict,
// after the cached state was read again.
func (c *zkController) writeState(tp model.TopicPartition, nx *zkState, done func(ok bool)) {
	gen, zb := c.gen, c.zb
	cur := c.states[tp]
	path := ZKPartitionStatePath(tp)
	data := encodeState(nx.leader, nx.leaderEpoch, nx.isr, nx.controllerEpoch)
	ops := []zookeeper.Op{zookeeper.SetDataOp(path, data, cur.version)}
	if !zb.cfg.NoControllerEpochFence {
		ops = append([]zookeeper.Op{zookeeper.CheckOp(ZKControllerEpochPath, c.epochVersion)}, ops...)
	}
	c.busy[tp] = true
	var attempt func(zk *zookeeper.Client)
	attempt = func(zk *zookeeper.Client) {
		zk.Multi(ops, func(res []zookeeper.OpResult, err error) {
			if c.gen != gen {
				return
			}
			if errors.Is(err, zookeeper.SessionExpired) && zb.cfg.NoControllerEpochFence {
				// KAFKA-6082: the old ZkClient retried the write on the
				// new session it made, once the expiry was handled.
				c.b.n.After(0, "broker.zk.controller.zombie-retry", func() {
					if c.gen == gen && c.zombie && zb.zk != zk {
						c.b.s.Mark("broker.zk.controller.zombie-retry")
						attempt(zb.zk)
					}
				})
				return
			}
			if !c.active {
				return
			}
			delete(c.busy, tp)
			switch {
			case err == nil:
				st := res[len(res)-1].Stat
				nx.version = st.Version
				c.states[tp] = nx
				zb.writes = append(zb.writes, ZKControllerWrite{TP: tp, ControllerEpoch: c.epoch, ZkVersion: st.Version, Zxid: st.Mzxid})
				if c.zombie {
					c.b.s.Mark("broker.zk.controller.zombie-write")
					c.emit("broker.zk.controller.zombie-write", uint64(nx.version), "%s: wrote %s as controller of epoch %d after its session expired",
						tp, data, c.epoch)
				}
				c.emit("broker.zk.controller.state", sim.Digest(uint64(nx.leader), uint64(nx.leaderEpoch), uint64(nx.version)),
					"%s: leader %d, leader epoch %d, isr %v, zkVersion %d", tp, nx.leader, nx.leaderEpoch, nx.isr, nx.version)
				done(true)
			case len(res) == 2 && res[0].Err == zookeeper.BadVersion:
				// ControllerMovedException: a newer controller bumped the
				// epoch.
				c.b.s.Mark("broker.zk.controller.moved")
				c.resign("/controller_epoch changed: another controller was elected")
				c.elect()
			case errors.Is(err, zookeeper.BadVersion) || errors.Is(err, zookeeper.NoNode):
				c.b.s.Mark("broker.zk.controller.state-conflict")
				c.refresh(tp, func() { done(false) })
			default:
				c.busy[tp] = true
				c.zkFailed(gen, err, func() { attempt(zb.zk) })
			}
		})
	}
	attempt(zb.zk)
}

// refresh reads a partition's state znode again into the cache.
func (c *zkController) refresh(tp model.TopicPartition, then func()) {
	gen := c.gen
	c.zb.zk.GetData(ZKPartitionStatePath(tp), false, func(data []byte, st zookeeper.Stat, err error) {
		if !c.current(gen) {
			return
		}
		if err != nil {
			c.zkFailed(gen, err, func() { c.refresh(tp, then) })
			return
		}
		if s, derr := decodeState(data); derr == nil {
			c.states[tp] = &zkState{leader: s.Leader, leaderEpoch: s.LeaderEpoch, isr: s.ISR, controllerEpoch: s.ControllerEpoch, version: st.Version}
		}
		then()
	})
}

// ---- watches ----

func (c *zkController) onBrokerChange() {
	if !c.active {
		return
	}
	if !c.loaded {
		c.dirty[ZKBrokerIDsPath] = true
		return
	}
	gen := c.gen
	c.readBrokers(gen, func(live map[int32]int64) {
		if c.current(gen) {
			c.brokersChanged(live)
		}
	}, func(err error) { c.zkFailed(gen, err, c.onBrokerChange) })
}

// brokersChanged is onBrokerStartup and onBrokerFailure: a broker whose
// epoch changed (KIP-380) is both.
func (c *zkController) brokersChanged(live map[int32]int64) {
	var gone, born []int32
	for _, id := range c.liveIDs() {
		if e, ok := live[id]; !ok || e != c.live[id] {
			gone = append(gone, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(live)) {
		if e, ok := c.live[id]; !ok || e != live[id] {
			born = append(born, id)
		}
	}
	if len(gone) == 0 && len(born) == 0 {
		return
	}
	c.live = live
	c.b.s.Mark("broker.zk.controller.broker-change")
	var bounced []int32
	for _, id := range gone {
		delete(c.shutting, id)
		if _, ok := live[id]; ok {
			// KIP-380: a broker that registered again before the controller
			// saw it go is failed first, then started.
			c.bouncing[id] = true
			bounced = append(bounced, id)
		}
	}
	if len(bounced) > 0 {
		c.b.s.Mark("broker.zk.controller.broker-bounced")
		gen := c.gen
		c.emit("broker.zk.controller.brokers", uint64(len(live)), "brokers %v bounced (new broker epochs): failed first, then started", bounced)
		c.reconcileThen(c.partitions(), "broker bounce", func() {
			if !c.current(gen) {
				return
			}
			for _, id := range bounced {
				delete(c.bouncing, id)
			}
			c.started(born)
		})
		return
	}
	c.emit("broker.zk.controller.brokers", uint64(len(live)), "brokers gone %v, started %v; live %v", gone, born, c.liveIDs())
	c.started(born)
}

// started is onBrokerStartup (and, with none born, the end of
// onBrokerFailure): UpdateMetadata to every live broker, LeaderAndIsr to
// the new ones for their replicas, then elections for what has no leader.
func (c *zkController) started(born []int32) {
	all := c.partitions()
	if len(born) > 0 {
		c.sendUpdateMetadata(c.liveIDs(), all)
		for _, id := range born {
			c.sendLeaderAndIsr(id, c.replicaPartitions(id, all), false)
		}
	} else {
		c.sendUpdateMetadata(c.liveIDs(), nil)
	}
	c.startNewPartitions(all)
	c.reconcile(all, "broker change")
	c.resumeDeletions()
}

func (c *zkController) onTopicChange() {
	if !c.active {
		return
	}
	if !c.loaded {
		c.dirty[ZKTopicsPath] = true
		return
	}
	gen, zk := c.gen, c.zb.zk
	zk.GetChildren(ZKTopicsPath, true, func(names []string, _ zookeeper.Stat, err error) {
		if !c.current(gen) {
			return
		}
		if err != nil {
			c.zkFailed(gen, err, c.onTopicChange)
			return
		}
		for _, name := range names {
			if _, ok := c.topics[name]; ok {
				continue
			}
			c.readTopic(name, func(top *zkTopic, states map[model.TopicPartition]*zkState) {
				if !c.current(gen) || top == nil {
					return
				}
				if _, ok := c.topics[name]; ok {
					return
				}
				c.topics[name] = top
				maps.Copy(c.states, states)
				var tps []model.TopicPartition
				for p := range top.assignment {
					tps = append(tps, model.TopicPartition{Topic: name, Partition: int32(p)})
				}
				c.startNewPartitions(tps)
			}, func(err error) { c.zkFailed(gen, err, c.onTopicChange) })
		}
	})
}

// startNewPartitions writes the first state of the partitions that have
// none (NewPartition to OnlinePartition): the first live replica of the
// assignment leads, the live replicas are the ISR.
func (c *zkController) startNewPartitions(tps []model.TopicPartition) {
	byTopic := map[string][]model.TopicPartition{}
	for _, tp := range tps {
		if _, ok := c.states[tp]; !ok && !c.busy[tp] {
			byTopic[tp.Topic] = append(byTopic[tp.Topic], tp)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(byTopic)) {
		c.createStates(name, byTopic[name])
	}
}

func (c *zkController) createStates(name string, tps []model.TopicPartition) {
	gen, zb := c.gen, c.zb
	var ops []zookeeper.Op
	if !zb.cfg.NoControllerEpochFence {
		ops = append(ops, zookeeper.CheckOp(ZKControllerEpochPath, c.epochVersion))
	}
	first := len(ops)
	ops = append(ops, zookeeper.CreateOp(ZKTopicPath(name)+"/partitions", nil, zookeeper.Persistent))
	states := map[model.TopicPartition]*zkState{}
	var started []model.TopicPartition
	for _, tp := range tps {
		var isr []int32
		for _, r := range c.replicas(tp) {
			if c.alive(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			continue // no live replica: it stays a new partition
		}
		st := &zkState{leader: isr[0], isr: isr, controllerEpoch: c.epoch}
		states[tp] = st
		started = append(started, tp)
		dir := ZKTopicPath(name) + "/partitions/" + strconv.Itoa(int(tp.Partition))
		ops = append(ops, zookeeper.CreateOp(dir, nil, zookeeper.Persistent),
			zookeeper.CreateOp(dir+"/state", encodeState(st.leader, 0, st.isr, c.epoch), zookeeper.Persistent))
	}
	if len(started) == 0 {
		return
	}
	for _, tp := range started {
		c.busy[tp] = true
	}
	var attempt func(withParent bool)
	attempt = func(withParent bool) {
		o := ops
		if !withParent {
			o = slices.Delete(slices.Clone(ops), first, first+1)
		}
		zb.zk.Multi(o, func(res []zookeeper.OpResult, err error) {
			if !c.current(gen) {
				return
			}
			switch {
			case err == nil:
				for _, tp := range started {
					delete(c.busy, tp)
					c.states[tp] = states[tp]
				}
				c.b.s.Mark("broker.zk.controller.partitions-created")
				c.announce(started, true)
			case withParent && len(res) > first && res[first].Err == zookeeper.NodeExists:
				attempt(false)
			case first == 1 && len(res) > 0 && res[0].Err == zookeeper.BadVersion:
				c.b.s.Mark("broker.zk.controller.moved")
				c.resign("/controller_epoch changed: another controller was elected")
				c.elect()
			case errors.Is(err, zookeeper.NodeExists):
				// States written meanwhile (by an earlier attempt whose
				// answer was lost): read them.
				for _, tp := range started {
					delete(c.busy, tp)
					c.refresh(tp, func() { c.announce([]model.TopicPartition{tp}, true) })
				}
			default:
				c.zkFailed(gen, err, func() { attempt(withParent) })
			}
		})
	}
	attempt(true)
}

// onIsrChangeNotification reads the ISR changes leaders wrote themselves
// (before Kafka 2.7), refreshes their states and sends UpdateMetadata.
func (c *zkController) onIsrChangeNotification() {
	if !c.active || !c.loaded {
		return
	}
	gen, zk := c.gen, c.zb.zk
	zk.GetChildren(ZKIsrChangePath, true, func(names []string, _ zookeeper.Stat, err error) {
		if !c.current(gen) || err != nil || len(names) == 0 {
			return
		}
		changed := map[model.TopicPartition]bool{}
		t := &tracker{then: func() {
			if !c.current(gen) {
				return
			}
			tps := slices.SortedFunc(maps.Keys(changed), model.TopicPartition.Compare)
			r := &tracker{then: func() {
				if c.current(gen) {
					c.sendUpdateMetadata(c.liveIDs(), tps)
				}
			}}
			r.add()
			for _, tp := range tps {
				if _, ok := c.states[tp]; ok && !c.busy[tp] {
					r.add()
					c.refresh(tp, r.done)
				}
			}
			r.done()
			for _, n := range names {
				zk.Delete(ZKIsrChangePath+"/"+n, -1, nil)
			}
		}}
		t.add()
		for _, n := range names {
			t.add()
			zk.GetData(ZKIsrChangePath+"/"+n, false, func(data []byte, _ zookeeper.Stat, err error) {
				var z zkIsrChangeZnode
				if err == nil && json.Unmarshal(data, &z) == nil {
					for _, e := range z.Partitions {
						changed[model.TopicPartition{Topic: e.Topic, Partition: e.Partition}] = true
					}
				}
				t.done()
			})
		}
		t.done()
	})
}

// ---- requests to the controller ----

// refuseBroker is the error a broker's request to the controller gets
// before anything else is checked: NOT_CONTROLLER from a controller not
// active or not yet loaded, STALE_BROKER_EPOCH for a broker epoch that is
// not the live registration's; NONE when the request may go on.
func (c *zkController) refuseBroker(id int32, epoch int64) protocol.ErrorCode {
	if !c.active || !c.loaded {
		return protocol.NotController
	}
	if e, ok := c.live[id]; !ok || e != epoch {
		return protocol.StaleBrokerEpoch
	}
	return protocol.None
}

// handleAlterPartition is the controller's side of AlterIsr (KIP-497,
// Kafka 2.7): checks, then the ISR written with the partition's zkVersion.
func (c *zkController) handleAlterPartition(from sim.NodeID, m *protocol.AlterPartition) {
	b := c.b
	resp := &protocol.AlterPartitionResponse{CorrelationID: m.CorrelationID}
	if resp.Error = c.refuseBroker(m.BrokerID, m.BrokerEpoch); resp.Error != protocol.None {
		b.replyTo(from, resp)
		return
	}
	gen := c.gen
	results := make([]protocol.AlterPartitionResult, len(m.Partitions))
	t := &tracker{then: func() {
		if c.current(gen) || c.zb.cfg.NoControllerEpochFence {
			resp.Partitions = results
			b.replyTo(from, resp)
		}
	}}
	t.add()
	for i, item := range m.Partitions {
		tp := item.TP
		results[i] = protocol.AlterPartitionResult{TP: tp}
		st, ok := c.states[tp]
		isr := item.ISR()
		switch {
		case !ok:
			results[i].Error = protocol.UnknownTopicOrPartition
		case st.leader != m.BrokerID || item.LeaderEpoch < st.leaderEpoch:
			results[i].Error = protocol.FencedLeaderEpoch
		case item.LeaderEpoch > st.leaderEpoch || item.PartitionEpoch != st.version || c.busy[tp]:
			results[i].Error = protocol.InvalidUpdateVersion
		case slices.ContainsFunc(isr, func(id int32) bool { _, live := c.live[id]; return !live }):
			results[i].Error = protocol.IneligibleReplica
		}
		if results[i].Error != protocol.None {
			b.s.Mark("broker.zk.controller.alter-rejected")
			continue
		}
		nx := &zkState{leader: st.leader, leaderEpoch: st.leaderEpoch, isr: isr, controllerEpoch: c.epoch}
		t.add()
		c.writeState(tp, nx, func(ok bool) {
			if ok {
				results[i].LeaderID, results[i].LeaderEpoch, results[i].ISR = nx.leader, nx.leaderEpoch, slices.Clone(nx.isr)
				results[i].PartitionEpoch, results[i].LeaderRecoveryState = nx.version, protocol.Recovered
				c.sendUpdateMetadata(c.liveIDs(), []model.TopicPartition{tp})
			} else {
				results[i].Error = protocol.InvalidUpdateVersion
			}
			t.done()
		})
	}
	t.done()
}

// handleControlledShutdown moves a broker's leaderships to other ISR
// members and takes it out of the ISRs, then answers with what it still
// leads.
func (c *zkController) handleControlledShutdown(from sim.NodeID, m *protocol.ControlledShutdown) {
	b := c.b
	resp := &protocol.ControlledShutdownResponse{CorrelationID: m.CorrelationID}
	if resp.Error = c.refuseBroker(m.BrokerID, m.BrokerEpoch); resp.Error != protocol.None {
		b.replyTo(from, resp)
		return
	}
	c.shutting[m.BrokerID] = true
	gen := c.gen
	var tps []model.TopicPartition
	for _, tp := range c.partitions() {
		if st, ok := c.states[tp]; ok && (st.leader == m.BrokerID || slices.Contains(st.isr, m.BrokerID)) {
			tps = append(tps, tp)
		}
	}
	t := &tracker{then: func() {
		if !c.current(gen) {
			return
		}
		// The replicas it follows go offline: StopReplica, keeping their
		// logs.
		stop := &protocol.StopReplica{ControllerHeader: c.header(m.BrokerID)}
		for _, tp := range c.partitions() {
			st, ok := c.states[tp]
			switch {
			case !ok:
			case st.leader == m.BrokerID:
				resp.Remaining = append(resp.Remaining, tp)
			case slices.Contains(c.replicas(tp), m.BrokerID):
				stop.Partitions = append(stop.Partitions, protocol.StopReplicaPartition{TP: tp, LeaderEpoch: st.leaderEpoch})
			}
		}
		if len(stop.Partitions) > 0 {
			b.send(m.BrokerID, stop)
		}
		b.replyTo(from, resp)
	}}
	t.add()
	for _, tp := range tps {
		if c.busy[tp] {
			continue
		}
		nx, _ := c.next(tp)
		if nx == nil {
			continue
		}
		t.add()
		c.writeState(tp, nx, func(ok bool) {
			if ok {
				c.announce([]model.TopicPartition{tp}, false)
			}
			t.done()
		})
	}
	t.done()
}

// handleCreateTopics writes each new topic's configs and assignment
// (AdminZkClient.createTopicWithAssignment); the controller's topic watch
// does the rest.
func (c *zkController) handleCreateTopics(from sim.NodeID, m *protocol.CreateTopics) {
	b := c.b
	resp := &protocol.CreateTopicsResponse{CorrelationID: m.CorrelationID}
	t := &tracker{then: func() { b.replyTo(from, resp) }}
	t.add()
	seen := map[string]bool{}
	for _, ct := range m.Topics {
		i := len(resp.Topics)
		resp.Topics = append(resp.Topics, protocol.TopicError{Name: ct.Name})
		te := &resp.Topics[i]
		code, msg := c.validateTopic(ct, seen[ct.Name])
		seen[ct.Name] = true
		if code != protocol.None || m.ValidateOnly {
			te.Error, te.Message = code, msg
			continue
		}
		assignment := c.assign(int(ct.NumPartitions), int(ct.ReplicationFactor))
		id := metadata.NewUuid(b.n.Rand())
		ops := []zookeeper.Op{
			zookeeper.CreateOp(ZKTopicConfigsPath+"/"+ct.Name, mustJSON(zkTopicConfigZnode{Version: 1, Config: nonNilConfigs(ct.Configs)}), zookeeper.Persistent),
			zookeeper.CreateOp(ZKTopicPath(ct.Name), encodeTopic(id, assignment), zookeeper.Persistent),
		}
		t.add()
		c.zb.zk.Multi(ops, func(_ []zookeeper.OpResult, err error) {
			switch {
			case err == nil:
			case errors.Is(err, zookeeper.NodeExists):
				te.Error, te.Message = protocol.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", ct.Name)
			default:
				te.Error, te.Message = protocol.RequestTimedOut, fmt.Sprintf("writing topic %q to ZooKeeper failed: %v", ct.Name, err)
			}
			t.done()
		})
	}
	t.done()
}

func nonNilConfigs(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

func (c *zkController) validateTopic(ct protocol.CreatableTopic, dup bool) (protocol.ErrorCode, string) {
	if dup {
		return protocol.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", ct.Name)
	}
	if err := controller.ValidateTopicName(ct.Name); err != nil {
		return protocol.InvalidTopicException, err.Error()
	}
	if _, ok := c.topics[ct.Name]; ok {
		return protocol.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", ct.Name)
	}
	if ct.NumPartitions < 1 {
		return protocol.InvalidPartitions, fmt.Sprintf("number of partitions %d must be at least 1", ct.NumPartitions)
	}
	if ct.ReplicationFactor < 1 || int(ct.ReplicationFactor) > len(c.live) {
		return protocol.InvalidReplicationFactor, fmt.Sprintf("replication factor %d must be between 1 and the number of live brokers (%d)",
			ct.ReplicationFactor, len(c.live))
	}
	for _, k := range slices.Sorted(maps.Keys(ct.Configs)) {
		if err := controller.ValidateTopicConfig(k, ct.Configs[k]); err != nil {
			return protocol.InvalidConfig, err.Error()
		}
	}
	return protocol.None, ""
}

// assign places replicas as ZooKeeper-mode Kafka's rack-unaware
// assignReplicasToBrokers does: the first replica of partition p on the
// broker (start + p) mod n, the others at a shift that grows by one every
// n partitions; start and the first shift are random.
func (c *zkController) assign(partitions, rf int) [][]int32 {
	brokers := c.liveIDs()
	n := len(brokers)
	r := c.b.n.Rand()
	start, shift := r.IntN(n), r.IntN(n)
	out := make([][]int32, partitions)
	for p := range partitions {
		if p > 0 && p%n == 0 {
			shift++
		}
		first := (p + start) % n
		replicas := []int32{brokers[first]}
		for j := range rf - 1 {
			s := 1
			if n > 1 {
				s = 1 + (shift+j)%(n-1)
			}
			replicas = append(replicas, brokers[(first+s)%n])
		}
		out[p] = replicas
	}
	return out
}
