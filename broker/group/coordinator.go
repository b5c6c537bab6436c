package group

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/coord"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Log is what the coordinator needs from the broker that hosts it: a way
// to write to the partitions of __consumer_offsets that the broker leads.
type Log interface {
	// Append writes records (one batch, no producer id) to partition p of
	// __consumer_offsets as its leader, as a Produce with acks=all and a
	// timeout of offsets.commit.timeout.ms would, and calls done exactly
	// once: with None once the records are committed (below the
	// high-water mark), or with the produce error code (NOT_LEADER_OR_FOLLOWER,
	// NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT, ...). done may be called
	// before Append returns.
	Append(p int32, records protocol.Records, done func(protocol.ErrorCode))
	// PartitionExists reports whether a topic partition exists, so that
	// commits for unknown partitions get UNKNOWN_TOPIC_OR_PARTITION.
	PartitionExists(tp model.TopicPartition) bool
}

// A TxnVerifier is a Log that has a transactional offset commit's
// partition of __consumer_offsets verified with, or added to, the
// producer's transaction before the commit is written (KIP-890: verified
// under transaction version 1 with partition verification, added under
// version 2, where the producer sends no AddOffsetsToTxn). done gets None,
// or the error to answer the commit with.
type TxnVerifier interface {
	VerifyTxnOffsets(p int32, producer protocol.TxnProducer, done func(protocol.ErrorCode))
}

// Sender sends a response to the node a request came from.
type Sender func(to sim.NodeID, m network.Message)

// A Coordinator is one broker's group coordinator (Kafka's classic
// GroupCoordinator with its GroupMetadataManager): it owns the groups
// whose __consumer_offsets partition this broker leads, runs their
// rebalances, and stores their generations and committed offsets in that
// partition. It is a state machine: the broker feeds it requests
// (Handle), leadership changes of __consumer_offsets partitions (Elected,
// Resigned), and its timers run on the broker's node.
type Coordinator struct {
	n      *sim.Node
	s      *sim.Sim
	cfg    Config
	log    Log
	send   Sender
	owned  *coord.Owned // __consumer_offsets partitions led, with their leader epoch
	groups map[string]*Group
	// txnOffsets are the offsets of open transactions, by producer id.
	txnOffsets map[int64]*txnOffsets
}

// New returns a coordinator running on node n. It owns no partition until
// the broker calls Elected.
func New(n *sim.Node, cfg Config, log Log, send Sender) (*Coordinator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Coordinator{n: n, s: n.Sim(), cfg: cfg, log: log, send: send,
		owned: coord.NewOwned(OffsetsTopic, cfg.OffsetsTopicPartitions), groups: make(map[string]*Group)}, nil
}

// Config returns the coordinator's configuration.
func (c *Coordinator) Config() Config { return c.cfg }

// PartitionFor returns the __consumer_offsets partition of a group.
func (c *Coordinator) PartitionFor(groupID string) int32 {
	return c.owned.PartitionFor(groupID)
}

// Owns reports whether the coordinator leads a __consumer_offsets partition.
func (c *Coordinator) Owns(p int32) bool { return c.owned.Owns(p) }

// Group returns a group this coordinator holds, or nil.
func (c *Coordinator) Group(id string) *Group { return c.groups[id] }

// GroupIDs returns the ids of the groups this coordinator holds, sorted.
func (c *Coordinator) GroupIDs() []string { return slices.Sorted(maps.Keys(c.groups)) }

func (c *Coordinator) now() time.Duration { return c.n.Now() }

func (c *Coordinator) trace(kind string, digest uint64, format string, args ...any) {
	c.s.Trace().Emitf(c.n, kind, digest, format, args...)
}

