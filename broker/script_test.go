package broker_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker"
	kcontroller "github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// TestScripts runs the interaction scripts under testdata. Each verb is
// one small handler, in the manner of etcd-raft's interaction tests;
// `go test ./broker -run TestScripts -rewrite` regenerates the output.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
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

type script struct {
	e *env
}

type handler func(s *script, a args, d *datadriven.TestData) (string, error)

var verbs = map[string]handler{
	"cluster":           (*script).cluster,
	"topic":             (*script).topic,
	"produce":           (*script).produce,
	"fetch":             (*script).fetch,
	"list-offsets":      (*script).listOffsets,
	"offsets-for-epoch": (*script).offsetsForEpoch,
	"run":               (*script).run,
	"print":             (*script).print,
	"crash":             (*script).lifecycle,
	"power-loss":        (*script).lifecycle,
	"restart":           (*script).lifecycle,
	"shutdown":          (*script).lifecycle,
	"pause":             (*script).lifecycle,
	"resume":            (*script).lifecycle,
	"flush":             (*script).flushLogs,
	"elect":             (*script).elect,
	"isr":               (*script).isr,
	"fence":             (*script).fence,
	"unfence":           (*script).fence,
	"metadata":          (*script).metadataMode,
	"deliver":           (*script).deliver,
	"isolate":           (*script).isolate,
	"heal":              (*script).heal,
	"controller":        (*script).controllerMode,
	"marks":             (*script).marks,
	"checkpoint":        (*script).checkpoint,
}

