package checker

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// Kernel is what Invariants needs of the simulation kernel: *sim.Sim has
// it. (An interface, so that the checker does not depend on the kernel.)
type Kernel interface {
	AddCheck(name string, fn func() error)
	Now() time.Duration
	Steps() uint64
}

// InvariantConfig configures Invariants.
type InvariantConfig struct {
	Run Run
	// Continue records every violation without stopping the run, for
	// runs that must reach their end (comparisons, sweeps that count).
	Continue bool
	// Variants names the historical protocol variants in use (as
	// Settings.Variants): under them, a last stable offset above an open
	// transaction or the high-water mark is expected, not a violation.
	Variants []string
}

// CheckName is the name Register gives the invariants' kernel check.
const CheckName = "kafka-invariants"

// Invariants checks a cluster after every simulation step, and is told of
// acknowledgements and truncations as they happen (it is a
// model.Observer). The first violation of a bad class stops the run, with
// the seed and the time, unless configured to continue.
//
// The invariants, and what each allows:
//
//   - duplicate-leader: at most one broker leads a partition in one leader
//     epoch, over the whole run, counting the controller's choice and
//     every replica that acts as leader. Two brokers that both believe they
//     lead, in different epochs, are legal (a zombie leader until it learns
//     of the new epoch; KIP-320 fences its clients).
//   - hwm-above-leo: no online replica's high-water mark is above its own
//     log end offset.
//   - hwm-above-isr-leo: the current leader's high-water mark is not above
//     the log end offset of any online member of its ISR. A member that
//     restarted (crash or power loss) may legally come back with less
//     than the high-water mark covers and stay in the ISR until the
//     controller or the leader removes it: Kafka does exactly that, and it
//     is how committed records get lost. That case is not a violation but
//     a note, isr-member-lost-data; the final-state check lost-committed
//     reports the loss if it materialises. A member that lost records
//     without restarting is a violation.
//   - committed-prefix-mismatch: records below a replica's high-water mark
//     are identical on every replica that has them (offset, epoch, key and
//     value). Expected when an unclean election explains the mismatch (one
//     record's epoch is older than the election's, the other's is not). A
//     note when a replica came back from a restart without the offset and a
//     later epoch wrote it anew: a leader that lost unflushed data in a
//     power loss and was elected again as the last replica standing does
//     exactly this in Kafka; Final reports the committed records lost.
//   - epoch-regression: the controller's leader and partition epochs
//     never decrease, nor does a replica's leader epoch while its broker
//     runs. partition-epoch-stale: the controller changed a partition's
//     leader, ISR, ELR or replicas without a new partition epoch.
//   - isr-not-subset: the ISR and ELR are subsets of the assigned
//     replicas, disjoint, without repeats, as is each leader's own ISR;
//     leader-not-in-isr: the controller's leader is in its ISR.
//   - lso-above-open-txn, lso-above-hwm: where a replica leads and its
//     view tells of transactions (model.TxnReplicaView), its last stable
//     offset is at most the first offset of every transaction open on it
//     and at most its high-water mark: read_committed consumers read only
//     committed records of ended transactions. Expected under a protocol
//     variant (InvariantConfig.Variants).
//   - acked-not-replicated: when a leader acknowledges an acks=all
//     produce, every online member of the ISR it used holds the records,
//     identical to the leader's, unless that member restarted and was not
//     seen to hold them since (a note, ack-after-member-lost-data, as
//     above). ack-by-non-leader: the acknowledging broker leads in that
//     epoch.
//   - invalid-producer-state: where the view tells of producer state
//     (model.ProducerStateView), each producer's last remembered batch is
//     in the replica's log at its offsets (producerstate.go).
//
// Checks read the view only when its Version changed (and only the
// partitions whose version changed, if the view implements
// model.PartitionVersions; asking only the partitions the view names as
// changed, if it implements model.PartitionChanges), and verify each
// replica's committed prefix incrementally, so a step costs little.
type Invariants struct {
	cfg   InvariantConfig
	view  model.ClusterView
	now   func() time.Duration
	steps func() uint64
	mark  func(string)

	version  uint64
	checked  bool
	cursor   []uint64 // the view's, for model.PartitionChanges
	runs     uint64   // checks that read the view
	skipped  uint64   // checks skipped because nothing changed
	findings []Finding
	stop     *Finding // the first bad finding, not yet returned
	stopped  bool
	reported map[string]bool
	// prefixRuns maps a run of committed-prefix mismatches (partition, the
	// two brokers, class) to its finding, to extend it offset by offset.
	prefixRuns map[string]int
	parts      map[model.TopicPartition]*tpState
	openTxns   []model.OpenTxn // checkLSO's scratch
	// producerBatches is checkProducerState's scratch.
	producerBatches []model.ProducerBatch
	// powerLosses counts each broker's power losses (PowerLost).
	powerLosses map[int32]int
	// zk is what a ZooKeeper-mode run showed (zookeeper.go).
	zk *zkState
	// quorum is the metadata quorum's state, when the view has one.
	quorum *quorumState
}

