// Package fault describes fault schedules as plain data — timed crashes,
// power losses, restarts, pauses, partitions of any shape, one-way cuts,
// heals, disk losses, clock changes, and an operator's partition increase
// (add-partitions) — validates them, installs them into
// a simulation, generates random ones from explicit knobs (the nemesis),
// and shrinks failing ones to a minimal schedule.
//
// A schedule is JSON:
//
//	[
//	  {"at": "5s",  "kind": "crash", "nodes": ["leader(orders-0)"]},
//	  {"at": "8s",  "kind": "partition", "groups": [["b1", "b2"], ["b3"]]},
//	  {"at": "20s", "kind": "heal"},
//	  {"at": "25s", "kind": "restart", "nodes": ["b1"]}
//	]
//
// Nodes are named directly ("b1") or by selector: "brokers", "controllers",
// "all", and the dynamic selectors the simulation resolves when the fault
// fires, such as "leader(orders-0)" (the broker leading that partition) and
// "controller" (the active controller).
package fault

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Duration is a time.Duration written in JSON as a string such as "1.5s".
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string such as "250ms" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration string such as \"1.5s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration: write it like \"250ms\", \"1.5s\" or \"2m\"", s)
	}
	*d = Duration(v)
	return nil
}

// A Fault is one timed event of a schedule. Which fields apply depends on
// the kind; Validate says what each kind needs.
type Fault struct {
	At     Duration   `json:"at"`
	Kind   Kind       `json:"kind"`
	Nodes  []string   `json:"nodes,omitempty"`  // crash, power-loss, restart, pause, resume, disk-loss, isolate, clock
	Groups [][]string `json:"groups,omitempty"` // partition: the groups; bridge: [side, [bridge], side]; ring: [ring order]; names, selectors, or rest
	From   string     `json:"from,omitempty"`   // cut, delay: a node or selector
	To     string     `json:"to,omitempty"`     // cut, delay: a node or selector
	Tear   bool       `json:"tear,omitempty"`   // power-loss, all-brokers-down: keep a torn prefix of unsynced writes
	Power  bool       `json:"power,omitempty"`  // all-brokers-down: lose power rather than crash
	Skew   Duration   `json:"skew,omitempty"`   // clock
	Drift  int64      `json:"drift_ppm,omitempty"`
	// Topic and Partitions: add-partitions raises Topic's partition
	// count to Partitions.
	Topic      string `json:"topic,omitempty"`
	Partitions int    `json:"partitions,omitempty"`
	// Messages, Hold and Count: delay holds the next Count (default 1)
	// messages of the Kafka APIs Messages ("Produce", "EndTxn",
	// "FetchResponse", ...) sent from From to To for Hold.
	Messages []string `json:"messages,omitempty"`
	Hold     Duration `json:"hold,omitempty"`
	Count    int      `json:"count,omitempty"`
}

// Time returns the fault's time.
func (f Fault) Time() time.Duration { return time.Duration(f.At) }

func (f Fault) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %s", time.Duration(f.At), f.Kind)
	if len(f.Nodes) > 0 {
		fmt.Fprintf(&b, " %s", strings.Join(f.Nodes, ","))
	}
	for i, g := range f.Groups {
		if i > 0 {
			b.WriteString(" |")
		}
		fmt.Fprintf(&b, " %s", strings.Join(g, ","))
	}
	if f.From != "" || f.To != "" {
		from, to := f.From, f.To
		if f.Kind == Delay {
			from, to = cmp.Or(from, "any"), cmp.Or(to, "any")
		}
		fmt.Fprintf(&b, " %s->%s", from, to)
	}
	if f.Tear {
		b.WriteString(" tear")
	}
	if f.Power {
		b.WriteString(" power")
	}
	if f.Topic != "" || f.Partitions != 0 {
		fmt.Fprintf(&b, " %s to %d partitions", f.Topic, f.Partitions)
	}
	if len(f.Messages) > 0 || f.Hold != 0 || f.Count != 0 {
		fmt.Fprintf(&b, " %s held %v", strings.Join(f.Messages, ","), time.Duration(f.Hold))
		if f.Count > 1 {
			fmt.Fprintf(&b, " count=%d", f.Count)
		}
	}
	if s, ok := spec(f.Kind); ok && s.args&argClock != 0 {
		fmt.Fprintf(&b, " skew=%v drift=%dppm", time.Duration(f.Skew), f.Drift)
	}
	return b.String()
}

// A Schedule is a list of faults, kept sorted by time (faults at the same
// time keep their order).
type Schedule []Fault

// Sorted returns the schedule sorted by time, stably.
func (s Schedule) Sorted() Schedule {
	out := slices.Clone(s)
	slices.SortStableFunc(out, func(a, b Fault) int { return int(a.At - b.At) })
	return out
}

func (s Schedule) String() string {
	lines := make([]string, len(s))
	for i, f := range s {
		lines[i] = f.String()
	}
	return strings.Join(lines, "\n")
}

