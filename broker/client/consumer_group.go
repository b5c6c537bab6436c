package client

import (
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

func (c *Consumer) findCoordinator() {
	if c.findPending || c.cfg.GroupID == "" {
		return
	}
	broker := c.c.anyBroker()
	if broker == protocol.NoNode {
		return
	}
	c.findPending = true
	c.c.request(broker, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.FindCoordinator{CorrelationID: corr, Key: c.cfg.GroupID, KeyType: protocol.CoordinatorGroup}
	}, func(m network.Message, code protocol.ErrorCode) {
		c.findPending = false
		resp, _ := m.(*protocol.FindCoordinatorResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		if code != protocol.None {
			c.n.After(c.cfg.RetryBackoff, "consumer.find-coordinator-retry", c.kick)
			return
		}
		c.coordinator = resp.NodeID
		c.kick()
	})
}

// coordinatorError forgets the coordinator after errors that say it moved.
func (c *Consumer) coordinatorError(code protocol.ErrorCode) {
	switch code {
	case protocol.NotCoordinator, protocol.CoordinatorNotAvailable, protocol.NetworkException, protocol.RequestTimedOut:
		c.coordinator = protocol.NoNode
		c.s.Mark("consumer.coordinator-lost")
	}
}

// ensureGroup (re)joins the group when needed (AbstractCoordinator's
// ensureActiveGroup) and keeps the heartbeat and auto-commit timers going.
func (c *Consumer) ensureGroup() {
	if c.coordinator == protocol.NoNode {
		c.findCoordinator()
		return
	}
	if c.now()-c.lastPoll > c.cfg.MaxPollInterval && c.memberID != "" && !c.joining {
		// The application stopped polling: leave, as the heartbeat thread does.
		c.s.Mark("consumer.max-poll-interval-exceeded")
		c.leave("consumer poll timeout has expired", nil)
		return
	}
	if c.needsRejoin && !c.joining {
		c.join()
	}
	if !c.s.Scheduled(c.heartbeatT) && c.generation >= 0 {
		c.heartbeatT = c.n.After(c.cfg.HeartbeatInterval, "consumer.heartbeat", c.heartbeat)
	}
}

func (c *Consumer) join() {
	c.joining = true
	if c.protocol == group.Eager {
		// Eager: commit and give up everything before rejoining.
		if c.cfg.EnableAutoCommit && len(c.parts) > 0 {
			c.commit(c.positions(), false, nil)
		}
		c.revoke(c.Assignment())
	} else {
		// Cooperative: keep the partitions, but give up those of topics
		// no longer subscribed to, which the member may not claim as
		// owned (Kafka's onJoinPrepare).
		var gone []model.TopicPartition
		for _, tp := range c.Assignment() {
			if !slices.Contains(c.topics, tp.Topic) {
				gone = append(gone, tp)
			}
		}
		if len(gone) > 0 {
			c.s.Mark("consumer.unsubscribed-revoke")
			c.commitRevoked(gone)
			c.revoke(gone)
		}
	}
	owned := c.Assignment()
	var protos []protocol.GroupProtocol
	for _, name := range c.cfg.Assignors {
		sub := group.Subscription{Topics: c.topics, Owned: owned, Generation: c.generation}
		if a, _ := group.AssignorByName(name); a != nil {
			if u, ok := a.(group.UserDataAssignor); ok && c.lastAssigned != nil {
				sub.UserData = u.UserData(c.lastAssigned, c.lastGeneration)
			}
		}
		protos = append(protos, protocol.GroupProtocol{Name: name, Metadata: group.EncodeSubscription(sub)})
	}
	coord := c.coordinator
	c.c.request(coord, c.cfg.MaxPollInterval+c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.JoinGroup{CorrelationID: corr, ClientID: c.cfg.ClientID, ClientHost: "/" + c.n.Name(), GroupID: c.cfg.GroupID,
			SessionTimeout: c.cfg.SessionTimeout, RebalanceTimeout: c.cfg.MaxPollInterval, MemberID: c.memberID,
			GroupInstanceID: c.cfg.GroupInstanceID, ProtocolType: group.ConsumerProtocolType, Protocols: protos}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.JoinGroupResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		switch code {
		case protocol.None:
			c.memberID, c.generation = resp.MemberID, resp.GenerationID
			c.sync(coord, resp)
			return
		case protocol.MemberIdRequired:
			c.memberID = resp.MemberID
			c.joining = false
			c.join()
			return
		case protocol.UnknownMemberId, protocol.IllegalGeneration, protocol.FencedInstanceId:
			c.resetGeneration()
		default:
			c.coordinatorError(code)
		}
		c.joining = false
		c.n.After(c.cfg.RetryBackoff, "consumer.join-retry", c.kick)
	})
}

