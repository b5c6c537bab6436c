package scenarios_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

// small is a short scenario with every moving part: controllers, brokers,
// a producer, a consumer group, a leader crash and a restart.
const small = `{
  "name": "small", "seed": 1, "duration": "20s",
  "cluster": {"brokers": 3, "controllers": 1, "broker_config": {"offsets.topic.num.partitions": "3"},
    "topics": [{"name": "orders", "partitions": 2, "replication_factor": 3, "config": {"min.insync.replicas": "2"}}]},
  "workload": {
    "producers": [{"count": 1, "topic": "orders", "rate": 20}],
    "consumers": [{"count": 2, "group": "g1", "topics": ["orders"]}]
  },
  "faults": [{"at": "8s", "kind": "crash", "nodes": ["leader(orders-0)"]}, {"at": "12s", "kind": "restart", "nodes": ["brokers"]}]
}`

func parse(t *testing.T, text string) scenarios.Scenario {
	t.Helper()
	s, err := scenarios.Parse("test.json", []byte(text))
	require.NoError(t, err)
	return s
}

func TestRunChecksEverything(t *testing.T) {
	res, err := scenarios.Run(parse(t, small), scenarios.Options{})
	require.NoError(t, err)
	assert.True(t, res.OK(), res.Summary())
	ok, why := res.Expected()
	assert.True(t, ok, why)
	counts := map[string]int{}
	for _, op := range res.History.Ops {
		counts[op.Kind.String()]++
	}
	assert.Greater(t, counts["send"], 200, "the producer ran")
	assert.Greater(t, counts["poll"], 100, "the consumers ran")
	assert.Positive(t, counts["rebalance"], "the group formed")
	assert.Positive(t, counts["commit"], "offsets were committed")
	assert.Equal(t, "kafkasim run small --seed 1", res.Replay)
	require.NotNil(t, res.Report.Linearizability)
	assert.Equal(t, "ok", string(res.Report.Linearizability.Result))
	pv, ok := res.PartitionVerdict("orders-0")
	require.True(t, ok)
	assert.Positive(t, pv.Unavailable, "the crashed leader's partition was unavailable a while")
	assert.Equal(t, timelineOffline(res, "orders-0"), pv.Unavailable, "the watch, which runs without the timeline, agrees with the timeline")
	assert.NotEmpty(t, res.Timeline.Partitions)
	assert.Len(t, res.Timeline.Events, 3, "two faults and the final phase")
	assert.Positive(t, res.Marks["fault.crash"])
}

// TestSameSeedSameRun is the determinism test of the whole harness: one
// seed, twice, the same trace hash and the same history.
func TestSameSeedSameRun(t *testing.T) {
	s := parse(t, small)
	a, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	b, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	require.Equal(t, a.TraceHash, b.TraceHash, "one seed gave two runs; replay: %s", a.Replay)
	require.Equal(t, a.Steps, b.Steps)
	require.Equal(t, len(a.History.Ops), len(b.History.Ops))
	s.Seed = 2
	c, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	assert.NotEqual(t, a.TraceHash, c.TraceHash, "another seed, another run")
}

func TestUntilStepStopsEarly(t *testing.T) {
	res, err := scenarios.Run(parse(t, small), scenarios.Options{UntilStep: 3000})
	require.NoError(t, err)
	assert.EqualValues(t, 3000, res.Steps)
	assert.Less(t, res.End.Seconds(), 20.0)
}

func TestExpectations(t *testing.T) {
	s := parse(t, small)
	s.Expect.Findings = []string{"lost-write"}
	res, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	ok, why := res.Expected()
	assert.False(t, ok)
	assert.Contains(t, why, "expected [lost-write], but [lost-write] was not found")

	// Marks: the run must reach what the scenario is about.
	s.Expect = scenarios.Expect{Marks: map[string]uint64{"fault.crash": 1, "controller.election.unclean": 1}}
	res, err = scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	ok, why = res.Expected()
	assert.False(t, ok)
	assert.Contains(t, why, "it reached controller.election.unclean 0 times (wanted at least 1)")
	assert.NotContains(t, why, "fault.crash")
	s.Expect.Marks = map[string]uint64{"fault.crash": 1}
	res, err = scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	ok, why = res.Expected()
	assert.True(t, ok, why)
}

