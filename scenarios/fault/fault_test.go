package fault_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

var names = fault.Names{
	Brokers:     []string{"b1", "b2", "b3"},
	Controllers: []string{"c1"},
	Clients:     []string{"p1"},
	Partitions:  []string{"orders-0"},
}

func TestParseGoodSchedule(t *testing.T) {
	s, err := fault.Parse("good.json", []byte(`[
		{"at": "5s", "kind": "crash", "nodes": ["leader(orders-0)"]},
		{"at": "1s", "kind": "partition", "groups": [["b1", "b2"], ["b3"]]},
		{"at": "2s", "kind": "power-loss", "nodes": ["b2"], "tear": true},
		{"at": "3s", "kind": "cut", "from": "b1", "to": "c1"},
		{"at": "4s", "kind": "clock", "nodes": ["b3"], "skew": "-2s", "drift_ppm": 1000},
		{"at": "6s", "kind": "all-brokers-down", "power": true},
		{"at": "7s", "kind": "restart", "nodes": ["brokers"]},
		{"at": "8s", "kind": "heal"},
		{"at": "9s", "kind": "partition", "groups": [["leader(orders-0)", "controller"], ["rest"]]},
		{"at": "9s", "kind": "cut", "from": "brokers", "to": "follower(orders-0)"}
	]`), names, time.Minute)
	require.NoError(t, err)
	require.Len(t, s, 10)
	assert.Equal(t, "1s partition b1,b2 | b3", s.Sorted()[0].String())
	assert.Equal(t, "4s clock b3 skew=-2s drift=1000ppm", s[4].String())
	// JSON round trip.
	b, err := json.Marshal(s)
	require.NoError(t, err)
	again, err := fault.Parse("again.json", b, names, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, s, again)
}