type tpState struct {
	version   uint64 // the partition's version, if the view has them
	versioned bool
	mark      func(string)
	leaders   map[int32]int32 // leader epoch -> broker
	md        model.PartitionMetadata
	mdSeen    bool
	unclean   []int32 // leader epochs of unclean elections
	lost      []restartLoss
	replicas  map[int32]*replicaState
	ref       refLog // committed records, as first seen
}

type replicaState struct {
	seen      bool
	inc       uint32
	restarted bool
	epoch     int32 // leader epoch, within inc
	incLEO    int64 // the highest log end offset seen within inc
	// preLEO is the log end offset it had before its last restart: a
	// leader may still count a fetch it made up to there.
	preLEO   int64
	verified int64 // committed prefix verified below this offset
	okInc    uint32
	okSet    bool  // okInc is an incarnation seen at or above the leader's HWM
	okEpoch  int32 // the leader epoch of that leader
	// After a power loss the log comes back as the disk last had it
	// durably: below diskEnd it may hold records the replica had since
	// truncated or replaced (without a flush), until it truncates again.
	powerSeen int
	stale     bool
	diskEnd   int64
	// The incarnation and log end offset checkProducerState last saw.
	producersChecked bool
	producersInc     uint32
	producersLEO     int64
}

// restartLoss is a log suffix a replica came back without after a restart
// (unflushed data lost in a power loss).
type restartLoss struct {
	broker   int32
	from, to int64
}

// refLog holds, per offset, the committed record first seen there.
type refLog struct {
	base    int64
	entries []refEntry
}

type refEntry struct {
	e      model.Entry
	broker int32
	set    bool
}

func (r *refLog) get(o int64) *refEntry {
	if o < r.base || o >= r.base+int64(len(r.entries)) {
		return nil
	}
	e := &r.entries[o-r.base]
	if !e.set {
		return nil
	}
	return e
}

func (r *refLog) put(o int64, e model.Entry, broker int32) {
	if len(r.entries) == 0 {
		r.base = o
	}
	if o < r.base {
		grow := make([]refEntry, r.base-o, int64(len(r.entries))+r.base-o)
		r.entries = append(grow, r.entries...)
		r.base = o
	}
	for o >= r.base+int64(len(r.entries)) {
		r.entries = append(r.entries, refEntry{})
	}
	r.entries[o-r.base] = refEntry{e: e, broker: broker, set: true}
}

// NewInvariants returns invariants with nothing to watch yet: pass them to
// the brokers as their Observer, then Register them with the kernel and
// the cluster's view.
func NewInvariants(cfg InvariantConfig) *Invariants {
	return &Invariants{cfg: cfg, reported: make(map[string]bool), prefixRuns: make(map[string]int), parts: make(map[model.TopicPartition]*tpState),
		powerLosses: make(map[int32]int), now: func() time.Duration { return 0 }, steps: func() uint64 { return 0 }}
}

// PowerLost tells the invariants that a broker lost power: when it comes
// back, its logs are what its disk held durably, which may predate
// truncations and re-fetches it had not flushed. Until such a replica
// truncates, a mismatch of its committed prefix is expected (Kafka fsyncs
// nothing by default) and its records do not stand as the reference.
func (inv *Invariants) PowerLost(broker int32) { inv.powerLosses[broker]++ }

// Register watches view and adds the invariants to the kernel as the check
// CheckName, run after every event; findings take their time and step
// from the kernel.
//
// If the kernel counts coverage marks (*sim.Sim does), the invariants mark
// the legal but dangerous states they let pass, so that a scenario can
// assert that it reached them: "checker.isr-member-lost-data",
// "checker.ack-after-member-lost-data", "checker.unclean-election",
// "checker.committed-rewritten-after-restart" and
// "checker.stale-log-after-power-loss".
func (inv *Invariants) Register(k Kernel, view model.ClusterView) {
	inv.Attach(view, k.Now, k.Steps)
	if m, ok := k.(interface{ Mark(name string) }); ok {
		inv.mark = m.Mark
	}
	k.AddCheck(CheckName, inv.Check)
}

// Attach watches view, with now and steps telling the time and step of
// findings (either may be nil), without a kernel.
func (inv *Invariants) Attach(view model.ClusterView, now func() time.Duration, steps func() uint64) {
	inv.view = view
	if now != nil {
		inv.now = now
	}
	if steps != nil {
		inv.steps = steps
	}
}

// Findings returns every finding so far, including those that did not
// stop the run (expected, notes, and all of them with Continue).
func (inv *Invariants) Findings() []Finding { return slices.Clone(inv.findings) }

// Checks returns how many checks read the view, and how many were skipped
// because its version had not changed.
func (inv *Invariants) Checks() (read, skipped uint64) { return inv.runs, inv.skipped }

// violation is the error the kernel receives: the finding in short (the
// kernel's failure adds the seed, time, step and replay command).
type violation struct{ f *Finding }

func (v *violation) Error() string { return v.f.Short() }
func (v *violation) Unwrap() error { return v.f }

