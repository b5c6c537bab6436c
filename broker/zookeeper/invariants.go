package zookeeper

import (
	"fmt"
	"maps"
	"slices"
)

// Checker checks ZooKeeper's safety properties over the servers' state. It
// remembers what it has seen, so call Check after every step (Sim.AddCheck)
// with the servers running then:
//
//   - one leader per epoch: no two servers establish (a quorum of ACKEPOCH)
//     the same epoch;
//   - one history: a zxid names one transaction everywhere, with the same
//     history before it, in every server's log and data tree; two data
//     trees that have processed the same zxid are equal;
//   - committed transactions are never lost: every transaction a leader
//     commits lies on the history of every later commit, and a server that
//     has synchronised with the leader of a later epoch holds it;
//   - ephemeral znodes belong to live sessions: no data tree holds an
//     ephemeral znode of a session it does not know (closed or expired).
type Checker struct {
	leaders   map[int64]int64 // epoch → the server that established it
	txns      map[Zxid]txnRecord
	trees     map[Zxid]uint64
	committed []Zxid // commit points seen, increasing
	cursors   map[*Server]cursor
	verified  map[*Server]memo
	commitOK  map[*Server]Zxid
}

type txnRecord struct {
	digest, chain uint64
	prev          Zxid
}

type cursor struct {
	gen  uint64
	next int
}

type memo struct{ y, c Zxid }

// NewChecker returns a checker that has seen nothing yet.
func NewChecker() *Checker {
	return &Checker{
		leaders: make(map[int64]int64), txns: make(map[Zxid]txnRecord), trees: make(map[Zxid]uint64),
		cursors: make(map[*Server]cursor), verified: make(map[*Server]memo), commitOK: make(map[*Server]Zxid),
	}
}

// Committed returns the commit points the checker has seen.
func (k *Checker) Committed() []Zxid { return slices.Clone(k.committed) }

// Check checks the invariants over the running servers (nil entries and
// stopped servers are skipped).
func (k *Checker) Check(servers []*Server) error {
	live := make(map[*Server]bool, len(servers))
	var ss []*Server
	for _, s := range servers {
		if s != nil && s.err == nil {
			live[s] = true
			ss = append(ss, s)
		}
	}
	for s := range k.cursors {
		if !live[s] {
			delete(k.cursors, s)
			delete(k.verified, s)
			delete(k.commitOK, s)
		}
	}
	for _, s := range ss {
		if err := k.checkLeader(s); err != nil {
			return err
		}
		if err := k.scanHistory(s); err != nil {
			return err
		}
	}
	for _, s := range ss {
		if err := k.checkTree(s); err != nil {
			return err
		}
		if err := k.checkCommits(s); err != nil {
			return err
		}
	}
	for _, s := range ss {
		if err := k.checkSynced(s); err != nil {
			return err
		}
	}
	return nil
}

func (k *Checker) checkLeader(s *Server) error {
	epoch, ok := s.Established()
	if !ok {
		return nil
	}
	if other, seen := k.leaders[epoch]; seen && other != s.sid {
		return fmt.Errorf("one leader per epoch: servers %d and %d both established epoch %d", other, s.sid, epoch)
	}
	k.leaders[epoch] = s.sid
	return nil
}

// scanHistory checks the transactions a server's history gained since the
// last step.
func (k *Checker) scanHistory(s *Server) error {
	db := s.db
	cur := k.cursors[s]
	if cur.gen != db.histGen || cur.next < db.histStart {
		cur = cursor{gen: db.histGen, next: db.histStart}
	}
	for i := cur.next - db.histStart; i < len(db.hist); i++ {
		e := db.hist[i]
		rec, ok := k.txns[e.zxid]
		if !ok {
			k.txns[e.zxid] = txnRecord{digest: e.digest, chain: e.chain, prev: e.prev}
			continue
		}
		if rec.digest != e.digest {
			return fmt.Errorf("one history: server %d holds another transaction at zxid %v than was seen before", s.sid, e.zxid)
		}
		if rec.chain != e.chain || rec.prev != e.prev {
			return fmt.Errorf("one history: server %d holds zxid %v after %v, with a history that differs from the one seen before (after %v)", s.sid, e.zxid, e.prev, rec.prev)
		}
	}
	cur.next = db.histStart + len(db.hist)
	k.cursors[s] = cur
	return nil
}

