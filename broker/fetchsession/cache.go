package fetchsession

import (
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// A Cache is a broker's fetch sessions (Kafka's FetchSessionCache), at most
// Slots of them (max.incremental.fetch.session.cache.slots).
type Cache struct {
	slots    int
	eviction time.Duration
	nextID   int32
	sessions map[int32]*Session
}

// A Session is one fetcher's session on the broker.
type Session struct {
	id         int32
	epoch      int32 // the epoch the next incremental request must carry
	privileged bool  // a follower's
	created    time.Duration
	lastUsed   time.Duration
	parts      []cached // sorted by partition
	closed     bool
	// marks lists the partitions marked since they were last read
	// (cached.marked tells which still are), unsorted: the partitions a
	// leader must read for the session's next request, as the rest would
	// have nothing to tell.
	marks []protocol.TopicPartition
	// seen is the leader's change count up to which marks holds every
	// change of the leader's partitions (set by the leader).
	seen uint64
	// clock is when the session's latest request arrived.
	clock time.Duration
	// key is what the latest request had in common for all partitions.
	key Key
	// held counts the session's requests waiting for data: while one
	// waits, parts is copied before it changes, so that the waiting
	// request keeps its partitions.
	held int
}

// Key is what a request says, or a leader knows, for all of a session's
// partitions at once (the requester's broker epoch and its registration,
// the isolation level): when it changes every partition must be read.
type Key [3]int64

// cached is a session's partition: what the fetcher last asked, and what
// the broker last told it.
type cached struct {
	req                protocol.FetchPartition
	hwm, lso, logStart int64
	leader             protocol.LeaderAndEpoch
	told               bool // a response included the partition since it joined
	marked             bool // listed in the session's marks
}

// NewCache returns a cache of slots sessions whose ids start after
// firstID (a broker starts them apart from a previous incarnation's). A
// session unused for eviction may make room for a new one, as may one
// older than eviction that is smaller than the new one, or any consumer's
// session for a follower's (min.incremental.fetch.session.eviction.ms).
func NewCache(slots int, eviction time.Duration, firstID int32) *Cache {
	return &Cache{slots: slots, eviction: eviction, nextID: firstID, sessions: make(map[int32]*Session)}
}

// Len returns how many sessions the cache holds.
func (c *Cache) Len() int { return len(c.sessions) }

// Incremental reports whether the request was an incremental one, whose
// Partitions are the session's rather than the request's own.
func (x *Context) Incremental() bool { return x != nil && !x.full && x.Error == protocol.None }

// A Context is one request's view of its session (Kafka's FetchContext).
type Context struct {
	// Partitions are a full request's partitions, the request's own; an
	// incremental request reads the partitions Marked returns (All
	// returns every partition of its session).
	Partitions []protocol.FetchPartition
	// Error is the request's top-level error, None if it is served.
	Error   protocol.ErrorCode
	session *Session
	epoch   int32 // the session's epoch after this request
	full    bool
	// parts are the session's partitions when the request arrived.
	parts []cached
}

// SessionID returns the session the response names, 0 for none.
func (x *Context) SessionID() int32 {
	if x == nil || x.session == nil {
		return 0
	}
	return x.session.id
}

// NewContext applies a Fetch's session fields at now: a request without a
// session, or with the final epoch, is served in full without a session;
// the initial epoch opens a new session (if the cache has or can make
// room) for the request's partitions; a later epoch updates the session's
// partitions with the request's and drops its forgotten ones. Follower
// (replica fetcher) sessions are privileged. A request without session
// fields has no context (nil).
func (c *Cache) NewContext(m *protocol.Fetch, now time.Duration) *Context {
	s := m.Session
	if s == nil {
		return nil
	}
	switch s.Epoch {
	case protocol.FinalSessionEpoch, protocol.InitialSessionEpoch:
		if s.ID != 0 {
			c.remove(s.ID)
		}
		x := &Context{Partitions: m.Partitions, full: true}
		if s.Epoch == protocol.InitialSessionEpoch {
			x.session = c.create(m, now)
			if x.session != nil {
				x.epoch = x.session.epoch
			}
		}
		return x
	}
	ses, ok := c.sessions[s.ID]
	if !ok {
		return &Context{Error: protocol.FetchSessionIdNotFound}
	}
	if ses.epoch != s.Epoch {
		return &Context{Error: protocol.InvalidFetchSessionEpoch}
	}
	ses.epoch = protocol.NextSessionEpoch(ses.epoch)
	ses.lastUsed = now
	if ses.held > 0 && (len(s.Forgotten) > 0 || len(m.Partitions) > 0) {
		ses.parts = slices.Clone(ses.parts) // a waiting request keeps the old list
	}
	parts := ses.parts
	for _, tp := range s.Forgotten {
		if i, ok := find(parts, tp); ok {
			parts = slices.Delete(parts, i, i+1)
		}
	}
	for _, p := range m.Partitions {
		i, ok := find(parts, p.TP)
		if !ok {
			parts = slices.Insert(parts, i, cached{req: p, hwm: -1, lso: -1, logStart: -1})
		}
		parts[i].req = p
		if !parts[i].marked {
			parts[i].marked = true
			ses.marks = append(ses.marks, p.TP)
		}
	}
	ses.parts = parts
	return &Context{session: ses, epoch: ses.epoch, parts: parts}
}

func find(parts []cached, tp protocol.TopicPartition) (int, bool) {
	return slices.BinarySearchFunc(parts, tp, func(c cached, tp protocol.TopicPartition) int { return c.req.TP.Compare(tp) })
}

// create opens a session for a full request, evicting one if the cache is
// full and one may go; nil when none may.
func (c *Cache) create(m *protocol.Fetch, now time.Duration) *Session {
	privileged := m.IsFromFollower()
	if c.slots <= 0 {
		return nil
	}
	if len(c.sessions) >= c.slots && !c.evictFor(privileged, len(m.Partitions), now) {
		return nil
	}
	c.nextID++
	if c.nextID <= 0 {
		c.nextID = 1
	}
	ses := &Session{id: c.nextID, epoch: protocol.NextSessionEpoch(protocol.InitialSessionEpoch), privileged: privileged,
		created: now, lastUsed: now, parts: make([]cached, 0, len(m.Partitions))}
	for _, p := range m.Partitions {
		if i, ok := find(ses.parts, p.TP); ok {
			ses.parts[i].req = p
		} else {
			ses.parts = slices.Insert(ses.parts, i, cached{req: p, hwm: -1, lso: -1, logStart: -1})
		}
	}
	c.sessions[ses.id] = ses
	return ses
}

// evictFor makes room for a new session of size partitions: the least
// recently used session if it is stale, else the least valuable session
// (a consumer's before a follower's, then the smallest) that the new one
// outweighs.
func (c *Cache) evictFor(privileged bool, size int, now time.Duration) bool {
	ids := slices.Sorted(maps.Keys(c.sessions))
	var lru, least *Session
	for _, id := range ids {
		s := c.sessions[id]
		if lru == nil || s.lastUsed < lru.lastUsed {
			lru = s
		}
		// A follower's session outweighs a consumer's; an older one of the
		// same kind (or a consumer's) is outweighed by a larger one.
		evictable := (privileged && !s.privileged) ||
			(now-s.created > c.eviction && size > len(s.parts) && (privileged || !s.privileged))
		if !evictable {
			continue
		}
		if least == nil || less(s, least) {
			least = s
		}
	}
	switch {
	case lru != nil && now-lru.lastUsed > c.eviction:
		c.remove(lru.id)
	case least != nil:
		c.remove(least.id)
	default:
		return false
	}
	return true
}

// less orders sessions by value: a consumer's before a follower's, then by
// size, then by id.
func less(a, b *Session) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if len(a.parts) != len(b.parts) {
		return len(a.parts) < len(b.parts)
	}
	return a.id < b.id
}