// Check checks the view. It returns the first violation of a bad class,
// found now or by an Observer call during the last step, unless the
// configuration says to continue.
func (inv *Invariants) Check() error {
	if inv.view == nil {
		return nil
	}
	if v := inv.view.Version(); inv.checked && v == inv.version {
		inv.skipped++
	} else {
		inv.version, inv.checked = v, true
		inv.runs++
		pv, _ := inv.view.(model.PartitionVersions)
		var tps []model.TopicPartition
		if pc, ok := inv.view.(model.PartitionChanges); ok && pv != nil {
			tps, inv.cursor = pc.ChangedPartitions(inv.cursor)
		} else {
			tps = inv.view.Partitions()
		}
		for _, tp := range tps {
			if pv != nil {
				st := inv.part(tp)
				if v := pv.PartitionVersion(tp); st.versioned && v == st.version {
					continue
				} else {
					st.version, st.versioned = v, true
				}
			}
			inv.checkPartition(tp)
		}
	}
	inv.checkQuorum()
	return inv.Stop()
}

// Stop returns the first violation of a bad class reported since the run
// began and not returned yet (by an Observer call or a ZooKeeper-mode
// observation), unless the configuration says to continue; Check returns
// it too.
func (inv *Invariants) Stop() error {
	if inv.stop != nil && !inv.stopped {
		inv.stopped = true
		return &violation{inv.stop}
	}
	return nil
}

func (inv *Invariants) part(tp model.TopicPartition) *tpState {
	st := inv.parts[tp]
	if st == nil {
		st = &tpState{leaders: make(map[int32]int32), replicas: make(map[int32]*replicaState), mark: inv.marker}
		inv.parts[tp] = st
	}
	return st
}

func (st *tpState) rep(broker int32) *replicaState {
	rs := st.replicas[broker]
	if rs == nil {
		rs = &replicaState{}
		st.replicas[broker] = rs
	}
	return rs
}

// extend grows finding i, a committed-prefix-mismatch, by offset o if o
// follows its last offset, and reports whether it did.
func (inv *Invariants) extend(i int, o int64) bool {
	f := &inv.findings[i]
	last := f.Offsets[len(f.Offsets)-1]
	if o != last+1 {
		return false
	}
	if len(f.Offsets) == 1 {
		f.Offsets = append(f.Offsets, o)
	} else {
		f.Offsets[len(f.Offsets)-1] = o
	}
	const more = "; and so on at every offset up to "
	if k := strings.Index(f.Message, more); k >= 0 {
		f.Message = f.Message[:k]
	}
	f.Message += fmt.Sprintf("%s%d", more, o)
	return true
}

// report records a finding once per key; a bad one stops the run unless
// configured to continue.
func (inv *Invariants) report(key string, f Finding) {
	if inv.reported[key] {
		return
	}
	inv.reported[key] = true
	f.At, f.Step = inv.now(), inv.steps()
	f.Seed, f.Replay = inv.cfg.Run.Seed, inv.cfg.Run.Replay
	inv.findings = append(inv.findings, f)
	if f.Class.Bad() && !inv.cfg.Continue && inv.stop == nil {
		inv.stop = &f
	}
}

func (inv *Invariants) checkPartition(tp model.TopicPartition) {
	st := inv.part(tp)
	md, ok := inv.view.Metadata(tp)
	if ok {
		inv.checkMetadata(tp, st, md)
	}
	reps := inv.view.Replicas(tp)
	for _, r := range reps {
		if r.Online() {
			inv.checkReplica(tp, st, md, ok, r)
		}
	}
	if ok {
		inv.checkISR(tp, st, md, reps)
	}
	for _, r := range reps {
		if r.Online() {
			inv.checkPrefix(tp, st, r)
		}
	}
}

