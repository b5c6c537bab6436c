package zookeeper

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Setup says where a server runs and who is in its ensemble.
type Setup struct {
	// Node is the simulated machine; the server keeps its data directory
	// on the node's disk and sets timers on its clock.
	Node *sim.Node
	// ID is the server's myid.
	ID int64
	// Servers is the ensemble (zoo.cfg's server.N lines): every server's
	// myid and the simulated node that runs it.
	Servers map[int64]sim.NodeID
	// Send sends a message to another node, typically
	// net.Send(node.ID(), to, m).
	Send func(to sim.NodeID, m network.Message)
	// Dir is the data directory on the node's disk; DefaultDir if empty.
	Dir string
}

func (s Setup) validate() error {
	if s.Node == nil {
		return errors.New("zookeeper setup: Node is nil: give the simulated node the server runs on")
	}
	if s.Send == nil {
		return errors.New("zookeeper setup: Send is nil: give a function that sends a message to another node")
	}
	if len(s.Servers) == 0 {
		return errors.New("zookeeper setup: the ensemble is empty: give every server.N (1, 3 or 5 servers are usual)")
	}
	n, ok := s.Servers[s.ID]
	if !ok {
		return fmt.Errorf("zookeeper setup: myid %d is not in the ensemble %v", s.ID, slices.Sorted(maps.Keys(s.Servers)))
	}
	if n != s.Node.ID() {
		return fmt.Errorf("zookeeper setup: server %d is configured on simulated node %d but runs on node %d", s.ID, n, s.Node.ID())
	}
	seen := make(map[sim.NodeID]int64)
	for _, id := range slices.Sorted(maps.Keys(s.Servers)) {
		if id <= 0 || id >= 255 {
			return fmt.Errorf("zookeeper setup: myid %d is out of range: give 1 to 254", id)
		}
		nd := s.Servers[id]
		if s.Node.Sim().NodeByID(nd) == nil {
			return fmt.Errorf("zookeeper setup: server %d runs on simulated node %d, which does not exist", id, nd)
		}
		if other, dup := seen[nd]; dup {
			return fmt.Errorf("zookeeper setup: servers %d and %d both run on simulated node %d: each server needs its own node", other, id, nd)
		}
		seen[nd] = id
	}
	return nil
}

// vote is a server's vote in fast leader election.
type vote struct {
	leader        int64
	zxid          Zxid
	electionEpoch int64
	peerEpoch     int64
	state         ServerState
}

// Server is one ZooKeeper server (QuorumPeer with its ZooKeeperServer), a
// process driven by the kernel: hand it every message (Receive) and every
// broken connection (Disconnected). It recovers from its data directory
// when it starts, elects, follows or leads, and serves clients once it
// has synchronised with a leader.
type Server struct {
	cfg     Config
	node    *sim.Node
	s       *sim.Sim
	sid     int64
	dir     string
	servers map[int64]sim.NodeID
	sids    []int64
	nodeSid map[sim.NodeID]int64
	send    func(sim.NodeID, network.Message)

	db            *database
	acceptedEpoch int64
	currentEpoch  int64
	loaded        bool // the database reflects the disk (no reload needed)

	state ServerState
	zab   ZabState
	gen   uint64 // bumped on every role change; timers of an older role do nothing
	vote  vote

	fle  *election
	lead *leader
	fol  *follower

	logCount int
	randRoll int

	// Client side (ZooKeeperServer and its connections), while serving.
	serving     bool
	nextSession int64
	cnxns       map[uint64]*cnxn
	bySession   map[int64]*cnxn
	creating    map[int64]*cnxn // connections waiting for their createSession to commit
	watches     watchManager
	syncs       []syncRef // a learner's syncs forwarded to the leader, oldest first
	cnxnTick    sim.Timer

	streamSeq uint64
	err       error
}

