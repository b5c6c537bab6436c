package zookeeper_test

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// One handler per script verb.

// ensemble servers=3 clients=2 seed=1 tick=2s init-limit=10 sync-limit=5
// snap-count=100000 commit-log-count=500 snapshot-size-factor=0.33
// force-sync=true latency=1ms
func (env *scriptEnv) handleEnsemble(d *datadriven.TestData) (string, error) {
	ec := defaultEnsembleConfig()
	for _, a := range d.CmdArgs {
		if len(a.Vals) != 1 {
			return "", fmt.Errorf("ensemble: %s wants one value, as %s=...", a.Key, a.Key)
		}
		v := a.Vals[0]
		var err error
		switch a.Key {
		case "servers":
			ec.servers, err = strconv.Atoi(v)
		case "clients":
			ec.clients, err = strconv.Atoi(v)
		case "seed":
			ec.seed, err = strconv.ParseUint(v, 10, 64)
		case "tick":
			ec.zk.TickTime, err = time.ParseDuration(v)
		case "init-limit":
			ec.zk.InitLimit, err = strconv.Atoi(v)
		case "sync-limit":
			ec.zk.SyncLimit, err = strconv.Atoi(v)
		case "snap-count":
			ec.zk.SnapCount, err = strconv.Atoi(v)
		case "force-sync":
			ec.zk.ForceSync, err = strconv.ParseBool(v)
		case "commit-log-count":
			ec.zk.CommitLogCount, err = strconv.Atoi(v)
		case "snapshot-size-factor":
			ec.zk.SnapshotSizeFactor, err = strconv.ParseFloat(v, 64)
		case "latency":
			ec.link.Latency, err = time.ParseDuration(v)
		default:
			return "", fmt.Errorf("ensemble: unknown setting %q: known are servers, clients, seed, tick, init-limit, sync-limit, snap-count, commit-log-count, snapshot-size-factor, force-sync, latency", a.Key)
		}
		if err != nil {
			return "", fmt.Errorf("ensemble: %s=%s: %v", a.Key, v, err)
		}
	}
	if ec.servers < 1 {
		return "", fmt.Errorf("ensemble: servers=%d: an ensemble needs at least one server", ec.servers)
	}
	if err := ec.zk.Validate(); err != nil {
		return "", err
	}
	ec.replay = env.replay
	env.lines = env.lines[:0]
	e, err := newEnsemble(ec)
	if err != nil {
		return "", err
	}
	env.e = e
	e.s.Trace().SetSink(env.record)
	var names []string
	for _, m := range e.servers {
		names = append(names, fmt.Sprintf("%s(myid=%d)", m.name, m.sid))
	}
	for _, c := range e.clients {
		names = append(names, c.name)
	}
	return "nodes: " + strings.Join(names, " ") + "\n", nil
}

// run 2s [msgs] [pings]: run for a while and print what happened.
func (env *scriptEnv) handleRun(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("run: give a duration, as run 2s")
	}
	dur, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		return "", fmt.Errorf("run: %v", err)
	}
	env.msgs, env.pings = d.HasArg("msgs"), d.HasArg("pings")
	defer func() { env.msgs, env.pings = false, false }()
	err = env.e.s.RunFor(dur)
	return env.flush(), err
}

