// Package isr is a partition leader's view of its followers and the rules
// Kafka's leader applies over it: whether a follower is caught up, whether
// it may join the in-sync replicas (KIP-841, KIP-903), the maximal ISR
// while an AlterPartition is pending (KIP-497), the high-water mark (with
// strict min.insync.replicas, KAFKA-15583), and the followers that should
// leave or join the ISR on replica.lag.time.max.ms.
//
// A Tracker is pure: it holds no clock, sends nothing and logs nothing.
// The broker passes the time and the leader's log end offset in, reads the
// verdicts out, and acts on them (AlterPartition, the log's high-water
// mark, delayed produce requests).
package isr

import (
	"slices"
	"time"
)

// Never is a time long before the simulation started: the last fetch or
// catch-up time of a follower that has done neither (Kafka's 0 ms, which
// is decades before its clock's now).
const Never = time.Duration(-1 << 62)

// NoBrokerEpoch is a broker epoch that is not known (-1, as on the wire):
// a follower fetching without one, or a member whose epoch the leader has
// not learnt.
const NoBrokerEpoch int64 = -1

// Config is what the rules read from the broker's configuration.
type Config struct {
	// ReplicaLagTimeMax is replica.lag.time.max.ms: a follower that has not
	// caught up to the leader's log end offset for longer is out of sync.
	ReplicaLagTimeMax time.Duration
	// LegacyHighWatermark lets the high-water mark advance while the ISR is
	// below min.insync.replicas, as Kafka did before 3.7 (KAFKA-15583).
	LegacyHighWatermark bool
	// LegacyISRExpansion lets a follower join the ISR once it reaches the
	// leader's high-water mark, even below the start of the leader's
	// epoch, as Kafka did before 2.1 (KAFKA-7128): a new leader's
	// high-water mark may lag what its predecessor committed.
	LegacyISRExpansion bool
}

// Registration is what the metadata says of a broker, as far as ISR
// eligibility goes.
type Registration struct {
	// Epoch is the broker epoch of its latest registration.
	Epoch int64
	// Fenced: the controller fenced the broker (KIP-841).
	Fenced bool
	// ShuttingDown: the broker is in controlled shutdown (KIP-841).
	ShuttingDown bool
}

// Metadata is the leader's metadata image as the rules read it. It is
// asked again every time a rule is applied, so it may change in between.
type Metadata interface {
	// Broker returns a broker's registration, or false if it has none.
	Broker(id int32) (Registration, bool)
	// MinInsyncReplicas returns the partition's effective
	// min.insync.replicas (at most its replication factor).
	MinInsyncReplicas() int
}

// Follower is the leader's view of one follower (Kafka's ReplicaState),
// learnt from the follower's fetches.
type Follower struct {
	// ID is the follower's broker id.
	ID int32
	// LogEndOffset is the fetch offset of the follower's last fetch: its
	// log end offset, and its implicit acknowledgement. It is -1 until the
	// follower fetches from this leader.
	LogEndOffset int64
	// LastFetchLeaderLogEndOffset is the leader's log end offset when the
	// follower last fetched, -1 until then.
	LastFetchLeaderLogEndOffset int64
	// LastFetchTime is when the follower last fetched, or Never.
	LastFetchTime time.Duration
	// LastCaughtUpTime is the last time the follower was known to have
	// reached the leader's log end offset, or Never.
	LastCaughtUpTime time.Duration
	// BrokerEpoch is the broker epoch the follower's last fetch carried;
	// it is known only once Fetched.
	BrokerEpoch int64
	// Fetched reports whether the follower fetched since this broker
	// became leader (Kafka keeps the broker epoch empty until then).
	Fetched bool
	// LogStartOffset is the log start offset the follower's last fetch
	// carried, -1 until then.
	LogStartOffset int64
	// clock, when set, is the time of the follower's latest fetch through
	// a fetch session that did not read this partition (nothing had
	// changed since the follower caught up): such a fetch counts as a
	// fetch at the log end offset at that time (see Follow).
	clock *time.Duration
}

