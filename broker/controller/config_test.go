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
		{"unclean.leader.election.enable", "yes", "invalid value yes for configuration unclean.leader.election.enable: expected value to be either true or false"},
		{"eligible.leader.replicas.version", "2", "invalid value 2 for configuration eligible.leader.replicas.version: accepted are 0 (off) and 1 (on)"},
		{"num.partitions", "0", "invalid value 0 for configuration num.partitions: value must be at least 1"},
		{"broker.session.timeout.ms", "soon", "invalid value soon for configuration broker.session.timeout.ms: expected a whole number"},
	} {
		assert.EqualError(t, c.Set(tc.name, tc.value), tc.want)
	}
	err := c.Set("log.retention.ms", "1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown controller configuration "log.retention.ms": known are`)
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
		"invalid value x for configuration min.insync.replicas: expected a whole number of type int")
	assert.EqualError(t, ValidateTopicConfig("cleanup.policy", "compact"),
		`unknown topic config name "cleanup.policy": known are min.insync.replicas, unclean.leader.election.enable`)
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