// run-until stable|caught-up|leader|<server>=<state>|<client>=<state>
// [max=30s] [msgs]: run until the condition holds.
func (env *scriptEnv) handleRunUntil(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("run-until: give a condition: stable, caught-up, leader, <server>=<LOOKING|FOLLOWING|LEADING> or <client>=<CONNECTED|CONNECTING|EXPIRED|CLOSED>")
	}
	limit := 30 * time.Second
	env.msgs = d.HasArg("msgs")
	defer func() { env.msgs = false }()
	for _, a := range d.CmdArgs[1:] {
		switch {
		case a.Key == "max" && len(a.Vals) == 1:
			v, err := time.ParseDuration(a.Vals[0])
			if err != nil {
				return "", fmt.Errorf("run-until: max=%s: %v", a.Vals[0], err)
			}
			limit = v
		case a.Key == "msgs":
		default:
			return "", fmt.Errorf("run-until: unknown argument %s: give max=<duration>", a)
		}
	}
	e := env.e
	a := d.CmdArgs[0]
	name := a.Key
	var cond func() bool
	switch {
	case len(a.Vals) == 1:
		name = a.Key + "=" + a.Vals[0]
		z, c, err := e.member(a.Key)
		if err != nil {
			return "", err
		}
		want := a.Vals[0]
		if z != nil {
			cond = func() bool {
				s := z.server()
				if s == nil || s.State().String() != want {
					return false
				}
				return s.State() == zookeeper.Looking || s.Phase() == zookeeper.Broadcast
			}
		} else {
			cond = func() bool { return c.handle != nil && c.handle.State().String() == want }
		}
	case name == "stable":
		cond = e.stable
	case name == "caught-up":
		cond = e.caughtUp
	case name == "leader":
		cond = func() bool { return e.leader() != nil }
	default:
		return "", fmt.Errorf("run-until: unknown condition %q", name)
	}
	ok, err := e.runUntil(limit, cond)
	out := env.flush()
	if err != nil {
		return out, err
	}
	if ok {
		return out + fmt.Sprintf("%s at %v\n", name, e.s.Now().Round(100*1000)), nil
	}
	return out + fmt.Sprintf("not %s within %v\n", name, limit), nil
}

// status: one line per server and per client handle.
func (env *scriptEnv) handleStatus(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	e := env.e
	for _, m := range e.servers {
		s := m.server()
		if s == nil {
			fmt.Fprintf(&b, "%s down\n", m.name)
			continue
		}
		st := s.State().String()
		if m.node.State() == sim.Paused {
			st += "(paused)"
		}
		fmt.Fprintf(&b, "%s %-9s %-15v epoch=%d accepted=%d leader=%d zxid=%v", m.name, st, s.Phase(), s.CurrentEpoch(), s.AcceptedEpoch(), s.Leader(), s.LastZxid())
		if s.Serving() {
			fmt.Fprintf(&b, " serving clients=%d", s.Connections())
		}
		if f := s.Followers(); f != nil {
			fmt.Fprintf(&b, " followers=%v", f)
		}
		b.WriteByte('\n')
	}
	for _, c := range e.clients {
		h := c.handle
		if h == nil {
			continue
		}
		srv, ok := h.Server()
		where := "-"
		if ok {
			where = e.s.NodeByID(srv).Name()
		}
		fmt.Fprintf(&b, "%s %v server=%s session=%s timeout=%v lastZxid=%v\n", c.name, h.State(), where, sessionName(h.SessionID()), h.SessionTimeout(), h.LastZxid())
	}
	return b.String(), nil
}

// sessionName shows a session id as ZooKeeper logs it.
func sessionName(id int64) string { return fmt.Sprintf("0x%x", id) }

// tree z1: a server's znodes (the /zookeeper subtree left out).
func (env *scriptEnv) handleTree(d *datadriven.TestData) (string, error) {
	s, err := env.server(d)
	if err != nil {
		return "", err
	}
	t := s.Tree()
	var b strings.Builder
	for _, p := range t.Paths() {
		if p == "/" || strings.HasPrefix(p, "/zookeeper") {
			continue
		}
		data, st, _ := t.Get(p)
		fmt.Fprintf(&b, "%s %s %v\n", p, zookeeper.Abbrev(data), st)
	}
	fmt.Fprintf(&b, "sessions: %d, lastProcessedZxid %v\n", len(t.Sessions()), t.LastProcessedZxid())
	return b.String(), nil
}

