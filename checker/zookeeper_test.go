package checker_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// A controller write is judged against every newer controller epoch, in
// whichever order the two are observed.
func TestDeposedControllerWrite(t *testing.T) {
	tp := model.TopicPartition{Topic: "orders", Partition: 2}
	for _, epochFirst := range []bool{true, false} {
		inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
		inv.ControllerEpochCommitted(1, 0x100000002)
		inv.ControllerWrite(4, tp, 1, 0, 0x100000010) // before epoch 2: fine
		if epochFirst {
			inv.ControllerEpochCommitted(2, 0x10000002a)
			inv.ControllerWrite(4, tp, 1, 1, 0x100000037)
		} else {
			inv.ControllerWrite(4, tp, 1, 1, 0x100000037)
			inv.ControllerEpochCommitted(2, 0x10000002a)
		}
		inv.ControllerWrite(2, tp, 2, 2, 0x100000040) // the new controller's: fine
		fs := inv.Findings()
		require.Equal(t, []string{string(checker.DeposedControllerWrite)}, names(fs))
		assert.Equal(t, checker.Invariant, fs[0].Class)
		assert.Equal(t, []int32{4}, fs[0].Brokers)
		assert.Contains(t, fs[0].Message, "controller of epoch 1")
		assert.Contains(t, fs[0].Message, "controller epoch 2 at zxid 0x10000002a")
	}
}

func TestControllerWritesBeforeANewerEpochAreFine(t *testing.T) {
	inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
	tp := model.TopicPartition{Topic: "orders"}
	inv.ControllerWrite(1, tp, 1, 3, 0x100000020)
	inv.ControllerEpochCommitted(1, 0x100000002)
	inv.ControllerEpochCommitted(2, 0x100000021)
	inv.ControllerWrite(2, tp, 2, 4, 0x100000022)
	assert.Empty(t, inv.Findings())
	assert.NoError(t, inv.Stop())
}

// Without Continue, the finding stops the run at the step it was made.
func TestDeposedControllerWriteStops(t *testing.T) {
	inv := checker.NewInvariants(checker.InvariantConfig{})
	tp := model.TopicPartition{Topic: "orders"}
	inv.ControllerEpochCommitted(2, 0x10)
	inv.ControllerWrite(1, tp, 1, 3, 0x20)
	err := inv.Stop()
	require.Error(t, err)
	assert.Contains(t, err.Error(), string(checker.DeposedControllerWrite))
	assert.NoError(t, inv.Stop(), "a violation is returned once")
}

func TestStaleISRZkVersion(t *testing.T) {
	tp := model.TopicPartition{Topic: "orders"}
	for _, c := range []struct {
		name                         string
		failures                     int
		zkLeader, zkEpoch, zkVersion int32
		want                         bool
	}{
		{"the first refusal", 1, 3, 0, 1, false},
		{"refused again, ZooKeeper names it leader in its epoch", 2, 3, 0, 1, true},
		{"ZooKeeper has a newer leader epoch: a LeaderAndIsr will come", 2, 3, 1, 1, false},
		{"another leader", 3, 2, 0, 1, false},
		{"ZooKeeper's state unknown", 3, -1, -1, -1, false},
		{"the same zkVersion: refused for another reason", 2, 3, 0, 0, false},
	} {
		inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
		inv.ISRWriteRefused(3, tp, 0, 0, c.failures, c.zkLeader, c.zkEpoch, c.zkVersion)
		if !c.want {
			assert.Empty(t, inv.Findings(), c.name)
			continue
		}
		fs := inv.Findings()
		require.Equal(t, []string{string(checker.StaleISRZkVersion)}, names(fs), c.name)
		assert.Contains(t, fs[0].Message, "cached zkVersion 0")
		assert.Contains(t, fs[0].Message, "at zkVersion 1")
	}
}
