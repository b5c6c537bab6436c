package kraft

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// leader is the state of an epoch's leader (Kafka's LeaderState).
type leader struct {
	epochStart int64
	granting   []int32
	voters     map[int32]*progress
	observers  map[int32]*progress
	acked      map[int32]bool // voters that acknowledged the epoch (BeginQuorumEpoch or Fetch)

	// Check-quorum: the voters that fetched since the timer was last reset;
	// once they and the leader make a majority, the timer restarts.
	fetched       map[int32]bool
	checkDeadline time.Duration
	beginDeadline time.Duration

	parked []*parkedFetch

	// The linger accumulator: records appended but not yet written.
	pending        [][]byte
	pendingBytes   int
	lingerDeadline time.Duration

	resign bool
}

// progress is what the leader knows of a replica.
type progress struct {
	end       int64 // its log end offset, from its last valid Fetch; -1 unknown
	lastFetch time.Duration
}

type parkedFetch struct {
	from     sim.NodeID
	req      *Fetch
	deadline time.Duration
}

// ReplicaProgress is the leader's view of one replica, as Kafka's
// DescribeQuorum reports it.
type ReplicaProgress struct {
	ID        int32
	Voter     bool
	EndOffset int64         // -1 until the replica fetched in this epoch
	LastFetch time.Duration // local time of its last valid Fetch; -1 if none
}

// Progress returns, on the leader, what it knows of every replica (voters
// first, then observers, each by id); nil elsewhere.
func (c *Client) Progress() []ReplicaProgress {
	l := c.lead
	if l == nil {
		return nil
	}
	var out []ReplicaProgress
	add := func(m map[int32]*progress, voter bool) {
		var part []ReplicaProgress
		for id, p := range m {
			part = append(part, ReplicaProgress{ID: id, Voter: voter, EndOffset: p.end, LastFetch: p.lastFetch})
		}
		slices.SortFunc(part, func(a, b ReplicaProgress) int { return cmp.Compare(a.ID, b.ID) })
		out = append(out, part...)
	}
	add(l.voters, true)
	add(l.observers, false)
	return out
}

// toLeader takes the epoch it won: it persists its election, writes the
// LeaderChange control record at the start of its epoch (it can commit only
// once a majority holds an entry of its own epoch), and announces itself
// with BeginQuorumEpoch.
func (c *Client) toLeader() {
	granting := make([]int32, 0, len(c.votes))
	for _, v := range c.voters {
		if c.votes[v] {
			granting = append(granting, v)
		}
	}
	c.set(Leader, c.epoch, c.id, c.voted, true)
	if c.err != nil {
		return
	}
	now := c.now()
	l := &leader{
		epochStart:    c.log.EndOffset(),
		granting:      granting,
		voters:        make(map[int32]*progress, len(c.voters)),
		observers:     make(map[int32]*progress),
		acked:         map[int32]bool{c.id: true},
		fetched:       make(map[int32]bool),
		checkDeadline: now + c.cfg.FetchTimeout*3/2,
		beginDeadline: now,
	}
	for _, v := range c.voters {
		l.voters[v] = &progress{end: -1, lastFetch: -1}
	}
	c.lead = l
	c.hwm = -1 // a new leader does not carry the high-water mark over: it must stay monotonic
	c.s.Mark("kraft.leader.elected")
	b := (&Batch{BaseOffset: c.log.EndOffset(), Epoch: c.epoch, LeaderChange: &LeaderChange{
		LeaderID: c.id, Voters: slices.Clone(c.voters), GrantingVoters: granting,
	}}).finish()
	c.appendAsLeader(b, now)
}

