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
	assert.Equal(t, 30*time.Second, time.Duration(s.Duration))
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
	assert.Equal(t, 3, s.Cluster.Brokers)
	assert.Equal(t, 1, s.Cluster.Controllers)
	assert.Equal(t, time.Minute, time.Duration(s.Duration))
	assert.Equal(t, 1, s.Cluster.Topics[0].Partitions)
	assert.Equal(t, 3, s.Cluster.Topics[0].ReplicationFactor)
}

func TestParseRejectsBadScenarios(t *testing.T) {
	for _, tc := range []struct{ edit, want string }{
		{`"seed": 7,` + "||" + `"seed": 7, "colour": "red",`, `unknown field "colour"`},
		{`"brokers": 3,` + "||" + `"brokers": -1,`, `cluster.brokers: -1 is out of range: give 1 to 64`},
		{`"controllers": 3,` + "||" + `"controllers": 12,`, `cluster.controllers: 12 is out of range`},
		{`"replication_factor": 3,` + "||" + `"replication_factor": 5,`, `cluster.topics[0].replication_factor: INVALID_REPLICATION_FACTOR: 5 must be between 1 and the number of brokers (3)`},
		{`"min.insync.replicas": "2"` + "||" + `"min.insync.replicas": "two"`, `cluster.topics[0].config: INVALID_CONFIG:`},
		{`"replica.lag.time.max.ms": "10000"` + "||" + `"replica.lag.time.max.ms": "-5"`, `cluster.broker_config: invalid value -5 for configuration replica.lag.time.max.ms`},
		{`"replica.lag.time.max.ms": "10000"` + "||" + `"no.such.config": "1"`, `cluster.broker_config:`},
		{`"acks": "all"` + "||" + `"acks": "2"`, `workload.producers[0].config:`},
		{`"topic": "orders", "rate": 50` + "||" + `"topic": "payments", "rate": 50`, `workload.producers[0].topic: unknown topic "payments": the scenario's topics are orders`},
		{`"rate": 50` + "||" + `"rate": 0`, `workload.producers[0].rate: 0: give records per second per producer, above 0`},
		{`"nodes": ["leader(orders-0)"]` + "||" + `"nodes": ["b7"]`, `faults: faults[0] (crash): nodes: unknown node "b7"`},
		{`"at": "15s"` + "||" + `"at": "45s"`, `at 45s is after the end of the run (30s)`},
		{`"duration": "30s"` + "||" + `"duration": "soon"`, `"soon" is not a duration`},
		{`"seed": 7` + "||" + `"seed": "seven"`, `line 5, column 18: field seed: want a uint64, got a JSON string`},
		{`"group": "g1", "topics": ["orders"]` + "||" + `"group": "g1", "topics": []`, `workload.consumers[0].topics: give at least one topic to read`},
		{`"seed": 7,` + "||" + `"seed": 7, "expect": {"findings": ["lost-writes"]},`, `expect.findings: unknown finding "lost-writes": accepted are G1a, ack-after-member-lost-data`},
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
