package zookeeper

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// leader is a LEADING server's state (ZooKeeper's Leader with its
// LearnerHandlers). Establishing an epoch has three steps, each waiting at
// most initLimit ticks for a quorum (the leader counting itself):
// discovery (FOLLOWERINFO: the new epoch is one more than every accepted
// epoch of a quorum, sent back in LEADERINFO), acknowledgement of the
// epoch (ACKEPOCH, with each follower's current epoch and last zxid; a
// follower ahead of the leader is refused) and synchronisation (DIFF,
// TRUNC or SNAP, then NEWLEADER, acknowledged by a quorum; then UPTODATE).
// In broadcast the leader turns requests into transactions, proposes them,
// commits each once a quorum has logged it, in zxid order, and pings its
// followers every half tick; it steps down when a quorum has not answered
// within syncLimit ticks.
type leader struct {
	s *Server

	epoch              int64 // the epoch to propose; -1 until a quorum has connected
	waitingForNewEpoch bool
	connecting         map[int64]bool
	electionFinished   bool
	electing           map[int64]bool
	quorumFormed       bool
	newLeaderAcks      map[int64]bool
	summaryEpoch       int64 // the leader's state summary: currentEpoch and last zxid
	summaryZxid        Zxid
	newLeaderZxid      Zxid
	phaseTimer         sim.Timer

	handlers map[int64]*learnerHandler
	byConn   map[uint64]*learnerHandler

	counter       int64 // the zxid counter within the epoch
	lastProposed  Zxid
	lastCommitted Zxid
	outstanding   map[Zxid]*proposal
	pendingSyncs  map[Zxid][]syncTarget

	tick     int64
	tickSkip bool
	tracker  *sessionTracker

	// The PrepRequestProcessor's outstanding changes: what proposed but
	// not yet applied transactions will do to znodes.
	changes        []*changeRecord
	changesForPath map[string]*changeRecord
	undo           *[]undoChange // while a multi is prepped
}

type proposal struct {
	txn  *Txn
	acks map[int64]bool
}

// syncTarget is who waits for a sync: a learner, or a local connection.
type syncTarget struct {
	h    *learnerHandler
	conn uint64
	xid  int32
}

type handlerState uint8

const (
	hsWaitEpoch handlerState = iota
	hsWaitAckEpoch
	hsWaitElection
	hsWaitNewLeaderAck
	hsWaitQuorum
	hsRunning
)

// learnerHandler is the leader's side of one learner connection.
type learnerHandler struct {
	sid                   int64
	st                    stream
	state                 handlerState
	tickOfNextAckDeadline int64
	forwarding            bool
	sendingStarted        bool
	peerLastZxid          Zxid
	unacked               []unacked // proposals sent and not acknowledged, oldest first
}

type unacked struct {
	zxid Zxid
	at   time.Duration
}

func (s *Server) becomeLeader() {
	s.gen++
	s.state, s.zab = Leading, Discovery
	s.traceRole()
	l := &leader{
		s: s, epoch: -1, waitingForNewEpoch: true,
		connecting: make(map[int64]bool), electing: make(map[int64]bool), newLeaderAcks: make(map[int64]bool),
		handlers: make(map[int64]*learnerHandler), byConn: make(map[uint64]*learnerHandler),
		outstanding: make(map[Zxid]*proposal), pendingSyncs: make(map[Zxid][]syncTarget),
		changesForPath: make(map[string]*changeRecord), tickSkip: true,
	}
	s.lead = l
	s.s.Mark("zk.leader.elected")
	// loadData: the database is loaded; make a clean snapshot.
	if !s.takeSnapshot(false) {
		return
	}
	l.summaryEpoch, l.summaryZxid = s.currentEpoch, s.db.tree.lastProcessed
	l.phaseTimer = s.after(l.initLimit(), "zk.leader.timeout", func() {
		if l.waitingForNewEpoch {
			s.s.Mark("zk.leader.timeout.epoch")
			l.shutdown("Timeout while waiting for epoch from quorum")
		}
	})
	l.getEpochToPropose(s.sid, s.acceptedEpoch)
}

func (l *leader) initLimit() time.Duration {
	return time.Duration(l.s.cfg.InitLimit) * l.s.cfg.TickTime
}

