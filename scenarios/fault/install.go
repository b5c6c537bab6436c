package fault

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// A Target is the simulation a schedule is installed into.
type Target interface {
	Sim() *sim.Sim
	Net() *network.Network
	// Resolve turns a node name or selector into nodes, when the fault
	// fires. Dynamic selectors may resolve to no node (a partition with no
	// leader right now); the fault is then skipped.
	Resolve(selector string) ([]*sim.Node, error)
}

// StaticTarget resolves node names and the static selectors (brokers,
// controllers, all). Dynamic selectors need the cluster: the scenario layer
// wraps it and answers them.
type StaticTarget struct {
	S     *sim.Sim
	N     *network.Network
	Names Names
}

// Sim implements Target.
func (t StaticTarget) Sim() *sim.Sim { return t.S }

// Net implements Target.
func (t StaticTarget) Net() *network.Network { return t.N }

// Resolve implements Target for names and static selectors.
func (t StaticTarget) Resolve(sel string) ([]*sim.Node, error) {
	var names []string
	switch sel {
	case SelBrokers:
		names = t.Names.Brokers
	case SelControllers:
		names = t.Names.Controllers
	case SelZooKeepers:
		names = t.Names.ZooKeepers
	case SelClients:
		names = t.Names.Clients
	case SelAll:
		names = t.Names.all()
	default:
		if !t.Names.known(sel) {
			return nil, fmt.Errorf("selector %q cannot be resolved without the cluster", sel)
		}
		names = []string{sel}
	}
	out := make([]*sim.Node, 0, len(names))
	for _, name := range names {
		n, err := t.S.Node(name)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// Install schedules every fault of s as a world event of the target's
// simulation. A fault that does not apply when it fires (crashing a node
// that is down, resuming one that is not paused, a selector that matches
// nothing) is skipped and recorded in the trace as fault.skip, so that
// shrunk schedules, which may keep a restart whose crash was removed, stay
// valid.
func (s Schedule) Install(t Target) {
	for _, f := range s.Sorted() {
		t.Sim().At(f.Time(), "fault."+string(f.Kind), func() { Apply(t, f) })
	}
}

// Apply performs one fault now.
func Apply(t Target, f Fault) {
	s := t.Sim()
	s.Mark("fault." + string(f.Kind))
	skip := func(why string) {
		s.Trace().Emitf(nil, "fault.skip", 0, "%s: %s", f, why)
	}
	s.Trace().Emitf(nil, "fault", sim.DigestString(uint64(f.At), f.String()), "%s", f)
	k, ok := spec(f.Kind)
	if !ok {
		skip("unknown kind")
		return
	}
	k.apply(t, f, skip)
}

// resolveAll resolves several selectors, without duplicates, in order.
func resolveAll(t Target, sels []string) ([]*sim.Node, error) {
	var out []*sim.Node
	for _, sel := range sels {
		nodes, err := t.Resolve(sel)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out, nil
}

// resolveGroups resolves the groups of a partition, bridge or ring when the
// fault fires: each member a name or selector, and rest the nodes that no
// other group names. A group that resolves to no node (a partition with no
// leader right now) makes the fault skip, as does a node two groups name.
func resolveGroups(t Target, sels [][]string) ([][]sim.NodeID, error) {
	groups := make([][]sim.NodeID, len(sels))
	named := map[sim.NodeID]bool{}
	rest := -1
	for gi, g := range sels {
		var members []string
		for _, sel := range g {
			if sel == SelRest {
				rest = gi
			} else {
				members = append(members, sel)
			}
		}
		nodes, err := resolveAll(t, members)
		if err != nil {
			return nil, err
		}
		for _, n := range nodes {
			groups[gi] = append(groups[gi], n.ID())
			named[n.ID()] = true
		}
	}
	if rest >= 0 {
		all, err := t.Resolve(SelAll)
		if err != nil {
			return nil, err
		}
		for _, n := range all {
			if !named[n.ID()] {
				groups[rest] = append(groups[rest], n.ID())
			}
		}
	}
	for gi, g := range groups {
		if len(g) == 0 {
			return nil, fmt.Errorf("groups[%d] (%s) matches no node now", gi, strings.Join(sels[gi], ","))
		}
	}
	return groups, nil
}
