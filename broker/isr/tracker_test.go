package isr_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/isr"
)

// leaderMachine drives a tracker the way a partition leader does, with
// random fetches, appends, clock ticks, broker fencing and re-registration,
// ISR changes and answers from the controller.
type leaderMachine struct {
	t        *isr.Tracker
	md       *metadata
	replicas []int32
	leo, hwm int64
	now      time.Duration
	legacy   bool
	// wellBehaved: followers never truncate (fetch offsets only grow) and
	// the ISR changes only through the leader's own proposals. Then the
	// high-water mark never passes a member of the maximal ISR that fetched.
	wellBehaved bool
	fetched     map[int32]int64 // last fetch offset per follower, well-behaved runs
}

const self int32 = 1

func newLeaderMachine(t *rapid.T) *leaderMachine {
	n := rapid.IntRange(1, 5).Draw(t, "replicas")
	m := &leaderMachine{md: &metadata{brokers: make(map[int32]isr.Registration)}, fetched: make(map[int32]int64)}
	for id := int32(1); id <= int32(n); id++ {
		m.replicas = append(m.replicas, id)
		m.md.brokers[id] = isr.Registration{Epoch: 100 + int64(id)}
	}
	m.md.minISR = rapid.IntRange(1, n).Draw(t, "min.insync.replicas")
	m.legacy = rapid.Bool().Draw(t, "legacy")
	m.wellBehaved = rapid.Bool().Draw(t, "wellBehaved")
	m.t = isr.New(self, isr.Config{ReplicaLagTimeMax: 10 * time.Second, LegacyHighWatermark: m.legacy}, m.md)
	members := []int32{self}
	for _, id := range m.replicas[1:] {
		if rapid.Bool().Draw(t, "in-isr") {
			members = append(members, id)
		}
	}
	m.t.Assign(m.replicas, members)
	m.t.StartLeaderEpoch(0, 0, true)
	return m
}

func (m *leaderMachine) follower(t *rapid.T) int32 {
	return rapid.SampledFrom(m.replicas).Draw(t, "id")
}

func (m *leaderMachine) append(t *rapid.T) {
	m.leo += int64(rapid.IntRange(1, 5).Draw(t, "n"))
}

func (m *leaderMachine) tick(t *rapid.T) {
	m.now += time.Duration(rapid.IntRange(1, 15_000).Draw(t, "ms")) * time.Millisecond
}

func (m *leaderMachine) fetch(t *rapid.T) {
	id := m.follower(t)
	if id == self {
		t.Skip("the leader does not fetch")
	}
	lo := int64(0)
	if m.wellBehaved {
		lo = m.fetched[id]
	}
	offset := rapid.Int64Range(lo, m.leo).Draw(t, "offset")
	epoch := m.md.brokers[id].Epoch
	switch rapid.IntRange(0, 4).Draw(t, "broker-epoch") {
	case 0:
		epoch = isr.NoBrokerEpoch
	case 1:
		epoch-- // an older incarnation's fetch
	}
	m.t.UpdateFollower(id, offset, m.leo, epoch, m.now)
	m.fetched[id] = offset
}

func (m *leaderMachine) metadataChange(t *rapid.T) {
	id := m.follower(t)
	reg := m.md.brokers[id]
	switch rapid.IntRange(0, 3).Draw(t, "change") {
	case 0:
		reg.Fenced = !reg.Fenced
	case 1:
		reg.ShuttingDown = !reg.ShuttingDown
	case 2:
		reg.Epoch++ // registered again
	case 3:
		m.md.minISR = rapid.IntRange(1, len(m.replicas)).Draw(t, "min.insync.replicas")
	}
	m.md.brokers[id] = reg
}

func (m *leaderMachine) highWatermark(t *rapid.T) {
	hw, ok := m.t.HighWatermark(m.hwm, m.leo, m.now)
	if !ok {
		if hw != m.hwm {
			t.Fatalf("a high-water mark that stays must be returned as it was: %d, want %d", hw, m.hwm)
		}
		return
	}
	if hw <= m.hwm {
		t.Fatalf("high-water mark went from %d to %d: it must only advance", m.hwm, hw)
	}
	if hw > m.leo {
		t.Fatalf("high-water mark %d past the leader's log end offset %d", hw, m.leo)
	}
	if !m.legacy && m.t.BelowMinISR() {
		t.Fatalf("high-water mark advanced to %d with ISR %v below min.insync.replicas %d", hw, m.t.ISR(), m.md.minISR)
	}
	for _, id := range m.t.MaximalISR() {
		if f, ok := m.t.Follower(id); ok && f.LogEndOffset < hw {
			t.Fatalf("high-water mark %d past member %d's log end offset %d (maximal ISR %v)", hw, id, f.LogEndOffset, m.t.MaximalISR())
		}
	}
	m.hwm = hw
}

func (m *leaderMachine) shrink(t *rapid.T) {
	out := m.t.OutOfSync(m.leo, m.now)
	for _, id := range out {
		if id == self || !slices.Contains(m.t.ISR(), id) || m.t.CaughtUp(id, m.leo, m.now) {
			t.Fatalf("out of sync %v: %d is the leader, not a member of %v, or caught up", out, id, m.t.ISR())
		}
	}
	if len(out) > 0 {
		c := m.t.ProposeShrink(out, 100+int64(self))
		if c == nil || !c.Shrink || len(c.ISR) != len(m.t.ISR())-len(out) {
			t.Fatalf("shrink of %v by %v proposed %+v", m.t.ISR(), out, c)
		}
	}
}

