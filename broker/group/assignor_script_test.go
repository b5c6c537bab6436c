package group

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/model"
)

// The scripts under testdata/assignors carry the cases of Kafka's own
// assignor tests (RangeAssignorTest, RoundRobinAssignorTest,
// AbstractStickyAssignorTest, StickyAssignorTest,
// CooperativeStickyAssignorTest): each case names the Kafka test it
// mirrors, sets up the group, runs the assignor and states what Kafka's
// test asserts with expect and check. The output after each assign is
// kafkasim's answer; expect and check print "ok" where it agrees with
// Kafka's assertion and what differs otherwise. A case that differs must
// say why in its input ("differs: ..."), and tally prints, per file, how
// many cases agree.

// assignorScript is the state of one script.
type assignorScript struct {
	t       *testing.T
	topics  map[string]int32
	members []Member
	// last is the latest assignment, before the members it was computed
	// from; withheld is what the cooperative protocol left out of it.
	last     map[string][]model.TopicPartition
	before   []Member
	withheld []model.TopicPartition
	saved    map[string]map[string][]model.TopicPartition

	// The current case: its name, whether it declared a difference from
	// Kafka, and whether one showed.
	name     string
	declared string
	differs  []string
	// Every case of the file, and those that agree with Kafka.
	cases, agree int
	reference    map[string][2]int
}

var assignorVerbs = map[string]func(s *assignorScript, d *datadriven.TestData) string{
	"case":        (*assignorScript).startCase,
	"topics":      (*assignorScript).setTopics,
	"drop-topics": (*assignorScript).dropTopics,
	"join":        (*assignorScript).join,
	"leave":       (*assignorScript).leave,
	"generate":    (*assignorScript).generate,
	"assign":      (*assignorScript).assign,
	"sync":        (*assignorScript).sync,
	"settle":      (*assignorScript).settle,
	"expect":      (*assignorScript).expect,
	"check":       (*assignorScript).check,
	"tally":       (*assignorScript).tally,
}

// TestKafkaAssignorCases runs Kafka's assignor test cases; rerun with
//
//	go test ./broker/group -run TestKafkaAssignorCases -v
func TestKafkaAssignorCases(t *testing.T) {
	datadriven.Walk(t, "testdata/assignors", func(t *testing.T, path string) {
		s := &assignorScript{t: t, reference: map[string][2]int{}}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			h, ok := assignorVerbs[d.Cmd]
			if !ok {
				d.Fatalf(t, "unknown command %q: the commands are %s", d.Cmd, strings.Join(slices.Sorted(maps.Keys(assignorVerbs)), ", "))
			}
			if s.name == "" && d.Cmd != "case" && d.Cmd != "tally" {
				d.Fatalf(t, "%s before case: start every case with case name=<KafkaTest>.<method>", d.Cmd)
			}
			s.t = t
			return h(s, d)
		})
		s.endCase()
	})
}

func (s *assignorScript) startCase(d *datadriven.TestData) string {
	s.endCase()
	var name string
	d.ScanArgs(s.t, "name", &name)
	if !strings.Contains(name, ".") {
		d.Fatalf(s.t, "case name %q: give the Kafka test as <class>.<method>", name)
	}
	s.name, s.declared, s.differs = name, "", nil
	s.topics, s.members, s.last, s.before, s.withheld = map[string]int32{}, nil, nil, nil, nil
	s.saved = map[string]map[string][]model.TopicPartition{}
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		if r, ok := strings.CutPrefix(line, "differs:"); ok {
			s.declared = strings.TrimSpace(r)
		} else if strings.TrimSpace(line) != "" {
			d.Fatalf(s.t, "case input %q: only a line \"differs: <why kafkasim deliberately differs>\" is accepted", line)
		}
	}
	return ""
}

// endCase counts the case just finished and fails the test when a case
// differs from Kafka without saying why, or says it differs but agrees.
func (s *assignorScript) endCase() {
	if s.name == "" {
		return
	}
	ref := s.name[:strings.Index(s.name, ".")]
	n := s.reference[ref]
	n[0]++
	s.cases++
	switch {
	case len(s.differs) == 0 && s.declared == "":
		n[1]++
		s.agree++
	case len(s.differs) > 0 && s.declared == "":
		s.t.Errorf("%s differs from Kafka: %s; fix it or declare the difference with \"differs: <why>\"", s.name, strings.Join(s.differs, "; "))
	case len(s.differs) == 0:
		s.t.Errorf("%s declares a difference from Kafka (%s) but agrees with it", s.name, s.declared)
	}
	s.reference[ref] = n
	s.name = ""
}