// Elected tells the coordinator that its broker became the leader of
// partition p of __consumer_offsets at leaderEpoch, with records the
// partition's whole log (log start to log end offset). The coordinator
// loads the groups and offsets it holds (Kafka's
// GroupMetadataManager.loadGroupsAndOffsets) and from then on serves them.
// An election older than the one loaded is ignored.
func (c *Coordinator) Elected(p int32, leaderEpoch int32, records protocol.Records) error {
	if load, err := c.owned.Electing(p, leaderEpoch); !load {
		return err
	}
	c.Resigned(p)
	offsets := make(map[string]map[model.TopicPartition]OffsetAndMetadata)
	metas := make(map[string]*GroupMetadata)
	seen := make(map[string]bool)
	err := c.decodeLog(p, records, func(r LogRecord) {
		seen[r.GroupID] = true
		switch {
		case r.IsGroup:
			metas[r.GroupID] = r.Group // nil: tombstone
			if r.Group == nil {
				delete(offsets, r.GroupID)
			}
		case r.Offset != nil:
			if offsets[r.GroupID] == nil {
				offsets[r.GroupID] = make(map[model.TopicPartition]OffsetAndMetadata)
			}
			offsets[r.GroupID][r.TP] = *r.Offset
		default:
			delete(offsets[r.GroupID], r.TP)
		}
	})
	if err != nil {
		c.trace("group.load-failed", uint64(p), "partition %d: %v", p, err)
		return fmt.Errorf("loading %s-%d: %w", OffsetsTopic, p, err)
	}
	c.owned.Add(p, leaderEpoch)
	loaded := 0
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		md, offs := metas[id], offsets[id]
		if md == nil && len(offs) == 0 {
			continue
		}
		g := newGroup(c, id, p)
		if offs != nil {
			g.offsets = offs
		}
		if md != nil {
			g.loadMetadata(md)
		}
		c.groups[id] = g
		loaded++
		for _, mid := range g.order {
			g.scheduleHeartbeat(g.members[mid])
		}
	}
	c.s.Mark("group.coordinator.loaded")
	c.trace("group.loaded", sim.Digest(uint64(p), uint64(leaderEpoch), uint64(loaded)),
		"%s-%d at epoch %d: %d groups", OffsetsTopic, p, leaderEpoch, loaded)
	return nil
}

// Resigned tells the coordinator that its broker no longer leads
// partition p of __consumer_offsets: the groups it held are dropped, and
// members waiting for a join or sync answer get NOT_COORDINATOR.
func (c *Coordinator) Resigned(p int32) {
	if !c.owned.Remove(p) {
		return
	}
	for _, id := range c.GroupIDs() {
		g := c.groups[id]
		if g.partition != p {
			continue
		}
		g.unload()
		delete(c.groups, id)
	}
	c.trace("group.resigned", uint64(p), "%s-%d", OffsetsTopic, p)
}

// Handle serves a group request and reports whether m was one: JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch,
// DescribeGroups and ListGroups. Responses go out through the Sender,
// some of them later (JoinGroup waits for the rebalance).
func (c *Coordinator) Handle(from sim.NodeID, m network.Message) bool {
	switch m := m.(type) {
	case *protocol.JoinGroup:
		c.handleJoin(from, m)
	case *protocol.SyncGroup:
		c.handleSync(from, m)
	case *protocol.Heartbeat:
		c.handleHeartbeat(from, m)
	case *protocol.LeaveGroup:
		c.handleLeave(from, m)
	case *protocol.OffsetCommit:
		c.handleCommit(from, m)
	case *protocol.TxnOffsetCommit:
		c.handleTxnOffsetCommit(from, m)
	case *protocol.OffsetFetch:
		c.handleOffsetFetch(from, m)
	case *protocol.DescribeGroups:
		c.handleDescribe(from, m)
	case *protocol.ListGroups:
		c.handleList(from, m)
	default:
		return false
	}
	return true
}

// check validates that this coordinator serves a group id.
func (c *Coordinator) check(id string) protocol.ErrorCode {
	if id == "" {
		return protocol.InvalidGroupId
	}
	if !c.Owns(c.PartitionFor(id)) {
		return protocol.NotCoordinator
	}
	return protocol.None
}

