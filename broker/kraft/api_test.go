package kraft_test

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func stableCluster(t *testing.T, cc clusterConfig) *cluster {
	t.Helper()
	cl, err := newCluster(cc)
	require.NoError(t, err)
	ok, err := cl.runUntil(20*time.Second, cl.caughtUp)
	require.NoError(t, err)
	require.True(t, ok, "no stable leader:\n%s", cl.describe())
	return cl
}

func TestConfigDefaultsAndValidation(t *testing.T) {
	c := kraft.DefaultConfig()
	require.NoError(t, c.Validate())
	assert.Equal(t, time.Second, c.ElectionTimeout)
	assert.Equal(t, 2*time.Second, c.FetchTimeout)
	assert.Equal(t, time.Second, c.ElectionBackoffMax)
	assert.Equal(t, 2*time.Second, c.RequestTimeout)
	assert.Equal(t, 20*time.Millisecond, c.RetryBackoff)
	assert.Equal(t, 25*time.Millisecond, c.AppendLinger)
	assert.Equal(t, 500*time.Millisecond, c.FetchMaxWait)
	assert.True(t, c.PreVote && c.CheckQuorum && c.HighWatermarkInFetch)

	bad := kraft.Config{ElectionTimeout: -1, RetryBackoff: -1, AppendLinger: -1}
	err := bad.Validate()
	require.Error(t, err)
	for _, name := range []string{
		"controller.quorum.election.timeout.ms", "controller.quorum.fetch.timeout.ms",
		"controller.quorum.election.backoff.max.ms", "controller.quorum.request.timeout.ms",
		"controller.quorum.retry.backoff.ms", "controller.quorum.append.linger.ms",
		"fetch max wait", "max uncommitted records", "max batch bytes",
	} {
		assert.Contains(t, err.Error(), name)
	}
}

func TestSetupValidation(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	n1, _ := s.AddNode("a", func(*sim.Node) any { return nil })
	n2, _ := s.AddNode("b", func(*sim.Node) any { return nil })
	require.NoError(t, n1.Start())
	send := func(sim.NodeID, network.Message) {}
	cfg := kraft.DefaultConfig()
	for _, c := range []struct {
		setup kraft.Setup
		want  string
	}{
		{kraft.Setup{ID: 1, Voters: map[int32]sim.NodeID{1: n1.ID()}, Send: send}, "Node is nil"},
		{kraft.Setup{Node: n1, ID: 1, Voters: map[int32]sim.NodeID{1: n1.ID()}}, "Send is nil"},
		{kraft.Setup{Node: n1, ID: -2, Voters: map[int32]sim.NodeID{1: n1.ID()}, Send: send}, "negative"},
		{kraft.Setup{Node: n1, ID: 1, Send: send}, "controller.quorum.voters is empty"},
		{kraft.Setup{Node: n1, ID: 1, Voters: map[int32]sim.NodeID{1: n1.ID(), 2: n1.ID()}, Send: send}, "both run on simulated node"},
		{kraft.Setup{Node: n1, ID: 1, Voters: map[int32]sim.NodeID{1: n2.ID()}, Send: send}, "configured on simulated node 1 but runs on node 0"},
		{kraft.Setup{Node: n1, ID: 1, Voters: map[int32]sim.NodeID{1: 9}, Send: send}, "does not exist"},
	} {
		_, err := kraft.New(cfg, c.setup)
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want)
	}
	_, err := kraft.New(kraft.Config{}, kraft.Setup{Node: n1, ID: 1, Voters: map[int32]sim.NodeID{1: n1.ID()}, Send: send})
	assert.ErrorContains(t, err, "kraft config")
}

func TestAppendErrors(t *testing.T) {
	cc := defaultClusterConfig()
	cc.kraft.MaxUncommitted = 10
	cc.kraft.MaxBatchBytes = 100
	cl := stableCluster(t, cc)
	leader := cl.leader()
	var follower *proc
	for _, p := range cl.procs() {
		if p != leader {
			follower = p
		}
	}
	_, err := follower.c.Append([][]byte{[]byte("x")})
	require.ErrorIs(t, err, kraft.ErrNotLeader)
	require.ErrorIs(t, err, protocol.NotLeaderOrFollower)
	assert.Contains(t, err.Error(), "is follower in epoch")

	_, err = leader.c.Append(nil)
	assert.ErrorContains(t, err, "no records")
	_, err = leader.c.Append([][]byte{make([]byte, 101)})
	assert.ErrorContains(t, err, "exceeds the batch limit of 100")

	last, err := leader.c.Append([][]byte{[]byte("a"), []byte("b")})
	require.NoError(t, err)
	assert.Equal(t, leader.c.EndOffset()+1, last, "the offset the last record will have")
	assert.Equal(t, 2, leader.c.Lingering())
	_, err = leader.c.Append(make([][]byte, 9))
	require.ErrorIs(t, err, kraft.ErrUncommittedBacklog)

	// Records are copied: changing the caller's buffer changes nothing.
	buf := []byte("orig")
	last, err = leader.c.Append([][]byte{buf})
	require.NoError(t, err)
	copy(buf, "XXXX")
	ok, err := cl.runUntil(5*time.Second, cl.caughtUp)
	require.NoError(t, err)
	require.True(t, ok)
	b := leader.c.Log().BatchAt(last)
	require.NotNil(t, b)
	assert.Equal(t, "orig", string(b.Records[len(b.Records)-1]))
	assert.Equal(t, 1, len(leader.c.Log().Batches())-1, "records appended within the linger time share one batch")
}

