package kraft

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// DefaultDir is the log directory of the metadata log, as Kafka names the
// partition's directory.
const DefaultDir = "__cluster_metadata-0"

// A Listener is told what the quorum decides. A controller uses it to apply
// the metadata log and to become active or inactive; a broker to apply the
// metadata log and to learn the active controller. Calls come from the
// Client's own events, never from inside Append.
type Listener interface {
	// HandleCommit hands over the next committed batch, in offset order,
	// control batches included (their LeaderChange is set). After a
	// restart the listener is handed the whole committed log again, from
	// offset 0, as the replica learns the high-water mark.
	HandleCommit(b *Batch)
	// HandleLeaderChange tells of a new leader or a new epoch; leaderID is
	// NoLeader while an election is under way, and also when this node
	// resigns. When this node wins an election it is told only once it has
	// handed over every batch before the start of its epoch, so that a
	// controller becomes active on a caught-up state.
	HandleLeaderChange(leaderID, epoch int32)
}

// Setup says where a Client runs and whom it talks to.
type Setup struct {
	// Node is the simulated machine; the Client keeps its log and its
	// quorum state on the node's disk and sets timers on its clock.
	Node *sim.Node
	// ID is the replica's node.id. A node whose id is among Voters is a
	// voter (a controller); any other is an observer (a broker).
	ID int32
	// Voters is controller.quorum.voters: every voter's id and the
	// simulated node that runs it.
	Voters map[int32]sim.NodeID
	// Send sends a message to another node, typically
	// net.Send(node.ID(), to, m).
	Send func(to sim.NodeID, m network.Message)
	// Listener is told of commits and leader changes; nil for none.
	Listener Listener
	// Dir is the log directory on the node's disk; DefaultDir if empty.
	Dir string
}

// ErrNotLeader is the error of an Append on a replica that is not the
// leader; it wraps NOT_LEADER_OR_FOLLOWER, so errors.Is matches either.
var ErrNotLeader = fmt.Errorf("kraft: not the quorum leader: %w", protocol.NotLeaderOrFollower)

// ErrUncommittedBacklog is the error of an Append that would leave more
// than Config.MaxUncommitted records waiting for commit.
var ErrUncommittedBacklog = errors.New("kraft: too many records await commit")

// Role is a replica's role in the quorum, as KRaft names its states.
type Role uint8

// The roles. An observer is only ever Unattached or Follower.
const (
	// Unattached: the replica knows an epoch but no leader for it; it may
	// have voted in it.
	Unattached Role = iota
	// Prospective: a voter asking for pre-votes (KIP-996) in its epoch.
	Prospective
	// Candidate: a voter asking for votes in a new epoch it started.
	Candidate
	// Leader: the voter elected for the epoch.
	Leader
	// Follower: the replica knows the epoch's leader and fetches from it.
	Follower
	// Resigned: a leader that gave up its epoch (graceful resignation,
	// check-quorum, or a restart of the leader), waiting for the next.
	Resigned
)

