package scenarios_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/scenarios"
)

// A consumer that leaves gracefully commits and sends LeaveGroup: the
// other member takes its partition over at once, not after the 30 s
// session timeout a crash would cost, and its restart joins again.
func TestLeaveClosesTheConsumerCleanly(t *testing.T) {
	res, err := scenarios.Run(parse(t, `{
  "name": "leave", "seed": 1, "duration": "40s",
  "cluster": {"brokers": 3, "controllers": 1, "broker_config": {"offsets.topic.num.partitions": "1", "group.initial.rebalance.delay.ms": "0"},
    "topics": [{"name": "orders", "partitions": 2, "replication_factor": 3}]},
  "workload": {
    "producers": [{"count": 1, "topic": "orders", "rate": 20}],
    "consumers": [{"count": 2, "group": "g1", "topics": ["orders"], "config": {"session.timeout.ms": "30000", "auto.commit.interval.ms": "60000"}}]
  },
  "faults": [{"at": "10s", "kind": "leave", "nodes": ["consumer-1"]}, {"at": "25s", "kind": "restart", "nodes": ["consumer-1"]}]
}`), scenarios.Options{})
	require.NoError(t, err)
	assert.True(t, res.OK(), res.Summary())
	assert.Equal(t, uint64(1), res.Marks["fault.leave"])
	var commitAtLeave, takeover bool
	for _, op := range res.History.Ops {
		switch {
		case op.Kind == history.KindCommit && op.Client == "consumer-1" && op.Invoke == 10*time.Second:
			commitAtLeave = true
		case op.Kind == history.KindRebalance && op.Client == "consumer-2" && len(op.Membership.Assigned) > 0 &&
			op.Invoke > 10*time.Second && op.Invoke < 15*time.Second:
			takeover = true
		}
	}
	assert.True(t, commitAtLeave, "auto-commit commits on close")
	assert.True(t, takeover, "consumer-2 took the partition over within 5 s, long before the session timeout")
	var back bool
	for _, op := range res.History.Ops {
		if op.Kind == history.KindRebalance && op.Client == "consumer-1" && op.Invoke > 25*time.Second && len(op.Membership.Assigned) > 0 {
			back = true
		}
	}
	assert.True(t, back, "the restarted consumer joined again")
}