// TestLeaderHearsOfItselfOnlyWhenCaughtUp: a new leader's listener is told
// of its leadership only after it has been handed every batch below the
// start of its epoch (a controller becomes active on a caught-up state).
func TestLeaderHearsOfItselfOnlyWhenCaughtUp(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		cc := defaultClusterConfig()
		cc.seed = seed
		cl := stableCluster(t, cc)
		for i := range 30 {
			_, err := cl.append("r" + strconv.Itoa(i))
			require.NoError(t, err)
			require.NoError(t, cl.s.RunFor(10*time.Millisecond))
		}
		old := cl.leader()
		require.NoError(t, old.m.node.Crash())
		ok, err := cl.runUntil(20*time.Second, cl.caughtUp)
		require.NoError(t, err)
		require.True(t, ok, "seed %d", seed)
		l := cl.leader()
		require.NotEqual(t, old, l)
		assert.Equal(t, cl.nameOf(l.c.ID())+"@"+strconv.Itoa(int(l.c.Epoch())), l.changes[len(l.changes)-1])
		assert.GreaterOrEqual(t, l.commitsAtLeadership, l.c.EpochStartOffset(), "seed %d: told of its leadership before it caught up", seed)
	}
}

func TestReceiveIgnoresForeignMessages(t *testing.T) {
	cl := stableCluster(t, defaultClusterConfig())
	assert.False(t, cl.leader().c.Receive(0, foreign{}))
}

type foreign struct{}

func (foreign) Kind() string { return "Produce" }

// TestStorageErrorStopsTheReplica: a failed disk stops the leader (Kafka
// halts the process); the others elect a new leader.
func TestStorageErrorStopsTheReplica(t *testing.T) {
	cc := defaultClusterConfig()
	cc.kraft.AppendLinger = 0
	cl := stableCluster(t, cc)
	l := cl.leader()
	l.m.node.Disk().SetFault(errors.New("input/output error"))
	_, err := l.c.Append([][]byte{[]byte("x")})
	require.Error(t, err)
	require.ErrorContains(t, l.c.Err(), "input/output error")
	assert.Positive(t, cl.s.Marked("kraft.fatal.storage-error"))
	ok, err := cl.runUntil(20*time.Second, func() bool { n := cl.leader(); return n != nil && n != l })
	require.NoError(t, err)
	require.True(t, ok)
	_, err = l.c.Append([][]byte{[]byte("y")})
	assert.ErrorContains(t, err, "stopped")
}

// TestVoteSurvivesRestart: a vote is fsynced before it is sent, so a voter
// that restarts in the same epoch cannot vote for someone else.
func TestVoteSurvivesRestart(t *testing.T) {
	cl := stableCluster(t, defaultClusterConfig())
	var f *proc
	for _, p := range cl.procs() {
		if p.c.Role() == kraft.Follower {
			f = p
			break
		}
	}
	require.NotNil(t, f)
	epoch, voted := f.c.Epoch(), f.c.VotedFor()
	require.NotEqual(t, kraft.NoLeader, voted)
	f.m.node.PowerLoss(true)
	require.NoError(t, f.m.node.Restart())
	p := f.m.proc()
	assert.Equal(t, epoch, p.c.Epoch())
	assert.Equal(t, voted, p.c.VotedFor())
}

// TestVoterSetMismatch: a replica refuses to start on a quorum-state file
// written for another voter set, as Kafka does.
func TestVoterSetMismatch(t *testing.T) {
	cl := stableCluster(t, defaultClusterConfig())
	m := cl.members[0]
	require.NoError(t, m.node.Crash())
	_, err := kraft.New(cl.cfg, kraft.Setup{
		Node: m.node, ID: m.id, Voters: map[int32]sim.NodeID{1: cl.voters[1], 2: cl.voters[2]},
		Send: func(sim.NodeID, network.Message) {},
	})
	assert.ErrorContains(t, err, "differs from the voters [1 2 3] in its quorum-state file")
}