func (c *Coordinator) handleJoin(from sim.NodeID, m *protocol.JoinGroup) {
	fail := func(code protocol.ErrorCode, member string) {
		c.send(from, &protocol.JoinGroupResponse{CorrelationID: m.CorrelationID, Error: code, GenerationID: protocol.NoGeneration, MemberID: member})
	}
	if code := c.check(m.GroupID); code != protocol.None {
		fail(code, m.MemberID)
		return
	}
	if m.SessionTimeout < c.cfg.MinSessionTimeout || m.SessionTimeout > c.cfg.MaxSessionTimeout {
		fail(protocol.InvalidSessionTimeout, m.MemberID)
		return
	}
	g := c.groups[m.GroupID]
	if g == nil {
		if m.MemberID != "" {
			// A known member id for a group that does not exist.
			fail(protocol.UnknownMemberId, m.MemberID)
			return
		}
		g = newGroup(c, m.GroupID, c.PartitionFor(m.GroupID))
		c.groups[m.GroupID] = g
	}
	g.join(from, m)
}

func (c *Coordinator) handleSync(from sim.NodeID, m *protocol.SyncGroup) {
	reply := func(code protocol.ErrorCode) {
		c.send(from, &protocol.SyncGroupResponse{CorrelationID: m.CorrelationID, Error: code})
	}
	if code := c.check(m.GroupID); code != protocol.None {
		reply(code)
		return
	}
	g := c.groups[m.GroupID]
	if g == nil {
		reply(protocol.UnknownMemberId)
		return
	}
	g.sync(from, m)
}

func (c *Coordinator) handleHeartbeat(from sim.NodeID, m *protocol.Heartbeat) {
	code := c.check(m.GroupID)
	if code == protocol.None {
		if g := c.groups[m.GroupID]; g == nil {
			code = protocol.UnknownMemberId
		} else {
			code = g.heartbeat(m)
		}
	}
	c.send(from, &protocol.HeartbeatResponse{CorrelationID: m.CorrelationID, Error: code})
}

func (c *Coordinator) handleLeave(from sim.NodeID, m *protocol.LeaveGroup) {
	resp := &protocol.LeaveGroupResponse{CorrelationID: m.CorrelationID}
	resp.Error = c.check(m.GroupID)
	g := c.groups[m.GroupID]
	if resp.Error == protocol.None && g == nil {
		resp.Error = protocol.UnknownMemberId
	}
	if resp.Error == protocol.None {
		for _, id := range m.Members {
			resp.Members = append(resp.Members, protocol.LeaveGroupMemberResponse{
				MemberID: id.MemberID, GroupInstanceID: id.GroupInstanceID, Error: g.leave(id)})
		}
	}
	c.send(from, resp)
}

func (c *Coordinator) handleCommit(from sim.NodeID, m *protocol.OffsetCommit) {
	resp := &protocol.OffsetCommitResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.PartitionError, len(m.Partitions))}
	all := func(code protocol.ErrorCode) {
		for i, p := range m.Partitions {
			resp.Partitions[i] = protocol.PartitionError{TP: p.TP, Error: code}
		}
		c.send(from, resp)
	}
	if code := c.check(m.GroupID); code != protocol.None {
		all(code)
		return
	}
	g := c.groups[m.GroupID]
	if g == nil {
		if m.GenerationID >= 0 {
			// A member of a generation of a group that does not exist.
			all(protocol.IllegalGeneration)
			return
		}
		// A group that only stores offsets (manual assignment, admin).
		g = newGroup(c, m.GroupID, c.PartitionFor(m.GroupID))
		c.groups[m.GroupID] = g
	}
	if code := g.validateCommit(m); code != protocol.None {
		all(code)
		return
	}
	g.commit(from, m, resp)
}