func (m *leaderMachine) expand(t *rapid.T) {
	id := m.follower(t)
	if m.t.Join(id, m.hwm) != isr.MayJoin {
		return
	}
	f, _ := m.t.Follower(id)
	if !m.t.Eligible(id) || f.LogEndOffset < m.hwm || f.LogEndOffset < m.t.EpochStartOffset() || slices.Contains(m.t.ISR(), id) {
		t.Fatalf("follower %+v may join ISR %v with hwm %d and epoch start %d", f, m.t.ISR(), m.hwm, m.t.EpochStartOffset())
	}
	m.t.ProposeExpand(id, 100+int64(self))
}

func (m *leaderMachine) answer(t *rapid.T) {
	c := m.t.Pending()
	if c == nil {
		t.Skip("no change pending")
	}
	if rapid.Bool().Draw(t, "accepted") {
		m.t.Commit(c.ISR)
	} else {
		m.t.Rollback()
	}
}

// reelect is a registration the leader did not propose: a new leader
// epoch with an ISR of the controller's choosing, this leader staying or
// elected anew.
func (m *leaderMachine) reelect(t *rapid.T) {
	if m.wellBehaved {
		t.Skip("well-behaved runs keep one leadership")
	}
	members := []int32{self}
	for _, id := range m.replicas[1:] {
		if rapid.Bool().Draw(t, "in-isr") {
			members = append(members, id)
		}
	}
	m.t.Assign(m.replicas, members)
	m.t.StartLeaderEpoch(m.leo, m.now, rapid.Bool().Draw(t, "new-leader"))
}

func (m *leaderMachine) check(t *rapid.T) {
	committed, maximal := m.t.ISR(), m.t.MaximalISR()
	if !slices.IsSorted(maximal) || len(slices.Compact(slices.Clone(maximal))) != len(maximal) {
		t.Fatalf("maximal ISR %v is not sorted and without duplicates", maximal)
	}
	for _, id := range committed {
		if !slices.Contains(maximal, id) {
			t.Fatalf("committed ISR %v not within the maximal ISR %v", committed, maximal)
		}
	}
	if c := m.t.Pending(); c != nil {
		for _, id := range c.ISR {
			if !slices.Contains(maximal, id) {
				t.Fatalf("proposed ISR %v not within the maximal ISR %v", c.ISR, maximal)
			}
		}
	}
	if !m.wellBehaved {
		return
	}
	for _, id := range maximal {
		if f, ok := m.t.Follower(id); ok && f.Fetched && f.LogEndOffset < m.hwm {
			t.Fatalf("high-water mark %d past member %d's log end offset %d (maximal ISR %v)", m.hwm, id, f.LogEndOffset, maximal)
		}
	}
}

// TestHighWatermarkProperty: whatever the followers, the metadata and the
// controller do, the high-water mark only advances, never past the
// leader's log end offset or a maximal-ISR member's, and with strict min
// ISR never while the ISR is below min.insync.replicas; a follower the
// tracker lets join is eligible and caught up to the high-water mark and
// the epoch start, and shrink candidates are lagging members. With
// followers that never truncate and an ISR changed only by the leader,
// the mark never passes a maximal-ISR member at any time.
func TestHighWatermarkProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newLeaderMachine(t)
		t.Repeat(map[string]func(*rapid.T){
			"append":   m.append,
			"tick":     m.tick,
			"fetch":    m.fetch,
			"metadata": m.metadataChange,
			"hwm":      m.highWatermark,
			"shrink":   m.shrink,
			"expand":   m.expand,
			"answer":   m.answer,
			"reelect":  m.reelect,
			"":         m.check,
		})
	})
}

func TestProposalsCarryBrokerEpochsAsWhenProposed(t *testing.T) {
	md := &metadata{brokers: map[int32]isr.Registration{1: {Epoch: 11}, 2: {Epoch: 12}, 3: {Epoch: 13}}, minISR: 1}
	tr := isr.New(1, isr.Config{ReplicaLagTimeMax: time.Second}, md)
	tr.Assign([]int32{1, 2, 3}, []int32{1, 2})
	tr.StartLeaderEpoch(0, 0, true)
	tr.UpdateFollower(3, 0, 0, 13, 0)
	require.Equal(t, isr.MayJoin, tr.Join(3, 0))
	c := tr.ProposeExpand(3, 11)
	// 3 registers again and fetches with its new epoch: the pending change
	// keeps the epoch it was proposed with, so the controller refuses it.
	tr.UpdateFollower(3, 0, 0, 14, 0)
	assert.Same(t, c, tr.Pending())
	assert.Equal(t, []isr.Member{{ID: 1, BrokerEpoch: 11}, {ID: 2, BrokerEpoch: isr.NoBrokerEpoch}, {ID: 3, BrokerEpoch: 13}}, c.Members)
	assert.Equal(t, []int32{1, 2, 3}, tr.MaximalISR())
	assert.Equal(t, []int32{1, 2}, tr.ISR())
	assert.Nil(t, tr.ProposeShrink([]int32{4}, 11), "a shrink that removes no member proposes nothing")
}

func TestVerdictNames(t *testing.T) {
	assert.Equal(t, "stale broker epoch", isr.StaleBrokerEpoch.String())
	assert.Equal(t, "Eligibility(99)", isr.Eligibility(99).String())
	assert.Equal(t, "below epoch start", isr.BelowEpochStart.String())
	assert.Equal(t, "Join(99)", isr.Join(99).String())
}