// TestCorruptQuorumStateIsCleared: an unreadable quorum-state file is
// cleared, as Kafka does, and the replica takes its epoch from its log.
func TestCorruptQuorumStateIsCleared(t *testing.T) {
	cl := stableCluster(t, defaultClusterConfig())
	m := cl.members[1]
	epoch := m.proc().c.Epoch()
	require.NoError(t, m.node.Crash())
	require.NoError(t, m.node.Disk().Corrupt(kraft.DefaultDir+"/quorum-state", 0, 3))
	require.NoError(t, m.node.Restart())
	p := m.proc()
	require.NotNil(t, p)
	assert.Equal(t, epoch, p.c.Epoch(), "the log's last epoch")
	assert.Equal(t, kraft.Unattached, p.c.Role())
	assert.Positive(t, cl.s.Marked("kraft.recovery.quorum-state-cleared"))
	assert.Positive(t, cl.s.Marked("kraft.recovery.state-behind-log"))
}

func TestMessageStringsAndDigests(t *testing.T) {
	msgs := []network.Message{
		&kraft.Vote{CorrelationID: 1, ReplicaID: 2, ReplicaEpoch: 3, LastOffsetEpoch: 2, LastOffset: 9, PreVote: true},
		&kraft.VoteResponse{CorrelationID: 1, ErrorCode: protocol.FencedLeaderEpoch, LeaderID: 1, LeaderEpoch: 4},
		&kraft.BeginQuorumEpoch{CorrelationID: 2, LeaderID: 1, LeaderEpoch: 4},
		&kraft.BeginQuorumEpochResponse{CorrelationID: 2, LeaderID: 1, LeaderEpoch: 4},
		&kraft.EndQuorumEpoch{CorrelationID: 3, LeaderID: 1, LeaderEpoch: 4, PreferredSuccessors: []int32{3, 2}},
		&kraft.EndQuorumEpochResponse{CorrelationID: 3, LeaderID: 1, LeaderEpoch: 4},
		&kraft.Fetch{CorrelationID: 4, ReplicaID: 2, CurrentLeaderEpoch: 4, FetchOffset: 7, LastFetchedEpoch: 3, MaxWait: time.Second, HighWatermark: 5},
		&kraft.FetchResponse{CorrelationID: 4, LeaderID: 1, LeaderEpoch: 4, HighWatermark: 5, DivergingEpoch: kraft.EpochEndOffset{Epoch: 3, EndOffset: 6}},
	}
	want := []string{
		"Vote(pre){corr=1 replica=2 epoch=3 last=9@e2}",
		"VoteResponse{corr=1 granted=false leader=1 epoch=4 FENCED_LEADER_EPOCH}",
		"BeginQuorumEpoch{corr=2 leader=1 epoch=4}",
		"BeginQuorumEpochResponse{corr=2 leader=1 epoch=4}",
		"EndQuorumEpoch{corr=3 leader=1 epoch=4 successors=[3 2]}",
		"EndQuorumEpochResponse{corr=3 leader=1 epoch=4}",
		"Fetch{corr=4 replica=2 epoch=4 offset=7 last-epoch=3 hwm=5}",
		"FetchResponse{corr=4 leader=1 epoch=4 hwm=5 diverging=6@e3}",
	}
	seen := map[uint64]bool{}
	for i, m := range msgs {
		assert.Equal(t, want[i], m.(interface{ String() string }).String())
		d := m.(network.Digester).Digest()
		assert.False(t, seen[d], "digest collision for %s", m.Kind())
		seen[d] = true
	}
	v := *msgs[0].(*kraft.Vote)
	v.PreVote = false
	assert.NotEqual(t, msgs[0].(network.Digester).Digest(), v.Digest(), "the digest covers every field")
}

// TestObserverTornTail: observers do not flush, so a torn power loss leaves
// half a batch at the end of their log; recovery truncates it and the
// observer fetches the rest again.
func TestObserverTornTail(t *testing.T) {
	cc := defaultClusterConfig()
	cc.observers, cc.kraft.AppendLinger = 1, 0
	cl := stableCluster(t, cc)
	b1, err := cl.member("b1")
	require.NoError(t, err)
	for i := range 50 {
		_, err := cl.append("record-" + strconv.Itoa(i))
		require.NoError(t, err)
	}
	ok, err := cl.runUntil(5*time.Second, cl.caughtUp)
	require.NoError(t, err)
	require.True(t, ok)
	before := b1.proc().c.EndOffset()
	b1.node.PowerLoss(true)
	require.NoError(t, b1.node.Restart())
	assert.Less(t, b1.proc().c.EndOffset(), before, "the unflushed tail is lost")
	assert.Positive(t, cl.s.Marked("kraft.recovery.torn-tail"), "the torn batch was truncated")
	ok, err = cl.runUntil(5*time.Second, cl.caughtUp)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, cl.holdsCommitted(b1.proc()))
}
