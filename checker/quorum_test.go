package checker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// quorumView is a fake view with a metadata quorum: three voters (1-3)
// and an observer (101), each set by hand.
type quorumView struct {
	*fakeView
	qversion uint64
	reps     []model.QuorumReplica
	logs     map[int32][]model.QuorumBatch
}

func newQuorumView() *quorumView {
	v := &quorumView{fakeView: newFakeView(), logs: map[int32][]model.QuorumBatch{}}
	for _, id := range []int32{1, 2, 3, 101} {
		v.reps = append(v.reps, model.QuorumReplica{ID: id, Voter: id < 100, Incarnation: 1, Role: "follower", Epoch: 1, Leader: 1,
			EndOffset: 0, HighWatermark: -1, LastFetch: -1, FetchLeader: -1, FetchEpoch: -1})
	}
	v.reps[0].Role = "leader"
	return v
}

func (v *quorumView) QuorumVersion() uint64                 { return v.qversion }
func (v *quorumView) QuorumReplicas() []model.QuorumReplica { return v.reps }
func (v *quorumView) QuorumFetchTimeout() time.Duration     { return 2 * time.Second }
func (v *quorumView) QuorumBatches(id int32, from int64) []model.QuorumBatch {
	var out []model.QuorumBatch
	for _, b := range v.logs[id] {
		if b.EndOffset > from {
			out = append(out, b)
		}
	}
	return out
}

func (v *quorumView) rep(id int32) *model.QuorumReplica {
	for i := range v.reps {
		if v.reps[i].ID == id {
			return &v.reps[i]
		}
	}
	panic("no replica")
}

// write appends a batch of one record to a replica's log.
func (v *quorumView) write(id int32, epoch int32, digest uint64) {
	r := v.rep(id)
	v.logs[id] = append(v.logs[id], model.QuorumBatch{BaseOffset: r.EndOffset, EndOffset: r.EndOffset + 1, Epoch: epoch, Digest: digest})
	r.EndOffset++
	v.qversion++
}

// fetched records a successful fetch of replica id from leader in epoch.
func (v *quorumView) fetched(id, leader, epoch int32, at time.Duration) {
	r := v.rep(id)
	r.LastFetch, r.FetchLeader, r.FetchEpoch = at, leader, epoch
	v.qversion++
}

func quorumChecker(v *quorumView, now *time.Duration) *checker.Invariants {
	inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
	inv.Attach(v, func() time.Duration { return *now }, nil)
	return inv
}

func TestQuorumMetadataDivergence(t *testing.T) {
	var now time.Duration
	v := newQuorumView()
	inv := quorumChecker(v, &now)
	for _, id := range []int32{1, 2, 3} {
		v.write(id, 1, 7)
	}
	require.NoError(t, inv.Check())
	assert.Empty(t, inv.Findings(), "identical batches in one epoch are the same log")

	// Another epoch may write other records at the same offset (the old
	// ones truncated): no finding.
	v.rep(3).Truncations++
	v.rep(3).EndOffset = 0
	v.logs[3] = nil
	v.write(3, 2, 9)
	require.NoError(t, inv.Check())
	assert.Empty(t, inv.Findings())

	// The leader restarts with its log lost and writes again in epoch 1.
	v.rep(1).Incarnation++
	v.rep(1).EndOffset = 0
	v.logs[1] = nil
	v.write(1, 1, 8)
	require.NoError(t, inv.Check())
	fs := inv.Findings()
	require.Equal(t, []string{string(checker.MetadataDivergence)}, names(fs))
	assert.Equal(t, checker.MetadataPartition, fs[0].TP)
	assert.Equal(t, []int64{0}, fs[0].Offsets)
}

func TestQuorumStaleMetadata(t *testing.T) {
	var now time.Duration
	v := newQuorumView()
	inv := quorumChecker(v, &now)
	step := func(at time.Duration) {
		now = at
		require.NoError(t, inv.Check())
	}
	v.fetched(101, 1, 1, 0)
	step(0)
	// Voter 2 leads epoch 2 at 1s; the observer keeps fetching from the
	// leader of epoch 1.
	r2 := v.rep(2)
	r2.Role, r2.Epoch, r2.Leader = "leader", 2, 2
	v.qversion++
	step(time.Second)
	for at := 1500 * time.Millisecond; at <= 5*time.Second; at += 500 * time.Millisecond {
		v.fetched(101, 1, 1, at)
		step(at)
	}
	assert.Empty(t, inv.Findings(), "stale for 3.5 s: within twice the fetch timeout")
	v.fetched(101, 1, 1, 5600*time.Millisecond)
	step(5600 * time.Millisecond)
	require.Equal(t, []string{string(checker.StaleMetadata)}, names(inv.Findings()))
	assert.Equal(t, []int32{101, 1}, inv.Findings()[0].Brokers)
}

