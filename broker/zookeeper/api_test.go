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

// TestForceSyncOffLosesCommitted shows what forceSync is for, and that the
// checker sees the difference: every server loses power right after a
// write commits. With forceSync (ZooKeeper's default) every server had
// fsynced the proposal before acknowledging it, and the write survives;
// with forceSync=no the acknowledged proposal was only in the page cache,
// the ensemble comes back without it, and the checker reports the loss.
func TestForceSyncOffLosesCommitted(t *testing.T) {
	for _, force := range []bool{true, false} {
		ec := defaultEnsembleConfig()
		ec.zk.ForceSync = force
		e, err := newEnsemble(ec)
		require.NoError(t, err)
		ok, err := e.runUntil(time.Minute, e.stable)
		require.NoError(t, err)
		require.True(t, ok)
		h, err := e.clients[0].connect(zookeeper.DefaultClientConfig(), nil)
		require.NoError(t, err)
		do(t, e, "create", func(done func()) {
			h.Create("/a", []byte("x"), zookeeper.Persistent, func(_ string, err error) {
				require.NoError(t, err)
				done()
			})
		})
		for _, m := range e.servers {
			m.node.PowerLoss(false)
		}
		for _, m := range e.servers {
			require.NoError(t, m.node.Restart())
		}
		ok, err = e.runUntil(2*time.Minute, e.stable)
		if force {
			require.NoError(t, err)
			require.True(t, ok, "no leader after the power loss:\n%s", e.describe())
			_, _, exists := e.leader().server().Tree().Get("/a")
			require.True(t, exists, "a committed write was lost although every server fsynced it")
			continue
		}
		require.ErrorContains(t, err, "committed never lost", "forceSync=no lost the committed write unnoticed")
	}
}
