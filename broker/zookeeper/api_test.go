package zookeeper_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
)

// do runs the simulation until a callback sets done.
func do(t *testing.T, e *ensemble, what string, start func(done func())) {
	t.Helper()
	finished := false
	start(func() { finished = true })
	ok, err := e.runUntil(time.Minute, func() bool { return finished })
	require.NoError(t, err)
	require.True(t, ok, "%s did not complete within a minute:\n%s", what, e.describe())
}

func TestEnsembleElectsAndServes(t *testing.T) {
	for _, n := range []int{1, 3, 5} {
		ec := defaultEnsembleConfig()
		ec.servers = n
		e, err := newEnsemble(ec)
		require.NoError(t, err)
		ok, err := e.runUntil(time.Minute, e.stable)
		require.NoError(t, err)
		require.True(t, ok, "%d servers: no stable leader:\n%s", n, e.describe())
		// FLE elects the highest id among equal logs.
		require.Equal(t, int64(n), e.leader().sid)

		h, err := e.clients[0].connect(zookeeper.DefaultClientConfig(), nil)
		require.NoError(t, err)
		ok, err = e.runUntil(time.Minute, func() bool { return h.State() == zookeeper.Connected })
		require.NoError(t, err)
		require.True(t, ok, "client did not connect")

		var created string
		do(t, e, "create", func(done func()) {
			h.Create("/a", []byte("x"), zookeeper.Persistent, func(p string, err error) {
				require.NoError(t, err)
				created = p
				done()
			})
		})
		require.Equal(t, "/a", created)
		var stat zookeeper.Stat
		do(t, e, "set", func(done func()) {
			h.SetData("/a", []byte("y"), 0, func(st zookeeper.Stat, err error) {
				require.NoError(t, err)
				stat = st
				done()
			})
		})
		require.Equal(t, int32(1), stat.Version)
		do(t, e, "bad version", func(done func()) {
			h.SetData("/a", []byte("z"), 0, func(_ zookeeper.Stat, err error) {
				require.True(t, errors.Is(err, zookeeper.BadVersion), "got %v", err)
				done()
			})
		})
		do(t, e, "get", func(done func()) {
			h.Sync("/a", func(err error) {
				require.NoError(t, err)
				h.GetData("/a", false, func(data []byte, st zookeeper.Stat, err error) {
					require.NoError(t, err)
					require.Equal(t, "y", string(data))
					require.Equal(t, int32(1), st.Version)
					done()
				})
			})
		})
	}
}
