package scenarios

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios/fault"
)

func TestHuntScenarioIsValidAndDrawsTheSameForASeed(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	kinds := map[fault.Kind]bool{}
	byRole := 0
	for seed := uint64(1); seed <= 200; seed++ {
		a, da, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err, "seed %d", seed)
		b, db, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err)
		require.Equal(t, a, b, "seed %d draws one scenario", seed)
		require.Equal(t, da.String(), db.String())
		require.NotEmpty(t, da.Kinds)
		require.Nil(t, a.Nemesis, "the schedule is written out")
		for k := range da.Kinds {
			kinds[k] = true
		}
		if da.ByRole {
			byRole++
		}
		require.NotContains(t, da.Kinds, fault.DiskLoss, "disk loss is off unless asked for")
		require.NotContains(t, da.Kinds, fault.ControllerPartition, "controller-partition is off unless a hunt's kinds name it")
	}
	require.Len(t, kinds, 8, "200 seeds turn on every drawable kind but disk-loss")
	require.Greater(t, byRole, 50)
	require.Less(t, byRole, 150)
}

func TestHuntKindsNarrowTheDraw(t *testing.T) {
	base, err := Builtin("kip101-loss-legacy")
	require.NoError(t, err)
	for seed := uint64(1); seed <= 50; seed++ {
		s, d, err := HuntScenario(base, seed, HuntOptions{Kinds: []fault.Kind{fault.Crash, fault.DiskLoss}})
		require.NoError(t, err)
		for k := range d.Kinds {
			require.Contains(t, []fault.Kind{fault.Crash, fault.DiskLoss}, k)
		}
		require.Empty(t, s.Expect.Findings, "a hunt expects nothing")
	}
}

// A hunt seed replays bit for bit: the printed command's seed gives the
// same trace.
func TestHuntSeedReplaysAndShardsMergeIntoTheWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 12 simulations")
	}
	e, ok := MuseumEntryNamed("kafka-1211")
	require.True(t, ok)
	base, err := e.HuntBase()
	require.NoError(t, err)
	opts := HuntRunOptions{HuntOptions: e.Hunt, Name: e.Name, First: 1, Count: 6, Parallel: 2, Target: e.Target}
	whole, err := Hunt(base, opts)
	require.NoError(t, err)
	var parts [][]HuntSummary
	for shard := range 3 {
		o := opts
		o.Shard, o.Shards = shard, 3
		p, err := Hunt(base, o)
		require.NoError(t, err)
		var buf bytes.Buffer
		require.NoError(t, WriteHuntSummaries(&buf, p))
		back, err := ReadHuntSummaries(&buf)
		require.NoError(t, err)
		parts = append(parts, back)
	}
	merged, err := MergeHunts(parts[2], parts[0], parts[1])
	require.NoError(t, err)
	require.Equal(t, whole, merged, "the union of the shards is the whole hunt")
	_, err = MergeHunts(parts[0], parts[0])
	require.ErrorContains(t, err, "appears twice")
	for _, s := range whole {
		require.Empty(t, s.Error)
		require.Equal(t, HuntReplay("kafka-1211", s.Seed), s.Replay)
	}
}

func TestFalsePositiveIsOnlyWhatNoSettingAllows(t *testing.T) {
	for _, tc := range []struct {
		builtin string
		fp      bool
	}{{"acks1-leader-dies", false}, {"kip101-loss-legacy", false}, {"last-replica-standing", false}} {
		s, err := Builtin(tc.builtin)
		require.NoError(t, err)
		res, err := Run(s, Options{NoTimeline: true})
		require.NoError(t, err)
		require.False(t, res.OK(), "%s loses data", tc.builtin)
		fp, why := FalsePositive(res)
		require.Equal(t, tc.fp, fp, "%s: %s", tc.builtin, why)
	}
}