// abdicate ends a leadership: waiting fetches are answered with
// NOT_LEADER_OR_FOLLOWER and lingering records are dropped (their Append
// will never commit in this epoch).
func (c *Client) abdicate() {
	l := c.lead
	for _, p := range l.parked {
		c.send(p.from, &FetchResponse{
			CorrelationID: p.req.CorrelationID, ErrorCode: protocol.NotLeaderOrFollower,
			LeaderID: c.leader, LeaderEpoch: c.epoch, HighWatermark: -1, DivergingEpoch: EpochEndOffset{-1, -1},
		})
	}
	l.parked = nil
	if len(l.pending) > 0 {
		c.s.Mark("kraft.leader.pending-dropped")
	}
	l.pending = nil
}

func (c *Client) pollLeader(now time.Duration) time.Duration {
	l := c.lead
	checking := c.cfg.CheckQuorum && len(c.voters) > 1
	if checking && now >= l.checkDeadline {
		// No Fetch from a majority for 1.5×fetch timeout: the leader may be
		// cut off from the quorum, so it resigns rather than lead alone.
		c.s.Mark("kraft.leader.resigned.check-quorum")
		c.toResigned(c.successorsByProgress())
		return now
	}
	if l.resign {
		c.s.Mark("kraft.leader.resigned.graceful")
		c.toResigned(c.successorsByProgress())
		return now
	}
	next := never
	if len(l.pending) > 0 {
		if now >= l.lingerDeadline {
			c.drain(now)
			if c.err != nil || c.lead != l {
				return now
			}
		} else {
			next = l.lingerDeadline
		}
	}
	if now >= l.beginDeadline {
		for _, v := range c.voters {
			to := c.voterNode[v]
			if l.acked[v] || !c.ready(to, now) {
				continue
			}
			m := &BeginQuorumEpoch{LeaderID: c.id, LeaderEpoch: c.epoch}
			m.CorrelationID = c.request(to, now)
			c.send(to, m)
		}
		l.beginDeadline = now + c.cfg.FetchTimeout/2
	}
	next = min(next, l.beginDeadline)
	if checking {
		next = min(next, l.checkDeadline)
	}
	c.wakeParked(now, func(p *parkedFetch) bool { return now >= p.deadline })
	for _, p := range l.parked {
		next = min(next, p.deadline)
	}
	return next
}

// successorsByProgress lists the other voters, most caught up first.
func (c *Client) successorsByProgress() []int32 {
	others := c.otherVoters()
	slices.SortStableFunc(others, func(a, b int32) int {
		return cmp.Compare(c.lead.voters[b].end, c.lead.voters[a].end)
	})
	return others
}

// Append appends records to the log as one batch, on the leader, and
// returns the offset the last of them will have. The records commit once a
// majority of the voters holds them; the listener is then handed their
// batch. Records are copied. With Config.AppendLinger, records appended
// within the linger time share one batch, written and flushed when it
// ends. Elsewhere than on the leader, Append fails with ErrNotLeader.
func (c *Client) Append(records [][]byte) (int64, error) {
	if c.err != nil {
		return -1, c.err
	}
	if c.role != Leader {
		return -1, fmt.Errorf("%w: node %d is %s in epoch %d (leader %d)", ErrNotLeader, c.id, c.role, c.epoch, c.leader)
	}
	if len(records) == 0 {
		return -1, fmt.Errorf("kraft: append of no records: give at least one")
	}
	size := 0
	for _, r := range records {
		size += len(r)
	}
	if size > c.cfg.MaxBatchBytes {
		return -1, fmt.Errorf("kraft: append of %d record bytes exceeds the batch limit of %d", size, c.cfg.MaxBatchBytes)
	}
	l := c.lead
	waiting := c.log.EndOffset() + int64(len(l.pending)) - max(c.hwm, l.epochStart)
	if waiting+int64(len(records)) > int64(c.cfg.MaxUncommitted) {
		c.s.Mark("kraft.append.backlog-full")
		return -1, fmt.Errorf("%w: %d records wait and %d more would pass the limit of %d", ErrUncommittedBacklog, waiting, len(records), c.cfg.MaxUncommitted)
	}
	now := c.now()
	if l.pendingBytes+size > c.cfg.MaxBatchBytes {
		c.drain(now)
		if c.err != nil {
			return -1, c.err
		}
	}
	if len(l.pending) == 0 {
		l.lingerDeadline = now + c.cfg.AppendLinger
	}
	buf := make([]byte, 0, size)
	for _, r := range records {
		start := len(buf)
		buf = append(buf, r...)
		l.pending = append(l.pending, buf[start:len(buf):len(buf)])
	}
	l.pendingBytes += size
	last := c.log.EndOffset() + int64(len(l.pending)) - 1
	if c.cfg.AppendLinger == 0 {
		c.drain(now)
		if c.err != nil {
			return -1, c.err
		}
	}
	c.poll()
	return last, nil
}

