package broker

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// ---- ElectLeaders and the auto leader rebalance (ZooKeeper mode) ----

// handleElectLeaders is KafkaController's onReplicaElection for an
// ElectLeaders request (KIP-460, Kafka 2.4; brokers forward it to the
// controller): a preferred election moves leadership to the first replica
// of the assignment if it is a live ISR member; an unclean one elects a
// leader for a partition without a live leader, from the live ISR first
// and from any live replica after. Each new state is written
// conditionally on the partition's zkVersion (and /controller_epoch's)
// and sent with LeaderAndIsr; the answer waits for the writes.
func (c *zkController) handleElectLeaders(from sim.NodeID, m *protocol.ElectLeaders) {
	b := c.b
	if !c.active || !c.loaded {
		b.replyTo(from, &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID, Error: protocol.NotController})
		return
	}
	resp := &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID}
	if m.ElectionType != protocol.ElectPreferred && m.ElectionType != protocol.ElectUnclean {
		resp.Error = protocol.InvalidRequest
		b.replyTo(from, resp)
		return
	}
	gen := c.gen
	tps, all := m.Partitions, m.Partitions == nil
	if all {
		tps = c.partitions()
	}
	type slot struct {
		i  int
		tp model.TopicPartition
	}
	var elect []slot
	for _, tp := range tps {
		code, msg := c.electable(tp, m.ElectionType)
		if all && code == protocol.ElectionNotNeeded {
			continue
		}
		resp.Results = append(resp.Results, protocol.PartitionResult{TP: tp, Error: code, Message: msg})
		if code == protocol.None {
			elect = append(elect, slot{len(resp.Results) - 1, tp})
		}
	}
	t := &tracker{then: func() {
		if c.current(gen) {
			b.replyTo(from, resp)
		} else {
			b.replyTo(from, &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID, Error: protocol.NotController})
		}
	}}
	t.add()
	for _, s := range elect {
		t.add()
		c.electLeader(s.tp, m.ElectionType, 3, func(code protocol.ErrorCode, msg string) {
			resp.Results[s.i].Error, resp.Results[s.i].Message = code, msg
			t.done()
		})
	}
	t.done()
}

// electable says whether a partition can have the election now: None, or
// why not.
func (c *zkController) electable(tp model.TopicPartition, kind protocol.ElectionType) (protocol.ErrorCode, string) {
	replicas := c.replicas(tp)
	if replicas == nil {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("no such partition as %s", tp)
	}
	if c.deleting[tp.Topic] != nil {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("topic %q is being deleted", tp.Topic)
	}
	st, ok := c.states[tp]
	if !ok {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("%s has no leader and ISR yet", tp)
	}
	if kind == protocol.ElectPreferred {
		if st.leader == replicas[0] {
			return protocol.ElectionNotNeeded, ""
		}
		if !c.alive(replicas[0]) || !slices.Contains(st.isr, replicas[0]) {
			return protocol.PreferredLeaderNotAvailable, fmt.Sprintf("preferred replica %d of %s may not lead (not a live ISR member)", replicas[0], tp)
		}
		return protocol.None, ""
	}
	if st.leader != protocol.NoNode && c.alive(st.leader) {
		return protocol.ElectionNotNeeded, ""
	}
	if !slices.ContainsFunc(replicas, c.alive) {
		return protocol.EligibleLeadersNotAvailable, fmt.Sprintf("no live replica of %s may lead", tp)
	}
	return protocol.None, ""
}

// elected returns the partition's state after the election, or nil.
func (c *zkController) elected(tp model.TopicPartition, kind protocol.ElectionType) *zkState {
	if code, _ := c.electable(tp, kind); code != protocol.None {
		return nil
	}
	st, replicas := c.states[tp], c.replicas(tp)
	if kind == protocol.ElectPreferred {
		return &zkState{leader: replicas[0], leaderEpoch: st.leaderEpoch + 1, isr: slices.Clone(st.isr), controllerEpoch: c.epoch}
	}
	var live []int32
	for _, id := range st.isr {
		if c.alive(id) {
			live = append(live, id)
		}
	}
	for _, r := range replicas {
		if slices.Contains(live, r) {
			return &zkState{leader: r, leaderEpoch: st.leaderEpoch + 1, isr: live, controllerEpoch: c.epoch}
		}
	}
	for _, r := range replicas {
		if c.alive(r) {
			return &zkState{leader: r, leaderEpoch: st.leaderEpoch + 1, isr: []int32{r}, controllerEpoch: c.epoch}
		}
	}
	return nil
}

