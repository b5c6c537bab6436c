package checker

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// Class says what kind of problem a finding is, so that reports can
// separate lost acknowledged data from what the configuration allows.
type Class uint8

// The classes of findings, most serious first.
const (
	// DataLoss: acknowledged (acks=all) or committed records are gone.
	DataLoss Class = iota + 1
	// Consistency: clients saw something Kafka's contract forbids under
	// any configuration: reads that disagree, skipped or reordered
	// records, a read of a definitely failed write.
	Consistency
	// Invariant: a cluster invariant broke (a protocol bug, in Kafka or
	// in the simulation).
	Invariant
	// Expected: an anomaly the configuration in use allows: the loss of an
	// acks=1 write, a duplicate from a producer without idempotence,
	// divergence after an unclean election.
	Expected
	// Note: worth knowing, not wrong: acknowledged writes nobody read
	// by the end, an ISR member that restarted without its data.
	Note
	// Incomplete: a check ran out of its budget before it could decide.
	// Nothing wrong was found, but the run is not known to be right.
	Incomplete
)

var classNames = [...]string{DataLoss: "data-loss", Consistency: "consistency", Invariant: "invariant", Expected: "expected", Note: "note",
	Incomplete: "incomplete"}

func (c Class) String() string {
	if int(c) < len(classNames) && classNames[c] != "" {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Bad reports whether findings of the class mean the run is not ok: it
// found data loss, a consistency anomaly or a broken invariant, or a check
// could not decide.
func (c Class) Bad() bool {
	return c == DataLoss || c == Consistency || c == Invariant || c == Incomplete
}

// Run identifies the run being checked, so that every finding can say how
// to replay it.
type Run struct {
	Seed uint64
	// Replay is a one-line command that replays the run, such as
	// "kafkasim replay run.jsonl".
	Replay string
}

// RunOf returns the run a history's header names.
func RunOf(h *history.History) Run { return Run{Seed: h.Header.Seed, Replay: h.Header.Replay} }

// A Finding is one anomaly or broken invariant: its name (Jepsen's where
// one fits: lost-write, duplicate, inconsistent-offsets, poll-skip,
// nonmonotonic-poll, nonmonotonic-send, G1a, ...), its class, where and
// when it happened, the values and operations involved, and how to
// replay the run.
type Finding struct {
	Name  string
	Class Class
	// TP is the partition involved; Group the consumer group, for
	// committed offsets.
	TP    model.TopicPartition
	Group string
	// Offsets, Values and Brokers involved, most important first.
	Offsets []int64
	Values  []model.Bytes
	Brokers []int32
	// Ops are the ids of the history's operations involved.
	Ops []int64
	// At is the simulated time at which the problem became visible; Step
	// the kernel step, for findings made while the simulation ran.
	At   time.Duration
	Step uint64
	// Message says what happened, in one line.
	Message string
	Seed    uint64
	Replay  string
}

// Where names the finding's location: its partition (and group) and
// offsets.
func (f *Finding) Where() string {
	var parts []string
	if f.Group != "" {
		parts = append(parts, "group "+f.Group)
	}
	if f.TP.Topic != "" {
		parts = append(parts, f.TP.String())
	}
	switch n := len(f.Offsets); {
	case n == 1:
		parts = append(parts, fmt.Sprintf("offset %d", f.Offsets[0]))
	case n > 1:
		parts = append(parts, "offsets "+offsetRanges(f.Offsets))
	}
	return strings.Join(parts, " ")
}

// Short renders the finding without the seed and replay command, for
// contexts that print those already (the kernel's failure).
func (f *Finding) Short() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s [%s]", f.Name, f.Class)
	if w := f.Where(); w != "" {
		b.WriteString(" " + w)
	}
	fmt.Fprintf(&b, " at %v: %s", f.At, f.Message)
	return b.String()
}

// String renders the finding on one line, with the seed, the simulated
// time and the command that replays the run.
func (f *Finding) String() string {
	replay := f.Replay
	if replay == "" {
		replay = "(no replay command was given)"
	}
	return fmt.Sprintf("%s (seed %d, at %v; replay: %s)", f.Short(), f.Seed, f.At, replay)
}

// Error makes a finding an error: its String.
func (f *Finding) Error() string { return f.String() }

// offsetRanges renders sorted offsets as "3..5, 9".
func offsetRanges(os []int64) string {
	var parts []string
	for i := 0; i < len(os); {
		j := i
		for j+1 < len(os) && os[j+1] == os[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d..%d", os[i], os[j]))
		} else {
			parts = append(parts, strconv.FormatInt(os[i], 10))
		}
		i = j + 1
	}
	const most = 6
	if len(parts) > most {
		parts = append(parts[:most], fmt.Sprintf("... (%d offsets)", len(os)))
	}
	return strings.Join(parts, ", ")
}

// sortFindings orders findings by time, then class, name, partition and
// offset, so that output is the same on every run.
func sortFindings(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.At, b.At),
			cmp.Compare(a.Class, b.Class),
			strings.Compare(a.Name, b.Name),
			strings.Compare(a.Group, b.Group),
			a.TP.Compare(b.TP),
			cmp.Compare(first(a.Offsets), first(b.Offsets)),
		)
	})
}

func first(os []int64) int64 {
	if len(os) == 0 {
		return -1
	}
	return os[0]
}

// A Count is how many findings share a name and class.
type Count struct {
	Name  string
	Class Class
	Count int
}

// Summarize counts findings by class and name, most serious class first.
func Summarize(fs []Finding) []Count {
	m := make(map[Count]int)
	for _, f := range fs {
		m[Count{Name: f.Name, Class: f.Class}]++
	}
	out := make([]Count, 0, len(m))
	for k, n := range m {
		k.Count = n
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Class, b.Class), strings.Compare(a.Name, b.Name))
	})
	return out
}

// Bad returns the findings whose class means a problem.
func Bad(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Class.Bad() {
			out = append(out, f)
		}
	}
	return out
}

// merge joins runs of findings that differ only by consecutive offsets
// (one finding per lost batch, not per record). Findings must be sorted
// by partition and offset within each name.
func merge(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.Name == f.Name && p.Class == f.Class && p.TP == f.TP && p.Group == f.Group &&
				len(p.Offsets) > 0 && len(f.Offsets) > 0 && f.Offsets[0] == p.Offsets[len(p.Offsets)-1]+1 {
				p.Offsets = append(p.Offsets, f.Offsets[0])
				p.Values = append(p.Values, f.Values...)
				p.Ops = append(p.Ops, f.Ops...)
				p.At = min(p.At, f.At)
				continue
			}
		}
		out = append(out, f)
	}
	for i := range out {
		if k := len(out[i].Offsets); k > 1 {
			out[i].Message += fmt.Sprintf("; %d consecutive offsets are affected alike (%s)", k, offsetRanges(out[i].Offsets))
		}
		slices.Sort(out[i].Ops)
		out[i].Ops = slices.Compact(out[i].Ops)
	}
	return out
}
