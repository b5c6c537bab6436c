package fault

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Kind is a kind of fault.
type Kind string

// The fault kinds. Each is described once, in the kinds table below, and
// everything else — validation, installation, the nemesis, shrinking, the
// text form — loops over that table.
const (
	Crash      Kind = "crash"
	PowerLoss  Kind = "power-loss"
	Restart    Kind = "restart"
	Pause      Kind = "pause"
	Resume     Kind = "resume"
	DiskLoss   Kind = "disk-loss"
	Partition  Kind = "partition"
	Isolate    Kind = "isolate"
	Bridge     Kind = "bridge"
	Ring       Kind = "ring"
	Cut        Kind = "cut"
	Heal       Kind = "heal"
	Clock      Kind = "clock"
	AllBrokers Kind = "all-brokers-down"
	// AddPartitions is no failure but an operator's action the schedule
	// times: kafka-topics --alter --topic T --partitions N.
	AddPartitions Kind = "add-partitions"
	// Delay holds messages of named Kafka APIs on their way and delivers
	// them later, after the messages sent behind them.
	Delay Kind = "delay"
	// Leave shuts a consumer's application down cleanly: its consumer
	// closes (a final commit with enable.auto.commit, LeaveGroup) and the
	// process exits; a restart brings it back as a new member.
	Leave Kind = "leave"
	// ControllerPartition cuts nodes off from the controllers only: a
	// broker the controller fences for missed heartbeats that still
	// reaches its leaders and followers (a zombie on stale metadata).
	ControllerPartition Kind = "controller-partition"
	// ControllerHeal opens the links between the controllers and every
	// other node, and no other: the heal of a controller-partition, which
	// leaves the network's other faults in place.
	ControllerHeal Kind = "controller-heal"
)

// A kindSpec is everything the package knows of one fault kind. Adding a
// kind is adding a constant above and a row to kinds.
type kindSpec struct {
	kind Kind
	doc  string // what it does, in one line
	args args   // the fields it takes besides at and kind
	// groups is the shape of its groups, for kinds that take groups.
	groups *groupShape
	// anyEnd: from and to may be left out (any node).
	anyEnd bool
	// check validates what the generic checks of its fields cannot; it
	// runs after them.
	check func(f Fault, bad func(format string, args ...any))
	// apply performs the fault now; skip records why (a part of) it did
	// not apply.
	apply func(t Target, f Fault, skip func(why string))
	// net says what it does to the network's links.
	net netEffect
	// draw, for the kinds the nemesis draws, makes the fault that hurts
	// d.victims (which it may narrow or widen) and returns the targets it
	// made faulty; ok is false when the fault cannot hurt them (nothing on
	// the other side). Its draws from d.r are part of every seed's
	// schedule: never reorder them.
	draw func(d *draw) (f Fault, hurt []string, ok bool)
	// heal returns the fault that undoes f, for the nemesis; nil for a
	// drawn kind that ends by itself.
	heal func(f Fault) Fault
	// simpler lists variants of f that do less, for the shrinker.
	simpler func(f Fault) []Fault
}