func (k *Checker) checkTree(s *Server) error {
	t := s.db.tree
	if d, ok := k.trees[t.lastProcessed]; ok && d != t.digest {
		return fmt.Errorf("one history: server %d's data tree at zxid %v differs from another server's at the same zxid", s.sid, t.lastProcessed)
	}
	k.trees[t.lastProcessed] = t.digest
	if rec, ok := k.txns[t.lastTxn]; ok && rec.chain != t.chain {
		return fmt.Errorf("one history: server %d's data tree has applied zxid %v after a history that differs from its log's", s.sid, t.lastTxn)
	}
	for owner := range t.ephemerals {
		if _, live := t.sessions[owner]; !live {
			paths := slices.Sorted(maps.Keys(t.ephemerals[owner]))
			return fmt.Errorf("ephemerals of live sessions: server %d holds ephemeral znodes %v of session 0x%x, which is closed", s.sid, paths, owner)
		}
	}
	return nil
}

// ancestor reports whether a is on the history that ends at y, following
// the transactions' predecessors; unknown when the walk leaves what the
// checker has seen.
func (k *Checker) ancestor(a, y Zxid) (on, known bool) {
	cur := y
	for cur > a {
		rec, ok := k.txns[cur]
		if !ok {
			return false, false
		}
		cur = rec.prev
	}
	return cur == a, true
}

// checkCommits records a leader's commit point, which must extend (or lie
// on) the history of every commit seen before.
func (k *Checker) checkCommits(s *Server) error {
	lc := s.LastCommitted()
	if lc <= 0 || lc.Counter() == 0 || k.commitOK[s] == lc {
		return nil
	}
	n := len(k.committed)
	switch {
	case n == 0:
		k.committed = append(k.committed, lc)
	case lc > k.committed[n-1]:
		if on, known := k.ancestor(k.committed[n-1], lc); known && !on {
			return fmt.Errorf("committed never lost: leader %d committed %v on a history without %v, committed before", s.sid, lc, k.committed[n-1])
		}
		k.committed = append(k.committed, lc)
	default:
		if on, known := k.ancestor(lc, k.committed[n-1]); known && !on {
			return fmt.Errorf("committed never lost: leader %d committed %v, which the history of the later commit %v does not hold", s.sid, lc, k.committed[n-1])
		}
	}
	k.commitOK[s] = lc
	return nil
}

// checkSynced checks that a server that has synchronised with the leader
// of an epoch holds everything committed in earlier epochs.
func (k *Checker) checkSynced(s *Server) error {
	if s.zab != Broadcast || len(k.committed) == 0 {
		return nil
	}
	bound := MakeZxid(s.currentEpoch, 0)
	i, _ := slices.BinarySearch(k.committed, bound)
	if i == 0 {
		return nil
	}
	c := k.committed[i-1]
	t := s.db.tree
	if t.lastProcessed < c {
		return fmt.Errorf("committed never lost: server %d serves epoch %d at zxid %v, without %v committed in epoch %d", s.sid, s.currentEpoch, t.lastProcessed, c, c.Epoch())
	}
	y := t.lastTxn
	m := k.verified[s]
	if m.c == c && m.y == y {
		return nil
	}
	if m.c == c && m.y > 0 && m.y < y {
		if on, known := k.ancestor(m.y, y); on || !known {
			k.verified[s] = memo{y: y, c: c}
			return nil
		}
	}
	if on, known := k.ancestor(c, y); known && !on {
		return fmt.Errorf("committed never lost: server %d serves epoch %d with a history that does not hold %v, committed in epoch %d", s.sid, s.currentEpoch, c, c.Epoch())
	}
	k.verified[s] = memo{y: y, c: c}
	return nil
}