func (c *Consumer) sync(coord int32, jr *protocol.JoinGroupResponse) {
	var assigns []protocol.SyncAssignment
	c.noteAssignmentSnapshot(false, nil)
	if jr.Leader == c.memberID && !jr.SkipAssignment {
		a, err := c.cfg.Protocol.assignor(jr.ProtocolName)
		if err == nil {
			var members []group.Member
			topics := map[string]int32{}
			for _, mem := range jr.Members {
				sub, err := group.DecodeSubscription(mem.Metadata)
				if err != nil {
					continue
				}
				for _, t := range sub.Topics {
					if ps, ok := c.c.partitions(t); ok {
						topics[t] = int32(len(ps))
					} else {
						c.c.need(t)
					}
				}
				members = append(members, group.MemberOf(a, mem.MemberID, mem.GroupInstanceID, sub))
			}
			c.noteAssignmentSnapshot(true, topics)
			out := a.Assign(topics, members)
			for _, id := range slices.Sorted(mapsKeys(out)) {
				assigns = append(assigns, protocol.SyncAssignment{MemberID: id, Assignment: group.EncodeAssignment(group.Assignment{Partitions: out[id]})})
			}
		}
	}
	gen := jr.GenerationID
	c.c.request(coord, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.SyncGroup{CorrelationID: corr, GroupID: c.cfg.GroupID, GenerationID: gen, MemberID: c.memberID,
			GroupInstanceID: c.cfg.GroupInstanceID, ProtocolType: group.ConsumerProtocolType, ProtocolName: jr.ProtocolName, Assignments: assigns}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.SyncGroupResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		if code == protocol.UnknownMemberId || code == protocol.IllegalGeneration || code == protocol.FencedInstanceId {
			c.resetGeneration() // still joining: the rebalance failed
		}
		c.joining = false
		if code != protocol.None {
			c.coordinatorError(code)
			c.n.After(c.cfg.RetryBackoff, "consumer.join-retry", c.kick)
			return
		}
		a, err := group.DecodeAssignment(resp.Assignment)
		if err != nil {
			c.n.After(c.cfg.RetryBackoff, "consumer.join-retry", c.kick)
			return
		}
		c.needsRejoin = false
		c.onAssignment(a.Partitions)
		c.kick()
	})
}

func mapsKeys(m map[string][]model.TopicPartition) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// onAssignment applies a new assignment: eager members got everything
// revoked before joining; cooperative ones revoke what they lost now and
// rejoin if they did (KIP-429).
func (c *Consumer) onAssignment(tps []model.TopicPartition) {
	slices.SortFunc(tps, model.TopicPartition.Compare)
	old := c.Assignment()
	var added, revoked []model.TopicPartition
	for _, tp := range tps {
		if c.parts[tp] == nil {
			added = append(added, tp)
		}
	}
	for _, tp := range old {
		if !slices.Contains(tps, tp) {
			revoked = append(revoked, tp)
		}
	}
	c.lastAssigned, c.lastGeneration = append([]model.TopicPartition{}, tps...), c.generation
	if len(revoked) > 0 {
		c.commitRevoked(revoked)
		for _, tp := range revoked {
			delete(c.parts, tp)
		}
		c.s.Mark("consumer.cooperative-revoke")
		c.needsRejoin = true
	}
	for _, tp := range added {
		c.parts[tp] = newPartState()
		c.c.need(tp.Topic)
	}
	c.rec.Rebalance(c.now(), c.cfg.ClientID, c.process, history.Membership{Group: c.cfg.GroupID, Member: c.memberID,
		Generation: c.generation, Assigned: added, Revoked: revoked})
}

