package faulttest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func group(t *testing.T) (*sim.Sim, faulttest.Group) {
	s := sim.New(sim.Config{Seed: 1})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	g := faulttest.Group{Net: net}
	for _, name := range []string{"a", "b", "c"} {
		n, err := s.AddNode(name, func(*sim.Node) any { return nil })
		require.NoError(t, err)
		require.NoError(t, n.Start())
		g.Nodes = append(g.Nodes, n)
	}
	return s, g
}

// Each common kind takes its nodes down, pauses or cuts them, and Repair
// brings them back; a package's own kind is left to the package.
func TestInjectAndRepair(t *testing.T) {
	_, g := group(t)
	for _, tc := range []struct {
		e    faulttest.Episode
		want []sim.NodeState
	}{
		{faulttest.Episode{Kind: faulttest.Crash, Node: 1}, []sim.NodeState{sim.Up, sim.Down, sim.Up}},
		{faulttest.Episode{Kind: faulttest.PowerLoss, Node: 0}, []sim.NodeState{sim.Down, sim.Up, sim.Up}},
		{faulttest.Episode{Kind: faulttest.Pause, Node: 2}, []sim.NodeState{sim.Up, sim.Up, sim.Paused}},
		{faulttest.Episode{Kind: faulttest.GroupPowerLoss, Side: []int{0, 2}}, []sim.NodeState{sim.Down, sim.Up, sim.Down}},
	} {
		require.True(t, g.Inject(tc.e), "%v", tc.e)
		for i, n := range g.Nodes {
			require.Equal(t, tc.want[i], n.State(), "%v: node %d", tc.e, i)
		}
		require.True(t, g.Repair(tc.e))
		for i, n := range g.Nodes {
			require.Equal(t, sim.Up, n.State(), "%v repaired: node %d", tc.e, i)
		}
	}
	require.False(t, g.Inject(faulttest.Episode{Kind: faulttest.Custom}))
	require.False(t, g.Repair(faulttest.Episode{Kind: faulttest.Custom}))
	require.Equal(t, "custom-1", (faulttest.Custom + 1).String())
}

func TestNetworkCommand(t *testing.T) {
	_, g := group(t)
	require.NoError(t, faulttest.NetworkCommand(g.Net, "partition", []string{"a", "b,c"}))
	require.NoError(t, faulttest.NetworkCommand(g.Net, "heal", nil))
	require.ErrorContains(t, faulttest.NetworkCommand(g.Net, "isolate", nil), "name one node")
	require.ErrorContains(t, faulttest.NetworkCommand(g.Net, "split", nil), "accepted are heal, isolate and partition")
}

// Draw stays within its schedule.
func TestDraw(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := faulttest.Schedule{Kinds: int(faulttest.Custom), Nodes: 3, MaxEpisodes: 5, Within: 10 * time.Second, Longest: 2 * time.Second}
		eps := s.Draw(t)
		require.LessOrEqual(t, len(eps), 5)
		for _, e := range eps {
			require.Less(t, e.Kind, faulttest.Custom)
			require.Less(t, e.Node, 3)
			require.LessOrEqual(t, e.At, 10*time.Second)
			require.LessOrEqual(t, e.For, 2*time.Second)
			for _, i := range e.Side {
				require.Less(t, i, 3)
			}
		}
	})
}
