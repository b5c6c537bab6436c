package scenarios_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

func TestCompileBuildsThePlan(t *testing.T) {
	s := parse(t, goodScenario)
	s.Cluster.ControllerConfig = map[string]string{"leader.imbalance.check.interval.seconds": "15"}
	p, err := scenarios.Compile(s)
	require.NoError(t, err)
	assert.Equal(t, 10*time.Second, p.Cluster.Broker.ReplicaLagTimeMax, "broker_config")
	assert.Equal(t, 15*time.Second, p.Cluster.Controller.LeaderImbalanceCheckInterval, "controller_config")
	assert.Equal(t, 3, p.Cluster.Brokers)
	require.Len(t, p.Topics, 1)
	assert.Equal(t, cluster.Topic{Name: "orders", Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}}, p.Topics[0])
	assert.Len(t, p.Producers, 2)
	assert.Len(t, p.Consumers, 2)
	assert.Equal(t, "g1", p.Consumers[0].Properties["group.id"])
	assert.Equal(t, "earliest", p.Consumers[0].Properties["auto.offset.reset"])
	assert.Len(t, p.Schedule, 2)

	kafka := model.TopicConfig{CleanupPolicy: "delete", RetentionMs: 604800000, RetentionBytes: -1, SegmentBytes: 1 << 30,
		SegmentMs: 604800000, DeleteRetentionMs: 86400000, MinCleanableDirtyRatio: 0.5}
	orders, offsets := kafka, kafka
	orders.Name, orders.MinInsyncReplicas = "orders", 2
	offsets.Name, offsets.MinInsyncReplicas = "__consumer_offsets", 1
	assert.Equal(t, orders, p.Config.Topic("orders"))
	assert.Equal(t, offsets, p.Config.Topic("__consumer_offsets"))
	assert.Equal(t, "fetch", p.Config.Truncation)
	assert.Equal(t, []model.ProducerConfig{{Client: "producer-1", Acks: model.AcksAll, Idempotence: true},
		{Client: "producer-2", Acks: model.AcksAll, Idempotence: true}}, p.Config.Producers)
	assert.Equal(t, map[string]string{"replica.lag.time.max.ms": "10000", "leader.imbalance.check.interval.seconds": "15",
		"orders.min.insync.replicas": "2"}, p.Header)

	// Validate is Compile with the plan discarded.
	s.Cluster.ControllerConfig["leader.imbalance.check.interval.seconds"] = "0"
	_, err = scenarios.Compile(s)
	require.Error(t, err)
	assert.EqualError(t, s.Validate(), err.Error())
}

// TestEveryVariantFromAScenario: every protocol switch the cluster has is
// settable from a scenario file, by its field, and survives a round trip
// through JSON (a replay file).
func TestEveryVariantFromAScenario(t *testing.T) {
	base, err := scenarios.Compile(parse(t, `{"name": "v", "cluster": {"topics": [{"name": "t"}]}}`))
	require.NoError(t, err)
	require.Len(t, cluster.Variants(), len(cluster.Switches()))
	zkBase, err := scenarios.Compile(parse(t, `{"name": "v", "cluster": {"metadata": "zookeeper", "topics": [{"name": "t"}]}}`))
	require.NoError(t, err)
	for _, v := range cluster.Variants() {
		value, field := v.Values[len(v.Values)-1], `"`+v.Values[len(v.Values)-1]+`"`
		if v.Flag != "" {
			value, field = v.Flag, "true"
		}
		mode, base := "kraft", base
		if v.Applies == cluster.AppliesZooKeeper {
			mode, base = "zookeeper", zkBase
			_, err := scenarios.Parse("v.json", []byte(fmt.Sprintf(`{"name": "v", "cluster": {"protocol": {%q: %s}, "topics": [{"name": "t"}]}}`, v.Field, field)))
			assert.ErrorContains(t, err, "applies to ZooKeeper mode only", v.Name)
		}
		s, err := scenarios.Parse("v.json", []byte(fmt.Sprintf(`{"name": "v", "cluster": {"metadata": %q, "protocol": {%q: %s}, "topics": [{"name": "t"}]}}`, mode, v.Field, field)))
		require.NoError(t, err, v.Name)
		assert.Equal(t, value, s.Cluster.Protocol.Get(v.Name), v.Name)
		p, err := scenarios.Compile(s)
		require.NoError(t, err, v.Name)
		want := base.Cluster
		require.NoError(t, want.SetSwitch(v.Name, value))
		assert.False(t, reflect.DeepEqual(base.Cluster, want), "%s=%s changes the cluster's config", v.Name, value)
		assert.True(t, reflect.DeepEqual(want, p.Cluster), "%s: the scenario field sets the switch", v.Name)
		key, text := v.Header(value)
		assert.Equal(t, text, p.Header[key], "%s shows in the run header", v.Name)

		data, err := json.Marshal(s)
		require.NoError(t, err)
		again, err := scenarios.Parse("again.json", data)
		require.NoError(t, err, "%s", data)
		assert.Equal(t, s.Cluster.Protocol, again.Cluster.Protocol, v.Name)
	}
	// The built-ins' files keep parsing with the fields they have used.
	for _, name := range []string{"kip101-loss-legacy", "kip903-stale-alter-partition", "last-replica-standing-elr"} {
		s, err := scenarios.Builtin(name)
		require.NoError(t, err)
		assert.NotEmpty(t, s.Cluster.Protocol, name)
	}
}