// NewServer recovers a server from its node's disk and starts it. The
// database is loaded (newest valid snapshot, then the transaction logs),
// the epoch files read (a missing one is created from the last zxid, as
// ZooKeeper does), and leader election starts from a timer that fires at
// once, after NewServer returns. An error means the data directory cannot
// be loaded, as when ZooKeeper refuses to start.
func NewServer(cfg Config, setup Setup) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("zookeeper config: %w", err)
	}
	if err := setup.validate(); err != nil {
		return nil, err
	}
	s := &Server{
		cfg:     cfg,
		node:    setup.Node,
		s:       setup.Node.Sim(),
		sid:     setup.ID,
		dir:     setup.Dir,
		servers: maps.Clone(setup.Servers),
		sids:    slices.Sorted(maps.Keys(setup.Servers)),
		nodeSid: make(map[sim.NodeID]int64),
		send:    setup.Send,
		cnxns:   make(map[uint64]*cnxn),
	}
	if s.dir == "" {
		s.dir = DefaultDir
	}
	for id, n := range s.servers {
		s.nodeSid[n] = id
	}
	s.fle = &election{s: s}
	s.randRoll = s.node.Rand().IntN(max(cfg.SnapCount/2, 1))
	s.db = newDatabase(s.node.Disk(), s.dir, cfg.CommitLogCount, cfg.SnapshotSizeFactor)
	res, err := s.db.load()
	if err != nil {
		return nil, fmt.Errorf("zookeeper: server %d: %w", s.sid, err)
	}
	s.markLoad(res)
	s.loaded = true
	if err := s.loadEpochs(); err != nil {
		return nil, fmt.Errorf("zookeeper: server %d: %w", s.sid, err)
	}
	ms := s.node.Now().Milliseconds()
	s.nextSession = int64((uint64(ms)<<24)>>8) | s.sid<<56
	gen := s.gen
	s.node.After(0, "zk.start", func() {
		if s.gen == gen && s.err == nil {
			s.startLooking("startup")
		}
	})
	return s, nil
}

func (s *Server) markLoad(res loadResult) {
	if res.invalidSnaps > 0 {
		s.s.Mark("zk.recovery.invalid-snapshot")
	}
	if res.tornFiles > 0 {
		s.s.Mark("zk.recovery.torn-log")
	}
	if res.createdInitial {
		s.s.Mark("zk.recovery.empty-database")
	}
	s.trace("zk.load", sim.Digest(uint64(s.db.tree.lastProcessed), uint64(res.replayed), uint64(res.invalidSnaps)), func() string {
		snap := strings.TrimPrefix(res.snapshot, s.dir+"/")
		if snap == "" {
			snap = "a new empty database"
		}
		d := fmt.Sprintf("loaded %s and replayed %d txns: lastProcessedZxid %v", snap, res.replayed, s.db.tree.lastProcessed)
		if res.invalidSnaps > 0 {
			d += fmt.Sprintf(", %d invalid snapshots skipped", res.invalidSnaps)
		}
		if res.tornFiles > 0 {
			d += fmt.Sprintf(", %d torn log files", res.tornFiles)
		}
		return d
	})
}

// loadEpochs reads currentEpoch and acceptedEpoch, as QuorumPeer.loadDataBase.
func (s *Server) loadEpochs() error {
	d := s.node.Disk()
	zxidEpoch := s.db.tree.lastProcessed.Epoch()
	cur, found, err := readEpoch(d, s.dir, currentEpochFile)
	if err != nil {
		return err
	}
	if !found {
		cur = zxidEpoch
		if err := writeEpoch(d, s.dir, currentEpochFile, cur); err != nil {
			return err
		}
	}
	if zxidEpoch > cur {
		return fmt.Errorf("%w: the current epoch, %d, is older than the last zxid, %v", errBroken, cur, s.db.tree.lastProcessed)
	}
	acc, found, err := readEpoch(d, s.dir, acceptedEpochFile)
	if err != nil {
		return err
	}
	if !found {
		acc = zxidEpoch
		if err := writeEpoch(d, s.dir, acceptedEpochFile, acc); err != nil {
			return err
		}
	}
	if acc < cur {
		return fmt.Errorf("%w: the accepted epoch, %d, is less than the current epoch, %d", errBroken, acc, cur)
	}
	s.currentEpoch, s.acceptedEpoch = cur, acc
	return nil
}

func (s *Server) setAcceptedEpoch(e int64) bool {
	if err := writeEpoch(s.node.Disk(), s.dir, acceptedEpochFile, e); err != nil {
		s.fatal(err)
		return false
	}
	s.acceptedEpoch = e
	return true
}

func (s *Server) setCurrentEpoch(e int64) bool {
	if err := writeEpoch(s.node.Disk(), s.dir, currentEpochFile, e); err != nil {
		s.fatal(err)
		return false
	}
	s.currentEpoch = e
	return true
}