func (s *assignorScript) tally(d *datadriven.TestData) string {
	s.endCase()
	var b strings.Builder
	for _, ref := range slices.Sorted(maps.Keys(s.reference)) {
		n := s.reference[ref]
		fmt.Fprintf(&b, "%s: %d cases, %d agree with Kafka\n", ref, n[0], n[1])
	}
	return b.String()
}

func (s *assignorScript) setTopics(d *datadriven.TestData) string {
	for _, a := range d.CmdArgs {
		n, err := strconv.Atoi(a.SingleVal(s.t))
		if err != nil || n < 0 {
			d.Fatalf(s.t, "topics %s=%s: give each topic's partition count, 0 or more", a.Key, a.Vals[0])
		}
		s.topics[a.Key] = int32(n)
	}
	return ""
}

func (s *assignorScript) dropTopics(d *datadriven.TestData) string {
	for _, a := range d.CmdArgs {
		delete(s.topics, a.Key)
	}
	return ""
}

// parseTPs reads partitions as Kafka prints them (topic-partition), or
// <saved>.<member> for what a saved assignment gave a member ("last" is
// the latest).
func (s *assignorScript) parseTPs(d *datadriven.TestData, list []string) []model.TopicPartition {
	var out []model.TopicPartition
	for _, x := range list {
		x = strings.TrimSpace(x)
		if x == "" || x == "none" {
			continue
		}
		if name, member, ok := strings.Cut(x, "."); ok {
			a, ok := s.saved[name]
			if !ok {
				d.Fatalf(s.t, "%s: no assignment saved as %q (assign name=%s saves one)", x, name, name)
			}
			out = append(out, a[member]...)
			continue
		}
		i := strings.LastIndex(x, "-")
		p, err := strconv.Atoi(x[i+1:])
		if i <= 0 || err != nil {
			d.Fatalf(s.t, "partition %q: write partitions as topic-N, or <saved>.<member>", x)
		}
		out = append(out, model.TopicPartition{Topic: x[:i], Partition: int32(p)})
	}
	return out
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// join adds members or replaces them, one a line:
// <member> [instance=<id>] [topics=a,b] [owned=t-0,t-1] [generation=N].
func (s *assignorScript) join(d *datadriven.TestData) string {
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		m := Member{ID: f[0], Generation: -1}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "instance":
				m.InstanceID = v
			case "topics":
				m.Topics = splitList(v)
			case "owned":
				m.Owned = s.parseTPs(d, splitList(v))
			case "generation":
				g, err := strconv.Atoi(v)
				if err != nil {
					d.Fatalf(s.t, "%s: generation %q is not a number", line, v)
				}
				m.Generation = int32(g)
			default:
				d.Fatalf(s.t, "%s: unknown %q; accepted are instance=, topics=, owned=, generation=", line, kv)
			}
		}
		if i := slices.IndexFunc(s.members, func(o Member) bool { return o.ID == m.ID }); i >= 0 {
			s.members[i] = m
		} else {
			s.members = append(s.members, m)
		}
	}
	return ""
}

func (s *assignorScript) leave(d *datadriven.TestData) string {
	for _, a := range d.CmdArgs {
		s.members = slices.DeleteFunc(s.members, func(m Member) bool { return m.ID == a.Key })
	}
	return ""
}

// generate builds the large groups of Kafka's scale tests: topics t0..
// with the given partitions each, and consumers c0.. subscribing to all
// of them, except as subscription says: "last-one-topic" (the last
// consumer subscribes to the first topic only) or "quarters" (every
// fourth consumer subscribes to the first half of the topics, the others
// to the second half).
func (s *assignorScript) generate(d *datadriven.TestData) string {
	var topics, partitions, consumers int
	d.ScanArgs(s.t, "topics", &topics)
	d.ScanArgs(s.t, "partitions", &partitions)
	d.ScanArgs(s.t, "consumers", &consumers)
	sub := "uniform"
	d.MaybeScanArgs(s.t, "subscription", &sub)
	var names []string
	for i := range topics {
		names = append(names, fmt.Sprintf("t%d", i))
		s.topics[names[i]] = int32(partitions)
	}
	for i := range consumers {
		m := Member{ID: fmt.Sprintf("c%d", i), Topics: names, Generation: -1}
		switch sub {
		case "uniform":
		case "last-one-topic":
			if i == consumers-1 {
				m.Topics = names[:1]
			}
		case "quarters":
			if i%4 == 0 {
				m.Topics = names[:topics/2]
			} else {
				m.Topics = names[topics/2:]
			}
		default:
			d.Fatalf(s.t, "subscription=%s: accepted are uniform, last-one-topic, quarters", sub)
		}
		s.members = append(s.members, m)
	}
	return ""
}

