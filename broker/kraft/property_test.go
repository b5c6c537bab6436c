package kraft_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/kafkasim/kafkasim/sim"
)

// faultObserverDiskLoss is the KRaft tests' own fault: an observer loses
// its disk (a voter that forgets its vote breaks Raft; see the README).
const faultObserverDiskLoss = faulttest.Custom

// episode is a fault that starts at At and is undone after For.
type episode = faulttest.Episode

// scenario is a random cluster and fault schedule.
type scenario struct {
	Seed        uint64
	Voters      int
	Observers   int
	PreVote     bool
	CheckQuorum bool
	Episodes    []episode
	DriftPPM    []int64 // per member: its clock runs this many ppm fast (negative: slow)
}

func drawScenario(t *rapid.T) scenario {
	sc := scenario{
		Seed:        rapid.Uint64().Draw(t, "seed"),
		Voters:      rapid.SampledFrom([]int{1, 3, 3, 5}).Draw(t, "voters"),
		Observers:   rapid.IntRange(0, 2).Draw(t, "observers"),
		PreVote:     rapid.Bool().Draw(t, "prevote"),
		CheckQuorum: rapid.Bool().Draw(t, "checkquorum"),
	}
	n := sc.Voters + sc.Observers
	sc.Episodes = faulttest.Schedule{Kinds: int(faultObserverDiskLoss) + 1, Nodes: n, MaxEpisodes: 10,
		Within: 40 * time.Second, Longest: 10 * time.Second}.Draw(t)
	sc.DriftPPM = rapid.SliceOfN(rapid.Int64Range(-200_000, 200_000), n, n).Draw(t, "drift-ppm")
	return sc
}

// run plays the scenario: a workload appends to whoever leads, the
// episodes inject faults, and the invariants are checked after every
// event. After the last fault is undone the quorum must settle, commit a
// new record everywhere, and hold every committed batch on every replica.
func (sc scenario) run() (*cluster, error) {
	cc := defaultClusterConfig()
	cc.seed, cc.voters, cc.observers = sc.Seed, sc.Voters, sc.Observers
	cc.replay = fmt.Sprintf("go test ./broker/kraft -run TestSafetyUnderFaults (rapid prints the -rapid.failfile); scenario %+v", sc)
	cc.kraft.PreVote, cc.kraft.CheckQuorum = sc.PreVote, sc.CheckQuorum
	cl, err := newCluster(cc)
	if err != nil {
		return nil, err
	}
	s := cl.s
	for i, d := range sc.DriftPPM {
		if err := cl.members[i].node.SetClock(0, d); err != nil {
			return cl, err
		}
	}
	seq := 0
	var tick func()
	tick = func() {
		if l := cl.leader(); l != nil {
			seq++
			_, _ = l.c.Append([][]byte{[]byte("r" + strconv.Itoa(seq))})
		}
		s.After(100*time.Millisecond, "workload", tick)
	}
	s.After(0, "workload", tick)
	for _, e := range sc.Episodes {
		e := e
		m := cl.members[e.Node]
		s.At(e.At, "fault", func() { cl.inject(e, m) })
		s.At(e.At+e.For, "repair", func() { cl.repair(e, m) })
	}
	if err := s.RunUntil(55 * time.Second); err != nil {
		return cl, err
	}
	cl.net.Heal()
	for _, m := range cl.members {
		switch m.node.State() {
		case sim.Paused:
			_ = m.node.Resume()
		case sim.Down:
			_ = m.node.Restart()
		}
	}
	ok, err := cl.runUntil(60*time.Second, cl.caughtUp)
	if err != nil {
		return cl, err
	}
	if !ok {
		return cl, fmt.Errorf("the quorum did not settle within 60s after the faults healed:\n%s", cl.describe())
	}
	last, err := cl.append("final")
	if err != nil {
		return cl, err
	}
	ok, err = cl.runUntil(10*time.Second, func() bool { return cl.caughtUp() && cl.leader().c.HighWatermark() > last })
	if err != nil {
		return cl, err
	}
	if !ok {
		return cl, fmt.Errorf("a record appended after the faults healed was not committed everywhere within 10s:\n%s", cl.describe())
	}
	if err := cl.deepCheck(); err != nil {
		return cl, err
	}
	for _, p := range cl.procs() {
		if err := cl.holdsCommitted(p); err != nil {
			return cl, err
		}
	}
	return cl, s.Err()
}