// Inspection, for scripts, reports and the invariants.

// ID returns the server's myid.
func (s *Server) ID() int64 { return s.sid }

// State returns the server's role.
func (s *Server) State() ServerState { return s.state }

// Phase returns the server's ZAB phase.
func (s *Server) Phase() ZabState { return s.zab }

// Serving reports whether the server serves clients (it has synchronised
// with an established leader, or is one).
func (s *Server) Serving() bool { return s.serving }

// CurrentEpoch returns the epoch of the last leader the server
// synchronised with (its currentEpoch file).
func (s *Server) CurrentEpoch() int64 { return s.currentEpoch }

// AcceptedEpoch returns the last epoch the server accepted from a
// prospective leader (its acceptedEpoch file).
func (s *Server) AcceptedEpoch() int64 { return s.acceptedEpoch }

// Leader returns the leader the server follows or proposes, as its
// current vote says.
func (s *Server) Leader() int64 { return s.vote.leader }

// LastZxid returns the zxid of the last transaction the server's data tree
// has processed.
func (s *Server) LastZxid() Zxid { return s.db.tree.lastProcessed }

// Tree returns the server's data tree, to read.
func (s *Server) Tree() *DataTree { return s.db.tree }

// Err returns the error that stopped the server (a failed disk), or nil.
// ZooKeeper exits on such an error; a stopped server ignores everything.
func (s *Server) Err() error { return s.err }

// Established returns, on a leader, the epoch it leads and whether a
// quorum has acknowledged that epoch (ACKEPOCH); -1 and false elsewhere.
func (s *Server) Established() (int64, bool) {
	if s.lead == nil {
		return -1, false
	}
	return s.lead.epoch, s.lead.electionFinished
}

// LastCommitted returns, on a leader in broadcast, the last zxid it has
// committed; -1 elsewhere.
func (s *Server) LastCommitted() Zxid {
	if s.lead == nil || !s.lead.quorumFormed {
		return -1
	}
	return s.lead.lastCommitted
}

// Outstanding returns, on a leader, how many proposals wait for a quorum.
func (s *Server) Outstanding() int {
	if s.lead == nil {
		return 0
	}
	return len(s.lead.outstanding)
}

// Followers returns, on a leader, the myids of the learners it is
// synchronising or broadcasting to, sorted.
func (s *Server) Followers() []int64 {
	if s.lead == nil {
		return nil
	}
	var out []int64
	for _, h := range s.lead.handlers {
		if h.forwarding {
			out = append(out, h.sid)
		}
	}
	slices.Sort(out)
	return out
}

// Connections returns the number of client connections the server holds.
func (s *Server) Connections() int { return len(s.cnxns) }

// SessionsTracked returns, on a leader in broadcast, the sessions its
// session tracker knows (closing ones included), sorted; nil elsewhere.
func (s *Server) SessionsTracked() []int64 {
	if s.lead == nil || s.lead.tracker == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.lead.tracker.sessions))
}

// String summarises the server.
func (s *Server) String() string {
	return fmt.Sprintf("%d %v %v epoch=%d/%d leader=%d zxid=%v", s.sid, s.state, s.zab, s.currentEpoch, s.acceptedEpoch, s.vote.leader, s.db.tree.lastProcessed)
}

// The process interface.

// Receive handles a message delivered to the server's node.
func (s *Server) Receive(from sim.NodeID, m network.Message) {
	if s.err != nil {
		return
	}
	switch m := m.(type) {
	case *Notification:
		s.fle.receive(from, m)
	case *QuorumPacket:
		s.onQuorumPacket(from, m)
	case *FIN:
		s.onFIN(from, m)
	case *ConnectRequest:
		s.onConnect(from, m)
	case *Request:
		s.onRequest(from, m)
	}
}

// Disconnected tells the server that its connection to peer broke: what
// it sent lately may be lost, so every connection with that peer ends.
func (s *Server) Disconnected(peer sim.NodeID) {
	if s.err != nil {
		return
	}
	if l := s.lead; l != nil {
		for _, h := range l.sortedHandlers() {
			if h.st.peer == peer {
				l.closeHandler(h, "connection broken")
			}
		}
	}
	if f := s.fol; f != nil && f.st.peer == peer && f.st.id != 0 {
		s.leaveFollowing("connection to the leader broken")
	}
	for _, c := range s.sortedCnxns() {
		if c.client == peer {
			s.closeCnxn(c, false)
		}
	}
}

