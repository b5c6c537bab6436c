package network_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// text is a message that is just a string; its first word is its kind.
type text string

func (m text) Kind() string { k, _, _ := strings.Cut(string(m), " "); return k }

// peer is a process that logs what it receives and when its connections
// break.
type peer struct {
	n      *sim.Node
	log    *[]string
	closed bool // refuses new connections
}

func (p *peer) Refuses(from sim.NodeID, m network.Message) bool { return p.closed }

func (p *peer) Receive(from sim.NodeID, m network.Message) {
	*p.log = append(*p.log, fmt.Sprintf("%v %s <- %s: %s", p.n.Sim().Now(), p.n, p.n.Sim().NodeByID(from), m))
}

func (p *peer) Disconnected(to sim.NodeID) {
	*p.log = append(*p.log, fmt.Sprintf("%v %s: disconnected from %s", p.n.Sim().Now(), p.n, p.n.Sim().NodeByID(to)))
}

// scriptEnv runs the network interaction scripts under testdata. Each verb
// is one small method, in the manner of etcd-raft's interaction tests.
type scriptEnv struct {
	s   *sim.Sim
	net *network.Network
	log []string
}

func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		env := &scriptEnv{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := env.handle(d)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

func (e *scriptEnv) handle(d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "nodes":
		return e.nodes(d)
	case "send":
		return e.send(d)
	case "run":
		return e.run(d)
	case "partition", "isolate", "ring", "bridge", "cut", "heal":
		return e.partition(d)
	case "crash", "power-loss", "restart", "pause", "resume":
		return e.lifecycle(d)
	case "link":
		return e.link(d)
	case "listen":
		return e.listen(d)
	case "hold":
		return e.hold(d)
	}
	return "", fmt.Errorf("unknown command %q", d.Cmd)
}

// nodes latency=1ms jitter=0 detect=5s a b c
func (e *scriptEnv) nodes(d *datadriven.TestData) (string, error) {
	e.s = sim.New(sim.Config{Seed: 1})
	cfg := network.DefaultConfig()
	cfg.Link.Latency = time.Millisecond
	cfg.Link.Jitter = 0
	for _, a := range d.CmdArgs {
		if len(a.Vals) == 0 {
			continue
		}
		v, err := time.ParseDuration(a.Vals[0])
		if err != nil {
			return "", err
		}
		switch a.Key {
		case "latency":
			cfg.Link.Latency = v
		case "jitter":
			cfg.Link.Jitter = v
		case "detect":
			cfg.DetectTimeout = v
		}
	}
	var err error
	if e.net, err = network.New(e.s, cfg); err != nil {
		return "", err
	}
	for _, a := range d.CmdArgs {
		if len(a.Vals) > 0 {
			continue
		}
		n, err := e.s.AddNode(a.Key, func(n *sim.Node) any { return &peer{n: n, log: &e.log} })
		if err != nil {
			return "", err
		}
		if err := n.Start(); err != nil {
			return "", err
		}
	}
	return "ok\n", nil
}

// send a b hello: each line of the input is one message "from to text".
func (e *scriptEnv) send(d *datadriven.TestData) (string, error) {
	for _, line := range strings.Split(strings.TrimSpace(d.Input), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			return "", fmt.Errorf("send wants lines of: from to text")
		}
		ids, err := e.net.Resolve(f[0], f[1])
		if err != nil {
			return "", err
		}
		e.net.Send(ids[0], ids[1], text(strings.Join(f[2:], " ")))
	}
	return "", nil
}

// run 1s: run for a duration and print what the processes saw.
func (e *scriptEnv) run(d *datadriven.TestData) (string, error) {
	v, err := time.ParseDuration(d.CmdArgs[0].Key)
	if err != nil {
		return "", err
	}
	if err := e.s.RunFor(v); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, l := range e.log {
		b.WriteString(l + "\n")
	}
	e.log = e.log[:0]
	st := e.net.Stats()
	if st.Held > 0 {
		fmt.Fprintf(&b, "(sent %d, delivered %d, dropped %d, held %d)\n", st.Sent, st.Delivered, st.Dropped, st.Held)
	} else {
		fmt.Fprintf(&b, "(sent %d, delivered %d, dropped %d)\n", st.Sent, st.Delivered, st.Dropped)
	}
	return b.String(), nil
}

