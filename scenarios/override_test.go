package scenarios_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

func TestOverride(t *testing.T) {
	s, err := scenarios.Builtin("unclean-election-loss")
	require.NoError(t, err)
	for _, c := range []struct {
		set   string
		check func(t *testing.T, s scenarios.Scenario)
	}{
		{"cluster.topics.orders.config.unclean.leader.election.enable=false", func(t *testing.T, s scenarios.Scenario) {
			assert.Equal(t, "false", s.Cluster.Topics[0].Config["unclean.leader.election.enable"])
			assert.Equal(t, "1", s.Cluster.Topics[0].Config["min.insync.replicas"], "the rest of the map stays")
		}},
		{"cluster.topics.0.partitions=3", func(t *testing.T, s scenarios.Scenario) { assert.Equal(t, 3, *s.Cluster.Topics[0].Partitions) }},
		{"duration=90s", func(t *testing.T, s scenarios.Scenario) { assert.Equal(t, 90*time.Second, time.Duration(*s.Duration)) }},
		{"workload.producers.0.rate=35.5", func(t *testing.T, s scenarios.Scenario) { assert.Equal(t, 35.5, s.Workload.Producers[0].Rate) }},
		{"workload.producers.0.config.linger.ms=100", func(t *testing.T, s scenarios.Scenario) {
			assert.Equal(t, "100", s.Workload.Producers[0].Config["linger.ms"])
		}},
		{"cluster.controller_config.unclean.leader.election.enable=true", func(t *testing.T, s scenarios.Scenario) {
			assert.Equal(t, "true", s.Cluster.ControllerConfig["unclean.leader.election.enable"], "a map the scenario left out is created")
		}},
		{"cluster.protocol.truncation=epochs", func(t *testing.T, s scenarios.Scenario) { assert.Equal(t, "epochs", s.Cluster.Protocol["truncation"]) }},
	} {
		t.Run(c.set, func(t *testing.T) {
			got, err := scenarios.Override(s, c.set)
			require.NoError(t, err)
			c.check(t, got)
		})
	}
	for set, want := range map[string]string{
		"duration":                             "give KEY=VALUE",
		"cluster.topics.payments.partitions=2": `has no element "payments": give an index from 0 to 0, or a name: orders`,
		"cluster.brokers=100":                  "cluster.brokers",
		"cluster.topics.orders.config.min.insync.replicas=9": "min.insync.replicas",
		"cluster.bogus=1":                "bogus",
		"workload.producers.0.rate=fast": "rate",
	} {
		_, err := scenarios.Override(s, set)
		assert.ErrorContains(t, err, want, set)
	}
}
