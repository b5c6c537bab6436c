package scenarios_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios"
)

// txnPolls runs transactions that send to and poll from three partitions:
// a poll is no snapshot of several partitions, so with rw dependencies its
// history has read skew (G-single) on seed 1.
const txnPolls = `{
  "name": "txn-polls",
  "seed": 1,
  "duration": "10s",
  "cluster": {
    "brokers": 3,
    "broker_config": {"transaction.state.log.num.partitions": "1"},
    "topics": [{"name": "events", "partitions": 3, "replication_factor": 3}]
  },
  "workload": {
    "transactions": [{"count": 3, "topic": "events", "rate": 5, "max_sends": 3, "poll_chance": 0.5, "abort_chance": 0.2}]
  }
}`

func findingNames(fs []checker.Finding) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}

// checks.rw_deps turns on the cycle check's read-write anti-dependencies:
// the same run is judged to have G-single with them and none without;
// --set checks.rw_deps=true does what the file does.
func TestChecksRWDepsFindGSingle(t *testing.T) {
	unset, err := scenarios.Run(parse(t, txnPolls), scenarios.Options{})
	require.NoError(t, err)
	assert.NotContains(t, findingNames(unset.Report.Findings), string(checker.GSingle))

	withRW := strings.Replace(txnPolls, `"seed": 1,`, `"seed": 1, "checks": {"rw_deps": true},`, 1)
	set, err := scenarios.Run(parse(t, withRW), scenarios.Options{})
	require.NoError(t, err)
	assert.Contains(t, findingNames(set.Report.Findings), string(checker.GSingle))
	assert.Equal(t, unset.TraceHash, set.TraceHash, "the check judges the run; it does not change it")

	overridden, err := scenarios.Override(parse(t, txnPolls), "checks.rw_deps=true")
	require.NoError(t, err)
	assert.True(t, overridden.Checks.RWDeps)
	assert.False(t, overridden.Checks.WWDeps)
}

// An unknown field of checks is refused, naming the fields it takes.
func TestChecksFieldsAreListed(t *testing.T) {
	bad := strings.Replace(txnPolls, `"seed": 1,`, `"seed": 1, "checks": {"rw_edges": true},`, 1)
	_, err := scenarios.Parse("s.json", []byte(bad))
	assert.ErrorContains(t, err, `checks: unknown field "rw_edges"; accepted here: no_linearizability, linearizability_budget, ww_deps, rw_deps, continue_after_invariant`)
	bad = strings.Replace(txnPolls, `"seed": 1,`, `"seed": 1, "checks": {"ww_deps": "yes"},`, 1)
	_, err = scenarios.Parse("s.json", []byte(bad))
	assert.ErrorContains(t, err, "checks.ww_deps")
}
