package zookeeper_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/internal/faulttest"
	"github.com/stretchr/testify/require"
)

// TestCoverage runs a broad fault sweep and asserts that the rare paths
// the package exists for were reached.
func TestCoverage(t *testing.T) {
	marks := map[string]uint64{}
	ops := 0
	for seed := uint64(1); seed <= 12; seed++ {
		sc := scenario{Seed: seed, Servers: 3, Clients: 3, SnapCount: []int{10, 40, 100000}[seed%3]}
		if seed%4 == 0 {
			sc.Servers = 5
		}
		sc.DriftPPM = make([]int64, sc.Servers)
		for i := range 6 {
			at := time.Duration(2+9*i) * time.Second
			sc.Episodes = append(sc.Episodes, episode{At: at, For: time.Duration(3+int(seed+uint64(i))%6) * time.Second,
				Kind: faulttest.Kind(int(seed+uint64(i)) % (int(faultClientPause) + 1)), Node: int(seed+uint64(i)) % sc.Servers, Side: []int{int(seed) % sc.Servers}})
		}
		e, w, err := sc.run()
		require.NoError(t, err, "seed %d", seed)
		ops += len(w.ops)
		for k, v := range e.s.Marks() {
			marks[k] += v
		}
	}
	if testing.Verbose() {
		for _, k := range slices.Sorted(maps.Keys(marks)) {
			fmt.Println(k, marks[k])
		}
		fmt.Println("ops", ops)
	}
	for _, m := range []string{
		"zk.sync.diff", "zk.sync.snap", "zk.session.expired", "zk.session.revalidate.expired", "zk.leader.not-sufficient-followers",
		"zk.leader.learner-txn-timeout", "zk.follower.read-timeout", "zk.election.joined-established",
		"zk.follower.epoch-already-accepted", "zk.recovery.invalid-snapshot", "zk.snapshot", "zk.client.expired",
	} {
		require.Positive(t, marks[m], "coverage mark %s never reached; marks: %v", m, marks)
	}
}
