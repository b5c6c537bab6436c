package zookeeper

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// follower is a FOLLOWING server's state (ZooKeeper's Follower and
// Learner). It connects to the leader (up to five attempts within
// initLimit ticks), registers with FOLLOWERINFO, accepts the new epoch
// (persisting acceptedEpoch before it answers ACKEPOCH), synchronises
// (DIFF, TRUNC or SNAP, then proposals and commits, NEWLEADER — after
// which its log holds what it acknowledges and currentEpoch is the new
// epoch — and UPTODATE), and then serves: it logs and fsyncs every
// PROPOSAL before its ACK, applies COMMITs in order, answers PINGs with
// the sessions its clients touched, and forwards its clients' writes to
// the leader. It gives up the leader after initLimit ticks of silence
// while synchronising and syncLimit ticks once synchronised.
type follower struct {
	s          *Server
	leaderSid  int64
	st         stream
	phase      followerPhase
	tries      int
	started    time.Duration
	newEpoch   int64
	newZxid    Zxid
	lastRecv   time.Duration
	readLimit  time.Duration
	readTimer  sim.Timer
	snapNeeded bool
	syncSnap   bool
	writeLog   bool
	notLogged  []*Txn
	committed  []Zxid
	pending    []*Txn // logged proposals waiting for their COMMIT
	touched    map[int64]int32
	revalidate map[int64][]uint64 // session → connections waiting for the leader's answer
}

type followerPhase uint8

const (
	fConnecting followerPhase = iota
	fSyncWait                 // ACKEPOCH sent, waiting for DIFF, TRUNC or SNAP
	fSyncing                  // receiving the synchronisation until UPTODATE
	fBroadcast
)

func (s *Server) becomeFollower(leaderSid int64) {
	s.gen++
	s.state, s.zab = Following, Discovery
	s.traceRole()
	f := &follower{s: s, leaderSid: leaderSid, started: s.now(), touched: make(map[int64]int32), revalidate: make(map[int64][]uint64)}
	s.fol = f
	f.connect()
}

// connect opens a connection to the leader and sends FOLLOWERINFO with the
// accepted epoch.
func (f *follower) connect() {
	s := f.s
	f.tries++
	f.st = stream{id: newStreamID(s.node, &s.streamSeq), peer: s.servers[f.leaderSid]}
	f.phase = fConnecting
	f.readLimit = time.Duration(s.cfg.InitLimit) * s.cfg.TickTime
	f.lastRecv = s.now()
	s.sendPacket(&f.st, &QuorumPacket{Type: FOLLOWERINFO, Zxid: MakeZxid(s.acceptedEpoch, 0), Sid: s.sid})
	f.armRead()
}

func (f *follower) armRead() {
	s := f.s
	if s.s.Scheduled(f.readTimer) {
		return
	}
	d := f.lastRecv + f.readLimit - s.now()
	f.readTimer = s.after(max(d, time.Microsecond), "zk.follower.read-timeout", func() {
		if s.fol != f {
			return
		}
		f.readTimer = sim.Timer{}
		if s.now()-f.lastRecv >= f.readLimit {
			s.s.Mark("zk.follower.read-timeout")
			s.leaveFollowing("Read timed out")
			return
		}
		f.armRead()
	})
}

// onFIN: the leader closed the connection (or refused it: its quorum port
// is not open yet, and the follower tries again).
func (f *follower) onFIN() {
	s := f.s
	limit := time.Duration(s.cfg.InitLimit) * s.cfg.TickTime
	if f.phase == fConnecting && f.st.in == 0 && f.tries < 5 && s.now()-f.started+s.cfg.LeaderConnectDelay < limit {
		s.s.Mark("zk.follower.connect-retry")
		f.st.id = 0
		s.after(s.cfg.LeaderConnectDelay, "zk.follower.connect", func() {
			if s.fol == f {
				f.connect()
			}
		})
		return
	}
	s.leaveFollowing("connection closed by the leader")
}