func TestHuntReportListsMarksNeverReached(t *testing.T) {
	rep := NewHuntReport([]HuntSummary{{Hunt: "h", Seed: 1, Found: true, Marks: []string{"fault.crash"}}, {Hunt: "h", Seed: 2, FalsePositive: "x"}})
	require.Equal(t, []uint64{1}, rep.Found)
	require.Len(t, rep.FalsePositives, 1)
	require.Equal(t, 1, rep.Marks["fault.crash"])
	var b strings.Builder
	rep.Write(&b, "h")
	require.Contains(t, b.String(), "never reached")
	require.Contains(t, b.String(), "fault.ring")
}

func TestMutateHuntIsDeterministicAndValid(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	changed := 0
	for seed := uint64(1); seed <= 30; seed++ {
		orig, _, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err)
		for m := 1; m <= 5; m++ {
			a, _, whatA, err := MutateHunt(base, seed, m, HuntOptions{})
			require.NoError(t, err, "seed %d mutation %d", seed, m)
			b, _, whatB, err := MutateHunt(base, seed, m, HuntOptions{})
			require.NoError(t, err)
			require.Equal(t, a, b)
			require.Equal(t, whatA, whatB)
			if !assert.ObjectsAreEqual(orig.Faults, a.Faults) {
				changed++
			}
		}
	}
	require.Greater(t, changed, 120, "most mutations change the schedule")
}

func TestRareParentsPreferRareCoverage(t *testing.T) {
	sums := []HuntSummary{
		{Hunt: "h", Seed: 1, Marks: []string{"a"}},
		{Hunt: "h", Seed: 2, Marks: []string{"a", "rare"}},
		{Hunt: "h", Seed: 3, Marks: []string{"a"}, States: []string{"x", "y"}},
		{Hunt: "h", Seed: 4, Error: "setup"},
	}
	ranked := rareParents(sums)
	require.Len(t, ranked, 3)
	require.Equal(t, []uint64{2, 3, 1}, []uint64{ranked[0].Seed, ranked[1].Seed, ranked[2].Seed})
}

func TestHuntBuggifyEnablesASubsetThatValidates(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	seen := map[string]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		plain, _, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err)
		require.Empty(t, plain.Buggify)
		s, _, err := HuntScenario(base, seed, HuntOptions{Buggify: true})
		require.NoError(t, err)
		require.Equal(t, plain.Faults, s.Faults, "BUGGIFY draws from its own stream")
		for _, p := range s.Buggify {
			seen[p] = true
		}
	}
	require.Len(t, seen, len(BuggifyPoints))
	bad := base
	bad.Buggify = []string{"broker.nope"}
	require.ErrorContains(t, bad.Defaults().Validate(), "unknown point")
}

// KAFKA-15583's variant lets the high-water mark pass records no eligible
// replica holds, and a later leader writes other records at those offsets:
// committed-prefix-mismatch, on the way to the loss. Its hunt goes on past
// the broken invariant, as the legacy scripted scenarios do, so that the
// verdict can say the variant allowed the loss: seed 1000006, the first of
// master seed 1, stopped short of it before.
func TestHuntOfKafka15583GoesOnPastTheBrokenInvariant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs one hunt seed")
	}
	base, target, opts, _, err := HuntTarget("kafka-15583", false)
	require.NoError(t, err)
	require.True(t, opts.ContinueAfterInvariant)
	s, _, err := HuntScenario(base, MasterSeedBase(1)+6, opts)
	require.NoError(t, err)
	require.True(t, s.Checks.ContinueAfterInvariant)
	res, err := Run(s, Options{NoTimeline: true})
	require.NoError(t, err)
	require.Empty(t, res.Verdict.Stopped)
	require.True(t, target.Found(res), res.Summary())
	plain, _, err := HuntScenario(base, MasterSeedBase(1)+6, HuntOptions{Kinds: opts.Kinds})
	require.NoError(t, err)
	require.False(t, plain.Checks.ContinueAfterInvariant, "other hunts still stop at a broken invariant")
}
