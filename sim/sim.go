// Package sim is kafkasim's deterministic kernel: a virtual clock, an event
// queue ordered by (time, sequence number), cancellable timers, seeded random
// streams, nodes with a crash/restart/pause lifecycle, simulated disks with a
// page cache, and a streaming trace hash.
//
// One Sim runs on one goroutine. Nodes are state machines that the kernel
// drives by calling the functions they schedule (timers, message deliveries);
// nothing in a simulation may read the wall clock, start goroutines or use
// global randomness. Given the same seed and the same inputs, a Sim executes
// the same events in the same order and ends with the same trace hash.
package sim

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Config configures a simulation.
type Config struct {
	// Seed decides every random choice of the run.
	Seed uint64
	// Writeback, when positive, is how long a file's dirty page-cache data
	// may stay unwritten before the simulated OS writes it back to stable
	// storage on its own (Linux's dirty_expire_centisecs, 30 s by default).
	// Zero means the OS never writes back: only fsync makes data durable.
	Writeback time.Duration
	// Replay is a one-line command that replays this run; it is printed
	// with every failure the kernel reports.
	Replay string
	// Buggify enables BUGGIFY points by name (see Sim.Buggify); none in
	// plain runs.
	Buggify map[string]bool
}

// Sim is one deterministic simulation run.
type Sim struct {
	cfg     Config
	now     time.Duration
	seq     uint64
	steps   uint64
	q       queue
	nodes   []*Node
	byName  map[string]*Node
	streams map[string]*rand.Rand
	trace   Trace
	checks  []check
	hooks   []func(*Node, NodeEvent)
	err     error
	marks   map[string]uint64
}

type check struct {
	name string
	fn   func() error
}

// New returns a simulation at time zero with no nodes.
func New(cfg Config) *Sim {
	s := &Sim{
		cfg:     cfg,
		byName:  make(map[string]*Node),
		streams: make(map[string]*rand.Rand),
	}
	s.trace.init(s)
	return s
}

// Seed returns the run's seed.
func (s *Sim) Seed() uint64 { return s.cfg.Seed }

// Config returns the configuration the run was created with.
func (s *Sim) Config() Config { return s.cfg }

// Now returns the global simulated time since the start of the run.
func (s *Sim) Now() time.Duration { return s.now }

// Steps returns the number of events executed so far.
func (s *Sim) Steps() uint64 { return s.steps }

// Pending returns the number of events waiting in the queue.
func (s *Sim) Pending() int { return s.q.len() }

// Trace returns the run's trace.
func (s *Sim) Trace() *Trace { return &s.trace }

// Rand returns the random stream with the given name. Each name has its own
// stream derived from the seed and the name alone, so adding a consumer of
// randomness does not change what any other stream draws. Repeated calls
// with one name return the same stream.
func (s *Sim) Rand(name string) *rand.Rand {
	if r, ok := s.streams[name]; ok {
		return r
	}
	r := NewRand(s.cfg.Seed, name)
	s.streams[name] = r
	return r
}