func (c *Cache) remove(id int32) {
	if s, ok := c.sessions[id]; ok {
		s.closed = true
		delete(c.sessions, id)
	}
}

// Respond finishes the response to the request of x, whose partitions are
// in x.Partitions' order: it names the session, and for an incremental
// request keeps only the partitions the fetcher must hear about (new
// records, an error, a diverging epoch, a changed high-water mark, last
// stable offset, log start offset or leader, or one it was never told
// about), remembering what the session told. A response to a request the
// session has since moved past changes nothing of the session.
func (x *Context) Respond(resp *protocol.FetchResponse) {
	if x == nil {
		return
	}
	resp.SessionID = x.SessionID()
	ses := x.session
	if ses == nil {
		return
	}
	if ses.closed || ses.epoch != x.epoch {
		return // the fetcher has moved on: the answer is stale
	}
	keep := resp.Partitions[:0]
	for i, pr := range resp.Partitions {
		var c *cached
		if i < len(ses.parts) && ses.parts[i].req.TP == pr.TP {
			c = &ses.parts[i]
		} else {
			j, ok := find(ses.parts, pr.TP)
			if !ok {
				keep = append(keep, pr)
				continue
			}
			c = &ses.parts[j]
		}
		changed := !c.told || len(pr.Records) > 0 || pr.Error != protocol.None || pr.DivergingEpoch.Diverged() ||
			pr.HighWatermark != c.hwm || pr.LastStableOffset != c.lso || pr.LogStartOffset != c.logStart || pr.CurrentLeader != c.leader
		c.told, c.hwm, c.lso, c.logStart, c.leader = true, pr.HighWatermark, pr.LastStableOffset, pr.LogStartOffset, pr.CurrentLeader
		if pr.Error != protocol.None || pr.DivergingEpoch.Diverged() {
			// The fetcher does not take the offsets of such an answer:
			// tell them again once it fetches without one.
			c.told = false
		}
		if x.full || changed {
			keep = append(keep, pr)
		}
	}
	clear(resp.Partitions[len(keep):])
	resp.Partitions = keep
}