func (cl *cluster) group() faulttest.Group {
	g := faulttest.Group{Net: cl.net}
	for _, m := range cl.members {
		g.Nodes = append(g.Nodes, m.node)
	}
	return g
}

func (cl *cluster) inject(e episode, m *member) {
	if !cl.group().Inject(e) && e.Kind == faultObserverDiskLoss && !m.voter {
		m.node.LoseDisk()
	}
}

func (cl *cluster) repair(e episode, m *member) {
	if !cl.group().Repair(e) && e.Kind == faultObserverDiskLoss {
		faulttest.Restart(m.node)
	}
}

// holdsCommitted checks that a replica holds every committed batch.
func (cl *cluster) holdsCommitted(p *proc) error {
	for base, want := range cl.committed {
		b := p.c.Log().BatchAt(base)
		if b == nil || b.BaseOffset != base || b.Digest() != want.digest {
			return fmt.Errorf("%s lost committed batch %d@e%d (it holds %v)", p.m.name, base, want.epoch, b)
		}
	}
	return nil
}

func (cl *cluster) describe() string {
	var out string
	for _, m := range cl.members {
		if p := m.proc(); p != nil {
			out += fmt.Sprintf("  %s (%v): %s\n", m.name, m.node.State(), p.c)
		} else {
			out += fmt.Sprintf("  %s: down\n", m.name)
		}
	}
	return out
}

// TestSafetyUnderFaults checks, under random crashes, power losses (torn or
// not, of one node or several at once), pauses, partitions and restarts,
// with clocks drifting up to 20%, with and without pre-vote and
// check-quorum: election safety (one leader per epoch), leader
// completeness, log matching, committed batches never lost or changed,
// high-water marks monotonic and never past the log end, listeners handed
// the committed log in order; and that the quorum commits again once the
// faults heal. The invariants run after every event.
func TestSafetyUnderFaults(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := drawScenario(t)
		cl, err := sc.run()
		if err != nil {
			t.Fatalf("%v\nscenario: %+v\nreplay: the failing seed and schedule above (rapid prints the -rapid.failfile to rerun it)", err, sc)
		}
		for _, p := range cl.procs() {
			if p.c.Err() != nil {
				t.Fatalf("%s stopped: %v", p.m.name, p.c.Err())
			}
		}
	})
}

// TestDeterminism runs one faulty scenario twice: the trace hashes must be
// equal, and another seed must give another hash.
func TestDeterminism(t *testing.T) {
	sc := scenario{Seed: 42, Voters: 5, Observers: 2, PreVote: true, CheckQuorum: true, Episodes: []episode{
		{At: 3 * time.Second, For: 4 * time.Second, Kind: faulttest.Crash, Node: 0},
		{At: 5 * time.Second, For: 6 * time.Second, Kind: faulttest.Partition, Side: []int{1, 2, 5}},
		{At: 9 * time.Second, For: 3 * time.Second, Kind: faulttest.TornPowerLoss, Node: 3},
		{At: 14 * time.Second, For: 5 * time.Second, Kind: faulttest.Pause, Node: 4},
		{At: 20 * time.Second, For: 2 * time.Second, Kind: faulttest.Isolate, Node: 2},
	}}
	hash := func(sc scenario) (string, uint64) {
		cl, err := sc.run()
		require.NoError(t, err, "seed %d", sc.Seed)
		return cl.s.Trace().HashString(), cl.s.Steps()
	}
	h1, n1 := hash(sc)
	h2, n2 := hash(sc)
	require.Equal(t, h1, h2, "same seed, different trace hash: a determinism bug (seed %d)", sc.Seed)
	require.Equal(t, n1, n2)
	sc.Seed = 43
	h3, _ := hash(sc)
	require.NotEqual(t, h1, h3, "different seeds gave the same trace hash")
}

