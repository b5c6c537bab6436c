package zookeeper

import (
	"cmp"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// The client side of a server (ZooKeeperServer with its ServerCnxns). A
// server serves only once it has synchronised with an established leader
// (or is one). A connection carries one session; its requests are
// answered in order: reads locally, from the server's own data tree (so
// possibly behind the leader, as in ZooKeeper), writes once their
// transaction commits and this server applies it, syncs once the leader
// has committed everything proposed before them. A connection idle for
// its session timeout is closed.

type cnxn struct {
	st          stream
	client      sim.NodeID
	session     int64
	timeout     int32 // negotiated, milliseconds
	established bool
	lastRecv    time.Duration
	queue       []*inflight
	dataW       map[string]bool
	childW      map[string]bool
}

type inflight struct {
	req        *Request
	done       bool
	reply      *Reply
	closeAfter bool
}

// syncRef names a sync request waiting for the leader's SYNC.
type syncRef struct {
	conn uint64
	xid  int32
}

func (s *Server) startServing() {
	s.serving = true
	s.bySession = make(map[int64]*cnxn)
	s.creating = make(map[int64]*cnxn)
	s.watches = watchManager{data: make(map[string]map[uint64]bool), child: make(map[string]map[uint64]bool)}
	s.syncs = nil
	s.scheduleCnxnTick()
}

// stopServing closes every client connection.
func (s *Server) stopServing() {
	for _, c := range s.sortedCnxns() {
		s.closeCnxn(c, true)
	}
	s.serving = false
	s.syncs = nil
	s.node.Cancel(s.cnxnTick)
}

func (s *Server) sortedCnxns() []*cnxn {
	cs := slices.Collect(maps.Values(s.cnxns))
	slices.SortFunc(cs, func(a, b *cnxn) int { return cmp.Compare(a.st.id, b.st.id) })
	return cs
}

// scheduleCnxnTick checks every tick for idle connections.
func (s *Server) scheduleCnxnTick() {
	s.cnxnTick = s.after(s.cfg.TickTime, "zk.cnxn.tick", func() {
		now := s.now()
		for _, c := range s.sortedCnxns() {
			if now-c.lastRecv > time.Duration(c.timeout)*time.Millisecond {
				s.s.Mark("zk.cnxn.idle-closed")
				s.closeCnxn(c, true)
			}
		}
		s.scheduleCnxnTick()
	})
}

func (s *Server) closeCnxn(c *cnxn, fin bool) {
	if s.cnxns[c.st.id] != c {
		return
	}
	delete(s.cnxns, c.st.id)
	if s.bySession[c.session] == c {
		delete(s.bySession, c.session)
	}
	if s.creating[c.session] == c {
		delete(s.creating, c.session)
	}
	s.watches.removeCnxn(c)
	if fin {
		s.send(c.client, &FIN{Conn: c.st.id})
	}
}

func (s *Server) reply(c *cnxn, r *Reply) {
	c.st.out++
	r.Conn, r.Seq = c.st.id, c.st.out
	s.send(c.client, r)
}

// onConnect opens a client connection: a new session is a createSession
// transaction; an existing one is revalidated by the leader.
func (s *Server) onConnect(from sim.NodeID, m *ConnectRequest) {
	if !s.serving {
		s.send(from, &FIN{Conn: m.Conn})
		return
	}
	if _, dup := s.cnxns[m.Conn]; dup || m.Seq != 1 {
		return
	}
	if m.LastZxidSeen > s.db.tree.lastProcessed {
		// The client has seen more than this server: it must try another.
		s.s.Mark("zk.cnxn.refused-client-ahead")
		s.send(from, &FIN{Conn: m.Conn})
		return
	}
	timeout := s.cfg.negotiate(time.Duration(m.TimeOut) * time.Millisecond)
	c := &cnxn{st: stream{id: m.Conn, peer: from, in: 1}, client: from, timeout: int32(timeout.Milliseconds()), lastRecv: s.now(),
		dataW: make(map[string]bool), childW: make(map[string]bool)}
	s.cnxns[c.st.id] = c
	if m.SessionID == 0 {
		c.session = s.nextSession
		s.nextSession++
		s.creating[c.session] = c
		s.s.Mark("zk.session.create")
		s.submitWrite(&Request{Type: OpCreateSession, SessionID: c.session, Timeout: c.timeout}, c.session)
		return
	}
	c.session = m.SessionID
	s.s.Mark("zk.session.reconnect")
	switch {
	case s.lead != nil:
		valid := s.lead.tracker.touch(c.session, c.timeout)
		if valid {
			s.lead.tracker.setOwner(c.session, s.sid)
		}
		s.finishConnect(c, valid)
	case s.fol != nil:
		f := s.fol
		f.revalidate[c.session] = append(f.revalidate[c.session], c.st.id)
		s.sendPacket(&f.st, &QuorumPacket{Type: REVALIDATE, SessionID: c.session, Timeout: c.timeout})
	}
}

// finishConnect answers a ConnectRequest: the negotiated timeout, or 0
// for a session that has expired (the connection then closes).
func (s *Server) finishConnect(c *cnxn, valid bool) {
	if s.cnxns[c.st.id] != c {
		return
	}
	if !valid {
		s.s.Mark("zk.session.revalidate.expired")
		c.st.out++
		s.send(c.client, &ConnectResponse{Conn: c.st.id, Seq: c.st.out, TimeOut: 0, SessionID: c.session})
		s.closeCnxn(c, true)
		return
	}
	if old := s.bySession[c.session]; old != nil && old != c {
		s.closeCnxn(old, true)
	}
	c.established = true
	s.bySession[c.session] = c
	c.st.out++
	s.send(c.client, &ConnectResponse{Conn: c.st.id, Seq: c.st.out, TimeOut: c.timeout, SessionID: c.session})
}

func (s *Server) onRequest(from sim.NodeID, r *Request) {
	c := s.cnxns[r.Conn]
	if c == nil || c.client != from || !c.established {
		if c == nil {
			s.send(from, &FIN{Conn: r.Conn})
		}
		return
	}
	ok, broken := c.st.accept(r.Seq)
	if broken {
		s.closeCnxn(c, true)
		return
	}
	if !ok {
		return
	}
	c.lastRecv = s.now()
	s.touch(c)
	in := &inflight{req: r}
	c.queue = append(c.queue, in)
	switch {
	case r.Type == OpSync:
		if s.lead != nil {
			s.lead.processSync(syncTarget{conn: c.st.id, xid: r.Xid})
		} else if s.fol != nil {
			s.syncs = append(s.syncs, syncRef{c.st.id, r.Xid})
			s.fol.forward(&Request{Xid: r.Xid, Type: OpSync, Path: r.Path, SessionID: c.session})
		}
	case r.Type.write():
		fw := *r
		fw.Conn, fw.Seq, fw.SessionID = 0, 0, c.session
		if r.Type == OpCloseSession {
			in.closeAfter = true
		}
		s.submitWrite(&fw, c.session)
	}
	s.drain(c)
}

// touch records client activity on a session.
func (s *Server) touch(c *cnxn) {
	switch {
	case s.lead != nil && s.lead.tracker != nil:
		s.lead.tracker.touch(c.session, c.timeout)
	case s.fol != nil:
		s.fol.touched[c.session] = c.timeout
	}
}

// submitWrite hands a write to the leader: prepped here on the leader,
// forwarded in a REQUEST on a follower.
func (s *Server) submitWrite(r *Request, session int64) {
	switch {
	case s.lead != nil:
		s.lead.submit(r, session, s.sid)
	case s.fol != nil:
		s.fol.forward(r)
	}
}

// drain answers the requests at the head of a connection's queue that can
// be answered: reads at once, writes and syncs once done.
func (s *Server) drain(c *cnxn) {
	for len(c.queue) > 0 && s.cnxns[c.st.id] == c {
		in := c.queue[0]
		if in.req.Type.write() || in.req.Type == OpSync {
			if !in.done {
				return
			}
		} else {
			in.reply = s.read(c, in.req)
		}
		c.queue[0] = nil
		c.queue = c.queue[1:]
		if in.reply != nil {
			s.reply(c, in.reply)
		}
		if in.closeAfter {
			s.closeCnxn(c, true)
		}
	}
}

// read serves a read from the local tree and registers its watch.
func (s *Server) read(c *cnxn, r *Request) *Reply {
	t := s.db.tree
	rep := &Reply{Xid: r.Xid, Zxid: t.lastProcessed}
	switch r.Type {
	case OpPing:
	case OpSetWatches:
		s.setWatches(c, r)
	case OpExists:
		n, ok := t.nodes[r.Path]
		if r.Watch {
			s.watches.add(c, r.Path, false)
		}
		if !ok {
			rep.Err = NoNode
		} else {
			rep.Stat = n.fullStat()
		}
	case OpGetData:
		n, ok := t.nodes[r.Path]
		if !ok {
			rep.Err = NoNode
			break
		}
		rep.Data, rep.Stat = n.data, n.fullStat()
		if r.Watch {
			s.watches.add(c, r.Path, false)
		}
	case OpGetChildren:
		kids, st, ok := t.Children(r.Path)
		if !ok {
			rep.Err = NoNode
			break
		}
		rep.Children, rep.Stat = kids, st
		if r.Watch {
			s.watches.add(c, r.Path, true)
		}
	default:
		rep.Err = Unimplemented
	}
	return rep
}

// setWatches re-registers a reconnecting client's watches, firing at once
// those whose znode changed since the zxid the client last saw.
func (s *Server) setWatches(c *cnxn, r *Request) {
	t := s.db.tree
	var fire []*WatcherEvent
	for _, p := range r.DataWatches {
		switch n, ok := t.nodes[p]; {
		case !ok:
			fire = append(fire, &WatcherEvent{Type: EventNodeDeleted, Path: p})
		case n.stat.Mzxid > r.RelativeZxid:
			fire = append(fire, &WatcherEvent{Type: EventNodeDataChanged, Path: p})
		default:
			s.watches.add(c, p, false)
		}
	}
	for _, p := range r.ExistWatches {
		if _, ok := t.nodes[p]; ok {
			fire = append(fire, &WatcherEvent{Type: EventNodeCreated, Path: p})
		} else {
			s.watches.add(c, p, false)
		}
	}
	for _, p := range r.ChildWatches {
		switch n, ok := t.nodes[p]; {
		case !ok:
			fire = append(fire, &WatcherEvent{Type: EventNodeDeleted, Path: p})
		case n.stat.Pzxid > r.RelativeZxid:
			fire = append(fire, &WatcherEvent{Type: EventNodeChildrenChanged, Path: p})
		default:
			s.watches.add(c, p, true)
		}
	}
	for _, ev := range fire {
		s.s.Mark("zk.watch.set-watches-fired")
		ev.State = StateSyncConnected
		c.st.out++
		ev.Conn, ev.Seq = c.st.id, c.st.out
		s.send(c.client, ev)
	}
}

// answer gives a committed transaction's result to its client, if it is
// connected here, and closes the connection of a session that closed.
func (s *Server) answer(t *Txn, r txnResult) {
	if t.Type == OpCreateSession {
		if c := s.creating[t.Session]; c != nil {
			delete(s.creating, t.Session)
			s.finishConnect(c, true)
		}
		return
	}
	c := s.bySession[t.Session]
	if c == nil {
		return
	}
	for _, in := range c.queue {
		if in.done || !in.req.Type.write() {
			continue
		}
		if in.req.Xid != t.Cxid {
			break
		}
		in.done = true
		in.reply = &Reply{Xid: t.Cxid, Zxid: t.Zxid, Err: r.err, Path: r.path, Stat: r.stat, Results: r.results}
		break
	}
	s.drain(c)
	if t.Type == OpCloseSession && s.cnxns[c.st.id] == c {
		// Expired by the leader (or closed from another server).
		s.closeCnxn(c, true)
	}
}

// syncDone completes a sync request.
func (s *Server) syncDone(conn uint64, xid int32) {
	c := s.cnxns[conn]
	if c == nil {
		return
	}
	for _, in := range c.queue {
		if in.req.Type == OpSync && !in.done && in.req.Xid == xid {
			in.done = true
			in.reply = &Reply{Xid: xid, Zxid: s.db.tree.lastProcessed, Path: in.req.Path}
			break
		}
	}
	s.drain(c)
}

// watchManager holds a server's watches: one-shot data watches (set by
// getData and exists) and child watches (set by getChildren), per path,
// by connection.
type watchManager struct {
	data, child map[string]map[uint64]bool
}

func (w *watchManager) add(c *cnxn, path string, child bool) {
	m, own := w.data, c.dataW
	if child {
		m, own = w.child, c.childW
	}
	if m[path] == nil {
		m[path] = make(map[uint64]bool)
	}
	m[path][c.st.id] = true
	own[path] = true
}

func (w *watchManager) removeCnxn(c *cnxn) {
	for p := range c.dataW {
		delete(w.data[p], c.st.id)
		if len(w.data[p]) == 0 {
			delete(w.data, p)
		}
	}
	for p := range c.childW {
		delete(w.child[p], c.st.id)
		if len(w.child[p]) == 0 {
			delete(w.child, p)
		}
	}
}

// take removes and returns the watchers of a path.
func (w *watchManager) take(path string, child bool, into map[uint64]bool) {
	m := w.data
	if child {
		m = w.child
	}
	for id := range m[path] {
		into[id] = true
	}
	delete(m, path)
}

// fire sends the events the application of a transaction triggers, each
// watch once.
func (w *watchManager) fire(s *Server, triggers []watchTrigger) {
	for _, tr := range triggers {
		ids := make(map[uint64]bool)
		w.take(tr.path, tr.child, ids)
		if tr.both {
			w.take(tr.path, true, ids)
		}
		for _, id := range slices.Sorted(maps.Keys(ids)) {
			c := s.cnxns[id]
			if c == nil {
				continue
			}
			if tr.child || tr.both {
				delete(c.childW, tr.path)
			}
			if !tr.child {
				delete(c.dataW, tr.path)
			}
			s.s.Mark("zk.watch.fired")
			c.st.out++
			s.send(c.client, &WatcherEvent{Conn: c.st.id, Seq: c.st.out, Type: tr.typ, State: StateSyncConnected, Path: tr.path})
		}
	}
}
