package broker

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// never is a time long before the simulation started (Kafka's 0 ms, which
// is decades before its clock's now).
const never = time.Duration(-1 << 62)

// remote is the leader's view of one follower (Kafka's Replica state).
type remote struct {
	id                 int32
	leo                int64 // -1 until the follower fetches in this leadership
	lastFetchLeaderLEO int64
	lastFetchTime      time.Duration
	lastCaughtUp       time.Duration
	brokerEpoch        int64
	hasEpoch           bool
}

func (r *remote) caughtUp(leaderLEO int64, now, maxLag time.Duration) bool {
	return r.leo == leaderLEO || now-r.lastCaughtUp <= maxLag
}

// pendingISR is an ISR change sent to the controller and not yet answered
// (KIP-497): the leader uses the maximal ISR until the answer.
type pendingISR struct {
	proposed []int32
	maximal  []int32
	shrink   bool
	// brokers is proposed with each member's broker epoch as the leader
	// knew it when proposing: every retry sends these (KIP-903).
	brokers []protocol.BrokerState
}

// partition is the broker's replica of one partition: its log, and its
// leader or follower state.
type partition struct {
	b   *Broker
	tp  model.TopicPartition
	log *log.Log

	replicas       []int32
	leader         int32
	leaderEpoch    int32
	partitionEpoch int32
	isLeader       bool
	// version is the broker's change count when this replica last changed
	// in a way a checker can see (ClusterView.PartitionVersion).
	version uint64

	// leader state
	isr        []int32 // committed ISR
	pending    *pendingISR
	epochStart int64
	remotes    map[int32]*remote

	produceWaits []*produceWait
	fetchWaits   []*fetchWait

	// follower state: the fetcher holding this partition, or -1
	fetchingFrom int32
}

func newPartition(b *Broker, tp model.TopicPartition) *partition {
	return &partition{b: b, tp: tp, leader: protocol.NoNode, leaderEpoch: protocol.NoEpoch, partitionEpoch: -1,
		fetchingFrom: protocol.NoNode, remotes: make(map[int32]*remote)}
}

func (p *partition) ensureLog() error {
	if p.log != nil {
		return nil
	}
	l, _, err := log.Open(p.b.n.Disk(), p.tp, p.b.logConfig(), log.OpenOptions{Clean: true, Now: p.b.n.Now()})
	if err != nil {
		return err
	}
	p.log = l
	p.changed()
	return nil
}

func (p *partition) deleteLog() {
	if p.log == nil {
		return
	}
	d := p.b.n.Disk()
	for _, name := range d.List(log.Dir(p.tp)) {
		_ = d.Remove(name)
	}
	p.log = nil
}

// maximalISR is the ISR the leader counts on: the committed ISR plus any
// member a pending change adds.
func (p *partition) maximalISR() []int32 {
	if p.pending != nil {
		return p.pending.maximal
	}
	return p.isr
}

// emit adds a trace record about the partition; the detail is formatted
// only when someone reads the trace.
func (p *partition) emit(kind string, digest uint64, format string, args ...any) {
	tr := p.b.s.Trace()
	if !tr.Sinking() {
		tr.Emit(p.b.n, kind, digest, nil)
		return
	}
	tr.Emitf(p.b.n, kind, digest, "%s: "+format, append([]any{p.tp}, args...)...)
}

// applyRegistration acts on the partition's committed state from the
// metadata log: become (or stay) leader or follower.
func (p *partition) applyRegistration(reg *metadata.Partition) {
	if reg.PartitionEpoch < p.partitionEpoch {
		p.emit("broker.stale-metadata", uint64(reg.PartitionEpoch), "partition epoch %d is older than %d", reg.PartitionEpoch, p.partitionEpoch)
		return
	}
	if reg.Leader == p.b.id {
		if reg.LeaderRecoveryState == protocol.Recovering && reg.LeaderEpoch > p.leaderEpoch {
			// KIP-704: an unclean leader recovers before it serves; with
			// no transaction state to rebuild it is RECOVERED at once, as
			// Kafka's is, and says so in its next AlterPartition.
			p.b.s.Mark("broker.recovering")
			p.emit("broker.recovering", uint64(reg.LeaderEpoch), "elected uncleanly at epoch %d: recovering, then recovered", reg.LeaderEpoch)
		}
		p.makeLeader(reg)
	} else {
		p.makeFollower(reg)
	}
	p.changed()
}