// String formats the Role for traces and scripts.
func (r Role) String() string {
	switch r {
	case Unattached:
		return "unattached"
	case Prospective:
		return "prospective"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	case Follower:
		return "follower"
	case Resigned:
		return "resigned"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

const never = time.Duration(math.MaxInt64)

// retryBackoffBase is the unit of the binary exponential backoff between
// lost elections (KafkaRaftClient's RETRY_BACKOFF_BASE_MS).
const retryBackoffBase = 100 * time.Millisecond

type connState uint8

const (
	connReady connState = iota
	connInflight
	connBackoff
)

// conn is the request state towards one peer: Kafka's RequestManager keeps
// at most one request in flight per destination and backs off after a
// failure.
type conn struct {
	state connState
	corr  int32
	until time.Duration // request deadline, or end of backoff
}

// Client is one replica of the KRaft metadata quorum: Kafka's
// KafkaRaftClient as a component that a controller (voter) or a broker
// (observer) process embeds. It is driven by the process: hand it every
// message with Receive and every broken connection with Disconnected; it
// sets its own timers on the node.
type Client struct {
	cfg       Config
	node      *sim.Node
	s         *sim.Sim
	id        int32
	dir       string
	voters    []int32
	voterNode map[int32]sim.NodeID
	nodeVoter map[sim.NodeID]int32
	observer  bool
	send      func(sim.NodeID, network.Message)
	listener  Listener
	log       *Log

	role   Role
	epoch  int32
	leader int32
	voted  int32
	hwm    int64

	deadline   time.Duration // the role's timer: election, fetch or backoff
	retries    int
	votes      map[int32]bool // the current election's answers: true granted
	backingOff bool
	fetched    bool // a follower has fetched from its leader in this epoch
	lead       *leader
	unacked    []int32 // resigned: voters that have not acknowledged EndQuorumEpoch
	successors []int32

	conns []conn
	corr  int32
	rotor int

	applied     int64 // the listener has been handed every batch below it
	fired       bool
	firedLeader int32
	firedEpoch  int32
	delivering  bool

	wake    sim.Timer
	wakeAt  time.Duration
	wakeFn  func()
	polling bool
	repoll  bool

	err error

	// What the checkers read (Observed): a counter of changes, and the
	// last successful Fetch, in the simulation's time, with the leader
	// and epoch that answered it.
	changes       uint64
	fetchOKAt     time.Duration
	fetchOKLeader int32
	fetchOKEpoch  int32
}

// New recovers a replica from its node's disk and starts it. The log is
// recovered (a torn tail truncated) and the quorum state read back: a
// replica that led its epoch comes back resigned, one that stood as
// candidate comes back a candidate, and one whose quorum-state file lags
// its log comes back unattached in the log's epoch, as Kafka's
// QuorumState.initialize does. The first listener call and the first
// message are sent from a timer that fires at once, after New returns.
func New(cfg Config, s Setup) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("kraft config: %w", err)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	c := &Client{
		cfg:       cfg,
		node:      s.Node,
		s:         s.Node.Sim(),
		id:        s.ID,
		dir:       s.Dir,
		voters:    slices.Sorted(maps.Keys(s.Voters)),
		voterNode: maps.Clone(s.Voters),
		nodeVoter: make(map[sim.NodeID]int32, len(s.Voters)),
		send:      s.Send,
		listener:  s.Listener,
		leader:    NoLeader,
		voted:     NoLeader,
		hwm:       -1,
		deadline:  never,

		fetchOKAt:     -1,
		fetchOKLeader: NoLeader,
		fetchOKEpoch:  -1,
	}
	if c.dir == "" {
		c.dir = DefaultDir
	}
	for id, n := range s.Voters {
		c.nodeVoter[n] = id
	}
	_, c.observer = s.Voters[s.ID]
	c.observer = !c.observer
	c.wakeFn = c.onWake
	c.rotor = c.node.Rand().IntN(len(c.voters))

	disk := c.node.Disk()
	log, torn, err := openLog(disk, c.dir)
	if err != nil {
		return nil, fmt.Errorf("kraft: node %d cannot open its metadata log: %w", c.id, err)
	}
	c.log = log
	if torn > 0 {
		c.s.Mark("kraft.recovery.torn-tail")
		c.trace("kraft.recover", sim.Digest(uint64(torn), uint64(log.EndOffset())), func() string {
			return fmt.Sprintf("truncated a torn tail of %d bytes; log end offset %d", torn, log.EndOffset())
		})
	}
	st, fileVoters, found, err := readState(disk, c.dir)
	if err != nil {
		if !errors.Is(err, errBadState) {
			return nil, fmt.Errorf("kraft: node %d cannot read its quorum state: %w", c.id, err)
		}
		// As Kafka: an unreadable state file is cleared and the replica
		// starts from epoch 0 (the log's epoch rule below still applies).
		c.s.Mark("kraft.recovery.quorum-state-cleared")
		st, found = election{Leader: NoLeader, Voted: NoLeader}, false
	}
	if found && len(fileVoters) > 0 && !slices.Equal(fileVoters, c.voters) {
		return nil, fmt.Errorf("kraft: node %d: controller.quorum.voters %v differs from the voters %v in its quorum-state file: wipe the file or fix the configuration", c.id, c.voters, fileVoters)
	}
	c.epoch, c.leader, c.voted = st.Epoch, st.Leader, st.Voted
	now := c.now()
	switch {
	case st.Epoch < log.LastEpoch():
		c.s.Mark("kraft.recovery.state-behind-log")
		c.set(Unattached, log.LastEpoch(), NoLeader, NoLeader, true)
		c.deadline = c.electionDeadline(now)
	case !c.observer && st.Leader == c.id && c.cfg.LeaderRestartsAsLeader:
		// Before KAFKA-10527: the leader resumes its epoch, whatever it
		// lost of its log.
		c.s.Mark("kraft.recovery.leader-resumed")
		c.votes = map[int32]bool{c.id: true}
		c.toLeader()
	case !c.observer && st.Leader == c.id:
		// A leader comes back resigned in its epoch: it must not vote in it
		// again, nor reuse it for records it may have lost.
		c.s.Mark("kraft.recovery.resigned")
		c.set(Resigned, st.Epoch, c.id, st.Voted, true)
		c.unacked = c.otherVoters()
		c.deadline = c.electionDeadline(now)
	case !c.observer && st.Voted == c.id:
		c.set(Candidate, st.Epoch, NoLeader, c.id, true)
		c.retries, c.votes = 1, map[int32]bool{c.id: true}
		c.deadline = c.electionDeadline(now)
	case st.Leader >= 0 && st.Leader != c.id:
		c.set(Follower, st.Epoch, st.Leader, st.Voted, true)
		c.deadline = now + c.cfg.FetchTimeout
	default:
		c.set(Unattached, st.Epoch, NoLeader, st.Voted, true)
		c.deadline = c.electionDeadline(now)
	}
	if c.err != nil {
		return nil, c.err
	}
	c.wakeAt = now
	c.wake = c.node.After(0, "kraft.poll", c.wakeFn)
	return c, nil
}

func (s Setup) validate() error {
	if s.Node == nil {
		return errors.New("kraft setup: Node is nil: give the simulated node the replica runs on")
	}
	if s.Send == nil {
		return errors.New("kraft setup: Send is nil: give a function that sends a message to another node")
	}
	if s.ID < 0 {
		return fmt.Errorf("kraft setup: node id %d is negative: node ids are 0 or more", s.ID)
	}
	if len(s.Voters) == 0 {
		return errors.New("kraft setup: controller.quorum.voters is empty: give at least one voter (1, 3 or 5 are usual)")
	}
	seen := make(map[sim.NodeID]int32, len(s.Voters))
	for _, id := range slices.Sorted(maps.Keys(s.Voters)) {
		n := s.Voters[id]
		if id < 0 {
			return fmt.Errorf("kraft setup: voter id %d is negative: node ids are 0 or more", id)
		}
		if s.Node.Sim().NodeByID(n) == nil {
			return fmt.Errorf("kraft setup: voter %d runs on simulated node %d, which does not exist", id, n)
		}
		if other, dup := seen[n]; dup {
			return fmt.Errorf("kraft setup: voters %d and %d both run on simulated node %d: each voter needs its own node", other, id, n)
		}
		seen[n] = id
	}
	if n, ok := s.Voters[s.ID]; ok && n != s.Node.ID() {
		return fmt.Errorf("kraft setup: voter %d is configured on simulated node %d but runs on node %d", s.ID, n, s.Node.ID())
	}
	return nil
}

// ID returns the replica's node id.
func (c *Client) ID() int32 { return c.id }

// Voters returns the voter ids, sorted.
func (c *Client) Voters() []int32 { return slices.Clone(c.voters) }

// Observer reports whether the replica is an observer (not a voter).
func (c *Client) Observer() bool { return c.observer }

// Role returns the replica's role.
func (c *Client) Role() Role { return c.role }

// Epoch returns the latest epoch the replica knows.
func (c *Client) Epoch() int32 { return c.epoch }

// Leader returns the leader of the epoch as the replica knows it, or
// NoLeader. A resigned replica reports itself, as Kafka does, since it led
// the epoch.
func (c *Client) Leader() int32 { return c.leader }

// VotedFor returns whom the replica voted for in its epoch, or NoLeader.
func (c *Client) VotedFor() int32 { return c.voted }

// HighWatermark returns the high-water mark the replica knows (exclusive:
// offsets below it are committed), or -1 while it does not know it. A new
// leader learns it only once a majority holds an entry of its own epoch.
func (c *Client) HighWatermark() int64 { return c.hwm }

// EndOffset returns the log end offset (LEO).
func (c *Client) EndOffset() int64 { return c.log.EndOffset() }

// LastEpoch returns the epoch of the last entry of the log, 0 if empty.
func (c *Client) LastEpoch() int32 { return c.log.LastEpoch() }

// Lingering returns, on the leader, how many appended records wait for the
// end of the linger time to be written; 0 elsewhere.
func (c *Client) Lingering() int {
	if c.lead == nil {
		return 0
	}
	return len(c.lead.pending)
}

// Committed returns the offset up to which the listener has been handed
// the committed log (exclusive).
func (c *Client) Committed() int64 { return c.applied }

// Log returns the replica's log, to read.
func (c *Client) Log() *Log { return c.log }

// Changes counts the changes of the replica's role, epoch, log and
// fetches: what the checkers read of it changes only when it does.
func (c *Client) Changes() uint64 { return c.changes }

// LastFetch returns when, in the simulation's time, the replica last had a
// Fetch answered successfully (-1 if never since it started), and by which
// leader in which epoch.
func (c *Client) LastFetch() (at time.Duration, leader, epoch int32) {
	return c.fetchOKAt, c.fetchOKLeader, c.fetchOKEpoch
}

// Err returns the fatal error that stopped the replica (a failed disk), or
// nil. Kafka halts the process on such an error; a stopped Client ignores
// every message and timer.
func (c *Client) Err() error { return c.err }

// EpochStartOffset returns, on the leader, the offset of the LeaderChange
// record that opened its epoch; -1 elsewhere.
func (c *Client) EpochStartOffset() int64 {
	if c.lead == nil {
		return -1
	}
	return c.lead.epochStart
}

// Resign makes the leader give up its epoch gracefully: it tells the other
// voters with EndQuorumEpoch, most caught-up successor first, so that one of
// them stands at once. Elsewhere it does nothing.
func (c *Client) Resign() {
	if c.err != nil || c.role != Leader {
		return
	}
	c.lead.resign = true
	c.poll()
}

// Disconnected tells the replica that its connection to peer broke; the
// request in flight on it, if any, has failed.
func (c *Client) Disconnected(peer sim.NodeID) {
	if c.err != nil {
		return
	}
	if cn := c.connOf(peer); cn != nil && cn.state == connInflight {
		c.fail(cn, c.now())
	}
	c.poll()
}

// Receive handles a message if it is one of KRaft's, and reports whether it
// was.
func (c *Client) Receive(from sim.NodeID, m network.Message) bool {
	switch m := m.(type) {
	case *Fetch:
		if c.err == nil {
			c.onFetch(from, m)
		}
	case *FetchResponse:
		if c.err == nil {
			c.onFetchResponse(from, m)
		}
	case *Vote:
		if c.err == nil {
			c.onVote(from, m)
		}
	case *VoteResponse:
		if c.err == nil {
			c.onVoteResponse(from, m)
		}
	case *BeginQuorumEpoch:
		if c.err == nil {
			c.onBeginQuorumEpoch(from, m)
		}
	case *BeginQuorumEpochResponse:
		if c.err == nil {
			c.onBeginQuorumEpochResponse(from, m)
		}
	case *EndQuorumEpoch:
		if c.err == nil {
			c.onEndQuorumEpoch(from, m)
		}
	case *EndQuorumEpochResponse:
		if c.err == nil {
			c.onEndQuorumEpochResponse(from, m)
		}
	default:
		return false
	}
	c.poll()
	return true
}

// String summarises the replica: role, epoch, leader, vote, log end offset
// and high-water mark.
func (c *Client) String() string {
	var b strings.Builder
	role := c.role.String()
	if c.observer {
		role += "(observer)"
	}
	fmt.Fprintf(&b, "%d %s epoch=%d leader=%d voted=%d leo=%d hwm=%d", c.id, role, c.epoch, c.leader, c.voted, c.log.EndOffset(), c.hwm)
	return b.String()
}

func (c *Client) now() time.Duration { return c.node.Now() }

func (c *Client) majority() int { return len(c.voters)/2 + 1 }

func (c *Client) isVoter(id int32) bool {
	_, ok := c.voterNode[id]
	return ok
}

func (c *Client) otherVoters() []int32 {
	out := make([]int32, 0, len(c.voters))
	for _, v := range c.voters {
		if v != c.id {
			out = append(out, v)
		}
	}
	return out
}

func (c *Client) leaderOrNone() int32 { return c.leader }

// electionDeadline draws an election timeout from [T, 2T), as Kafka does.
func (c *Client) electionDeadline(now time.Duration) time.Duration {
	t := c.cfg.ElectionTimeout
	return now + t + time.Duration(c.node.Rand().Int64N(int64(t)))
}

// electionBackoff is Kafka's binary exponential backoff after a lost
// election: a random multiple of 100 ms below 2^retries, capped.
func (c *Client) electionBackoff() time.Duration {
	k := min(20, max(c.retries, 1)-1)
	return min(retryBackoffBase*time.Duration(c.node.Rand().IntN(2<<k)), c.cfg.ElectionBackoffMax)
}

// trace emits a record; the detail is built only when a sink reads it.
func (c *Client) trace(kind string, digest uint64, detail func() string) {
	tr := c.s.Trace()
	if tr.Sinking() {
		tr.Emit(c.node, kind, digest, detail())
		return
	}
	tr.Emit(c.node, kind, digest, nil)
}

// fatal stops the replica after a storage error, as Kafka halts.
func (c *Client) fatal(err error) {
	if c.err != nil {
		return
	}
	c.err = fmt.Errorf("kraft: node %d stopped: %w", c.id, err)
	c.s.Mark("kraft.fatal.storage-error")
	c.trace("kraft.fatal", uint64(c.id), func() string { return c.err.Error() })
	c.node.Cancel(c.wake)
}

// poll runs the role's duties (timeouts, requests to send), hands the
// listener what it has not been told, and sets the timer for the next
// duty. Every entry point ends with it, as Kafka's poll loop.
func (c *Client) poll() {
	if c.err != nil {
		return
	}
	if c.polling {
		c.repoll = true
		return
	}
	c.polling = true
	for i := 0; ; i++ {
		if i == 1000 {
			c.s.Fail("kraft.poll", fmt.Errorf("node %d: poll loops without settling in %s", c.id, c))
			break
		}
		c.repoll = false
		next := c.pollOnce()
		c.deliver()
		if c.err != nil {
			break
		}
		if !c.repoll {
			c.schedule(next)
			break
		}
	}
	c.polling = false
}

func (c *Client) onWake() {
	c.wake = sim.Timer{}
	c.poll()
}

func (c *Client) schedule(next time.Duration) {
	if next == never {
		c.node.Cancel(c.wake)
		c.wake = sim.Timer{}
		return
	}
	if c.wakeAt == next && c.s.Scheduled(c.wake) {
		return
	}
	c.node.Cancel(c.wake)
	c.wakeAt = next
	// A drifting clock converts local to global time rounding down, so a
	// timer may fire a few nanoseconds before its local deadline; waiting
	// at least a microsecond keeps a re-armed timer from firing again at
	// the same instant for ever.
	d := next - c.now()
	if d < time.Microsecond {
		d = time.Microsecond
	}
	c.wake = c.node.After(d, "kraft.poll", c.wakeFn)
}

func (c *Client) pollOnce() time.Duration {
	now := c.now()
	c.expireConns(now)
	var d time.Duration
	switch c.role {
	case Leader:
		d = c.pollLeader(now)
	case Candidate:
		d = c.pollCandidate(now)
	case Prospective:
		d = c.pollProspective(now)
	case Follower:
		d = c.pollFollower(now)
	case Unattached:
		d = c.pollUnattached(now)
	case Resigned:
		d = c.pollResigned(now)
	}
	if d <= now {
		// A duty fell due while polling (a zero backoff, a transition):
		// poll again at once.
		c.repoll = true
		d = never
	}
	return min(d, c.connDeadline(now))
}

// Connections (Kafka's RequestManager).

func (c *Client) conn(to sim.NodeID) *conn {
	for int(to) >= len(c.conns) {
		c.conns = append(c.conns, conn{})
	}
	return &c.conns[to]
}

func (c *Client) connOf(to sim.NodeID) *conn {
	if to < 0 || int(to) >= len(c.conns) {
		return nil
	}
	return &c.conns[to]
}

func (c *Client) ready(to sim.NodeID, now time.Duration) bool {
	cn := c.connOf(to)
	return cn == nil || cn.state == connReady || (cn.state == connBackoff && now >= cn.until)
}

func (c *Client) backingOffTo(to sim.NodeID, now time.Duration) bool {
	cn := c.connOf(to)
	return cn != nil && cn.state == connBackoff && now < cn.until
}

func (c *Client) anyInflight() bool {
	for i := range c.conns {
		if c.conns[i].state == connInflight {
			return true
		}
	}
	return false
}

// request marks a request to to as in flight and returns its correlation
// id.
func (c *Client) request(to sim.NodeID, now time.Duration) int32 {
	c.corr++
	cn := c.conn(to)
	cn.state, cn.corr, cn.until = connInflight, c.corr, now+c.cfg.RequestTimeout
	return c.corr
}

// expect reports whether a response answers the request in flight to from.
func (c *Client) expect(from sim.NodeID, corr int32) bool {
	cn := c.connOf(from)
	return cn != nil && cn.state == connInflight && cn.corr == corr
}

// settle records the outcome of the request that a response answered.
func (c *Client) settle(from sim.NodeID, ok bool) {
	cn := c.conn(from)
	if cn.state != connInflight {
		return // a transition reset the connection meanwhile
	}
	if ok {
		cn.state = connReady
		return
	}
	c.fail(cn, c.now())
}

func (c *Client) fail(cn *conn, now time.Duration) {
	cn.state, cn.until = connBackoff, now+c.cfg.RetryBackoff
}

// expireConns fails the requests that went unanswered for the request
// timeout.
func (c *Client) expireConns(now time.Duration) {
	for i := range c.conns {
		cn := &c.conns[i]
		if cn.state == connInflight && now >= cn.until {
			c.s.Mark("kraft.request.timed-out")
			c.fail(cn, now)
		}
	}
}

// connDeadline returns when the next request times out or backoff ends.
func (c *Client) connDeadline(now time.Duration) time.Duration {
	next := never
	for i := range c.conns {
		if cn := &c.conns[i]; cn.state != connReady && cn.until > now {
			next = min(next, cn.until)
		}
	}
	return next
}

func (c *Client) resetConns() {
	for i := range c.conns {
		c.conns[i] = conn{}
	}
}

// Listener delivery.

// deliver hands the listener every committed batch it has not seen, and
// tells it of leader changes, in order.
func (c *Client) deliver() {
	if c.delivering {
		return
	}
	c.delivering = true
	defer func() { c.delivering = false }()
	for c.err == nil {
		c.maybeFireLeaderChange()
		if c.hwm < 0 || c.applied >= c.hwm {
			return
		}
		b := c.log.BatchAt(c.applied)
		if b == nil || b.EndOffset() > c.hwm {
			return
		}
		c.applied = b.EndOffset()
		if c.listener != nil {
			c.listener.HandleCommit(b)
		}
	}
}

func (c *Client) maybeFireLeaderChange() {
	leader, epoch := c.leader, c.epoch
	switch c.role {
	case Leader:
		if c.applied < c.lead.epochStart {
			return
		}
	case Resigned:
		leader = NoLeader
	}
	if c.fired && leader == c.firedLeader && epoch == c.firedEpoch {
		return
	}
	c.fired, c.firedLeader, c.firedEpoch = true, leader, epoch
	if c.listener != nil {
		c.listener.HandleLeaderChange(leader, epoch)
	}
}
