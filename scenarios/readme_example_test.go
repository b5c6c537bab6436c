package scenarios_test

import (
	"path/filepath"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// The README's property test, verbatim (TestReadmeGoExample keeps the two
// the same): with RF=3, acks=all and min.insync.replicas=2, one broker
// crash loses nothing.
func TestMyConfigLosesNothing(t *testing.T) {
	base, _ := scenarios.Builtin("acks-all-one-broker-down")
	rapid.Check(t, func(rt *rapid.T) {
		s := base
		s.Seed = rapid.Uint64Range(1, 1<<32).Draw(rt, "seed")
		d := fault.Duration(20 * time.Second)
		s.Duration, s.Workload.ProduceUntil = &d, fault.Duration(15*time.Second)
		s.Faults = fault.Schedule{{At: fault.Duration(5 * time.Second), Kind: fault.Crash,
			Nodes: []string{rapid.SampledFrom([]string{"b1", "b2", "b3"}).Draw(rt, "node")}}}
		res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true})
		if err != nil {
			rt.Fatal(err)
		}
		if !res.Verdict.OK {
			path := filepath.Join(t.TempDir(), "fail.replay.json")
			_ = scenarios.NewReplayFile(res, 0).Write(path)
			rt.Fatalf("%s; replay: kafkasim replay %s", res.Summary(), path)
		}
	})
}
