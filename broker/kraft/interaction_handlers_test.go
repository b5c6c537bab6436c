package kraft_test

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// One handler per script verb.

// cluster voters=3 observers=2 seed=1 prevote=true checkquorum=true
// hwm-in-fetch=true restart-as-leader=false linger=25ms election-timeout=1s fetch-timeout=2s
// latency=1ms jitter=0 max-uncommitted=10000
func (e *scriptEnv) handleCluster(d *datadriven.TestData) (string, error) {
	cc := defaultClusterConfig()
	cc.link = network.Link{Latency: time.Millisecond}
	for _, a := range d.CmdArgs {
		if len(a.Vals) != 1 {
			return "", fmt.Errorf("cluster: %s wants one value, as %s=...", a.Key, a.Key)
		}
		v := a.Vals[0]
		var err error
		switch a.Key {
		case "voters":
			cc.voters, err = strconv.Atoi(v)
		case "observers":
			cc.observers, err = strconv.Atoi(v)
		case "seed":
			cc.seed, err = strconv.ParseUint(v, 10, 64)
		case "prevote":
			cc.kraft.PreVote, err = strconv.ParseBool(v)
		case "checkquorum":
			cc.kraft.CheckQuorum, err = strconv.ParseBool(v)
		case "hwm-in-fetch":
			cc.kraft.HighWatermarkInFetch, err = strconv.ParseBool(v)
		case "restart-as-leader":
			cc.kraft.LeaderRestartsAsLeader, err = strconv.ParseBool(v)
		case "max-uncommitted":
			cc.kraft.MaxUncommitted, err = strconv.Atoi(v)
		case "linger":
			cc.kraft.AppendLinger, err = time.ParseDuration(v)
		case "election-timeout":
			cc.kraft.ElectionTimeout, err = time.ParseDuration(v)
		case "fetch-timeout":
			cc.kraft.FetchTimeout, err = time.ParseDuration(v)
		case "latency":
			cc.link.Latency, err = time.ParseDuration(v)
		case "jitter":
			cc.link.Jitter, err = time.ParseDuration(v)
		default:
			return "", fmt.Errorf("cluster: unknown setting %q: known are voters, observers, seed, prevote, checkquorum, hwm-in-fetch, restart-as-leader, max-uncommitted, linger, election-timeout, fetch-timeout, latency, jitter", a.Key)
		}
		if err != nil {
			return "", fmt.Errorf("cluster: %s=%s: %v", a.Key, v, err)
		}
	}
	if cc.voters < 1 {
		return "", fmt.Errorf("cluster: voters=%d: a quorum needs at least one voter", cc.voters)
	}
	if err := cc.kraft.Validate(); err != nil {
		return "", err
	}
	e.lines = e.lines[:0]
	cc.replay = e.replay
	cl, err := newCluster(cc)
	if err != nil {
		return "", err
	}
	e.cl = cl
	cl.s.Trace().SetSink(e.record)
	var names []string
	for _, m := range cl.members {
		names = append(names, fmt.Sprintf("%s(%d)", m.name, m.id))
	}
	return "voters and observers: " + strings.Join(names, " ") + "\n", nil
}

// run 2s [msgs]: run for a while and print what changed.
func (e *scriptEnv) handleRun(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("run: give a duration, as run 2s")
	}
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		return "", fmt.Errorf("run: %v", err)
	}
	e.msgs = d.HasArg("msgs")
	defer func() { e.msgs = false }()
	err = e.cl.s.RunFor(dur)
	return e.flush(), err
}

// run-until stable|leader|caught-up|<node>=<role> [max=10s]: run until
// the condition holds, and print what changed and when it held.
func (e *scriptEnv) handleRunUntil(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("run-until: give a condition: stable, leader, caught-up or <node>=<role>")
	}
	limit := 30 * time.Second
	for _, a := range d.CmdArgs[1:] {
		if a.Key != "max" || len(a.Vals) != 1 {
			return "", fmt.Errorf("run-until: unknown argument %s: give max=<duration>", a)
		}
		v, err := time.ParseDuration(a.Vals[0])
		if err != nil {
			return "", fmt.Errorf("run-until: max=%s: %v", a.Vals[0], err)
		}
		limit = v
	}
	var cond func() bool
	name := d.CmdArgs[0].Key
	if a := d.CmdArgs[0]; len(a.Vals) == 1 { // c1=candidate: until the node has that role
		m, err := e.cl.member(a.Key)
		if err != nil {
			return "", err
		}
		role := a.Vals[0]
		name = a.Key + "=" + role
		cond = func() bool { p := m.proc(); return p != nil && p.c.Role().String() == role }
	}
	switch {
	case cond != nil:
	case name == "stable":
		cond = e.cl.stable
	case name == "leader":
		cond = func() bool { return e.cl.leader() != nil }
	case name == "caught-up":
		cond = e.cl.caughtUp
	default:
		return "", fmt.Errorf("run-until: unknown condition %q: known are stable, leader, caught-up and <node>=<role>", name)
	}
	ok, err := e.cl.runUntil(limit, cond)
	out := e.flush()
	if err != nil {
		return out, err
	}
	if ok {
		return out + fmt.Sprintf("%s at %v\n", name, e.cl.s.Now().Round(100*1000)), nil
	}
	return out + fmt.Sprintf("not %s within %v\n", name, limit), nil
}

