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
}

// cached is a session's partition: what the fetcher last asked, and what
// the broker last told it.
type cached struct {
	req                protocol.FetchPartition
	hwm, lso, logStart int64
	leader             protocol.LeaderAndEpoch
	told               bool // a response included the partition since it joined
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
	// Partitions are the partitions to read for the request: its own for
	// a full request, the session's for an incremental one.
	Partitions []protocol.FetchPartition
	// Error is the request's top-level error, None if it is served.
	Error   protocol.ErrorCode
	session *Session
	epoch   int32 // the session's epoch after this request
	full    bool
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
	parts := ses.parts
	for _, tp := range s.Forgotten {
		if i, ok := find(parts, tp); ok {
			parts = slices.Delete(parts, i, i+1)
		}
	}
	for _, p := range m.Partitions {
		i, ok := find(parts, p.TP)
		if ok {
			parts[i].req = p
			continue
		}
		parts = slices.Insert(parts, i, cached{req: p, hwm: -1, lso: -1, logStart: -1})
	}
	ses.parts = parts
	x := &Context{session: ses, epoch: ses.epoch, Partitions: make([]protocol.FetchPartition, len(parts))}
	for i := range parts {
		x.Partitions[i] = parts[i].req
	}
	return x
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
