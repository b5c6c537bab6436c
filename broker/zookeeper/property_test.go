package zookeeper_test

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/kafkasim/kafkasim/sim"
)

// faultClientPause is the ensemble tests' own fault: a client node frozen
// (Node is the client's index).
const faultClientPause = faulttest.Custom

// episode is a fault that starts at At and is undone after For; Node is a
// server's index (a client's for faultClientPause).
type episode = faulttest.Episode

// scenario is a random ensemble, workload and fault schedule.
type scenario struct {
	Seed      uint64
	Servers   int
	Clients   int
	SnapCount int
	Lossy     bool // links lose, duplicate and reorder a few messages (below TCP)
	Episodes  []episode
	DriftPPM  []int64 // per server
}

func drawScenario(t *rapid.T) scenario {
	sc := scenario{
		Seed:      rapid.Uint64().Draw(t, "seed"),
		Servers:   rapid.SampledFrom([]int{1, 3, 3, 5}).Draw(t, "servers"),
		Clients:   rapid.IntRange(1, 3).Draw(t, "clients"),
		SnapCount: rapid.SampledFrom([]int{10, 40, 100000}).Draw(t, "snap-count"),
		Lossy:     rapid.IntRange(0, 3).Draw(t, "lossy") == 0,
	}
	sc.Episodes = faulttest.Schedule{Kinds: int(faultClientPause) + 1, Nodes: sc.Servers, MaxEpisodes: 8,
		Within: 40 * time.Second, Longest: 15 * time.Second,
		NodeOf: func(t *rapid.T, k faulttest.Kind) (int, bool) {
			if k != faultClientPause {
				return 0, false
			}
			return rapid.IntRange(0, sc.Clients-1).Draw(t, "client"), true
		}}.Draw(t)
	sc.DriftPPM = rapid.SliceOfN(rapid.Int64Range(-100_000, 100_000), sc.Servers, sc.Servers).Draw(t, "drift-ppm")
	return sc
}

// The workload: each client node keeps one handle (a new one when its
// session expires) and one request in flight at a time, on a few
// persistent znodes (a register each) and an ephemeral znode of its own.

type regInput struct {
	Op      string // create, set, delete
	Data    string
	Version int32
}

type regOutput struct {
	Known   bool
	Err     zookeeper.Code
	Version int32 // the new version of a successful set
}

type regState struct {
	Exists  bool
	Version int32
	Data    string
}

type opRecord struct {
	key      string
	client   int
	in       regInput
	out      regOutput
	call     time.Duration
	ret      time.Duration
	returned bool
}

type workload struct {
	e       *ensemble
	ops     []*opRecord
	handles int
	seq     int
	stopped bool
	expired int
}

var keys = []string{"/k0", "/k1", "/k2"}

func (w *workload) start(c *clientMember) {
	r := w.e.s.Rand("workload/" + c.name)
	var next func()
	session := func() {
		w.handles++
		id := w.handles
		h, err := c.connect(zookeeper.ClientConfig{SessionTimeout: 4 * time.Second}, nil)
		if err != nil {
			w.e.s.Fail("workload", err)
			return
		}
		c.onEvent = func(ev zookeeper.Event) {
			if ev.Type == zookeeper.EventNone && ev.State == zookeeper.StateExpired {
				w.expired++
			}
		}
		_ = id
		_ = h
	}
	issue := func() {
		h := c.handle
		if w.stopped || h == nil {
			return
		}
		if h.State() == zookeeper.Expired || h.State() == zookeeper.Closed {
			session()
			w.e.s.After(10*time.Millisecond, "workload", next)
			return
		}
		if h.State() != zookeeper.Connected {
			w.e.s.After(50*time.Millisecond, "workload", next)
			return
		}
		w.seq++
		v := c.name + "-" + strconv.Itoa(w.seq)
		key := keys[r.IntN(len(keys))]
		rec := &opRecord{key: key, client: w.handles, call: w.e.s.Now()}
		finish := func(out regOutput) {
			rec.out, rec.ret, rec.returned = out, w.e.s.Now(), true
			w.e.s.After(time.Duration(r.IntN(100))*time.Millisecond, "workload", next)
		}
		outcome := func(err error) regOutput {
			var code zookeeper.Code
			switch {
			case err == nil:
				return regOutput{Known: true}
			case errors.As(err, &code) && code == zookeeper.ConnectionLoss:
				return regOutput{}
			case errors.As(err, &code):
				return regOutput{Known: true, Err: code}
			}
			return regOutput{}
		}
		version := int32(-1)
		if r.IntN(2) == 0 {
			version = int32(r.IntN(4))
		}
		switch p := r.IntN(10); {
		case p < 3:
			rec.in = regInput{Op: "create", Data: v}
			w.ops = append(w.ops, rec)
			h.Create(key, []byte(v), zookeeper.Persistent, func(_ string, err error) { finish(outcome(err)) })
		case p < 8:
			rec.in = regInput{Op: "set", Data: v, Version: version}
			w.ops = append(w.ops, rec)
			h.SetData(key, []byte(v), version, func(st zookeeper.Stat, err error) {
				out := outcome(err)
				out.Version = st.Version
				finish(out)
			})
		case p < 9:
			rec.in = regInput{Op: "delete", Version: version}
			w.ops = append(w.ops, rec)
			h.Delete(key, version, func(err error) { finish(outcome(err)) })
		default:
			// An ephemeral znode of the session: its lifetime is the
			// checker's business.
			h.Create("/e-"+c.name, nil, zookeeper.Ephemeral, func(string, error) {
				w.e.s.After(time.Duration(r.IntN(100))*time.Millisecond, "workload", next)
			})
		}
	}
	next = issue
	session()
	w.e.s.After(0, "workload", next)
}

