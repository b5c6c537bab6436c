package zookeeper

import (
	"fmt"
	"maps"
	"slices"
)

// The leader's PrepRequestProcessor: a request becomes a transaction. The
// conditions of a write (the znode exists or not, its version, its
// parent's kind, the session's validity and owner) are checked against the
// committed tree as the outstanding changes of earlier, not yet applied
// transactions leave it, so that two conditional writes proposed back to
// back see each other. A request that fails becomes an error transaction,
// proposed and committed like any other: it takes a zxid and keeps the
// session's answers in order.

// changeRecord is what an outstanding transaction does to one znode; stat
// nil means the znode is deleted.
type changeRecord struct {
	zxid       Zxid
	path       string
	stat       *Stat
	childCount int32
}

// submit turns a request into a transaction and proposes it.
func (l *leader) submit(r *Request, session int64, owner int64) {
	if !l.quorumFormed {
		return
	}
	l.propose(l.prep(r, session, owner))
}

// expire closes a session the tracker found expired: a closeSession
// transaction that deletes its ephemeral znodes.
func (l *leader) expire(id int64) {
	l.s.s.Mark("zk.session.expired")
	l.s.trace("zk.session.expire", uint64(id), func() string { return fmt.Sprintf("session 0x%x expired", id) })
	l.propose(l.prep(&Request{Type: OpCloseSession}, id, -1))
}

func (l *leader) prep(r *Request, session int64, owner int64) *Txn {
	s := l.s
	t := &Txn{Session: session, Cxid: r.Xid, Zxid: l.nextZxid(), Time: s.nowMillis(), Type: r.Type}
	var err Code
	switch r.Type {
	case OpCreateSession:
		t.Timeout = r.Timeout
		l.tracker.add(session, r.Timeout)
		l.tracker.setOwner(session, owner)
	case OpCloseSession:
		l.prepCloseSession(t)
	case OpMulti:
		err = l.prepMulti(t, r, session, owner)
	case OpCreate, OpDelete, OpSetData, OpCheck:
		err = l.prepOp(t, t, Op{Type: r.Type, Path: r.Path, Data: r.Data, Version: r.Version, Mode: r.Mode}, session, owner)
	default:
		err = Unimplemented
	}
	if err != Ok {
		e := &Txn{Session: t.Session, Cxid: t.Cxid, Zxid: t.Zxid, Time: t.Time, Type: OpError, Err: err}
		if r.Type == OpMulti {
			e.Type, e.Ops = OpMulti, t.Ops
		}
		t = e
	}
	return t.finish()
}

// prepMulti preps each operation of a multi with the multi's zxid; at the
// first failure the changes the multi made are rolled back and every
// operation becomes an error.
func (l *leader) prepMulti(t *Txn, r *Request, session, owner int64) Code {
	start := len(l.changes)
	var undo []undoChange
	l.undo = &undo
	defer func() { l.undo = nil }()
	var failed Code
	for _, o := range r.Ops {
		sub := &Txn{Type: o.Type}
		if failed != Ok {
			t.Ops = append(t.Ops, &Txn{Type: OpError, Err: RuntimeInconsistency})
			continue
		}
		if o.Type != OpCreate && o.Type != OpDelete && o.Type != OpSetData && o.Type != OpCheck {
			failed = Unimplemented
		} else {
			failed = l.prepOp(t, sub, o, session, owner)
		}
		if failed != Ok {
			t.Ops = append(t.Ops, &Txn{Type: OpError, Err: failed})
			// Roll back what this multi changed.
			clear(l.changes[start:])
			l.changes = l.changes[:start]
			for i := len(undo) - 1; i >= 0; i-- {
				if u := undo[i]; u.prior != nil {
					l.changesForPath[u.path] = u.prior
				} else {
					delete(l.changesForPath, u.path)
				}
			}
			l.s.s.Mark("zk.multi.failed")
			continue
		}
		t.Ops = append(t.Ops, sub)
	}
	return failed
}

// undoChange is the outstanding change a multi replaced for a path.
type undoChange struct {
	path  string
	prior *changeRecord
}

func (l *leader) record(path string) (*changeRecord, Code) {
	if c, ok := l.changesForPath[path]; ok {
		if c.stat == nil {
			return nil, NoNode
		}
		return c, Ok
	}
	n, ok := l.s.db.tree.nodes[path]
	if !ok {
		return nil, NoNode
	}
	st := n.stat
	return &changeRecord{zxid: -1, path: path, stat: &st, childCount: int32(len(n.children))}, Ok
}

func (l *leader) addChange(c *changeRecord) {
	if l.undo != nil {
		*l.undo = append(*l.undo, undoChange{c.path, l.changesForPath[c.path]})
	}
	l.changes = append(l.changes, c)
	l.changesForPath[c.path] = c
}

