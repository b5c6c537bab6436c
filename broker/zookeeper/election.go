package zookeeper

import (
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// election is fast leader election (FastLeaderElection). A LOOKING server
// starts a round (its logical clock), votes for itself with its last
// logged zxid and its current epoch, and tells every server. A vote for a
// better candidate — higher epoch, then higher zxid, then higher id —
// replaces its own and is sent on. Once a quorum agrees with its vote it
// waits finalizeWait for a better one and then leads or follows. Servers
// already FOLLOWING or LEADING answer with the leader they know, and a
// quorum of such answers naming a LEADING server lets a LOOKING server
// join an established ensemble. A server that hears nothing resends its
// vote after a timeout that doubles up to maxNotificationInterval.
type election struct {
	s            *Server
	logicalclock int64
	proposed     vote
	recvset      map[int64]vote
	outofelec    map[int64]vote
	notTimeout   time.Duration
	timer        sim.Timer
	finalizing   bool
	finalTimer   sim.Timer
}

// lookForLeader starts a new round.
func (e *election) lookForLeader() {
	s := e.s
	e.logicalclock++
	e.recvset = make(map[int64]vote)
	e.outofelec = make(map[int64]vote)
	e.notTimeout = s.cfg.FinalizeWait
	e.finalizing = false
	e.proposed = vote{leader: s.sid, zxid: s.db.tree.lastProcessed, peerEpoch: s.currentEpoch}
	s.s.Mark("zk.election.round")
	e.sendNotifications()
	e.armTimer()
}

func (e *election) armTimer() {
	s := e.s
	s.node.Cancel(e.timer)
	e.timer = s.after(e.notTimeout, "zk.election.timeout", e.onTimeout)
}

// onTimeout resends the vote when nothing arrived for notTimeout.
func (e *election) onTimeout() {
	e.s.s.Mark("zk.election.notification-timeout")
	e.sendNotifications()
	e.notTimeout = min(2*e.notTimeout, e.s.cfg.MaxNotificationInterval)
	e.armTimer()
}

func (e *election) notification() *Notification {
	return &Notification{Leader: e.proposed.leader, Zxid: e.proposed.zxid, ElectionEpoch: e.logicalclock,
		State: Looking, Sid: e.s.sid, PeerEpoch: e.proposed.peerEpoch}
}

// sendNotifications sends the vote to every server, this one included (a
// server hears its own vote through its queue, as ZooKeeper's connection
// manager loops it back).
func (e *election) sendNotifications() {
	s := e.s
	for _, sid := range s.sids {
		n := e.notification()
		if sid == s.sid {
			s.after(0, "zk.election.self", func() { e.handle(n) })
			continue
		}
		s.send(s.servers[sid], n)
	}
}

// receive handles a notification from another server, as the WorkerReceiver
// does: a server out of election answers a LOOKING sender with the leader
// it follows, and a LOOKING server answers a sender of an older round with
// its own vote.
func (e *election) receive(from sim.NodeID, n *Notification) {
	s := e.s
	if !s.isVoter(n.Sid) || !s.isVoter(n.Leader) {
		return
	}
	if s.state != Looking {
		if n.State == Looking {
			s.send(from, &Notification{Leader: s.vote.leader, Zxid: s.vote.zxid, ElectionEpoch: s.vote.electionEpoch,
				State: s.state, Sid: s.sid, PeerEpoch: s.vote.peerEpoch})
		}
		return
	}
	if n.State == Looking && n.ElectionEpoch < e.logicalclock {
		s.send(from, e.notification())
	}
	e.handle(n)
}

// totalOrder reports whether the vote (id, zxid, epoch) beats the current
// one: higher epoch, then higher zxid, then higher id.
func totalOrder(newID int64, newZxid Zxid, newEpoch int64, curID int64, curZxid Zxid, curEpoch int64) bool {
	return newEpoch > curEpoch || (newEpoch == curEpoch && (newZxid > curZxid || (newZxid == curZxid && newID > curID)))
}

func (e *election) better(n *Notification) bool {
	return totalOrder(n.Leader, n.Zxid, n.PeerEpoch, e.proposed.leader, e.proposed.zxid, e.proposed.peerEpoch)
}

// handle is one turn of lookForLeader's loop.
func (e *election) handle(n *Notification) {
	s := e.s
	if s.state != Looking || s.err != nil {
		return
	}
	e.armTimer()
	if e.finalizing {
		if !e.better(n) {
			// Consumed while waiting for a better vote.
			s.node.Cancel(e.finalTimer)
			e.finalTimer = s.after(s.cfg.FinalizeWait, "zk.election.finalize", e.finalize)
			return
		}
		s.s.Mark("zk.election.better-vote-while-finalizing")
		e.finalizing = false
		s.node.Cancel(e.finalTimer)
	}
	switch n.State {
	case Looking:
		switch {
		case n.ElectionEpoch > e.logicalclock:
			e.logicalclock = n.ElectionEpoch
			clear(e.recvset)
			if totalOrder(n.Leader, n.Zxid, n.PeerEpoch, s.sid, s.db.tree.lastProcessed, s.currentEpoch) {
				e.proposed = vote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch}
			} else {
				e.proposed = vote{leader: s.sid, zxid: s.db.tree.lastProcessed, peerEpoch: s.currentEpoch}
			}
			e.sendNotifications()
		case n.ElectionEpoch < e.logicalclock:
			return
		case e.better(n):
			e.proposed = vote{leader: n.Leader, zxid: n.Zxid, peerEpoch: n.PeerEpoch}
			e.sendNotifications()
		}
		e.recvset[n.Sid] = vote{leader: n.Leader, zxid: n.Zxid, electionEpoch: n.ElectionEpoch, peerEpoch: n.PeerEpoch, state: Looking}
		mine := vote{leader: e.proposed.leader, zxid: e.proposed.zxid, electionEpoch: e.logicalclock, peerEpoch: e.proposed.peerEpoch, state: Looking}
		if e.agree(e.recvset, mine) {
			e.finalizing = true
			e.finalTimer = s.after(s.cfg.FinalizeWait, "zk.election.finalize", e.finalize)
		}
	case Following, Leading:
		v := vote{leader: n.Leader, zxid: n.Zxid, electionEpoch: n.ElectionEpoch, peerEpoch: n.PeerEpoch, state: n.State}
		if n.ElectionEpoch == e.logicalclock {
			e.recvset[n.Sid] = v
			if e.agree(e.recvset, v) && e.checkLeader(e.recvset, n.Leader, n.ElectionEpoch) {
				s.s.Mark("zk.election.joined-round")
				e.decide(v)
				return
			}
		}
		e.outofelec[n.Sid] = v
		if e.agree(e.outofelec, v) && e.checkLeader(e.outofelec, n.Leader, n.ElectionEpoch) {
			e.logicalclock = n.ElectionEpoch
			s.s.Mark("zk.election.joined-established")
			e.decide(v)
		}
	}
}