func (l *leader) syncLimit() time.Duration {
	return time.Duration(l.s.cfg.SyncLimit) * l.s.cfg.TickTime
}

func (l *leader) alive() bool { return l.s.lead == l && l.s.err == nil }

// getEpochToPropose collects accepted epochs until a quorum has connected.
func (l *leader) getEpochToPropose(sid int64, lastAccepted int64) {
	if !l.waitingForNewEpoch {
		return
	}
	if lastAccepted >= l.epoch {
		l.epoch = lastAccepted + 1
	}
	if l.s.isVoter(sid) {
		l.connecting[sid] = true
	}
	if l.connecting[l.s.sid] && l.s.quorum(l.connecting) {
		l.waitingForNewEpoch = false
		if !l.s.setAcceptedEpoch(l.epoch) {
			return
		}
		l.epochDecided()
	}
}

func (l *leader) epochDecided() {
	s := l.s
	s.node.Cancel(l.phaseTimer)
	l.newLeaderZxid = MakeZxid(l.epoch, 0)
	l.lastProposed = l.newLeaderZxid
	s.trace("zk.leader.epoch", uint64(l.epoch), func() string {
		return fmt.Sprintf("proposes epoch %d to %s", l.epoch, setString(l.connecting))
	})
	for _, h := range l.sortedHandlers() {
		if h.state == hsWaitEpoch {
			l.sendLeaderInfo(h)
		}
	}
	if !l.alive() {
		return
	}
	l.phaseTimer = s.after(l.initLimit(), "zk.leader.timeout", func() {
		if !l.electionFinished {
			s.s.Mark("zk.leader.timeout.ackepoch")
			l.shutdown("Timeout while waiting for epoch to be acked by quorum")
		}
	})
	l.waitForEpochAck(s.sid, l.summaryEpoch, l.summaryZxid)
}

func (l *leader) sendLeaderInfo(h *learnerHandler) {
	h.state = hsWaitAckEpoch
	l.s.sendPacket(&h.st, &QuorumPacket{Type: LEADERINFO, Zxid: l.newLeaderZxid})
}

// waitForEpochAck counts an acknowledgement of the epoch; it reports false
// for a follower whose state is more recent than the leader's.
func (l *leader) waitForEpochAck(sid int64, epoch int64, last Zxid) bool {
	if l.electionFinished {
		return true
	}
	if epoch != -1 {
		if epoch > l.summaryEpoch || (epoch == l.summaryEpoch && last > l.summaryZxid) {
			l.s.s.Mark("zk.leader.follower-ahead")
			return false
		}
		if l.s.isVoter(sid) {
			l.electing[sid] = true
		}
	}
	if l.electing[l.s.sid] && l.s.quorum(l.electing) {
		l.electionFinished = true
		l.electionDone()
	}
	return true
}

func (l *leader) electionDone() {
	s := l.s
	s.node.Cancel(l.phaseTimer)
	if !s.setCurrentEpoch(l.epoch) {
		return
	}
	s.zab = Synchronization
	s.trace("zk.leader.established", uint64(l.epoch), func() string {
		return fmt.Sprintf("epoch %d acknowledged by %s", l.epoch, setString(l.electing))
	})
	for _, h := range l.sortedHandlers() {
		if h.state == hsWaitElection {
			l.syncHandler(h)
		}
	}
	if !l.alive() {
		return
	}
	l.phaseTimer = s.after(l.initLimit(), "zk.leader.timeout", func() {
		if !l.quorumFormed {
			s.s.Mark("zk.leader.timeout.newleader")
			l.shutdown("Waiting for a quorum of followers, only synced with sids: [ " + setString(l.newLeaderAcks) + " ]")
		}
	})
	l.waitForNewLeaderAck(s.sid, l.newLeaderZxid)
}

// waitForNewLeaderAck counts an acknowledgement of NEWLEADER.
func (l *leader) waitForNewLeaderAck(sid int64, zxid Zxid) {
	if l.quorumFormed {
		return
	}
	if zxid != l.newLeaderZxid {
		return
	}
	if l.s.isVoter(sid) {
		l.newLeaderAcks[sid] = true
	}
	if l.s.quorum(l.newLeaderAcks) {
		l.quorumFormed = true
		l.startZkServer()
	}
}

