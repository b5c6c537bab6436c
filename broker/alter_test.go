package broker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/model"
)

// TestAlterPartitionRetryKeepsProposedEpochs: the leader proposes to add
// b3 back to the ISR with the broker epoch b3 fetched with; the controller
// does not answer. Meanwhile b3's disk is replaced and it registers again;
// its new incarnation's fetches reach the leader with the new broker epoch,
// but the leader's answers do not reach it, so it stays empty. When the
// request times out, the leader resends it as Kafka's AlterPartitionManager
// does, with the epochs it proposed, and the controller refuses the stale
// b3 (KIP-903). A retry that took the epochs from the fetches of the
// moment would put the empty b3 into the ISR.
func TestAlterPartitionRetryKeepsProposedEpochs(t *testing.T) {
	e, err := newEnv(envOptions{seed: 1})
	require.NoError(t, err)
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	require.NoError(t, e.ctrl.createTopic("t", [][]int32{{1, 2, 3}}, nil))
	require.NoError(t, e.s.RunFor(time.Second))

	// b3 leaves the ISR; the controller stops answering AlterPartition.
	e.ctrl.hold = true
	require.NoError(t, e.ctrl.change(tp, metadata.NoLeaderChange, []int32{1, 2}))
	require.NoError(t, e.s.RunFor(time.Second))
	assert.Contains(t, e.flush(), "controller: holds AlterPartition", "the leader proposed b3 for the ISR")
	old, _ := e.ctrl.image.Broker(3)

	// b3's disk is replaced; it registers again and fetches from the
	// leader, which cannot answer it.
	b3 := e.nodes[3]
	b3.LoseDisk()
	require.NoError(t, e.net.Cut(e.nodes[1].ID(), b3.ID()))
	require.NoError(t, b3.Restart())
	require.NoError(t, e.ctrl.register(3))
	e.ctrl.hold = false
	require.NoError(t, e.s.RunFor(broker.AlterPartitionTimeout+time.Second))
	now, _ := e.ctrl.image.Broker(3)
	require.NotEqual(t, old.Epoch, now.Epoch, "b3 registered again")

	p, ok := e.ctrl.image.Partition(tp)
	require.True(t, ok)
	assert.Equal(t, []int32{1, 2}, p.ISR, "the stale proposal must not put the empty b3 into the ISR")
	assert.Positive(t, e.s.Marked("broker.alter-partition.timeout"), "the unanswered request was sent again")
	assert.Positive(t, e.s.Marked("broker.alter-partition.rejected"), "the controller refused the stale epoch")
	r, ok := mustBroker(t, e, 3).Partition(tp)
	require.True(t, ok)
	assert.Zero(t, r.LogEndOffset(), "b3 is still empty")
}

func mustBroker(t *testing.T, e *env, id int32) *broker.Broker {
	t.Helper()
	b, ok := e.broker(id)
	require.True(t, ok, "broker %d is running", id)
	return b
}
