package client_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// scriptEnv runs the interaction scripts under testdata/producer and
// testdata/admin: a fake cluster, clients started by name, and what
// happened since the last command.
type scriptEnv struct {
	t         *testing.T
	fc        *fakeCluster
	producers map[string]*client.Producer
	admins    map[string]*client.Admin
	consumers map[string]*client.Consumer
}

// scriptVerbs are the script commands, one small handler each.
var scriptVerbs = map[string]func(e *scriptEnv, d *datadriven.TestData) string{
	"cluster":     (*scriptEnv).cluster,
	"producer":    (*scriptEnv).producer,
	"send":        (*scriptEnv).send,
	"run":         (*scriptEnv).run,
	"flush":       (*scriptEnv).flush,
	"fault":       (*scriptEnv).fault,
	"move-leader": (*scriptEnv).moveLeader,
	"topic":       (*scriptEnv).topic,
	"log":         (*scriptEnv).log,
	"history":     (*scriptEnv).history,
	"state":       (*scriptEnv).state,
	"marks":       (*scriptEnv).marks,
}

func TestProducerScripts(t *testing.T) { runScripts(t, "testdata/producer") }

// runScripts runs every script under dir with the script commands.
func runScripts(t *testing.T, dir string) {
	datadriven.Walk(t, dir, func(t *testing.T, path string) {
		e := &scriptEnv{t: t}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			h, ok := scriptVerbs[d.Cmd]
			if !ok {
				d.Fatalf(t, "unknown command %q: the commands are %s", d.Cmd, strings.Join(slices.Sorted(maps.Keys(scriptVerbs)), ", "))
			}
			if e.fc == nil && d.Cmd != "cluster" {
				d.Fatalf(t, "%s before cluster: start every script with cluster", d.Cmd)
			}
			e.t = t
			out := h(e, d)
			if out == "" {
				return "ok\n"
			}
			return out
		})
	})
}

// value returns the values of a key=value argument, or nil.
func value(d *datadriven.TestData, key string) []string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return a.Vals
		}
	}
	return nil
}

func first(d *datadriven.TestData, key, def string) string {
	if v := value(d, key); len(v) > 0 {
		return v[0]
	}
	return def
}

// name returns the command's first argument, a bare word naming a client.
func (e *scriptEnv) name(d *datadriven.TestData) string {
	if len(d.CmdArgs) == 0 || len(d.CmdArgs[0].Vals) > 0 {
		d.Fatalf(e.t, "%s: name the client first, as in %q", d.Cmd, d.Cmd+" p1")
	}
	return d.CmdArgs[0].Key
}

func (e *scriptEnv) tp(d *datadriven.TestData, s string) model.TopicPartition {
	i := strings.LastIndexByte(s, '-')
	p, err := strconv.Atoi(s[i+1:])
	if i <= 0 || err != nil {
		d.Fatalf(e.t, "partition %q: write topic-partition, as t-0", s)
	}
	return model.TopicPartition{Topic: s[:i], Partition: int32(p)}
}

// cluster brokers=N topics=(t:3,u:1)
func (e *scriptEnv) cluster(d *datadriven.TestData) string {
	brokers, err := strconv.Atoi(first(d, "brokers", "1"))
	require.NoError(e.t, err)
	topics := map[string]int32{}
	for _, s := range value(d, "topics") {
		name, n, ok := strings.Cut(s, ":")
		k, err := strconv.Atoi(n)
		if !ok || err != nil {
			d.Fatalf(e.t, "topic %q: write name:partitions, as t:3", s)
		}
		topics[name] = int32(k)
	}
	e.fc = newFakeCluster(e.t, brokers, topics)
	e.fc.journalOn = true
	e.producers = map[string]*client.Producer{}
	e.admins = map[string]*client.Admin{}
	e.consumers = map[string]*client.Consumer{}
	return ""
}

// producer <name> [property=value ...] starts a producer named name (its
// client.id) and waits for its metadata and producer id.
func (e *scriptEnv) producer(d *datadriven.TestData) string {
	name := e.name(d)
	props := map[string]string{"client.id": name}
	for _, a := range d.CmdArgs[1:] {
		props[a.Key] = strings.Join(a.Vals, ",")
	}
	p := e.fc.producer(props)
	e.producers[name] = p
	for t := range e.fc.topics {
		p.Prepare(t)
	}
	e.fc.run(10 * time.Millisecond)
	id, epoch := p.ProducerID()
	cfg := p.Config()
	e.fc.journal = nil
	return fmt.Sprintf("%s: acks=%s idempotence=%t producer-id=%d epoch=%d\n", name, cfg.Acks, cfg.EnableIdempotence, id, epoch)
}

func (e *scriptEnv) client(d *datadriven.TestData) *client.Producer {
	name := e.name(d)
	p, ok := e.producers[name]
	if !ok {
		d.Fatalf(e.t, "no producer %q: start it with producer %s", name, name)
	}
	return p
}

// send <name> values=(a,b,...) [key=k] [topic=t]
func (e *scriptEnv) send(d *datadriven.TestData) string {
	p, name := e.client(d), e.name(d)
	topic := first(d, "topic", "t")
	var key []byte
	if k := first(d, "key", ""); k != "" {
		key = []byte(k)
	}
	for _, v := range value(d, "values") {
		p.Send(topic, key, []byte(v), func(r client.SendResult) {
			switch {
			case r.Outcome == history.OK && r.Offset >= 0:
				e.fc.note("%s: send %s ok at %s-%d@%d", name, v, topic, r.Partition, r.Offset)
			case r.Outcome == history.OK:
				e.fc.note("%s: send %s ok, offset unknown (acks=0)", name, v)
			default:
				e.fc.note("%s: send %s %s %s", name, v, r.Outcome, r.Error.String())
			}
		})
	}
	return ""
}

