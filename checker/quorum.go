package checker

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// MetadataPartition is the metadata log's partition, as Kafka names it: the
// partition of the quorum's findings.
var MetadataPartition = model.TopicPartition{Topic: "__cluster_metadata", Partition: 0}

// quorumState is what the invariants keep of a KRaft metadata quorum
// (model.QuorumView) between steps.
type quorumState struct {
	version uint64
	checked bool
	// batches maps (base offset, epoch) to the first batch seen there.
	batches map[[2]int64]quorumRef
	// replicas keeps, per replica, how far its log was checked and its
	// state at the last check.
	replicas map[int32]*quorumReplicaState
	// elected maps an epoch to when a leader of it was first seen.
	elected map[int32]time.Duration
}

type quorumRef struct {
	end    int64
	digest uint64
	id     int32
}

type quorumReplicaState struct {
	seen        bool
	incarnation uint32
	truncations uint64
	checked     int64 // log offsets below it were checked
	last        model.QuorumReplica
	// staleSince is when the observer's run of successful fetches from a
	// leader of a superseded epoch began (-1: not in one).
	staleSince time.Duration
	// followSince is when the voter was last seen to begin following a
	// leader (followed, in followEpoch); rejectsSince when a fetch of it
	// was first answered since (-1: not yet). From then on, while it
	// follows, it rejects pre-votes (KIP-996): a follower that has not
	// fetched from its leader since it became one, as after a fetch
	// timeout, grants them. Both stay when it stops following, for the
	// check of the leader it stopped following.
	followSince, rejectsSince time.Duration
	followed, followEpoch     int32
}

// checkQuorum checks the metadata quorum when the view has one and it
// changed:
//
//   - metadata-divergence: two replicas hold different batches at one
//     offset of one epoch (Raft's log matching; KAFKA-10527).
//   - stale-metadata: a broker kept having its metadata fetches answered by
//     a leader of an epoch the quorum had replaced, for longer than twice
//     controller.quorum.fetch.timeout.ms (KAFKA-15489).
//   - disrupted-quorum: a leader left its epoch for a newer one while a
//     majority of the voters, itself included, had their fetches answered
//     by it within half the fetch timeout, each following it and fetching
//     for at least as long (KIP-996's pre-vote prevents it).
func (inv *Invariants) checkQuorum() {
	qv, ok := inv.view.(model.QuorumView)
	if !ok {
		return
	}
	q := inv.quorum
	if q == nil {
		q = &quorumState{batches: map[[2]int64]quorumRef{}, replicas: map[int32]*quorumReplicaState{}, elected: map[int32]time.Duration{}}
		inv.quorum = q
	}
	if v := qv.QuorumVersion(); q.checked && v == q.version {
		return
	} else {
		q.version, q.checked = v, true
	}
	reps := qv.QuorumReplicas()
	if len(reps) == 0 {
		return
	}
	now := inv.now()
	voters := 0
	for _, r := range reps {
		if r.Voter {
			voters++
		}
		if r.Role == "leader" {
			if _, ok := q.elected[r.Epoch]; !ok {
				q.elected[r.Epoch] = now
			}
		}
	}
	timeout := qv.QuorumFetchTimeout()
	for _, r := range reps {
		st := q.replicas[r.ID]
		if st == nil {
			st = &quorumReplicaState{staleSince: -1, rejectsSince: -1}
			q.replicas[r.ID] = st
		}
		st.follow(r, now)
	}
	for _, r := range reps {
		st := q.replicas[r.ID]
		if st.seen && st.incarnation != r.Incarnation {
			st.checked, st.staleSince = 0, -1
			st.seen = false
		}
		if st.truncations != r.Truncations || r.EndOffset < st.checked {
			st.checked = min(st.checked, max(r.EndOffset, 0))
			if st.truncations != r.Truncations {
				st.checked = 0
			}
		}
		inv.checkQuorumLog(qv, q, st, r)
		if !r.Voter {
			inv.checkStaleMetadata(q, st, r, now, timeout)
		} else if st.seen {
			inv.checkDisruption(q, st, r, reps, voters, now, timeout)
		}
		st.seen, st.incarnation, st.truncations, st.last = true, r.Incarnation, r.Truncations, r
	}
}

// checkQuorumLog compares the batches a replica appended since the last
// check with the first batch seen at the same offset in the same epoch.
func (inv *Invariants) checkQuorumLog(qv model.QuorumView, q *quorumState, st *quorumReplicaState, r model.QuorumReplica) {
	if r.EndOffset <= st.checked {
		return
	}
	for _, b := range qv.QuorumBatches(r.ID, st.checked) {
		key := [2]int64{b.BaseOffset, int64(b.Epoch)}
		ref, ok := q.batches[key]
		switch {
		case !ok:
			q.batches[key] = quorumRef{end: b.EndOffset, digest: b.Digest, id: r.ID}
		case ref.end != b.EndOffset || ref.digest != b.Digest:
			other := fmt.Sprintf("node %d's batch [%d,%d)", ref.id, b.BaseOffset, ref.end)
			if ref.id == r.ID {
				other = fmt.Sprintf("the batch [%d,%d) it held there before", b.BaseOffset, ref.end)
			}
			inv.report(fmt.Sprintf("metadata-divergence|%d|%d", b.BaseOffset, b.Epoch), Finding{Name: string(MetadataDivergence), Class: Invariant,
				TP: MetadataPartition, Offsets: []int64{b.BaseOffset}, Brokers: []int32{ref.id, r.ID},
				Message: fmt.Sprintf("node %d holds a batch [%d,%d) of epoch %d that differs from %s in the same epoch: two logs for one epoch", r.ID, b.BaseOffset, b.EndOffset, b.Epoch, other)})
		}
	}
	st.checked = r.EndOffset
}

