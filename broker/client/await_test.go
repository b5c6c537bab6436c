package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/sim"
)

func TestAwait(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	err := client.Await(s, time.Minute, func(done func()) {
		s.At(s.Now()+3*time.Second, "test.done", done)
	})
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, s.Now(), "Await stops as soon as the call completes")

	err = client.Await(s, time.Second, func(done func()) {
		s.At(s.Now()+time.Hour, "test.late", done)
	})
	require.ErrorContains(t, err, "did not complete within 1s")
}

// The admin client with Await: no callback loop.
func TestAwaitAdmin(t *testing.T) {
	rc := newRealCluster(t, 3, 3)
	a := rc.admin("tool")
	var res []client.TopicResult
	require.NoError(t, client.Await(rc.s, time.Minute, func(done func()) {
		require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "t", Partitions: 2, ReplicationFactor: 3}}, func(r []client.TopicResult) { res = r; done() }))
	}))
	require.Len(t, res, 1)
	require.NoError(t, res[0].Err)
}