// Refuses refuses a new client connection while the server does not serve
// (its client port is closed), so the client tries the next server.
func (s *Server) Refuses(from sim.NodeID, m network.Message) bool {
	_, connect := m.(*ConnectRequest)
	return connect && (!s.serving || s.err != nil)
}

func (s *Server) onFIN(from sim.NodeID, m *FIN) {
	if l := s.lead; l != nil {
		if h := l.byConn[m.Conn]; h != nil {
			l.closeHandler(h, "closed by the learner")
			return
		}
	}
	if f := s.fol; f != nil && f.st.id == m.Conn {
		f.onFIN()
		return
	}
	if c := s.cnxns[m.Conn]; c != nil {
		s.closeCnxn(c, false)
	}
}

func (s *Server) onQuorumPacket(from sim.NodeID, p *QuorumPacket) {
	if p.Type == FOLLOWERINFO {
		if s.lead == nil {
			s.send(from, &FIN{Conn: p.Conn}) // the quorum port is closed: connection refused
			return
		}
		s.lead.onFollowerInfo(from, p)
		return
	}
	if l := s.lead; l != nil {
		if h := l.byConn[p.Conn]; h != nil {
			switch ok, broken := h.st.accept(p.Seq); {
			case broken:
				l.closeHandler(h, "packets lost")
			case ok:
				l.onPacket(h, p)
			}
			return
		}
	}
	if f := s.fol; f != nil && f.st.id == p.Conn && f.st.peer == from {
		switch ok, broken := f.st.accept(p.Seq); {
		case broken:
			s.leaveFollowing("packets from the leader lost")
		case ok:
			f.onPacket(p)
		}
		return
	}
	s.send(from, &FIN{Conn: p.Conn}) // a connection this server does not have
}

// stream is one side of a connection: its id, the peer and the sequence
// numbers sent and received.
type stream struct {
	id      uint64
	peer    sim.NodeID
	out, in uint64
}

// accept checks a received sequence number: the next one is taken (ok), a
// duplicate dropped (neither), and a gap means messages were lost, which
// breaks the connection (broken).
func (st *stream) accept(seq uint64) (ok, broken bool) {
	switch {
	case seq == st.in+1:
		st.in = seq
		return true, false
	case seq <= st.in:
		return false, false
	}
	return false, true
}

// newStreamID returns a connection id unique in the simulation.
func newStreamID(n *sim.Node, counter *uint64) uint64 {
	*counter++
	return uint64(n.ID()+1)<<44 | uint64(n.Incarnation()&0xfffff)<<24 | *counter&0xffffff
}

func (s *Server) sendPacket(st *stream, p *QuorumPacket) {
	st.out++
	p.Conn, p.Seq = st.id, st.out
	s.send(st.peer, p)
}

// Roles.

// startLooking enters LOOKING: whatever the server was doing ends, its
// clients are disconnected, its database is brought back to what its disk
// holds (ZooKeeper fast-forwards the data tree with the logged
// transactions), and a new election round starts.
func (s *Server) startLooking(reason string) {
	s.gen++
	s.lead, s.fol = nil, nil
	s.stopServing()
	s.state, s.zab = Looking, Election
	if !s.loaded {
		res, err := s.db.load()
		if err != nil {
			s.fatal(err)
			return
		}
		if res.invalidSnaps > 0 || res.tornFiles > 0 {
			s.markLoad(res)
		}
	}
	s.trace("zk.become", sim.Digest(uint64(Looking), uint64(s.currentEpoch)), func() string {
		return fmt.Sprintf("LOOKING (%s) currentEpoch=%d acceptedEpoch=%d lastZxid=%v", reason, s.currentEpoch, s.acceptedEpoch, s.db.tree.lastProcessed)
	})
	s.loaded = true
	s.fle.lookForLeader()
}