// drain writes the lingering records as one batch.
func (c *Client) drain(now time.Duration) {
	l := c.lead
	if len(l.pending) == 0 {
		return
	}
	b := (&Batch{BaseOffset: c.log.EndOffset(), Epoch: c.epoch, Records: l.pending}).finish()
	l.pending, l.pendingBytes = nil, 0
	c.appendAsLeader(b, now)
}

// appendAsLeader writes a batch and flushes it before counting it towards
// the high-water mark, then wakes the fetches waiting for it.
func (c *Client) appendAsLeader(b *Batch, now time.Duration) {
	if err := c.log.append(b); err != nil {
		c.fatal(err)
		return
	}
	if !c.cfg.LeaderRestartsAsLeader {
		if err := c.log.flush(); err != nil {
			c.fatal(err)
			return
		}
	}
	c.changes++
	c.trace("kraft.append", b.Digest(), b.String)
	l := c.lead
	l.voters[c.id].end = c.log.EndOffset()
	c.maybeAdvanceHWM()
	end := c.log.EndOffset()
	c.wakeParked(now, func(p *parkedFetch) bool { return p.req.FetchOffset < end })
}

// maybeAdvanceHWM moves the high-water mark to the largest offset a
// majority of the voters holds, but only past the start of the leader's
// epoch: a leader commits entries of earlier epochs only by committing one
// of its own.
func (c *Client) maybeAdvanceHWM() {
	l := c.lead
	ends := make([]int64, 0, len(c.voters))
	for _, v := range c.voters {
		ends = append(ends, l.voters[v].end)
	}
	slices.SortFunc(ends, func(a, b int64) int { return cmp.Compare(b, a) })
	hw := ends[len(c.voters)/2]
	switch {
	case hw <= l.epochStart:
		if hw > c.hwm && hw > 0 {
			c.s.Mark("kraft.hwm.held-for-own-epoch")
		}
	case hw > c.hwm:
		c.hwm = hw
		if c.cfg.HighWatermarkInFetch {
			c.wakeParked(c.now(), func(p *parkedFetch) bool { return p.req.HighWatermark < hw })
		}
	case hw < c.hwm:
		// A voter reported less than it had acknowledged: it lost data it
		// had flushed (a replaced disk). The high-water mark never moves
		// back.
		c.s.Mark("kraft.hwm.majority-behind")
	}
}

// wakeParked answers the waiting fetches that due selects.
func (c *Client) wakeParked(now time.Duration, due func(*parkedFetch) bool) {
	l := c.lead
	if l == nil || len(l.parked) == 0 {
		return
	}
	var ready []*parkedFetch
	keep := l.parked[:0]
	for _, p := range l.parked {
		if due(p) {
			ready = append(ready, p)
		} else {
			keep = append(keep, p)
		}
	}
	clear(l.parked[len(keep):])
	l.parked = keep
	for _, p := range ready {
		if c.lead != l {
			return
		}
		resp, _ := c.completeFetch(p.req, now)
		c.send(p.from, resp)
	}
}

// Fetch, on the leader.