// regModel is the porcupine model of one znode used as a register.
func regModel() porcupine.Model {
	apply := func(s regState, in regInput) (regState, zookeeper.Code, int32) {
		switch in.Op {
		case "create":
			if s.Exists {
				return s, zookeeper.NodeExists, 0
			}
			return regState{Exists: true, Data: in.Data}, zookeeper.Ok, 0
		case "set":
			if !s.Exists {
				return s, zookeeper.NoNode, 0
			}
			if in.Version != -1 && in.Version != s.Version {
				return s, zookeeper.BadVersion, 0
			}
			return regState{Exists: true, Version: s.Version + 1, Data: in.Data}, zookeeper.Ok, s.Version + 1
		default:
			if !s.Exists {
				return s, zookeeper.NoNode, 0
			}
			if in.Version != -1 && in.Version != s.Version {
				return s, zookeeper.BadVersion, 0
			}
			return regState{}, zookeeper.Ok, 0
		}
	}
	nm := porcupine.NondeterministicModel{
		Init: func() []any { return []any{regState{}} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(regState), input.(regInput), output.(regOutput)
			next, code, version := apply(s, in)
			if !out.Known {
				return []any{s, next}
			}
			switch out.Err {
			case zookeeper.SessionExpired, zookeeper.SessionMoved:
				return []any{s} // the request failed before it did anything
			}
			if out.Err != code || (in.Op == "set" && code == zookeeper.Ok && out.Version != version) {
				return nil
			}
			return []any{next}
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(regInput), output.(regOutput)
			res := "?"
			if out.Known {
				res = out.Err.String()
			}
			return fmt.Sprintf("%s(%q, v%d) → %s v%d", in.Op, in.Data, in.Version, res, out.Version)
		},
	}
	return nm.ToModel()
}

// linearizable checks the history of each znode.
func (w *workload) linearizable() error {
	byKey := map[string][]porcupine.Operation{}
	for _, op := range w.ops {
		ret := int64(math.MaxInt64)
		if op.returned && op.out.Known {
			ret = int64(op.ret)
		}
		byKey[op.key] = append(byKey[op.key], porcupine.Operation{ClientId: op.client, Input: op.in, Call: int64(op.call), Output: op.out, Return: ret})
	}
	for _, k := range keys {
		if !porcupine.CheckOperations(regModel(), byKey[k]) {
			return fmt.Errorf("the history of %s (%d operations) is not linearizable", k, len(byKey[k]))
		}
	}
	return nil
}

