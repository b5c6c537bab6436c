package scenarios

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/scenarios/fault"

	"github.com/stretchr/testify/require"
)

// The hunt draws leader.imbalance.check.interval.seconds per seed, never
// above the scenario's own value (Kafka's 300 s when it sets none), and
// from its own stream: the fault schedule does not depend on it.
func TestHuntDrawsTheImbalanceCheckIntervalUpToTheScenarios(t *testing.T) {
	const key = "leader.imbalance.check.interval.seconds"
	for _, c := range []struct {
		builtin string
		most    int
	}{{"standard", 300}, {"kip279-fast-leader-changes-legacy", 15}} {
		base, err := Builtin(c.builtin)
		require.NoError(t, err)
		seen := map[int]bool{}
		for seed := uint64(1); seed <= 30; seed++ {
			s, _, err := HuntScenario(base, seed, HuntOptions{})
			require.NoError(t, err)
			v, err := strconv.Atoi(s.Cluster.ControllerConfig[key])
			require.NoError(t, err, c.builtin)
			require.GreaterOrEqual(t, v, 2, c.builtin)
			require.LessOrEqual(t, v, c.most, c.builtin)
			seen[v] = true
			noKnob := base
			noKnob.Cluster.ControllerConfig = map[string]string{key: "7"}
			other, _, err := HuntScenario(noKnob, seed, HuntOptions{})
			require.NoError(t, err)
			require.Equal(t, s.Faults, other.Faults, "the schedule does not depend on the controller's knobs")
		}
		require.Greater(t, len(seen), 5, "%s: the interval varies from seed to seed", c.builtin)
	}
}

// With Workload, a seed may draw each producer's acks and idempotence and
// consumers that leave and join; the knobs come from their own streams, so
// everything else the seed draws stays as it was, and without Workload
// nothing changes at all.
func TestHuntWorkloadKnobsDrawFromTheirOwnStreams(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	acks := map[string]int{}
	leaves, gracefulLeaves := 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		plain, pd, err := HuntScenario(base, seed, HuntOptions{})
		require.NoError(t, err)
		require.Empty(t, pd.Acks)
		require.Zero(t, pd.Leaves)
		s, d, err := HuntScenario(base, seed, HuntOptions{Workload: true})
		require.NoError(t, err)
		require.Equal(t, plain.Cluster, s.Cluster, "seed %d: the cluster's knobs do not depend on the workload's", seed)
		require.Equal(t, plain.Workload.Consumers, s.Workload.Consumers, "seed %d", seed)
		require.Equal(t, plain.ProducerNames(), s.ProducerNames(), "seed %d: producers keep their names", seed)
		var crashes, graceful []string
		for _, f := range s.Faults {
			if f.Kind == fault.Crash && len(f.Nodes) == 1 && strings.HasPrefix(f.Nodes[0], "consumer-") {
				crashes = append(crashes, f.Nodes[0])
				continue
			}
			if f.Kind == fault.Leave {
				graceful = append(graceful, f.Nodes[0])
				continue
			}
			if f.Kind == fault.Restart && len(f.Nodes) == 1 && strings.HasPrefix(f.Nodes[0], "consumer-") {
				continue
			}
			require.Contains(t, plain.Faults, f, "seed %d: the broker faults are the plain seed's", seed)
		}
		require.Len(t, crashes, d.Leaves, "seed %d", seed)
		require.Len(t, graceful, d.GracefulLeaves, "seed %d", seed)
		require.Len(t, s.Faults, len(plain.Faults)+2*d.Leaves+2*d.GracefulLeaves, "seed %d", seed)
		leaves += d.Leaves
		gracefulLeaves += d.GracefulLeaves
		if len(d.Acks) == 0 {
			require.Equal(t, plain.Workload.Producers, s.Workload.Producers, "seed %d", seed)
			continue
		}
		require.Len(t, s.Workload.Producers, len(d.Acks), "seed %d: one group per producer", seed)
		for i, p := range s.Workload.Producers {
			require.Equal(t, 1, p.Count)
			acks[d.Acks[i]]++
			if p.Config["acks"] != "all" {
				require.NotContains(t, p.Config, "enable.idempotence", "seed %d: idempotence needs acks=all; Kafka turns it off by itself", seed)
			}
		}
	}
	for _, a := range []string{"all", "all non-idempotent", "1", "0"} {
		require.Positive(t, acks[a], "some producer draws acks %s", a)
	}
	require.Positive(t, leaves, "some consumers leave and join")
	require.Positive(t, gracefulLeaves, "some consumers leave gracefully and join")
}

