package group

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// State is a classic group's state, with Kafka's names.
type State uint8

// The group states.
const (
	// Empty: no members; the group may still hold committed offsets.
	Empty State = iota
	// PreparingRebalance: members are (re)joining for a new generation.
	PreparingRebalance
	// CompletingRebalance: the generation is formed and the coordinator
	// waits for the leader's assignment (SyncGroup). Kafka calls it
	// AwaitingSync in older versions.
	CompletingRebalance
	// Stable: every member has its assignment.
	Stable
	// Dead: the group is gone (its coordinator resigned, or it was deleted).
	Dead
)

var stateNames = [...]string{"Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// waiter is a request waiting for its response.
type waiter struct {
	to   sim.NodeID
	corr int32
}

// member is one member of a group (Kafka's MemberMetadata).
type member struct {
	id, instanceID, clientID, clientHost string
	sessionTimeout, rebalanceTimeout     time.Duration
	protocols                            []protocol.GroupProtocol
	assignment                           []byte
	join, sync                           *waiter // requests awaiting their answer
	isNew                                bool
	joinedAt                             time.Duration
	heartbeat                            sim.Timer
}

func (m *member) metadata(name string) []byte {
	for _, p := range m.protocols {
		if p.Name == name {
			return p.Metadata
		}
	}
	return nil
}

// sameNames reports whether two protocol lists name the same protocols in
// the same order, whatever their metadata.
func sameNames(a, b []protocol.GroupProtocol) bool {
	return slices.EqualFunc(a, b, func(x, y protocol.GroupProtocol) bool { return x.Name == y.Name })
}

func (m *member) sameProtocols(ps []protocol.GroupProtocol) bool {
	return slices.EqualFunc(m.protocols, ps, func(a, b protocol.GroupProtocol) bool {
		return a.Name == b.Name && string(a.Metadata) == string(b.Metadata)
	})
}

// A Group is one consumer group as its coordinator holds it (Kafka's
// GroupMetadata): state, generation, members, committed offsets.
type Group struct {
	c            *Coordinator
	id           string
	partition    int32
	state        State
	generation   int32
	protocolType string
	protocolName string
	leader       string
	members      map[string]*member
	order        []string // member ids in join order: the leader is the first
	pending      map[string]sim.Timer
	static       map[string]string // group.instance.id → member id
	offsets      map[model.TopicPartition]OffsetAndMetadata
	stateTime    time.Duration

	joinTimer      sim.Timer
	newMemberAdded bool
	initialLeft    time.Duration // what is left of the rebalance timeout during the initial delay
	initialPhase   bool          // the join phase is in its initial delay
}

func newGroup(c *Coordinator, id string, p int32) *Group {
	return &Group{c: c, id: id, partition: p, members: make(map[string]*member), pending: make(map[string]sim.Timer),
		static: make(map[string]string), offsets: make(map[model.TopicPartition]OffsetAndMetadata), stateTime: c.now()}
}

// ID returns the group id.
func (g *Group) ID() string { return g.id }

// State returns the group's state.
func (g *Group) State() State { return g.state }

// Generation returns the group's generation id.
func (g *Group) Generation() int32 { return g.generation }

// Leader returns the member id of the group's leader, or "".
func (g *Group) Leader() string { return g.leader }

// Protocol returns the protocol (assignor) chosen for the generation.
func (g *Group) Protocol() string { return g.protocolName }

// Members returns the member ids, in join order.
func (g *Group) Members() []string { return slices.Clone(g.order) }

// Assignment returns a member's assignment bytes in the current generation.
func (g *Group) Assignment(memberID string) []byte {
	if m := g.members[memberID]; m != nil {
		return m.assignment
	}
	return nil
}

// Offsets returns the group's committed offsets.
func (g *Group) Offsets() map[model.TopicPartition]OffsetAndMetadata { return maps.Clone(g.offsets) }

func (g *Group) transition(to State) {
	g.c.trace("group.state", sim.Digest(uint64(g.state), uint64(to), uint64(g.generation)), "%s: %s -> %s (generation %d)", g.id, g.state, to, g.generation)
	g.state = to
	g.stateTime = g.c.now()
}

func (g *Group) loadMetadata(md *GroupMetadata) {
	g.protocolType, g.generation, g.protocolName, g.leader = md.ProtocolType, md.Generation, md.Protocol, md.Leader
	for _, mm := range md.Members {
		m := &member{id: mm.MemberID, instanceID: mm.InstanceID, clientID: mm.ClientID, clientHost: mm.ClientHost,
			sessionTimeout: mm.SessionTimeout, rebalanceTimeout: mm.RebalanceTimeout, assignment: mm.Assignment,
			protocols: []protocol.GroupProtocol{{Name: md.Protocol, Metadata: mm.Subscription}}}
		g.add(m)
	}
	g.leader = md.Leader
	if len(g.members) > 0 {
		g.state = Stable
	}
}

// unload drops the group when its coordinator resigns.
func (g *Group) unload() {
	for _, id := range g.order {
		m := g.members[id]
		g.c.n.Cancel(m.heartbeat)
		if m.join != nil {
			g.replyJoinError(m, protocol.NotCoordinator)
		}
		if m.sync != nil {
			g.replySync(m, protocol.NotCoordinator)
		}
	}
	for _, t := range g.pending {
		g.c.n.Cancel(t)
	}
	g.c.n.Cancel(g.joinTimer)
	g.state = Dead
}

func (g *Group) add(m *member) {
	if len(g.members) == 0 && g.protocolType == "" {
		g.protocolType = ConsumerProtocolType
	}
	g.members[m.id] = m
	g.order = append(g.order, m.id)
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
}

func (g *Group) remove(id string) {
	m := g.members[id]
	if m == nil {
		return
	}
	g.c.n.Cancel(m.heartbeat)
	delete(g.members, id)
	g.order = slices.DeleteFunc(g.order, func(s string) bool { return s == id })
	if m.instanceID != "" && g.static[m.instanceID] == id {
		delete(g.static, m.instanceID)
	}
	if g.leader == id {
		g.leader = ""
		if len(g.order) > 0 {
			g.leader = g.order[0]
		}
	}
}

// candidates returns the protocols every member supports.
func (g *Group) candidates() []string {
	var out []string
	for i, id := range g.order {
		var names []string
		for _, p := range g.members[id].protocols {
			names = append(names, p.Name)
		}
		if i == 0 {
			out = names
			continue
		}
		out = slices.DeleteFunc(out, func(n string) bool { return !slices.Contains(names, n) })
	}
	return out
}

// supports reports whether a joining member's protocols fit the group.
func (g *Group) supports(protocolType string, ps []protocol.GroupProtocol) bool {
	if len(ps) == 0 || protocolType == "" {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if protocolType != g.protocolType {
		return false
	}
	cands := g.candidates()
	return slices.ContainsFunc(ps, func(p protocol.GroupProtocol) bool { return slices.Contains(cands, p.Name) })
}

// selectProtocol picks the protocol most members prefer among those all
// support (Kafka's vote; ties go to the name first in order).
func (g *Group) selectProtocol() string {
	cands := g.candidates()
	votes := make(map[string]int)
	for _, id := range g.order {
		for _, p := range g.members[id].protocols {
			if slices.Contains(cands, p.Name) {
				votes[p.Name]++
				break
			}
		}
	}
	best := ""
	for _, name := range slices.Sorted(maps.Keys(votes)) {
		if best == "" || votes[name] > votes[best] {
			best = name
		}
	}
	return best
}

func (g *Group) rebalanceTimeout() time.Duration {
	var t time.Duration
	for _, m := range g.members {
		t = max(t, m.rebalanceTimeout)
	}
	return t
}

func (g *Group) newMemberID(clientID string) string {
	r := g.c.n.Rand()
	a, b := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%s-%08x-%04x-%04x-%04x-%012x", clientID, a>>32, (a>>16)&0xffff, 0x4000|(a&0x0fff), 0x8000|(b>>48)&0x3fff, b&0xffffffffffff)
}

func (g *Group) join(from sim.NodeID, m *protocol.JoinGroup) {
	w := &waiter{to: from, corr: m.CorrelationID}
	fail := func(code protocol.ErrorCode, id string) {
		g.c.send(from, &protocol.JoinGroupResponse{CorrelationID: m.CorrelationID, Error: code, GenerationID: protocol.NoGeneration, MemberID: id})
	}
	if g.state == Dead {
		fail(protocol.CoordinatorNotAvailable, m.MemberID)
		return
	}
	if !g.supports(m.ProtocolType, m.Protocols) {
		fail(protocol.InconsistentGroupProtocol, m.MemberID)
		return
	}
	if m.MemberID == "" {
		g.joinNew(w, m, fail)
		return
	}
	if m.GroupInstanceID != "" {
		if cur, ok := g.static[m.GroupInstanceID]; ok && cur != m.MemberID {
			g.c.s.Mark("group.join.fenced-instance")
			fail(protocol.FencedInstanceId, m.MemberID)
			return
		}
	}
	if t, ok := g.pending[m.MemberID]; ok {
		// The second join of KIP-394: the member now has its id.
		g.c.n.Cancel(t)
		delete(g.pending, m.MemberID)
		g.addAndRebalance(w, m, m.MemberID)
		return
	}
	mem := g.members[m.MemberID]
	if mem == nil {
		fail(protocol.UnknownMemberId, m.MemberID)
		return
	}
	switch g.state {
	case PreparingRebalance:
		g.updateAndRebalance(mem, w, m)
	case CompletingRebalance:
		if mem.sameProtocols(m.Protocols) {
			// The member lost its join answer: send it again.
			mem.join = w
			g.replyJoin(mem)
			return
		}
		g.updateAndRebalance(mem, w, m)
	case Stable:
		if mem.id == g.leader || !mem.sameProtocols(m.Protocols) {
			g.updateAndRebalance(mem, w, m)
			return
		}
		// A follower rejoining with nothing new gets the current
		// generation and syncs again.
		mem.join = w
		g.replyJoin(mem)
	default:
		fail(protocol.UnknownMemberId, m.MemberID)
	}
}

func (g *Group) joinNew(w *waiter, m *protocol.JoinGroup, fail func(protocol.ErrorCode, string)) {
	if len(g.members)+len(g.pending) >= g.c.cfg.MaxSize {
		fail(protocol.GroupMaxSizeReached, "")
		return
	}
	id := g.newMemberID(m.ClientID)
	if m.GroupInstanceID != "" {
		g.joinStatic(w, m, id)
		return
	}
	// KIP-394: a new member first gets an id, and joins with it.
	g.c.s.Mark("group.join.member-id-required")
	g.pending[id] = g.c.n.After(m.SessionTimeout, "group.pending-member-expire", func() { g.expirePending(id) })
	fail(protocol.MemberIdRequired, id)
}

// joinStatic admits a static member (KIP-345): a known group.instance.id
// takes over its old member id, which is fenced from then on.
func (g *Group) joinStatic(w *waiter, m *protocol.JoinGroup, id string) {
	old, known := g.static[m.GroupInstanceID]
	if !known {
		g.addAndRebalance(w, m, id)
		return
	}
	g.c.s.Mark("group.join.static-replace")
	prev := g.members[old]
	if prev.join != nil {
		g.replyJoinError(prev, protocol.FencedInstanceId)
	}
	if prev.sync != nil {
		g.replySync(prev, protocol.FencedInstanceId)
	}
	g.c.n.Cancel(prev.heartbeat)
	delete(g.members, old)
	prev.id = id
	g.members[id] = prev
	for i, x := range g.order {
		if x == old {
			g.order[i] = id
		}
	}
	g.static[m.GroupInstanceID] = id
	if g.leader == old {
		g.leader = id
	}
	prev.clientID, prev.sessionTimeout, prev.rebalanceTimeout = m.ClientID, m.SessionTimeout, m.RebalanceTimeout
	if sameNames(prev.protocols, m.Protocols) {
		// The restarted member's subscription replaces the old one.
		prev.protocols = m.Protocols
	}
	if g.state == Stable && sameNames(prev.protocols, m.Protocols) {
		// Nothing changed: the member gets the current generation and its
		// assignment without a rebalance; a returning leader is told to
		// skip the assignment (KIP-814).
		prev.join = w
		g.scheduleHeartbeat(prev)
		g.replyJoin(prev)
		return
	}
	g.updateAndRebalance(prev, w, m)
}

func (g *Group) expirePending(id string) {
	if _, ok := g.pending[id]; !ok {
		return
	}
	delete(g.pending, id)
	g.c.s.Mark("group.pending-member-expired")
	if g.state == PreparingRebalance {
		g.tryCompleteJoin()
	}
}

func (g *Group) addAndRebalance(w *waiter, m *protocol.JoinGroup, id string) {
	mem := &member{id: id, instanceID: m.GroupInstanceID, clientID: m.ClientID, clientHost: m.ClientHost,
		sessionTimeout: m.SessionTimeout, rebalanceTimeout: m.RebalanceTimeout, protocols: m.Protocols,
		join: w, isNew: true, joinedAt: g.c.now()}
	g.add(mem)
	g.newMemberAdded = true
	// A new member is kept alive while it waits for the join phase, but
	// not forever (Kafka's new member join timeout).
	mem.heartbeat = g.c.n.After(g.c.cfg.NewMemberJoinTimeout, "group.new-member-expire", func() { g.expireMember(mem.id) })
	g.maybePrepareRebalance("new member joined")
	if g.state == PreparingRebalance {
		g.tryCompleteJoin()
	}
}

func (g *Group) updateAndRebalance(mem *member, w *waiter, m *protocol.JoinGroup) {
	mem.protocols, mem.join = m.Protocols, w
	mem.sessionTimeout, mem.rebalanceTimeout = m.SessionTimeout, m.RebalanceTimeout
	g.maybePrepareRebalance("member rejoined")
	if g.state == PreparingRebalance {
		g.tryCompleteJoin()
	}
}

func (g *Group) maybePrepareRebalance(reason string) {
	if g.state == Stable || g.state == CompletingRebalance || g.state == Empty {
		g.prepareRebalance(reason)
	}
}

func (g *Group) prepareRebalance(reason string) {
	if g.state == CompletingRebalance {
		g.c.s.Mark("group.rebalance.during-sync")
		for _, id := range g.order {
			mem := g.members[id]
			mem.assignment = nil
			if mem.sync != nil {
				g.replySync(mem, protocol.RebalanceInProgress)
			}
		}
	}
	g.c.n.Cancel(g.joinTimer)
	if g.state == Empty && g.c.cfg.InitialRebalanceDelay > 0 {
		// The first rebalance of an empty group waits for more members
		// (group.initial.rebalance.delay.ms), extending while new ones
		// arrive, up to the rebalance timeout.
		delay := min(g.c.cfg.InitialRebalanceDelay, g.rebalanceTimeout())
		g.initialLeft = max(g.rebalanceTimeout()-delay, 0)
		g.newMemberAdded = false
		g.initialPhase = true
		g.joinTimer = g.c.n.After(delay, "group.initial-join", g.onInitialDelay)
	} else {
		g.initialPhase = false
		g.joinTimer = g.c.n.After(g.rebalanceTimeout(), "group.join-timeout", g.completeJoin)
	}
	g.transition(PreparingRebalance)
	g.c.trace("group.rebalance", uint64(g.generation), "%s: preparing rebalance of generation %d: %s", g.id, g.generation+1, reason)
}

func (g *Group) onInitialDelay() {
	if g.newMemberAdded && g.initialLeft > 0 {
		g.newMemberAdded = false
		delay := min(g.c.cfg.InitialRebalanceDelay, g.initialLeft)
		g.initialLeft -= delay
		g.joinTimer = g.c.n.After(delay, "group.initial-join", g.onInitialDelay)
		return
	}
	g.initialPhase = false
	g.completeJoin()
}

// tryCompleteJoin ends the join phase early once every known member has
// rejoined and no member is between its two joins. During the initial
// delay the join waits for the delay instead.
func (g *Group) tryCompleteJoin() {
	if g.initialDelayRunning() {
		return
	}
	for _, m := range g.members {
		if m.join == nil {
			return
		}
	}
	if len(g.pending) > 0 {
		return
	}
	g.completeJoin()
}

func (g *Group) initialDelayRunning() bool { return g.initialPhase }

func (g *Group) completeJoin() {
	if g.state != PreparingRebalance {
		return
	}
	g.initialPhase = false
	g.c.n.Cancel(g.joinTimer)
	// Members that did not rejoin in time are out (static members keep
	// their place until their session expires).
	for _, id := range slices.Clone(g.order) {
		if m := g.members[id]; m.join == nil && m.instanceID == "" {
			g.c.s.Mark("group.join.member-dropped")
			g.remove(id)
		}
	}
	g.generation++
	if len(g.members) == 0 {
		g.protocolName = ""
		g.transition(Empty)
		g.store(nil)
		return
	}
	g.protocolName = g.selectProtocol()
	g.transition(CompletingRebalance)
	g.c.s.Mark("group.generation")
	for _, id := range g.order {
		m := g.members[id]
		m.isNew = false
		g.replyJoin(m)
		g.scheduleHeartbeat(m)
	}
}

func (g *Group) replyJoin(m *member) {
	resp := &protocol.JoinGroupResponse{CorrelationID: m.join.corr, GenerationID: g.generation, ProtocolType: g.protocolType,
		ProtocolName: g.protocolName, Leader: g.leader, MemberID: m.id}
	if m.id == g.leader {
		for _, id := range g.order {
			o := g.members[id]
			resp.Members = append(resp.Members, protocol.JoinGroupMember{MemberID: o.id, GroupInstanceID: o.instanceID, Metadata: o.metadata(g.protocolName)})
		}
		resp.SkipAssignment = g.state == Stable
	}
	g.c.send(m.join.to, resp)
	m.join = nil
}

func (g *Group) replyJoinError(m *member, code protocol.ErrorCode) {
	g.c.send(m.join.to, &protocol.JoinGroupResponse{CorrelationID: m.join.corr, Error: code, GenerationID: protocol.NoGeneration, MemberID: m.id})
	m.join = nil
}

func (g *Group) replySync(m *member, code protocol.ErrorCode) {
	resp := &protocol.SyncGroupResponse{CorrelationID: m.sync.corr, Error: code}
	if code == protocol.None {
		resp.ProtocolType, resp.ProtocolName, resp.Assignment = g.protocolType, g.protocolName, m.assignment
	}
	g.c.send(m.sync.to, resp)
	m.sync = nil
}

// scheduleHeartbeat (re)starts a member's session timer.
func (g *Group) scheduleHeartbeat(m *member) {
	g.c.n.Cancel(m.heartbeat)
	id := m.id
	m.heartbeat = g.c.n.After(m.sessionTimeout, "group.session-timeout", func() { g.expireMember(id) })
}

// expireMember removes a member whose session timed out, unless it is
// waiting for a join or sync answer (its session restarts with it).
func (g *Group) expireMember(id string) {
	m := g.members[id]
	if m == nil || g.state == Dead {
		return
	}
	if m.join != nil && !(m.isNew && g.c.now()-m.joinedAt >= g.c.cfg.NewMemberJoinTimeout) {
		return
	}
	if m.sync != nil {
		return
	}
	g.c.s.Mark("group.session-timeout")
	g.c.trace("group.member-expired", uint64(g.generation), "%s: member %s expired", g.id, id)
	g.removeAndUpdate(id, "session timeout")
}

func (g *Group) removeAndUpdate(id string, reason string) {
	m := g.members[id]
	if m.join != nil {
		g.replyJoinError(m, protocol.UnknownMemberId)
	}
	if m.sync != nil {
		g.replySync(m, protocol.UnknownMemberId)
	}
	g.remove(id)
	switch g.state {
	case Stable, CompletingRebalance:
		g.prepareRebalance("member " + id + " left: " + reason)
	case PreparingRebalance:
		g.tryCompleteJoin()
	}
}

// validMember checks a request's member and generation.
func (g *Group) validMember(memberID, instanceID string, generation int32) (*member, protocol.ErrorCode) {
	if instanceID != "" {
		if cur, ok := g.static[instanceID]; ok && cur != memberID {
			return nil, protocol.FencedInstanceId
		}
	}
	m := g.members[memberID]
	if m == nil {
		return nil, protocol.UnknownMemberId
	}
	if generation != g.generation {
		return m, protocol.IllegalGeneration
	}
	return m, protocol.None
}

func (g *Group) sync(from sim.NodeID, req *protocol.SyncGroup) {
	w := &waiter{to: from, corr: req.CorrelationID}
	reply := func(code protocol.ErrorCode) {
		g.c.send(from, &protocol.SyncGroupResponse{CorrelationID: req.CorrelationID, Error: code})
	}
	if g.state == Dead {
		reply(protocol.CoordinatorNotAvailable)
		return
	}
	m, code := g.validMember(req.MemberID, req.GroupInstanceID, req.GenerationID)
	if code != protocol.None {
		reply(code)
		return
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) || (req.ProtocolName != "" && req.ProtocolName != g.protocolName) {
		reply(protocol.InconsistentGroupProtocol)
		return
	}
	switch g.state {
	case Empty:
		reply(protocol.UnknownMemberId)
	case PreparingRebalance:
		reply(protocol.RebalanceInProgress)
	case Stable:
		m.sync = w
		g.scheduleHeartbeat(m)
		g.replySync(m, protocol.None)
	case CompletingRebalance:
		m.sync = w
		if m.id != g.leader {
			return
		}
		assign := make(map[string][]byte)
		for _, a := range req.Assignments {
			assign[a.MemberID] = a.Assignment
		}
		gen := g.generation
		g.storeAssignment(assign, func(code protocol.ErrorCode) {
			if g.state != CompletingRebalance || g.generation != gen {
				return
			}
			if code != protocol.None {
				g.c.s.Mark("group.sync.store-failed")
				for _, id := range g.order {
					if mem := g.members[id]; mem.sync != nil {
						g.replySync(mem, code)
					}
				}
				g.prepareRebalance("storing the assignment failed: " + code.String())
				return
			}
			for _, id := range g.order {
				mem := g.members[id]
				mem.assignment = assign[id]
				if mem.sync != nil {
					g.replySync(mem, protocol.None)
				}
				g.scheduleHeartbeat(mem)
			}
			g.transition(Stable)
		})
	}
}

// storeAssignment writes the generation with the leader's assignment to
// __consumer_offsets and calls done with the coordinator's error.
func (g *Group) storeAssignment(assign map[string][]byte, done func(protocol.ErrorCode)) {
	md := g.metadata(assign)
	g.storeMetadata(md, done)
}

func (g *Group) metadata(assign map[string][]byte) *GroupMetadata {
	md := &GroupMetadata{ProtocolType: g.protocolType, Generation: g.generation, Protocol: g.protocolName, Leader: g.leader,
		StateTimestamp: g.c.now().Milliseconds()}
	for _, id := range g.order {
		m := g.members[id]
		md.Members = append(md.Members, MemberMetadata{MemberID: id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost,
			RebalanceTimeout: m.rebalanceTimeout, SessionTimeout: m.sessionTimeout, Subscription: m.metadata(g.protocolName), Assignment: assign[id]})
	}
	return md
}

// store writes the group's metadata (an empty generation) and ignores the
// outcome, as Kafka does when a group becomes empty.
func (g *Group) store(assign map[string][]byte) {
	g.storeMetadata(g.metadata(assign), func(protocol.ErrorCode) {})
}

func (g *Group) storeMetadata(md *GroupMetadata, done func(protocol.ErrorCode)) {
	k, v := GroupRecord(g.id, md)
	recs := protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer,
		[]protocol.Record{{Timestamp: g.c.now().Milliseconds(), Key: k, Value: v}})
	g.c.log.Append(g.partition, recs, func(code protocol.ErrorCode) { done(appendError(code, false)) })
}

func (g *Group) heartbeat(req *protocol.Heartbeat) protocol.ErrorCode {
	if g.state == Dead {
		return protocol.CoordinatorNotAvailable
	}
	m, code := g.validMember(req.MemberID, req.GroupInstanceID, req.GenerationID)
	if code != protocol.None {
		return code
	}
	switch g.state {
	case Empty:
		return protocol.UnknownMemberId
	case PreparingRebalance:
		g.scheduleHeartbeat(m)
		return protocol.RebalanceInProgress
	}
	g.scheduleHeartbeat(m)
	return protocol.None
}

func (g *Group) leave(id protocol.MemberIdentity) protocol.ErrorCode {
	if g.state == Dead {
		return protocol.CoordinatorNotAvailable
	}
	memberID := id.MemberID
	if id.GroupInstanceID != "" {
		cur, ok := g.static[id.GroupInstanceID]
		switch {
		case !ok:
			return protocol.UnknownMemberId
		case memberID != "" && cur != memberID:
			return protocol.FencedInstanceId
		}
		memberID = cur
	}
	if t, ok := g.pending[memberID]; ok {
		g.c.n.Cancel(t)
		delete(g.pending, memberID)
		if g.state == PreparingRebalance {
			g.tryCompleteJoin()
		}
		return protocol.None
	}
	if g.members[memberID] == nil {
		return protocol.UnknownMemberId
	}
	g.c.s.Mark("group.leave")
	g.removeAndUpdate(memberID, "left the group: "+id.Reason)
	return protocol.None
}

func (g *Group) validateCommit(req *protocol.OffsetCommit) protocol.ErrorCode {
	switch {
	case g.state == Dead:
		return protocol.CoordinatorNotAvailable
	case req.GenerationID < 0 && g.state == Empty:
		return protocol.None // offsets only: no member, no generation
	case g.state == CompletingRebalance:
		if _, code := g.validMember(req.MemberID, req.GroupInstanceID, req.GenerationID); code != protocol.None {
			return code
		}
		return protocol.RebalanceInProgress
	}
	m, code := g.validMember(req.MemberID, req.GroupInstanceID, req.GenerationID)
	if code != protocol.None {
		return code
	}
	if g.state == Empty {
		return protocol.UnknownMemberId
	}
	// Stable or PreparingRebalance: members of the current generation may
	// commit, which also counts as a sign of life.
	g.scheduleHeartbeat(m)
	return protocol.None
}

func (g *Group) commit(from sim.NodeID, req *protocol.OffsetCommit, resp *protocol.OffsetCommitResponse) {
	ts := g.c.now().Milliseconds()
	var recs []protocol.Record
	var idx []int
	for i, p := range req.Partitions {
		resp.Partitions[i] = protocol.PartitionError{TP: p.TP}
		if !g.c.log.PartitionExists(p.TP) {
			resp.Partitions[i].Error = protocol.UnknownTopicOrPartition
			continue
		}
		k, v := OffsetRecord(g.id, p.TP, OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, CommitTimestamp: ts})
		recs = append(recs, protocol.Record{Timestamp: ts, Key: k, Value: v})
		idx = append(idx, i)
	}
	if len(recs) == 0 {
		g.c.send(from, resp)
		return
	}
	batch := protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer, recs)
	g.c.log.Append(g.partition, batch, func(code protocol.ErrorCode) {
		code = appendError(code, true)
		for _, i := range idx {
			p := req.Partitions[i]
			resp.Partitions[i].Error = code
			if code == protocol.None && g.state != Dead {
				g.offsets[p.TP] = OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, CommitTimestamp: ts}
			}
		}
		if code != protocol.None {
			g.c.s.Mark("group.commit.append-failed")
		}
		g.c.send(from, resp)
	})
}

func (g *Group) describe() protocol.DescribedGroup {
	d := protocol.DescribedGroup{GroupID: g.id, GroupState: g.state.String(), ProtocolType: g.protocolType}
	if g.state == Stable {
		d.ProtocolData = g.protocolName
	}
	for _, id := range g.order {
		m := g.members[id]
		dm := protocol.DescribedMember{MemberID: id, GroupInstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.clientHost}
		if g.state == Stable {
			dm.Metadata, dm.Assignment = m.metadata(g.protocolName), m.assignment
		}
		d.Members = append(d.Members, dm)
	}
	return d
}