// startZkServer enters broadcast: the leader serves clients, tracks their
// sessions, and starts ticking.
func (l *leader) startZkServer() {
	s := l.s
	s.node.Cancel(l.phaseTimer)
	l.lastCommitted = l.newLeaderZxid
	s.db.tree.lastProcessed = l.newLeaderZxid
	s.zab = Broadcast
	s.vote.peerEpoch = l.epoch
	s.s.Mark("zk.leader.broadcast")
	s.trace("zk.leader.broadcast", uint64(l.epoch), func() string {
		return fmt.Sprintf("epoch %d: NEWLEADER acknowledged by %s", l.epoch, setString(l.newLeaderAcks))
	})
	l.tracker = newSessionTracker(s, s.db.tree.sessions)
	s.startServing()
	for _, h := range l.sortedHandlers() {
		if h.state == hsWaitQuorum {
			l.upToDate(h)
		}
	}
	l.scheduleTick()
}

func (l *leader) upToDate(h *learnerHandler) {
	h.state = hsRunning
	h.tickOfNextAckDeadline = l.tick + int64(l.s.cfg.SyncLimit)
	l.s.sendPacket(&h.st, &QuorumPacket{Type: UPTODATE, Zxid: -1})
}

// The tick loop: every half tick the leader pings its learners; every tick
// it checks that a quorum has answered within syncLimit ticks.
func (l *leader) scheduleTick() {
	l.s.after(l.s.cfg.TickTime/2, "zk.leader.tick", l.onTick)
}

func (l *leader) onTick() {
	s := l.s
	if !l.tickSkip {
		l.tick++
	}
	synced := map[int64]bool{s.sid: true}
	for _, h := range l.handlers {
		if l.tick <= h.tickOfNextAckDeadline {
			synced[h.sid] = true
		}
	}
	if !l.tickSkip && !s.quorum(synced) {
		s.s.Mark("zk.leader.not-sufficient-followers")
		l.shutdown("Not sufficient followers synced, only synced with sids: [ " + setString(synced) + " ]")
		return
	}
	l.tickSkip = !l.tickSkip
	now := s.now()
	for _, h := range l.sortedHandlers() {
		if !h.sendingStarted {
			continue
		}
		if len(h.unacked) > 0 && now-h.unacked[0].at >= l.syncLimit() {
			s.s.Mark("zk.leader.learner-txn-timeout")
			l.closeHandler(h, "Closing connection to peer due to transaction timeout.")
			continue
		}
		s.sendPacket(&h.st, &QuorumPacket{Type: PING, Zxid: l.lastProposed})
	}
	l.scheduleTick()
}

// shutdown ends the leadership: every learner connection closes and the
// server goes back to LOOKING.
func (l *leader) shutdown(reason string) {
	s := l.s
	if !l.alive() {
		return
	}
	s.trace("zk.leader.shutdown", uint64(l.epoch), func() string { return reason })
	for _, h := range l.sortedHandlers() {
		s.send(h.st.peer, &FIN{Conn: h.st.id})
	}
	s.startLooking(reason)
}

func (l *leader) sortedHandlers() []*learnerHandler {
	hs := slices.Collect(maps.Values(l.handlers))
	slices.SortFunc(hs, func(a, b *learnerHandler) int { return cmp.Compare(a.sid, b.sid) })
	return hs
}

func (l *leader) closeHandler(h *learnerHandler, reason string) {
	if l.handlers[h.sid] != h {
		return
	}
	delete(l.handlers, h.sid)
	delete(l.byConn, h.st.id)
	l.s.send(h.st.peer, &FIN{Conn: h.st.id})
	l.s.trace("zk.leader.learner-closed", uint64(h.sid), func() string {
		return fmt.Sprintf("learner %d: %s", h.sid, reason)
	})
	// Syncs the learner waits for are answered to nobody.
	for z, ts := range l.pendingSyncs {
		l.pendingSyncs[z] = slices.DeleteFunc(ts, func(t syncTarget) bool { return t.h == h })
	}
}

