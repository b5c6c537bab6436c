package zookeeper

import (
	"maps"
	"slices"
	"time"
)

// sessionTracker is the leader's SessionTrackerImpl: it decides when
// sessions expire. Every touch (a request or ping of the session's client,
// on the leader itself or reported by a learner in its answer to a PING)
// moves the session's expiry to the next tick boundary after now plus its
// timeout; at every tick boundary the sessions due expire, each with a
// closeSession transaction. A new leader tracks the sessions of its data
// tree, each with a full timeout from the moment it starts.
type sessionTracker struct {
	s        *Server
	interval time.Duration
	sessions map[int64]*trackedSession
}

type trackedSession struct {
	timeout  int32 // milliseconds
	expireAt time.Duration
	closing  bool
	owner    int64 // the server the session's client is connected to; -1 unknown
}

func newSessionTracker(s *Server, sessions map[int64]int32) *sessionTracker {
	t := &sessionTracker{s: s, interval: s.cfg.TickTime, sessions: make(map[int64]*trackedSession)}
	for _, id := range slices.Sorted(maps.Keys(sessions)) {
		t.add(id, sessions[id])
	}
	t.schedule()
	return t
}

func (t *sessionTracker) roundToNextInterval(at time.Duration) time.Duration {
	return (at/t.interval + 1) * t.interval
}

func (t *sessionTracker) schedule() {
	now := t.s.now()
	t.s.after(t.roundToNextInterval(now)-now, "zk.session.expirer", t.run)
}

// run expires the sessions due, in id order.
func (t *sessionTracker) run() {
	l := t.s.lead
	if l == nil || l.tracker != t {
		return
	}
	now := t.s.now()
	var due []int64
	for id, x := range t.sessions {
		if !x.closing && x.expireAt <= now {
			due = append(due, id)
		}
	}
	slices.Sort(due)
	for _, id := range due {
		if !l.alive() {
			return
		}
		t.setClosing(id)
		l.expire(id)
	}
	if l.alive() {
		t.schedule()
	}
}

// add tracks a session (or touches it if tracked).
func (t *sessionTracker) add(id int64, timeout int32) {
	if _, ok := t.sessions[id]; !ok {
		t.sessions[id] = &trackedSession{timeout: timeout, owner: -1}
	}
	t.touch(id, timeout)
}

// touch extends a session's life; it reports false for a session that is
// unknown or closing.
func (t *sessionTracker) touch(id int64, timeout int32) bool {
	x, ok := t.sessions[id]
	if !ok || x.closing {
		return false
	}
	at := t.roundToNextInterval(t.s.now() + time.Duration(timeout)*time.Millisecond)
	if at > x.expireAt {
		x.expireAt = at
	}
	return true
}

func (t *sessionTracker) setClosing(id int64) {
	if x, ok := t.sessions[id]; ok {
		x.closing = true
	}
}

func (t *sessionTracker) remove(id int64) { delete(t.sessions, id) }

func (t *sessionTracker) setOwner(id int64, owner int64) {
	if x, ok := t.sessions[id]; ok && owner >= 0 {
		x.owner = owner
	}
}

// check is checkSession: the session must be live, and requests must come
// through the server that owns it (a session whose client moved to
// another server answers SESSIONMOVED to what its old server forwards).
func (t *sessionTracker) check(id int64, owner int64) Code {
	x, ok := t.sessions[id]
	if !ok || x.closing {
		return SessionExpired
	}
	if x.owner < 0 {
		x.owner = owner
	} else if owner >= 0 && x.owner != owner {
		return SessionMoved
	}
	return Ok
}