// settle applies the fetches the follower made through its session
// without the leader reading this partition: each would have been an
// UpdateFollower at the leader's unchanged log end offset.
func (f *Follower) settle() {
	if f.clock != nil {
		f.LastFetchTime = max(f.LastFetchTime, *f.clock)
		f.LastCaughtUpTime = max(f.LastCaughtUpTime, *f.clock)
	}
}

func newFollower(id int32, lastCaughtUp time.Duration) *Follower {
	return &Follower{ID: id, LogEndOffset: -1, LastFetchLeaderLogEndOffset: -1, LastFetchTime: Never,
		LastCaughtUpTime: lastCaughtUp, BrokerEpoch: NoBrokerEpoch, LogStartOffset: -1}
}

// Member is a member of a proposed ISR with its broker epoch as the leader
// knew it when proposing (Kafka's BrokerState in AlterPartition).
type Member struct {
	ID          int32
	BrokerEpoch int64
}

// Change is an ISR change the leader sent to the controller and that is not
// answered yet (Kafka's PendingExpandIsr and PendingShrinkIsr). Until the
// answer the leader counts on the maximal ISR: the committed ISR together
// with every member the change adds.
type Change struct {
	// ISR is the proposed ISR, sorted.
	ISR []int32
	// Maximal is the union of the committed and the proposed ISR, sorted.
	Maximal []int32
	// Shrink tells a shrink from an expansion.
	Shrink bool
	// Members is ISR with each member's broker epoch as the leader knew it
	// when proposing: every retry of the AlterPartition sends these, so
	// that a replica that registered again since is refused (KIP-903).
	Members []Member
}

// Tracker is a partition leader's view of its replicas: the assignment, the
// committed ISR, the ISR change in flight, the start offset of the current
// leader epoch, and one Follower per other replica.
type Tracker struct {
	self int32
	cfg  Config
	md   Metadata

	replicas   []int32
	isr        []int32 // committed, sorted
	pending    *Change
	epochStart int64
	followers  map[int32]*Follower
}

// New returns the tracker of a leader on broker self. It tracks no replica
// until Assign.
func New(self int32, cfg Config, md Metadata) *Tracker {
	return &Tracker{self: self, cfg: cfg, md: md, followers: make(map[int32]*Follower)}
}

// Assign applies the partition's registration as the leader reads it (Kafka's
// updateAssignmentAndIsr): the replicas, the committed ISR, no change in
// flight. A follower new to the assignment starts unknown; one that left
// it is forgotten; the others keep their state.
func (t *Tracker) Assign(replicas, isr []int32) {
	t.replicas = slices.Clone(replicas)
	t.isr = sortedIDs(isr)
	t.pending = nil
	for id := range t.followers {
		if !slices.Contains(t.replicas, id) {
			delete(t.followers, id)
		}
	}
	for _, id := range t.replicas {
		if id != t.self && t.followers[id] == nil {
			t.followers[id] = newFollower(id, Never)
		}
	}
}

// StartLeaderEpoch starts a new leader epoch at startOffset, the leader's
// log end offset (Kafka's resetReplicaState). A member of the committed ISR
// counts as caught up now; the others as never. A new leader forgets
// everything else it knew of its followers; a leader that stays keeps their
// log end offsets and broker epochs, and counts the ISR members as having
// fetched now, at startOffset.
func (t *Tracker) StartLeaderEpoch(startOffset int64, now time.Duration, newLeader bool) {
	t.epochStart = startOffset
	for _, id := range t.replicas {
		f := t.followers[id]
		if f == nil {
			continue
		}
		inSync := slices.Contains(t.isr, id)
		f.clock = nil
		f.LastCaughtUpTime = Never
		if inSync {
			f.LastCaughtUpTime = now
		}
		if newLeader {
			*f = *newFollower(id, f.LastCaughtUpTime)
			continue
		}
		f.LastFetchLeaderLogEndOffset = startOffset
		f.LastFetchTime = Never
		if inSync {
			f.LastFetchTime = now
		}
	}
}

