package controller

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// part builds a partition registration for the tests: replicas, ISR,
// leader, and optionally ELR and last known leader.
func part(replicas, isr []int32, leader int32, elr, lastKnown []int32) *metadata.Partition {
	return &metadata.Partition{Replicas: replicas, ISR: isr, Leader: leader, ELR: elr, LastKnownELR: lastKnown,
		LeaderEpoch: 5, PartitionEpoch: 9}
}

func live(ids ...int32) func(int32) bool {
	return func(r int32) bool { return slices.Contains(ids, r) }
}

func TestChangeElections(t *testing.T) {
	ids := func(v ...int32) []int32 { return v }
	cases := []struct {
		name      string
		p         *metadata.Partition
		live      []int32
		targetISR []int32 // nil: keep the ISR
		election  election
		elr       bool
		minISR    int
		unclean   int32

		leader      int32 // metadata.NoLeaderChange when the leader stays
		isr         []int32
		elrOut      []int32
		lastKnown   []int32
		recovering  bool
		kind        electionKind
		noRecordNil bool
	}{
		{name: "leader stays while it may lead", p: part(ids(1, 2, 3), ids(1, 2, 3), 1, nil, nil), live: ids(1, 2, 3),
			targetISR: ids(1, 2), leader: metadata.NoLeaderChange, isr: ids(1, 2), kind: noElection},
		{name: "clean election takes the first live ISR member in assignment order", p: part(ids(3, 1, 2), ids(1, 2, 3), 3, nil, nil),
			live: ids(1, 2), targetISR: ids(1, 2), leader: 1, isr: ids(1, 2), kind: electedClean},
		{name: "clean election skips a live replica outside the ISR", p: part(ids(1, 2, 3), ids(1, 3), 1, nil, nil),
			live: ids(2, 3), targetISR: ids(3), leader: 3, isr: ids(3), kind: electedClean},
		{name: "no ISR member alive: offline, the last member stays in the ISR", p: part(ids(1, 2, 3), ids(1), 1, nil, nil),
			live: ids(2, 3), targetISR: []int32{}, leader: metadata.NoLeader, kind: electedNone},
		{name: "unclean election takes the first live replica, alone in the ISR, recovering", p: part(ids(1, 2, 3), ids(1), 1, nil, nil),
			live: ids(2, 3), targetISR: []int32{}, election: electUnclean, leader: 2, isr: ids(2), recovering: true, kind: electedUnclean},
		{name: "unclean election prefers the ISR", p: part(ids(1, 2, 3), ids(1, 3), 1, nil, nil),
			live: ids(2, 3), targetISR: ids(3), election: electUnclean, leader: 3, isr: ids(3), kind: electedClean},
		{name: "preferred election moves to the first replica", p: part(ids(1, 2, 3), ids(1, 2, 3), 2, nil, nil),
			live: ids(1, 2, 3), election: electPreferred, leader: 1, kind: electedPreferred},
		{name: "preferred replica outside the ISR may not lead", p: part(ids(1, 2, 3), ids(2, 3), 2, nil, nil),
			live: ids(1, 2, 3), election: electPreferred, noRecordNil: true},
		{name: "ELR: a replica leaving the ISR below min ISR joins the ELR", p: part(ids(1, 2, 3), ids(1, 2), 1, nil, nil),
			live: ids(1, 3), targetISR: ids(1), elr: true, minISR: 2, leader: metadata.NoLeaderChange, isr: ids(1), elrOut: ids(2), kind: noElection},
		{name: "ELR: the ISR may become empty; the leader is the last known", p: part(ids(1, 2, 3), ids(1), 1, ids(2), nil),
			live: ids(3), targetISR: []int32{}, elr: true, minISR: 2, leader: metadata.NoLeader, isr: ids(), elrOut: ids(1, 2),
			lastKnown: ids(1), kind: electedNone},
		{name: "ELR: an ELR member is elected when the ISR is empty and becomes the ISR", p: part(ids(1, 2, 3), ids(), -1, ids(1, 2), ids(1)),
			live: ids(2, 3), elr: true, minISR: 2, leader: 2, isr: ids(2), elrOut: ids(1), lastKnown: ids(), kind: electedELR},
		{name: "ELR: a replica that restarted uncleanly leaves the ELR", p: part(ids(1, 2, 3), ids(), -1, ids(1, 2), ids(1)),
			live: ids(3), unclean: 2, elr: true, minISR: 2, leader: metadata.NoLeaderChange, elrOut: ids(1), kind: noElection},
		{name: "ELR: the last known leader is elected when ISR and ELR are empty", p: part(ids(1, 2, 3), ids(), -1, ids(), ids(1)),
			live: ids(1, 2), elr: true, minISR: 2, leader: 1, isr: ids(1), recovering: true, lastKnown: ids(), kind: electedLastKnownLeader},
		{name: "ELR: the ISR back at min ISR clears the ELR", p: part(ids(1, 2, 3), ids(1), 1, ids(2), nil),
			live: ids(1, 2, 3), targetISR: ids(1, 3), elr: true, minISR: 2, leader: metadata.NoLeaderChange, isr: ids(1, 3), elrOut: ids(), kind: noElection},
		{name: "ELR: an unclean election clears the ELR", p: part(ids(1, 2, 3), ids(), -1, ids(2), nil),
			live: ids(3), elr: true, minISR: 2, election: electUnclean, leader: 3, isr: ids(3), elrOut: ids(), recovering: true, kind: electedUnclean},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ch := newChange(tc.p, metadata.Uuid{1}, 0, live(tc.live...), max(tc.minISR, 1), tc.elr)
			ch.election = tc.election
			if tc.targetISR != nil {
				ch.targetISR = tc.targetISR
			}
			ch.uncleanShutdown = -1
			if tc.unclean > 0 {
				ch.uncleanShutdown = tc.unclean
				ch.targetISR = without(ch.targetISR, tc.unclean)
			}
			rec := ch.build()
			if tc.noRecordNil {
				require.Nil(t, rec, "expected no change, got %v", rec)
				return
			}
			require.NotNil(t, rec)
			assert.Equal(t, tc.leader, rec.Leader, "leader")
			if tc.isr != nil {
				assert.Equal(t, tc.isr, rec.ISR, "ISR")
			}
			if tc.elrOut != nil {
				assert.Equal(t, tc.elrOut, rec.ELR, "ELR")
			}
			if tc.lastKnown != nil {
				assert.Equal(t, tc.lastKnown, rec.LastKnownELR, "last known leader")
			}
			if tc.recovering {
				assert.Equal(t, protocol.Recovering, rec.LeaderRecoveryState)
			} else {
				assert.NotEqual(t, protocol.Recovering, rec.LeaderRecoveryState)
			}
			assert.Equal(t, tc.kind, ch.kind, "election kind")
			if tc.kind == electedNone && !tc.elr {
				assert.Nil(t, rec.ISR, "without ELR the ISR never becomes empty")
			}

			// Kafka's merge rule: the partition epoch always bumps, the
			// leader epoch only with a leader change.
			merged := tc.p.Merge(rec)
			assert.Equal(t, tc.p.PartitionEpoch+1, merged.PartitionEpoch)
			if rec.Leader == metadata.NoLeaderChange {
				assert.Equal(t, tc.p.LeaderEpoch, merged.LeaderEpoch)
			} else {
				assert.Equal(t, tc.p.LeaderEpoch+1, merged.LeaderEpoch)
			}
		})
	}
}

func TestChangeNoOp(t *testing.T) {
	p := part([]int32{1, 2, 3}, []int32{1, 2, 3}, 1, nil, nil)
	ch := newChange(p, metadata.Uuid{1}, 0, live(1, 2, 3), 2, true)
	assert.Nil(t, ch.build(), "a change that changes nothing writes no record")
}

func TestChangeRecoveredByAlterPartition(t *testing.T) {
	p := part([]int32{1, 2, 3}, []int32{2}, 2, nil, nil)
	p.LeaderRecoveryState = protocol.Recovering
	ch := newChange(p, metadata.Uuid{1}, 0, live(1, 2, 3), 1, false)
	ch.targetISR = []int32{1, 2}
	ch.targetRecovery = protocol.Recovered
	rec := ch.build()
	require.NotNil(t, rec)
	assert.Equal(t, []int32{1, 2}, rec.ISR)
	assert.Equal(t, protocol.Recovered, rec.LeaderRecoveryState)
	assert.Equal(t, metadata.NoLeaderChange, rec.Leader)
}