// status: one line per node: role, epoch, leader, vote, LEO, HWM, log.
func (e *scriptEnv) handleStatus(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, m := range e.cl.members {
		p := m.proc()
		if p == nil {
			fmt.Fprintf(&b, "%-3s down\n", m.name)
			continue
		}
		c := p.c
		role := c.Role().String()
		if c.Observer() {
			role = "observer/" + role
		}
		if m.node.State() == sim.Paused {
			role += "(paused)"
		}
		fmt.Fprintf(&b, "%-3s %-19s epoch=%d leader=%s vote=%s leo=%d hwm=%d log=%s\n", m.name, role, c.Epoch(),
			e.cl.nameOf(c.Leader()), e.cl.nameOf(c.VotedFor()), c.EndOffset(), c.HighWatermark(), logSummary(c.Log()))
	}
	return b.String(), nil
}

// logSummary shows a log as its epochs: e1:[0,3) e2:[3,5).
func logSummary(l *kraft.Log) string {
	ep := l.Epochs()
	if len(ep) == 0 {
		return "empty"
	}
	parts := make([]string, len(ep))
	for i, x := range ep {
		end := l.EndOffset()
		if i+1 < len(ep) {
			end = ep[i+1][1]
		}
		parts[i] = fmt.Sprintf("e%d:[%d,%d)", x[0], x[1], end)
	}
	return strings.Join(parts, " ")
}

// log c1: every batch of a node's log.
func (e *scriptEnv) handleLog(d *datadriven.TestData) (string, error) {
	p, err := e.running(d)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, x := range p.c.Log().Batches() {
		mark := " "
		if x.EndOffset() <= p.c.HighWatermark() {
			mark = "*"
		}
		fmt.Fprintf(&b, "%s %v\n", mark, x)
	}
	if b.Len() == 0 {
		return "empty\n", nil
	}
	return b.String() + "(* committed, as this node knows)\n", nil
}

// append a b c [to=c2], or append count=100 [to=c2]: append records on the
// leader (or the given node).
func (e *scriptEnv) handleAppend(d *datadriven.TestData) (string, error) {
	p := e.cl.leader()
	var recs [][]byte
	for _, a := range d.CmdArgs {
		switch {
		case a.Key == "to" && len(a.Vals) == 1:
			m, err := e.cl.member(a.Vals[0])
			if err != nil {
				return "", err
			}
			if p = m.proc(); p == nil {
				return "", fmt.Errorf("append: %s is down", m.name)
			}
		case a.Key == "count" && len(a.Vals) == 1:
			n, err := strconv.Atoi(a.Vals[0])
			if err != nil || n < 1 {
				return "", fmt.Errorf("append: count=%s: give a positive number", a.Vals[0])
			}
			for i := 1; i <= n; i++ {
				recs = append(recs, []byte("v"+strconv.Itoa(i)))
			}
		case len(a.Vals) == 0:
			recs = append(recs, []byte(a.Key))
		default:
			return "", fmt.Errorf("append: unknown argument %s", a)
		}
	}
	if p == nil {
		return "", fmt.Errorf("append: no node leads; give to=<node>")
	}
	last, err := p.c.Append(recs)
	if err != nil {
		return e.flush(), err
	}
	return e.flush() + fmt.Sprintf("%s appended %d records, the last at offset %d\n", p.m.name, len(recs), last), nil
}

// resign c1: the leader gives up its epoch gracefully.
func (e *scriptEnv) handleResign(d *datadriven.TestData) (string, error) {
	p, err := e.running(d)
	if err != nil {
		return "", err
	}
	p.c.Resign()
	return e.flush() + "ok\n", nil
}

// crash c1 | restart c1 | power-loss c1 [tear] | pause c1 | resume c1 |
// disk-loss c1
func (e *scriptEnv) handleLifecycle(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("%s: name a node", d.Cmd)
	}
	m, err := e.cl.member(d.CmdArgs[0].Key)
	if err != nil {
		return "", err
	}
	n := m.node
	switch d.Cmd {
	case "crash":
		err = n.Crash()
	case "restart":
		err = n.Restart()
	case "power-loss":
		n.PowerLoss(d.HasArg("tear"))
	case "pause":
		err = n.Pause()
	case "resume":
		err = n.Resume()
	case "disk-loss":
		n.LoseDisk()
	}
	out := e.flush()
	if err != nil {
		return out, err
	}
	if err := e.cl.s.Err(); err != nil {
		return out, err
	}
	return out + "ok\n", nil
}

// partition c1 c2,c3 | isolate c1 | heal
func (e *scriptEnv) handleNetwork(d *datadriven.TestData) (string, error) {
	var args []string
	for _, a := range d.CmdArgs {
		args = append(args, a.Key)
	}
	if err := faulttest.NetworkCommand(e.cl.net, d.Cmd, args); err != nil {
		return "", err
	}
	return "ok\n", nil
}

// listener c1: what the node's listener has been told in this incarnation.
func (e *scriptEnv) handleListener(d *datadriven.TestData) (string, error) {
	p, err := e.running(d)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("leader changes: %s\ncommitted: offsets [0,%d) in %d batches, %d data records\n",
		strings.Join(p.changes, " "), p.commits, p.batches, p.records), nil
}

// marks: the coverage marks of the run so far, with counts.
func (e *scriptEnv) handleMarks(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, name := range e.cl.s.MarkNames() {
		if strings.HasPrefix(name, "kraft.") {
			fmt.Fprintf(&b, "%s %d\n", name, e.cl.s.Marked(name))
		}
	}
	return b.String(), nil
}

func (e *scriptEnv) running(d *datadriven.TestData) (*proc, error) {
	if len(d.CmdArgs) == 0 {
		return nil, fmt.Errorf("%s: name a node", d.Cmd)
	}
	m, err := e.cl.member(d.CmdArgs[0].Key)
	if err != nil {
		return nil, err
	}
	p := m.proc()
	if p == nil {
		return nil, fmt.Errorf("%s: %s is down", d.Cmd, m.name)
	}
	return p, nil
}
