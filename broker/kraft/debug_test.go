package kraft_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func TestDebug(t *testing.T) {
	cc := defaultClusterConfig()
	cc.kraft.AppendLinger = 0
	cc.kraft.PreVote = false
	cc.link = network.Link{Latency: time.Millisecond}
	cl, err := newCluster(cc)
	require.NoError(t, err)
	ok, err := cl.runUntil(10*time.Second, cl.caughtUp)
	require.True(t, ok)
	ids, _ := cl.net.Resolve("c3")
	cl.net.Isolate(ids[0])
	cl.s.Trace().SetSink(func(r sim.Record) {
		if r.Node == "c3" {
			fmt.Println(r)
		}
	})
	cl.s.RunFor(5 * time.Second)
}
