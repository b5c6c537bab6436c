package network

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/sim"
)

// Partitions change which directed links carry messages. They add to the
// links already blocked; Heal unblocks everything. Blocking a link breaks the
// connection over it, and its sender notices after its detection timeout.

// Resolve turns node names into ids, with an error naming any unknown name.
func (n *Network) Resolve(names ...string) ([]sim.NodeID, error) {
	ids := make([]sim.NodeID, 0, len(names))
	for _, name := range names {
		nd, err := n.s.Node(name)
		if err != nil {
			return nil, err
		}
		ids = append(ids, nd.ID())
	}
	return ids, nil
}

// checkGroups validates node groups: every id known, none named twice, no
// group empty.
func (n *Network) checkGroups(groups [][]sim.NodeID) error {
	seen := make(map[sim.NodeID]int)
	for gi, g := range groups {
		if len(g) == 0 {
			return fmt.Errorf("partition group %d is empty: every group needs at least one node", gi+1)
		}
		for _, id := range g {
			nd, err := n.node(id)
			if err != nil {
				return err
			}
			if prev, dup := seen[id]; dup {
				if prev == gi {
					return fmt.Errorf("node %s is named twice in partition group %d: name each node once", nd, gi+1)
				}
				return fmt.Errorf("node %s is in partition groups %d and %d: a node belongs to one group", nd, prev+1, gi+1)
			}
			seen[id] = gi
		}
	}
	return nil
}

// Partition splits the listed nodes into groups that cannot reach one
// another, in either direction. Nodes not listed keep reaching everyone
// (a bridge node is simply left out of every group).
func (n *Network) Partition(groups ...[]sim.NodeID) error {
	if len(groups) < 2 {
		return fmt.Errorf("a partition needs at least two groups, got %d", len(groups))
	}
	if err := n.checkGroups(groups); err != nil {
		return err
	}
	for gi, g := range groups {
		for gj, h := range groups {
			if gi == gj {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					n.block(a, b)
				}
			}
		}
	}
	n.emit("net.partition", groups)
	return nil
}

// Isolate cuts node off from every other node, both ways.
func (n *Network) Isolate(node sim.NodeID) error {
	if _, err := n.node(node); err != nil {
		return err
	}
	for _, other := range n.s.Nodes() {
		if other.ID() != node {
			n.block(node, other.ID())
			n.block(other.ID(), node)
		}
	}
	n.emit("net.isolate", [][]sim.NodeID{{node}})
	return nil
}

// Bridge splits nodes into groups a and b that cannot reach each other, while
// the bridge node reaches both: Jepsen's bridge partition.
func (n *Network) Bridge(a []sim.NodeID, bridge sim.NodeID, b []sim.NodeID) error {
	if err := n.checkGroups([][]sim.NodeID{a, {bridge}, b}); err != nil {
		return err
	}
	return n.Partition(a, b)
}

// Ring lets each listed node reach only its two neighbours in the given
// order (the first and last are neighbours), in both directions. A ring
// needs at least four nodes to cut anything.
func (n *Network) Ring(nodes []sim.NodeID) error {
	if len(nodes) < 4 {
		return fmt.Errorf("a ring needs at least 4 nodes, got %d: with fewer, every node neighbours every other", len(nodes))
	}
	if err := n.checkGroups([][]sim.NodeID{nodes}); err != nil {
		return err
	}
	k := len(nodes)
	for i, a := range nodes {
		for j, b := range nodes {
			d := (j - i + k) % k
			if d != 0 && d != 1 && d != k-1 {
				n.block(a, b)
			}
		}
	}
	n.emit("net.ring", [][]sim.NodeID{nodes})
	return nil
}

// Cut blocks the one direction from → to: from's messages to to are lost,
// while to still reaches from.
func (n *Network) Cut(from, to sim.NodeID) error {
	if err := n.checkGroups([][]sim.NodeID{{from, to}}); err != nil {
		return err
	}
	n.block(from, to)
	n.emit("net.cut", [][]sim.NodeID{{from}, {to}})
	return nil
}

// Heal unblocks every link.
func (n *Network) Heal() {
	n.grow()
	for i := range n.links {
		n.links[i].blocked = false
	}
	n.s.Trace().Emit(nil, "net.heal", 0, nil)
}

// HealLink unblocks the directed link from → to.
func (n *Network) HealLink(from, to sim.NodeID) error {
	if err := n.checkGroups([][]sim.NodeID{{from, to}}); err != nil {
		return err
	}
	n.link(from, to).blocked = false
	n.emit("net.heal-link", [][]sim.NodeID{{from}, {to}})
	return nil
}

// Reachable reports whether messages from → to currently get through the
// network (ignoring whether either node is up).
func (n *Network) Reachable(from, to sim.NodeID) bool {
	return !n.link(from, to).blocked
}

// Blocked returns every blocked directed link as (from, to) pairs, sorted.
func (n *Network) Blocked() [][2]sim.NodeID {
	n.grow()
	var out [][2]sim.NodeID
	for i := range n.n {
		for j := range n.n {
			if n.links[i*n.n+j].blocked {
				out = append(out, [2]sim.NodeID{sim.NodeID(i), sim.NodeID(j)})
			}
		}
	}
	return out
}

func (n *Network) block(from, to sim.NodeID) {
	l := n.link(from, to)
	if l.blocked {
		return
	}
	l.blocked = true
	n.breakLink(from, to, n.detectTimeout(from), false)
}

func (n *Network) emit(kind string, groups [][]sim.NodeID) {
	var words []uint64
	parts := make([]string, 0, len(groups))
	for _, g := range groups {
		names := make([]string, 0, len(g))
		for _, id := range g {
			words = append(words, uint64(id))
			names = append(names, n.s.NodeByID(id).Name())
		}
		words = append(words, ^uint64(0))
		parts = append(parts, strings.Join(names, ","))
	}
	n.s.Trace().Emit(nil, kind, sim.Digest(words...), strings.Join(parts, " | "))
}

// Groups is a convenience for building partition groups from names.
func (n *Network) Groups(groups ...[]string) ([][]sim.NodeID, error) {
	out := make([][]sim.NodeID, 0, len(groups))
	for _, g := range groups {
		ids, err := n.Resolve(g...)
		if err != nil {
			return nil, err
		}
		out = append(out, slices.Clip(ids))
	}
	return out, nil
}
