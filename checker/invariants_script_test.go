package checker_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// invEnv runs the invariant scripts under testdata/invariants: a fake
// cluster view that each verb changes, and the invariants watching it.
// Each verb is one small method.
type invEnv struct {
	view         *fakeView
	perPartition bool
	inv          *checker.Invariants
	now          time.Duration
	seen         int // findings already printed
}

// The scripts run twice: with a view that has only a global version, and
// with one that also versions each partition; the output must not differ.
func TestInvariantScripts(t *testing.T) {
	for _, perPartition := range []bool{false, true} {
		t.Run(fmt.Sprintf("partition-versions=%v", perPartition), func(t *testing.T) {
			datadriven.Walk(t, "testdata/invariants", func(t *testing.T, path string) {
				e := &invEnv{view: newFakeView(), perPartition: perPartition}
				e.reset(false, nil)
				datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
					out, err := e.handle(d)
					if err != nil {
						return "error: " + err.Error() + "\n"
					}
					return out
				})
			})
		})
	}
}

func (e *invEnv) reset(cont bool, variants []string) {
	e.inv = checker.NewInvariants(checker.InvariantConfig{Run: checker.Run{Seed: 42, Replay: "kafkasim replay run.json"}, Continue: cont, Variants: variants})
	var view model.ClusterView = e.view
	if e.perPartition {
		view = partitionVersioned{e.view}
	}
	e.inv.Attach(view, func() time.Duration { return e.now }, nil)
	e.seen = 0
}

func (e *invEnv) handle(d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "invariants":
		var variants []string
		if v, ok := args(d)["variant"]; ok {
			variants = []string{v}
		}
		e.reset(d.HasArg("continue"), variants)
		return "ok\n", nil
	case "partition":
		return e.partition(d)
	case "replica":
		return e.replica(d)
	case "freeze":
		e.view.frozen = d.HasArg("on") || len(d.CmdArgs) == 0
		return "ok\n", nil
	case "check":
		return e.check(d)
	case "ack":
		return e.ack(d)
	case "truncated":
		return e.truncated(d)
	case "power-lost":
		var id int32
		if err := int32Arg(args(d), "id", &id); err != nil {
			return "", err
		}
		e.inv.PowerLost(id)
		return "ok\n", nil
	case "final":
		var b strings.Builder
		for _, f := range e.inv.Final() {
			b.WriteString(f.Short() + "\n")
		}
		e.seen = len(e.inv.Findings())
		return orOK(b.String()), nil
	case "findings":
		var b strings.Builder
		for _, f := range e.inv.Findings() {
			fmt.Fprintf(&b, "%s [%s] %s\n", f.Name, f.Class, f.Where())
		}
		return orOK(b.String()), nil
	case "stats":
		read, skipped := e.inv.Checks()
		return fmt.Sprintf("read %d, skipped %d\n", read, skipped), nil
	}
	return "", fmt.Errorf("unknown verb %q", d.Cmd)
}

func orOK(s string) string {
	if s == "" {
		return "ok\n"
	}
	return s
}

// args parses key=value arguments into a map; bare words map to "".
func args(d *datadriven.TestData) map[string]string {
	m := make(map[string]string)
	for _, a := range d.CmdArgs {
		if len(a.Vals) == 0 {
			m[a.Key] = ""
		} else {
			m[a.Key] = strings.Join(a.Vals, ",")
		}
	}
	return m
}

func int32Arg(m map[string]string, key string, into *int32) error {
	if s, ok := m[key]; ok {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil {
			return fmt.Errorf("%s=%q: %v", key, s, err)
		}
		*into = int32(n)
	}
	return nil
}

func int64Arg(m map[string]string, key string, into *int64) error {
	if s, ok := m[key]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%s=%q: %v", key, s, err)
		}
		*into = n
	}
	return nil
}

func idsArg(m map[string]string, key string, into *[]int32) error {
	if s, ok := m[key]; ok {
		ids, err := parseIDs(s)
		if err != nil {
			return err
		}
		*into = ids
	}
	return nil
}

// partition tp=t-0 replicas=1,2,3 isr=1,2,3 elr= lastelr= leader=1 epoch=1 pepoch=1 recovering
func (e *invEnv) partition(d *datadriven.TestData) (string, error) {
	m := args(d)
	tp, err := parseTP(m["tp"])
	if err != nil {
		return "", err
	}
	p := e.view.part(tp)
	md := p.md
	md.Recovering = false
	for _, err := range []error{
		idsArg(m, "replicas", &md.Replicas), idsArg(m, "isr", &md.ISR), idsArg(m, "elr", &md.ELR), idsArg(m, "lastelr", &md.LastKnownELR),
		int32Arg(m, "leader", &md.Leader), int32Arg(m, "epoch", &md.LeaderEpoch), int32Arg(m, "pepoch", &md.PartitionEpoch),
	} {
		if err != nil {
			return "", err
		}
	}
	_, md.Recovering = m["recovering"]
	p.md, p.hasMD = md, true
	e.view.touch(tp)
	return "ok\n", nil
}