// Stale reports whether the session of x has moved past x's request
// (closed, or a later request came): Respond then changes nothing, and a
// response lists every partition the request read.
func (x *Context) Stale() bool {
	return x == nil || x.session == nil || x.session.closed || x.session.epoch != x.epoch
}

// Len returns how many partitions the request has: a full request's own,
// an incremental request's session's when it arrived.
func (x *Context) Len() int {
	if x.full {
		return len(x.Partitions)
	}
	return len(x.parts)
}

// All returns every partition of an incremental request's session as the
// request left it (a full request's Partitions), sorted.
func (x *Context) All() []protocol.FetchPartition {
	if x.full {
		return x.Partitions
	}
	out := make([]protocol.FetchPartition, len(x.parts))
	for i := range x.parts {
		out[i] = x.parts[i].req
	}
	return out
}

// Contains reports whether tp is one of the request's partitions.
func (x *Context) Contains(tp protocol.TopicPartition) bool {
	if x.full {
		for _, p := range x.Partitions {
			if p.TP == tp {
				return true
			}
		}
		return false
	}
	_, ok := find(x.parts, tp)
	return ok
}

// Request returns the session's request for tp, if it holds tp.
func (x *Context) Request(tp protocol.TopicPartition) (protocol.FetchPartition, bool) {
	if i, ok := find(x.session.parts, tp); ok {
		return x.session.parts[i].req, true
	}
	return protocol.FetchPartition{}, false
}

// Touch marks tp, if the session holds it: the next read of the session
// reads it.
func (x *Context) Touch(tp protocol.TopicPartition) {
	if x == nil || x.session == nil {
		return
	}
	ses := x.session
	if i, ok := find(ses.parts, tp); ok && !ses.parts[i].marked {
		ses.parts[i].marked = true
		ses.marks = append(ses.marks, tp)
	}
}

// TouchAll marks every partition of the session.
func (x *Context) TouchAll() {
	if x == nil || x.session == nil {
		return
	}
	ses := x.session
	ses.marks = ses.marks[:0]
	for i := range ses.parts {
		ses.parts[i].marked = true
		ses.marks = append(ses.marks, ses.parts[i].req.TP)
	}
}

// Unmark takes tp's mark away: the leader read it, and it has nothing
// more to tell until it changes.
func (x *Context) Unmark(tp protocol.TopicPartition) {
	if x == nil || x.session == nil {
		return
	}
	ses := x.session
	if i, ok := find(ses.parts, tp); ok {
		ses.parts[i].marked = false
	}
}

// Marked appends to buf the session's marked partitions as the fetcher
// last asked for them, sorted, and returns it: the partitions an
// incremental request reads. The marks stay until Unmark.
func (x *Context) Marked(buf []protocol.FetchPartition) []protocol.FetchPartition {
	ses := x.session
	slices.SortFunc(ses.marks, protocol.TopicPartition.Compare)
	marks := ses.marks[:0]
	for _, tp := range ses.marks {
		i, ok := find(ses.parts, tp)
		if !ok || !ses.parts[i].marked || (len(marks) > 0 && marks[len(marks)-1] == tp) {
			continue
		}
		marks = append(marks, tp)
		buf = append(buf, ses.parts[i].req)
	}
	clear(ses.marks[len(marks):])
	ses.marks = marks
	return buf
}

// Seen returns the leader's change count up to which the session's marks
// hold every change (0 for a new session).
func (x *Context) Seen() uint64 { return x.session.seen }

// SetSeen records that the session's marks hold every change of the
// leader up to count.
func (x *Context) SetSeen(count uint64) { x.session.seen = count }

// Clock returns when the session's latest request arrived, as a variable
// that follows the session's next requests (a leader's followers skipped
// by a request are fetched at this time).
func (x *Context) Clock() *time.Duration { return &x.session.clock }

// Tick records that a request of the session arrived at now.
func (x *Context) Tick(now time.Duration) { x.session.clock = now }

// Rekey records k as the session's key and reports whether it changed.
func (x *Context) Rekey(k Key) bool {
	changed := x.session.key != k
	x.session.key = k
	return changed
}

// Hold records that the request waits for data; Release that it no longer
// does.
func (x *Context) Hold() { x.session.held++ }

// Release ends a Hold.
func (x *Context) Release() { x.session.held-- }