// assign runs an assignor over the group: assign assignor=<name>
// [name=<saved>] [print=counts].
func (s *assignorScript) assign(d *datadriven.TestData) string {
	var name string
	d.ScanArgs(s.t, "assignor", &name)
	a, err := AssignorByName(name)
	if err != nil {
		d.Fatalf(s.t, "%v", err)
	}
	s.before = slices.Clone(s.members)
	s.last = a.Assign(s.topics, s.members)
	s.withheld = nil
	if a.Protocol() == Cooperative {
		s.withheld = withheldBy(s.topics, s.members)
	}
	s.saved["last"] = s.last
	var save string
	if d.MaybeScanArgs(s.t, "name", &save) {
		s.saved[save] = s.last
	}
	return s.print(d)
}

// withheldBy returns what the cooperative-sticky assignor leaves out.
func withheldBy(partitions map[string]int32, members []Member) []model.TopicPartition {
	in := newStickyInput(partitions, members)
	var out []model.TopicPartition
	for id, tps := range in.assign() {
		for _, tp := range tps {
			if in.withheld(tp, id) {
				out = append(out, tp)
			}
		}
	}
	slices.SortFunc(out, model.TopicPartition.Compare)
	return out
}

func (s *assignorScript) print(d *datadriven.TestData) string {
	var b strings.Builder
	counts := d.HasArg("print")
	for _, id := range slices.Sorted(maps.Keys(s.last)) {
		if counts {
			fmt.Fprintf(&b, "%s: %d\n", id, len(s.last[id]))
			continue
		}
		fmt.Fprintf(&b, "%s:%s\n", id, tpList(s.last[id]))
	}
	if len(s.withheld) > 0 {
		fmt.Fprintf(&b, "withheld:%s\n", tpList(s.withheld))
	}
	return b.String()
}

func tpList(tps []model.TopicPartition) string {
	var b strings.Builder
	for _, tp := range tps {
		fmt.Fprintf(&b, " %s-%d", tp.Topic, tp.Partition)
	}
	return b.String()
}

// sync makes every member (but those listed in except=) own what the last
// assignment gave it, in the given generation (1 unless said), as Kafka's
// tests build the next round's subscriptions.
func (s *assignorScript) sync(d *datadriven.TestData) string {
	gen := 1
	d.MaybeScanArgs(s.t, "generation", &gen)
	var except []string
	if a, ok := d.Arg("except"); ok {
		except = a.Vals
	}
	for i := range s.members {
		if slices.Contains(except, s.members[i].ID) {
			continue
		}
		s.members[i].Owned = slices.Clone(s.last[s.members[i].ID])
		s.members[i].Generation = int32(gen)
	}
	return ""
}

// settle completes a cooperative rebalance as Kafka's
// CooperativeStickyAssignorTest does before it checks an assignment:
// while a member lost a partition it owned, members own what they got (in
// generation 1) and the assignor runs again, at most 4 more rounds.
func (s *assignorScript) settle(d *datadriven.TestData) string {
	rounds := 0
	for s.revoking() {
		if rounds == 4 {
			d.Fatalf(s.t, "still revoking after 4 follow-up rebalances")
		}
		for i := range s.members {
			s.members[i].Owned = slices.Clone(s.last[s.members[i].ID])
			s.members[i].Generation = 1
		}
		s.before = slices.Clone(s.members)
		s.last = CooperativeSticky{}.Assign(s.topics, s.members)
		s.withheld = withheldBy(s.topics, s.members)
		rounds++
	}
	s.saved["last"] = s.last
	return fmt.Sprintf("follow-up rebalances: %d\n", rounds) + s.print(d)
}

func (s *assignorScript) revoking() bool {
	for _, m := range s.members {
		for _, tp := range m.Owned {
			if !slices.Contains(s.last[m.ID], tp) {
				return true
			}
		}
	}
	return false
}