func (inv *Invariants) checkMetadata(tp model.TopicPartition, st *tpState, md model.PartitionMetadata) {
	key := func(name FindingName) string { return fmt.Sprintf("%s|%s|%d", name, tp, md.PartitionEpoch) }
	bad := func(name FindingName, msg string, args ...any) {
		inv.report(key(name), Finding{Name: string(name), Class: Invariant, TP: tp, Message: "controller: " + fmt.Sprintf(msg, args...)})
	}
	if dup := repeated(md.Replicas); dup >= 0 {
		bad(ISRNotSubset, "broker %d appears twice in the assignment %v", dup, md.Replicas)
	}
	for _, l := range []struct {
		name string
		ids  []int32
	}{{"ISR", md.ISR}, {"ELR", md.ELR}} {
		if dup := repeated(l.ids); dup >= 0 {
			bad(ISRNotSubset, "broker %d appears twice in the %s %v", dup, l.name, l.ids)
		}
		for _, b := range l.ids {
			if !slices.Contains(md.Replicas, b) {
				bad(ISRNotSubset, "the %s %v has broker %d, which is not among the assigned replicas %v", l.name, l.ids, b, md.Replicas)
			}
		}
	}
	for _, b := range md.ELR {
		if slices.Contains(md.ISR, b) {
			bad(ISRNotSubset, "broker %d is in both the ISR %v and the ELR %v", b, md.ISR, md.ELR)
		}
	}
	if md.Leader != model.NoLeader && !slices.Contains(md.ISR, md.Leader) {
		bad(LeaderNotInISR, "leader %d (epoch %d) is not in the ISR %v", md.Leader, md.LeaderEpoch, md.ISR)
	}
	if md.Leader != model.NoLeader {
		inv.leads(tp, st, md.Leader, md.LeaderEpoch, -1)
	}
	if st.mdSeen {
		prev := st.md
		if md.LeaderEpoch < prev.LeaderEpoch || md.PartitionEpoch < prev.PartitionEpoch {
			bad(EpochRegression, "leader epoch %d -> %d, partition epoch %d -> %d", prev.LeaderEpoch, md.LeaderEpoch, prev.PartitionEpoch, md.PartitionEpoch)
		}
		changed := prev.Leader != md.Leader || !slices.Equal(prev.ISR, md.ISR) || !slices.Equal(prev.ELR, md.ELR) || !slices.Equal(prev.Replicas, md.Replicas)
		if changed && md.PartitionEpoch == prev.PartitionEpoch {
			bad(PartitionEpochStale, "leader %d -> %d, ISR %v -> %v, ELR %v -> %v, replicas %v -> %v, all in partition epoch %d",
				prev.Leader, md.Leader, prev.ISR, md.ISR, prev.ELR, md.ELR, prev.Replicas, md.Replicas, md.PartitionEpoch)
		}
		// An election of a leader that was neither in the ISR, nor in the
		// ELR, nor the last known leader (KIP-966) is unclean.
		if md.Leader != model.NoLeader && md.Leader != prev.Leader && md.LeaderEpoch > prev.LeaderEpoch &&
			!slices.Contains(prev.ISR, md.Leader) && !slices.Contains(prev.ELR, md.Leader) && !slices.Contains(prev.LastKnownELR, md.Leader) {
			inv.unclean(st, md.LeaderEpoch)
		}
	}
	if md.Recovering {
		inv.unclean(st, md.LeaderEpoch)
	}
	// Keep a copy (the view's slices may change under us), made only when
	// something changed.
	if !st.mdSeen || !sameMetadata(st.md, md) {
		st.md = md
		st.md.ISR, st.md.ELR, st.md.Replicas = slices.Clone(md.ISR), slices.Clone(md.ELR), slices.Clone(md.Replicas)
		st.md.LastKnownELR = slices.Clone(md.LastKnownELR)
	}
	st.mdSeen = true
}

func sameMetadata(a, b model.PartitionMetadata) bool {
	return a.Leader == b.Leader && a.LeaderEpoch == b.LeaderEpoch && a.PartitionEpoch == b.PartitionEpoch && a.Recovering == b.Recovering &&
		slices.Equal(a.ISR, b.ISR) && slices.Equal(a.ELR, b.ELR) && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.LastKnownELR, b.LastKnownELR)
}

func (inv *Invariants) unclean(st *tpState, epoch int32) {
	if !slices.Contains(st.unclean, epoch) {
		st.unclean = append(st.unclean, epoch)
		inv.marker("checker.unclean-election")
	}
}

func (inv *Invariants) marker(name string) {
	if inv.mark != nil {
		inv.mark(name)
	}
}

func repeated(ids []int32) int32 {
	for i, b := range ids {
		if slices.Contains(ids[i+1:], b) {
			return b
		}
	}
	return -1
}

// leads records that broker leads tp in epoch, as replica says (-1: the
// controller).
func (inv *Invariants) leads(tp model.TopicPartition, st *tpState, broker, epoch int32, replica int32) {
	prev, ok := st.leaders[epoch]
	if !ok {
		st.leaders[epoch] = broker
		return
	}
	if prev != broker {
		who := "the controller"
		if replica >= 0 {
			who = fmt.Sprintf("replica %d", replica)
		}
		inv.report(fmt.Sprintf("duplicate-leader|%s|%d|%d", tp, epoch, broker), Finding{Name: string(DuplicateLeader), Class: Invariant, TP: tp,
			Brokers: []int32{prev, broker},
			Message: fmt.Sprintf("brokers %d and %d both lead in leader epoch %d (%s names broker %d)", prev, broker, epoch, who, broker)})
	}
}

