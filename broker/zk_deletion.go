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
	"github.com/kafkasim/kafkasim/sim"
)

// ZKDeleteTopicsPath holds a znode per topic marked for deletion,
// /admin/delete_topics/<topic>, until the controller has deleted it.
const ZKDeleteTopicsPath = "/admin/delete_topics"

// zkLeaderDuringDelete is the leader UpdateMetadata names for a partition
// of a topic being deleted (LeaderAndIsr.LeaderDuringDelete): brokers
// drop the topic from their metadata cache.
const zkLeaderDuringDelete int32 = -2

// zkEpochDuringDelete is StopReplica's leader epoch for a replica deleted
// with its topic (LeaderAndIsr.EpochDuringDelete): the broker deletes it
// whatever its leader epoch.
const zkEpochDuringDelete int32 = -2

// zkDeletion is a topic the controller is deleting (TopicDeletionManager).
type zkDeletion struct {
	stopped map[int32]bool // replicas that answered StopReplica(delete)
	asked   map[int32]int32
	retry   sim.Timer
	waiters []func(protocol.ErrorCode, string)
	// finishing: every replica is deleted and the znodes are being
	// removed.
	finishing bool
}

// handleDeleteTopics marks each topic for deletion with
// /admin/delete_topics/<topic> (AdminZkClient.deleteTopic) and starts its
// deletion; it answers once the topics are gone, or with
// REQUEST_TIMED_OUT after the request's timeout while deletion goes on
// (the purgatory of DelayedDeleteTopics). A topic whose replicas are not
// all live waits, ineligible, until they are.
func (c *zkController) handleDeleteTopics(from sim.NodeID, m *protocol.DeleteTopics) {
	b := c.b
	if !c.loaded {
		b.replyTo(from, notControllerResponse(m, "the controller is still loading its state from ZooKeeper"))
		return
	}
	resp := &protocol.DeleteTopicsResponse{CorrelationID: m.CorrelationID}
	answered := false
	t := &tracker{then: func() {
		if !answered {
			answered = true
			b.replyTo(from, resp)
		}
	}}
	t.add()
	seen := map[string]bool{}
	for _, name := range m.Names {
		i := len(resp.Topics)
		resp.Topics = append(resp.Topics, protocol.TopicError{Name: name})
		_, known := c.topics[name]
		switch {
		case seen[name]:
			resp.Topics[i].Error, resp.Topics[i].Message = protocol.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", name)
			continue
		case !known:
			resp.Topics[i].Error, resp.Topics[i].Message = protocol.UnknownTopicOrPartition, fmt.Sprintf("no such topic as %q", name)
			continue
		}
		seen[name] = true
		t.add()
		pending := true
		c.deleteTopic(name, func(code protocol.ErrorCode, msg string) {
			if pending {
				pending = false
				resp.Topics[i].Error, resp.Topics[i].Message = code, msg
				t.done()
			}
		})
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if t.pending > 1 {
		b.n.After(timeout, "broker.zk.controller.delete-topics-timeout", func() {
			if answered {
				return
			}
			for i := range resp.Topics {
				if resp.Topics[i].Error == protocol.None && !c.deleted(resp.Topics[i].Name) {
					resp.Topics[i].Error = protocol.RequestTimedOut
					resp.Topics[i].Message = fmt.Sprintf("topic %q is marked for deletion; it is deleted once its replicas are", resp.Topics[i].Name)
				}
			}
			answered = true
			b.replyTo(from, resp)
		})
	}
	t.done()
}

// deleted reports whether a topic is gone from the controller's context.
func (c *zkController) deleted(name string) bool {
	_, ok := c.topics[name]
	return !ok
}

// deleteTopic writes the topic's deletion marker (creating /admin and
// /admin/delete_topics the first time) and starts the deletion; done is
// called once the topic is deleted, or when the controller resigns.
func (c *zkController) deleteTopic(name string, done func(protocol.ErrorCode, string)) {
	if d, ok := c.deleting[name]; ok {
		d.waiters = append(d.waiters, done)
		return
	}
	d := &zkDeletion{stopped: map[int32]bool{}, asked: map[int32]int32{}, waiters: []func(protocol.ErrorCode, string){done}}
	c.deleting[name] = d
	gen, zk := c.gen, c.zb.zk
	paths := []string{"/admin", ZKDeleteTopicsPath, ZKDeleteTopicsPath + "/" + name}
	var create func(i int)
	create = func(i int) {
		zk.Create(paths[i], nil, zookeeper.Persistent, func(_ string, err error) {
			if !c.current(gen) {
				return
			}
			switch {
			case err == nil, errors.Is(err, zookeeper.NodeExists):
				if i+1 < len(paths) {
					create(i + 1)
					return
				}
				c.b.s.Mark("broker.zk.controller.topic-deletion-started")
				c.emit("broker.zk.controller.topic-deletion", sim.DigestString(0, name), "topic %s marked for deletion (%s)", name, paths[i])
				c.beginDeletion(name)
			default:
				c.zkFailed(gen, err, func() { create(i) })
			}
		})
	}
	create(0)
}

// beginDeletion tells every live broker the topic is going
// (UpdateMetadata naming leader -2, LeaderDuringDelete), then deletes its
// replicas.
func (c *zkController) beginDeletion(name string) {
	m := map[int32]bool{}
	var states []protocol.PartitionState
	t := c.topics[name]
	for p := range t.assignment {
		tp := model.TopicPartition{Topic: name, Partition: int32(p)}
		ps := protocol.PartitionState{TP: tp, TopicID: t.id, ControllerEpoch: c.epoch, Leader: zkLeaderDuringDelete, LeaderEpoch: zkEpochDuringDelete,
			Replicas: slices.Clone(t.assignment[p])}
		if st, ok := c.states[tp]; ok {
			ps.ISR, ps.ZkVersion = slices.Clone(st.isr), st.version
		}
		states = append(states, ps)
		for _, r := range t.assignment[p] {
			m[r] = true
		}
	}
	for _, id := range c.liveIDs() {
		um := &protocol.UpdateMetadata{ControllerHeader: c.header(id), Partitions: slices.Clone(states)}
		for _, lb := range c.liveIDs() {
			um.LiveBrokers = append(um.LiveBrokers, protocol.LiveBroker{ID: lb, Epoch: c.live[lb]})
		}
		c.b.send(id, um)
	}
	c.resumeDeletion(name)
}

// resumeDeletions resumes every deletion that waits (after a broker
// change).
func (c *zkController) resumeDeletions() {
	for _, name := range slices.Sorted(maps.Keys(c.deleting)) {
		if _, ok := c.topics[name]; ok {
			c.resumeDeletion(name)
		}
	}
}

// resumeDeletion sends StopReplica(delete) to the replicas that have not
// confirmed yet; a topic with a replica on a broker that is not live is
// ineligible for deletion until the broker comes back. Unanswered
// requests are sent again after a while.
func (c *zkController) resumeDeletion(name string) {
	d, t := c.deleting[name], c.topics[name]
	if d == nil || t == nil || d.finishing {
		return
	}
	c.b.n.Cancel(d.retry)
	replicas := map[int32][]protocol.StopReplicaPartition{}
	for p, reps := range t.assignment {
		for _, r := range reps {
			replicas[r] = append(replicas[r], protocol.StopReplicaPartition{TP: model.TopicPartition{Topic: name, Partition: int32(p)},
				LeaderEpoch: zkEpochDuringDelete, Delete: true})
		}
	}
	ids := slices.Sorted(maps.Keys(replicas))
	if down := slices.DeleteFunc(slices.Clone(ids), func(id int32) bool { _, ok := c.live[id]; return ok }); len(down) > 0 {
		c.b.s.Mark("broker.zk.controller.topic-deletion-ineligible")
		c.emit("broker.zk.controller.topic-deletion-ineligible", sim.DigestString(uint64(len(down)), name),
			"topic %s is ineligible for deletion: replicas on brokers %v are offline", name, down)
		return
	}
	left := 0
	for _, id := range ids {
		if d.stopped[id] {
			continue
		}
		left++
		h := c.header(id)
		d.asked[id] = h.CorrelationID
		c.b.send(id, &protocol.StopReplica{ControllerHeader: h, Partitions: replicas[id]})
	}
	if left == 0 {
		c.finishDeletion(name)
		return
	}
	gen := c.gen
	d.retry = c.b.n.After(5*time.Second, "broker.zk.controller.topic-deletion-retry", func() {
		if c.current(gen) {
			c.resumeDeletion(name)
		}
	})
}

// onStopReplicaResponse records a replica's deletion.
func (c *zkController) onStopReplicaResponse(from sim.NodeID, m *protocol.StopReplicaResponse) {
	if !c.active {
		return
	}
	id, ok := c.b.dir.ID(from)
	if !ok {
		return
	}
	for _, name := range slices.Sorted(maps.Keys(c.deleting)) {
		d := c.deleting[name]
		if corr, asked := d.asked[id]; !asked || corr != m.CorrelationID || d.stopped[id] {
			continue
		}
		if m.Error != protocol.None {
			continue // asked again by the retry
		}
		d.stopped[id] = true
		if !d.finishing && c.replicasStopped(name) {
			c.finishDeletion(name)
		}
	}
}

func (c *zkController) replicasStopped(name string) bool {
	d, t := c.deleting[name], c.topics[name]
	for _, reps := range t.assignment {
		for _, r := range reps {
			if !d.stopped[r] {
				return false
			}
		}
	}
	return true
}

// finishDeletion removes the topic's znodes, leaves first, and its
// deletion marker last, then forgets the topic.
func (c *zkController) finishDeletion(name string) {
	d, t := c.deleting[name], c.topics[name]
	if d == nil || t == nil || d.finishing {
		return
	}
	d.finishing = true
	c.b.n.Cancel(d.retry)
	var paths []string
	parts := false
	for p := range t.assignment {
		tp := model.TopicPartition{Topic: name, Partition: int32(p)}
		if _, ok := c.states[tp]; ok {
			dir := ZKTopicPath(name) + "/partitions/" + strconv.Itoa(p)
			paths = append(paths, dir+"/state", dir)
			parts = true
		}
	}
	if parts {
		paths = append(paths, ZKTopicPath(name)+"/partitions")
	}
	paths = append(paths, ZKTopicPath(name), ZKTopicConfigsPath+"/"+name, ZKDeleteTopicsPath+"/"+name)
	gen, zk := c.gen, c.zb.zk
	var del func(i int)
	del = func(i int) {
		if i == len(paths) {
			c.deleted1(name)
			return
		}
		zk.Delete(paths[i], -1, func(err error) {
			if !c.current(gen) {
				return
			}
			if err == nil || errors.Is(err, zookeeper.NoNode) {
				del(i + 1)
				return
			}
			c.zkFailed(gen, err, func() { del(i) })
		})
	}
	del(0)
}

// deleted1 forgets a topic whose znodes are gone and answers its waiters.
func (c *zkController) deleted1(name string) {
	d, t := c.deleting[name], c.topics[name]
	if d == nil || t == nil {
		return
	}
	for p := range t.assignment {
		delete(c.states, model.TopicPartition{Topic: name, Partition: int32(p)})
	}
	delete(c.topics, name)
	delete(c.deleting, name)
	c.b.s.Mark("broker.zk.controller.topic-deleted")
	c.emit("broker.zk.controller.topic-deleted", sim.DigestString(0, name), "topic %s deleted", name)
	for _, w := range d.waiters {
		w(protocol.None, "")
	}
}

// failDeletions answers the waiters of every deletion NOT_CONTROLLER when
// the controller resigns; the marker stays in ZooKeeper, and the admin
// client's retry finds the next controller.
func (c *zkController) failDeletions() {
	for _, name := range slices.Sorted(maps.Keys(c.deleting)) {
		d := c.deleting[name]
		c.b.n.Cancel(d.retry)
		for _, w := range d.waiters {
			w(protocol.NotController, "the controller resigned")
		}
	}
	c.deleting = map[string]*zkDeletion{}
}

// removeDeleted returns the records that drop, from a broker's metadata
// cache, the topics an UpdateMetadata names as being deleted.
func (zb *zkBroker) removeDeleted(m *protocol.UpdateMetadata) []metadata.Record {
	var recs []metadata.Record
	gone := map[string]bool{}
	for _, ps := range m.Partitions {
		if ps.Leader != zkLeaderDuringDelete || gone[ps.TP.Topic] {
			continue
		}
		gone[ps.TP.Topic] = true
		if t, ok := zb.b.image.Topic(ps.TP.Topic); ok && t.ID == metadata.Uuid(ps.TopicID) {
			recs = append(recs, &metadata.RemoveTopicRecord{TopicID: t.ID})
		}
	}
	return recs
}