// commitRevoked commits, with auto-commit, the positions of partitions
// about to be revoked.
func (c *Consumer) commitRevoked(revoked []model.TopicPartition) {
	if !c.cfg.EnableAutoCommit {
		return
	}
	offs := map[model.TopicPartition]history.CommittedOffset{}
	for tp, o := range c.positions() {
		if slices.Contains(revoked, tp) {
			offs[tp] = o
		}
	}
	c.commit(offs, false, nil)
}

// revoke gives up partitions (eager rebalancing, leaving the group,
// topics no longer subscribed to).
func (c *Consumer) revoke(tps []model.TopicPartition) {
	if len(tps) == 0 {
		return
	}
	for _, tp := range tps {
		delete(c.parts, tp)
	}
	c.rec.Rebalance(c.now(), c.cfg.ClientID, c.process, history.Membership{Group: c.cfg.GroupID, Member: c.memberID,
		Generation: c.generation, Revoked: tps})
}

func (c *Consumer) resetGeneration() {
	c.s.Mark("consumer.generation-reset")
	c.memberID, c.generation = "", protocol.NoGeneration
	c.needsRejoin = true
	if c.joining && c.cfg.Protocol.KeepPartitionsOnRejoin && len(c.parts) > 0 {
		// Before KAFKA-12983's fix the partitions were given up only when
		// the rebalance began: lost during it, they stay, and the next
		// JoinGroup claims them.
		c.s.Mark("consumer.rejoin-keeps-lost-partitions")
		return
	}
	// The partitions are lost, not revoked: another member may own them.
	c.revoke(c.Assignment())
}

func (c *Consumer) heartbeat() {
	if c.closed {
		return
	}
	if c.generation < 0 || c.coordinator == protocol.NoNode || c.memberID == "" {
		c.kick()
		return
	}
	if c.hbPending {
		c.heartbeatT = c.n.After(c.cfg.HeartbeatInterval, "consumer.heartbeat", c.heartbeat)
		return
	}
	c.hbPending = true
	c.c.request(c.coordinator, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.Heartbeat{CorrelationID: corr, GroupID: c.cfg.GroupID, GenerationID: c.generation, MemberID: c.memberID, GroupInstanceID: c.cfg.GroupInstanceID}
	}, func(m network.Message, code protocol.ErrorCode) {
		c.hbPending = false
		resp, _ := m.(*protocol.HeartbeatResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		switch code {
		case protocol.None:
		case protocol.RebalanceInProgress:
			c.s.Mark("consumer.rebalance-signalled")
			c.needsRejoin = true
		case protocol.UnknownMemberId, protocol.IllegalGeneration, protocol.FencedInstanceId:
			c.resetGeneration()
		default:
			c.coordinatorError(code)
		}
		c.kick()
	})
	c.heartbeatT = c.n.After(c.cfg.HeartbeatInterval, "consumer.heartbeat", c.heartbeat)
}

// positions returns the offsets to commit: each partition's position and
// the leader epoch of the last record consumed.
func (c *Consumer) positions() map[model.TopicPartition]history.CommittedOffset {
	out := map[model.TopicPartition]history.CommittedOffset{}
	for _, tp := range c.Assignment() {
		if pos, ok := c.Position(tp); ok {
			out[tp] = history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: pos, LeaderEpoch: c.parts[tp].epoch}
		}
	}
	return out
}

func (c *Consumer) maybeAutoCommit() {
	if !c.cfg.EnableAutoCommit || c.s.Scheduled(c.autoCommitT) {
		return
	}
	c.autoCommitT = c.n.After(c.cfg.AutoCommitInterval, "consumer.auto-commit", func() {
		if offs := c.positions(); len(offs) > 0 && c.generation >= 0 {
			c.commit(offs, false, nil)
		}
		c.maybeAutoCommit()
	})
}

// CommitSync commits offsets (the current positions when offsets is nil)
// and retries retriable errors until default.api.timeout.ms; done gets
// the outcome. Committing a partition the consumer is not assigned is
// refused before anything is sent.
func (c *Consumer) CommitSync(offsets []history.CommittedOffset, done func(error)) error {
	return c.commitAPI(offsets, true, done)
}