// kinds is the table of fault kinds, in documentation order.
var kinds = []kindSpec{
	{
		kind: Crash, doc: "kill the process; the page cache survives", args: argNodes,
		apply: onNodes(func(_ Fault, n *sim.Node) error { return n.Crash() }),
		draw:  drawOnVictims(Crash), heal: healNodesWith(Restart), simpler: fewerNodes,
	},
	{
		kind: PowerLoss, doc: "kill the process and drop unsynced writes (tear: keep a torn prefix of them)", args: argNodes | argTear,
		apply: onNodes(func(f Fault, n *sim.Node) error { n.PowerLoss(f.Tear); return nil }),
		draw: func(d *draw) (Fault, []string, bool) {
			return Fault{Kind: PowerLoss, Nodes: d.victims, Tear: d.n.Tear}, d.victims, true
		},
		heal: healNodesWith(Restart), simpler: simplerBy(untorn, fewerNodes),
	},
	{
		kind: Restart, doc: "boot a down node", args: argNodes,
		apply:   onNodes(func(_ Fault, n *sim.Node) error { return n.Restart() }),
		simpler: fewerNodes,
	},
	{
		kind: Pause, doc: "freeze a node (a long GC pause)", args: argNodes,
		apply: onNodes(func(_ Fault, n *sim.Node) error { return n.Pause() }),
		draw:  drawOnVictims(Pause), heal: healNodesWith(Resume), simpler: fewerNodes,
	},
	{
		kind: Resume, doc: "unfreeze a paused node", args: argNodes,
		apply:   onNodes(func(_ Fault, n *sim.Node) error { return n.Resume() }),
		simpler: fewerNodes,
	},
	{
		kind: DiskLoss, doc: "replace the disk with an empty one (crashes a running node)", args: argNodes,
		apply: onNodes(func(_ Fault, n *sim.Node) error { n.LoseDisk(); return nil }),
		draw:  drawOnVictims(DiskLoss), heal: healNodesWith(Restart), simpler: fewerNodes,
	},
	{
		kind: Partition, doc: "split nodes into groups that cannot reach each other", args: argGroups, net: cutsLinks,
		groups: &groupShape{want: "at least two groups", fits: func(g [][]string) bool { return len(g) >= 2 }},
		apply:  onGroups(func(t Target, g [][]sim.NodeID) error { return t.Net().Partition(g...) }),
		draw: func(d *draw) (Fault, []string, bool) {
			rest := slices.DeleteFunc(slices.Clone(d.n.Targets), func(s string) bool { return slices.Contains(d.victims, s) })
			if len(rest) == 0 {
				return Fault{}, nil, false
			}
			return Fault{Kind: Partition, Groups: [][]string{d.victims, rest}}, d.victims, true
		},
		heal: healLinks, simpler: fewerGroups,
	},
	{
		kind: Isolate, doc: "cut nodes off from everyone", args: argNodes, net: cutsLinks,
		apply: func(t Target, f Fault, skip func(string)) {
			nodes, err := resolveAll(t, f.Nodes)
			if err != nil || len(nodes) == 0 {
				skip(fmt.Sprintf("no node to isolate (%v)", err))
				return
			}
			for _, n := range nodes {
				_ = t.Net().Isolate(n.ID())
			}
		},
		draw: drawOnVictims(Isolate), heal: healLinks, simpler: fewerNodes,
	},
	{
		kind: Bridge, doc: "two groups, and one node reaching both", args: argGroups, net: cutsLinks,
		groups: &groupShape{
			want:   "three groups: [side], [bridge node], [side]",
			fits:   func(g [][]string) bool { return len(g) == 3 && len(g[1]) == 1 },
			noRest: func(gi int) bool { return gi == 1 },
		},
		apply: onGroups(func(t Target, g [][]sim.NodeID) error {
			if len(g[1]) != 1 {
				return fmt.Errorf("the bridge group resolves to %d nodes, not one", len(g[1]))
			}
			return t.Net().Bridge(g[0], g[1][0], g[2])
		}),
	},
	{
		kind: Ring, doc: "each node reaches only its ring neighbours", args: argGroups, net: cutsLinks,
		groups: &groupShape{
			want:   "one group: the ring's nodes in order",
			fits:   func(g [][]string) bool { return len(g) == 1 },
			noRest: func(int) bool { return true },
		},
		check: func(f Fault, bad func(string, ...any)) {
			if len(f.Groups) == 1 && len(f.Groups[0]) < 4 && !slices.ContainsFunc(f.Groups[0], isSelector) {
				bad("groups: a ring needs at least 4 nodes, got %d", len(f.Groups[0]))
			}
		},
		apply: onGroups(func(t Target, g [][]sim.NodeID) error { return t.Net().Ring(g[0]) }),
	},
	{
		kind: Cut, doc: "one-way: the messages of from to to are lost", args: argFromTo, net: cutsLinks,
		apply: func(t Target, f Fault, skip func(string)) {
			from, err := resolveAll(t, []string{f.From})
			var to []*sim.Node
			if err == nil {
				to, err = resolveAll(t, []string{f.To})
			}
			switch {
			case err != nil:
				skip(err.Error())
			case len(from) == 0 || len(to) == 0:
				skip(fmt.Sprintf("no node matches %s or %s", f.From, f.To))
			default:
				for _, a := range from {
					for _, b := range to {
						if err := t.Net().Cut(a.ID(), b.ID()); err != nil {
							skip(err.Error())
						}
					}
				}
			}
		},
		draw: func(d *draw) (Fault, []string, bool) {
			victim := d.victims[0]
			others := slices.DeleteFunc(slices.Clone(d.n.Targets), func(s string) bool { return s == victim })
			if len(others) == 0 {
				return Fault{}, nil, false
			}
			to := others[d.r.IntN(len(others))]
			f := Fault{Kind: Cut, From: victim, To: to}
			if d.r.IntN(2) != 0 {
				f.From, f.To = to, victim
			}
			return f, d.victims[:1], true
		},
		heal: healLinks,
	},
	{
		kind: Heal, doc: "open every link", net: opensLinks,
		apply: func(t Target, _ Fault, _ func(string)) { t.Net().Heal() },
	},
	{
		kind: Clock, doc: "set nodes' clock skew and drift (zero both to reset)", args: argNodes | argClock,
		check: func(f Fault, bad func(string, ...any)) {
			if f.Drift <= -500_000 || f.Drift >= 500_000 {
				bad("drift_ppm %d is out of range: accepted is strictly between -500000 and 500000", f.Drift)
			}
		},
		apply: onNodes(func(f Fault, n *sim.Node) error { return n.SetClock(time.Duration(f.Skew), f.Drift) }),
		draw: func(d *draw) (Fault, []string, bool) {
			var skew time.Duration
			if d.n.MaxSkew > 0 {
				skew = time.Duration(d.r.Int64N(int64(2*d.n.MaxSkew))) - d.n.MaxSkew
			}
			var drift int64
			if d.n.MaxDriftPPM > 0 {
				drift = d.r.Int64N(2*d.n.MaxDriftPPM) - d.n.MaxDriftPPM
			}
			return Fault{Kind: Clock, Nodes: d.victims, Skew: Duration(skew.Round(time.Millisecond)), Drift: drift}, d.victims, true
		},
		heal:    func(f Fault) Fault { return Fault{Kind: Clock, Nodes: f.Nodes} },
		simpler: simplerBy(oneClockChange, fewerNodes),
	},
	{
		kind: AllBrokers, doc: "every broker crashes (power: loses power; tear: keeps a torn prefix of unsynced writes)", args: argTear | argPower,
		apply: func(t Target, f Fault, skip func(string)) {
			nodes, err := t.Resolve(SelBrokers)
			if err != nil {
				skip(err.Error())
				return
			}
			for _, n := range nodes {
				switch {
				case f.Power:
					n.PowerLoss(f.Tear)
				case n.Up():
					_ = n.Crash()
				}
			}
		},
		// Every target is hurt, by design: MaxFaulty does not bound it.
		draw: func(d *draw) (Fault, []string, bool) {
			return Fault{Kind: AllBrokers, Power: d.r.IntN(2) == 0, Tear: d.n.Tear}, slices.Clone(d.n.Targets), true
		},
		heal:    func(Fault) Fault { return Fault{Kind: Restart, Nodes: []string{SelBrokers}} },
		simpler: simplerBy(untorn, unpowered),
	},
	{
		kind: AddPartitions, doc: "raise a topic's partition count (CreatePartitions, as kafka-topics --alter --partitions does); keyed records hash over the new count", args: argTopic,
		apply: func(t Target, f Fault, skip func(string)) {
			a, ok := t.(PartitionAdder)
			if !ok {
				skip("this target cannot add partitions")
				return
			}
			if err := a.AddPartitions(f.Topic, f.Partitions); err != nil {
				skip(err.Error())
			}
		},
	},
	{
		kind: Delay, doc: "hold the next count (default 1) messages of the named Kafka APIs from from to to (either left out: any node) for hold; the messages sent after them on the same connection go through, and a held message survives its connection breaking (it waits in the destination's queue) but not the destination going down",
		args: argFromTo | argDelay, anyEnd: true,
		check: func(f Fault, bad func(string, ...any)) {
			if len(f.Messages) == 0 {
				bad("messages: delay needs the Kafka APIs whose messages it holds: accepted are %s", strings.Join(Messages, ", "))
			}
			for _, m := range f.Messages {
				if !slices.Contains(Messages, m) {
					bad("messages: unknown Kafka API %q: accepted are %s", m, strings.Join(Messages, ", "))
				}
			}
			if f.Hold <= 0 {
				bad("hold: delay needs how long to hold the messages, above 0 (such as \"10s\"), got %v", time.Duration(f.Hold))
			}
			if f.Count < 0 {
				bad("count: %d is negative: give how many messages to hold (1 or more; 0 is 1)", f.Count)
			}
		},
		apply: func(t Target, f Fault, skip func(string)) {
			h := network.Hold{Kinds: f.Messages, For: time.Duration(f.Hold), Count: max(f.Count, 1)}
			for _, end := range []struct {
				sel string
				ids *[]sim.NodeID
			}{{f.From, &h.From}, {f.To, &h.To}} {
				if end.sel == "" {
					continue
				}
				nodes, err := t.Resolve(end.sel)
				if err != nil || len(nodes) == 0 {
					skip(fmt.Sprintf("no node matches %s now (%v)", end.sel, err))
					return
				}
				for _, n := range nodes {
					*end.ids = append(*end.ids, n.ID())
				}
			}
			if err := t.Net().Hold(h); err != nil {
				skip(err.Error())
			}
		},
		// Drawn only when asked for (it is never among a hunt's default
		// kinds): a request to a victim, or a response from it, held for
		// the fault's length.
		draw: func(d *draw) (Fault, []string, bool) {
			msgs := d.n.DelayMessages
			if len(msgs) == 0 {
				msgs = DelayDrawn
			}
			m := msgs[d.r.IntN(len(msgs))]
			f := Fault{Kind: Delay, Messages: []string{m}, Hold: Duration(d.length)}
			if strings.HasSuffix(m, "Response") {
				f.From = d.victims[0]
			} else {
				f.To = d.victims[0]
			}
			return f, d.victims[:1], true
		},
		simpler: func(f Fault) []Fault {
			var out []Fault
			if f.Count > 1 {
				c := f
				c.Count = 1
				out = append(out, c)
			}
			if len(f.Messages) > 1 {
				for i := range f.Messages {
					c := f
					c.Messages = slices.Delete(slices.Clone(f.Messages), i, i+1)
					out = append(out, c)
				}
			}
			return out
		},
	},
	{
		kind: Leave, doc: "close the consumer of each client node as its application does on shutdown (KafkaConsumer.close: commit with enable.auto.commit, LeaveGroup, so the group rebalances at once instead of after session.timeout.ms) and exit once both are answered; restart boots it again as a new member",
		args: argNodes,
		apply: onNodes(func(_ Fault, n *sim.Node) error {
			p, ok := n.Process().(leaver)
			if !ok || !n.Up() {
				return fmt.Errorf("cannot leave on node %s: it runs no consumer (it is %s)", n.Name(), n.State())
			}
			inc := n.Incarnation()
			if !p.Leave(func() {
				// Exit from the kernel, not from inside the node's
				// own callback.
				n.Sim().After(0, "fault.leave-exit", func() {
					if n.Up() && n.Incarnation() == inc {
						_ = n.Crash()
					}
				})
			}) {
				return fmt.Errorf("cannot leave on node %s: it runs no consumer", n.Name())
			}
			return nil
		}),
		simpler: fewerNodes,
	},
	{
		kind: ControllerPartition, doc: "cut nodes off from the controllers (in ZooKeeper mode from the ensemble and the active controller) while they still reach every other node: a broker that misses its heartbeats is fenced but keeps fetching and serving on stale metadata",
		args: argNodes, net: cutsLinks,
		apply: func(t Target, f Fault, skip func(string)) {
			nodes, err := resolveAll(t, f.Nodes)
			if err != nil || len(nodes) == 0 {
				skip(fmt.Sprintf("no node to cut off from the controllers (%v)", err))
				return
			}
			var side, control []sim.NodeID
			for _, n := range nodes {
				side = append(side, n.ID())
			}
			for _, id := range controlPlane(t) {
				if !slices.Contains(side, id) {
					control = append(control, id)
				}
			}
			if len(control) == 0 {
				skip(fmt.Sprintf("no controller outside %s", strings.Join(f.Nodes, ",")))
				return
			}
			if err := t.Net().Partition(side, control); err != nil {
				skip(err.Error())
			}
		},
		// Drawn only when asked for (appended to the table, it is never
		// among a hunt's default kinds).
		draw: drawOnVictims(ControllerPartition), heal: func(Fault) Fault { return Fault{Kind: ControllerHeal} }, simpler: fewerNodes,
	},
	{
		kind: ControllerHeal, doc: "open every link between the controllers (in ZooKeeper mode the ensemble and the active controller) and the other nodes, and no other link: the heal of controller-partition",
		apply: func(t Target, _ Fault, skip func(string)) {
			control := controlPlane(t)
			if len(control) == 0 {
				skip("no controller")
				return
			}
			for _, c := range control {
				for _, n := range t.Sim().Nodes() {
					if n.ID() == c {
						continue
					}
					if err := t.Net().HealLink(c, n.ID()); err != nil {
						skip(err.Error())
						return
					}
					_ = t.Net().HealLink(n.ID(), c)
				}
			}
		},
	},
}

