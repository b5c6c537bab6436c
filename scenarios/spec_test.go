package scenarios_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

const goodScenario = `{
  "name": "acks-all-one-broker-down",
  "description": "acks=all with min.insync.replicas=2 while one broker crashes",
  "shows": "no acknowledged write is lost",
  "seed": 7,
  "duration": "30s",
  "cluster": {
    "brokers": 3,
    "controllers": 3,
    "broker_config": {"replica.lag.time.max.ms": "10000"},
    "topics": [{"name": "orders", "partitions": 3, "replication_factor": 3, "config": {"min.insync.replicas": "2"}}]
  },
  "workload": {
    "producers": [{"count": 2, "topic": "orders", "rate": 50, "keys": 10, "config": {"acks": "all"}}],
    "consumers": [{"count": 2, "group": "g1", "topics": ["orders"]}]
  },
  "faults": [
    {"at": "5s", "kind": "crash", "nodes": ["leader(orders-0)"]},
    {"at": "15s", "kind": "restart", "nodes": ["brokers"]}
  ]
}`

func TestParseScenario(t *testing.T) {
	s, err := scenarios.Parse("good.json", []byte(goodScenario))
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, time.Duration(*s.Duration))
	assert.Equal(t, 24*time.Second, time.Duration(s.Workload.ProduceUntil), "producers stop at 80% by default")
	assert.Equal(t, []string{"b1", "b2", "b3"}, s.BrokerNames())
	assert.Equal(t, []string{"c1", "c2", "c3"}, s.ControllerNames())
	assert.Equal(t, []string{"producer-1", "producer-2"}, s.ProducerNames())
	assert.Equal(t, []string{"consumer-1", "consumer-2"}, s.ConsumerNames())
	parts := s.FaultNames().Partitions
	assert.Equal(t, []string{"orders-0", "orders-1", "orders-2"}, parts[:3])
	assert.Contains(t, parts, "__consumer_offsets-49", "with a group, faults may target its coordinator")
}

func TestScenarioDefaults(t *testing.T) {
	s, err := scenarios.Parse("min.json", []byte(`{"name": "m", "cluster": {"topics": [{"name": "t"}]}}`))
	require.NoError(t, err)
	assert.Equal(t, 3, *s.Cluster.Brokers)
	assert.Equal(t, 1, *s.Cluster.Controllers)
	assert.Equal(t, time.Minute, time.Duration(*s.Duration))
	assert.Equal(t, 1, *s.Cluster.Topics[0].Partitions)
	assert.Equal(t, 3, *s.Cluster.Topics[0].ReplicationFactor)

	// JSON null is unset, as if omitted.
	s, err = scenarios.Parse("null.json", []byte(`{"name": "m", "duration": null, "cluster": {"brokers": null, "topics": [{"name": "t", "partitions": null}]}}`))
	require.NoError(t, err)
	assert.Equal(t, 3, *s.Cluster.Brokers)
	assert.Equal(t, time.Minute, time.Duration(*s.Duration))
	assert.Equal(t, 1, *s.Cluster.Topics[0].Partitions)
}

