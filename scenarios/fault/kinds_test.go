package fault_test

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

func TestEveryKindIsDescribed(t *testing.T) {
	require.NotEmpty(t, fault.Kinds)
	for _, k := range fault.Kinds {
		assert.NotEmpty(t, k.Doc(), "kind %s has no description", k)
	}
	assert.Empty(t, fault.Kind("explode").Doc())
	assert.False(t, fault.Kind("explode").Drawable())
	var links, opens []fault.Kind
	for _, k := range fault.Kinds {
		if k.CutsLinks() {
			links = append(links, k)
		}
		if k.OpensLinks() {
			opens = append(opens, k)
		}
	}
	assert.Equal(t, []fault.Kind{fault.Partition, fault.Isolate, fault.Bridge, fault.Ring, fault.Cut, fault.ControllerPartition}, links)
	assert.Equal(t, []fault.Kind{fault.Heal}, opens)
}

// TestNemesisDrawsEveryDrawableKind draws each kind the table says the
// nemesis can draw, alone, and checks that the schedule is valid, that it
// heals every fault it starts, and that the kinds it cannot draw are
// refused.
func TestNemesisDrawsEveryDrawableKind(t *testing.T) {
	for _, k := range fault.Kinds {
		n := defaultNemesis()
		n.Kinds = []fault.Kind{k}
		n.Tear, n.MaxDriftPPM = true, 100
		s, err := n.Generate(sim.NewRand(3, "nemesis"))
		if !k.Drawable() {
			assert.ErrorContains(t, err, "cannot be drawn at random", "kind %s", k)
			continue
		}
		require.NoError(t, err, "kind %s", k)
		require.NoError(t, s.Validate(names, 0), "kind %s:\n%s", k, s)
		require.NotEmpty(t, s, "kind %s", k)
		hurt := 0
		for _, f := range s {
			if f.Kind == k && !(k == fault.Clock && f.Skew == 0 && f.Drift == 0) {
				hurt++
			}
		}
		if _, heals := fault.HealOf(s[0]); !heals {
			assert.Equal(t, len(s), hurt, "kind %s ends by itself: no heal is drawn:\n%s", k, s)
			continue
		}
		assert.Equal(t, len(s), 2*hurt, "kind %s: every fault comes with the one that heals it:\n%s", k, s)
	}
}

// TestShrinkSimplifiesFaults: once no fault can go, each is made as simple
// as its kind allows.
func TestShrinkSimplifiesFaults(t *testing.T) {
	at := func(s int) fault.Duration { return fault.Duration(time.Duration(s) * time.Second) }
	s := fault.Schedule{
		{At: at(1), Kind: fault.Pause, Nodes: []string{"b1"}},
		{At: at(2), Kind: fault.PowerLoss, Nodes: []string{"b1", "b2", "b3"}, Tear: true},
		{At: at(3), Kind: fault.Clock, Nodes: []string{"b3"}, Skew: fault.Duration(time.Second), Drift: 300},
		{At: at(4), Kind: fault.Partition, Groups: [][]string{{"b1"}, {"b2"}, {"b3", "c1"}}},
		{At: at(5), Kind: fault.AllBrokers, Power: true, Tear: true},
	}
	// The "bug" needs b2 to lose power, b3's clock to drift, b1 apart
	// from b3, and every broker down.
	fails := func(s fault.Schedule) bool {
		var power, drift, apart, down bool
		for _, f := range s {
			switch f.Kind {
			case fault.PowerLoss:
				power = power || slices.Contains(f.Nodes, "b2")
			case fault.Clock:
				drift = drift || (slices.Contains(f.Nodes, "b3") && f.Drift != 0)
			case fault.Partition:
				for _, g := range f.Groups {
					apart = apart || (slices.Contains(g, "b1") && !slices.Contains(g, "b3"))
				}
			case fault.AllBrokers:
				down = true
			}
		}
		return power && drift && apart && down
	}
	got := fault.Shrink(s, fails)
	require.NoError(t, got.Validate(names, 0))
	assert.Equal(t, []string{
		"2s power-loss b2",
		"3s clock b3 skew=0s drift=300ppm",
		"4s partition b1,b2 | b3,c1",
		"5s all-brokers-down",
	}, lines(got))
}

func lines(s fault.Schedule) []string {
	var out []string
	for _, f := range s {
		out = append(out, f.String())
	}
	return out
}

// TestSimplerFaultsStayValid: whatever the shrinker makes of a valid
// fault is valid, and never does more.
func TestSimplerFaultsStayValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := defaultNemesis()
		n.Kinds = append(n.Kinds, fault.AllBrokers)
		n.MaxFaulty, n.Tear, n.MaxDriftPPM = 3, true, 1000
		s, err := n.Generate(sim.NewRand(rapid.Uint64().Draw(t, "seed"), "nemesis"))
		if err != nil {
			t.Fatal(err)
		}
		// Keep only the faults that hurt, and demand them all: shrinking
		// can then only simplify, never remove.
		var hurt fault.Schedule
		for _, f := range s {
			if f.Kind.Drawable() {
				hurt = append(hurt, f)
			}
		}
		need := len(hurt)
		got := fault.Shrink(hurt, func(c fault.Schedule) bool {
			if len(c) != need {
				return false
			}
			if err := c.Validate(names, 0); err != nil {
				t.Fatalf("the shrinker tried an invalid schedule: %v\n%s", err, c)
			}
			return true
		})
		if len(got) != need {
			t.Fatalf("shrunk %d faults to %d", need, len(got))
		}
		for i, f := range got {
			was := hurt[i]
			if f.Kind != was.Kind {
				t.Fatalf("%s became %s", was, f)
			}
			if len(f.Nodes) > 1 || len(f.Groups) > 2 || f.Tear || f.Power || (f.Skew != 0 && f.Drift != 0) {
				t.Fatalf("%s is not as simple as it can be (from %s)", f, was)
			}
		}
	})
}
