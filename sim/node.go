package sim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// NodeID identifies a node within one simulation: its index in Sim.Nodes.
type NodeID int32

// NoNode is the NodeID of the world (events owned by no node).
const NoNode NodeID = -1

// Boot brings a node up: it is called on Start and on every Restart, and
// returns the node's process, the state machine that the node's scheduled
// events and incoming messages drive. Volatile state lives in the process
// and dies with it; what must survive a crash goes to n.Disk().
type Boot func(n *Node) any

// NodeState is a node's lifecycle state.
type NodeState uint8

// The node states.
const (
	Down   NodeState = iota // not running: never started, crashed, or powered off
	Up                      // running
	Paused                  // running but frozen: its events wait until it resumes
)

func (s NodeState) String() string {
	switch s {
	case Down:
		return "down"
	case Up:
		return "up"
	case Paused:
		return "paused"
	}
	return "NodeState(" + strconv.Itoa(int(s)) + ")"
}

// NodeEvent is a lifecycle transition, as told to OnNode hooks.
type NodeEvent uint8

// The lifecycle events.
const (
	NodeStarted   NodeEvent = iota // booted (first start or restart)
	NodeCrashed                    // process killed; the OS page cache survives
	NodePowerLost                  // machine lost power; unsynced writes are gone
	NodePaused                     // frozen (a long GC pause, SIGSTOP)
	NodeResumed                    // unfrozen
	NodeDiskLost                   // disk replaced by an empty one
)

func (e NodeEvent) String() string {
	switch e {
	case NodeStarted:
		return "start"
	case NodeCrashed:
		return "crash"
	case NodePowerLost:
		return "power-loss"
	case NodePaused:
		return "pause"
	case NodeResumed:
		return "resume"
	case NodeDiskLost:
		return "disk-loss"
	}
	return "NodeEvent(" + strconv.Itoa(int(e)) + ")"
}

// A Node is one machine of the simulation: a process that can crash and
// restart, a disk that outlives the process, and a local clock.
type Node struct {
	s        *Sim
	id       NodeID
	name     string
	boot     Boot
	proc     any
	state    NodeState
	inc      uint32 // incarnation: bumped on every start and crash
	boots    uint32 // number of times the node has booted
	disk     *Disk
	rng      *rand.Rand
	skew     time.Duration
	driftPPM int64
	deferred []Timer
}

// ID returns the node's id.
func (n *Node) ID() NodeID { return n.id }

// Name returns the node's name.
func (n *Node) Name() string { return n.name }

func (n *Node) String() string { return n.name }

// Sim returns the simulation the node belongs to.
func (n *Node) Sim() *Sim { return n.s }

// State returns the node's lifecycle state.
func (n *Node) State() NodeState { return n.state }

// Up reports whether the node is running (paused counts as running).
func (n *Node) Up() bool { return n.state != Down }

// Process returns the running process, or nil when the node is down.
func (n *Node) Process() any { return n.proc }

// Boots returns how many times the node has booted; the first boot is 1.
func (n *Node) Boots() uint32 { return n.boots }

// Disk returns the node's disk, which survives crashes and restarts.
func (n *Node) Disk() *Disk { return n.disk }

// Rand returns the random stream of the node's current incarnation.
func (n *Node) Rand() *rand.Rand {
	if n.rng == nil {
		n.rng = n.s.Rand("node/" + n.name + "/" + strconv.Itoa(int(n.boots)))
	}
	return n.rng
}

// Start boots a node that is down. It is the same as Restart; both names
// read well at their call sites.
func (n *Node) Start() error { return n.Restart() }

// Restart boots a node that is down: a new incarnation of its process,
// which recovers from the node's disk.
func (n *Node) Restart() error {
	if n.state != Down {
		return fmt.Errorf("cannot start node %s: it is %s; crash it or power it off first", n.name, n.state)
	}
	n.inc++
	n.boots++
	n.rng = nil
	n.state = Up
	n.deferred = n.deferred[:0]
	n.s.notify(n, NodeStarted)
	n.proc = n.boot(n)
	return nil
}

// Crash kills the node's process: its volatile state and pending events are
// lost, and so are its connections, but the OS page cache survives, so a
// restart reads back everything the process wrote, synced or not.
func (n *Node) Crash() error {
	if n.state == Down {
		return fmt.Errorf("cannot crash node %s: it is already down", n.name)
	}
	n.kill()
	n.s.notify(n, NodeCrashed)
	return nil
}

// PowerLoss cuts the node's power: the process dies as in Crash and every
// write not yet synced to stable storage is lost. With tear set, a seeded
// random prefix of each file's unsynced bytes survives instead, as a torn
// write. A node that is already down can still lose power (its page cache
// is lost).
func (n *Node) PowerLoss(tear bool) {
	if n.state != Down {
		n.kill()
	}
	n.disk.powerLoss(n.s.Rand("disk/tear/"+n.name), tear)
	n.s.notify(n, NodePowerLost)
}