func (inv *Invariants) checkReplica(tp model.TopicPartition, st *tpState, md model.PartitionMetadata, mdOK bool, r model.ReplicaView) {
	b := r.Broker()
	rs := st.rep(b)
	inc, leo, hwm, epoch := r.Incarnation(), r.LogEndOffset(), r.HighWatermark(), r.LeaderEpoch()
	if rs.seen && inc != rs.inc {
		if leo < rs.incLEO {
			st.lost = append(st.lost, restartLoss{b, leo, rs.incLEO})
		}
		rs.stale = inv.powerLosses[b] > rs.powerSeen
		rs.preLEO = rs.incLEO
		rs.diskEnd = leo
		rs.restarted = true
		rs.verified = 0 // what the disk gave back must be checked again
		rs.incLEO = leo
	}
	if rs.seen && inc == rs.inc && epoch < rs.epoch {
		inv.report(fmt.Sprintf("epoch-regression|%s|%d|%d", tp, b, epoch), Finding{Name: string(EpochRegression), Class: Invariant, TP: tp, Brokers: []int32{b},
			Message: fmt.Sprintf("replica %d went from leader epoch %d back to %d without restarting", b, rs.epoch, epoch)})
	}
	if !rs.seen && inc > 1 {
		// First seen after a restart (the broker started before the
		// invariants were registered, or was down until now).
		rs.restarted = true
	}
	rs.seen, rs.inc, rs.epoch = true, inc, epoch
	rs.powerSeen = inv.powerLosses[b]
	rs.incLEO = max(rs.incLEO, leo)
	if start := r.LogStartOffset(); start > hwm {
		inv.report(fmt.Sprintf("log-start-above-hwm|%s|%d|%d", tp, b, start), Finding{Name: string(LogStartAboveHWM), Class: Invariant, TP: tp, Brokers: []int32{b},
			Offsets: span(hwm, start), Message: fmt.Sprintf("replica %d has log start offset %d above its high-water mark %d: retention or DeleteRecords deleted records not yet committed, or a full truncation (truncateFullyAndStartAt) left the high-water mark behind", b, start, hwm)})
	}
	inv.checkProducerState(tp, rs, r)
	if hwm > leo {
		inv.report(fmt.Sprintf("hwm-above-leo|%s|%d|%d", tp, b, hwm), Finding{Name: string(HWMAboveLEO), Class: Invariant, TP: tp, Brokers: []int32{b},
			Offsets: span(leo, hwm), Message: fmt.Sprintf("replica %d has high-water mark %d above its log end offset %d", b, hwm, leo)})
	}
	if r.IsLeader() {
		inv.leads(tp, st, b, epoch, b)
		if tv, ok := r.(model.TxnReplicaView); ok {
			inv.checkLSO(tp, b, epoch, hwm, tv)
		}
		if mdOK {
			for _, m := range r.ISR() {
				if !slices.Contains(md.Replicas, m) {
					inv.report(fmt.Sprintf("isr-not-subset|%s|%d|%d|%d", tp, b, epoch, m), Finding{Name: string(ISRNotSubset), Class: Invariant, TP: tp,
						Brokers: []int32{b, m}, Message: fmt.Sprintf("leader %d (epoch %d) uses ISR %v with broker %d, which is not among the assigned replicas %v",
							b, epoch, r.ISR(), m, md.Replicas)})
				}
			}
			if dup := repeated(r.ISR()); dup >= 0 {
				inv.report(fmt.Sprintf("isr-not-subset|%s|%d|%d|dup", tp, b, epoch), Finding{Name: string(ISRNotSubset), Class: Invariant, TP: tp,
					Brokers: []int32{b}, Message: fmt.Sprintf("leader %d (epoch %d) uses ISR %v with broker %d twice", b, epoch, r.ISR(), dup)})
			}
		}
	}
}

// checkLSO: a leader's last stable offset against its open transactions
// and its high-water mark, reported once per leader epoch.
func (inv *Invariants) checkLSO(tp model.TopicPartition, b, epoch int32, hwm int64, tv model.TxnReplicaView) {
	lso := tv.LastStableOffset()
	class, allowed := Invariant, ""
	if len(inv.cfg.Variants) > 0 {
		class, allowed = Expected, fmt.Sprintf(" (the protocol variant %s allows it)", strings.Join(inv.cfg.Variants, ", "))
	}
	if lso > hwm {
		inv.report(fmt.Sprintf("%s|%s|%d|%d", LSOAboveHWM, tp, b, epoch), Finding{Name: string(LSOAboveHWM), Class: class, TP: tp, Brokers: []int32{b},
			Offsets: span(hwm, lso), Message: fmt.Sprintf("leader %d (epoch %d) has last stable offset %d above its high-water mark %d: read_committed consumers can read records not yet committed%s",
				b, epoch, lso, hwm, allowed)})
	}
	inv.openTxns = tv.OpenTxns(inv.openTxns[:0])
	for _, o := range inv.openTxns {
		if lso <= o.FirstOffset {
			continue
		}
		inv.report(fmt.Sprintf("%s|%s|%d|%d", LSOAboveOpenTxn, tp, b, epoch), Finding{Name: string(LSOAboveOpenTxn), Class: class, TP: tp, Brokers: []int32{b},
			Offsets: span(o.FirstOffset, lso), Message: fmt.Sprintf("leader %d (epoch %d) has last stable offset %d above offset %d, where producer %d's transaction, still open, begins: read_committed consumers can read records that may yet abort%s",
				b, epoch, lso, o.FirstOffset, o.ProducerID, allowed)})
		break
	}
}