// supersededAt returns when a leader of an epoch newer than epoch was
// first seen, and whether one was.
func (q *quorumState) supersededAt(epoch int32) (time.Duration, int32, bool) {
	var at time.Duration
	var newer int32
	found := false
	for e, t := range q.elected {
		if e > epoch && (!found || t < at || (t == at && e < newer)) {
			at, newer, found = t, e, true
		}
	}
	return at, newer, found
}

// checkStaleMetadata follows an observer's successful fetches: one
// answered by a leader whose epoch a newer leader had replaced is stale,
// and a run of stale fetches that lasts longer than twice the fetch timeout
// is a finding.
func (inv *Invariants) checkStaleMetadata(q *quorumState, st *quorumReplicaState, r model.QuorumReplica, now, timeout time.Duration) {
	if r.LastFetch < 0 || (st.seen && r.LastFetch == st.last.LastFetch) {
		return
	}
	at, newer, ok := q.supersededAt(r.FetchEpoch)
	if !ok || at > r.LastFetch {
		st.staleSince = -1
		return
	}
	if st.staleSince < 0 {
		st.staleSince = r.LastFetch
		return
	}
	if r.LastFetch-st.staleSince > 2*timeout {
		inv.report(fmt.Sprintf("stale-metadata|%d|%d|%d", r.ID, r.FetchLeader, r.FetchEpoch), Finding{Name: string(StaleMetadata), Class: Invariant,
			TP: MetadataPartition, Brokers: []int32{r.ID, r.FetchLeader},
			Message: fmt.Sprintf("broker %d has had its metadata fetches answered by node %d, leader of epoch %d, since %v, although a leader of epoch %d was elected at %v: it acts on metadata the quorum has moved past", r.ID, r.FetchLeader, r.FetchEpoch, st.staleSince, newer, at)})
	}
}

// follow updates when the replica began following its leader, and when
// it began rejecting pre-votes: at its first fetch answered since.
func (st *quorumReplicaState) follow(r model.QuorumReplica, now time.Duration) {
	if r.Role != "follower" {
		return
	}
	if !st.seen {
		// First seen following: nothing tells since when, so since the
		// start, rejecting pre-votes if it has fetched.
		st.followSince, st.rejectsSince, st.followed, st.followEpoch = 0, -1, r.Leader, r.Epoch
		if r.LastFetch >= 0 {
			st.rejectsSince = 0
		}
		return
	}
	if l := st.last; st.incarnation != r.Incarnation || l.Role != "follower" || l.Epoch != r.Epoch || l.Leader != r.Leader {
		st.followSince, st.rejectsSince, st.followed, st.followEpoch = now, -1, r.Leader, r.Epoch
	}
	if st.rejectsSince < 0 && r.LastFetch >= st.followSince && r.FetchLeader == r.Leader && r.FetchEpoch == r.Epoch {
		st.rejectsSince = r.LastFetch
	}
}

// checkDisruption finds a leader that left its epoch for a newer one while
// a majority of the voters (itself included) still had their fetches
// answered by it within half the fetch timeout, each rejecting pre-votes
// for at least as long: a voter whose fetches were answered again only
// just before, after a fetch timeout made it a prospective, may have
// granted the pre-vote that began the newer epoch, as Kafka's would.
func (inv *Invariants) checkDisruption(q *quorumState, st *quorumReplicaState, r model.QuorumReplica, reps []model.QuorumReplica, voters int, now, timeout time.Duration) {
	prev := st.last
	if prev.Role != "leader" || r.Role == "leader" || r.Role == "resigned" || r.Epoch <= prev.Epoch {
		return
	}
	healthy := []int32{r.ID}
	for _, o := range reps {
		if o.Voter && o.ID != r.ID && o.FetchLeader == r.ID && o.FetchEpoch == prev.Epoch && o.LastFetch >= 0 && now-o.LastFetch <= timeout/2 {
			if ost := q.replicas[o.ID]; ost == nil || ost.followed != r.ID || ost.followEpoch != prev.Epoch || ost.rejectsSince < 0 || now-ost.rejectsSince < timeout/2 {
				continue // it may have granted the pre-vote before it fetched again
			}
			healthy = append(healthy, o.ID)
		}
	}
	if len(healthy) <= voters/2 {
		return
	}
	inv.report(fmt.Sprintf("disrupted-quorum|%d|%d", r.ID, prev.Epoch), Finding{Name: string(DisruptedQuorum), Class: Invariant,
		TP: MetadataPartition, Brokers: healthy,
		Message: fmt.Sprintf("node %d, leader of epoch %d, was pushed into epoch %d although voters %v (a majority of the %d voters) had fetched from it within %v: a voter's newer epoch disrupted a healthy quorum", r.ID, prev.Epoch, r.Epoch, healthy, voters, timeout/2)})
}