// TestExplicitZeroIsNotUnset: a value given, 0 included, is the value:
// refused where 0 is out of range, taken where it is not.
func TestExplicitZeroIsNotUnset(t *testing.T) {
	for field, want := range map[string]string{
		`"duration": "0s"`:                                                `duration: 0s is out of range: give a duration from 1ms to 1h0m0s`,
		`"cluster": {"brokers": 0}`:                                       `cluster.brokers: 0 is out of range: give a whole number from 1 to 64`,
		`"cluster": {"controllers": 0}`:                                   `cluster.controllers: 0 is out of range: give a whole number from 1 to 9`,
		`"cluster": {"topics": [{"name": "t", "partitions": 0}]}`:         `cluster.topics[0].partitions: 0 is out of range: give a whole number from 1 to 5000`,
		`"cluster": {"topics": [{"name": "t", "replication_factor": 0}]}`: `cluster.topics[0].replication_factor: 0 is out of range: give a whole number from 1 to 64`,
		`"cluster": {"network": {"latency": "-1ms"}}`:                     `cluster.network.latency: -1ms is out of range: give a duration from 0s to 1m0s`,
		`"cluster": {"network": {"jitter": "-1ms"}}`:                      `cluster.network.jitter: -1ms is out of range`,
		`"cluster": {"network": {"reorder_delay": "-1ms"}}`:               `cluster.network.reorder_delay: -1ms is out of range`,
		`"cluster": {"network": {"loss": 1.5}}`:                           `cluster.network.loss: 1.5 is out of range: give a number from 0 to 1`,
		`"cluster": {"topics": [{"name": "t"}]}, "workload": {"producers": [{"count": 1, "topic": "t", "rate": 1e300}]}`:                                                          `workload.producers[0].rate: 1e+300 is out of range: give a number from 0.001 to 20000`,
		`"cluster": {"topics": [{"name": "t"}]}, "workload": {"producers": [{"count": 2, "topic": "t", "rate": 15000}]}`:                                                          `records per second: the producers' rate together is 30000, above the limit of 20000 per run`,
		`"cluster": {"topics": [{"name": "t"}]}, "workload": {"producers": [{"count": 1000000, "topic": "t", "rate": 1}]}`:                                                        `workload.producers[0].count: 1000000 is out of range: give a whole number from 1 to 1000`,
		`"cluster": {"topics": [{"name": "t", "partitions": 5000}, {"name": "u", "partitions": 5000}]}, "workload": {"consumers": [{"count": 1, "group": "g", "topics": ["t"]}]}`: `partitions: the number of partitions is 10050, above the limit of 10000 per run`,
		`"duration": "1000000h"`: `duration: 1000000h0m0s is out of range: give a duration from 1ms to 1h0m0s`,
		`"cluster": {"controller_config": {"leader.imbalance.check.interval.seconds": "0"}}`: `cluster.controller_config: invalid value 0 for configuration leader.imbalance.check.interval.seconds: value must be at least 1`,
		`"cluster": {"controller_config": {"replica.lag.time.max.ms": "1"}}`:                 `cluster.controller_config: unknown configuration "replica.lag.time.max.ms": kafkasim's controller configurations are`,
		`"cluster": {"broker_config": {"leader.imbalance.check.interval.seconds": "30"}}`:    `cluster.broker_config: unknown configuration "leader.imbalance.check.interval.seconds": kafkasim's broker configurations are`,
		`"cluster": {"protocol": {"truncation": "zk"}}`:                                      `cluster.protocol.truncation: switch truncation: invalid value "zk": accepted are fetch, epochs, legacy-epochs, high-watermark`,
		`"cluster": {"protocol": {"no_check_quorum": "yes"}}`:                                `cluster.protocol.no_check_quorum: want true or false, got "yes"`,
		`"cluster": {"topics": [{"name": "a b"}]}`:                                           `cluster.topics[0].name: INVALID_TOPIC_EXCEPTION: topic name "a b" is illegal`,
		`"cluster": {"topics": [{"name": ".."}]}`:                                            `cluster.topics[0].name: INVALID_TOPIC_EXCEPTION: topic name cannot be "." or ".."`,
		`"cluster": {"topics": [{"name": "__consumer_offsets"}]}`:                            `cluster.topics[0].name: __consumer_offsets is Kafka's internal topic`,
		`"cluster": {"protocol": {"check_quorum": false}}`:                                   `cluster.protocol: unknown field "check_quorum": accepted are truncation, legacy_high_watermark,`,
	} {
		_, err := scenarios.Parse("z.json", []byte(`{"name": "z", `+field+`}`))
		if assert.Error(t, err, field) {
			assert.Contains(t, err.Error(), want, field)
		}
	}
	s, err := scenarios.Parse("zero.json", []byte(`{"name": "z", "cluster": {"network": {"latency": "0s", "jitter": "0s"}}}`))
	require.NoError(t, err)
	p, err := scenarios.Compile(s)
	require.NoError(t, err)
	assert.Zero(t, p.Network.Link.Latency, "an explicit 0s latency is 0, not the default")
	assert.Zero(t, p.Network.Link.Jitter)
}

func TestParseSaysWhatAScenarioFileLooksLike(t *testing.T) {
	for in, want := range map[string]string{
		"":                `s.json: the scenario file is empty; a scenario file is one JSON object: {"name": "mine"`,
		" \n\t ":          `the scenario file is empty`,
		`[{"name": "x"}]`: `a scenario file is one JSON object ({...}), but this one starts with a JSON array; a scenario file looks like {"name"`,
		`"standard"`:      `starts with a JSON string`,
		`42`:              `starts with a JSON number`,
		`null`:            `starts with JSON null`,
		`name: x`:         `starts with "name: x", which is not JSON`,
	} {
		_, err := scenarios.Parse("s.json", []byte(in))
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), want, in)
		assert.Contains(t, err.Error(), "kafkasim scenarios show standard", in)
	}
}