// Clear forgets the assignment, the ISR, the change in flight and every
// follower: the broker no longer leads the partition. The start offset of
// the last leader epoch stays until the next one starts.
func (t *Tracker) Clear() {
	t.replicas = nil
	t.isr = nil
	t.pending = nil
	clear(t.followers)
}

// Replicas returns the assignment. The slice is the tracker's: read it only.
func (t *Tracker) Replicas() []int32 { return t.replicas }

// ISR returns the committed ISR, sorted. The slice is the tracker's: read
// it only.
func (t *Tracker) ISR() []int32 { return t.isr }

// MaximalISR returns the ISR the leader counts on: the committed ISR, or
// while a change is pending, its union with the proposed ISR. The slice is
// the tracker's: read it only.
func (t *Tracker) MaximalISR() []int32 {
	if t.pending != nil {
		return t.pending.Maximal
	}
	return t.isr
}

// Pending returns the ISR change in flight, or nil. The same pointer stands
// for the same change until it is committed, rolled back or replaced, so
// that an answer can be matched to the change it answers.
func (t *Tracker) Pending() *Change { return t.pending }

// EpochStartOffset returns the start offset of the current leader epoch.
func (t *Tracker) EpochStartOffset() int64 { return t.epochStart }

// Follower returns the leader's view of follower id.
func (t *Tracker) Follower(id int32) (Follower, bool) {
	f, ok := t.followers[id]
	if !ok {
		return Follower{}, false
	}
	f.settle()
	c := *f
	c.clock = nil
	return c, true
}

// Follow makes follower id's fetches through a KIP-227 fetch session that
// leaves this partition unread count as fetches at the leader's log end
// offset: clock is the time of the session's latest request, and until
// the next UpdateFollower the follower's last fetch and last caught-up
// times are at least clock. Call it only right after an UpdateFollower at
// *clock that reached the leader's log end offset: a session may leave a
// partition unread only while its log end offset stays, so each such
// fetch would have found the follower caught up. It reports whether id is
// a follower.
func (t *Tracker) Follow(id int32, clock *time.Duration) bool {
	f := t.followers[id]
	if f == nil {
		return false
	}
	f.clock = clock
	return true
}

// Following reports whether follower id's times follow clock (Follow).
func (t *Tracker) Following(id int32, clock *time.Duration) bool {
	f := t.followers[id]
	return f != nil && f.clock == clock
}

// BelowMinISR reports whether the committed ISR is smaller than
// min.insync.replicas: an acks=all produce is refused with
// NOT_ENOUGH_REPLICAS, and with strict min ISR the high-water mark stays.
func (t *Tracker) BelowMinISR() bool { return len(t.isr) < t.md.MinInsyncReplicas() }

// UpdateFollower records a fetch by follower id (Kafka's
// updateFollowerFetchState): its fetch offset, the leader's log end offset
// when it fetched, the broker epoch it fetched with, and the time. A fetch
// up to the leader's log end offset catches it up now; a fetch up to the
// leader's log end offset at its previous fetch caught it up at that
// previous fetch. It reports whether the follower's log end offset moved;
// a replica that is not a follower is ignored.
func (t *Tracker) UpdateFollower(id int32, fetchOffset, leaderLEO, brokerEpoch int64, now time.Duration) bool {
	f := t.followers[id]
	if f == nil {
		return false
	}
	f.settle()
	f.clock = nil
	if fetchOffset >= leaderLEO {
		f.LastCaughtUpTime = max(f.LastCaughtUpTime, now)
	} else if fetchOffset >= f.LastFetchLeaderLogEndOffset {
		f.LastCaughtUpTime = max(f.LastCaughtUpTime, f.LastFetchTime)
	}
	prev := f.LogEndOffset
	f.LogEndOffset = fetchOffset
	f.LastFetchLeaderLogEndOffset = max(leaderLEO, f.LastFetchLeaderLogEndOffset)
	f.LastFetchTime = now
	f.BrokerEpoch, f.Fetched = brokerEpoch, true
	return prev != fetchOffset
}