// TestCommittedOffsetsSurviveCoordinatorFailover crashes the group
// coordinator (the leader of the group's __consumer_offsets partition)
// while consumers commit: the new coordinator loads the offsets from the
// log, no committed offset goes back, and no consumer skips or loses
// records.
func TestCommittedOffsetsSurviveCoordinatorFailover(t *testing.T) {
	s := parse(t, `{
	  "name": "coordinator-failover", "seed": 3, "duration": "40s",
	  "cluster": {"brokers": 3, "controllers": 1,
	    "broker_config": {"offsets.topic.num.partitions": "1", "broker.session.timeout.ms": "6000"},
	    "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": "2"}}]},
	  "workload": {
	    "producers": [{"count": 1, "topic": "orders", "rate": 30}],
	    "consumers": [{"count": 2, "group": "g", "topics": ["orders"], "config": {"auto.commit.interval.ms": "500"}}]
	  },
	  "faults": [
	    {"at": "12s", "kind": "crash", "nodes": ["leader(__consumer_offsets-0)"]},
	    {"at": "25s", "kind": "restart", "nodes": ["brokers"]}
	  ]
	}`)
	res, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	assert.True(t, res.OK(), res.Summary())
	assert.Positive(t, res.Marks["fault.crash"])
	assert.GreaterOrEqual(t, res.Marks["group.coordinator.loaded"], uint64(2), "a second broker loaded the group from the log")
	before, after := 0, 0
	for _, op := range res.History.Ops {
		if op.Kind.String() == "commit" && op.Outcome.String() == "ok" {
			if op.Complete < 12*time.Second {
				before++
			} else if op.Complete > 20*time.Second {
				after++
			}
		}
	}
	assert.Positive(t, before, "commits went to the first coordinator")
	assert.Positive(t, after, "and to its successor")
	require.NotNil(t, res.Report.Linearizability)
	assert.Equal(t, "ok", string(res.Report.Linearizability.Result), "committed offsets are a linearizable register across the failover")
}

// TestPartitionGroupsTakeSelectors cuts the leader of orders-0 off from
// the rest of the cluster by selector: once its session expires (9 s), the
// controller moves leadership.
func TestPartitionGroupsTakeSelectors(t *testing.T) {
	s := parse(t, small)
	s.Faults = nil
	require.NoError(t, json.Unmarshal([]byte(`[
		{"at": "8s", "kind": "partition", "groups": [["leader(orders-0)"], ["rest"]]},
		{"at": "19s", "kind": "heal"}]`), &s.Faults))
	res, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	assert.True(t, res.OK(), res.Summary())
	var before, after int32 = -1, -1
	for _, p := range res.Timeline.Partitions {
		if p.TP.String() != "orders-0" {
			continue
		}
		for _, smp := range p.Samples {
			if smp.At < 8*time.Second {
				before = smp.Metadata.Leader
			} else if smp.At < 19*time.Second && smp.Metadata.Leader >= 0 {
				after = smp.Metadata.Leader
			}
		}
	}
	require.GreaterOrEqual(t, before, int32(0))
	require.GreaterOrEqual(t, after, int32(0), "a leader once the session of the cut-off one expired")
	assert.NotEqual(t, before, after, "the controller elected another leader while the old one was cut off")
}

// timelineOffline sums, from the timeline's samples, the time between the
// cluster's readiness and the scenario's end during which no running
// replica served as the leader the controller named: an oracle for the
// watch the verdict uses, which runs in every mode without the timeline.
func timelineOffline(res *scenarios.Result, tp string) time.Duration {
	to := min(time.Duration(*res.Scenario.Duration), res.End)
	var total time.Duration
	for _, p := range res.Timeline.Partitions {
		if p.TP.String() != tp {
			continue
		}
		for i, s := range p.Samples {
			end := to
			if i+1 < len(p.Samples) {
				end = min(p.Samples[i+1].At, to)
			}
			start := max(s.At, res.Ready)
			led := false
			for _, r := range s.Replicas {
				led = led || (r.Online && r.Leader && r.LeaderEpoch == s.Metadata.LeaderEpoch)
			}
			if end > start && !led {
				total += end - start
			}
		}
	}
	return total
}

// TestHistoryBudgetStopsTheRun: a run whose history outgrows its budget
// stops at a deterministic point, and its verdict says why; it never runs
// out of memory.
func TestHistoryBudgetStopsTheRun(t *testing.T) {
	s := parse(t, small)
	a, err := scenarios.Run(s, scenarios.Options{MaxHistoryOps: 500})
	require.NoError(t, err)
	require.NotNil(t, a.Stopped)
	assert.Contains(t, a.Summary(), "budget of 500 operations")
	assert.False(t, a.OK())
	b, err := scenarios.Run(s, scenarios.Options{MaxHistoryOps: 500})
	require.NoError(t, err)
	assert.Equal(t, a.Steps, b.Steps, "the budget stops every run of a seed at the same step")
	assert.Equal(t, a.TraceHash, b.TraceHash)
	assert.LessOrEqual(t, len(a.History.Ops), 501+len(s.Workload.Producers)*10, "the history stays near its budget")
}