func (p *partition) makeLeader(reg *metadata.Partition) {
	b := p.b
	now := b.n.Now()
	isNewLeader := !p.isLeader
	isNewEpoch := reg.LeaderEpoch > p.leaderEpoch
	p.stopFetching()
	p.replicas = slices.Clone(reg.Replicas)
	p.isr = sortedIDs(reg.ISR)
	p.pending = nil
	p.isLeader = true
	p.leader = b.id
	for id := range p.remotes {
		if !slices.Contains(p.replicas, id) {
			delete(p.remotes, id)
		}
	}
	for _, id := range p.replicas {
		if id != b.id && p.remotes[id] == nil {
			p.remotes[id] = &remote{id: id, leo: -1, lastFetchLeaderLEO: -1, lastFetchTime: never, lastCaughtUp: never, brokerEpoch: -1}
		}
	}
	if isNewEpoch {
		leo := p.log.EndOffset()
		if err := p.log.AssignEpochStartOffset(reg.LeaderEpoch, leo); err != nil {
			p.emit("broker.storage-error", 0, "%v", err)
		}
		p.epochStart = leo
		for _, id := range p.replicas {
			r := p.remotes[id]
			if r == nil {
				continue
			}
			inSync := slices.Contains(p.isr, id)
			r.lastCaughtUp = never
			if inSync {
				r.lastCaughtUp = now
			}
			if isNewLeader {
				*r = remote{id: id, leo: -1, lastFetchLeaderLEO: -1, lastFetchTime: never, lastCaughtUp: r.lastCaughtUp, brokerEpoch: -1}
			} else {
				r.lastFetchLeaderLEO = leo
				r.lastFetchTime = never
				if inSync {
					r.lastFetchTime = now
				}
			}
		}
		p.leaderEpoch = reg.LeaderEpoch
		p.emit("broker.become-leader", sim.Digest(uint64(reg.LeaderEpoch), uint64(leo)),
			"leader at epoch %d from offset %d, isr %v, hwm %d", reg.LeaderEpoch, leo, p.isr, p.log.HighWatermark())
	}
	p.partitionEpoch = reg.PartitionEpoch
	if !p.maybeIncrementHighWatermark() {
		p.completeProduceWaits()
	}
}

func (p *partition) makeFollower(reg *metadata.Partition) {
	b := p.b
	wasLeader := p.isLeader
	isNewEpoch := reg.LeaderEpoch > p.leaderEpoch
	oldLeader := p.leader
	p.isLeader = false
	p.leader = reg.Leader
	p.leaderEpoch = reg.LeaderEpoch
	p.partitionEpoch = reg.PartitionEpoch
	p.replicas = slices.Clone(reg.Replicas)
	p.isr = nil
	p.pending = nil
	clear(p.remotes)
	if wasLeader {
		p.failWaits()
		// A leader that learns, from metadata, that the controller fenced
		// it and moved its leadership away was a zombie until now: cut off
		// from the controller while it went on acting as leader.
		if self, ok := b.image.Broker(b.id); ok && reg.Leader != b.id && (self.Fenced || self.Epoch != b.epoch) {
			b.s.Mark("broker.zombie-fenced")
			p.emit("broker.zombie-fenced", uint64(reg.LeaderEpoch), "fenced by the controller: leadership moved to %d at epoch %d", reg.Leader, reg.LeaderEpoch)
		}
	}
	if !isNewEpoch && !wasLeader && oldLeader == reg.Leader && p.fetchingFrom == reg.Leader {
		return // an ISR change of a partition this broker already follows
	}
	p.stopFetching()
	p.emit("broker.become-follower", sim.Digest(uint64(reg.LeaderEpoch), uint64(reg.Leader)),
		"follower of %d at epoch %d, log end %d, hwm %d", reg.Leader, reg.LeaderEpoch, p.log.EndOffset(), p.log.HighWatermark())
	if b.cfg.Truncation == TruncateToHighWatermark {
		p.truncate(p.log.HighWatermark(), "high-watermark", "broker.truncate.high-watermark")
	}
	if reg.Leader != protocol.NoNode && reg.Leader != b.id {
		b.fetcherFor(reg.Leader).add(p)
	}
}