// log z1: a server's transaction log files and snapshots, as on its disk.
func (env *scriptEnv) handleLog(d *datadriven.TestData) (string, error) {
	z, _, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil || z == nil {
		return "", fmt.Errorf("log: name a server")
	}
	files, err := zookeeper.ReadTxnLogs(z.node.Disk(), zookeeper.DefaultDir)
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "%s:\n", f.Name)
		for _, t := range f.Txns {
			fmt.Fprintf(&b, "  %v\n", t)
		}
		if f.Torn {
			b.WriteString("  (torn)\n")
		}
	}
	names, valid := zookeeper.Snapshots(z.node.Disk(), zookeeper.DefaultDir)
	for i, n := range names {
		if valid[i] {
			fmt.Fprintf(&b, "%s\n", n)
		} else {
			fmt.Fprintf(&b, "%s (invalid)\n", n)
		}
	}
	return b.String(), err
}

// connect c1 [timeout=6s] [servers=(z1,z2)]: a new handle on a client node; runs until it
// connects.
func (env *scriptEnv) handleConnect(d *datadriven.TestData) (string, error) {
	_, c, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil || c == nil {
		return "", fmt.Errorf("connect: name a client node")
	}
	cfg := zookeeper.DefaultClientConfig()
	var servers []sim.NodeID
	for _, a := range d.CmdArgs[1:] {
		switch {
		case a.Key == "timeout" && len(a.Vals) == 1:
			if cfg.SessionTimeout, err = time.ParseDuration(a.Vals[0]); err != nil {
				return "", err
			}
		case a.Key == "servers":
			if servers, err = env.e.net.Resolve(a.Vals...); err != nil {
				return "", err
			}
		default:
			return "", fmt.Errorf("connect: unknown argument %s: known are timeout=<duration> and servers=(z1,z2)", a)
		}
	}
	c.events = nil
	c.onEvent = func(ev zookeeper.Event) { env.line(c.name+": event", ev.String()) }
	h, err := c.connect(cfg, servers)
	if err != nil {
		return "", err
	}
	_, err = env.e.runUntil(time.Minute, func() bool { return h.State() != zookeeper.Connecting })
	return env.flush() + fmt.Sprintf("%s %v session=%s timeout=%v\n", c.name, h.State(), sessionName(h.SessionID()), h.SessionTimeout()), err
}

