package scenarios_test

import (
	"fmt"

	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// durable is the configuration users rely on for durability: RF=3,
// acks=all, min.insync.replicas=2, clean election.
const durable = `{
  "name": "durable", "seed": 1, "duration": "40s",
  "cluster": {"brokers": 3, "controllers": 1,
    "broker_config": {"replica.lag.time.max.ms": "6000", "broker.session.timeout.ms": "6000"},
    "topics": [{"name": "t", "partitions": 2, "replication_factor": 3,
                "config": {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}}]},
  "workload": {
    "producers": [{"count": 1, "topic": "t", "rate": 25, "config": {"acks": "all"}}],
    "consumers": [{"count": 1, "topics": ["t"]}]
  }
}`

// drawSchedule draws faults one broker at a time: each fault is healed
// before the next begins, with a gap for the broker to come back. Crashes
// keep the page cache, so no broker loses acknowledged data on its own.
func drawSchedule(t *rapid.T, end time.Duration) fault.Schedule {
	brokers := []string{"b1", "b2", "b3", "leader(t-0)", "leader(t-1)"}
	var s fault.Schedule
	at := time.Duration(rapid.IntRange(2000, 6000).Draw(t, "start")) * time.Millisecond
	for at < end-8*time.Second {
		node := rapid.SampledFrom(brokers).Draw(t, "node")
		length := time.Duration(rapid.IntRange(500, 8000).Draw(t, "length")) * time.Millisecond
		heal := at + length
		switch rapid.IntRange(0, 3).Draw(t, "kind") {
		case 0:
			s = append(s, fault.Fault{At: fault.Duration(at), Kind: fault.Crash, Nodes: []string{node}},
				fault.Fault{At: fault.Duration(heal), Kind: fault.Restart, Nodes: []string{"brokers"}})
		case 1:
			s = append(s, fault.Fault{At: fault.Duration(at), Kind: fault.Pause, Nodes: []string{node}},
				fault.Fault{At: fault.Duration(heal), Kind: fault.Resume, Nodes: []string{"brokers"}})
		case 2:
			s = append(s, fault.Fault{At: fault.Duration(at), Kind: fault.Isolate, Nodes: []string{node}},
				fault.Fault{At: fault.Duration(heal), Kind: fault.Heal})
		case 3:
			other := rapid.SampledFrom([]string{"b1", "b2", "b3", "c1"}).Draw(t, "other")
			if other == node || node[0] != 'b' {
				node = "b1"
				if other == "b1" {
					other = "b2"
				}
			}
			s = append(s, fault.Fault{At: fault.Duration(at), Kind: fault.Cut, From: node, To: other},
				fault.Fault{At: fault.Duration(heal), Kind: fault.Heal})
		}
		// Next fault once this broker is back and registered again
		// (its old session must expire first).
		at = heal + time.Duration(rapid.IntRange(7000, 12000).Draw(t, "gap"))*time.Millisecond
	}
	return s
}

// TestNoLossWithOneBrokerFaultyAtATime is the property users rely on: with
// RF=3, acks=all, min.insync.replicas=2 and clean election, one broker
// crashed, paused or cut off at a time loses no acknowledged write, keeps
// every history linearizable and breaks no invariant. rapid shrinks a
// failing schedule; the failure names a replay file of the minimal run.
func TestNoLossWithOneBrokerFaultyAtATime(t *testing.T) {
	base := parse(t, durable)
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		s := base
		s.Seed = rapid.Uint64Range(1, 1<<32).Draw(rt, "seed")
		s.Faults = drawSchedule(rt, time.Duration(*s.Duration))
		res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true})
		if err != nil {
			rt.Fatal(err)
		}
		if !res.OK() {
			path := filepath.Join(dir, fmt.Sprintf("durable-seed%d.replay.json", s.Seed))
			_ = scenarios.NewReplayFile(res, 0).Write(path)
			rt.Fatalf("%s\nschedule:\n%s\nreplay: kafkasim replay %s", res.Summary(), s.Faults, path)
		}
	})
}

// TestHarnessFindsKnownLosses: where the configuration allows a loss, the
// harness must find it on a known seed — otherwise a green property above
// would mean nothing.
func TestHarnessFindsKnownLosses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*scenarios.Scenario)
		finds string
	}{
		{"acks=1 and leader power losses", func(s *scenarios.Scenario) {
			// Followers trail the leader by a round trip of 40 ms: acks=1
			// acknowledges what they have not fetched yet.
			s.Cluster.Network.Latency = new(fault.Duration(20 * time.Millisecond))
			s.Workload.Producers[0].Rate = 200
			s.Workload.Producers[0].Config = map[string]string{"acks": "1", "enable.idempotence": "false"}
			s.Faults = fault.Schedule{
				{At: fault.Duration(10 * time.Second), Kind: fault.PowerLoss, Nodes: []string{"leader(t-0)"}},
				{At: fault.Duration(14 * time.Second), Kind: fault.Restart, Nodes: []string{"brokers"}},
				{At: fault.Duration(24 * time.Second), Kind: fault.PowerLoss, Nodes: []string{"leader(t-1)"}},
				{At: fault.Duration(28 * time.Second), Kind: fault.Restart, Nodes: []string{"brokers"}},
			}
		}, "lost-write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := parse(t, durable)
			tc.edit(&s)
			res, err := scenarios.Run(s, scenarios.Options{})
			require.NoError(t, err)
			var names []string
			for _, f := range res.Findings() {
				names = append(names, f.Name)
			}
			assert.Contains(t, names, tc.finds, "replay: %s", res.Replay)
		})
	}
}
