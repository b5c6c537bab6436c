// Package faulttest draws random fault episodes for the property tests of
// kafkasim's replicated components (the KRaft quorum, the ZooKeeper
// ensemble) and applies them to a group of simulated nodes: crashes, power
// losses (torn or not, of one node or several at once), pauses, isolations
// and partitions, each undone after its length. A package adds kinds of
// its own after Custom and handles them itself.
package faulttest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Kind is one kind of fault.
type Kind int

// The kinds every group of nodes knows. Custom is the first kind a
// package defines for itself.
const (
	Crash Kind = iota
	PowerLoss
	TornPowerLoss
	Pause
	Isolate
	Partition
	GroupPowerLoss // a torn power loss of the nodes of Side at once
	Custom
)

var names = [...]string{"crash", "power-loss", "torn-power-loss", "pause", "isolate", "partition", "group-power-loss"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(names) {
		return names[k]
	}
	return "custom-" + strconv.Itoa(int(k-Custom))
}

// Episode is a fault that starts at At and is undone (restart, resume,
// heal) after For.
type Episode struct {
	At, For time.Duration
	Kind    Kind
	Node    int   // the node's index
	Side    []int // a partition's side, or the nodes of a group power loss
}

func (e Episode) String() string {
	return fmt.Sprintf("%v+%v %v node#%d %v", e.At, e.For, e.Kind, e.Node, e.Side)
}

// Schedule says what Draw draws: how many kinds (the common ones and a
// package's own), over how many nodes, how many episodes at most, and the
// longest episode; episodes start within the first Within.
type Schedule struct {
	Kinds       int
	Nodes       int
	MaxEpisodes int
	Within      time.Duration
	Longest     time.Duration
	// NodeOf, when set, draws the node of a package's own kind (e.g. a
	// client's index instead of a server's).
	NodeOf func(t *rapid.T, k Kind) (int, bool)
}

// Draw draws a fault schedule.
func (s Schedule) Draw(t *rapid.T) []Episode {
	return rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Episode {
		e := Episode{
			At:   time.Duration(rapid.IntRange(0, int(s.Within/time.Millisecond)).Draw(t, "at-ms")) * time.Millisecond,
			For:  time.Duration(rapid.IntRange(100, int(s.Longest/time.Millisecond)).Draw(t, "for-ms")) * time.Millisecond,
			Kind: Kind(rapid.IntRange(0, s.Kinds-1).Draw(t, "kind")),
			Node: rapid.IntRange(0, s.Nodes-1).Draw(t, "node"),
		}
		if s.NodeOf != nil {
			if n, ok := s.NodeOf(t, e.Kind); ok {
				e.Node = n
			}
		}
		if e.Kind == Partition || e.Kind == GroupPowerLoss {
			for i := range s.Nodes {
				if rapid.Bool().Draw(t, "side"+strconv.Itoa(i)) {
					e.Side = append(e.Side, i)
				}
			}
		}
		return e
	}), 0, s.MaxEpisodes).Draw(t, "episodes")
}

// Group is the nodes episodes act on.
type Group struct {
	Net   *network.Network
	Nodes []*sim.Node // indexed by Episode.Node and Side
	// Bystanders are nodes no episode targets (clients); a partition
	// puts them alternately on its two sides.
	Bystanders []*sim.Node
}

// Inject starts the episode's fault. It reports false for a package's own
// kind, which the package injects itself.
func (g Group) Inject(e Episode) bool {
	n := g.Nodes[e.Node]
	switch e.Kind {
	case Crash:
		_ = n.Crash()
	case PowerLoss:
		n.PowerLoss(false)
	case TornPowerLoss:
		n.PowerLoss(true)
	case Pause:
		_ = n.Pause()
	case Isolate:
		_ = g.Net.Isolate(n.ID())
	case Partition:
		var a, b []sim.NodeID
		for i, x := range g.Nodes {
			if slices.Contains(e.Side, i) {
				a = append(a, x.ID())
			} else {
				b = append(b, x.ID())
			}
		}
		for i, x := range g.Bystanders {
			if i%2 == 0 {
				a = append(a, x.ID())
			} else {
				b = append(b, x.ID())
			}
		}
		if len(a) > 0 && len(b) > 0 {
			_ = g.Net.Partition(a, b)
		}
	case GroupPowerLoss:
		for _, i := range e.Side {
			g.Nodes[i].PowerLoss(true)
		}
	default:
		return false
	}
	return true
}

// Repair undoes the episode's fault: restarts the nodes it took down,
// resumes the node it paused, heals the network. It reports false for a
// package's own kind, which the package repairs itself.
func (g Group) Repair(e Episode) bool {
	n := g.Nodes[e.Node]
	switch e.Kind {
	case Crash, PowerLoss, TornPowerLoss:
		Restart(n)
	case GroupPowerLoss:
		for _, i := range e.Side {
			Restart(g.Nodes[i])
		}
	case Pause:
		if n.State() == sim.Paused {
			_ = n.Resume()
		}
	case Isolate, Partition:
		g.Net.Heal()
	default:
		return false
	}
	return true
}

// Restart restarts n if it is down.
func Restart(n *sim.Node) {
	if n.State() == sim.Down {
		_ = n.Restart()
	}
}

// NetworkCommand runs an interaction script's network command on net:
// `heal`, `isolate NODE`, or `partition A B,C ...` (sides of
// comma-separated node names).
func NetworkCommand(net *network.Network, cmd string, args []string) error {
	switch cmd {
	case "heal":
		net.Heal()
		return nil
	case "isolate":
		if len(args) != 1 {
			return fmt.Errorf("isolate: name one node")
		}
		ids, err := net.Resolve(args[0])
		if err != nil {
			return err
		}
		return net.Isolate(ids[0])
	case "partition":
		var groups [][]string
		for _, a := range args {
			groups = append(groups, strings.Split(a, ","))
		}
		ids, err := net.Groups(groups...)
		if err != nil {
			return err
		}
		return net.Partition(ids...)
	}
	return fmt.Errorf("unknown network command %q: accepted are heal, isolate and partition", cmd)
}