// TestRunConfigIsPerTopic: a topic's unclean.leader.election.enable decides
// whether replica divergence in that topic is expected. The run header once
// wrote "<topic>.unclean.leader.election.enable" while the final-state
// checker read the bare name, so a topic's own setting was never seen.
func TestRunConfigIsPerTopic(t *testing.T) {
	s := parse(t, `{"name": "u", "cluster": {"topics": [
		{"name": "a", "config": {"unclean.leader.election.enable": "true"}}, {"name": "b"}]}}`)
	p, err := scenarios.Compile(s)
	require.NoError(t, err)
	assert.True(t, p.Config.Topic("a").UncleanLeaderElection)
	assert.False(t, p.Config.Topic("b").UncleanLeaderElection)

	diverged := func(topic string) []history.ReplicaState {
		tp := model.TopicPartition{Topic: topic}
		rec := func(v string, epoch int32) history.Record {
			return history.Record{Offset: 0, LeaderEpoch: epoch, Value: model.Bytes(v)}
		}
		return []history.ReplicaState{
			{TP: tp, Broker: 1, Online: true, LeaderEpoch: 1, HighWatermark: 1, LogEndOffset: 1, Records: []history.Record{rec("x", 1)}},
			{TP: tp, Broker: 2, Online: true, Leader: true, LeaderEpoch: 2, HighWatermark: 1, LogEndOffset: 1, Records: []history.Record{rec("y", 2)}},
		}
	}
	classes := func(h history.Header) map[string]checker.Class {
		hist := &history.History{Header: h, Replicas: append(diverged("a"), diverged("b")...)}
		out := map[string]checker.Class{}
		for _, f := range checker.FinalState(hist, checker.Run{}) {
			out[f.TP.Topic] = f.Class
		}
		return out
	}
	want := map[string]checker.Class{"a": checker.Expected, "b": checker.Consistency}
	assert.Equal(t, want, classes(history.Header{Run: &p.Config}), "the typed run configuration")
	assert.Equal(t, want, classes(history.Header{Config: p.Header}), "an older history: its header's map, read per topic")
}