// replica tp=t-0 id=1 [leader|follower] [epoch=] [hwm=] [start=] [log=a,b@2]
// [append=c,d] [truncate=N] [isr=1,2] [offline|online] [restart] [lso=N]
// [open=<producer id>@<first offset>,...]
func (e *invEnv) replica(d *datadriven.TestData) (string, error) {
	m := args(d)
	tp, err := parseTP(m["tp"])
	if err != nil {
		return "", err
	}
	var id int32
	if err := int32Arg(m, "id", &id); err != nil {
		return "", err
	}
	r := e.view.replica(tp, id)
	if _, ok := m["leader"]; ok {
		r.leader = true
	}
	if _, ok := m["follower"]; ok {
		r.leader = false
	}
	if _, ok := m["offline"]; ok {
		r.online = false
	}
	if _, ok := m["online"]; ok {
		r.online = true
	}
	if _, ok := m["restart"]; ok {
		r.online, r.leader = true, false
		r.incarnation++
	}
	for _, err := range []error{int32Arg(m, "epoch", &r.epoch), int64Arg(m, "hwm", &r.hwm), int64Arg(m, "start", &r.start), idsArg(m, "isr", &r.isr),
		int64Arg(m, "lso", &r.lso)} {
		if err != nil {
			return "", err
		}
	}
	if s, ok := m["open"]; ok {
		if r.open, err = parseOpenTxns(s); err != nil {
			return "", err
		}
	}
	if s, ok := m["log"]; ok {
		if r.entries, err = parseEntries(s, r.start, max(r.epoch, 1)); err != nil {
			return "", err
		}
	}
	if s, ok := m["truncate"]; ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", err
		}
		for len(r.entries) > 0 && r.entries[len(r.entries)-1].Offset >= n {
			r.entries = r.entries[:len(r.entries)-1]
		}
	}
	if s, ok := m["append"]; ok {
		more, err := parseEntries(s, r.LogEndOffset(), max(r.epoch, 1))
		if err != nil {
			return "", err
		}
		r.entries = append(r.entries, more...)
	}
	e.view.touch(tp)
	return "ok\n", nil
}

// check [at=5s]: runs the invariants; prints new findings and whether the
// run stops.
func (e *invEnv) check(d *datadriven.TestData) (string, error) {
	m := args(d)
	if s, ok := m["at"]; ok {
		at, err := time.ParseDuration(s)
		if err != nil {
			return "", err
		}
		e.now = at
	}
	err := e.inv.Check()
	out := e.fresh()
	if err != nil {
		var f *checker.Finding
		if !errors.As(err, &f) {
			return "", fmt.Errorf("check returned %v, which is not a finding", err)
		}
		out += "stop: " + f.Name + "\n"
	}
	return orOK(out), nil
}

// fresh prints the findings made since the last print.
func (e *invEnv) fresh() string {
	fs := e.inv.Findings()
	var b strings.Builder
	for _, f := range fs[e.seen:] {
		b.WriteString(f.Short() + "\n")
	}
	e.seen = len(fs)
	return b.String()
}

// ack tp=t-0 leader=1 epoch=1 first=0 last=1 isr=1,2,3
func (e *invEnv) ack(d *datadriven.TestData) (string, error) {
	m := args(d)
	tp, err := parseTP(m["tp"])
	if err != nil {
		return "", err
	}
	var leader, epoch int32
	var first, last int64
	var isr []int32
	for _, err := range []error{int32Arg(m, "leader", &leader), int32Arg(m, "epoch", &epoch), int64Arg(m, "first", &first),
		int64Arg(m, "last", &last), idsArg(m, "isr", &isr)} {
		if err != nil {
			return "", err
		}
	}
	e.inv.Acked(tp, leader, epoch, first, last, isr)
	return orOK(e.fresh()), nil
}

// truncated tp=t-0 id=2 from=3 to=5 reason=diverging-epoch
func (e *invEnv) truncated(d *datadriven.TestData) (string, error) {
	m := args(d)
	tp, err := parseTP(m["tp"])
	if err != nil {
		return "", err
	}
	var id int32
	var from, to int64
	for _, err := range []error{int32Arg(m, "id", &id), int64Arg(m, "from", &from), int64Arg(m, "to", &to)} {
		if err != nil {
			return "", err
		}
	}
	e.inv.Truncated(tp, id, from, to, m["reason"])
	return orOK(e.fresh()), nil
}

var _ model.Observer = (*checker.Invariants)(nil)