func (c *Client) onFetch(from sim.NodeID, req *Fetch) {
	if req.MaxWait < 0 || req.FetchOffset < 0 || req.LastFetchedEpoch < 0 || req.LastFetchedEpoch > req.CurrentLeaderEpoch {
		c.send(from, &FetchResponse{
			CorrelationID: req.CorrelationID, ErrorCode: protocol.InvalidRequest,
			LeaderID: c.leaderOrNone(), LeaderEpoch: c.epoch, HighWatermark: -1, DivergingEpoch: EpochEndOffset{-1, -1},
		})
		return
	}
	now := c.now()
	resp, park := c.completeFetch(req, now)
	if park {
		c.lead.parked = append(c.lead.parked, &parkedFetch{from: from, req: req, deadline: now + req.MaxWait})
		return
	}
	c.send(from, resp)
}

// completeFetch answers a fetch as the leader's log stands, and reports
// whether it may wait for more (nothing to send yet).
func (c *Client) completeFetch(req *Fetch, now time.Duration) (*FetchResponse, bool) {
	resp := &FetchResponse{
		CorrelationID: req.CorrelationID, LeaderID: c.leaderOrNone(), LeaderEpoch: c.epoch,
		HighWatermark: -1, DivergingEpoch: EpochEndOffset{-1, -1},
	}
	switch {
	case req.CurrentLeaderEpoch < c.epoch:
		resp.ErrorCode = protocol.FencedLeaderEpoch
		c.s.Mark("kraft.fetch.fenced-leader-epoch")
		return resp, false
	case req.CurrentLeaderEpoch > c.epoch:
		resp.ErrorCode = protocol.UnknownLeaderEpoch
		c.s.Mark("kraft.fetch.unknown-leader-epoch")
		return resp, false
	case c.role != Leader:
		resp.ErrorCode = protocol.NotLeaderOrFollower
		c.s.Mark("kraft.fetch.not-leader")
		return resp, false
	}
	valid, div := c.log.validate(req.FetchOffset, req.LastFetchedEpoch)
	if !valid {
		resp.DivergingEpoch = div
		resp.HighWatermark = c.hwm
		c.s.Mark("kraft.fetch.diverging-epoch")
		return resp, false
	}
	resp.Batches = c.log.read(req.FetchOffset, c.cfg.MaxBatchBytes)
	c.updateReplica(req.ReplicaID, req.FetchOffset, now)
	resp.HighWatermark = c.hwm
	park := len(resp.Batches) == 0 && req.MaxWait > 0 &&
		!(c.cfg.HighWatermarkInFetch && c.hwm >= 0 && req.HighWatermark < c.hwm)
	return resp, park
}

// updateReplica records a valid fetch: the replica holds everything below
// its fetch offset.
func (c *Client) updateReplica(id int32, offset int64, now time.Duration) {
	l := c.lead
	if id < 0 || id == c.id {
		return
	}
	p, voter := l.voters[id]
	if !voter {
		if p = l.observers[id]; p == nil {
			p = &progress{}
			l.observers[id] = p
		}
		p.end, p.lastFetch = offset, now
		return
	}
	p.end, p.lastFetch = offset, now
	l.acked[id] = true
	l.fetched[id] = true
	if len(l.fetched) >= c.majority()-1 {
		clear(l.fetched)
		l.checkDeadline = now + c.cfg.FetchTimeout*3/2
	}
	c.maybeAdvanceHWM()
}

// Fetch, on followers and observers.

func (c *Client) fetchRequest() *Fetch {
	return &Fetch{
		ReplicaID: c.id, CurrentLeaderEpoch: c.epoch, FetchOffset: c.log.EndOffset(),
		LastFetchedEpoch: c.log.LastEpoch(), MaxWait: c.cfg.FetchMaxWait, HighWatermark: c.hwm,
	}
}

func (c *Client) maybeFetch(to sim.NodeID, now time.Duration) {
	if !c.ready(to, now) {
		return
	}
	m := c.fetchRequest()
	m.CorrelationID = c.request(to, now)
	c.send(to, m)
}