// A producer whose scenario pins its acks to 1, or sets idempotence or a
// transactional.id, keeps its settings.
func TestHuntWorkloadKeepsWhatTheScenarioPins(t *testing.T) {
	base, err := Builtin("standard")
	require.NoError(t, err)
	base.Workload.Producers = []Producers{
		{Count: 1, Topic: "orders", Rate: 10, Config: map[string]string{"acks": "1"}},
		{Count: 1, Topic: "orders", Rate: 10, Config: map[string]string{"enable.idempotence": "true"}},
		{Count: 1, Topic: "orders", Rate: 10, Config: map[string]string{"acks": "all"}},
	}
	drew := false
	for seed := uint64(1); seed <= 20; seed++ {
		s, d, err := HuntScenario(base, seed, HuntOptions{Workload: true})
		require.NoError(t, err)
		if len(d.Acks) == 0 {
			continue
		}
		drew = true
		require.Equal(t, map[string]string{"acks": "1"}, s.Workload.Producers[0].Config)
		require.Equal(t, map[string]string{"enable.idempotence": "true"}, s.Workload.Producers[1].Config)
		require.Equal(t, []string{"as the scenario sets", "as the scenario sets"}, d.Acks[:2])
	}
	require.True(t, drew)
}

// A hunt whose delay messages name EndTxn and Produce also draws late
// EndTxn with late Produces behind them, from their own stream: the
// nemesis's faults stay those of a hunt that names Produce and EndTxn in
// the other order (which draws none), and each late EndTxn outlasts the
// producer's request.timeout.ms, with two Produces held after it.
func TestHuntTxnDelaysDrawFromTheirOwnStream(t *testing.T) {
	base, err := Builtin("kafka-17754-delayed-endtxn")
	require.NoError(t, err)
	timeout := 3 * time.Second // the built-in's request.timeout.ms
	drawn := 0
	for seed := uint64(1); seed <= 30; seed++ {
		s, d, err := HuntScenario(base, seed, HuntOptions{Kinds: []fault.Kind{fault.Delay}, DelayMessages: []string{"EndTxn", "Produce"}})
		require.NoError(t, err)
		only, od, err := HuntScenario(base, seed, HuntOptions{Kinds: []fault.Kind{fault.Delay}, DelayMessages: []string{"Produce"}})
		require.NoError(t, err)
		require.Zero(t, od.TxnDelays, "seed %d: a hunt that does not name EndTxn draws no late EndTxn", seed)
		var late, nemesis []fault.Fault
		for _, f := range s.Faults {
			if f.Kind == fault.Delay && f.From != "" {
				late = append(late, f)
			} else {
				nemesis = append(nemesis, f)
			}
		}
		require.Len(t, nemesis, len(only.Faults), "seed %d: the nemesis draws as many faults as without the knob", seed)
		var ends, produces []fault.Fault
		for _, f := range late {
			if slices.Equal(f.Messages, []string{"EndTxn"}) {
				ends = append(ends, f)
				require.GreaterOrEqual(t, time.Duration(f.Hold), timeout, "seed %d: the retry after the timeout overtakes the late EndTxn", seed)
				require.LessOrEqual(t, time.Duration(f.Hold), 5*timeout/2)
				continue
			}
			require.Equal(t, []string{"Produce"}, f.Messages)
			produces = append(produces, f)
		}
		require.Len(t, ends, d.TxnDelays, "seed %d", seed)
		require.Len(t, produces, 2*d.TxnDelays, "seed %d", seed)
		for _, p := range produces {
			require.True(t, slices.ContainsFunc(ends, func(e fault.Fault) bool {
				gap := time.Duration(p.At - e.At)
				return e.From == p.From && gap >= 500*time.Millisecond && gap <= 2*time.Second
			}), "seed %d: each late Produce follows a late EndTxn of its producer by 0.5 s to 2 s", seed)
		}
		drawn += d.TxnDelays
		require.Contains(t, d.String(), "late EndTxn with late Produces")
	}
	require.Greater(t, drawn, 30)
}

// A hunt that draws controller-partition gives it its own mean length,
// from the drawn broker.session.timeout.ms to 60 s, and heals it with
// controller-heal, which leaves the other network faults in place.
func TestHuntControllerPartitionsOutlastTheSession(t *testing.T) {
	base, err := Builtin("kafka-6880-zombie-follower")
	require.NoError(t, err)
	drawn := 0
	for seed := uint64(1); seed <= 40; seed++ {
		s, d, err := HuntScenario(base, seed, HuntOptions{Kinds: []fault.Kind{fault.ControllerPartition, fault.Crash}})
		require.NoError(t, err)
		if d.Kinds[fault.ControllerPartition] == 0 {
			require.Zero(t, d.ControllerPartitionLength)
			continue
		}
		drawn++
		session, err := strconv.Atoi(s.Cluster.BrokerConfig["broker.session.timeout.ms"])
		require.NoError(t, err)
		require.GreaterOrEqual(t, d.ControllerPartitionLength, time.Duration(session)*time.Millisecond, "seed %d", seed)
		require.LessOrEqual(t, d.ControllerPartitionLength, time.Minute, "seed %d", seed)
		cuts, heals := 0, 0
		for _, f := range s.Faults {
			switch f.Kind {
			case fault.ControllerPartition:
				cuts++
			case fault.ControllerHeal:
				heals++
			}
		}
		require.Equal(t, cuts, heals, "seed %d: every controller-partition is healed by a controller-heal", seed)
	}
	require.Greater(t, drawn, 10)
}