// UpdateFollowerLogStart records the log start offset follower id's fetch
// carried. It reports whether it changed; a replica that is not a follower
// is ignored.
func (t *Tracker) UpdateFollowerLogStart(id int32, logStart int64) bool {
	f := t.followers[id]
	if f == nil || f.LogStartOffset == logStart {
		return false
	}
	f.LogStartOffset = logStart
	return true
}

// LowWatermark returns the smallest log start offset among the leader
// (leaderStart) and the followers on live brokers, in or out of the ISR
// (Kafka's lowWatermarkIfLeader, which DeleteRecords waits for). A
// follower that has not fetched yet counts as -1.
func (t *Tracker) LowWatermark(leaderStart int64, alive func(id int32) bool) int64 {
	low := leaderStart
	for _, id := range t.replicas {
		if f := t.followers[id]; f != nil && alive(id) {
			low = min(low, f.LogStartOffset)
		}
	}
	return low
}

// CaughtUp reports whether follower id is in sync by lag (Kafka's
// isCaughtUp): at the leader's log end offset, or caught up to it within
// replica.lag.time.max.ms. A replica that is not a follower is not.
func (t *Tracker) CaughtUp(id int32, leaderLEO int64, now time.Duration) bool {
	f := t.followers[id]
	return f != nil && t.caughtUp(f, leaderLEO, now)
}

func (t *Tracker) caughtUp(f *Follower, leaderLEO int64, now time.Duration) bool {
	f.settle()
	return f.LogEndOffset == leaderLEO || now-f.LastCaughtUpTime <= t.cfg.ReplicaLagTimeMax
}

// Eligible reports whether follower id may be in the ISR (Kafka's
// isReplicaIsrEligible); Eligibility says why not.
func (t *Tracker) Eligible(id int32) bool {
	f := t.followers[id]
	return f != nil && t.eligibility(f) == Eligible
}

// Eligibility says whether follower id may be in the ISR, and if not why:
// KIP-841 keeps fenced and shutting-down brokers out, KIP-903 a follower
// whose last fetch carried a broker epoch other than its registration's
// (it registered again, perhaps with an empty disk).
func (t *Tracker) Eligibility(id int32) Eligibility {
	f := t.followers[id]
	if f == nil {
		return NotAFollower
	}
	return t.eligibility(f)
}

func (t *Tracker) eligibility(f *Follower) Eligibility {
	reg, ok := t.md.Broker(f.ID)
	switch {
	case !ok:
		return Unregistered
	case reg.Fenced:
		return Fenced
	case reg.ShuttingDown:
		return ShuttingDown
	case !f.Fetched:
		return NotFetched
	case f.BrokerEpoch != NoBrokerEpoch && f.BrokerEpoch != reg.Epoch:
		return StaleBrokerEpoch
	}
	return Eligible
}

// HighWatermark returns the high-water mark the leader may advance to from
// current (Kafka's maybeIncrementLeaderHW), and false if it stays: the
// smallest log end offset among the leader's own, the maximal ISR's, and
// those of followers outside it that are caught up and eligible (about to
// join). A member that has not fetched from this leader holds it back.
// Unless LegacyHighWatermark, it stays while the committed ISR is below
// min.insync.replicas. It never goes back.
func (t *Tracker) HighWatermark(current, leaderLEO int64, now time.Duration) (int64, bool) {
	if !t.cfg.LegacyHighWatermark && t.BelowMinISR() {
		return current, false
	}
	hw := leaderLEO
	maximal := t.MaximalISR()
	for _, id := range t.replicas {
		f := t.followers[id]
		if f == nil || f.LogEndOffset >= hw {
			continue
		}
		if slices.Contains(maximal, id) || (t.caughtUp(f, leaderLEO, now) && t.eligibility(f) == Eligible) {
			hw = f.LogEndOffset
		}
	}
	if hw <= current {
		return current, false
	}
	return hw, true
}