func (c *changeRecord) dup(zxid Zxid) *changeRecord {
	st := *c.stat
	return &changeRecord{zxid: zxid, path: c.path, stat: &st, childCount: c.childCount}
}

func checkVersion(current, expected int32) (int32, Code) {
	if expected != -1 && expected != current {
		return 0, BadVersion
	}
	return current + 1, Ok
}

// prepOp preps a create, delete, setData or check into sub, with the
// header of t.
func (l *leader) prepOp(t, sub *Txn, o Op, session, owner int64) Code {
	if code := l.tracker.check(session, owner); code != Ok {
		return code
	}
	z := t.Zxid
	switch o.Type {
	case OpCreate:
		if validatePath(o.Path, o.Mode.IsSequential()) != nil {
			return BadArguments
		}
		pp := parentOf(o.Path)
		parent, code := l.record(pp)
		if code != Ok {
			return code
		}
		path := o.Path
		if o.Mode.IsSequential() {
			path = fmt.Sprintf("%s%010d", path, parent.stat.Cversion)
		}
		if validatePath(path, false) != nil {
			return BadArguments
		}
		if _, code := l.record(path); code == Ok {
			return NodeExists
		}
		if parent.stat.EphemeralOwner != 0 {
			return NoChildrenForEphemerals
		}
		newCversion := parent.stat.Cversion + 1
		sub.Type, sub.Path, sub.Data, sub.Ephemeral, sub.ParentCVersion = OpCreate, path, o.Data, o.Mode.IsEphemeral(), newCversion
		pr := parent.dup(z)
		pr.childCount++
		pr.stat.Cversion = newCversion
		pr.stat.Pzxid = z
		l.addChange(pr)
		st := &Stat{Czxid: z, Mzxid: z, Pzxid: z, Ctime: t.Time, Mtime: t.Time}
		if o.Mode.IsEphemeral() {
			st.EphemeralOwner = session
		}
		l.addChange(&changeRecord{zxid: z, path: path, stat: st})
	case OpDelete:
		if validatePath(o.Path, false) != nil || o.Path == rootPath {
			return BadArguments
		}
		parent, code := l.record(parentOf(o.Path))
		if code != Ok {
			return code
		}
		n, code := l.record(o.Path)
		if code != Ok {
			return code
		}
		if _, code := checkVersion(n.stat.Version, o.Version); code != Ok {
			return code
		}
		if n.childCount > 0 {
			return NotEmpty
		}
		sub.Type, sub.Path = OpDelete, o.Path
		pr := parent.dup(z)
		pr.childCount--
		pr.stat.Pzxid = z
		l.addChange(pr)
		l.addChange(&changeRecord{zxid: z, path: o.Path})
	case OpSetData:
		if validatePath(o.Path, false) != nil {
			return BadArguments
		}
		n, code := l.record(o.Path)
		if code != Ok {
			return code
		}
		v, code := checkVersion(n.stat.Version, o.Version)
		if code != Ok {
			return code
		}
		sub.Type, sub.Path, sub.Data, sub.Version = OpSetData, o.Path, o.Data, v
		nr := n.dup(z)
		nr.stat.Version = v
		nr.stat.Mzxid = z
		nr.stat.Mtime = t.Time
		l.addChange(nr)
	case OpCheck:
		if validatePath(o.Path, false) != nil {
			return BadArguments
		}
		n, code := l.record(o.Path)
		if code != Ok {
			return code
		}
		v, code := checkVersion(n.stat.Version, o.Version)
		if code != Ok {
			return code
		}
		sub.Type, sub.Path, sub.Version = OpCheck, o.Path, v
	}
	return Ok
}

// prepCloseSession collects the session's ephemeral znodes, those in the
// tree and those outstanding transactions create, and marks the session
// closing so that it takes no more requests.
func (l *leader) prepCloseSession(t *Txn) {
	es := make(map[string]bool)
	for p := range l.s.db.tree.ephemerals[t.Session] {
		es[p] = true
	}
	for _, c := range l.changes {
		switch {
		case c.stat == nil:
			delete(es, c.path)
		case c.stat.EphemeralOwner == t.Session:
			es[c.path] = true
		}
	}
	t.Paths = slices.Sorted(maps.Keys(es))
	for _, p := range t.Paths {
		if parent, code := l.record(parentOf(p)); code == Ok {
			pr := parent.dup(t.Zxid)
			pr.childCount--
			pr.stat.Pzxid = t.Zxid
			l.addChange(pr)
		}
		l.addChange(&changeRecord{zxid: t.Zxid, path: p})
	}
	if l.tracker != nil {
		l.tracker.setClosing(t.Session)
	}
}
