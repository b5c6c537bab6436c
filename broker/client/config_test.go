package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/model"
)

func TestProducerDefaultsAreKafkas(t *testing.T) {
	c, err := client.ParseProducerConfig(nil)
	require.NoError(t, err)
	assert.Equal(t, model.AcksAll, c.Acks)
	assert.True(t, c.EnableIdempotence)
	assert.Equal(t, 16384, c.BatchSize)
	assert.Equal(t, 5*time.Millisecond, c.Linger)
	assert.Equal(t, 5, c.MaxInFlight)
	assert.Equal(t, 120*time.Second, c.DeliveryTimeout)
	assert.Equal(t, 30*time.Second, c.RequestTimeout)
}

func TestProducerConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"linger.ms": "-1"}, "invalid value -1 for configuration linger.ms: value must be at least 0"},
		{map[string]string{"acks": "2"}, "invalid value 2 for configuration acks: expected one of all, -1, 0, 1"},
		{map[string]string{"batch.size": "big"}, "invalid value big for configuration batch.size: expected a whole number from 0 to 2147483647"},
		{map[string]string{"enable.idempotence": "yes"}, "invalid value yes for configuration enable.idempotence: expected true or false"},
		{map[string]string{"enable.idempotence": "true", "acks": "1"}, "Must set acks to all in order to use the idempotent producer"},
		{map[string]string{"enable.idempotence": "true", "max.in.flight.requests.per.connection": "6"}, "at most 5 when using the idempotent producer"},
		{map[string]string{"delivery.timeout.ms": "1000"}, "delivery.timeout.ms: should be equal to or larger than linger.ms + request.timeout.ms (30005)"},
		{map[string]string{"partitioner.class": "Mine"}, "invalid value Mine for configuration partitioner.class"},
		{map[string]string{"lingr.ms": "5"}, `unknown configuration "lingr.ms": kafkasim's producer configurations are acks, batch.size`},
	} {
		_, err := client.ParseProducerConfig(tc.props)
		assert.ErrorContains(t, err, tc.want, "%v", tc.props)
	}
	// Conflicting settings with idempotence left at its default turn it off.
	c, err := client.ParseProducerConfig(map[string]string{"acks": "1"})
	require.NoError(t, err)
	assert.False(t, c.EnableIdempotence)
	c, err = client.ParseProducerConfig(map[string]string{"max.in.flight.requests.per.connection": "10"})
	require.NoError(t, err)
	assert.False(t, c.EnableIdempotence)
}

func TestConsumerConfig(t *testing.T) {
	c, err := client.ParseConsumerConfig(map[string]string{"group.id": "g"})
	require.NoError(t, err)
	assert.Equal(t, 45*time.Second, c.SessionTimeout)
	assert.Equal(t, 3*time.Second, c.HeartbeatInterval)
	assert.Equal(t, 5*time.Minute, c.MaxPollInterval)
	assert.Equal(t, "latest", c.AutoOffsetReset)
	assert.True(t, c.EnableAutoCommit)
	assert.Equal(t, []string{"range", "cooperative-sticky"}, c.Assignors)

	c, err = client.ParseConsumerConfig(nil)
	require.NoError(t, err)
	assert.False(t, c.EnableAutoCommit, "no group, no auto-commit")

	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"enable.auto.commit": "true"}, "enable.auto.commit cannot be set to true when the default group id (null) is used"},
		{map[string]string{"group.id": "g", "partition.assignment.strategy": "sticky-ish"}, `unknown partition assignor "sticky-ish": accepted are range, roundrobin, sticky, cooperative-sticky`},
		{map[string]string{"auto.offset.reset": "smallest"}, "invalid value smallest for configuration auto.offset.reset: expected one of latest, earliest, none"},
		{map[string]string{"group.id": "g", "heartbeat.interval.ms": "50000"}, "Heartbeat must be set lower than the session timeout"},
		{map[string]string{"max.poll.records": "0"}, "invalid value 0 for configuration max.poll.records: value must be at least 1"},
	} {
		_, err := client.ParseConsumerConfig(tc.props)
		assert.ErrorContains(t, err, tc.want, "%v", tc.props)
	}
}

// TestSetters proves the clients' setters and the property table agree:
// every producer, consumer and admin property has a setter, every setter a
// property of its role, and the defaults are Kafka's (but client.id, which
// kafkasim fills with the client node's name).
func TestSetters(t *testing.T) {
	require.NoError(t, client.ProducerSetters.Check())
	require.NoError(t, client.ConsumerSetters.Check())
	require.NoError(t, client.AdminSetters.Check())
	require.NoError(t, client.ProducerSetters.Defaults(client.DefaultProducerConfig(), "client.id"))
	require.NoError(t, client.ConsumerSetters.Defaults(client.DefaultConsumerConfig(), "client.id"))
	require.NoError(t, client.AdminSetters.Defaults(client.DefaultAdminConfig(), "client.id"))
}
