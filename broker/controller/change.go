package controller

import (
	"slices"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// election is how a partition change may choose a new leader.
type election uint8

const (
	// electOnline keeps the partition online from its ISR (or ELR).
	electOnline election = iota
	// electUnclean also accepts any live replica when no ISR or ELR member
	// can lead (unclean.leader.election.enable).
	electUnclean
	// electPreferred moves leadership to the first replica if it may lead.
	electPreferred
)

// electionKind says how a change chose its new leader, for coverage marks
// and the trace.
type electionKind uint8

const (
	noElection electionKind = iota
	electedClean
	electedPreferred
	electedELR
	electedLastKnownLeader
	electedUnclean
	electedNone // the partition went offline
)

var electionKindNames = []string{"", "clean", "preferred", "elr", "last-known-leader", "unclean", "offline"}

func (k electionKind) String() string { return electionKindNames[k] }

// change builds the PartitionChangeRecord that takes a partition from its
// registration to a target ISR, electing a leader if the current one may
// no longer lead, and keeping KIP-966's ELR and last known leader. It is
// Kafka's PartitionChangeBuilder rules, restated:
//
//   - A replica may lead if it is acceptable (registered, unfenced, not
//     shutting down, and not being removed) and in the target ISR, or, the
//     target ISR being empty, in the ELR. The current leader keeps leading
//     while it may; otherwise the first replica in assignment order that
//     may lead is chosen (a preferred election tries the first replica
//     first); then, with ELR, the last known leader if it is acceptable;
//     then, for an unclean election, the first acceptable replica.
//   - A leader elected from the ELR becomes the ISR alone. An unclean
//     leader becomes the ISR alone and starts RECOVERING (KIP-704), and the
//     ELR is cleared.
//   - With ELR, while the target ISR is below min.insync.replicas the
//     replicas that leave the ISR join the ELR (unless they shut down
//     uncleanly); once the ISR is back at min ISR the ELR is cleared. The
//     ISR may become empty, and the leader it had is remembered as the
//     last known leader. Without ELR the ISR never becomes empty: its last
//     member stays in it.
//   - The partition epoch bumps with every change, the leader epoch with
//     every leader change (not on an ISR shrink, since KAFKA-15021).
type change struct {
	p          *metadata.Partition
	topicID    metadata.Uuid
	partition  int32
	acceptable func(int32) bool
	minISR     int
	elr        bool
	election   election

	targetISR       []int32
	targetELR       []int32
	targetLastKnown []int32
	uncleanShutdown int32 // a broker that restarted after an unclean shutdown, or -1
	targetRecovery  protocol.LeaderRecoveryState

	kind electionKind
}

func newChange(p *metadata.Partition, topicID metadata.Uuid, partition int32, acceptable func(int32) bool, minISR int, elr bool) *change {
	return &change{
		p: p, topicID: topicID, partition: partition, acceptable: acceptable, minISR: minISR, elr: elr,
		targetISR: slices.Clone(p.ISR), targetELR: slices.Clone(p.ELR), targetLastKnown: slices.Clone(p.LastKnownELR),
		uncleanShutdown: -1, targetRecovery: p.LeaderRecoveryState,
	}
}

// mayLead reports whether replica r may become (or stay) a clean leader.
func (c *change) mayLead(r int32) bool {
	if r < 0 || !c.acceptable(r) {
		return false
	}
	return slices.Contains(c.targetISR, r) || (len(c.targetISR) == 0 && slices.Contains(c.targetELR, r))
}

// lastKnownLeader returns the last known leader if it may be elected.
func (c *change) lastKnownLeader() (int32, bool) {
	if !c.elr || len(c.targetISR) > 0 || len(c.targetELR) > 0 || len(c.p.LastKnownELR) != 1 {
		return -1, false
	}
	id := c.p.LastKnownELR[0]
	return id, c.acceptable(id)
}

// elect returns the leader the rules choose and how it was chosen.
func (c *change) elect() (int32, electionKind) {
	replicas := c.p.Replicas
	if c.election == electPreferred && len(replicas) > 0 && c.mayLead(replicas[0]) {
		return replicas[0], electedPreferred
	}
	if c.mayLead(c.p.Leader) {
		return c.p.Leader, noElection
	}
	for _, r := range replicas {
		if c.mayLead(r) {
			if len(c.targetISR) == 0 {
				return r, electedELR
			}
			return r, electedClean
		}
	}
	if id, ok := c.lastKnownLeader(); ok {
		return id, electedLastKnownLeader
	}
	if c.election == electUnclean {
		for _, r := range replicas {
			if c.acceptable(r) {
				return r, electedUnclean
			}
		}
	}
	return metadata.NoLeader, electedNone
}

// build returns the record, or nil if nothing changes.
func (c *change) build() *metadata.PartitionChangeRecord {
	rec := metadata.NewPartitionChange(c.topicID, c.partition)
	c.populateELR()
	c.tryElection(rec)
	c.updateRecordELR(rec)
	if rec.ISR == nil && (len(c.targetISR) > 0 || c.elr) && !slices.Equal(c.targetISR, c.p.ISR) {
		rec.ISR = nonNil(c.targetISR)
	}
	c.updateLastKnownLeader(rec)
	if rec.LeaderRecoveryState == metadata.NoRecoveryStateChange && c.targetRecovery != c.p.LeaderRecoveryState {
		rec.LeaderRecoveryState = c.targetRecovery
	}
	if rec.ISR == nil && rec.ELR == nil && rec.LastKnownELR == nil && rec.Leader == metadata.NoLeaderChange &&
		rec.Replicas == nil && rec.LeaderRecoveryState == metadata.NoRecoveryStateChange {
		return nil
	}
	return rec
}

func (c *change) populateELR() {
	if !c.elr {
		return
	}
	if len(c.targetISR) >= c.minISR {
		c.targetELR, c.targetLastKnown = nil, nil
		return
	}
	// Every replica that was in the ISR or the ELR, and is not in the
	// target ISR, is eligible, unless it lost data in an unclean shutdown.
	var cand []int32
	cand = appendUnique(cand, c.targetELR...)
	cand = appendUnique(cand, c.p.ISR...)
	var elr []int32
	for _, r := range cand {
		if !slices.Contains(c.targetISR, r) && r != c.uncleanShutdown {
			elr = append(elr, r)
		}
	}
	lastKnown := appendUnique(slices.Clone(cand), c.targetLastKnown...)
	var lk []int32
	for _, r := range lastKnown {
		if !slices.Contains(c.targetISR, r) && !slices.Contains(elr, r) {
			lk = append(lk, r)
		}
	}
	slices.Sort(elr)
	slices.Sort(lk)
	c.targetELR, c.targetLastKnown = elr, lk
}

func (c *change) tryElection(rec *metadata.PartitionChangeRecord) {
	leader, kind := c.elect()
	if leader == c.p.Leader {
		return
	}
	c.kind = kind
	rec.Leader = leader
	switch kind {
	case electedELR:
		// A leader from the ELR is the ISR alone; it leaves the ELR.
		c.targetISR = []int32{leader}
		c.targetELR = without(c.targetELR, leader)
	case electedUnclean, electedLastKnownLeader:
		// An unclean leader is the ISR alone, and recovers (KIP-704).
		rec.ISR = []int32{leader}
		if c.p.LeaderRecoveryState != protocol.Recovering {
			rec.LeaderRecoveryState = protocol.Recovering
		}
	}
}

func (c *change) updateRecordELR(rec *metadata.PartitionChangeRecord) {
	cleanElection := rec.ISR == nil
	if !cleanElection || !c.elr {
		c.targetELR, c.targetLastKnown = nil, nil
	}
	if !slices.Equal(c.targetELR, c.p.ELR) {
		rec.ELR = nonNil(c.targetELR)
	}
}

// updateLastKnownLeader keeps the last known leader (in LastKnownELR) as
// Kafka does with ELR on: set when the ISR first becomes empty, cleared
// once the partition has a leader again.
func (c *change) updateLastKnownLeader(rec *metadata.PartitionChangeRecord) {
	if !c.elr {
		return
	}
	switch {
	case rec.ISR != nil && len(rec.ISR) == 0 && c.p.Leader >= 0 && !(len(c.p.LastKnownELR) == 1 && c.p.LastKnownELR[0] == c.p.Leader):
		rec.LastKnownELR = []int32{c.p.Leader}
	case (rec.Leader >= 0 || (c.p.Leader != metadata.NoLeader && rec.Leader != metadata.NoLeader)) && len(c.p.LastKnownELR) > 0:
		rec.LastKnownELR = []int32{}
	}
}

func appendUnique(dst []int32, ids ...int32) []int32 {
	for _, id := range ids {
		if !slices.Contains(dst, id) {
			dst = append(dst, id)
		}
	}
	return dst
}

// nonNil returns ids, or an empty non-nil slice: in a change record a nil
// slice means "no change".
func nonNil(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return ids
}

// without returns ids without the given ones, in order.
func without(ids []int32, drop ...int32) []int32 {
	out := make([]int32, 0, len(ids))
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}