// controlPlane resolves the nodes a controller-partition cuts brokers off
// from: the controllers, or in ZooKeeper mode the ensemble and the active
// controller.
func controlPlane(t Target) []sim.NodeID {
	sels := []string{SelControllers, SelZooKeepers}
	if zk, _ := t.Resolve(SelZooKeepers); len(zk) > 0 {
		sels = append(sels, SelController)
	}
	var out []sim.NodeID
	for _, sel := range sels {
		nodes, err := t.Resolve(sel)
		if err != nil {
			continue
		}
		for _, n := range nodes {
			if !slices.Contains(out, n.ID()) {
				out = append(out, n.ID())
			}
		}
	}
	return out
}

// A leaver is a client process whose consumer can leave its group
// cleanly (client.Process).
type leaver interface {
	Leave(exit func()) bool
}

// Messages are the Kafka APIs whose messages a delay fault may hold, by
// Kafka's names: each request, and its response with "Response" appended.
var Messages = func() []string {
	apis := []string{"Produce", "Fetch", "ListOffsets", "Metadata", "OffsetCommit", "OffsetFetch", "FindCoordinator",
		"JoinGroup", "Heartbeat", "LeaveGroup", "SyncGroup", "InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn",
		"EndTxn", "WriteTxnMarkers", "TxnOffsetCommit", "OffsetsForLeaderEpoch", "DeleteRecords", "CreatePartitions",
		"AlterPartition", "BrokerRegistration", "BrokerHeartbeat", "LeaderAndIsr", "UpdateMetadata", "StopReplica",
		"ControlledShutdown"}
	out := make([]string, 0, 2*len(apis))
	for _, a := range apis {
		out = append(out, a, a+"Response")
	}
	return out
}()

