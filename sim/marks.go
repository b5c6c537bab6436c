package sim

import (
	"maps"
	"slices"
)

// MarkInfo documents one coverage mark. Every package that marks keeps a
// table of its marks beside its code (a Marks variable), and a test holds
// every Mark call of the tree to those tables, so that a scenario's
// expected marks can be checked by name.
type MarkInfo struct {
	Name    string // such as "broker.truncate.diverging-epoch"
	Meaning string // what reaching it shows, in one line
}

// Mark counts that the run reached a named code path, such as
// "broker.truncate.diverging-epoch" or "controller.election.unclean". Marks
// are coverage, not behaviour: they never enter the trace hash. Tests assert
// on them to prove they exercised the rare path that explains why some code
// exists; sweeps report how often each was reached.
func (s *Sim) Mark(name string) {
	if s.marks == nil {
		s.marks = make(map[string]uint64)
	}
	s.marks[name]++
}

// Marked returns how many times the named mark was reached.
func (s *Sim) Marked(name string) uint64 { return s.marks[name] }

// Marks returns every mark reached, by name.
func (s *Sim) Marks() map[string]uint64 { return maps.Clone(s.marks) }

// MarkNames returns the names of the marks reached, sorted.
func (s *Sim) MarkNames() []string { return slices.Sorted(maps.Keys(s.marks)) }