// run plays the scenario; after the last fault is undone the ensemble must
// settle, every client reconnect, and the histories be linearizable.
func (sc scenario) run() (*ensemble, *workload, error) {
	ec := defaultEnsembleConfig()
	ec.seed, ec.servers, ec.clients = sc.Seed, sc.Servers, sc.Clients
	ec.zk.TickTime = 500 * time.Millisecond
	ec.zk.SnapCount = sc.SnapCount
	if sc.Lossy {
		ec.link.Loss, ec.link.Duplicate, ec.link.Reorder, ec.link.ReorderDelay = 0.002, 0.002, 0.002, 5*time.Millisecond
	}
	ec.replay = fmt.Sprintf("go test ./broker/zookeeper -run TestSafetyUnderFaults (rapid prints the -rapid.failfile); scenario %+v", sc)
	e, err := newEnsemble(ec)
	if err != nil {
		return nil, nil, err
	}
	s := e.s
	for i, d := range sc.DriftPPM {
		if err := e.servers[i].node.SetClock(0, d); err != nil {
			return e, nil, err
		}
	}
	w := &workload{e: e}
	for _, c := range e.clients {
		w.start(c)
	}
	for _, ep := range sc.Episodes {
		ep := ep
		s.At(ep.At, "fault", func() { e.inject(ep) })
		s.At(ep.At+ep.For, "repair", func() { e.repair(ep) })
	}
	if err := s.RunUntil(60 * time.Second); err != nil {
		return e, w, err
	}
	e.net.Heal()
	for _, c := range e.clients {
		if c.node.State() == sim.Paused {
			_ = c.node.Resume()
		}
	}
	for _, m := range e.servers {
		switch m.node.State() {
		case sim.Paused:
			_ = m.node.Resume()
		case sim.Down:
			_ = m.node.Restart()
		}
	}
	ok, err := e.runUntil(5*time.Minute, e.caughtUp)
	if err != nil {
		return e, w, err
	}
	if !ok {
		return e, w, fmt.Errorf("the ensemble did not settle within 5 minutes after the faults healed:\n%s", e.describe())
	}
	ok, err = e.runUntil(2*time.Minute, func() bool {
		for _, c := range e.clients {
			if c.handle == nil || c.handle.State() != zookeeper.Connected {
				return false
			}
		}
		return true
	})
	if err != nil {
		return e, w, err
	}
	if !ok {
		return e, w, fmt.Errorf("clients did not reconnect within 2 minutes after the ensemble settled:\n%s", e.describe())
	}
	w.stopped = true
	if err := s.RunFor(5 * time.Second); err != nil {
		return e, w, err
	}
	if ok, err := e.runUntil(time.Minute, e.caughtUp); err != nil || !ok {
		return e, w, fmt.Errorf("not caught up at the end (%v):\n%s", err, e.describe())
	}
	if err := e.checker.Check(e.running()); err != nil {
		return e, w, err
	}
	return e, w, w.linearizable()
}

func (e *ensemble) group() faulttest.Group {
	g := faulttest.Group{Net: e.net}
	for _, m := range e.servers {
		g.Nodes = append(g.Nodes, m.node)
	}
	for _, c := range e.clients {
		g.Bystanders = append(g.Bystanders, c.node)
	}
	return g
}

func (e *ensemble) inject(ep episode) {
	if ep.Kind == faultClientPause {
		_ = e.clients[ep.Node%len(e.clients)].node.Pause()
		return
	}
	e.group().Inject(ep)
}

func (e *ensemble) repair(ep episode) {
	if ep.Kind == faultClientPause {
		if n := e.clients[ep.Node%len(e.clients)].node; n.State() == sim.Paused {
			_ = n.Resume()
		}
		return
	}
	e.group().Repair(ep)
}

// TestSafetyUnderFaults checks, under random crashes, power losses (torn
// or not, of one server or several at once), pauses, isolations and
// partitions of servers, frozen clients, links that lose, duplicate and
// reorder a few messages, clocks drifting up to 10% and snapshots taken
// often or never: the invariants after every event (one leader per epoch, one
// history, committed transactions never lost, ephemerals of live sessions
// only), that the ensemble settles once the faults heal, and that the
// history of the clients' writes to each znode is linearizable.
func TestSafetyUnderFaults(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		sc := drawScenario(t)
		e, w, err := sc.run()
		if err != nil {
			t.Fatalf("%v\nscenario: %+v", err, sc)
		}
		for _, s := range e.running() {
			if s.Err() != nil {
				t.Fatalf("server %d stopped: %v", s.ID(), s.Err())
			}
		}
		if len(w.ops) == 0 {
			t.Fatalf("the workload made no requests")
		}
	})
}

// TestDeterminism runs one faulty scenario twice: the trace hashes must be
// equal, and another seed must give another hash.
func TestDeterminism(t *testing.T) {
	sc := scenario{Seed: 42, Servers: 5, Clients: 3, SnapCount: 20, Episodes: []episode{
		{At: 3 * time.Second, For: 4 * time.Second, Kind: faulttest.Crash, Node: 4},
		{At: 5 * time.Second, For: 6 * time.Second, Kind: faulttest.Partition, Side: []int{1, 2}},
		{At: 9 * time.Second, For: 3 * time.Second, Kind: faulttest.TornPowerLoss, Node: 3},
		{At: 14 * time.Second, For: 5 * time.Second, Kind: faulttest.Pause, Node: 0},
		{At: 20 * time.Second, For: 2 * time.Second, Kind: faulttest.Isolate, Node: 2},
	}}
	hash := func(sc scenario) (string, uint64) {
		e, _, err := sc.run()
		require.NoError(t, err, "seed %d", sc.Seed)
		return e.s.Trace().HashString(), e.s.Steps()
	}
	h1, n1 := hash(sc)
	h2, n2 := hash(sc)
	require.Equal(t, h1, h2, "same seed, different trace hash: a determinism bug (seed %d)", sc.Seed)
	require.Equal(t, n1, n2)
	sc.Seed = 43
	h3, _ := hash(sc)
	require.NotEqual(t, h1, h3, "different seeds gave the same trace hash")
}