// checkISR: the current leader's high-water mark against its ISR members.
func (inv *Invariants) checkISR(tp model.TopicPartition, st *tpState, md model.PartitionMetadata, reps []model.ReplicaView) {
	leader := find(reps, md.Leader)
	if leader == nil || !leader.Online() || !leader.IsLeader() || leader.LeaderEpoch() != md.LeaderEpoch {
		return
	}
	hwm := leader.HighWatermark()
	for _, m := range leader.ISR() {
		r := find(reps, m)
		if m == md.Leader || r == nil || !r.Online() {
			continue // the leader's own log: hwm-above-leo
		}
		rs := st.rep(m)
		if leo := r.LogEndOffset(); leo >= hwm {
			// Caught up with this leader since its restart only once it is
			// past what it held before: until then the leader may count a
			// fetch from before the restart (Kafka does), and a high-water
			// mark that has not moved proves nothing.
			if !rs.restarted || leo >= rs.preLEO {
				rs.okInc, rs.okSet, rs.okEpoch = r.Incarnation(), true, md.LeaderEpoch
			}
			continue
		} else if rs.restarted && !(rs.okSet && rs.okInc == r.Incarnation() && rs.okEpoch == md.LeaderEpoch) {
			// Restarted, and not caught up with this leader since: a member
			// that caught up with an earlier leader, which had lost data
			// itself, has not caught up with this one.
			inv.marker("checker.isr-member-lost-data")
			inv.report(fmt.Sprintf("isr-member-lost-data|%s|%d|%d", tp, m, r.Incarnation()), Finding{Name: string(ISRMemberLostData), Class: Note, TP: tp,
				Brokers: []int32{md.Leader, m}, Offsets: span(leo, hwm),
				Message: fmt.Sprintf("ISR member %d restarted with log end offset %d, below leader %d's high-water mark %d: Kafka keeps it in the ISR until it is removed, and committed records are at risk",
					m, leo, md.Leader, hwm)})
		} else {
			// Either the member never restarted, or it caught up with this
			// leader after its restart and lost records since without
			// restarting again (a truncation).
			why := "which did not restart"
			if rs.restarted {
				why = "which had caught up with this leader since its last restart and has removed records from its log since"
			}
			inv.report(fmt.Sprintf("hwm-above-isr-leo|%s|%d|%d", tp, m, r.Incarnation()), Finding{Name: string(HWMAboveISRLEO), Class: Invariant, TP: tp,
				Brokers: []int32{md.Leader, m}, Offsets: span(leo, hwm),
				Message: fmt.Sprintf("leader %d (epoch %d) has high-water mark %d, above the log end offset %d of ISR member %d, %s",
					md.Leader, md.LeaderEpoch, hwm, leo, m, why)})
		}
	}
}

// span lists the offsets [lo, hi), or only the first and last of them
// when there are many.
func span(lo, hi int64) []int64 {
	if hi-lo > 64 {
		return []int64{lo, hi - 1}
	}
	var out []int64
	for o := lo; o < hi; o++ {
		out = append(out, o)
	}
	return out
}

func find(reps []model.ReplicaView, broker int32) model.ReplicaView {
	for _, r := range reps {
		if r.Broker() == broker {
			return r
		}
	}
	return nil
}

// checkPrefix verifies the replica's committed records not yet verified
// against the first committed copy of each offset.
func (inv *Invariants) checkPrefix(tp model.TopicPartition, st *tpState, r model.ReplicaView) {
	rs := st.rep(r.Broker())
	end := min(r.HighWatermark(), r.LogEndOffset())
	for o := max(rs.verified, r.LogStartOffset()); o < end; o++ {
		e, ok := r.Entry(o)
		if !ok {
			continue
		}
		ref := st.ref.get(o)
		stale := rs.stale && o < rs.diskEnd
		if ref == nil {
			if !stale {
				st.ref.put(o, e, r.Broker())
			}
			continue
		}
		if sameEntry(ref.e, e) {
			continue
		}
		f := Finding{Name: string(CommittedPrefixMismatch), Class: Invariant, TP: tp, Offsets: []int64{o}, Brokers: []int32{ref.broker, r.Broker()},
			Values: []model.Bytes{model.Bytes(ref.e.Value), model.Bytes(e.Value)},
			Message: fmt.Sprintf("offset %d is below the high-water mark of broker %d, which has %s, but broker %d had %s there below its own",
				o, r.Broker(), e, ref.broker, ref.e)}
		if why := st.explained(ref.e.LeaderEpoch, e.LeaderEpoch); why != "" {
			f.Class, f.Message = Expected, f.Message+"; "+why
		} else if stale {
			st.mark("checker.stale-log-after-power-loss")
			f.Class, f.Message = Expected, f.Message+fmt.Sprintf("; broker %d lost power and its log came back as its disk last held it, "+
				"before a truncation or re-fetch it never flushed: it truncates again once it fetches from its leader", r.Broker())
		} else if why := st.rewrittenAfterRestart(o, ref.e.LeaderEpoch, e.LeaderEpoch); why != "" {
			st.mark("checker.committed-rewritten-after-restart")
			f.Class, f.Message = Note, f.Message+"; "+why+": Kafka allows this, and the final check reports the committed records lost"
		}
		// The reference keeps the first committed record: Final reports
		// it lost if the final leader does not have it. A run of
		// mismatches at consecutive offsets, between the same two brokers
		// and of one class, is one finding.
		run := fmt.Sprintf("%s|%d|%d|%d", tp, ref.broker, r.Broker(), f.Class)
		if i, ok := inv.prefixRuns[run]; ok && inv.extend(i, o) {
			continue
		}
		inv.report(fmt.Sprintf("committed-prefix-mismatch|%s|%d|%d", tp, o, r.Broker()), f)
		if n := len(inv.findings); n > 0 && inv.findings[n-1].Name == f.Name && inv.findings[n-1].Offsets[0] == o {
			inv.prefixRuns[run] = n - 1
		}
	}
	rs.verified = max(rs.verified, end)
}