// CommitAsync commits once, without retries.
func (c *Consumer) CommitAsync(offsets []history.CommittedOffset, done func(error)) error {
	return c.commitAPI(offsets, false, done)
}

func (c *Consumer) commitAPI(offsets []history.CommittedOffset, retry bool, done func(error)) error {
	if c.cfg.GroupID == "" {
		return fmt.Errorf("consumer %s: commit needs a group.id (Kafka's InvalidGroupIdException)", c.cfg.ClientID)
	}
	m := map[model.TopicPartition]history.CommittedOffset{}
	if offsets == nil {
		m = c.positions()
	}
	for _, o := range offsets {
		tp := o.TP()
		if c.parts[tp] == nil {
			return fmt.Errorf("consumer %s: commit for %s, which is not assigned to this consumer; commit offsets only for assigned partitions (assigned: %s)",
				c.cfg.ClientID, tp, tpNames(c.Assignment()))
		}
		if o.Offset < 0 {
			return fmt.Errorf("consumer %s: commit offset %d for %s is negative: give the offset of the next record to read", c.cfg.ClientID, o.Offset, tp)
		}
		m[tp] = o
	}
	c.commit(m, retry, done)
	return nil
}

func (c *Consumer) commit(offs map[model.TopicPartition]history.CommittedOffset, retry bool, done func(error)) {
	if len(offs) == 0 {
		// Nothing consumed, nothing to commit: Kafka sends no request.
		if done != nil {
			c.n.After(0, "consumer.commit-nothing", func() { done(nil) })
		}
		return
	}
	tps := slices.SortedFunc(func(yield func(model.TopicPartition) bool) {
		for k := range offs {
			if !yield(k) {
				return
			}
		}
	}, model.TopicPartition.Compare)
	list := make([]history.CommittedOffset, len(tps))
	for i, tp := range tps {
		list[i] = offs[tp]
	}
	gen, member := c.generation, c.memberID
	if c.manual {
		gen, member = protocol.NoGeneration, ""
	}
	id := c.rec.InvokeCommit(c.now(), c.cfg.ClientID, c.process, history.Offsets{Group: c.cfg.GroupID, Generation: gen, Offsets: list})
	deadline := c.now() + c.cfg.DefaultAPITimeout
	var attempt func()
	finish := func(code protocol.ErrorCode) {
		if code == protocol.None {
			c.rec.OK(id, c.now())
			if done != nil {
				done(nil)
			}
			return
		}
		if code.Retriable() {
			c.rec.Unknown(id, c.now(), code.String())
		} else {
			c.rec.Fail(id, c.now(), code.String())
		}
		if done != nil {
			done(code)
		}
	}
	attempt = func() {
		if c.coordinator == protocol.NoNode {
			c.findCoordinator()
			if retry && c.now() < deadline {
				c.n.After(c.cfg.RetryBackoff, "consumer.commit-retry", attempt)
				return
			}
			finish(protocol.CoordinatorNotAvailable)
			return
		}
		req := &protocol.OffsetCommit{GroupID: c.cfg.GroupID, GenerationID: gen, MemberID: member, GroupInstanceID: c.cfg.GroupInstanceID}
		for _, o := range list {
			req.Partitions = append(req.Partitions, protocol.OffsetCommitPartition{TP: o.TP(), Offset: o.Offset, LeaderEpoch: o.LeaderEpoch})
		}
		c.c.request(c.coordinator, c.cfg.RequestTimeout, func(corr int32) network.Message {
			req.CorrelationID = corr
			return req
		}, func(m network.Message, code protocol.ErrorCode) {
			resp, _ := m.(*protocol.OffsetCommitResponse)
			if code == protocol.None && resp != nil {
				for _, p := range resp.Partitions {
					if p.Error != protocol.None {
						code = p.Error
						break
					}
				}
			}
			c.coordinatorError(code)
			switch {
			case code == protocol.RebalanceInProgress || code == protocol.IllegalGeneration || code == protocol.UnknownMemberId:
				c.needsRejoin = true
				finish(code)
			case code.Retriable() && retry && c.now() < deadline:
				c.n.After(c.cfg.RetryBackoff, "consumer.commit-retry", attempt)
			default:
				finish(code)
			}
		})
	}
	attempt()
}