// becomeNone stops every role: the partition is leaving this broker.
func (p *partition) becomeNone(code protocol.ErrorCode) {
	p.stopFetching()
	p.isLeader = false
	p.failWaits()
}

func (p *partition) stopFetching() {
	if p.fetchingFrom == protocol.NoNode {
		return
	}
	if f, ok := p.b.fetchers[p.fetchingFrom]; ok {
		f.remove(p.tp)
	}
	p.fetchingFrom = protocol.NoNode
}

// truncate cuts the log at offset, telling the observer and the trace.
func (p *partition) truncate(offset int64, reason, mark string) {
	oldEnd := p.log.EndOffset()
	newEnd, removed, err := p.log.TruncateTo(offset)
	if err != nil {
		p.emit("broker.storage-error", 0, "truncate: %v", err)
		return
	}
	if !removed {
		return
	}
	p.b.s.Mark(mark)
	p.emit("broker.truncate", sim.Digest(uint64(newEnd), uint64(oldEnd)), "truncated [%d, %d) (%s)", newEnd, oldEnd, reason)
	p.b.observeTruncation(p.tp, newEnd, oldEnd, reason)
	p.changed()
}

// checkEpoch is KIP-320's fencing of a request's current leader epoch.
func (p *partition) checkEpoch(epoch int32) protocol.ErrorCode {
	switch {
	case epoch == protocol.NoEpoch:
		return protocol.None
	case epoch < p.leaderEpoch:
		return protocol.FencedLeaderEpoch
	case epoch > p.leaderEpoch:
		return protocol.UnknownLeaderEpoch
	}
	return protocol.None
}

// eligible is KIP-841/KIP-903's ISR eligibility: registered, unfenced,
// not shutting down, and fetching with the broker epoch the metadata has.
func (p *partition) eligible(r *remote) bool {
	reg, ok := p.b.image.Broker(r.id)
	return ok && !reg.Fenced && !reg.InControlledShutdown && r.hasEpoch && (r.brokerEpoch == -1 || r.brokerEpoch == reg.Epoch)
}

// maybeIncrementHighWatermark advances the leader's high-water mark to the
// smallest log end offset among the maximal ISR and the caught-up,
// eligible followers (Kafka's maybeIncrementLeaderHW). Since Kafka 3.7 it
// does not advance while the ISR is below min.insync.replicas.
func (p *partition) maybeIncrementHighWatermark() bool {
	if !p.isLeader || p.log == nil {
		return false
	}
	b := p.b
	if !b.cfg.LegacyHighWatermark && len(p.isr) < b.minISR(p.tp.Topic, len(p.replicas)) {
		return false
	}
	leo := p.log.EndOffset()
	now := b.n.Now()
	hw := leo
	maximal := p.maximalISR()
	for _, id := range p.replicas {
		r := p.remotes[id]
		if r == nil || r.leo >= hw {
			continue
		}
		if slices.Contains(maximal, id) || (r.caughtUp(leo, now, b.cfg.ReplicaLagTimeMax) && p.eligible(r)) {
			hw = r.leo
		}
	}
	if hw <= p.log.HighWatermark() {
		return false
	}
	p.log.SetHighWatermark(hw)
	p.emit("broker.hwm", uint64(hw), "high-water mark %d", hw)
	p.changed()
	p.completeProduceWaits()
	p.wakeFetchWaits()
	return true
}

// updateFollower records a follower's fetch (Kafka's
// updateFollowerFetchState), then considers ISR expansion and the
// high-water mark.
func (p *partition) updateFollower(id int32, fetchOffset, leaderLEO, brokerEpoch int64) {
	r := p.remotes[id]
	if r == nil {
		return
	}
	now := p.b.n.Now()
	if fetchOffset >= leaderLEO {
		r.lastCaughtUp = max(r.lastCaughtUp, now)
	} else if fetchOffset >= r.lastFetchLeaderLEO {
		r.lastCaughtUp = max(r.lastCaughtUp, r.lastFetchTime)
	}
	prev := r.leo
	r.leo = fetchOffset
	r.lastFetchLeaderLEO = max(leaderLEO, r.lastFetchLeaderLEO)
	r.lastFetchTime = now
	r.brokerEpoch, r.hasEpoch = brokerEpoch, true
	p.maybeExpandISR(r)
	if prev != r.leo {
		p.maybeIncrementHighWatermark()
	}
}

