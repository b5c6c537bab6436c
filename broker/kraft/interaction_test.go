package kraft_test

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
// stories of the quorum, in the manner of etcd-raft's interaction tests.
// Each verb is one small handler in interaction_handlers_test.go;
// `go test ./broker/kraft -run TestInteractions -rewrite` regenerates the
// expected output, which must then be read.
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
			env := &scriptEnv{replay: "go test ./broker/kraft -run TestInteractions/" + e.Name()}
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

// scriptEnv holds the cluster a script drives and the trace records it has
// not printed yet.
type scriptEnv struct {
	replay string
	cl     *cluster
	lines  []string
	msgs   bool
}

func (e *scriptEnv) handle(d *datadriven.TestData) (string, error) {
	if d.Cmd != "cluster" && e.cl == nil {
		return "", fmt.Errorf("%s: start a cluster first (cluster voters=3 observers=2 ...)", d.Cmd)
	}
	switch d.Cmd {
	case "cluster":
		return e.handleCluster(d)
	case "run":
		return e.handleRun(d)
	case "run-until":
		return e.handleRunUntil(d)
	case "status":
		return e.handleStatus(d)
	case "log":
		return e.handleLog(d)
	case "append":
		return e.handleAppend(d)
	case "resign":
		return e.handleResign(d)
	case "crash", "restart", "power-loss", "pause", "resume", "disk-loss":
		return e.handleLifecycle(d)
	case "partition", "isolate", "heal":
		return e.handleNetwork(d)
	case "listener":
		return e.handleListener(d)
	case "marks":
		return e.handleMarks(d)
	}
	return "", fmt.Errorf("unknown command %q: known are cluster, run, run-until, status, log, append, resign, crash, restart, power-loss, pause, resume, disk-loss, partition, isolate, heal, listener, marks", d.Cmd)
}

// record keeps the trace records a script prints: role changes,
// truncations, recoveries and failures, and with messages on, deliveries.
func (e *scriptEnv) record(r sim.Record) {
	switch {
	case r.Kind == "kraft.become", r.Kind == "kraft.truncate", r.Kind == "kraft.recover", r.Kind == "kraft.fatal":
	case e.msgs && r.Kind == "net.recv":
	default:
		return
	}
	at := r.At.Round(100 * 1000) // 0.1 ms
	e.lines = append(e.lines, fmt.Sprintf("%v %s %s: %s", at, r.Node, strings.TrimPrefix(r.Kind, "kraft."), r.Detail))
}

func (e *scriptEnv) flush() string {
	var b strings.Builder
	for _, l := range e.lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	e.lines = e.lines[:0]
	return b.String()
}
