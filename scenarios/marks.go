package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/txn"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// scenarioMarks are the marks a run fires itself, for the states only the
// whole cluster shows.
var scenarioMarks = []sim.MarkInfo{
	{Name: "scenario.all-brokers-down", Meaning: "every broker was down at once"},
	{Name: "scenario.rebalance-during-partition", Meaning: "a consumer group rebalanced while the network was partitioned"},
}

// markRegistry is every mark, sorted by name: the tables beside each
// package's marks, joined.
var markRegistry = func() []sim.MarkInfo {
	out := slices.Concat(broker.Marks, client.Marks, controller.Marks, group.Marks, txn.Marks, kraft.Marks, zookeeper.Marks, fault.Marks, scenarioMarks, buggifyMarks)
	for _, m := range checker.Marks {
		out = append(out, sim.MarkInfo(m))
	}
	slices.SortStableFunc(out, func(a, b sim.MarkInfo) int { return cmp.Compare(a.Name, b.Name) })
	return out
}()

// Marks returns the registry of every coverage mark the code can fire,
// sorted by name, each with what reaching it shows. A scenario's
// expect.marks may name these only.
func Marks() []sim.MarkInfo { return slices.Clone(markRegistry) }

// KnownMark reports whether name is a registered coverage mark.
func KnownMark(name string) bool {
	_, ok := slices.BinarySearchFunc(markRegistry, name, func(m sim.MarkInfo, name string) int { return cmp.Compare(m.Name, name) })
	return ok
}

// unknownMark explains that name is no mark, naming the registered marks
// nearest to it.
func unknownMark(name string) string {
	type near struct {
		name string
		d    int
	}
	var ns []near
	for _, m := range markRegistry {
		ns = append(ns, near{m.Name, editDistance(name, m.Name)})
	}
	slices.SortStableFunc(ns, func(a, b near) int { return cmp.Compare(a.d, b.d) })
	var best []string
	for _, n := range ns[:min(3, len(ns))] {
		best = append(best, n.name)
	}
	return fmt.Sprintf("unknown mark %q: the nearest registered marks are %s (kafkasim scenarios --marks lists all %d)",
		name, strings.Join(best, ", "), len(markRegistry))
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1]
			if a[i-1] != b[j-1] {
				sub++
			}
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// A State is an interesting state a sweep counts: a sweep that never
// reaches one says so, its faults too gentle to test it.
type State struct {
	Name    string
	Meaning string
	// Marks are the registered marks that show a run reached the state
	// (any one of them).
	Marks []string
}

// States lists the interesting states coverage counts, in the order
// reports show them. Each names registered marks only.
var States = []State{
	{"isr-shrunk-to-one", "a leader shrank the ISR to itself", []string{"broker.isr.shrunk-to-one"}},
	{"truncation-on-divergence", "a follower truncated a log that diverged from its leader's",
		[]string{"broker.truncate.diverging-epoch", "broker.truncate.offsets-for-leader-epoch", "broker.truncate.legacy-offsets-for-leader-epoch"}},
	{"unclean-election", "a leader was elected from outside the ISR", []string{"controller.election.unclean", "broker.zk.controller.unclean-election"}},
	{"all-brokers-down", "every broker was down at once", []string{"scenario.all-brokers-down"}},
	{"controller-failover", "another controller took over", []string{"controller.failover", "broker.zk.controller.failover"}},
	{"zombie-leader-fenced", "a leader cut off from the controller was fenced", []string{"broker.fetch.FENCED_LEADER_EPOCH", "broker.zombie-fenced"}},
	{"rebalance-during-partition", "a consumer group rebalanced during a network partition", []string{"scenario.rebalance-during-partition"}},
	{"isr-member-lost-data", "an ISR member restarted without data it had", []string{"checker.isr-member-lost-data"}},
}