// NewRand returns a random stream derived from a seed and a stream name,
// independent of any simulation. Sim.Rand is the usual way to get one.
func NewRand(seed uint64, name string) *rand.Rand {
	a := splitmix(seed ^ hashString(fnvOffset, name))
	b := splitmix(a)
	return rand.New(rand.NewPCG(a, b))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// At schedules fn at global time at (or now, if at is in the past). The
// event belongs to the world: it fires whatever state the nodes are in.
// kind names the event in the trace.
func (s *Sim) At(at time.Duration, kind string, fn func()) Timer {
	return s.schedule(at, nil, kind, callFunc, fn)
}

// After schedules fn after the global duration d; see At.
func (s *Sim) After(d time.Duration, kind string, fn func()) Timer {
	return s.schedule(s.now+max(d, 0), nil, kind, callFunc, fn)
}

// ScheduleOn schedules fn(arg) at global time at, owned by node n's current
// incarnation: it is dropped if n crashes first and deferred while n is
// paused. Passing a method value created once and a pointer arg makes the
// call allocation-free; the network uses it for deliveries.
func (s *Sim) ScheduleOn(n *Node, at time.Duration, kind string, fn func(any), arg any) Timer {
	if n.state == Down {
		return Timer{}
	}
	return s.schedule(at, n, kind, fn, arg)
}

func callFunc(a any) { a.(func())() }

func (s *Sim) schedule(at time.Duration, owner *Node, kind string, fn func(any), arg any) Timer {
	if at < s.now {
		at = s.now
	}
	i := s.q.alloc()
	e := &s.q.slab[i]
	s.seq++
	e.at, e.seq, e.owner, e.kind, e.fn, e.arg = at, s.seq, owner, kind, fn, arg
	e.deferred = false
	if owner != nil {
		e.inc = owner.inc
	}
	s.q.push(i)
	return Timer{slot: i + 1, gen: e.gen}
}

// Cancel cancels the event t names and reports whether it was still
// pending. Cancelling a fired, cancelled or zero Timer is a no-op.
func (s *Sim) Cancel(t Timer) bool {
	i := s.q.lookup(t)
	if i < 0 {
		return false
	}
	e := &s.q.slab[i]
	switch {
	case e.heap >= 0:
		s.q.removeAt(int(e.heap))
	case !e.deferred:
		return false
	}
	s.q.release(i)
	return true
}

// Scheduled reports whether the event t names is still waiting to fire.
func (s *Sim) Scheduled(t Timer) bool {
	i := s.q.lookup(t)
	return i >= 0 && (s.q.slab[i].heap >= 0 || s.q.slab[i].deferred)
}

// AddCheck registers an invariant checked after every executed event. The
// first check to return an error stops the run; Err then returns a *Failure
// naming the check, the seed, the time and the step.
func (s *Sim) AddCheck(name string, fn func() error) {
	s.checks = append(s.checks, check{name, fn})
}

// OnNode registers fn to be told of every node lifecycle event, after the
// kernel has applied it (for NodeStarted: before the node's boot function
// runs, so the network can accept what the booting node sends).
func (s *Sim) OnNode(fn func(*Node, NodeEvent)) { s.hooks = append(s.hooks, fn) }

// Fail stops the run with err, as a failed check does. Only the first
// failure is kept.
func (s *Sim) Fail(check string, err error) {
	if s.err != nil {
		return
	}
	s.err = &Failure{Seed: s.cfg.Seed, At: s.now, Step: s.steps, Check: check, Err: err, Replay: s.cfg.Replay}
}

// Err returns the failure that stopped the run, or nil.
func (s *Sim) Err() error { return s.err }

// A Failure is a run stopped by a failed check or by Fail.
type Failure struct {
	Seed   uint64
	At     time.Duration
	Step   uint64
	Check  string
	Err    error
	Replay string
}

func (f *Failure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v (seed %d, at %v, step %d)", f.Check, f.Err, f.Seed, f.At, f.Step)
	if f.Replay != "" {
		fmt.Fprintf(&b, "; replay: %s", f.Replay)
	}
	return b.String()
}

func (f *Failure) Unwrap() error { return f.Err }

// Step executes the next event, if any, and reports whether there was one
// and the run has not failed. Events of crashed incarnations are discarded
// without counting as a step; events of paused nodes are set aside until
// the node resumes.
func (s *Sim) Step() bool { return s.step(maxTime) }

// maxTime is later than any event.
const maxTime = time.Duration(1<<63 - 1)

// step executes the next live event due at or before limit. Discarded and
// set-aside events due by then are consumed on the way, but an event after
// limit is never touched, so a run never passes its limit.
func (s *Sim) step(limit time.Duration) bool {
	for {
		if s.err != nil {
			return false
		}
		top, ok := s.q.peek()
		if !ok || top.at > limit {
			return false
		}
		i := s.q.popMin()
		e := &s.q.slab[i]
		if e.at > s.now {
			s.now = e.at
		}
		owner := e.owner
		if owner != nil {
			if owner.inc != e.inc || owner.state == Down {
				s.q.release(i)
				continue
			}
			if owner.state == Paused {
				e.deferred = true
				owner.deferred = append(owner.deferred, Timer{slot: i + 1, gen: e.gen})
				continue
			}
		}
		fn, arg, kind := e.fn, e.arg, e.kind
		s.q.release(i)
		s.steps++
		s.trace.event(owner, kind)
		fn(arg)
		if s.err == nil {
			for _, c := range s.checks {
				if err := c.fn(); err != nil {
					s.Fail(c.name, err)
					break
				}
			}
		}
		return s.err == nil
	}
}

// RunUntil executes every event due at or before t, then advances the clock
// to t. It returns the run's failure, if any.
func (s *Sim) RunUntil(t time.Duration) error {
	for s.step(t) {
	}
	if s.err == nil && t > s.now {
		s.now = t
	}
	return s.err
}

// RunFor runs for the global duration d; see RunUntil.
func (s *Sim) RunFor(d time.Duration) error { return s.RunUntil(s.now + d) }

// RunSteps executes at most n events.
func (s *Sim) RunSteps(n uint64) error {
	for end := s.steps + n; s.steps < end && s.Step(); {
	}
	return s.err
}

// RunUntilQuiet runs until no event is left (paused nodes' deferred events
// aside) or until time limit, and reports whether the queue drained.
func (s *Sim) RunUntilQuiet(limit time.Duration) (bool, error) {
	err := s.RunUntil(limit)
	return s.q.len() == 0, err
}

// RunUntilTrue runs until cond holds (checked after every event) or time
// limit passes, and reports whether cond held.
func (s *Sim) RunUntilTrue(limit time.Duration, cond func() bool) (bool, error) {
	for s.err == nil && !cond() && s.step(limit) {
	}
	if s.err == nil && !cond() && limit > s.now {
		s.now = limit
	}
	return s.err == nil && cond(), s.err
}

// Nodes returns the nodes in the order they were added.
func (s *Sim) Nodes() []*Node { return s.nodes }

// Node returns the node with the given name, or an error that lists the
// names the simulation has.
func (s *Sim) Node(name string) (*Node, error) {
	if n, ok := s.byName[name]; ok {
		return n, nil
	}
	names := slices.Sorted(maps.Keys(s.byName))
	if len(names) == 0 {
		return nil, fmt.Errorf("unknown node %q: the simulation has no nodes", name)
	}
	return nil, fmt.Errorf("unknown node %q: known nodes are %s", name, strings.Join(names, ", "))
}

// NodeByID returns the node with the given id, or nil.
func (s *Sim) NodeByID(id NodeID) *Node {
	if id < 0 || int(id) >= len(s.nodes) {
		return nil
	}
	return s.nodes[id]
}

// AddNode adds a node, down, that boot brings up on Start and Restart. Names
// must be unique and made of letters, digits, '-', '_' and '.'.
func (s *Sim) AddNode(name string, boot Boot) (*Node, error) {
	if err := validName(name); err != nil {
		return nil, err
	}
	if _, dup := s.byName[name]; dup {
		return nil, fmt.Errorf("node %q already exists: node names must be unique", name)
	}
	if boot == nil {
		return nil, fmt.Errorf("node %q: boot function is nil", name)
	}
	n := &Node{s: s, id: NodeID(len(s.nodes)), name: name, boot: boot}
	n.disk = newDisk(n)
	s.nodes = append(s.nodes, n)
	s.byName[name] = n
	return n, nil
}

func validName(name string) error {
	if name == "" {
		return errors.New("node name is empty: give a name such as b1 or controller-1")
	}
	for _, r := range name {
		ok := r == '-' || r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !ok {
			return fmt.Errorf("node name %q has %q: names are made of letters, digits, '-', '_' and '.'", name, r)
		}
	}
	return nil
}

func (s *Sim) notify(n *Node, ev NodeEvent) {
	s.trace.Emit(n, "node."+ev.String(), 0, nil)
	for _, h := range s.hooks {
		h(n, ev)
	}
}