// OutOfSync returns the members of the committed ISR, other than the
// leader, that are not caught up (Kafka's getOutOfSyncReplicas): the
// candidates for a shrink. While a change is pending there are none.
func (t *Tracker) OutOfSync(leaderLEO int64, now time.Duration) []int32 {
	if t.pending != nil {
		return nil
	}
	var out []int32
	for _, id := range t.isr {
		if id == t.self {
			continue
		}
		if f := t.followers[id]; f == nil || !t.caughtUp(f, leaderLEO, now) {
			out = append(out, id)
		}
	}
	return out
}

// Join says whether follower id may join the ISR now, given the leader's
// high-water mark (Kafka's canAddReplicaToIsr and isFollowerInSync): no
// change in flight, not a member yet, eligible, and a log end offset at
// or past both the high-water mark and the start of the current leader
// epoch (only the high-water mark with Config.LegacyISRExpansion). MayJoin
// means it may.
func (t *Tracker) Join(id int32, hwm int64) Join {
	f := t.followers[id]
	switch {
	case f == nil:
		return NotAFollowerToJoin
	case t.pending != nil:
		return ChangePending
	case slices.Contains(t.isr, id):
		return InISR
	case t.eligibility(f) != Eligible:
		return Ineligible
	case f.LogEndOffset < hwm:
		return BelowHighWatermark
	case f.LogEndOffset < t.epochStart && !t.cfg.LegacyISRExpansion:
		return BelowEpochStart
	}
	return MayJoin
}

// ProposeExpand records the change that adds follower id to the committed
// ISR and returns it; selfEpoch is the leader's own broker epoch. It
// replaces any change in flight: ask Join first.
func (t *Tracker) ProposeExpand(id int32, selfEpoch int64) *Change {
	return t.propose(sortedIDs(append(slices.Clone(t.isr), id)), false, selfEpoch)
}

// ProposeShrink records the change that removes out from the committed ISR
// and returns it, or nil if none of out is a member; selfEpoch is the
// leader's own broker epoch. It replaces any change in flight: ask
// OutOfSync first.
func (t *Tracker) ProposeShrink(out []int32, selfEpoch int64) *Change {
	var keep []int32
	for _, id := range t.isr {
		if !slices.Contains(out, id) {
			keep = append(keep, id)
		}
	}
	if len(keep) == len(t.isr) {
		return nil
	}
	return t.propose(keep, true, selfEpoch)
}

func (t *Tracker) propose(isr []int32, shrink bool, selfEpoch int64) *Change {
	maximal := slices.Compact(sortedIDs(append(slices.Clone(t.isr), isr...)))
	members := make([]Member, len(isr))
	for i, id := range isr {
		epoch := NoBrokerEpoch
		if id == t.self {
			epoch = selfEpoch
		} else if f := t.followers[id]; f != nil && f.Fetched {
			epoch = f.BrokerEpoch
		}
		members[i] = Member{ID: id, BrokerEpoch: epoch}
	}
	t.pending = &Change{ISR: isr, Maximal: maximal, Shrink: shrink, Members: members}
	return t.pending
}

// Commit ends the change in flight with the ISR the controller committed.
func (t *Tracker) Commit(isr []int32) {
	t.isr = sortedIDs(isr)
	t.pending = nil
}

// Rollback ends the change in flight without a new ISR: the controller
// refused it, and the committed ISR stands.
func (t *Tracker) Rollback() { t.pending = nil }

func sortedIDs(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