// create c1 /a data=x [mode=ephemeral|sequential|ephemeral-sequential]
// set c1 /a data=y [version=N] | get c1 /a [watch] | exists c1 /a [watch]
// children c1 /a [watch] | delete c1 /a [version=N] | sync c1 /a | close c1
// multi c1 check=/a:1 set=/a:data:1 create=/b:data delete=/c:-1
// Every op runs until it completes unless async is given.
func (env *scriptEnv) handleOp(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("%s: name a client", d.Cmd)
	}
	_, c, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil || c == nil || c.handle == nil {
		return "", fmt.Errorf("%s: name a connected client", d.Cmd)
	}
	h := c.handle
	path := ""
	if len(d.CmdArgs) > 1 && strings.HasPrefix(d.CmdArgs[1].Key, "/") {
		path = d.CmdArgs[1].Key
	}
	var data []byte
	version := int32(-1)
	mode := zookeeper.Persistent
	watch := d.HasArg("watch")
	var ops []zookeeper.Op
	for _, a := range d.CmdArgs[1:] {
		if len(a.Vals) != 1 {
			continue
		}
		v := a.Vals[0]
		switch a.Key {
		case "data":
			data = []byte(v)
		case "version":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", err
			}
			version = int32(n)
		case "mode":
			switch v {
			case "ephemeral":
				mode = zookeeper.Ephemeral
			case "sequential":
				mode = zookeeper.PersistentSequential
			case "ephemeral-sequential":
				mode = zookeeper.EphemeralSequential
			default:
				return "", fmt.Errorf("mode=%s: give ephemeral, sequential or ephemeral-sequential", v)
			}
		case "check", "set", "create", "delete":
			parts := strings.Split(v, ":")
			switch a.Key {
			case "check", "delete":
				if len(parts) != 2 {
					return "", fmt.Errorf("%s=%s: give path:version", a.Key, v)
				}
				n, _ := strconv.Atoi(parts[1])
				if a.Key == "check" {
					ops = append(ops, zookeeper.CheckOp(parts[0], int32(n)))
				} else {
					ops = append(ops, zookeeper.DeleteOp(parts[0], int32(n)))
				}
			case "set":
				if len(parts) != 3 {
					return "", fmt.Errorf("set=%s: give path:data:version", v)
				}
				n, _ := strconv.Atoi(parts[2])
				ops = append(ops, zookeeper.SetDataOp(parts[0], []byte(parts[1]), int32(n)))
			case "create":
				if len(parts) != 2 {
					return "", fmt.Errorf("create=%s: give path:data", v)
				}
				ops = append(ops, zookeeper.CreateOp(parts[0], []byte(parts[1]), zookeeper.Persistent))
			}
		}
	}
	done := false
	cmd := d.Cmd
	say := func(format string, args ...any) {
		done = true
		env.line(c.name+":", strings.TrimSpace(cmd+" "+path)+" → "+fmt.Sprintf(format, args...))
	}
	errs := func(err error) string {
		if err == nil {
			return "ok"
		}
		return strings.TrimPrefix(err.Error(), "zookeeper: ")
	}
	switch d.Cmd {
	case "create":
		h.Create(path, data, mode, func(p string, err error) {
			if err != nil {
				say("%s", errs(err))
				return
			}
			say("%s", p)
		})
	case "set":
		h.SetData(path, data, version, func(st zookeeper.Stat, err error) {
			if err != nil {
				say("%s", errs(err))
				return
			}
			say("version=%d mzxid=%v", st.Version, st.Mzxid)
		})
	case "get":
		h.GetData(path, watch, func(data []byte, st zookeeper.Stat, err error) {
			if err != nil {
				say("%s", errs(err))
				return
			}
			say("%s version=%d", zookeeper.Abbrev(data), st.Version)
		})
	case "exists":
		h.Exists(path, watch, func(st zookeeper.Stat, err error) {
			if err != nil {
				say("%s", errs(err))
				return
			}
			say("version=%d ephemeralOwner=%s", st.Version, sessionName(st.EphemeralOwner))
		})
	case "children":
		h.GetChildren(path, watch, func(kids []string, st zookeeper.Stat, err error) {
			if err != nil {
				say("%s", errs(err))
				return
			}
			say("%v cversion=%d", kids, st.Cversion)
		})
	case "delete":
		h.Delete(path, version, func(err error) { say("%s", errs(err)) })
	case "sync":
		h.Sync(path, func(err error) { say("%s", errs(err)) })
	case "close":
		h.Close(func(err error) { say("%s", errs(err)) })
	case "multi":
		h.Multi(ops, func(rs []zookeeper.OpResult, err error) {
			var parts []string
			for _, r := range rs {
				parts = append(parts, r.Err.String())
			}
			say("%s %v", errs(err), parts)
		})
	}
	if d.HasArg("async") {
		return env.flush() + "issued\n", nil
	}
	ok, err := env.e.runUntil(time.Minute, func() bool { return done })
	out := env.flush()
	if err == nil && !ok {
		out += "no answer within a minute\n"
	}
	return out, err
}

// events c1: what the client's default watcher was told since the handle
// was made.
func (env *scriptEnv) handleEvents(d *datadriven.TestData) (string, error) {
	_, c, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil || c == nil {
		return "", fmt.Errorf("events: name a client node")
	}
	return strings.Join(c.events, "\n") + "\n", nil
}

// crash z1 | restart z1 | power-loss z1 [tear] | pause z1 | resume z1
func (env *scriptEnv) handleLifecycle(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) == 0 {
		return "", fmt.Errorf("%s: name a node", d.Cmd)
	}
	z, c, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil {
		return "", err
	}
	n := c.nodeOr(z)
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
	}
	out := env.flush()
	if err == nil {
		err = env.e.s.Err()
	}
	if err != nil {
		return out, err
	}
	return out + "ok\n", nil
}

func (c *clientMember) nodeOr(z *zkMember) *sim.Node {
	if c != nil {
		return c.node
	}
	return z.node
}

// partition z1 z2,z3 | isolate z1 | heal
func (env *scriptEnv) handleNetwork(d *datadriven.TestData) (string, error) {
	var args []string
	for _, a := range d.CmdArgs {
		args = append(args, a.Key)
	}
	if err := faulttest.NetworkCommand(env.e.net, d.Cmd, args); err != nil {
		return "", err
	}
	return "ok\n", nil
}