// partition a,b c; isolate a; ring a b c d; bridge a,b c d,e; cut a b; heal
func (e *scriptEnv) partition(d *datadriven.TestData) (string, error) {
	groups := make([][]string, 0, len(d.CmdArgs))
	for _, a := range d.CmdArgs {
		groups = append(groups, strings.Split(a.Key, ","))
	}
	ids, err := e.net.Groups(groups...)
	if err != nil {
		return "", err
	}
	flat := func() []sim.NodeID {
		var out []sim.NodeID
		for _, g := range ids {
			out = append(out, g...)
		}
		return out
	}
	switch d.Cmd {
	case "partition":
		err = e.net.Partition(ids...)
	case "isolate":
		err = e.net.Isolate(ids[0][0])
	case "ring":
		err = e.net.Ring(flat())
	case "bridge":
		err = e.net.Bridge(ids[0], ids[1][0], ids[2])
	case "cut":
		err = e.net.Cut(ids[0][0], ids[1][0])
	case "heal":
		e.net.Heal()
	}
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, l := range e.net.Blocked() {
		fmt.Fprintf(&b, "%s->%s ", e.s.NodeByID(l[0]), e.s.NodeByID(l[1]))
	}
	if b.Len() == 0 {
		return "all links open\n", nil
	}
	return "blocked: " + strings.TrimSpace(b.String()) + "\n", nil
}

func (e *scriptEnv) lifecycle(d *datadriven.TestData) (string, error) {
	n, err := e.s.Node(d.CmdArgs[0].Key)
	if err != nil {
		return "", err
	}
	switch d.Cmd {
	case "crash":
		err = n.Crash()
	case "power-loss":
		n.PowerLoss(false)
	case "restart":
		err = n.Restart()
	case "pause":
		err = n.Pause()
	case "resume":
		err = n.Resume()
	}
	if err != nil {
		return "", err
	}
	return "ok\n", nil
}

// link a b loss=0.5 duplicate=0 reorder=0 reorder-delay=5ms latency=1ms bandwidth=1000
func (e *scriptEnv) link(d *datadriven.TestData) (string, error) {
	ids, err := e.net.Resolve(d.CmdArgs[0].Key, d.CmdArgs[1].Key)
	if err != nil {
		return "", err
	}
	l := network.Link{Latency: time.Millisecond}
	for _, a := range d.CmdArgs[2:] {
		v := a.Vals[0]
		switch a.Key {
		case "latency":
			l.Latency, err = time.ParseDuration(v)
		case "jitter":
			l.Jitter, err = time.ParseDuration(v)
		case "reorder-delay":
			l.ReorderDelay, err = time.ParseDuration(v)
		case "bandwidth":
			_, err = fmt.Sscan(v, &l.Bandwidth)
		case "loss":
			_, err = fmt.Sscan(v, &l.Loss)
		case "duplicate":
			_, err = fmt.Sscan(v, &l.Duplicate)
		case "reorder":
			_, err = fmt.Sscan(v, &l.Reorder)
		default:
			err = fmt.Errorf("unknown link setting %q", a.Key)
		}
		if err != nil {
			return "", err
		}
	}
	if err := e.net.SetLink(ids[0], ids[1], l); err != nil {
		return "", err
	}
	return "ok\n", nil
}

// listen c on|off: whether node c accepts new connections.
func (e *scriptEnv) listen(d *datadriven.TestData) (string, error) {
	n, err := e.s.Node(d.CmdArgs[0].Key)
	if err != nil {
		return "", err
	}
	p, ok := n.Process().(*peer)
	if !ok {
		return "", fmt.Errorf("node %s is down", n)
	}
	p.closed = d.CmdArgs[1].Key == "off"
	return "ok\n", nil
}

// hold from=a to=b kinds=Produce,EndTxn for=5s count=1: hold messages
// (from and to may be left out, or list several nodes: from=a,b).
func (e *scriptEnv) hold(d *datadriven.TestData) (string, error) {
	h := network.Hold{Count: 1}
	var err error
	for _, a := range d.CmdArgs {
		v := strings.Join(a.Vals, ",")
		switch a.Key {
		case "from", "to":
			var ids []sim.NodeID
			if ids, err = e.net.Resolve(strings.Split(v, ",")...); err != nil {
				return "", err
			}
			if a.Key == "from" {
				h.From = ids
			} else {
				h.To = ids
			}
		case "kinds":
			h.Kinds = strings.Split(v, ",")
		case "for":
			h.For, err = time.ParseDuration(v)
		case "count":
			_, err = fmt.Sscan(v, &h.Count)
		default:
			err = fmt.Errorf("unknown hold setting %q", a.Key)
		}
		if err != nil {
			return "", err
		}
	}
	if err := e.net.Hold(h); err != nil {
		return "", err
	}
	return fmt.Sprintf("holds: %d\n", len(e.net.Holds())), nil
}