// TestBoundsOnBuiltins sets each bounded value of every built-in scenario
// to 0, -1 and one past its limit: Compile refuses each, naming the field.
func TestBoundsOnBuiltins(t *testing.T) {
	type edit struct {
		field  string
		values []float64
		set    func(s *scenarios.Scenario, v float64)
	}
	edits := []edit{
		{"duration", []float64{0, -1, float64(scenarios.MaxDuration + 1)}, func(s *scenarios.Scenario, v float64) {
			s.Duration = new(fault.Duration(v))
		}},
		{"cluster.brokers", []float64{0, -1, scenarios.MaxBrokers + 1}, func(s *scenarios.Scenario, v float64) { s.Cluster.Brokers = new(int(v)) }},
		{"cluster.controllers", []float64{0, -1, scenarios.MaxControllers + 1}, func(s *scenarios.Scenario, v float64) { s.Cluster.Controllers = new(int(v)) }},
		{"cluster.topics[0].partitions", []float64{0, -1, scenarios.MaxTopicPartitions + 1}, func(s *scenarios.Scenario, v float64) {
			s.Cluster.Topics[0].Partitions = new(int(v))
		}},
		{"cluster.topics[0].replication_factor", []float64{0, -1, scenarios.MaxBrokers + 1}, func(s *scenarios.Scenario, v float64) {
			s.Cluster.Topics[0].ReplicationFactor = new(int(v))
		}},
		{"cluster.network.latency", []float64{-1, float64(time.Minute + 1)}, func(s *scenarios.Scenario, v float64) {
			s.Cluster.Network.Latency = new(fault.Duration(v))
		}},
		{"workload.producers[0].count", []float64{0, -1, scenarios.MaxClients + 1}, func(s *scenarios.Scenario, v float64) {
			s.Workload.Producers[0].Count = int(v)
		}},
		{"workload.producers[0].rate", []float64{0, -1, scenarios.MaxRecordsPerSecond + 1}, func(s *scenarios.Scenario, v float64) {
			s.Workload.Producers[0].Rate = v
		}},
	}
	for _, b := range scenarios.Builtins() {
		_, err := scenarios.Compile(b)
		require.NoError(t, err, b.Name)
		for _, e := range edits {
			if e.field == "cluster.controllers" && b.Cluster.ZK() {
				continue // 0 in ZooKeeper mode: TestZooKeeperModeFields
			}
			for _, v := range e.values {
				s := b
				s.Cluster.Topics = slices.Clone(b.Cluster.Topics)
				s.Workload.Producers = slices.Clone(b.Workload.Producers)
				if len(s.Cluster.Topics) == 0 || len(s.Workload.Producers) == 0 {
					continue
				}
				e.set(&s, v)
				_, err := scenarios.Compile(s)
				if assert.Error(t, err, "%s: %s=%v", b.Name, e.field, v) {
					assert.Contains(t, err.Error(), e.field+": ", "%s: %s=%v", b.Name, e.field, v)
				}
			}
		}
	}
}

func TestZooKeeperModeFields(t *testing.T) {
	for _, c := range []struct{ cluster, want string }{
		{`"metadata": "etcd"`, `cluster.metadata: "etcd" is not a metadata mode: accepted are kraft, zookeeper`},
		{`"metadata": "zookeeper", "controllers": 3`, "cluster.controllers: 3 KRaft controllers in ZooKeeper mode: give 0"},
		{`"metadata": "zookeeper", "zookeepers": 0`, "cluster.zookeepers: "},
		{`"metadata": "zookeeper", "zookeepers": 8`, "cluster.zookeepers: "},
		{`"zookeepers": 3`, "cluster.zookeepers: is set in KRaft mode"},
	} {
		_, err := scenarios.Parse("z.json", []byte(`{"name": "z", "cluster": {`+c.cluster+`, "topics": [{"name": "t"}]}}`))
		assert.ErrorContains(t, err, c.want, c.cluster)
	}
	s, err := scenarios.Parse("z.json", []byte(`{"name": "z", "cluster": {"metadata": "zookeeper", "zookeepers": 5, "topics": [{"name": "t"}]},
		"faults": [{"at": "1s", "kind": "crash", "nodes": ["zookeeper-leader"]}, {"at": "2s", "kind": "pause", "nodes": ["z5"]},
		{"at": "3s", "kind": "partition", "groups": [["controller"], ["zookeepers"]]}]}`))
	require.NoError(t, err)
	p, err := scenarios.Compile(s)
	require.NoError(t, err)
	assert.Equal(t, cluster.ZooKeeper, p.Cluster.Metadata)
	assert.Equal(t, 5, p.Cluster.ZooKeepers)
	assert.Equal(t, 0, p.Cluster.Controllers)
	assert.Equal(t, []string{"z1", "z2", "z3", "z4", "z5"}, s.ZooKeeperNames())
	_, err = scenarios.Parse("k.json", []byte(`{"name": "k", "cluster": {"topics": [{"name": "t"}]}, "faults": [{"at": "1s", "kind": "crash", "nodes": ["zookeeper-leader"]}]}`))
	assert.ErrorContains(t, err, "the cluster runs in KRaft mode")
}