// DelayDrawn are the messages the nemesis draws delay faults of: those
// whose late arrival Kafka's known bugs turn on (a Produce past its
// transaction's marker, KAFKA-14402; an EndTxn past the next
// transaction's start, KAFKA-17754; a fetch response past a leader
// change, KAFKA-7128), and the transaction markers.
var DelayDrawn = []string{"Produce", "EndTxn", "FetchResponse", "WriteTxnMarkers", "AddPartitionsToTxn"}

// A PartitionAdder is a Target that can raise a topic's partition count,
// as an operator's kafka-topics --alter --partitions would; the
// add-partitions kind needs one. The outcome comes later, through the
// cluster (an error here means the request could not be sent).
type PartitionAdder interface {
	AddPartitions(topic string, count int) error
}

// Kinds lists every fault kind, in documentation order.
var Kinds = func() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}()

// Marks lists the coverage marks faults fire: one per kind, such as
// "fault.crash", counting every fault of the kind that fired, applied or
// skipped.
var Marks = func() []sim.MarkInfo {
	out := make([]sim.MarkInfo, len(kinds))
	for i, k := range kinds {
		out[i] = sim.MarkInfo{Name: "fault." + string(k.kind), Meaning: "a " + string(k.kind) + " fault fired: " + k.doc}
	}
	return out
}()