// onFollowerInfo accepts a learner connection.
func (l *leader) onFollowerInfo(from sim.NodeID, p *QuorumPacket) {
	s := l.s
	if !s.isVoter(p.Sid) || s.servers[p.Sid] != from || p.Seq != 1 {
		s.send(from, &FIN{Conn: p.Conn})
		return
	}
	if old := l.handlers[p.Sid]; old != nil {
		l.closeHandler(old, "replaced by a new connection")
	}
	h := &learnerHandler{sid: p.Sid, st: stream{id: p.Conn, peer: from, in: 1}, state: hsWaitEpoch,
		tickOfNextAckDeadline: l.tick + int64(s.cfg.InitLimit+s.cfg.SyncLimit)}
	l.handlers[h.sid] = h
	l.byConn[h.st.id] = h
	l.getEpochToPropose(h.sid, p.Zxid.Epoch())
	if l.alive() && !l.waitingForNewEpoch && h.state == hsWaitEpoch && l.handlers[h.sid] == h {
		l.sendLeaderInfo(h)
	}
}

// onPacket handles a packet on a learner connection.
func (l *leader) onPacket(h *learnerHandler, p *QuorumPacket) {
	s := l.s
	switch h.state {
	case hsWaitAckEpoch:
		if p.Type != ACKEPOCH {
			l.closeHandler(h, "expected ACKEPOCH, got "+p.Type.String())
			return
		}
		h.peerLastZxid = p.Zxid
		h.state = hsWaitElection
		if !l.waitForEpochAck(h.sid, p.Epoch, p.Zxid) {
			l.closeHandler(h, fmt.Sprintf("Follower is ahead of the leader, leader summary: %d (current epoch), %v (last zxid)", l.summaryEpoch, l.summaryZxid))
			return
		}
		if l.alive() && l.electionFinished && h.state == hsWaitElection && l.handlers[h.sid] == h {
			l.syncHandler(h)
		}
	case hsWaitNewLeaderAck:
		if p.Type != ACK || p.Zxid != l.newLeaderZxid {
			l.closeHandler(h, "expected the ACK of NEWLEADER, got "+p.String())
			return
		}
		h.state = hsWaitQuorum
		l.waitForNewLeaderAck(h.sid, p.Zxid)
		if l.alive() && l.quorumFormed && h.state == hsWaitQuorum {
			l.upToDate(h)
		}
	case hsRunning:
		h.tickOfNextAckDeadline = l.tick + int64(s.cfg.SyncLimit)
		switch p.Type {
		case ACK:
			for len(h.unacked) > 0 && h.unacked[0].zxid <= p.Zxid {
				h.unacked = h.unacked[1:]
			}
			l.processAck(h.sid, p.Zxid)
		case PING:
			for _, t := range p.Touches {
				l.tracker.touch(t.SessionID, t.Timeout)
			}
		case REVALIDATE:
			valid := l.tracker.touch(p.SessionID, p.Timeout)
			if valid {
				l.tracker.setOwner(p.SessionID, h.sid)
			}
			s.sendPacket(&h.st, &QuorumPacket{Type: REVALIDATE, SessionID: p.SessionID, Valid: valid})
		case REQUEST:
			r := p.Request
			if r.Type == OpSync {
				l.processSync(syncTarget{h: h})
				return
			}
			l.submit(r, r.SessionID, h.sid)
		}
	default:
		l.closeHandler(h, "unexpected "+p.Type.String())
	}
}

