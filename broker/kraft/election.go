package kraft

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Transitions. Every transition resets the connections (answers to requests
// of the old state are ignored), and the durable ones write the quorum-state
// file, fsynced, before the replica acts in its new state.

// set enters a role; durable transitions are persisted first.
func (c *Client) set(role Role, epoch, leader, voted int32, durable bool) {
	wasLeader := c.role == Leader && c.lead != nil
	c.role, c.epoch, c.leader, c.voted = role, epoch, leader, voted
	c.changes++
	c.votes, c.backingOff, c.fetched, c.unacked, c.successors = nil, false, false, nil, nil
	c.deadline = never
	if wasLeader && role != Leader {
		c.abdicate()
	}
	c.lead = nil
	c.resetConns()
	c.repoll = true
	if durable {
		if err := writeState(c.node.Disk(), c.dir, election{Epoch: epoch, Leader: leader, Voted: voted}, c.voters); err != nil {
			c.fatal(err)
			return
		}
	}
	c.trace("kraft.become", sim.Digest(uint64(role), uint64(epoch), uint64(leader), uint64(voted)), func() string {
		r := role.String()
		if c.observer {
			r += "(observer)"
		}
		return fmt.Sprintf("%s epoch=%d leader=%d voted=%d", r, epoch, leader, voted)
	})
}

// toUnattached enters a higher epoch (or, from prospective, the same one)
// without a known leader. The election timer keeps running where it was
// running, as Kafka's transitionToUnattached does.
func (c *Client) toUnattached(epoch int32) {
	now := c.now()
	deadline := c.deadline
	switch {
	case c.observer:
		deadline = never
	case c.role == Candidate || c.role == Unattached || c.role == Resigned:
	case c.role == Prospective && !c.voteRejected():
	default:
		deadline = c.electionDeadline(now)
	}
	voted := NoLeader
	if epoch == c.epoch {
		voted = c.voted
	}
	c.set(Unattached, epoch, NoLeader, voted, true)
	c.deadline = deadline
}

// toVoted records a binding vote for candidate in the current epoch.
func (c *Client) toVoted(candidate int32) {
	role, retries := c.role, c.retries
	c.set(role, c.epoch, c.leader, candidate, true)
	c.deadline = c.electionDeadline(c.now())
	if role == Prospective {
		c.retries, c.votes = retries, map[int32]bool{c.id: true}
	}
}

// toFollower follows leader in epoch; a vote cast in the same epoch is kept.
func (c *Client) toFollower(epoch, leader int32) {
	voted := NoLeader
	if epoch == c.epoch {
		voted = c.voted
	}
	c.set(Follower, epoch, leader, voted, true)
	c.deadline = c.now() + c.cfg.FetchTimeout
}

// toProspective starts asking for pre-votes in the current epoch (KIP-996).
// It is not persisted: nothing binding changes.
func (c *Client) toProspective() {
	retries := 1
	if c.role == Candidate {
		retries = c.retries + 1
	}
	c.set(Prospective, c.epoch, c.leader, c.voted, false)
	c.retries, c.votes = retries, map[int32]bool{c.id: true}
	c.deadline = c.electionDeadline(c.now())
	c.s.Mark("kraft.prevote.started")
}

// toCandidate starts an election in a new epoch, voting for itself.
func (c *Client) toCandidate() {
	retries := 1
	switch c.role {
	case Prospective:
		retries = c.retries
	case Candidate:
		retries = c.retries + 1
	}
	c.set(Candidate, c.epoch+1, NoLeader, c.id, true)
	if c.err != nil {
		return
	}
	c.retries, c.votes = retries, map[int32]bool{c.id: true}
	c.deadline = c.electionDeadline(c.now())
	c.s.Mark("kraft.election.started")
	c.maybeWin()
}

// toResigned gives up the epoch; successors are the other voters, most
// caught up first. It is not persisted: a leader always comes back
// resigned.
func (c *Client) toResigned(successors []int32) {
	c.set(Resigned, c.epoch, c.id, c.voted, false)
	c.successors = successors
	c.unacked = c.otherVoters()
	c.deadline = c.electionDeadline(c.now())
}

func (c *Client) granted() int {
	n := 0
	for _, g := range c.votes {
		if g {
			n++
		}
	}
	return n
}

// voteRejected reports whether the election can no longer be won: the
// granted votes and the voters yet to answer fall short of a majority.
func (c *Client) voteRejected() bool {
	return c.granted()+len(c.voters)-len(c.votes) < c.majority()
}

func (c *Client) maybeWin() {
	if c.role == Candidate && c.granted() >= c.majority() {
		c.toLeader()
	}
}

// startBackoff waits before the next election, after a lost one.
func (c *Client) startBackoff(now time.Duration) {
	c.backingOff = true
	c.deadline = now + c.electionBackoff()
	c.s.Mark("kraft.election.backoff")
}

// stand starts the next election: with pre-vote, by asking for pre-votes.
func (c *Client) stand() {
	if c.cfg.PreVote {
		c.toProspective()
	} else {
		c.toCandidate()
	}
}

// maybeTransition follows what a request or response says of the epoch and
// its leader: a higher epoch is entered, a leader learnt. It reports
// whether the replica changed state.
func (c *Client) maybeTransition(leader, epoch int32) bool {
	if epoch == c.epoch && leader >= 0 && c.leader >= 0 && leader != c.leader {
		c.s.Fail("kraft.election-safety", fmt.Errorf("node %d: epoch %d has two leaders, %d and %d", c.id, epoch, c.leader, leader))
		return false
	}
	switch {
	case epoch > c.epoch:
		if leader >= 0 && leader != c.id {
			c.toFollower(epoch, leader)
		} else {
			c.toUnattached(epoch)
		}
		return true
	case epoch == c.epoch && leader >= 0 && c.leader < 0 && leader != c.id:
		c.toFollower(epoch, leader)
		return true
	}
	return false
}

// commonResponse handles what every response says of epochs and leaders, as
// Kafka's maybeHandleCommonResponse. handled means the response needs no
// more handling; ok whether the request succeeded.
func (c *Client) commonResponse(code protocol.ErrorCode, leader, epoch int32) (handled, ok bool) {
	switch {
	case epoch < c.epoch || code == protocol.UnknownLeaderEpoch:
		return true, true // we know a newer epoch; retry in it
	case epoch > c.epoch || code == protocol.FencedLeaderEpoch || code == protocol.NotLeaderOrFollower:
		return true, c.maybeTransition(leader, epoch)
	case leader >= 0 && c.leader < 0 && leader != c.id:
		c.toFollower(epoch, leader)
		return code != protocol.None, true
	}
	return false, false
}

// Role duties.

func (c *Client) pollUnattached(now time.Duration) time.Duration {
	if c.observer {
		c.fetchAnyVoter(now)
		return never // the connections' deadlines drive the next attempt
	}
	if now >= c.deadline {
		c.stand()
		return now
	}
	c.fetchAnyVoter(now)
	return c.deadline
}

func (c *Client) pollProspective(now time.Duration) time.Duration {
	if c.granted() >= c.majority() {
		c.s.Mark("kraft.prevote.won")
		c.toCandidate()
		return now
	}
	if c.voteRejected() || now >= c.deadline {
		// Lost: back to the leader it knew, or to waiting.
		c.s.Mark("kraft.prevote.lost")
		if c.leader >= 0 {
			c.toFollower(c.epoch, c.leader)
		} else {
			c.toUnattached(c.epoch)
		}
		return now
	}
	c.sendVotes(now, true)
	return c.deadline
}

func (c *Client) pollCandidate(now time.Duration) time.Duration {
	switch {
	case c.backingOff:
		if now >= c.deadline {
			c.stand()
			return now
		}
	case now >= c.deadline:
		c.s.Mark("kraft.election.timed-out")
		c.startBackoff(now)
	default:
		c.sendVotes(now, false)
	}
	return c.deadline
}

func (c *Client) pollFollower(now time.Duration) time.Duration {
	leaderNode := c.voterNode[c.leader]
	if !c.observer {
		if now >= c.deadline {
			c.s.Mark("kraft.follower.fetch-timeout")
			c.stand()
			return now
		}
		c.maybeFetch(leaderNode, now)
		return c.deadline
	}
	// An observer that cannot reach the leader asks any voter, to learn
	// of a newer epoch.
	if now >= c.deadline || c.backingOffTo(leaderNode, now) {
		c.fetchAnyVoter(now)
	} else if !c.anyInflight() {
		c.maybeFetch(leaderNode, now)
	}
	if now >= c.deadline {
		return never // the connections' deadlines drive the next attempt
	}
	return c.deadline
}

func (c *Client) pollResigned(now time.Duration) time.Duration {
	for _, v := range c.unacked {
		to := c.voterNode[v]
		if c.ready(to, now) {
			m := &EndQuorumEpoch{LeaderID: c.id, LeaderEpoch: c.epoch, PreferredSuccessors: c.successors}
			m.CorrelationID = c.request(to, now)
			c.send(to, m)
		}
	}
	if now >= c.deadline {
		if c.cfg.PreVote {
			c.toUnattached(c.epoch + 1)
		} else {
			c.toCandidate()
		}
		return now
	}
	return c.deadline
}

// sendVotes asks every voter that has not answered, while the election can
// still be won.
func (c *Client) sendVotes(now time.Duration, preVote bool) {
	if c.voteRejected() {
		return
	}
	for _, v := range c.voters {
		if _, answered := c.votes[v]; answered {
			continue
		}
		to := c.voterNode[v]
		if !c.ready(to, now) {
			continue
		}
		m := &Vote{ReplicaID: c.id, ReplicaEpoch: c.epoch, LastOffsetEpoch: c.log.LastEpoch(), LastOffset: c.log.EndOffset(), PreVote: preVote}
		m.CorrelationID = c.request(to, now)
		c.send(to, m)
	}
}

// Vote.

func (c *Client) onVote(from sim.NodeID, req *Vote) {
	resp := &VoteResponse{CorrelationID: req.CorrelationID, PreVote: req.PreVote}
	lastEpochInvalid := req.LastOffsetEpoch >= req.ReplicaEpoch
	if req.PreVote {
		lastEpochInvalid = req.LastOffsetEpoch > req.ReplicaEpoch
	}
	switch {
	case req.LastOffset < 0 || req.LastOffsetEpoch < 0 || lastEpochInvalid:
		resp.ErrorCode = protocol.InvalidRequest
	case req.ReplicaEpoch < c.epoch:
		resp.ErrorCode = protocol.FencedLeaderEpoch
	case c.observer || !c.isVoter(req.ReplicaID):
		resp.ErrorCode = protocol.InconsistentVoterSet
	default:
		if req.ReplicaEpoch > c.epoch {
			c.toUnattached(req.ReplicaEpoch)
			if c.err != nil {
				return
			}
		}
		cmp := compareLogs(req.LastOffsetEpoch, req.LastOffset, c.log.LastEpoch(), c.log.EndOffset())
		granted := c.canGrant(req.ReplicaID, cmp >= 0, req.PreVote)
		c.markVote(req, granted, cmp)
		if granted && !req.PreVote && c.voted < 0 && (c.role == Unattached || c.role == Prospective) {
			c.toVoted(req.ReplicaID)
			if c.err != nil {
				return
			}
		}
		resp.VoteGranted = granted
	}
	resp.LeaderID, resp.LeaderEpoch = c.leaderOrNone(), c.epoch
	c.send(from, resp)
}

// compareLogs orders logs by (last epoch, end offset), as Raft's "at least
// as up to date".
func compareLogs(epochA int32, endA int64, epochB int32, endB int64) int {
	switch {
	case epochA != epochB:
		return int(epochA) - int(epochB)
	case endA < endB:
		return -1
	case endA > endB:
		return 1
	}
	return 0
}

// canGrant decides a vote or pre-vote, as Kafka's EpochState.canGrantVote
// does in each state.
func (c *Client) canGrant(candidate int32, upToDate, preVote bool) bool {
	switch c.role {
	case Leader, Resigned:
		return false
	case Candidate:
		return preVote && upToDate
	case Follower:
		// A follower that has heard from its leader in this epoch refuses
		// pre-votes: the leader is alive as far as it can tell.
		return preVote && !c.fetched && upToDate
	}
	if preVote {
		return upToDate
	}
	if c.voted >= 0 {
		return c.voted == candidate
	}
	if c.leader >= 0 {
		return false
	}
	return upToDate
}

func (c *Client) markVote(req *Vote, granted bool, cmp int) {
	kind := "vote"
	if req.PreVote {
		kind = "prevote"
	}
	switch {
	case granted && cmp > 0:
		c.s.Mark("kraft." + kind + ".granted.longer-log")
	case granted:
		c.s.Mark("kraft." + kind + ".granted")
	case cmp < 0:
		c.s.Mark("kraft." + kind + ".rejected.log-behind")
	case c.role == Follower && req.PreVote:
		c.s.Mark("kraft.prevote.rejected.leader-alive")
	case c.voted >= 0 && c.voted != req.ReplicaID:
		c.s.Mark("kraft." + kind + ".rejected.already-voted")
	default:
		c.s.Mark("kraft." + kind + ".rejected")
	}
}

func (c *Client) onVoteResponse(from sim.NodeID, resp *VoteResponse) {
	if !c.expect(from, resp.CorrelationID) {
		return
	}
	if handled, ok := c.commonResponse(resp.ErrorCode, resp.LeaderID, resp.LeaderEpoch); handled {
		c.settle(from, ok)
		return
	}
	if resp.ErrorCode != protocol.None {
		c.settle(from, false)
		return
	}
	voter, ok := c.nodeVoter[from]
	if !ok {
		c.settle(from, false)
		return
	}
	c.settle(from, true)
	switch {
	case c.role == Candidate && !resp.PreVote:
		c.votes[voter] = resp.VoteGranted
		if resp.VoteGranted {
			c.maybeWin()
		} else if c.voteRejected() && !c.backingOff {
			c.s.Mark("kraft.election.lost")
			c.startBackoff(c.now())
		}
	case c.role == Prospective && resp.PreVote:
		c.votes[voter] = resp.VoteGranted
		if !resp.VoteGranted {
			c.s.Mark("kraft.prevote.rejected")
		}
	}
}

// BeginQuorumEpoch and EndQuorumEpoch.

func (c *Client) onBeginQuorumEpoch(from sim.NodeID, req *BeginQuorumEpoch) {
	resp := &BeginQuorumEpochResponse{CorrelationID: req.CorrelationID}
	switch {
	case req.LeaderEpoch < c.epoch:
		resp.ErrorCode = protocol.FencedLeaderEpoch
	case !c.isVoter(req.LeaderID):
		resp.ErrorCode = protocol.InconsistentVoterSet
	default:
		c.maybeTransition(req.LeaderID, req.LeaderEpoch)
	}
	if c.err != nil {
		return
	}
	resp.LeaderID, resp.LeaderEpoch = c.leaderOrNone(), c.epoch
	c.send(from, resp)
}

func (c *Client) onBeginQuorumEpochResponse(from sim.NodeID, resp *BeginQuorumEpochResponse) {
	if !c.expect(from, resp.CorrelationID) {
		return
	}
	if handled, ok := c.commonResponse(resp.ErrorCode, resp.LeaderID, resp.LeaderEpoch); handled {
		c.settle(from, ok)
		return
	}
	c.settle(from, resp.ErrorCode == protocol.None)
	if resp.ErrorCode == protocol.None && c.role == Leader {
		if v, ok := c.nodeVoter[from]; ok {
			c.lead.acked[v] = true
		}
	}
}

func (c *Client) onEndQuorumEpoch(from sim.NodeID, req *EndQuorumEpoch) {
	resp := &EndQuorumEpochResponse{CorrelationID: req.CorrelationID}
	switch {
	case req.LeaderEpoch < c.epoch:
		resp.ErrorCode = protocol.FencedLeaderEpoch
	case !c.isVoter(req.LeaderID):
		resp.ErrorCode = protocol.InconsistentVoterSet
	default:
		c.maybeTransition(req.LeaderID, req.LeaderEpoch)
		if c.err != nil {
			return
		}
		if c.role == Follower && c.leader == req.LeaderID {
			// The leader is gone: stand after a wait that lets the most
			// caught-up successor go first.
			c.deadline = c.now() + c.endEpochBackoff(req.PreferredSuccessors)
			c.s.Mark("kraft.end-quorum-epoch.received")
		}
	}
	resp.LeaderID, resp.LeaderEpoch = c.leaderOrNone(), c.epoch
	c.send(from, resp)
}

// endEpochBackoff is Kafka's strict exponential wait by position among the
// preferred successors: the first stands at once, the others wait longer
// and longer, and a voter not listed waits the longest.
func (c *Client) endEpochBackoff(successors []int32) time.Duration {
	pos := slices.Index(successors, c.id)
	n := len(successors)
	maxWait := c.cfg.ElectionBackoffMax
	switch {
	case pos == 0 || n == 0: // first, or no preference (a restarted leader)
		return 0
	case pos < 0:
		return maxWait
	}
	base := maxWait >> (n - 1)
	return min(maxWait, base<<(pos-1))
}

func (c *Client) onEndQuorumEpochResponse(from sim.NodeID, resp *EndQuorumEpochResponse) {
	if !c.expect(from, resp.CorrelationID) {
		return
	}
	if handled, ok := c.commonResponse(resp.ErrorCode, resp.LeaderID, resp.LeaderEpoch); handled {
		c.settle(from, ok)
		return
	}
	c.settle(from, resp.ErrorCode == protocol.None)
	if resp.ErrorCode == protocol.None && c.role == Resigned {
		if v, ok := c.nodeVoter[from]; ok {
			c.unacked = slices.DeleteFunc(c.unacked, func(x int32) bool { return x == v })
		}
	}
}