// LoseDisk replaces the node's disk with an empty one, as after a disk
// failure and replacement; a running node crashes first.
func (n *Node) LoseDisk() {
	if n.state != Down {
		n.kill()
		n.s.notify(n, NodeCrashed)
	}
	n.disk.detach()
	n.disk = newDisk(n)
	n.s.notify(n, NodeDiskLost)
}

func (n *Node) kill() {
	n.inc++
	n.state = Down
	n.proc = nil
	for _, t := range n.deferred {
		n.s.Cancel(t)
	}
	n.deferred = n.deferred[:0]
}

// Pause freezes a running node, as a long garbage-collection pause or
// SIGSTOP would: its timers and incoming messages wait, in order, until
// Resume. Its local clock keeps running.
func (n *Node) Pause() error {
	if n.state != Up {
		return fmt.Errorf("cannot pause node %s: it is %s; only a running node can be paused", n.name, n.state)
	}
	n.state = Paused
	n.s.notify(n, NodePaused)
	return nil
}

// Resume unfreezes a paused node; the events that came due while it was
// frozen run now, in the order they were due.
func (n *Node) Resume() error {
	if n.state != Paused {
		return fmt.Errorf("cannot resume node %s: it is %s, not paused", n.name, n.state)
	}
	n.state = Up
	q := &n.s.q
	for _, t := range n.deferred {
		i := q.lookup(t)
		if i < 0 || !q.slab[i].deferred {
			continue // cancelled while deferred
		}
		e := &q.slab[i]
		e.deferred = false
		e.at = n.s.now
		n.s.seq++
		e.seq = n.s.seq
		q.push(i)
	}
	n.deferred = n.deferred[:0]
	n.s.notify(n, NodeResumed)
	return nil
}

// MaxDriftPPM bounds clock drift: a local clock runs at most 50% fast or slow.
const MaxDriftPPM = 500_000

// SetClock gives the node a local clock that is skew ahead of global time
// (negative: behind) and runs driftPPM parts per million fast (negative:
// slow). Timers the node sets run on its local clock.
func (n *Node) SetClock(skew time.Duration, driftPPM int64) error {
	if driftPPM <= -MaxDriftPPM || driftPPM >= MaxDriftPPM {
		return fmt.Errorf("node %s: clock drift %d ppm is out of range: accepted is strictly between -%d and %d", n.name, driftPPM, MaxDriftPPM, MaxDriftPPM)
	}
	n.skew, n.driftPPM = skew, driftPPM
	n.s.trace.Emit(n, "node.clock", uint64(skew)^uint64(driftPPM)<<32, nil)
	return nil
}

// Now returns the node's local clock: global time with the node's skew and
// drift applied.
func (n *Node) Now() time.Duration { return n.localAt(n.s.now) }

// global converts a local duration to global time at the node's drift.
func (n *Node) global(d time.Duration) time.Duration {
	if n.driftPPM == 0 || d <= 0 {
		return max(d, 0)
	}
	den := time.Duration(1_000_000 + n.driftPPM)
	return (d/den)*1_000_000 + (d%den)*1_000_000/den
}

// After schedules fn after the local duration d, owned by the node's current
// incarnation: a crash discards it and a pause delays it. kind names the
// event in the trace. On a node that is down it does nothing. The event
// fires at the first global instant at which the node's clock has advanced
// by at least d, whatever its drift.
func (n *Node) After(d time.Duration, kind string, fn func()) Timer {
	if n.state == Down {
		return Timer{}
	}
	return n.s.schedule(n.fireAt(d), n, kind, callFunc, fn)
}

// AfterFunc is After for a function of one argument: fn(arg) runs after the
// local duration d. A hot path that keeps fn in a field schedules with it
// without allocating a closure per event.
func (n *Node) AfterFunc(d time.Duration, kind string, fn func(any), arg any) Timer {
	if n.state == Down {
		return Timer{}
	}
	return n.s.schedule(n.fireAt(d), n, kind, fn, arg)
}

// fireAt returns the first global time at which the local clock reads at
// least Now()+d. Integer rounding in the drift makes the local clock a step
// function of global time, so the estimate is corrected by search.
func (n *Node) fireAt(d time.Duration) time.Duration {
	now := n.s.now
	at := now + n.global(d)
	if n.driftPPM == 0 {
		return at
	}
	target := n.localAt(now) + max(d, 0)
	for n.localAt(at) < target {
		at++
	}
	for at > now && n.localAt(at-1) >= target {
		at--
	}
	return at
}

// localAt is the node's clock reading at global time g.
func (n *Node) localAt(g time.Duration) time.Duration {
	drift := (g/1_000_000)*time.Duration(n.driftPPM) + (g%1_000_000)*time.Duration(n.driftPPM)/1_000_000
	return g + drift + n.skew
}

// Cancel cancels a timer; see Sim.Cancel.
func (n *Node) Cancel(t Timer) bool { return n.s.Cancel(t) }

// Incarnation returns a number that changes whenever the node starts or
// crashes; events and connections remember it to tell a restarted process
// from the one that existed before.
func (n *Node) Incarnation() uint32 { return n.inc }