// leaveFollowing ends following and goes back to LOOKING.
func (s *Server) leaveFollowing(reason string) {
	f := s.fol
	if f == nil {
		return
	}
	s.s.Mark("zk.follower.left")
	s.trace("zk.follower.leave", uint64(f.leaderSid), func() string { return reason })
	if f.st.id != 0 {
		s.send(f.st.peer, &FIN{Conn: f.st.id})
	}
	s.startLooking(reason)
}

func (f *follower) onPacket(p *QuorumPacket) {
	s := f.s
	f.lastRecv = s.now()
	switch f.phase {
	case fConnecting:
		f.registered(p)
	case fSyncWait:
		f.syncStart(p)
	case fSyncing:
		f.syncPacket(p)
	case fBroadcast:
		f.processPacket(p)
	}
}

// registered handles LEADERINFO: the epoch the leader proposes.
func (f *follower) registered(p *QuorumPacket) {
	s := f.s
	if p.Type != LEADERINFO {
		s.leaveFollowing("expected LEADERINFO, got " + p.Type.String())
		return
	}
	f.newEpoch = p.Zxid.Epoch()
	f.newZxid = MakeZxid(f.newEpoch, 0)
	ack := s.currentEpoch
	switch {
	case f.newEpoch > s.acceptedEpoch:
		if !s.setAcceptedEpoch(f.newEpoch) {
			return
		}
	case f.newEpoch == s.acceptedEpoch:
		ack = -1 // already acknowledged this epoch: it cannot count twice
		s.s.Mark("zk.follower.epoch-already-accepted")
	default:
		s.leaveFollowing(fmt.Sprintf("Leaders epoch, %d is less than accepted epoch, %d", f.newEpoch, s.acceptedEpoch))
		return
	}
	f.phase = fSyncWait
	s.sendPacket(&f.st, &QuorumPacket{Type: ACKEPOCH, Zxid: s.db.tree.lastProcessed, Epoch: ack})
}

// syncStart handles the first packet of the synchronisation.
func (f *follower) syncStart(p *QuorumPacket) {
	s := f.s
	s.zab = Synchronization
	switch p.Type {
	case DIFF:
		f.snapNeeded, f.writeLog = false, true
	case SNAP:
		t, err := decodeSnapshot(p.Snapshot)
		if err != nil {
			s.leaveFollowing("bad snapshot from the leader: " + err.Error())
			return
		}
		t.lastProcessed = p.Zxid
		s.db.resetTo(t)
		f.snapNeeded, f.syncSnap, f.writeLog = true, true, false
		s.s.Mark("zk.follower.snap")
	case TRUNC:
		before := s.db.tree.lastProcessed
		res, err := s.db.truncate(p.Zxid)
		if err != nil {
			s.fatal(err)
			return
		}
		s.db.tree.lastProcessed = p.Zxid
		f.snapNeeded, f.writeLog = true, false
		s.s.Mark("zk.follower.trunc")
		if res.invalidSnaps > 0 || res.tornFiles > 0 {
			s.markLoad(res)
		}
		s.trace("zk.truncate", sim.Digest(uint64(before), uint64(p.Zxid)), func() string {
			return fmt.Sprintf("TRUNC: log truncated from %v to %v", before, p.Zxid)
		})
	default:
		s.leaveFollowing("Got unexpected packet from leader: " + p.Type.String())
		return
	}
	s.trace("zk.follower.sync", sim.Digest(uint64(p.Type), uint64(p.Zxid)), func() string {
		return fmt.Sprintf("%v %v from %d", p.Type, p.Zxid, f.leaderSid)
	})
	f.phase = fSyncing
}