// explained says why two committed records at one offset may differ: an
// unclean election between their epochs.
func (st *tpState) explained(a, b int32) string {
	// The unclean leader brings its own log, whose uncommitted tail may be
	// older than both records: the election explains any mismatch with a
	// record written before it.
	lo := min(a, b)
	for _, e := range st.unclean {
		if lo < e {
			return fmt.Sprintf("the unclean election of leader epoch %d explains it", e)
		}
	}
	return ""
}

// rewrittenAfterRestart says which restart explains two committed records
// at offset o, written in leader epochs was and now, if one does: a broker
// came back from a restart without o and a later epoch wrote o anew, or,
// in the same epoch, the epoch's own leader came back without o and wrote
// it anew (a leader that lost unflushed records in a power loss and leads
// on, as the last replica standing or until it learns of a newer epoch).
func (st *tpState) rewrittenAfterRestart(o int64, was, now int32) string {
	for _, l := range st.lost {
		if o < l.from || o >= l.to {
			continue
		}
		lost := fmt.Sprintf("broker %d came back from a restart without offsets %d..%d", l.broker, l.from, l.to-1)
		if was != now {
			return lost + ", and a later epoch wrote new records there"
		}
		if leader, ok := st.leaders[now]; ok && leader == l.broker {
			return fmt.Sprintf("%s, and as leader of epoch %d it wrote new records there", lost, now)
		}
	}
	return ""
}

// divergedByRestart says why replicas may disagree at every offset of a
// replica-divergence finding f, if a restart explains them all: at each,
// both records carry one leader epoch, whose leader came back from a
// restart without the offset and wrote it anew. Its followers cannot see
// the difference (their last fetched epoch ends where the leader's does),
// so Kafka keeps both without fsync; otherwise "".
func (st *tpState) divergedByRestart(f Finding, reps []history.ReplicaState) string {
	if len(f.Brokers) != 2 || len(f.Offsets) == 0 {
		return ""
	}
	recs := [2]map[int64]history.Record{}
	for i, b := range f.Brokers {
		for _, r := range reps {
			if r.TP == f.TP && r.Broker == b {
				recs[i] = make(map[int64]history.Record, len(r.Records))
				for _, rec := range r.Records {
					recs[i][rec.Offset] = rec
				}
			}
		}
	}
	why := ""
	for _, o := range f.Offsets {
		a, okA := recs[0][o]
		b, okB := recs[1][o]
		if !okA || !okB || a.LeaderEpoch != b.LeaderEpoch {
			return ""
		}
		w := st.rewrittenAfterRestart(o, a.LeaderEpoch, b.LeaderEpoch)
		if w == "" {
			return ""
		}
		if why == "" {
			why = w
		}
	}
	return why + " (no fsync allows it: one leader epoch holds both records, and no follower can tell them apart)"
}

func sameEntry(a, b model.Entry) bool {
	return a.Offset == b.Offset && a.LeaderEpoch == b.LeaderEpoch && model.Bytes(a.Key).Equal(b.Key) && model.Bytes(a.Value).Equal(b.Value) &&
		a.ProducerID == b.ProducerID && a.Sequence == b.Sequence
}

// Acked checks, at the moment a leader acknowledges an acks=all produce,
// that every online ISR member it counted holds the records.
func (inv *Invariants) Acked(tp model.TopicPartition, leader int32, leaderEpoch int32, first, last int64, isr []int32) {
	if inv.view == nil {
		return
	}
	st := inv.part(tp)
	reps := inv.view.Replicas(tp)
	l := find(reps, leader)
	if l == nil || !l.Online() || !l.IsLeader() || l.LeaderEpoch() != leaderEpoch {
		state := "not online"
		if l != nil && l.Online() {
			state = fmt.Sprintf("leader=%v in epoch %d", l.IsLeader(), l.LeaderEpoch())
		}
		inv.report(fmt.Sprintf("ack-by-non-leader|%s|%d|%d|%d", tp, leader, leaderEpoch, first), Finding{Name: string(AckByNonLeader), Class: Invariant, TP: tp,
			Brokers: []int32{leader}, Offsets: span(first, last+1),
			Message: fmt.Sprintf("broker %d acknowledged offsets %d..%d as leader in epoch %d, but it is %s", leader, first, last, leaderEpoch, state)})
		return
	}
	for o := first; o <= last; o++ {
		if e, ok := l.Entry(o); ok && st.ref.get(o) == nil {
			st.ref.put(o, e, leader)
		}
	}
	for _, m := range isr {
		if m == leader {
			continue
		}
		r := find(reps, m)
		if r == nil || !r.Online() {
			continue
		}
		missing := int64(-1)
		// Below a log start offset the records are gone by retention,
		// DeleteRecords or a full truncation: an idempotent retry of a
		// batch retention deleted since is acknowledged with its offsets.
		for o := max(first, r.LogStartOffset(), l.LogStartOffset()); o <= last && missing < 0; o++ {
			le, _ := l.Entry(o)
			if re, ok := r.Entry(o); !ok || !sameEntry(le, re) {
				missing = o
			}
		}
		if missing < 0 {
			continue
		}
		rs := st.rep(m)
		lostInRestart := rs.seen && (r.Incarnation() != rs.inc || (rs.restarted && rs.incLEO <= last))
		if lostInRestart {
			inv.marker("checker.ack-after-member-lost-data")
			inv.report(fmt.Sprintf("ack-after-member-lost-data|%s|%d|%d", tp, m, r.Incarnation()), Finding{Name: string(AckAfterMemberLostData), Class: Note, TP: tp,
				Brokers: []int32{leader, m}, Offsets: span(missing, last+1),
				Message: fmt.Sprintf("leader %d acknowledged offsets %d..%d counting ISR member %d, which restarted and does not have offset %d: Kafka counts its fetch from before the restart",
					leader, first, last, m, missing)})
			continue
		}
		inv.report(fmt.Sprintf("acked-not-replicated|%s|%d|%d", tp, m, first), Finding{Name: string(AckedNotReplicated), Class: Invariant, TP: tp,
			Brokers: []int32{leader, m}, Offsets: span(missing, last+1),
			Message: fmt.Sprintf("leader %d (epoch %d) acknowledged offsets %d..%d with ISR %v, but member %d (log end offset %d, no restart) lacks offset %d",
				leader, leaderEpoch, first, last, isr, m, r.LogEndOffset(), missing)})
	}
}