func TestParseRejectsBadSchedules(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`[{"at": "1s", "kind": "crash", "nodes": ["b9"]}]`, `bad.json: faults[0] (crash): nodes: unknown node "b9": accepted are the nodes b1, b2, b3, c1, p1, the selectors`},
		{`[{"at": "1s", "kind": "explode"}]`, `unknown kind "explode": accepted are crash, power-loss, restart`},
		{`[{"at": "2m", "kind": "heal"}]`, `at 2m0s is after the end of the run (1m0s)`},
		{`[{"at": "-1s", "kind": "heal"}]`, `at -1s is negative`},
		{`[{"at": "1s", "kind": "crash"}]`, `nodes: crash needs at least one node`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["b1", "b1"]}]`, `nodes: "b1" is named twice`},
		{`[{"at": "1s", "kind": "heal", "nodes": ["b1"]}]`, `nodes: heal takes no nodes`},
		{`[{"at": "1s", "kind": "partition", "groups": [["b1"]]}]`, `groups: partition needs at least two groups`},
		{`[{"at": "1s", "kind": "partition", "groups": [["b1", "b2"], ["b2"]]}]`, `node "b2" is in groups[0] and groups[1]`},
		{`[{"at": "1s", "kind": "bridge", "groups": [["b1"], ["b2", "c1"], ["b3"]]}]`, `bridge needs three groups: [side], [bridge node], [side]`},
		{`[{"at": "1s", "kind": "ring", "groups": [["b1", "b2", "b3"]]}]`, `a ring needs at least 4 nodes, got 3`},
		{`[{"at": "1s", "kind": "cut", "from": "b1", "to": "b1"}]`, `from and to are both "b1"`},
		{`[{"at": "1s", "kind": "cut", "from": "b1"}]`, `to: cut needs a node`},
		{`[{"at": "1s", "kind": "cut", "from": "leader(x-0)", "to": "b1"}]`, `from: selector "leader(x-0)" names unknown partition "x-0"`},
		{`[{"at": "1s", "kind": "partition", "groups": [["b1"], ["rest"], ["rest"]]}]`, `rest is named 2 times`},
		{`[{"at": "1s", "kind": "ring", "groups": [["b1", "b2", "b3", "rest"]]}]`, `rest stands for a side of a partition or bridge`},
		{`[{"at": "1s", "kind": "bridge", "groups": [["b1"], ["rest"], ["b3"]]}]`, `rest stands for a side of a partition or bridge`},
		{`[{"at": "1s", "kind": "partition", "groups": [["follower(orders-9)"], ["rest"]]}]`, `groups[0]: selector "follower(orders-9)" names unknown partition`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["leader(nope-3)"]}]`, `selector "leader(nope-3)" names unknown partition "nope-3": known partitions are orders-0`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["leader("]}]`, `write leader(<topic>-<partition>)`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["b1"], "tear": true}]`, `tear: only power-loss and all-brokers-down can tear writes`},
		{`[{"at": "1s", "kind": "clock", "nodes": ["b1"], "drift_ppm": 900000}]`, `drift_ppm 900000 is out of range`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["b1"], "color": "red"}]`, `unknown field "color"`},
		{`[{"at": "soon", "kind": "heal"}]`, `"soon" is not a duration`},
		{"[\n  {\"at\": \"1s\",\n   \"kind\": heal}\n]", `line 3, column 13`},
		{`[] []`, `unexpected data after the schedule`},
	} {
		_, err := fault.Parse("bad.json", []byte(tc.in), names, time.Minute)
		if assert.Error(t, err, tc.in) {
			assert.Contains(t, err.Error(), tc.want, tc.in)
		}
	}
}

// cluster is a small simulation with idle processes, enough to watch the
// faults land.
func cluster(t require.TestingT, seed uint64) (*sim.Sim, *network.Network, fault.StaticTarget) {
	s := sim.New(sim.Config{Seed: seed})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	for _, name := range []string{"b1", "b2", "b3", "c1", "p1"} {
		n, err := s.AddNode(name, func(n *sim.Node) any { return nil })
		require.NoError(t, err)
		require.NoError(t, n.Start())
	}
	return s, net, fault.StaticTarget{S: s, N: net, Names: names}
}

func states(s *sim.Sim) string {
	var out []string
	for _, n := range s.Nodes() {
		out = append(out, fmt.Sprintf("%s:%s", n, n.State()))
	}
	return fmt.Sprint(out)
}

func TestInstallAppliesFaultsInOrder(t *testing.T) {
	s, net, target := cluster(t, 1)
	var rec sim.Recorder
	s.Trace().SetSink(rec.Record)
	fault.Schedule{
		{At: fault.Duration(3 * time.Second), Kind: fault.Restart, Nodes: []string{"b1"}},
		{At: fault.Duration(1 * time.Second), Kind: fault.Crash, Nodes: []string{"b1"}},
		{At: fault.Duration(1 * time.Second), Kind: fault.Pause, Nodes: []string{"b2"}},
		{At: fault.Duration(2 * time.Second), Kind: fault.Partition, Groups: [][]string{{"b1", "b2"}, {"b3"}}},
		{At: fault.Duration(4 * time.Second), Kind: fault.Crash, Nodes: []string{"c1"}},
		{At: fault.Duration(4 * time.Second), Kind: fault.Crash, Nodes: []string{"c1"}}, // already down: skipped
		{At: fault.Duration(5 * time.Second), Kind: fault.Cut, From: "p1", To: "b3"},
		{At: fault.Duration(6 * time.Second), Kind: fault.AllBrokers, Power: true},
	}.Install(target)
	require.NoError(t, s.RunUntil(1500*time.Millisecond))
	assert.Equal(t, "[b1:down b2:paused b3:up c1:up p1:up]", states(s))
	require.NoError(t, s.RunUntil(2500*time.Millisecond))
	assert.False(t, net.Reachable(0, 2))
	assert.True(t, net.Reachable(0, 1))
	require.NoError(t, s.RunUntil(4500*time.Millisecond))
	assert.Equal(t, "[b1:up b2:paused b3:up c1:down p1:up]", states(s))
	require.NoError(t, s.RunUntil(5500*time.Millisecond))
	assert.False(t, net.Reachable(4, 2))
	assert.True(t, net.Reachable(2, 4), "a cut is one-way")
	require.NoError(t, s.RunUntil(7*time.Second))
	assert.Equal(t, "[b1:down b2:down b3:down c1:down p1:up]", states(s))
	var skips int
	for _, r := range rec.Records {
		if r.Kind == "fault.skip" {
			skips++
			assert.Contains(t, r.Detail, "already down")
		}
	}
	assert.Equal(t, 1, skips)
	assert.EqualValues(t, 3, s.Marked("fault.crash"), "every crash that fired, applied or skipped")
}

func TestDynamicSelectorNeedsTheCluster(t *testing.T) {
	s, _, target := cluster(t, 1)
	var rec sim.Recorder
	s.Trace().SetSink(rec.Record)
	fault.Schedule{{At: fault.Duration(time.Second), Kind: fault.Crash, Nodes: []string{"leader(orders-0)"}}}.Install(target)
	require.NoError(t, s.RunFor(2*time.Second))
	assert.Equal(t, "[b1:up b2:up b3:up c1:up p1:up]", states(s))
	assert.Contains(t, rec.Records[len(rec.Records)-1].Detail, "cannot be resolved without the cluster")
}

func defaultNemesis() fault.Nemesis {
	return fault.Nemesis{
		Kinds:     []fault.Kind{fault.Crash, fault.PowerLoss, fault.Pause, fault.Isolate, fault.Partition, fault.Cut, fault.Clock, fault.DiskLoss},
		Targets:   []string{"b1", "b2", "b3"},
		End:       time.Minute,
		Interval:  3 * time.Second,
		Length:    5 * time.Second,
		MaxFaulty: 1,
		MaxSkew:   time.Second,
	}
}

func TestNemesisRespectsItsKnobs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := defaultNemesis()
		n.MaxFaulty = rapid.IntRange(1, 3).Draw(t, "maxFaulty")
		seed := rapid.Uint64().Draw(t, "seed")
		s, err := n.Generate(sim.NewRand(seed, "nemesis"))
		if err != nil {
			t.Fatal(err)
		}
		again, _ := n.Generate(sim.NewRand(seed, "nemesis"))
		if !slices.EqualFunc(s, again, func(a, b fault.Fault) bool { return a.String() == b.String() }) {
			t.Fatal("one seed gave two schedules")
		}
		if err := s.Validate(names, 0); err != nil {
			t.Fatalf("generated an invalid schedule: %v\n%s", err, s)
		}
		// Replay the schedule on a real simulation and count faulty brokers.
		sm, net, target := cluster(t, seed)
		s.Install(target)
		worst := 0
		// The faulty nodes are the smallest set that covers every node that is
		// down, paused or off-clock and every blocked link.
		sm.AddCheck("max-faulty", func() error {
			nodes := sm.Nodes()
			forced := 0
			for i, nd := range nodes {
				if nd.State() != sim.Up || nd.Now() != sm.Now() {
					forced |= 1 << i
				}
			}
			best := len(nodes)
			for set := range 1 << len(nodes) {
				if set&forced != forced {
					continue
				}
				covered := true
				for _, l := range net.Blocked() {
					if set&(1<<l[0]) == 0 && set&(1<<l[1]) == 0 {
						covered = false
					}
				}
				if covered {
					count := 0
					for i := range nodes {
						if set&(1<<i) != 0 {
							count++
						}
					}
					best = min(best, count)
				}
			}
			worst = max(worst, best)
			return nil
		})
		if err := sm.RunUntil(2 * time.Minute); err != nil {
			t.Fatal(err)
		}
		if worst > n.MaxFaulty {
			t.Fatalf("%d targets faulty at once, max %d\n%s", worst, n.MaxFaulty, s)
		}
		if !slices.IsSortedFunc(s, func(a, b fault.Fault) int { return int(a.At - b.At) }) {
			t.Fatal("schedule is not sorted")
		}
		if len(s) > 0 && s[0].Time() < n.Start {
			t.Fatal("fault before the window")
		}
	})
}

func TestNemesisEveryKindAppearsAndHeals(t *testing.T) {
	n := defaultNemesis()
	n.End = 10 * time.Minute
	n.Kinds = append(n.Kinds, fault.AllBrokers)
	s, err := n.Generate(sim.NewRand(1, "nemesis"))
	require.NoError(t, err)
	seen := map[fault.Kind]int{}
	for _, f := range s {
		seen[f.Kind]++
	}
	for _, k := range n.Kinds {
		assert.Positive(t, seen[k], "kind %s never drawn", k)
	}
	assert.Equal(t, seen[fault.Crash]+seen[fault.PowerLoss]+seen[fault.DiskLoss]+seen[fault.AllBrokers], seen[fault.Restart])
	assert.Equal(t, seen[fault.Pause], seen[fault.Resume])
}

func TestNemesisValidation(t *testing.T) {
	n := fault.Nemesis{Kinds: []fault.Kind{fault.Heal}, End: -1}
	err := n.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`"heal" cannot be drawn at random`, "targets: give at least one node", "window [0s, -1ns) is empty",
		"interval 0s must be positive", "length 0s must be positive", "max faulty 0 must be at least 1",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestShrinkFindsTheMinimalSchedule(t *testing.T) {
	n := defaultNemesis()
	n.End = 5 * time.Minute
	s, err := n.Generate(sim.NewRand(7, "nemesis"))
	require.NoError(t, err)
	require.Greater(t, len(s), 40)
	// The "bug" needs a pause of b2 and, later, a crash of b3.
	fails := func(s fault.Schedule) bool {
		var paused time.Duration = -1
		for _, f := range s {
			if f.Kind == fault.Pause && slices.Contains(f.Nodes, "b2") && paused < 0 {
				paused = f.Time()
			}
			if f.Kind == fault.Crash && slices.Contains(f.Nodes, "b3") && paused >= 0 && f.Time() > paused {
				return true
			}
		}
		return false
	}
	require.True(t, fails(s))
	calls := 0
	min := fault.Shrink(s, func(s fault.Schedule) bool { calls++; return fails(s) })
	require.Len(t, min, 2, "%s", min)
	assert.Equal(t, fault.Pause, min[0].Kind)
	assert.Equal(t, fault.Crash, min[1].Kind)
	t.Logf("shrunk %d faults to %d in %d runs", len(s), len(min), calls)
}

func TestShrinkIsOneMinimal(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		size := rapid.IntRange(1, 30).Draw(t, "size")
		var s fault.Schedule
		for i := range size {
			s = append(s, fault.Fault{At: fault.Duration(i), Kind: fault.Heal})
		}
		need := rapid.SliceOfDistinct(rapid.IntRange(0, size-1), rapid.ID[int]).Draw(t, "need")
		fails := func(s fault.Schedule) bool {
			for _, i := range need {
				if !slices.ContainsFunc(s, func(f fault.Fault) bool { return int(f.At) == i }) {
					return false
				}
			}
			return true
		}
		got := fault.Shrink(s, fails)
		if !fails(got) {
			t.Fatal("shrunk schedule no longer fails")
		}
		if len(got) != len(need) {
			t.Fatalf("shrunk to %d faults, want the %d needed", len(got), len(need))
		}
	})
}

func TestGroupsAndCutsTakeSelectors(t *testing.T) {
	s, net, target := cluster(t, 1)
	var rec sim.Recorder
	s.Trace().SetSink(rec.Record)
	// Node ids: b1=0 b2=1 b3=2 c1=3 p1=4.
	fault.Schedule{
		{At: fault.Duration(1 * time.Second), Kind: fault.Partition, Groups: [][]string{{"b1", "c1"}, {"rest"}}},
		{At: fault.Duration(2 * time.Second), Kind: fault.Heal},
		{At: fault.Duration(3 * time.Second), Kind: fault.Cut, From: "brokers", To: "c1"},
		{At: fault.Duration(4 * time.Second), Kind: fault.Heal},
		// The rest is empty: b1..p1 are all named, so the fault skips.
		{At: fault.Duration(5 * time.Second), Kind: fault.Partition, Groups: [][]string{{"brokers"}, {"c1", "p1"}, {"rest"}}},
		// A node in two groups once resolved: skipped.
		{At: fault.Duration(6 * time.Second), Kind: fault.Partition, Groups: [][]string{{"brokers"}, {"b2"}}},
	}.Install(target)
	require.NoError(t, s.RunUntil(1500*time.Millisecond))
	assert.False(t, net.Reachable(0, 1), "b1 is cut off from the rest")
	assert.False(t, net.Reachable(4, 3), "p1 is in the rest, c1 is not")
	assert.True(t, net.Reachable(0, 3), "b1 and c1 share a group")
	assert.True(t, net.Reachable(1, 4), "the rest share a group")
	require.NoError(t, s.RunUntil(3500*time.Millisecond))
	for b := sim.NodeID(0); b < 3; b++ {
		assert.False(t, net.Reachable(b, 3), "every broker's messages to c1 are lost")
		assert.True(t, net.Reachable(3, b), "a cut is one-way")
	}
	assert.True(t, net.Reachable(4, 3))
	require.NoError(t, s.RunUntil(7*time.Second))
	var skips []string
	for _, r := range rec.Records {
		if r.Kind == "fault.skip" {
			skips = append(skips, r.Detail)
		}
	}
	require.Len(t, skips, 2)
	assert.Contains(t, skips[0], "groups[2] (rest) matches no node now")
	assert.Contains(t, skips[1], "is in partition groups 1 and 2")
	assert.True(t, net.Reachable(0, 1), "skipped partitions block nothing")
}

// TestControllerPartitionKeepsBrokerLinks: a controller-partition cuts its
// nodes off from the controllers, both ways, and from nothing else, and
// controller-heal opens the controllers' links only; a controller among
// its nodes is cut off from the other controllers only, and with no other
// controller the fault skips.
func TestControllerPartitionKeepsBrokerLinks(t *testing.T) {
	s, net, target := cluster(t, 1)
	var rec sim.Recorder
	s.Trace().SetSink(rec.Record)
	// Node ids: b1=0 b2=1 b3=2 c1=3 p1=4.
	fault.Schedule{
		{At: fault.Duration(1 * time.Second), Kind: fault.ControllerPartition, Nodes: []string{"b2"}},
		{At: fault.Duration(1200 * time.Millisecond), Kind: fault.Partition, Groups: [][]string{{"b1"}, {"b3"}}},
		{At: fault.Duration(2 * time.Second), Kind: fault.ControllerHeal},
		{At: fault.Duration(2500 * time.Millisecond), Kind: fault.Heal},
		{At: fault.Duration(3 * time.Second), Kind: fault.ControllerPartition, Nodes: []string{"c1"}},
	}.Install(target)
	require.NoError(t, s.RunUntil(1500*time.Millisecond))
	assert.False(t, net.Reachable(1, 3), "b2 cannot reach the controller")
	assert.False(t, net.Reachable(3, 1), "nor the controller b2")
	for _, other := range []sim.NodeID{0, 2, 4} {
		assert.True(t, net.Reachable(1, other), "b2 still reaches node %d", other)
		assert.True(t, net.Reachable(other, 1), "node %d still reaches b2", other)
	}
	assert.True(t, net.Reachable(0, 3), "b1 still reaches the controller")
	require.NoError(t, s.RunUntil(2200*time.Millisecond))
	assert.True(t, net.Reachable(3, 1), "controller-heal opened the controller's links")
	assert.True(t, net.Reachable(1, 3))
	assert.False(t, net.Reachable(0, 2), "and left the partition of b1 and b3 in place")
	require.NoError(t, s.RunUntil(3500*time.Millisecond))
	assert.True(t, net.Reachable(0, 2), "the heal opened every link")
	var skips []string
	for _, r := range rec.Records {
		if r.Kind == "fault.skip" {
			skips = append(skips, r.Detail)
		}
	}
	require.Len(t, skips, 1)
	assert.Contains(t, skips[0], "no controller outside c1")
	assert.EqualValues(t, 2, s.Marked("fault.controller-partition"))
}