// spec returns the table's row for k.
func spec(k Kind) (*kindSpec, bool) {
	for i := range kinds {
		if kinds[i].kind == k {
			return &kinds[i], true
		}
	}
	return nil, false
}

// Doc says in one line what a kind of fault does ("" for an unknown kind).
func (k Kind) Doc() string {
	if s, ok := spec(k); ok {
		return s.doc
	}
	return ""
}

// Drawable reports whether the nemesis can draw k at random.
func (k Kind) Drawable() bool {
	s, ok := spec(k)
	return ok && s.draw != nil
}

// CutsLinks reports whether k blocks links of the network (a partition,
// isolation, bridge, ring or cut), which a heal opens again.
func (k Kind) CutsLinks() bool {
	s, ok := spec(k)
	return ok && s.net == cutsLinks
}

// OpensLinks reports whether k opens every link the network's faults
// blocked.
func (k Kind) OpensLinks() bool {
	s, ok := spec(k)
	return ok && s.net == opensLinks
}

// netEffect is what a fault kind does to the network's links.
type netEffect uint8

const (
	noLinks netEffect = iota
	cutsLinks
	opensLinks
)

// args is a set of the fields of a Fault that a kind takes.
type args uint8

const (
	argNodes args = 1 << iota
	argGroups
	argFromTo
	argTear
	argPower
	argClock
	argTopic
	argDelay
)