// FetchCommitted reads the group's committed offsets for partitions
// (KafkaConsumer.committed); done gets them (Offset -1 where none).
func (c *Consumer) FetchCommitted(tps []model.TopicPartition, done func([]history.CommittedOffset, error)) {
	id := c.rec.InvokeFetchCommitted(c.now(), c.cfg.ClientID, c.process, history.Offsets{Group: c.cfg.GroupID, Generation: c.generation,
		Offsets: committedList(tps)})
	fail := func(code protocol.ErrorCode) {
		c.rec.Fail(id, c.now(), code.String())
		if done != nil {
			done(nil, code)
		}
	}
	if c.coordinator == protocol.NoNode {
		c.findCoordinator()
		fail(protocol.CoordinatorNotAvailable)
		return
	}
	c.c.request(c.coordinator, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.OffsetFetch{CorrelationID: corr, GroupID: c.cfg.GroupID, Partitions: tps}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.OffsetFetchResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		if code != protocol.None {
			c.coordinatorError(code)
			fail(code)
			return
		}
		var out []history.CommittedOffset
		for _, p := range resp.Partitions {
			out = append(out, history.CommittedOffset{Topic: p.TP.Topic, Partition: p.TP.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch})
		}
		slices.SortFunc(out, func(a, b history.CommittedOffset) int { return a.TP().Compare(b.TP()) })
		c.rec.FetchCommittedOK(id, c.now(), out)
		if done != nil {
			done(out, nil)
		}
	})
}

func committedList(tps []model.TopicPartition) []history.CommittedOffset {
	out := make([]history.CommittedOffset, len(tps))
	for i, tp := range tps {
		out[i] = history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: -1, LeaderEpoch: -1}
	}
	slices.SortFunc(out, func(a, b history.CommittedOffset) int { return a.TP().Compare(b.TP()) })
	return out
}

// Close commits (with auto-commit) and leaves the group, as
// KafkaConsumer.close does; a static member does not leave. A closed
// consumer fetches, heartbeats and polls no more.
func (c *Consumer) Close() { c.CloseThen(nil) }

// CloseThen is Close, and calls done (if set) once the final commit and
// the LeaveGroup are answered, or failed or timed out: when an
// application that closes its consumer on shutdown exits.
func (c *Consumer) CloseThen(done func()) {
	if c.closed {
		if done != nil {
			c.n.After(0, "consumer.closed", done)
		}
		return
	}
	// Without done nothing waits: no callback, no timer (Close's events
	// stay what they were).
	var committed func(error)
	var left func()
	if done != nil {
		pending := 3 // the commit, the LeaveGroup, and the end of CloseThen
		left = func() {
			if pending--; pending == 0 {
				done()
			}
		}
		committed = func(error) { left() }
		defer c.n.After(0, "consumer.close-sent", left)
	}
	if c.cfg.EnableAutoCommit && len(c.parts) > 0 && c.generation >= 0 {
		c.commit(c.positions(), false, committed)
	} else if left != nil {
		left()
	}
	if c.cfg.GroupInstanceID == "" {
		c.leave("the consumer is being closed", left)
	} else if left != nil {
		left()
	}
	c.closed = true
	c.n.Cancel(c.heartbeatT)
	c.n.Cancel(c.autoCommitT)
	c.n.Cancel(c.fetchT)
	if c.poll != nil {
		c.completePoll(true)
	}
}

// leave sends LeaveGroup and gives up the partitions; done (if set) runs
// once the LeaveGroup is answered or failed, or at once (as a timer) when
// there is no membership to leave.
func (c *Consumer) leave(reason string, done func()) {
	if c.memberID == "" || c.coordinator == protocol.NoNode {
		if done != nil {
			c.n.After(0, "consumer.left", done)
		}
		return
	}
	member := c.memberID
	c.c.request(c.coordinator, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.LeaveGroup{CorrelationID: corr, GroupID: c.cfg.GroupID, Members: []protocol.MemberIdentity{{MemberID: member, Reason: reason}}}
	}, func(network.Message, protocol.ErrorCode) {
		if done != nil {
			done()
		}
	})
	c.revoke(c.Assignment())
	c.memberID, c.generation = "", protocol.NoGeneration
	c.needsRejoin = true
	c.lastPoll = c.now()
}