// equal compares votes as ZooKeeper's Vote.equals: a vote of a server out
// of election agrees on the leader and its epoch only.
func (v vote) equal(o vote) bool {
	if v.state == Looking || o.state == Looking {
		return v.leader == o.leader && v.zxid == o.zxid && v.electionEpoch == o.electionEpoch && v.peerEpoch == o.peerEpoch
	}
	return v.leader == o.leader && v.peerEpoch == o.peerEpoch
}

// agree is termPredicate: a quorum of the votes equals v.
func (e *election) agree(votes map[int64]vote, v vote) bool {
	set := make(map[int64]bool, len(votes))
	for sid, x := range votes {
		if x.equal(v) {
			set[sid] = true
		}
	}
	return e.s.quorum(set)
}

// checkLeader makes sure the proposed leader is really leading (or, for
// this server, that the round is its own).
func (e *election) checkLeader(votes map[int64]vote, leader, electionEpoch int64) bool {
	if leader != e.s.sid {
		v, ok := votes[leader]
		return ok && v.state == Leading
	}
	return e.logicalclock == electionEpoch
}

// finalize ends the round with the proposal: no better vote came within
// finalizeWait.
func (e *election) finalize() {
	if !e.finalizing {
		return
	}
	e.decide(vote{leader: e.proposed.leader, zxid: e.proposed.zxid, electionEpoch: e.logicalclock, peerEpoch: e.proposed.peerEpoch})
}

func (e *election) decide(v vote) {
	s := e.s
	s.node.Cancel(e.timer)
	s.node.Cancel(e.finalTimer)
	e.finalizing = false
	v.electionEpoch = max(v.electionEpoch, 0)
	s.decided(v)
}