func (s *script) handle(d *datadriven.TestData) (string, error) {
	h, ok := verbs[d.Cmd]
	if !ok {
		return "", fmt.Errorf("unknown command %q: known are %s", d.Cmd, strings.Join(slices.Sorted(maps.Keys(verbs)), ", "))
	}
	if s.e == nil && d.Cmd != "cluster" {
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

func (a args) ids(k string) ([]int32, error) {
	v, ok := a[k]
	if !ok {
		return nil, nil
	}
	var out []int32
	for _, f := range strings.Split(v, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: want broker ids like 1,2,3", k, v)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func (a args) broker(k string) (int32, error) {
	v, ok := a[k]
	if !ok {
		return 0, fmt.Errorf("missing %s=<broker id>", k)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a broker id", k, v)
	}
	return int32(n), nil
}

func (a args) tp() (model.TopicPartition, error) {
	p, err := a.int("partition", 0)
	return model.TopicPartition{Topic: a.str("topic", "t"), Partition: int32(p)}, err
}

// scriptKinds are the trace records scripts print as they happen.
var scriptKinds = map[string]bool{
	"broker.isr.propose":   true,
	"broker.isr.rejected":  true,
	"broker.isr.committed": true,
	"log.recovery":         true,
}

// cluster brokers=3 truncation=fetch [legacy-hwm] [seed=1]; input lines
// are broker configs (name=value).
func (s *script) cluster(a args, d *datadriven.TestData) (string, error) {
	n, err := a.int("brokers", 3)
	if err != nil {
		return "", err
	}
	seed, err := a.int("seed", 1)
	if err != nil {
		return "", err
	}
	mode, err := broker.ParseTruncationMode(a.str("truncation", "fetch"))
	if err != nil {
		return "", err
	}
	var settings [][2]string
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "", fmt.Errorf("config line %q: want name=value", line)
		}
		settings = append(settings, [2]string{k, v})
	}
	var cfgErr error
	_, legacy := a["legacy-hwm"]
	_, legacyProducers := a["legacy-producer-checks"]
	e, err := newEnv(envOptions{seed: uint64(seed), brokers: int(n), config: func(c *broker.Config) {
		c.Truncation = mode
		c.LegacyHighWatermark = legacy
		c.LegacyProducerChecks = legacyProducers
		for _, kv := range settings {
			if err := c.Set(kv[0], kv[1]); err != nil && cfgErr == nil {
				cfgErr = err
			}
		}
	}})
	if cfgErr != nil {
		return "", cfgErr
	}
	if err != nil {
		return "", err
	}
	s.e = e
	e.s.Trace().SetSink(func(r sim.Record) {
		if scriptKinds[r.Kind] {
			e.logf("%s %s", r.Node, r.Detail)
		}
	})
	if err := e.s.RunFor(10 * time.Millisecond); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d brokers, truncation %s\n", n, mode) + e.flush(), nil
}

// topic name=t replicas=1,2,3 [partitions=1] [min.insync.replicas=2]
func (s *script) topic(a args, _ *datadriven.TestData) (string, error) {
	replicas, err := a.ids("replicas")
	if err != nil {
		return "", err
	}
	if len(replicas) == 0 {
		return "", fmt.Errorf("missing replicas=<ids>")
	}
	parts, err := a.int("partitions", 1)
	if err != nil {
		return "", err
	}
	configs := map[string]string{}
	for _, k := range kcontroller.TopicSetters.Names() {
		if v, ok := a[k]; ok {
			configs[k] = v
		}
	}
	var assign [][]int32
	for p := range int(parts) {
		r := slices.Clone(replicas)
		for range p % len(r) { // rotate so that leaders spread
			r = append(r[1:], r[0])
		}
		assign = append(assign, r)
	}
	if err := s.e.ctrl.createTopic(a.str("name", "t"), assign, configs); err != nil {
		return "", err
	}
	return s.settle()
}

// settle runs a little so that metadata reactions show, and returns output.
func (s *script) settle() (string, error) {
	if err := s.e.s.RunFor(5 * time.Millisecond); err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// produce broker=1 topic=t partition=0 acks=all values=a,b [pid=7
// producer-epoch=0 seq=0] [timeout=30s]
func (s *script) produce(a args, _ *datadriven.TestData) (string, error) {
	b, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	acks := int16(protocol.AcksAll)
	if v, ok := a["acks"]; ok {
		if acks, err = broker.ParseAcks(v); err != nil {
			if n, perr := strconv.ParseInt(v, 10, 16); perr == nil && a.str("raw-acks", "") == "true" {
				acks, err = int16(n), nil
			} else {
				return "", err
			}
		}
	}
	timeout, err := time.ParseDuration(a.str("timeout", "30s"))
	if err != nil {
		return "", err
	}
	p := protocol.NoProducer
	if _, ok := a["pid"]; ok {
		pid, err1 := a.int("pid", 0)
		pe, err2 := a.int("producer-epoch", 0)
		seq, err3 := a.int("seq", 0)
		if err1 != nil || err2 != nil || err3 != nil {
			return "", fmt.Errorf("pid, producer-epoch and seq are whole numbers")
		}
		p = protocol.Producer{ID: pid, Epoch: int16(pe), BaseSequence: int32(seq)}
	}
	values := strings.Split(a.str("values", "x"), ",")
	tps := []model.TopicPartition{tp}
	if v, ok := a["tps"]; ok { // one request to several partitions: tps=a-0,b-0
		tps = nil
		for _, f := range strings.Split(v, ",") {
			i := strings.LastIndexByte(f, '-')
			n, err := strconv.ParseInt(f[i+1:], 10, 32)
			if i <= 0 || err != nil {
				return "", fmt.Errorf("tps=%q: want partitions like a-0,b-0", v)
			}
			tps = append(tps, model.TopicPartition{Topic: f[:i], Partition: int32(n)})
		}
	}
	req := &protocol.Produce{CorrelationID: s.e.nextCorr(), Acks: acks, Timeout: timeout}
	for _, tp := range tps {
		req.Partitions = append(req.Partitions, protocol.ProducePartition{TP: tp, Records: protocol.NewRecords(p, int64(s.e.s.Now()/time.Millisecond), values...)})
	}
	if err := s.e.send(b, req); err != nil {
		return "", err
	}
	return s.settle()
}

// fetch broker=1 topic=t partition=0 offset=0 [epoch=N] [wait=0ms]: a
// consumer fetch (replica id -1).
func (s *script) fetch(a args, _ *datadriven.TestData) (string, error) {
	b, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	off, err := a.int("offset", 0)
	if err != nil {
		return "", err
	}
	epoch, err := a.int("epoch", -1)
	if err != nil {
		return "", err
	}
	wait, err := time.ParseDuration(a.str("wait", "0ms"))
	if err != nil {
		return "", err
	}
	req := &protocol.Fetch{CorrelationID: s.e.nextCorr(), ReplicaID: protocol.ConsumerReplicaID, ReplicaEpoch: protocol.NoBrokerEpoch,
		MaxWait: wait, MinBytes: 1, MaxBytes: 1 << 20,
		Partitions: []protocol.FetchPartition{{TP: tp, CurrentLeaderEpoch: int32(epoch), FetchOffset: off, LastFetchedEpoch: protocol.NoEpoch}}}
	if err := s.e.send(b, req); err != nil {
		return "", err
	}
	return s.settle()
}

// list-offsets broker=1 topic=t partition=0 time=latest|earliest [epoch=N]
func (s *script) listOffsets(a args, _ *datadriven.TestData) (string, error) {
	b, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	epoch, err := a.int("epoch", -1)
	if err != nil {
		return "", err
	}
	ts := protocol.LatestTimestamp
	switch a.str("time", "latest") {
	case "latest":
	case "earliest":
		ts = protocol.EarliestTimestamp
	default:
		return "", fmt.Errorf("time=%q: accepted are latest and earliest", a["time"])
	}
	req := &protocol.ListOffsets{CorrelationID: s.e.nextCorr(), ReplicaID: protocol.ConsumerReplicaID,
		Partitions: []protocol.ListOffsetsPartition{{TP: tp, CurrentLeaderEpoch: int32(epoch), Timestamp: ts}}}
	if err := s.e.send(b, req); err != nil {
		return "", err
	}
	return s.settle()
}

// offsets-for-epoch broker=1 topic=t partition=0 epoch=E [current=N]
func (s *script) offsetsForEpoch(a args, _ *datadriven.TestData) (string, error) {
	b, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	epoch, err := a.int("epoch", 0)
	if err != nil {
		return "", err
	}
	cur, err := a.int("current", -1)
	if err != nil {
		return "", err
	}
	req := &protocol.OffsetsForLeaderEpoch{CorrelationID: s.e.nextCorr(), Version: 3, ReplicaID: protocol.ConsumerReplicaID,
		Partitions: []protocol.OffsetForLeaderPartition{{TP: tp, CurrentLeaderEpoch: int32(cur), LeaderEpoch: int32(epoch)}}}
	if err := s.e.send(b, req); err != nil {
		return "", err
	}
	return s.settle()
}

// run 2s: run the simulation for a while; prints what the client and the
// observer saw.
func (s *script) run(a args, d *datadriven.TestData) (string, error) {
	dur := time.Second
	if len(d.CmdArgs) > 0 {
		v, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			return "", fmt.Errorf("run %s: want a duration such as 500ms or 2s", d.CmdArgs[0].Key)
		}
		dur = v
	}
	if err := s.e.s.RunFor(dur); err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// print [topic=t partition=0]: the controller's view and every replica:
// role, leader epoch, log end, high-water mark, ISR, and the log.
func (s *script) print(a args, _ *datadriven.TestData) (string, error) {
	var tps []model.TopicPartition
	if _, ok := a["topic"]; ok {
		tp, err := a.tp()
		if err != nil {
			return "", err
		}
		tps = []model.TopicPartition{tp}
	} else {
		tps = s.e.ctrl.image.Partitions()
	}
	var b strings.Builder
	b.WriteString(s.e.flush())
	for _, tp := range tps {
		reg, ok := s.e.ctrl.image.Partition(tp)
		if !ok {
			return "", fmt.Errorf("unknown partition %s", tp)
		}
		fmt.Fprintf(&b, "%s controller: %s\n", tp, reg)
		for _, id := range reg.Replicas {
			br, ok := s.e.broker(id)
			if !ok {
				fmt.Fprintf(&b, "  b%d down\n", id)
				continue
			}
			r, ok := br.Partition(tp)
			if !ok {
				fmt.Fprintf(&b, "  b%d no replica\n", id)
				continue
			}
			role := "follower"
			if r.IsLeader() {
				role = "leader"
			}
			fmt.Fprintf(&b, "  b%d %-8s epoch=%d leo=%d hwm=%d", id, role, r.LeaderEpoch(), r.LogEndOffset(), r.HighWatermark())
			if r.IsLeader() {
				fmt.Fprintf(&b, " isr=%v", r.CommittedISR())
				if p, ok := r.PendingISR(); ok {
					fmt.Fprintf(&b, " pending=%v", p)
				}
			}
			fmt.Fprintf(&b, " log=%s\n", r.Log())
		}
	}
	return b.String(), nil
}

// crash|power-loss|restart|shutdown|pause|resume broker=N [tear]
// [register=false]
func (s *script) lifecycle(a args, d *datadriven.TestData) (string, error) {
	id, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	n, ok := s.e.nodes[id]
	if !ok {
		return "", fmt.Errorf("unknown broker %d", id)
	}
	switch d.Cmd {
	case "crash":
		err = n.Crash()
	case "power-loss":
		_, tear := a["tear"]
		n.PowerLoss(tear)
	case "shutdown":
		b, ok := s.e.broker(id)
		if !ok {
			return "", fmt.Errorf("broker %d is not running", id)
		}
		if err = b.Shutdown(); err == nil {
			err = n.Crash()
		}
	case "pause":
		err = n.Pause()
	case "resume":
		err = n.Resume()
	case "restart":
		if err = n.Restart(); err != nil {
			return "", err
		}
		if a.str("register", "true") == "true" {
			err = s.e.ctrl.register(id)
		}
	}
	if err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// flush broker=N: fsync every log of a broker, as the OS's writeback or a
// flush policy might.
func (s *script) flushLogs(a args, _ *datadriven.TestData) (string, error) {
	id, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	b, ok := s.e.broker(id)
	if !ok {
		return "", fmt.Errorf("broker %d is not running", id)
	}
	for _, tp := range b.Partitions() {
		r, _ := b.Partition(tp)
		if err := r.Log().Flush(b.Node().Now()); err != nil {
			return "", err
		}
	}
	return "", nil
}

// elect topic=t partition=0 leader=2 [isr=2,3]: the controller elects a
// leader (the double does not check the ISR: the script decides).
func (s *script) elect(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	leader, err := a.broker("leader")
	if err != nil {
		return "", err
	}
	isr, err := a.ids("isr")
	if err != nil {
		return "", err
	}
	if err := s.e.ctrl.change(tp, leader, isr); err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// isr topic=t partition=0 isr=1,2: the controller changes the ISR.
func (s *script) isr(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	isr, err := a.ids("isr")
	if err != nil {
		return "", err
	}
	if err := s.e.ctrl.change(tp, metadata.NoLeaderChange, isr); err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// fence|unfence broker=N
func (s *script) fence(a args, d *datadriven.TestData) (string, error) {
	id, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	if err := s.e.ctrl.setFenced(id, d.Cmd == "fence"); err != nil {
		return "", err
	}
	return s.e.flush(), nil
}

// metadata auto|manual: whether the controller publishes records at once.
func (s *script) metadataMode(_ args, d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) != 1 || (d.CmdArgs[0].Key != "auto" && d.CmdArgs[0].Key != "manual") {
		return "", fmt.Errorf("metadata takes auto or manual")
	}
	s.e.ctrl.auto = d.CmdArgs[0].Key == "auto"
	return "", nil
}

// deliver [brokers=1,2]: publish pending metadata records.
func (s *script) deliver(a args, _ *datadriven.TestData) (string, error) {
	ids, err := a.ids("brokers")
	if err != nil {
		return "", err
	}
	s.e.ctrl.deliver(ids)
	return s.e.flush(), nil
}

// isolate broker=N: cut a broker off from every other node.
func (s *script) isolate(a args, _ *datadriven.TestData) (string, error) {
	id, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	n, ok := s.e.nodes[id]
	if !ok {
		return "", fmt.Errorf("unknown broker %d", id)
	}
	return "", s.e.net.Isolate(n.ID())
}

func (s *script) heal(args, *datadriven.TestData) (string, error) {
	s.e.net.Heal()
	return "", nil
}

// controller hold|answer: whether the controller answers AlterPartition.
func (s *script) controllerMode(_ args, d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) != 1 || (d.CmdArgs[0].Key != "hold" && d.CmdArgs[0].Key != "answer") {
		return "", fmt.Errorf("controller takes hold or answer")
	}
	s.e.ctrl.hold = d.CmdArgs[0].Key == "hold"
	return "", nil
}

// marks: the coverage marks reached so far.
// checkpoint prints what a running broker's replication-offset-checkpoint
// file holds: each partition's high-water mark as last written.
func (s *script) checkpoint(a args, _ *datadriven.TestData) (string, error) {
	id, err := a.broker("broker")
	if err != nil {
		return "", err
	}
	b, ok := s.e.broker(id)
	if !ok {
		return "", fmt.Errorf("broker %d is not running", id)
	}
	hwms, err := log.ReadOffsetCheckpoint(b.Node().Disk(), log.ReplicationOffsetCheckpoint)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	fmt.Fprintf(&out, "b%d %s:", id, log.ReplicationOffsetCheckpoint)
	for _, tp := range slices.SortedFunc(maps.Keys(hwms), model.TopicPartition.Compare) {
		fmt.Fprintf(&out, " %s=%d", tp, hwms[tp])
	}
	return out.String() + "\n", nil
}

func (s *script) marks(args, *datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, name := range s.e.s.MarkNames() {
		fmt.Fprintf(&b, "%s %d\n", name, s.e.s.Marked(name))
	}
	return b.String(), nil
}
