package cluster_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// TestScripts runs the interaction scripts under testdata/scripts: a whole cluster
// (KRaft controllers and brokers) driven by faults and admin requests,
// with the controller's decisions printed as they happen. Each verb is one
// small handler (script_handlers_test.go), in the manner of etcd-raft's
// interaction tests; `go test ./broker/cluster -run TestScripts -rewrite`
// regenerates the output, which must then be read before it is committed.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/scripts", func(t *testing.T, path string) {
		s := &script{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := s.handle(d)
			if err != nil {
				return out + "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

// script is one script's cluster and what it has printed so far.
type script struct {
	s     *sim.Sim
	net   *network.Network
	c     *cluster.Cluster
	obs   *observer
	out   []string
	kinds map[string]bool
}

type handler func(s *script, a args, d *datadriven.TestData) (string, error)

var verbs map[string]handler

func init() {
	verbs = map[string]handler{
		"cluster":         (*script).cluster,
		"topic":           (*script).topic,
		"produce":         (*script).produce,
		"fetch":           (*script).fetch,
		"run":             (*script).run,
		"describe":        (*script).describe,
		"print":           (*script).print,
		"crash":           (*script).node,
		"power-loss":      (*script).node,
		"restart":         (*script).node,
		"pause":           (*script).node,
		"resume":          (*script).node,
		"lose-disk":       (*script).node,
		"shutdown":        (*script).shutdown,
		"partition":       (*script).partition,
		"isolate":         (*script).partition,
		"heal":            (*script).partition,
		"link":            (*script).link,
		"disconnect":      (*script).disconnect,
		"elect":           (*script).elect,
		"alter-partition": (*script).alterPartition,
		"admin":           (*script).admin,
		"alter-config":    (*script).alterConfig,
		"delete-topic":    (*script).deleteTopic,
		"marks":           (*script).marks,
		"trace":           (*script).trace,
		"delete-records":  (*script).deleteRecords,
		"list-offsets":    (*script).listOffsets,
		"log-starts":      (*script).logStarts,
	}
}

func (s *script) handle(d *datadriven.TestData) (string, error) {
	h, ok := verbs[d.Cmd]
	if !ok {
		return "", fmt.Errorf("unknown command %q: known are %s", d.Cmd, strings.Join(slices.Sorted(maps.Keys(verbs)), ", "))
	}
	if s.c == nil && d.Cmd != "cluster" {
		return "", fmt.Errorf("%s before cluster: start a script with `cluster`", d.Cmd)
	}
	a := args{}
	for _, arg := range d.CmdArgs {
		a[arg.Key] = strings.Join(arg.Vals, ",")
	}
	return h(s, a, d)
}

// args are a command's key=value arguments.
type args map[string]string

func (a args) str(k, def string) string {
	if v, ok := a[k]; ok {
		return v
	}
	return def
}

func (a args) has(k string) bool {
	_, ok := a[k]
	return ok
}

func (a args) int(k string, def int64) (int64, error) {
	v, ok := a[k]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a whole number", k, v)
	}
	return n, nil
}

func (a args) duration(k string, def time.Duration) (time.Duration, error) {
	v, ok := a[k]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a duration such as 500ms or 10s", k, v)
	}
	return d, nil
}

func (a args) tp() (model.TopicPartition, error) {
	if v, ok := a["partition"]; ok && strings.Contains(v, "-") {
		return cluster.ParsePartition(v)
	}
	p, err := a.int("partition", 0)
	return model.TopicPartition{Topic: a.str("topic", "t"), Partition: int32(p)}, err
}

// logf adds a line to what the current command prints.
func (s *script) logf(format string, args ...any) {
	s.out = append(s.out, fmt.Sprintf(format, args...))
}

func (s *script) flush() string {
	var b strings.Builder
	for _, l := range s.out {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	s.out = s.out[:0]
	return b.String()
}

// at formats a simulated time in milliseconds, as the scripts print it.
func at(d time.Duration) string {
	return fmt.Sprintf("%.3fs", d.Seconds())
}

// defaultKinds are the trace records scripts print as they happen: the
// controllers' decisions, broker lifecycle changes that matter, and
// truncations.
var defaultKinds = []string{
	"controller.active", "controller.inactive", "controller.fence", "controller.broker-state",
	"controller.register", "controller.partition-change", "controller.alter-partition.rejected",
	"broker.recovering", "node.crash", "node.start", "node.power-loss", "node.pause", "node.resume",
	"node.disk-loss",
	// ZooKeeper mode: the controller's elections, writes and fencing, and
	// the brokers' sessions and refusals.
	"broker.zk.controller.active", "broker.zk.controller.resigned", "broker.zk.controller.state",
	"broker.zk.controller.brokers", "broker.zk.controller.zombie", "broker.zk.controller.zombie-write",
	"broker.zk.stale-controller-epoch", "broker.zk.stale-broker-epoch", "broker.zk.leader-epoch-not-newer",
	"broker.zk.registered", "broker.zk.isr-update-skipped", "broker.zk.stop-replica",
}

// observer prints what brokers tell model.Observer.
type observer struct{ s *script }

func (o *observer) Acked(tp model.TopicPartition, leader, epoch int32, first, last int64, isr []int32) {
}

func (o *observer) Truncated(tp model.TopicPartition, b int32, from, to int64, reason string) {
	if to < 0 {
		o.s.logf("%s b%d truncated %s from %d (%s)", at(o.s.s.Now()), b, tp, from, reason)
		return
	}
	o.s.logf("%s b%d truncated %s [%d, %d) (%s)", at(o.s.s.Now()), b, tp, from, to, reason)
}