// syncHandler synchronises a learner (LearnerHandler.syncFollower and
// what follows it): a DIFF, TRUNC or SNAP, the proposals it misses, the
// outstanding proposals, and NEWLEADER.
func (l *leader) syncHandler(h *learnerHandler) {
	s := l.s
	needSnap, pkts, current := l.syncFollower(h.peerLastZxid)
	if !l.alive() {
		return
	}
	mode := "DIFF"
	if needSnap {
		mode = "SNAP"
		current = s.db.tree.lastProcessed
		s.sendPacket(&h.st, &QuorumPacket{Type: SNAP, Zxid: current, Snapshot: encodeSnapshot(s.db.tree)})
		s.s.Mark("zk.sync.snap")
	} else {
		if len(pkts) > 0 && pkts[0].Type == TRUNC {
			mode = "TRUNC"
			s.s.Mark("zk.sync.trunc")
		} else {
			s.s.Mark("zk.sync.diff")
		}
		for _, p := range pkts {
			s.sendPacket(&h.st, p)
		}
	}
	s.trace("zk.leader.sync", sim.Digest(uint64(h.sid), uint64(h.peerLastZxid), uint64(current)), func() string {
		return fmt.Sprintf("%s to %d: peer at %v, sent up to %v", mode, h.sid, h.peerLastZxid, current)
	})
	// startForwarding: the outstanding proposals, then every new one.
	now := s.now()
	for _, z := range slices.Sorted(maps.Keys(l.outstanding)) {
		if z > current {
			s.sendPacket(&h.st, &QuorumPacket{Type: PROPOSAL, Zxid: z, Txn: l.outstanding[z].txn})
			h.unacked = append(h.unacked, unacked{z, now})
		}
	}
	h.forwarding = true
	h.sendingStarted = true
	h.state = hsWaitNewLeaderAck
	s.sendPacket(&h.st, &QuorumPacket{Type: NEWLEADER, Zxid: l.newLeaderZxid})
}

// syncFollower decides how to bring a learner at peer up to date, as
// ZooKeeper's LearnerHandler.syncFollower: nothing to send (an empty
// DIFF); a TRUNC when the learner holds proposals beyond the leader's
// history; a DIFF of the transactions it misses from the in-memory commit
// log, or from the transaction log on disk if they are few enough; and
// otherwise a SNAP.
func (l *leader) syncFollower(peer Zxid) (needSnap bool, pkts []*QuorumPacket, current Zxid) {
	s := l.s
	q := &syncQueue{peer: peer, needOp: true}
	current = peer
	needSnap = true
	isNewEpoch := peer.Counter() == 0
	log := s.db.commitLog()
	last := s.db.tree.lastProcessed
	minC, maxC := last, last
	if len(log) > 0 {
		minC, maxC = log[0].Zxid, log[len(log)-1].Zxid
	}
	switch {
	case last == peer:
		q.add(DIFF, peer)
		q.needOp, needSnap = false, false
	case peer > maxC && !isNewEpoch:
		q.add(TRUNC, maxC)
		current = maxC
		q.needOp, needSnap = false, false
	case maxC >= peer && minC <= peer:
		current = q.queueCommitted(log, peer, -1, maxC)
		needSnap = false
	case peer < minC && s.cfg.SnapshotSizeFactor >= 0:
		limit := int(float64(s.db.snapSize) * s.cfg.SnapshotSizeFactor)
		txns, err := s.db.txnLogFrom(peer, limit)
		if err != nil {
			s.fatal(err)
			return
		}
		if len(txns) > 0 {
			current = q.queueCommitted(txns, peer, minC, maxC)
			if current < minC {
				current = peer
				q.pkts = nil
				q.needOp = true
			} else {
				current = q.queueCommitted(log, current, -1, maxC)
				needSnap = false
				s.s.Mark("zk.sync.txnlog")
			}
		}
	}
	if q.needOp && !needSnap {
		needSnap = true
	}
	if needSnap {
		return true, nil, last
	}
	return false, q.pkts, current
}

// syncQueue collects the packets of a DIFF or TRUNC synchronisation.
type syncQueue struct {
	peer   Zxid
	needOp bool
	pkts   []*QuorumPacket
}

func (q *syncQueue) add(t PacketType, z Zxid) {
	q.pkts = append(q.pkts, &QuorumPacket{Type: t, Zxid: z})
}