// expect states what Kafka's test asserts of the last assignment, one a
// line: "<member>: <partitions>" (exactly these), "<member>: size N",
// "<member>: includes <partitions>", "<member>: within <partitions>",
// "<member>: overlaps <partitions>", "<member>: between MIN MAX",
// "<member>: count TOPIC N" (N partitions of TOPIC), "withheld:
// <partitions>"; "*" as the member applies the line to every member.
func (s *assignorScript) expect(d *datadriven.TestData) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		who, what, ok := strings.Cut(line, ":")
		if !ok {
			d.Fatalf(s.t, "expect %q: write <member>: <what Kafka asserts>", line)
		}
		if who == "*" {
			for _, id := range slices.Sorted(maps.Keys(s.last)) {
				s.expectLine(d, &b, id, line, strings.Fields(what))
			}
			continue
		}
		s.expectLine(d, &b, who, line, strings.Fields(what))
	}
	return b.String()
}

func (s *assignorScript) expectLine(d *datadriven.TestData, b *strings.Builder, who, line string, f []string) {
	got := s.last[who]
	if who == "withheld" {
		got = s.withheld
	} else if _, ok := s.last[who]; !ok {
		d.Fatalf(s.t, "expect %q: %s is not in the assignment", line, who)
	}
	var fail string
	verb := ""
	if len(f) > 0 {
		verb = f[0]
	}
	switch verb {
	case "size":
		if len(f) != 2 {
			d.Fatalf(s.t, "expect %q: write size N", line)
		}
		if n, _ := strconv.Atoi(f[1]); n != len(got) {
			fail = fmt.Sprintf("Kafka expects %d partitions, got %d", n, len(got))
		}
	case "between":
		if len(f) != 3 {
			d.Fatalf(s.t, "expect %q: write between MIN MAX", line)
		}
		lo, _ := strconv.Atoi(f[1])
		hi, _ := strconv.Atoi(f[2])
		if len(got) < lo || len(got) > hi {
			fail = fmt.Sprintf("Kafka expects %d to %d partitions, got %d", lo, hi, len(got))
		}
	case "count":
		if len(f) != 3 {
			d.Fatalf(s.t, "expect %q: write count TOPIC N", line)
		}
		n, _ := strconv.Atoi(f[2])
		if c := countTopic(got, f[1]); c != n {
			fail = fmt.Sprintf("Kafka expects %d partitions of %s, got %d", n, f[1], c)
		}
	case "includes", "within", "overlaps":
		want := s.parseTPs(d, f[1:])
		switch {
		case verb == "includes" && !subset(want, got):
			fail = fmt.Sprintf("Kafka expects it to include%s, got%s", tpList(want), tpList(got))
		case verb == "within" && !subset(got, want):
			fail = fmt.Sprintf("Kafka expects it within%s, got%s", tpList(want), tpList(got))
		case verb == "overlaps" && !slices.ContainsFunc(got, func(tp model.TopicPartition) bool { return slices.Contains(want, tp) }):
			fail = fmt.Sprintf("Kafka expects it to share a partition with%s, got%s", tpList(want), tpList(got))
		}
	default:
		want := s.parseTPs(d, f)
		if !subset(want, got) || !subset(got, want) {
			fail = fmt.Sprintf("Kafka expects%s, got%s", tpList(sorted(want)), tpList(sorted(got)))
		}
	}
	if strings.HasPrefix(line, "*") {
		line = who + line[1:]
	}
	if fail == "" {
		fmt.Fprintf(b, "ok: %s\n", line)
		return
	}
	s.differs = append(s.differs, who+": "+fail)
	fmt.Fprintf(b, "differs: %s: %s\n", line, fail)
}

func countTopic(tps []model.TopicPartition, topic string) int {
	n := 0
	for _, tp := range tps {
		if tp.Topic == topic {
			n++
		}
	}
	return n
}

func sorted(tps []model.TopicPartition) []model.TopicPartition {
	out := slices.Clone(tps)
	slices.SortFunc(out, model.TopicPartition.Compare)
	return out
}

func subset(a, b []model.TopicPartition) bool {
	for _, tp := range a {
		if !slices.Contains(b, tp) {
			return false
		}
	}
	return true
}