// fields describes each optional field of a Fault, in the order errors
// name them: whether a fault sets it, and what to say when a kind that
// does not take it is given it.
var fields = []struct {
	arg     args
	set     func(Fault) bool
	refused func(k Kind, takers string) string
}{
	{argNodes, func(f Fault) bool { return len(f.Nodes) > 0 }, func(k Kind, _ string) string { return fmt.Sprintf("nodes: %s takes no nodes", k) }},
	{argGroups, func(f Fault) bool { return len(f.Groups) > 0 }, func(k Kind, _ string) string { return fmt.Sprintf("groups: %s takes no groups", k) }},
	{argFromTo, func(f Fault) bool { return f.From != "" || f.To != "" }, func(_ Kind, takers string) string {
		return fmt.Sprintf("from/to: only %s take from and to", takers)
	}},
	{argTear, func(f Fault) bool { return f.Tear }, func(_ Kind, takers string) string {
		return fmt.Sprintf("tear: only %s can tear writes", takers)
	}},
	{argPower, func(f Fault) bool { return f.Power }, func(_ Kind, takers string) string {
		return fmt.Sprintf("power: only %s takes power (use the power-loss kind otherwise)", takers)
	}},
	{argClock, func(f Fault) bool { return f.Skew != 0 || f.Drift != 0 }, func(_ Kind, takers string) string {
		return fmt.Sprintf("skew/drift_ppm: only %s takes them", takers)
	}},
	{argTopic, func(f Fault) bool { return f.Topic != "" || f.Partitions != 0 }, func(_ Kind, takers string) string {
		return fmt.Sprintf("topic/partitions: only %s takes them", takers)
	}},
	{argDelay, func(f Fault) bool { return len(f.Messages) > 0 || f.Hold != 0 || f.Count != 0 }, func(_ Kind, takers string) string {
		return fmt.Sprintf("messages/hold/count: only %s takes them", takers)
	}},
}

// takers names the kinds that take a field: "power-loss and all-brokers-down".
func takers(a args) string {
	var ks []string
	for _, k := range kinds {
		if k.args&a != 0 {
			ks = append(ks, string(k.kind))
		}
	}
	return strings.Join(ks, " and ")
}

// A groupShape is what the groups of a kind must look like.
type groupShape struct {
	want string // for errors: "at least two groups"
	fits func(groups [][]string) bool
	// noRest, if set, says which groups may not be "rest".
	noRest func(gi int) bool
}