// decided ends an election: the server leads or follows the winner.
func (s *Server) decided(v vote) {
	s.vote = vote{leader: v.leader, zxid: v.zxid, electionEpoch: v.electionEpoch, peerEpoch: v.peerEpoch}
	s.trace("zk.elect", sim.Digest(uint64(v.leader), uint64(v.zxid), uint64(v.electionEpoch)), func() string {
		return fmt.Sprintf("elected %d (zxid %v, peerEpoch %d) in round %d", v.leader, v.zxid, v.peerEpoch, v.electionEpoch)
	})
	s.loaded = false
	if v.leader == s.sid {
		s.becomeLeader()
	} else {
		s.becomeFollower(v.leader)
	}
}

func (s *Server) traceRole() {
	st := s.state
	s.trace("zk.become", sim.Digest(uint64(st), uint64(s.vote.leader)), func() string {
		return fmt.Sprintf("%v leader=%d", st, s.vote.leader)
	})
}

// Logging and applying transactions.

// logTxn appends a transaction to the log, fsyncs it (forceSync) and,
// every snapCount/2 to snapCount transactions, rolls the log and takes a
// snapshot, as ZooKeeper's SyncRequestProcessor.
func (s *Server) logTxn(t *Txn) bool {
	if err := s.db.append(t); err != nil {
		s.fatal(err)
		return false
	}
	if s.cfg.ForceSync {
		if err := s.db.sync(); err != nil {
			s.fatal(err)
			return false
		}
	}
	s.logCount++
	if s.logCount > s.cfg.SnapCount/2+s.randRoll {
		s.logCount = 0
		s.randRoll = s.node.Rand().IntN(max(s.cfg.SnapCount/2, 1))
		s.db.rollLog()
		s.takeSnapshot(false)
	}
	return s.err == nil
}

func (s *Server) takeSnapshot(sync bool) bool {
	if err := s.db.snapshot(sync); err != nil {
		s.fatal(err)
		return false
	}
	s.s.Mark("zk.snapshot")
	z := s.db.tree.lastProcessed
	s.trace("zk.snapshot", uint64(z), func() string {
		if sync {
			return fmt.Sprintf("snapshot.%x (fsynced)", int64(z))
		}
		return fmt.Sprintf("snapshot.%x", int64(z))
	})
	return true
}

// apply applies a committed transaction to the data tree (ZooKeeper's
// FinalRequestProcessor): watches fire, and the client that sent it, if
// connected here, gets its answer.
func (s *Server) apply(t *Txn) txnResult {
	var triggers []watchTrigger
	r := s.db.tree.process(t, &triggers)
	s.db.addCommitted(t)
	if l := s.lead; l != nil {
		l.applied(t)
	}
	if s.serving {
		s.watches.fire(s, triggers)
		s.answer(t, r)
	}
	return r
}

// fatal stops the server after a storage error, as ZooKeeper exits.
func (s *Server) fatal(err error) {
	if s.err != nil {
		return
	}
	s.err = fmt.Errorf("zookeeper: server %d stopped: %w", s.sid, err)
	s.s.Mark("zk.fatal")
	s.trace("zk.fatal", uint64(s.sid), func() string { return s.err.Error() })
	s.gen++
	s.serving = false
}

// trace emits a record; the detail is built only when a sink reads it.
func (s *Server) trace(kind string, digest uint64, detail func() string) {
	tr := s.s.Trace()
	if tr.Sinking() {
		tr.Emit(s.node, kind, digest, detail())
		return
	}
	tr.Emit(s.node, kind, digest, nil)
}

func (s *Server) now() time.Duration { return s.node.Now() }

func (s *Server) nowMillis() int64 { return s.node.Now().Milliseconds() }

func (s *Server) isVoter(sid int64) bool {
	_, ok := s.servers[sid]
	return ok
}

// quorum reports whether the set holds a majority of the ensemble.
func (s *Server) quorum(set map[int64]bool) bool {
	n := 0
	for sid, ok := range set {
		if ok && s.isVoter(sid) {
			n++
		}
	}
	return n > len(s.servers)/2
}

func setString(set map[int64]bool) string {
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(set)) {
		if set[id] {
			ids = append(ids, fmt.Sprint(id))
		}
	}
	return strings.Join(ids, ",")
}

// after sets a timer that fires only if the server is still in the role it
// was in when the timer was set.
func (s *Server) after(d time.Duration, kind string, fn func()) sim.Timer {
	gen := s.gen
	return s.node.After(d, kind, func() {
		if s.gen == gen && s.err == nil {
			fn()
		}
	})
}
