package zookeeper_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/sim"
)

// TestInteractions runs the scripts under testdata: readable step-by-step
// stories of the ensemble, in the manner of etcd-raft's interaction tests.
// Each verb is one small handler in interaction_handlers_test.go;
// `go test ./broker/zookeeper -run TestInteractions -rewrite` regenerates
// the expected output, which must then be read.
func TestInteractions(t *testing.T) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() { // testdata/rapid holds rapid's fail files
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			env := &scriptEnv{replay: "go test ./broker/zookeeper -run TestInteractions/" + e.Name()}
			datadriven.RunTest(t, filepath.Join("testdata", e.Name()), func(t *testing.T, d *datadriven.TestData) string {
				out, err := env.handle(d)
				if err != nil {
					out += "error: " + err.Error() + "\n"
				}
				return out
			})
		})
	}
}

// scriptEnv holds the ensemble a script drives and the lines it has not
// printed yet.
type scriptEnv struct {
	replay string
	e      *ensemble
	lines  []string
	msgs   bool
	pings  bool
}

func (env *scriptEnv) handle(d *datadriven.TestData) (string, error) {
	if d.Cmd != "ensemble" && env.e == nil {
		return "", fmt.Errorf("%s: start an ensemble first (ensemble servers=3 clients=2 ...)", d.Cmd)
	}
	switch d.Cmd {
	case "ensemble":
		return env.handleEnsemble(d)
	case "run":
		return env.handleRun(d)
	case "run-until":
		return env.handleRunUntil(d)
	case "status":
		return env.handleStatus(d)
	case "tree":
		return env.handleTree(d)
	case "log":
		return env.handleLog(d)
	case "connect":
		return env.handleConnect(d)
	case "create", "set", "get", "exists", "children", "delete", "sync", "multi", "close":
		return env.handleOp(d)
	case "events":
		return env.handleEvents(d)
	case "fill":
		return env.handleFill(d)
	case "crash", "restart", "power-loss", "pause", "resume":
		return env.handleLifecycle(d)
	case "partition", "isolate", "heal":
		return env.handleNetwork(d)
	case "link":
		return env.handleLink(d)
	case "marks":
		return env.handleMarks(d)
	}
	return "", fmt.Errorf("unknown command %q: known are ensemble, run, run-until, status, tree, log, connect, create, set, get, exists, children, delete, sync, multi, close, fill, events, crash, restart, power-loss, pause, resume, partition, isolate, heal, link, marks", d.Cmd)
}

// printed are the trace kinds a script shows.
var printed = map[string]bool{
	"zk.become": true, "zk.elect": true, "zk.leader.established": true, "zk.leader.broadcast": true,
	"zk.leader.sync": true, "zk.truncate": true, "zk.follower.uptodate": true, "zk.leader.shutdown": true,
	"zk.follower.leave": true, "zk.session.expire": true, "zk.load": true, "zk.fatal": true, "zk.leader.learner-closed": true,
}

// record keeps the trace records a script prints, and with messages on,
// deliveries.
func (env *scriptEnv) record(r sim.Record) {
	switch {
	case printed[r.Kind]:
	case env.msgs && r.Kind == "net.recv" && (env.pings || !strings.HasPrefix(r.Detail, "PING") && !strings.Contains(r.Detail, "ping")):
	default:
		return
	}
	env.line(fmt.Sprintf("%s: %s", r.Node, strings.TrimPrefix(r.Kind, "zk.")), r.Detail)
}

// line adds a printed line, stamped with the simulated time (0.1 ms).
func (env *scriptEnv) line(who, what string) {
	at := env.e.s.Now().Round(100 * 1000)
	env.lines = append(env.lines, fmt.Sprintf("%v %s %s", at, who, what))
}

func (env *scriptEnv) flush() string {
	var b strings.Builder
	for _, l := range env.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	env.lines = env.lines[:0]
	return b.String()
}