// marks: the coverage marks of the run so far, with counts.
func (env *scriptEnv) handleMarks(d *datadriven.TestData) (string, error) {
	var b strings.Builder
	for _, name := range env.e.s.MarkNames() {
		if strings.HasPrefix(name, "zk.") {
			fmt.Fprintf(&b, "%s %d\n", name, env.e.s.Marked(name))
		}
	}
	return b.String(), nil
}

func (env *scriptEnv) server(d *datadriven.TestData) (*zookeeper.Server, error) {
	if len(d.CmdArgs) == 0 {
		return nil, fmt.Errorf("%s: name a server", d.Cmd)
	}
	z, _, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil {
		return nil, err
	}
	if z == nil {
		return nil, fmt.Errorf("%s: %s is not a server", d.Cmd, d.CmdArgs[0].Key)
	}
	s := z.server()
	if s == nil {
		return nil, fmt.Errorf("%s: %s is down", d.Cmd, z.name)
	}
	return s, nil
}

// fill c1 /a count=10 [size=100]: create /a if it is missing, then set it
// count times, one after the other; prints a summary.
func (env *scriptEnv) handleFill(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) < 2 {
		return "", fmt.Errorf("fill: give a client and a path")
	}
	_, c, err := env.e.member(d.CmdArgs[0].Key)
	if err != nil || c == nil || c.handle == nil {
		return "", fmt.Errorf("fill: name a connected client")
	}
	path := d.CmdArgs[1].Key
	count, size := 10, 8
	for _, a := range d.CmdArgs[2:] {
		if len(a.Vals) != 1 {
			return "", fmt.Errorf("fill: %s wants a value", a.Key)
		}
		n, err := strconv.Atoi(a.Vals[0])
		if err != nil {
			return "", err
		}
		switch a.Key {
		case "count":
			count = n
		case "size":
			size = n
		default:
			return "", fmt.Errorf("fill: unknown argument %s: known are count and size", a.Key)
		}
	}
	h := c.handle
	data := func(i int) []byte {
		b := []byte(strings.Repeat(".", size))
		copy(b, strconv.Itoa(i))
		return b
	}
	var last error
	var version int32
	sets, done := 0, false
	var next func()
	next = func() {
		if sets == count {
			done = true
			return
		}
		sets++
		h.SetData(path, data(sets), -1, func(st zookeeper.Stat, err error) {
			if err != nil {
				last, done = err, true
				return
			}
			version = st.Version
			next()
		})
	}
	h.Create(path, data(0), zookeeper.Persistent, func(_ string, err error) {
		if err != nil && err != zookeeper.NodeExists {
			last, done = err, true
			return
		}
		next()
	})
	ok, err := env.e.runUntil(5*time.Minute, func() bool { return done })
	out := env.flush()
	switch {
	case err != nil:
		return out, err
	case !ok:
		return out + "not done within 5 minutes\n", nil
	case last != nil:
		return out + fmt.Sprintf("%s: %d sets, then %v\n", path, sets, last), nil
	}
	return out + fmt.Sprintf("%s: %d sets, version %d\n", path, sets, version), nil
}

// link z3 z1 latency=500ms: set the latency of one direction of a link.
func (env *scriptEnv) handleLink(d *datadriven.TestData) (string, error) {
	if len(d.CmdArgs) != 3 || d.CmdArgs[2].Key != "latency" || len(d.CmdArgs[2].Vals) != 1 {
		return "", fmt.Errorf("link: give link <from> <to> latency=<duration>")
	}
	ids, err := env.e.net.Resolve(d.CmdArgs[0].Key, d.CmdArgs[1].Key)
	if err != nil {
		return "", err
	}
	lat, err := time.ParseDuration(d.CmdArgs[2].Vals[0])
	if err != nil {
		return "", err
	}
	return "ok\n", env.e.net.SetLink(ids[0], ids[1], network.Link{Latency: lat})
}