func TestQuorumStaleMetadataRunRestarts(t *testing.T) {
	var now time.Duration
	v := newQuorumView()
	inv := quorumChecker(v, &now)
	r2 := v.rep(2)
	r2.Role, r2.Epoch, r2.Leader = "leader", 2, 2
	v.qversion++
	require.NoError(t, inv.Check())
	// Stale fetches with a fetch from the newer leader in between: no run
	// lasts long enough.
	for i, at := range []time.Duration{time.Second, 3 * time.Second, 4 * time.Second, 5 * time.Second, 8 * time.Second} {
		if i == 2 {
			v.fetched(101, 2, 2, at)
		} else {
			v.fetched(101, 1, 1, at)
		}
		now = at
		require.NoError(t, inv.Check())
	}
	assert.Empty(t, inv.Findings())
}

// A voter whose fetch timed out became a prospective and then a follower
// again; until its first fetch answered since, it grants pre-votes, as
// Kafka's does (KIP-996). A leader pushed out just after that fetch was
// not disrupted by a healthy quorum.
func TestQuorumDisruptedAfterFetchTimeout(t *testing.T) {
	now := 6 * time.Second
	v := newQuorumView()
	inv := quorumChecker(v, &now)
	v.fetched(2, 1, 1, 6*time.Second)
	require.NoError(t, inv.Check())
	r2 := v.rep(2)
	for _, st := range []struct {
		at   time.Duration
		role string
	}{{8100 * time.Millisecond, "prospective"}, {8150 * time.Millisecond, "follower"}} {
		now = st.at
		r2.Role = st.role
		v.qversion++
		require.NoError(t, inv.Check())
	}
	now = 8250 * time.Millisecond
	v.fetched(2, 1, 1, now)
	require.NoError(t, inv.Check())
	now = 8300 * time.Millisecond
	r1 := v.rep(1)
	r1.Role, r1.Leader, r1.Epoch = "unattached", -1, 7
	v.qversion++
	require.NoError(t, inv.Check())
	assert.Empty(t, inv.Findings(), "voter 2 had fetched again only 50ms before: it may have granted the pre-vote")
}

// The disruptor's Vote may reach a healthy follower before the leader:
// the follower leaves its epoch first, and still counted as healthy.
func TestQuorumDisruptedFollowerPushedFirst(t *testing.T) {
	now := time.Second
	v := newQuorumView()
	inv := quorumChecker(v, &now)
	for at := time.Second; at <= 9*time.Second; at += 500 * time.Millisecond {
		now = at
		v.fetched(2, 1, 1, at)
		require.NoError(t, inv.Check())
	}
	now = 9200 * time.Millisecond
	r2 := v.rep(2)
	r2.Role, r2.Leader, r2.Epoch = "unattached", -1, 7
	v.qversion++
	require.NoError(t, inv.Check())
	now = 9210 * time.Millisecond
	r1 := v.rep(1)
	r1.Role, r1.Leader, r1.Epoch = "unattached", -1, 7
	v.qversion++
	require.NoError(t, inv.Check())
	assert.Equal(t, []string{string(checker.DisruptedQuorum)}, names(inv.Findings()))
}

func TestQuorumDisrupted(t *testing.T) {
	for _, tc := range []struct {
		name      string
		lastFetch time.Duration // voter 2's last fetch from leader 1
		role      string        // what leader 1 becomes
		want      []string
	}{
		{"healthy leader pushed out", 9500 * time.Millisecond, "unattached", []string{string(checker.DisruptedQuorum)}},
		{"leader no majority fetched from", 8 * time.Second, "unattached", nil},
		{"leader resigned", 9500 * time.Millisecond, "resigned", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := 9 * time.Second
			v := newQuorumView()
			inv := quorumChecker(v, &now)
			v.fetched(2, 1, 1, tc.lastFetch)
			require.NoError(t, inv.Check())
			now = 10 * time.Second
			r1 := v.rep(1)
			r1.Role, r1.Leader = tc.role, -1
			if tc.role != "resigned" {
				r1.Epoch = 7
			}
			v.qversion++
			require.NoError(t, inv.Check())
			assert.Equal(t, tc.want, names(inv.Findings()))
		})
	}
}