// queueCommitted queues the proposals after peer, each followed by its
// COMMIT, as LearnerHandler.queueCommittedProposals: the first one decides
// between DIFF and TRUNC (to the proposal before it), and a learner whose
// last zxid is of another epoch than the first proposal after it cannot
// be truncated (it gets a SNAP). maxZxid < 0 means no limit.
func (q *syncQueue) queueCommitted(txns []*Txn, peer Zxid, maxZxid Zxid, lastCommitted Zxid) Zxid {
	isNewEpoch := peer.Counter() == 0
	queued := peer
	prev := Zxid(-1)
	for _, t := range txns {
		z := t.Zxid
		if maxZxid >= 0 && z > maxZxid {
			break
		}
		if z < peer {
			prev = z
			continue
		}
		if q.needOp {
			if z == peer {
				q.add(DIFF, lastCommitted)
				q.needOp = false
				continue
			}
			if isNewEpoch {
				q.add(DIFF, lastCommitted)
				q.needOp = false
			} else if z > peer {
				if z.Epoch() != peer.Epoch() {
					return queued // cannot TRUNC across an epoch boundary
				}
				q.add(TRUNC, prev)
				q.needOp = false
			}
		}
		if z <= queued {
			continue
		}
		q.pkts = append(q.pkts, &QuorumPacket{Type: PROPOSAL, Zxid: z, Txn: t}, &QuorumPacket{Type: COMMIT, Zxid: z})
		queued = z
	}
	if q.needOp && isNewEpoch {
		q.add(DIFF, lastCommitted)
		q.needOp = false
	}
	return queued
}

// Broadcast.

func (l *leader) nextZxid() Zxid {
	l.counter++
	return MakeZxid(l.epoch, l.counter)
}

// propose sends a transaction to every forwarding learner, logs it and
// acknowledges it itself.
func (l *leader) propose(t *Txn) {
	s := l.s
	t.finish()
	l.outstanding[t.Zxid] = &proposal{txn: t, acks: make(map[int64]bool)}
	l.lastProposed = t.Zxid
	now := s.now()
	for _, h := range l.sortedHandlers() {
		if h.forwarding {
			s.sendPacket(&h.st, &QuorumPacket{Type: PROPOSAL, Zxid: t.Zxid, Txn: t})
			h.unacked = append(h.unacked, unacked{t.Zxid, now})
		}
	}
	if !s.logTxn(t) {
		return
	}
	l.processAck(s.sid, t.Zxid)
}

// processAck counts an acknowledgement and commits what has a quorum, in
// zxid order.
func (l *leader) processAck(sid int64, z Zxid) {
	if z.Counter() == 0 || len(l.outstanding) == 0 || z <= l.lastCommitted {
		return
	}
	p := l.outstanding[z]
	if p == nil {
		return
	}
	p.acks[sid] = true
	for l.alive() && l.tryToCommit(z) {
		z++
		if l.outstanding[z] == nil {
			return
		}
	}
}

func (l *leader) tryToCommit(z Zxid) bool {
	if _, waiting := l.outstanding[z-1]; waiting {
		return false
	}
	p := l.outstanding[z]
	if p == nil || !l.s.quorum(p.acks) {
		return false
	}
	s := l.s
	delete(l.outstanding, z)
	l.lastCommitted = z
	for _, h := range l.sortedHandlers() {
		if h.forwarding {
			s.sendPacket(&h.st, &QuorumPacket{Type: COMMIT, Zxid: z})
		}
	}
	s.apply(p.txn)
	if ts := l.pendingSyncs[z]; ts != nil {
		delete(l.pendingSyncs, z)
		for _, t := range ts {
			l.sendSync(t)
		}
	}
	return true
}

// processSync answers a sync once every proposal made before it has
// committed.
func (l *leader) processSync(t syncTarget) {
	if len(l.outstanding) == 0 {
		l.sendSync(t)
		return
	}
	l.pendingSyncs[l.lastProposed] = append(l.pendingSyncs[l.lastProposed], t)
}

func (l *leader) sendSync(t syncTarget) {
	s := l.s
	if t.h != nil {
		if l.handlers[t.h.sid] == t.h {
			s.sendPacket(&t.h.st, &QuorumPacket{Type: SYNC})
		}
		return
	}
	s.syncDone(t.conn, t.xid)
}

// applied is told of every transaction the leader applies: its outstanding
// changes are no longer outstanding, and a closed session is forgotten.
func (l *leader) applied(t *Txn) {
	n := 0
	for n < len(l.changes) && l.changes[n].zxid <= t.Zxid {
		c := l.changes[n]
		if l.changesForPath[c.path] == c {
			delete(l.changesForPath, c.path)
		}
		n++
	}
	if n > 0 {
		l.changes = slices.Delete(l.changes, 0, n)
	}
	if t.Type == OpCloseSession && l.tracker != nil {
		l.tracker.remove(t.Session)
	}
}