// Names says which node names and selectors a schedule may use.
type Names struct {
	Brokers     []string
	Controllers []string
	// ZooKeepers are the ZooKeeper servers of a ZooKeeper-mode cluster.
	ZooKeepers []string
	Clients    []string
	// Partitions lists the topic-partitions ("orders-0") that dynamic
	// selectors such as leader(orders-0) may name.
	Partitions []string
	// Topics gives the scenario's topics their partition counts at the
	// start, which add-partitions may only raise.
	Topics map[string]int
}

// Static selectors name fixed sets of nodes.
const (
	SelBrokers     = "brokers"
	SelControllers = "controllers"
	SelAll         = "all"
	SelController  = "controller" // the active controller, resolved when the fault fires
	// SelClients is every client node of the workload (producers,
	// consumers, transactional producers).
	SelClients = "clients"
	// SelStandbyController is a running controller that is not the
	// active one (KRaft mode), resolved when the fault fires.
	SelStandbyController = "standby-controller"
	// SelZooKeepers is every ZooKeeper server; SelZooKeeperLeader the
	// ensemble's leader, resolved when the fault fires.
	SelZooKeepers      = "zookeepers"
	SelZooKeeperLeader = "zookeeper-leader"
	// SelRest, in a group of a partition or bridge, stands for every node
	// not in another group when the fault fires.
	SelRest = "rest"
)

// dynamicSelectors take a partition argument: leader(t-0) is the broker
// leading t-0, follower(t-0) one replica that follows, when the fault fires.
var dynamicSelectors = []string{"leader", "follower"}

func (n Names) known(name string) bool {
	return slices.Contains(n.Brokers, name) || slices.Contains(n.Controllers, name) || slices.Contains(n.ZooKeepers, name) ||
		slices.Contains(n.Clients, name)
}

func (n Names) all() []string {
	return slices.Concat(n.Brokers, n.Controllers, n.ZooKeepers, n.Clients)
}

// isSelector reports whether s is a selector rather than a node name:
// selectors may stand for several nodes, or none, when the fault fires.
func isSelector(s string) bool {
	switch s {
	case SelBrokers, SelControllers, SelAll, SelController, SelStandbyController, SelRest, SelZooKeepers, SelZooKeeperLeader, SelClients:
		return true
	}
	return strings.HasSuffix(s, ")")
}

// checkNode validates one node name or selector.
func (n Names) checkNode(s string) error {
	if n.known(s) {
		return nil
	}
	switch s {
	case SelBrokers, SelControllers, SelAll, SelController, SelClients:
		return nil
	case SelStandbyController:
		if len(n.ZooKeepers) == 0 {
			return nil
		}
		return fmt.Errorf("selector %q names a KRaft controller: the cluster runs in ZooKeeper mode", s)
	case SelZooKeepers, SelZooKeeperLeader:
		if len(n.ZooKeepers) > 0 {
			return nil
		}
		return fmt.Errorf("selector %q names ZooKeeper servers: the cluster runs in KRaft mode (set cluster.metadata to \"zookeeper\")", s)
	}
	for _, sel := range dynamicSelectors {
		if arg, ok := strings.CutPrefix(s, sel+"("); ok {
			arg, ok = strings.CutSuffix(arg, ")")
			if !ok || arg == "" {
				return fmt.Errorf("selector %q: write %s(<topic>-<partition>), such as %s(orders-0)", s, sel, sel)
			}
			if !slices.Contains(n.Partitions, arg) {
				return fmt.Errorf("selector %q names unknown partition %q: known partitions are %s", s, arg, strings.Join(n.Partitions, ", "))
			}
			return nil
		}
	}
	return fmt.Errorf("unknown node %q: accepted are the nodes %s, the selectors brokers, controllers, all, controller, clients, zookeepers and zookeeper-leader (ZooKeeper mode), and leader(<partition>), follower(<partition>)",
		s, strings.Join(n.all(), ", "))
}

// Validate checks a schedule against the node names of a scenario and its
// end time, and returns every problem found, each naming the fault by its
// index (faults[3]) and field.
func (s Schedule) Validate(names Names, end time.Duration) error {
	var errs []error
	for i, f := range s {
		if err := f.validate(names, end); err != nil {
			errs = append(errs, fmt.Errorf("faults[%d] (%s): %w", i, f.Kind, err))
		}
	}
	errs = append(errs, s.validateIncreases(names)...)
	return errors.Join(errs...)
}