// A replay file given where a scenario file belongs (kafkasim run
// x.replay.json) is named as such, with the command that runs it.
func TestParseTellsAReplayFileApart(t *testing.T) {
	_, err := scenarios.Parse("out/standard-seed3.replay.json", []byte(`{"format": "kafkasim-replay", "version": "0.1.0", "scenario": {"name": "standard"}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "out/standard-seed3.replay.json is a replay file, not a scenario file")
	assert.Contains(t, err.Error(), "kafkasim replay out/standard-seed3.replay.json")
}

func TestParseRejectsBadScenarios(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{`"seed": 7,` + "||" + `"seed": 7, "colour": "red",`, `unknown field "colour"; accepted here: name, description, shows, expect, seed, duration, cluster, workload, faults, nemesis, checks, buggify`},
		{`"seed": 7,` + "||" + `"seed": 7, "seed": 8,`, `line 5, column 14: the key "seed" appears twice in one object (first on line 5); give each key once`},
		{`"brokers": 3,` + "||" + `"brokers": 3, "brokers": 5,`, `cluster: the key "brokers" appears twice`},
		{`"replication_factor": 3,` + "||" + `"replication_factor": 3, "replicas": 3,`, `cluster.topics[0]: unknown field "replicas"; accepted here: name, partitions, replication_factor, config`},
		{`"acks": "all"` + "||" + `"acks": "all", "acks": "1"`, `workload.producers[0].config: the key "acks" appears twice`},
		{`"brokers": 3,` + "||" + `"brokers": -1,`, `cluster.brokers: -1 is out of range: give a whole number from 1 to 64`},
		{`"controllers": 3,` + "||" + `"controllers": 12,`, `cluster.controllers: 12 is out of range`},
		{`"replication_factor": 3,` + "||" + `"replication_factor": 5,`, `cluster.topics[0].replication_factor: INVALID_REPLICATION_FACTOR: 5 must be between 1 and the number of brokers (3)`},
		{`"min.insync.replicas": "2"` + "||" + `"min.insync.replicas": "two"`, `cluster.topics[0].config: INVALID_CONFIG:`},
		{`"replica.lag.time.max.ms": "10000"` + "||" + `"replica.lag.time.max.ms": "-5"`, `cluster.broker_config: invalid value -5 for configuration replica.lag.time.max.ms`},
		{`"replica.lag.time.max.ms": "10000"` + "||" + `"no.such.config": "1"`, `cluster.broker_config:`},
		{`"replica.lag.time.max.ms": "10000"` + "||" + `"replica.fetch.wait.max.ms": "40000"`,
			`cluster: invalid value 30000 for configuration replica.socket.timeout.ms: must be at least replica.fetch.wait.max.ms (40000)`},
		{`"acks": "all"` + "||" + `"acks": "2"`, `workload.producers[0].config:`},
		{`"topic": "orders", "rate": 50` + "||" + `"topic": "payments", "rate": 50`, `workload.producers[0].topic: unknown topic "payments": the scenario's topics are orders`},
		{`"rate": 50` + "||" + `"rate": 0`, `workload.producers[0].rate: 0 is out of range: give a number from 0.001 to 20000`},
		{`"nodes": ["leader(orders-0)"]` + "||" + `"nodes": ["b7"]`, `faults: faults[0] (crash): nodes: unknown node "b7"`},
		{`"at": "15s"` + "||" + `"at": "45s"`, `at 45s is after the end of the run (30s)`},
		{`"duration": "30s"` + "||" + `"duration": "soon"`, `"soon" is not a duration`},
		{`"seed": 7` + "||" + `"seed": "seven"`, `line 5, column 18: field seed: want a uint64, got a JSON string`},
		{`"group": "g1", "topics": ["orders"]` + "||" + `"group": "g1", "topics": []`, `workload.consumers[0].topics: give at least one topic to read`},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"findings": ["lost-writes"]},`, `expect.findings: unknown finding "lost-writes": accepted are G-single, G0, G1a, G1c, G2, ack-after-member-lost-data`},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"findings": ["duplicate"], "absent": ["duplicate"]},`, `expect.absent: "duplicate" is both expected and absent`},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"marks": {"Controller Failover": 1}},`, `expect.marks: unknown mark "Controller Failover": the nearest registered marks are`},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"marks": {"controller.failovr": 1}},`, `expect.marks: unknown mark "controller.failovr": the nearest registered marks are controller.failover, `},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"marks": {"controller.failover": 0}},`, `expect.marks: "controller.failover" wants 0 times`},
	} {
		old, repl, _ := strings.Cut(tc.edit, "||")
		require.Contains(t, goodScenario, old)
		_, err := scenarios.Parse("s.json", []byte(strings.Replace(goodScenario, old, repl, 1)))
		if assert.Error(t, err, tc.edit) {
			assert.Contains(t, err.Error(), tc.want, tc.edit)
			assert.True(t, strings.HasPrefix(err.Error(), "s.json: "), "errors name the file: %v", err)
		}
	}
}

// FuzzParse feeds the scenario parser arbitrary bytes: it must answer with
// a scenario or an error, never a panic.
//
//	go test ./scenarios -run '^$' -fuzz FuzzParse -fuzztime 30s
func FuzzParse(f *testing.F) {
	f.Add([]byte(goodScenario))
	f.Add([]byte(`{"name": "m", "cluster": {"brokers": -3, "topics": [{"name": "t", "partitions": -1}]}, "workload": {"producers": [{"count": -2}]}}`))
	f.Add([]byte(`{"name": "m", "nemesis": {"kinds": ["crash"], "interval": "1s", "length": "1s"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = scenarios.Parse("fuzz.json", data)
	})
}