func (c *Coordinator) handleOffsetFetch(from sim.NodeID, m *protocol.OffsetFetch) {
	resp := &protocol.OffsetFetchResponse{CorrelationID: m.CorrelationID}
	if code := c.check(m.GroupID); code != protocol.None {
		resp.Error = code
		for _, tp := range m.Partitions {
			resp.Partitions = append(resp.Partitions, protocol.OffsetFetchPartition{TP: tp, Offset: protocol.NoOffset, LeaderEpoch: protocol.NoEpoch, Error: code})
		}
		c.send(from, resp)
		return
	}
	g := c.groups[m.GroupID]
	tps := m.Partitions
	if tps == nil && g != nil {
		tps = slices.SortedFunc(maps.Keys(g.offsets), model.TopicPartition.Compare)
	}
	for _, tp := range tps {
		pr := protocol.OffsetFetchPartition{TP: tp, Offset: protocol.NoOffset, LeaderEpoch: protocol.NoEpoch}
		if g != nil {
			if o, ok := g.offsets[tp]; ok {
				pr.Offset, pr.LeaderEpoch, pr.Metadata = o.Offset, o.LeaderEpoch, o.Metadata
			}
		}
		resp.Partitions = append(resp.Partitions, pr)
	}
	c.send(from, resp)
}

func (c *Coordinator) handleDescribe(from sim.NodeID, m *protocol.DescribeGroups) {
	resp := &protocol.DescribeGroupsResponse{CorrelationID: m.CorrelationID}
	for _, id := range m.Groups {
		d := protocol.DescribedGroup{GroupID: id, Error: c.check(id), GroupState: Dead.String()}
		if g := c.groups[id]; d.Error == protocol.None && g != nil {
			d = g.describe()
		}
		resp.Groups = append(resp.Groups, d)
	}
	c.send(from, resp)
}

func (c *Coordinator) handleList(from sim.NodeID, m *protocol.ListGroups) {
	resp := &protocol.ListGroupsResponse{CorrelationID: m.CorrelationID}
	for _, id := range c.GroupIDs() {
		g := c.groups[id]
		st := g.state.String()
		if len(m.StatesFilter) > 0 && !slices.Contains(m.StatesFilter, st) {
			continue
		}
		resp.Groups = append(resp.Groups, protocol.ListedGroup{GroupID: id, ProtocolType: g.protocolType, GroupState: st})
	}
	c.send(from, resp)
}

// FindCoordinator answers a FindCoordinator for a group from any broker:
// the leader of the group's partition of __consumer_offsets, as leaderOf
// tells it from the broker's metadata (ok false: the topic does not exist
// yet; the broker should create it, and the answer is
// COORDINATOR_NOT_AVAILABLE meanwhile).
func FindCoordinator(m *protocol.FindCoordinator, partitions int32, leaderOf func(model.TopicPartition) (int32, bool)) *protocol.FindCoordinatorResponse {
	resp := &protocol.FindCoordinatorResponse{CorrelationID: m.CorrelationID, NodeID: protocol.NoNode}
	switch {
	case m.KeyType != protocol.CoordinatorGroup:
		resp.Error = protocol.InvalidRequest
	case m.Key == "":
		resp.Error = protocol.InvalidGroupId
	default:
		leader, ok := leaderOf(model.TopicPartition{Topic: OffsetsTopic, Partition: PartitionFor(m.Key, partitions)})
		if !ok || leader == protocol.NoNode {
			resp.Error = protocol.CoordinatorNotAvailable
		} else {
			resp.NodeID = leader
		}
	}
	return resp
}

// appendError maps the error of an append to __consumer_offsets to what
// the coordinator answers (Kafka's GroupMetadataManager mapping).
func appendError(code protocol.ErrorCode, commit bool) protocol.ErrorCode {
	switch code {
	case protocol.None:
		return protocol.None
	case protocol.UnknownTopicOrPartition, protocol.NotEnoughReplicas, protocol.NotEnoughReplicasAfterAppend, protocol.RequestTimedOut:
		return protocol.CoordinatorNotAvailable
	case protocol.NotLeaderOrFollower, protocol.KafkaStorageError:
		return protocol.NotCoordinator
	case protocol.MessageTooLarge, protocol.CorruptMessage:
		if commit {
			return protocol.InvalidCommitOffsetSize
		}
		return protocol.UnknownServerError
	}
	return code
}