// syncPacket handles the packets of the synchronisation until UPTODATE.
func (f *follower) syncPacket(p *QuorumPacket) {
	s := f.s
	switch p.Type {
	case PROPOSAL:
		f.notLogged = append(f.notLogged, p.Txn)
	case COMMIT:
		if !f.writeLog {
			if len(f.notLogged) > 0 && f.notLogged[0].Zxid == p.Zxid {
				t := f.notLogged[0]
				f.notLogged = f.notLogged[1:]
				s.db.applyUnlogged(t)
				s.apply(t)
			}
			return
		}
		f.committed = append(f.committed, p.Zxid)
	case NEWLEADER:
		if f.snapNeeded && !s.takeSnapshot(f.syncSnap) {
			return
		}
		f.writeLog = true
		for _, z := range f.committed {
			if len(f.notLogged) == 0 || f.notLogged[0].Zxid != z {
				continue
			}
			t := f.notLogged[0]
			f.notLogged = f.notLogged[1:]
			if err := s.db.append(t); err != nil {
				s.fatal(err)
				return
			}
			s.apply(t)
		}
		f.committed = nil
		if err := s.db.sync(); err != nil {
			s.fatal(err)
			return
		}
		if !s.setCurrentEpoch(f.newEpoch) {
			return
		}
		f.readLimit = time.Duration(s.cfg.SyncLimit) * s.cfg.TickTime
		s.sendPacket(&f.st, &QuorumPacket{Type: ACK, Zxid: f.newZxid})
	case UPTODATE:
		s.sendPacket(&f.st, &QuorumPacket{Type: ACK, Zxid: f.newZxid})
		f.phase = fBroadcast
		s.zab = Broadcast
		s.vote.peerEpoch = f.newEpoch
		s.s.Mark("zk.follower.broadcast")
		s.trace("zk.follower.uptodate", uint64(f.newEpoch), func() string {
			return fmt.Sprintf("up to date with %d in epoch %d at %v", f.leaderSid, f.newEpoch, s.db.tree.lastProcessed)
		})
		s.startServing()
		for _, t := range f.notLogged {
			if !f.logProposal(t) {
				return
			}
		}
		f.notLogged = nil
		for _, z := range f.committed {
			if !f.commit(z) {
				return
			}
		}
		f.committed = nil
	}
}

// logProposal logs a proposal (fsynced with forceSync) and acknowledges
// it.
func (f *follower) logProposal(t *Txn) bool {
	s := f.s
	if !s.logTxn(t) {
		return false
	}
	f.pending = append(f.pending, t)
	s.sendPacket(&f.st, &QuorumPacket{Type: ACK, Zxid: t.Zxid})
	return true
}

// commit applies the next pending proposal, which the COMMIT must name:
// ZooKeeper exits on a commit out of order.
func (f *follower) commit(z Zxid) bool {
	s := f.s
	if len(f.pending) == 0 {
		return true // committing a transaction it never saw: ignored, as ZooKeeper warns
	}
	if f.pending[0].Zxid != z {
		s.s.Fail("zk.unmatched-commit", fmt.Errorf("server %d: committing zxid %v but next pending txn %v", s.sid, z, f.pending[0].Zxid))
		s.fatal(fmt.Errorf("committing zxid %v but next pending txn %v", z, f.pending[0].Zxid))
		return false
	}
	t := f.pending[0]
	f.pending[0] = nil
	f.pending = f.pending[1:]
	s.apply(t)
	return true
}

// processPacket handles a packet in broadcast.
func (f *follower) processPacket(p *QuorumPacket) {
	s := f.s
	switch p.Type {
	case PING:
		touches := make([]SessionTouch, 0, len(f.touched))
		for _, id := range slices.Sorted(maps.Keys(f.touched)) {
			touches = append(touches, SessionTouch{SessionID: id, Timeout: f.touched[id]})
		}
		clear(f.touched)
		s.sendPacket(&f.st, &QuorumPacket{Type: PING, Zxid: p.Zxid, Touches: touches})
	case PROPOSAL:
		f.logProposal(p.Txn)
	case COMMIT:
		f.commit(p.Zxid)
	case REVALIDATE:
		conns := f.revalidate[p.SessionID]
		delete(f.revalidate, p.SessionID)
		for _, id := range conns {
			if c := s.cnxns[id]; c != nil {
				s.finishConnect(c, p.Valid)
			}
		}
	case SYNC:
		if len(s.syncs) > 0 {
			r := s.syncs[0]
			s.syncs = s.syncs[1:]
			s.syncDone(r.conn, r.xid)
		}
	}
	if s.fol == f {
		f.armRead()
	}
}

// forward sends a client's write (or sync) to the leader.
func (f *follower) forward(r *Request) {
	f.s.sendPacket(&f.st, &QuorumPacket{Type: REQUEST, Request: r})
}