// fetchAnyVoter sends a Fetch to the next voter that can take one, to learn
// who leads (Kafka's fetch to the bootstrap servers). One at a time.
func (c *Client) fetchAnyVoter(now time.Duration) {
	if c.anyInflight() {
		return
	}
	for range c.voters {
		v := c.voters[c.rotor%len(c.voters)]
		c.rotor++
		if v == c.id {
			continue
		}
		if to := c.voterNode[v]; c.ready(to, now) {
			c.maybeFetch(to, now)
			return
		}
	}
}

func (c *Client) onFetchResponse(from sim.NodeID, resp *FetchResponse) {
	if !c.expect(from, resp.CorrelationID) {
		return
	}
	if handled, ok := c.commonResponse(resp.ErrorCode, resp.LeaderID, resp.LeaderEpoch); handled {
		c.settle(from, ok)
		return
	}
	if c.role != Follower || resp.ErrorCode != protocol.None || c.voterNode[c.leader] != from {
		c.settle(from, false)
		return
	}
	if resp.DivergingEpoch.Epoch >= 0 {
		if !c.truncate(resp.DivergingEpoch) {
			return
		}
	} else if !c.appendAsFollower(resp) {
		c.settle(from, false)
		return
	}
	if c.err != nil {
		return
	}
	c.fetched = true
	c.deadline = c.now() + c.cfg.FetchTimeout
	c.fetchOKAt, c.fetchOKLeader, c.fetchOKEpoch = c.s.Now(), c.leader, c.epoch
	c.changes++
	c.settle(from, true)
}

// truncate removes the follower's divergent suffix; it never goes below the
// high-water mark, which would lose committed entries.
func (c *Client) truncate(d EpochEndOffset) bool {
	off := c.log.divergenceOffset(d)
	if c.hwm >= 0 && off < c.hwm {
		c.s.Fail("kraft.committed-truncation", fmt.Errorf("node %d: the leader asks for truncation to offset %d (diverging epoch %d), below the high-water mark %d", c.id, off, d.Epoch, c.hwm))
		return false
	}
	before := c.log.EndOffset()
	removed, err := c.log.truncateTo(off)
	if err == nil && removed > 0 && !c.observer {
		err = c.log.flush()
	}
	if err != nil {
		c.fatal(err)
		return false
	}
	if removed > 0 {
		c.changes++
		c.s.Mark("kraft.truncate.diverging-epoch")
		c.trace("kraft.truncate", sim.Digest(uint64(before), uint64(c.log.EndOffset())), func() string {
			return fmt.Sprintf("diverging epoch %d ends at %d: log truncated from %d to %d", d.Epoch, d.EndOffset, before, c.log.EndOffset())
		})
	}
	return true
}

// appendAsFollower appends fetched batches (voters flush them before their
// next Fetch acknowledges them; observers do not, as Kafka's brokers) and
// takes the leader's high-water mark, bounded by the local log.
func (c *Client) appendAsFollower(resp *FetchResponse) bool {
	if len(resp.Batches) > 0 && resp.Batches[0].BaseOffset != c.log.EndOffset() {
		return false
	}
	for _, b := range resp.Batches {
		if err := c.log.append(b); err != nil {
			c.fatal(err)
			return false
		}
	}
	if len(resp.Batches) > 0 && !c.observer {
		if err := c.log.flush(); err != nil {
			c.fatal(err)
			return false
		}
	}
	if resp.HighWatermark >= 0 {
		hw := min(resp.HighWatermark, c.log.EndOffset())
		if hw < c.hwm {
			c.s.Fail("kraft.hwm-monotonic", fmt.Errorf("node %d: the high-water mark would go back from %d to %d (leader %d, epoch %d)", c.id, c.hwm, hw, c.leader, c.epoch))
			return false
		}
		c.hwm = hw
	}
	return true
}