// Truncated records that a replica removed records, so that its committed
// prefix is verified again from there, and notes unclean elections.
func (inv *Invariants) Truncated(tp model.TopicPartition, broker int32, from, to int64, reason string) {
	st := inv.part(tp)
	rs := st.rep(broker)
	rs.verified = min(rs.verified, from)
	rs.diskEnd = min(rs.diskEnd, from)
	if reason == "unclean-election" && st.mdSeen {
		inv.unclean(st, st.md.LeaderEpoch)
	}
}

var _ model.Observer = (*Invariants)(nil)

// Final checks the cluster's final state: replica divergence below the
// common high-water mark (replica-divergence), and every record seen
// committed during the run, or acknowledged to an acks=all producer, that
// the final leader's log no longer has at its offset (lost-committed).
// Call it once the run has ended and the cluster has healed. The findings
// are also added to Findings.
func (inv *Invariants) Final() []Finding {
	if inv.view == nil {
		return nil
	}
	_, reps := history.Capture(inv.view)
	fs := divergence(reps, inv.cfg.Run, func(tp model.TopicPartition) string {
		if st := inv.parts[tp]; st != nil && len(st.unclean) > 0 {
			return fmt.Sprintf("the partition had an unclean election (leader epochs %v)", st.unclean)
		}
		return ""
	})
	for i := range fs {
		fs[i].At, fs[i].Step = inv.now(), inv.steps()
		if st := inv.parts[fs[i].TP]; st != nil && fs[i].Class == Consistency {
			if why := st.divergedByRestart(fs[i], reps); why != "" {
				st.mark("checker.committed-rewritten-after-restart")
				fs[i].Class, fs[i].Message = Expected, fs[i].Message+"; "+why
			}
		}
	}
	tps := inv.view.Partitions()
	for _, tp := range tps {
		st := inv.parts[tp]
		md, ok := inv.view.Metadata(tp)
		if st == nil || !ok {
			continue
		}
		l := find(inv.view.Replicas(tp), md.Leader)
		if l == nil || !l.Online() {
			continue
		}
		from := l.LogStartOffset()
		if c, ok := l.(history.Compacted); ok {
			// Below the cleaner's point a compacted log is checked by key
			// (compaction-lost-key), not offset by offset.
			from = max(from, c.CleanerCheckpoint())
		}
		var lost []Finding
		for i, ref := range st.ref.entries {
			o := st.ref.base + int64(i)
			if !ref.set || o < from {
				continue
			}
			e, ok := l.Entry(o)
			if ok && sameEntry(e, ref.e) {
				continue
			}
			has := "no record"
			if ok {
				has = e.String()
			}
			f := Finding{Name: string(LostCommitted), Class: DataLoss, TP: tp, Offsets: []int64{o}, Brokers: []int32{md.Leader, ref.broker},
				Values: []model.Bytes{model.Bytes(ref.e.Value)}, At: inv.now(), Step: inv.steps(), Seed: inv.cfg.Run.Seed, Replay: inv.cfg.Run.Replay,
				Message: fmt.Sprintf("%s was committed (seen below broker %d's high-water mark, or acknowledged to acks=all), but final leader %d has %s at that offset",
					ref.e, ref.broker, md.Leader, has)}
			if ok {
				if why := st.explained(ref.e.LeaderEpoch, e.LeaderEpoch); why != "" {
					f.Class, f.Message = Expected, f.Message+"; "+why
				}
			} else if len(st.unclean) > 0 {
				f.Class, f.Message = Expected, f.Message+fmt.Sprintf("; the partition had an unclean election (leader epochs %v)", st.unclean)
			}
			lost = append(lost, f)
		}
		fs = append(fs, merge(lost)...)
	}
	inv.findings = append(inv.findings, fs...)
	return fs
}