// onNodes installs a fault that acts on each of its nodes in turn.
func onNodes(do func(f Fault, n *sim.Node) error) func(Target, Fault, func(string)) {
	return func(t Target, f Fault, skip func(string)) {
		nodes, err := resolveAll(t, f.Nodes)
		if err != nil {
			skip(err.Error())
			return
		}
		if len(nodes) == 0 {
			skip("no node matches " + strings.Join(f.Nodes, ","))
			return
		}
		for _, n := range nodes {
			if err := do(f, n); err != nil {
				skip(err.Error())
			}
		}
	}
}

// onGroups installs a fault that acts on its groups, resolved when it fires.
func onGroups(do func(t Target, groups [][]sim.NodeID) error) func(Target, Fault, func(string)) {
	return func(t Target, f Fault, skip func(string)) {
		groups, err := resolveGroups(t, f.Groups)
		if err == nil {
			err = do(t, groups)
		}
		if err != nil {
			skip(err.Error())
		}
	}
}

// A draw is what a kind's draw function works with: the knobs, the
// random stream, and the targets chosen to be hurt (sorted).
type draw struct {
	n       *Nemesis
	r       *rand.Rand
	victims []string
	length  time.Duration // how long the fault lasts
}

// drawOnVictims draws a fault of kind k on the chosen victims.
func drawOnVictims(k Kind) func(d *draw) (Fault, []string, bool) {
	return func(d *draw) (Fault, []string, bool) { return Fault{Kind: k, Nodes: d.victims}, d.victims, true }
}

// healNodesWith undoes a fault on nodes with a fault of kind k on the same
// nodes.
func healNodesWith(k Kind) func(Fault) Fault {
	return func(f Fault) Fault { return Fault{Kind: k, Nodes: f.Nodes} }
}

// healLinks undoes a network fault.
func healLinks(Fault) Fault { return Fault{Kind: Heal} }

// simplerBy joins several ways of simplifying a fault.
func simplerBy(ways ...func(Fault) []Fault) func(Fault) []Fault {
	return func(f Fault) []Fault {
		var out []Fault
		for _, w := range ways {
			out = append(out, w(f)...)
		}
		return out
	}
}

// fewerNodes: the fault with one of its nodes fewer.
func fewerNodes(f Fault) []Fault {
	if len(f.Nodes) < 2 {
		return nil
	}
	out := make([]Fault, len(f.Nodes))
	for i := range f.Nodes {
		out[i] = f
		out[i].Nodes = slices.Delete(slices.Clone(f.Nodes), i, i+1)
	}
	return out
}

// fewerGroups: a partition with two of its groups (beyond two) merged.
func fewerGroups(f Fault) []Fault {
	if len(f.Groups) < 3 {
		return nil
	}
	var out []Fault
	for i := 0; i+1 < len(f.Groups); i++ {
		g := slices.Clone(f.Groups)
		g[i] = slices.Concat(g[i], g[i+1])
		g = slices.Delete(g, i+1, i+2)
		c := f
		c.Groups = g
		out = append(out, c)
	}
	return out
}

// untorn: a power loss that keeps no torn prefix.
func untorn(f Fault) []Fault {
	if !f.Tear {
		return nil
	}
	f.Tear = false
	return []Fault{f}
}

// unpowered: every broker crashes rather than losing power.
func unpowered(f Fault) []Fault {
	if !f.Power {
		return nil
	}
	f.Power, f.Tear = false, false
	return []Fault{f}
}

// oneClockChange: a clock fault with only its skew, or only its drift.
func oneClockChange(f Fault) []Fault {
	if f.Skew == 0 || f.Drift == 0 {
		return nil
	}
	skew, drift := f, f
	skew.Drift, drift.Skew = 0, 0
	return []Fault{skew, drift}
}

// HealOf returns the fault that undoes f, as the nemesis heals it (a
// restart after a crash, a resume after a pause, a heal after a network
// fault, a reset after a clock change); ok is false for a kind the
// nemesis does not draw.
func HealOf(f Fault) (heal Fault, ok bool) {
	s, found := spec(f.Kind)
	if !found || s.heal == nil {
		// Unknown, or a kind that ends by itself (delay).
		return Fault{}, false
	}
	return s.heal(f), true
}