// check tests the properties Kafka's tests assert of the last assignment:
// valid (each partition to one member, subscribed to its topic), complete
// (every partition of a subscribed topic assigned), balanced (Kafka's
// rule: two members whose numbers of partitions differ by two or more
// share no topic), fully-balanced (the numbers differ by at most one),
// sticky (no two members swapped partitions of one topic).
func (s *assignorScript) check(d *datadriven.TestData) string {
	var b strings.Builder
	for _, a := range d.CmdArgs {
		var fail string
		switch a.Key {
		case "valid":
			fail = s.checkValid()
		case "complete":
			fail = s.checkComplete()
		case "balanced":
			fail = s.checkBalanced()
		case "fully-balanced":
			lo, hi := -1, 0
			for _, tps := range s.last {
				if lo < 0 || len(tps) < lo {
					lo = len(tps)
				}
				hi = max(hi, len(tps))
			}
			if hi-lo > 1 {
				fail = fmt.Sprintf("members hold between %d and %d partitions", lo, hi)
			}
		case "sticky":
			fail = s.checkSticky()
		default:
			d.Fatalf(s.t, "check %s: accepted are valid, complete, balanced, fully-balanced, sticky", a.Key)
		}
		if fail == "" {
			fmt.Fprintf(&b, "ok: %s\n", a.Key)
			continue
		}
		s.differs = append(s.differs, a.Key+": "+fail)
		fmt.Fprintf(&b, "differs: %s: %s\n", a.Key, fail)
	}
	return b.String()
}

func (s *assignorScript) member(id string) (Member, bool) {
	i := slices.IndexFunc(s.before, func(m Member) bool { return m.ID == id })
	if i < 0 {
		return Member{}, false
	}
	return s.before[i], true
}

func (s *assignorScript) checkValid() string {
	seen := map[model.TopicPartition]string{}
	for _, id := range slices.Sorted(maps.Keys(s.last)) {
		m, ok := s.member(id)
		if !ok {
			return id + " is not a member"
		}
		for _, tp := range s.last[id] {
			if !slices.Contains(m.Topics, tp.Topic) {
				return fmt.Sprintf("%s-%d went to %s, which does not subscribe to %s", tp.Topic, tp.Partition, id, tp.Topic)
			}
			if other, dup := seen[tp]; dup {
				return fmt.Sprintf("%s-%d went to %s and %s", tp.Topic, tp.Partition, other, id)
			}
			seen[tp] = id
		}
	}
	return ""
}

func (s *assignorScript) checkComplete() string {
	seen := map[model.TopicPartition]bool{}
	for _, tps := range s.last {
		for _, tp := range tps {
			seen[tp] = true
		}
	}
	for _, t := range slices.Sorted(maps.Keys(s.topics)) {
		if !slices.ContainsFunc(s.before, func(m Member) bool { return slices.Contains(m.Topics, t) }) {
			continue
		}
		for p := range s.topics[t] {
			if !seen[model.TopicPartition{Topic: t, Partition: p}] {
				return fmt.Sprintf("%s-%d is not assigned", t, p)
			}
		}
	}
	return ""
}

func (s *assignorScript) checkBalanced() string {
	ids := slices.Sorted(maps.Keys(s.last))
	for i, a := range ids {
		for _, b := range ids[i+1:] {
			na, nb := len(s.last[a]), len(s.last[b])
			if na-nb <= 1 && nb-na <= 1 {
				continue
			}
			for _, tp := range s.last[a] {
				if slices.ContainsFunc(s.last[b], func(o model.TopicPartition) bool { return o.Topic == tp.Topic }) {
					return fmt.Sprintf("%s holds %d partitions and %s %d, both of topic %s", a, na, b, nb, tp.Topic)
				}
			}
		}
	}
	return ""
}

// checkSticky looks at the partitions that moved from a member that owned
// them and still subscribes to their topic: no topic may have moved both
// from a to b and from b to a.
func (s *assignorScript) checkSticky() string {
	in := newStickyInput(s.topics, s.before)
	moved := map[string]map[[2]string]bool{}
	for id, tps := range s.last {
		for _, tp := range tps {
			from, ok := in.owner[tp]
			if !ok || from == id {
				continue
			}
			if m, _ := s.member(from); !slices.Contains(m.Topics, tp.Topic) {
				continue
			}
			if moved[tp.Topic] == nil {
				moved[tp.Topic] = map[[2]string]bool{}
			}
			moved[tp.Topic][[2]string{from, id}] = true
		}
	}
	for _, t := range slices.Sorted(maps.Keys(moved)) {
		for p := range moved[t] {
			if moved[t][[2]string{p[1], p[0]}] {
				return fmt.Sprintf("%s and %s swapped partitions of %s", p[0], p[1], t)
			}
		}
	}
	return ""
}