// electLeader writes one partition's election and announces it; a partition
// whose state is being written waits for that write, and a conflict reads
// the state again and decides again, attempts times at most.
func (c *zkController) electLeader(tp model.TopicPartition, kind protocol.ElectionType, attempts int, done func(protocol.ErrorCode, string)) {
	gen := c.gen
	if c.busy[tp] {
		if attempts == 0 {
			done(protocol.RequestTimedOut, fmt.Sprintf("%s's state is being written: try again", tp))
			return
		}
		c.b.n.After(100*time.Millisecond, "broker.zk.controller.election-wait", func() {
			if !c.current(gen) {
				done(protocol.NotController, "the controller resigned")
				return
			}
			c.electLeader(tp, kind, attempts-1, done)
		})
		return
	}
	if _, ok := c.states[tp]; !ok {
		done(protocol.UnknownTopicOrPartition, fmt.Sprintf("%s has no leader and ISR", tp))
		return
	}
	nx := c.elected(tp, kind)
	if nx == nil {
		code, msg := c.electable(tp, kind)
		done(code, msg)
		return
	}
	c.writeState(tp, nx, func(ok bool) {
		switch {
		case ok:
			switch {
			case kind == protocol.ElectPreferred:
				c.b.s.Mark("broker.zk.controller.preferred-election")
			case len(nx.isr) == 1 && !slices.Contains(c.states[tp].isr, nx.leader):
				c.b.s.Mark("broker.zk.controller.unclean-election")
			default:
				c.b.s.Mark("broker.zk.controller.election")
			}
			c.emit("broker.zk.controller.elected-leader", sim.Digest(uint64(nx.leader), uint64(nx.leaderEpoch)), "%s election of %s: leader %d, leader epoch %d",
				kind, tp, nx.leader, nx.leaderEpoch)
			c.announce([]model.TopicPartition{tp}, false)
			done(protocol.None, "")
		case attempts > 0 && c.current(gen):
			c.electLeader(tp, kind, attempts-1, done)
		default:
			done(protocol.RequestTimedOut, fmt.Sprintf("%s's state changed while it was written: try again", tp))
		}
	})
}

// scheduleRebalance arms the auto leader rebalance check
// (auto.leader.rebalance.enable, every
// leader.imbalance.check.interval.seconds) of an active controller.
func (c *zkController) scheduleRebalance() {
	cfg := c.zb.cfg
	if !cfg.AutoLeaderRebalance || cfg.LeaderImbalanceCheckInterval <= 0 {
		return
	}
	gen := c.gen
	c.b.n.After(cfg.LeaderImbalanceCheckInterval, "broker.zk.controller.leader-rebalance", func() {
		if !c.current(gen) {
			return
		}
		c.rebalance()
		c.scheduleRebalance()
	})
}

// rebalance is checkAndTriggerAutoLeaderRebalance: for each broker, the
// partitions whose preferred replica it is but which another broker
// leads; when they are more than leader.imbalance.per.broker.percentage
// of its preferred partitions, the live ones whose preferred replica is
// in the ISR get a preferred election.
func (c *zkController) rebalance() {
	if !c.loaded {
		return
	}
	pct := c.zb.cfg.LeaderImbalancePerBrokerPercentage
	byBroker := map[int32][]model.TopicPartition{}
	for _, tp := range c.partitions() {
		if r := c.replicas(tp); len(r) > 0 {
			byBroker[r[0]] = append(byBroker[r[0]], tp)
		}
	}
	for _, id := range c.liveIDs() {
		tps := byBroker[id]
		var off []model.TopicPartition
		for _, tp := range tps {
			if st, ok := c.states[tp]; ok && st.leader != id {
				off = append(off, tp)
			}
		}
		if len(tps) == 0 || len(off)*100 <= pct*len(tps) {
			continue
		}
		c.emit("broker.zk.controller.leader-imbalance", uint64(len(off)), "broker %d leads %d of the %d partitions it prefers: preferred elections",
			id, len(tps)-len(off), len(tps))
		for _, tp := range off {
			if c.busy[tp] || c.elected(tp, protocol.ElectPreferred) == nil {
				continue
			}
			c.electLeader(tp, protocol.ElectPreferred, 0, func(protocol.ErrorCode, string) {})
		}
	}
}
