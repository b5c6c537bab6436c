package kraft_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/sim"
)

func TestSmoke(t *testing.T) {
	cc := defaultClusterConfig()
	cc.observers = 2
	cl, err := newCluster(cc)
	require.NoError(t, err)
	rec := &sim.Recorder{Limit: 200}
	cl.s.Trace().SetSink(func(r sim.Record) {
		if len(r.Kind) > 5 && r.Kind[:5] == "kraft" && r.Kind != "kraft.poll" {
			rec.Record(r)
		}
	})
	ok, err := cl.runUntil(10*time.Second, cl.stable)
	require.NoError(t, err)
	for _, r := range rec.Records {
		fmt.Println(r)
	}
	for _, p := range cl.procs() {
		fmt.Println(p.m.name, p.c)
	}
	require.True(t, ok)
	_, err = cl.append("a", "b")
	require.NoError(t, err)
	require.NoError(t, cl.s.RunFor(time.Second))
	st := cl.s.Steps()
	require.NoError(t, cl.s.RunFor(10*time.Second))
	fmt.Println("steps in 10s idle:", cl.s.Steps()-st)
	for _, p := range cl.procs() {
		fmt.Println(p.m.name, p.c, p.commits, p.changes)
	}
}