func (p *partition) maybeExpandISR(r *remote) {
	if p.pending != nil || slices.Contains(p.isr, r.id) || !p.eligible(r) {
		return
	}
	if r.leo < p.log.HighWatermark() || r.leo < p.epochStart {
		return
	}
	p.b.s.Mark("broker.isr.expand")
	p.proposeISR(sortedIDs(append(slices.Clone(p.isr), r.id)), false)
}

func (p *partition) maybeShrinkISR() {
	if !p.isLeader || p.pending != nil {
		return
	}
	leo := p.log.EndOffset()
	now := p.b.n.Now()
	var out []int32
	for _, id := range p.isr {
		if id == p.b.id {
			continue
		}
		if r := p.remotes[id]; r == nil || !r.caughtUp(leo, now, p.b.cfg.ReplicaLagTimeMax) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return
	}
	var keep []int32
	for _, id := range p.isr {
		if !slices.Contains(out, id) {
			keep = append(keep, id)
		}
	}
	p.b.s.Mark("broker.isr.shrink")
	if len(keep) == 1 {
		p.b.s.Mark("broker.isr.shrunk-to-one")
	}
	p.proposeISR(keep, true)
}

func (p *partition) proposeISR(isr []int32, shrink bool) {
	maximal := sortedIDs(append(slices.Clone(p.isr), isr...))
	maximal = slices.Compact(maximal)
	p.pending = &pendingISR{proposed: isr, maximal: maximal, shrink: shrink, brokers: p.isrWithBrokerEpochs(isr)}
	what := "expand"
	if shrink {
		what = "shrink"
	}
	p.emit("broker.isr.propose", sim.Digest(uint64(len(isr)), uint64(p.partitionEpoch)), "%s ISR %v -> %v", what, p.isr, isr)
	p.changed()
	p.b.alterQ[p.tp] = true
	p.b.sendAlterPartitions()
}

// ---- delayed produce ----

// produceWait is one partition of an acks=all Produce waiting for the
// high-water mark to pass its records.
type produceWait struct {
	req      *delayedProduce
	index    int
	required int64
	done     bool
}

func (p *partition) completeProduceWaits() {
	if len(p.produceWaits) == 0 {
		return
	}
	// Completing a wait answers a request, whose callback may append and
	// add waits: those join the kept ones afterwards.
	waits := p.produceWaits
	p.produceWaits = nil
	var keep []*produceWait
	for _, w := range waits {
		if w.done || w.req.sent {
			continue
		}
		code, ok := p.checkEnoughReplicas(w.required)
		if !ok {
			keep = append(keep, w)
			continue
		}
		w.done = true
		w.req.complete(w.index, code, p)
	}
	p.produceWaits = append(keep, p.produceWaits...)
}

// checkEnoughReplicas is Kafka's checkEnoughReplicasReachOffset.
func (p *partition) checkEnoughReplicas(required int64) (protocol.ErrorCode, bool) {
	if !p.isLeader {
		return protocol.NotLeaderOrFollower, true
	}
	if p.log.HighWatermark() < required {
		return protocol.None, false
	}
	if p.b.minISR(p.tp.Topic, len(p.replicas)) > len(p.maximalISR()) {
		p.b.s.Mark("broker.produce.not-enough-replicas-after-append")
		return protocol.NotEnoughReplicasAfterAppend, true
	}
	return protocol.None, true
}

func (p *partition) failWaits() {
	waits := p.produceWaits
	p.produceWaits = nil
	for _, w := range waits {
		if !w.done && !w.req.sent {
			w.done = true
			w.req.complete(w.index, protocol.NotLeaderOrFollower, p)
		}
	}
	p.wakeFetchWaits()
}

// wakeFetchWaits completes the long polls on this partition that now have
// something to return.
func (p *partition) wakeFetchWaits() {
	if len(p.fetchWaits) == 0 {
		return
	}
	waits := p.fetchWaits
	p.fetchWaits = nil
	for _, w := range waits {
		if w.done {
			continue
		}
		if w.ready() {
			p.b.completeFetchWait(w)
			continue
		}
		p.fetchWaits = append(p.fetchWaits, w)
	}
}

func sortedIDs(ids []int32) []int32 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func (p *partition) String() string {
	role := "follower"
	if p.isLeader {
		role = "leader"
	}
	return fmt.Sprintf("%s %s epoch %d", p.tp, role, p.leaderEpoch)
}