// validateIncreases checks that every add-partitions raises its topic's
// partition count, in time order from the count the topic starts with:
// Kafka only ever adds partitions, and refuses a count at or below the
// current one with INVALID_PARTITIONS.
func (s Schedule) validateIncreases(names Names) []error {
	var errs []error
	counts := maps.Clone(names.Topics)
	order := make([]int, len(s))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s[a].At, s[b].At) })
	for _, i := range order {
		f := s[i]
		if f.Kind != AddPartitions || f.Topic == "" || f.Partitions < 1 {
			continue
		}
		cur, ok := counts[f.Topic]
		if !ok {
			continue // validate named the unknown topic
		}
		switch {
		case f.Partitions < cur:
			errs = append(errs, fmt.Errorf("faults[%d] (%s): partitions: INVALID_PARTITIONS: The topic %s currently has %d partition(s); %d would not be an increase.",
				i, f.Kind, f.Topic, cur, f.Partitions))
		case f.Partitions == cur:
			errs = append(errs, fmt.Errorf("faults[%d] (%s): partitions: INVALID_PARTITIONS: Topic already has %d partition(s).", i, f.Kind, cur))
		default:
			counts[f.Topic] = f.Partitions
		}
	}
	return errs
}

func (f Fault) validate(names Names, end time.Duration) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if f.At < 0 {
		bad("at %v is negative: faults happen at or after the start of the run", time.Duration(f.At))
	}
	if end > 0 && time.Duration(f.At) > end {
		bad("at %v is after the end of the run (%v)", time.Duration(f.At), end)
	}
	k, ok := spec(f.Kind)
	if !ok {
		var ks []string
		for _, k := range Kinds {
			ks = append(ks, string(k))
		}
		bad("unknown kind %q: accepted are %s", f.Kind, strings.Join(ks, ", "))
		return errors.Join(errs...)
	}
	for _, fd := range fields {
		if k.args&fd.arg == 0 && fd.set(f) {
			bad("%s", fd.refused(f.Kind, takers(fd.arg)))
		}
	}
	if k.args&argNodes != 0 {
		if len(f.Nodes) == 0 {
			bad("nodes: %s needs at least one node", f.Kind)
		}
		seen := map[string]bool{}
		for _, n := range f.Nodes {
			if err := names.checkNode(n); err != nil {
				bad("nodes: %v", err)
			}
			if seen[n] {
				bad("nodes: %q is named twice", n)
			}
			seen[n] = true
		}
	}
	if k.args&argGroups != 0 {
		f.validateGroups(k.groups, names, bad)
	}
	if k.args&argTopic != 0 {
		switch _, known := names.Topics[f.Topic]; {
		case f.Topic == "":
			bad("topic: %s needs a topic", f.Kind)
		case !known:
			bad("topic: unknown topic %q: the scenario's topics are %s", f.Topic, strings.Join(slices.Sorted(maps.Keys(names.Topics)), ", "))
		}
		if f.Partitions < 1 {
			bad("partitions: %s needs the new partition count (1 or more), got %d", f.Kind, f.Partitions)
		}
	}
	if k.args&argFromTo != 0 {
		for _, end := range []struct{ field, v string }{{"from", f.From}, {"to", f.To}} {
			if end.v == "" {
				if !k.anyEnd {
					bad("%s: %s needs a node", end.field, f.Kind)
				}
			} else if err := names.checkNode(end.v); err != nil {
				bad("%s: %v", end.field, err)
			}
		}
		if f.From != "" && f.From == f.To {
			bad("from and to are both %q: a %s needs two nodes", f.From, f.Kind)
		}
	}
	if k.check != nil {
		k.check(f, bad)
	}
	return errors.Join(errs...)
}

// validateGroups checks the groups of a partition, bridge or ring: their
// shape, that each names known nodes or selectors, that no node is in two,
// and where rest may stand.
func (f Fault) validateGroups(shape *groupShape, names Names, bad func(string, ...any)) {
	if !shape.fits(f.Groups) {
		bad("groups: %s needs %s", f.Kind, shape.want)
	}
	seen := map[string]int{}
	rests := 0
	for gi, g := range f.Groups {
		if len(g) == 0 {
			bad("groups[%d] is empty", gi)
		}
		for _, n := range g {
			if n == SelRest {
				rests++
				if shape.noRest != nil && shape.noRest(gi) {
					bad("groups[%d]: rest stands for a side of a partition or bridge, not for a ring or a bridge node", gi)
				}
				continue
			}
			if err := names.checkNode(n); err != nil {
				bad("groups[%d]: %v", gi, err)
			}
			if prev, dup := seen[n]; dup {
				bad("groups: node %q is in groups[%d] and groups[%d]: a node belongs to one group", n, prev, gi)
			}
			seen[n] = gi
		}
	}
	if rests > 1 {
		bad("groups: rest is named %d times: one group at most takes the nodes no other group names", rests)
	}
}

// Parse reads a schedule from JSON, rejecting unknown fields, and validates
// it. name (a file name) prefixes every error.
func Parse(name string, data []byte, names Names, end time.Duration) (Schedule, error) {
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var s Schedule
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, describeJSONError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("%s: unexpected data after the schedule's closing bracket", name)
	}
	if err := s.Validate(names, end); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// describeJSONError adds a line and column to JSON errors that carry an
// offset.
func describeJSONError(data []byte, err error) error {
	var off int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	if off < 0 {
		return err
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}