// TestMinorityPowerLossKeepsCommitted: every voter but a majority loses
// power (torn) at once, repeatedly, while records are committed; no
// committed batch is ever lost, because voters flush before they
// acknowledge.
func TestMinorityPowerLossKeepsCommitted(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		sc := scenario{Seed: seed, Voters: 5, PreVote: true, CheckQuorum: true}
		for i := range 8 {
			at := time.Duration(2+5*i) * time.Second
			sc.Episodes = append(sc.Episodes,
				episode{At: at, For: 2 * time.Second, Kind: faulttest.TornPowerLoss, Node: i % 5},
				episode{At: at, For: 2 * time.Second, Kind: faulttest.TornPowerLoss, Node: (i + 2) % 5})
		}
		cl, err := sc.run()
		require.NoError(t, err, "seed %d", seed)
		require.Greater(t, len(cl.committed), 100, "seed %d: too little was committed to prove anything", seed)
		require.Positive(t, cl.s.Marked("kraft.leader.elected"))
	}
}

// TestFollowersFlushBeforeAcknowledging: every follower loses power at
// once, then the leader crashes before they fetch again, so the new leader
// must come from the followers. They flushed every entry before their next
// Fetch acknowledged it, so the new leader holds everything committed.
// (Without that flush, this loses committed entries: the invariants
// catch it.)
func TestFollowersFlushBeforeAcknowledging(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		cc := defaultClusterConfig()
		cc.seed, cc.replay = seed, "go test ./broker/kraft -run TestFollowersFlushBeforeAcknowledging"
		cl, err := newCluster(cc)
		require.NoError(t, err)
		ok, err := cl.runUntil(10*time.Second, cl.caughtUp)
		require.NoError(t, err)
		require.True(t, ok, "seed %d: no leader", seed)
		leader := cl.leader()
		for i := range 20 {
			_, err := leader.c.Append([][]byte{[]byte("r" + strconv.Itoa(i))})
			require.NoError(t, err)
		}
		ok, err = cl.runUntil(10*time.Second, cl.caughtUp)
		require.NoError(t, err)
		require.True(t, ok, "seed %d: not committed", seed)
		for _, m := range cl.members {
			if m.id != leader.c.ID() {
				m.node.PowerLoss(true)
				require.NoError(t, m.node.Restart())
			}
		}
		require.NoError(t, leader.m.node.Crash())
		ok, err = cl.runUntil(30*time.Second, func() bool { l := cl.leader(); return l != nil && l.c.HighWatermark() > 0 })
		require.NoError(t, err, "seed %d", seed)
		require.True(t, ok, "seed %d: no new leader", seed)
		require.NoError(t, cl.holdsCommitted(cl.leader()), "seed %d", seed)
	}
}

// TestCoverage runs a broad fault sweep and asserts that the rare paths
// the package exists for were reached.
func TestCoverage(t *testing.T) {
	kinds := []faulttest.Kind{faulttest.Crash, faulttest.PowerLoss, faulttest.TornPowerLoss, faulttest.Pause, faulttest.Isolate,
		faulttest.Partition, faultObserverDiskLoss, faulttest.GroupPowerLoss}
	marks := map[string]uint64{}
	for seed := uint64(1); seed <= 12; seed++ {
		sc := scenario{Seed: seed, Voters: 3, Observers: 1, PreVote: seed%3 != 0, CheckQuorum: true}
		for i := range 6 {
			at := time.Duration(2+8*i) * time.Second
			sc.Episodes = append(sc.Episodes,
				episode{At: at, For: 5 * time.Second, Kind: kinds[int(seed+uint64(i))%len(kinds)], Node: int(seed+uint64(i)) % 4, Side: []int{int(seed) % 3}})
		}
		cl, err := sc.run()
		require.NoError(t, err, "seed %d", seed)
		for k, v := range cl.s.Marks() {
			marks[k] += v
		}
	}
	for _, m := range []string{
		"kraft.truncate.diverging-epoch", "kraft.fetch.diverging-epoch", "kraft.leader.resigned.check-quorum",
		"kraft.prevote.rejected", "kraft.prevote.rejected.log-behind", "kraft.prevote.lost",
		"kraft.vote.granted", "kraft.vote.granted.longer-log", "kraft.vote.rejected.log-behind",
		"kraft.vote.rejected.already-voted", "kraft.election.backoff", "kraft.recovery.resigned",
		"kraft.hwm.held-for-own-epoch", "kraft.fetch.fenced-leader-epoch", "kraft.request.timed-out",
	} {
		require.Positive(t, marks[m], "coverage mark %s never reached; marks: %v", m, marks)
	}
}
