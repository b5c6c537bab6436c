package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigSet(t *testing.T) {
	c := DefaultConfig(3001)
	require.NoError(t, c.Set("broker.session.timeout.ms", "6000"))
	require.NoError(t, c.Set("unclean.leader.election.enable", "true"))
	require.NoError(t, c.Set("eligible.leader.replicas.version", "1"))
	require.NoError(t, c.Set("leader.imbalance.check.interval.seconds", "30"))
	require.NoError(t, c.Set("controller.quorum.fetch.timeout.ms", "3000"))
	assert.Equal(t, 6*time.Second, c.SessionTimeout)
	assert.True(t, c.UncleanLeaderElection)
	assert.True(t, c.ELR)
	assert.Equal(t, 30*time.Second, c.LeaderImbalanceCheckInterval)
	assert.Equal(t, 3*time.Second, c.Quorum.FetchTimeout)

	for _, tc := range []struct{ name, value, want string }{
		{"unclean.leader.election.enable", "yes", "invalid value yes for configuration unclean.leader.election.enable: expected true or false"},
		{"eligible.leader.replicas.version", "2", "invalid value 2 for configuration eligible.leader.replicas.version: expected one of 0, 1"},
		{"num.partitions", "0", "invalid value 0 for configuration num.partitions: value must be at least 1"},
		{"broker.session.timeout.ms", "soon", "invalid value soon for configuration broker.session.timeout.ms: expected a whole number from 1 to 2147483647"},
	} {
		assert.EqualError(t, c.Set(tc.name, tc.value), tc.want)
	}
	err := c.Set("log.retention.ms", "1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown configuration "log.retention.ms": kafkasim's controller configurations are auto.leader.rebalance.enable,`)
}

// TestSetters proves the controller's setters and the property table
// agree, for controller and topic configs, and that the defaults are
// Kafka's.
func TestSetters(t *testing.T) {
	require.NoError(t, Setters.Check())
	require.NoError(t, TopicSetters.Check())
	require.NoError(t, Setters.Defaults(DefaultConfig(3001)))
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig(3001)
	err := c.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "node.id 3001 is not among controller.quorum.voters")
	assert.Contains(t, err.Error(), "Directory is nil")
	c.MinInsyncReplicas = 0
	assert.Contains(t, c.Validate().Error(), "invalid value 0 for configuration min.insync.replicas: value must be at least 1")
}

func TestValidateTopicConfig(t *testing.T) {
	assert.NoError(t, ValidateTopicConfig(MinInsyncReplicasConfig, "2"))
	assert.NoError(t, ValidateTopicConfig(UncleanLeaderElectionConfig, "false"))
	assert.EqualError(t, ValidateTopicConfig(MinInsyncReplicasConfig, "x"),
		"invalid value x for configuration min.insync.replicas: expected a whole number from 1 to 2147483647")
	assert.NoError(t, ValidateTopicConfig("cleanup.policy", "compact, delete"))
	assert.EqualError(t, ValidateTopicConfig("cleanup.policy", "compress"),
		"invalid value compress for configuration cleanup.policy: expected a comma-separated list of delete, compact")
	assert.EqualError(t, ValidateTopicConfig("cleanup.policy", ""),
		"invalid value  for configuration cleanup.policy: expected a comma-separated list of delete, compact")
	assert.EqualError(t, ValidateTopicConfig("segment.bytes", "0"),
		"invalid value 0 for configuration segment.bytes: value must be at least 14")
	assert.EqualError(t, ValidateTopicConfig("segment.bytes", "-1"),
		"invalid value -1 for configuration segment.bytes: value must be at least 14")
	assert.NoError(t, ValidateTopicConfig("retention.ms", "-1"), "retention.ms -1 is forever")
	assert.EqualError(t, ValidateTopicConfig("retention.ms", "-2"),
		"invalid value -2 for configuration retention.ms: value must be at least -1")
	assert.NoError(t, ValidateTopicConfig("retention.bytes", "-5"), "Kafka checks no range: negative is no limit")
	assert.EqualError(t, ValidateTopicConfig("segment.ms", "0"),
		"invalid value 0 for configuration segment.ms: value must be at least 1")
	assert.EqualError(t, ValidateTopicConfig("min.cleanable.dirty.ratio", "1.5"),
		"invalid value 1.5 for configuration min.cleanable.dirty.ratio: value must be at most 1")

	def := DefaultConfig(3001).TopicDefaults()
	tc, err := ParseTopicConfig(def, 3, map[string]string{"min.insync.replicas": "2", "unclean.leader.election.enable": "true"})
	require.NoError(t, err)
	want := def
	want.MinInsyncReplicas, want.UncleanLeaderElection = 2, true
	assert.Equal(t, want, tc)
	tc, err = ParseTopicConfig(def, 3, map[string]string{"cleanup.policy": "delete,compact", "retention.ms": "600000"})
	require.NoError(t, err)
	assert.Equal(t, "compact,delete", tc.CleanupPolicy)
	assert.Equal(t, int64(600000), tc.RetentionMs)
	_, err = ParseTopicConfig(def, 3, map[string]string{"min.insync.replicas": "4"})
	assert.EqualError(t, err, "invalid value 4 for configuration min.insync.replicas: value must be at most the replication factor 3")
	_, err = ParseTopicConfig(def, 3, map[string]string{"unclean.leader.election.enable": "yes"})
	assert.EqualError(t, err, "invalid value yes for configuration unclean.leader.election.enable: expected true or false")
}

func TestValidateTopicName(t *testing.T) {
	assert.Empty(t, validateTopicName("orders.v2_eu-1"))
	assert.NotEmpty(t, validateTopicName(""))
	assert.NotEmpty(t, validateTopicName(".."))
	assert.NotEmpty(t, validateTopicName("a b"))
	long := make([]byte, maxTopicNameLength+1)
	for i := range long {
		long[i] = 'a'
	}
	assert.NotEmpty(t, validateTopicName(string(long)))
}