// run <duration> runs the simulation and shows what happened: every
// batch a broker received and what became of it, and every send's
// outcome.
func (e *scriptEnv) run(d *datadriven.TestData) string {
	if len(d.CmdArgs) != 1 {
		d.Fatalf(e.t, "run: give one duration, as run 100ms")
	}
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		d.Fatalf(e.t, "run: %v", err)
	}
	e.fc.run(dur)
	out := strings.Join(e.fc.journal, "\n")
	e.fc.journal = nil
	if out == "" {
		return "nothing happened\n"
	}
	return out + "\n"
}

// flush <name>
func (e *scriptEnv) flush(d *datadriven.TestData) string {
	e.client(d).Flush()
	return ""
}

// fault error=<CODE>|lose-ack|lose-request [broker=N] [tp=t-0] [times=N]
func (e *scriptEnv) fault(d *datadriven.TestData) string {
	f := &produceFault{times: 1}
	for _, a := range d.CmdArgs {
		v := ""
		if len(a.Vals) > 0 {
			v = a.Vals[0]
		}
		switch a.Key {
		case "error":
			code, ok := protocol.ParseErrorCode(v)
			if !ok {
				d.Fatalf(e.t, "fault: unknown error code %q", v)
			}
			f.kind, f.code = "error", code
		case "lose-ack", "lose-request":
			f.kind = a.Key
		case "broker":
			n, err := strconv.Atoi(v)
			require.NoError(e.t, err)
			f.broker = int32(n)
		case "tp":
			f.tp = e.tp(d, v)
		case "times":
			n, err := strconv.Atoi(v)
			require.NoError(e.t, err)
			f.times = n
		default:
			d.Fatalf(e.t, "fault: unknown argument %q: give error=CODE, lose-ack or lose-request, and broker=, tp=, times=", a.Key)
		}
	}
	if f.kind == "" {
		d.Fatalf(e.t, "fault: say what goes wrong: error=CODE, lose-ack or lose-request")
	}
	e.fc.faults = append(e.fc.faults, f)
	return ""
}

// topic <name>:<partitions> creates a topic in the fake cluster (each
// partition on one replica); clients see it in their next metadata.
func (e *scriptEnv) topic(d *datadriven.TestData) string {
	name, n, ok := strings.Cut(d.CmdArgs[0].Key, ":")
	k, err := strconv.Atoi(n)
	if !ok || err != nil || k < 1 {
		d.Fatalf(e.t, "topic %q: write name:partitions, as v:1", d.CmdArgs[0].Key)
	}
	e.fc.place(name, int32(k), 1)
	return ""
}

// move-leader <t-0> to=N makes broker N the partition's leader in a new
// leader epoch; clients learn of it from errors and metadata.
func (e *scriptEnv) moveLeader(d *datadriven.TestData) string {
	tp := e.tp(d, d.CmdArgs[0].Key)
	to, err := strconv.Atoi(first(d, "to", ""))
	if err != nil {
		d.Fatalf(e.t, "move-leader: give the new leader, as to=2")
	}
	e.fc.leaders[tp] = int32(to)
	e.fc.epochs[tp]++
	return fmt.Sprintf("%s: leader b%d, epoch %d\n", tp, to, e.fc.epochs[tp])
}

// log <t-0> shows a partition's log on the fake leader.
func (e *scriptEnv) log(d *datadriven.TestData) string {
	tp := e.tp(d, d.CmdArgs[0].Key)
	var b strings.Builder
	for _, r := range e.fc.logs[tp] {
		fmt.Fprintf(&b, "%d: %s\n", r.Offset, r.Value)
	}
	if b.Len() == 0 {
		return "empty\n"
	}
	return b.String()
}

// history shows the sends in the history, as checkers read them.
func (e *scriptEnv) history(d *datadriven.TestData) string {
	h := e.fc.history()
	var b strings.Builder
	for _, op := range h.Ops {
		s := op.Send
		fmt.Fprintf(&b, "%s/%d send %s %s: %s", op.Client, op.Process, s.TP(), s.Value, op.Outcome)
		if s.Offset >= 0 {
			fmt.Fprintf(&b, " @%d", s.Offset)
		}
		if op.Error != "" {
			fmt.Fprintf(&b, " %s", op.Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// state <name> shows a producer's id, epoch and pending sends.
func (e *scriptEnv) state(d *datadriven.TestData) string {
	p := e.client(d)
	id, epoch := p.ProducerID()
	return fmt.Sprintf("%s: producer-id=%d epoch=%d pending=%d\n", e.name(d), id, epoch, p.Pending())
}

// marks shows the producer's coverage marks reached so far.
func (e *scriptEnv) marks(d *datadriven.TestData) string {
	var b strings.Builder
	for _, m := range e.fc.s.MarkNames() {
		if strings.HasPrefix(m, "client.") {
			fmt.Fprintf(&b, "%s: %d\n", m, e.fc.s.Marked(m))
		}
	}
	return b.String()
}
