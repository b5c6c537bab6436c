package broker_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

var tp0 = model.TopicPartition{Topic: "t", Partition: 0}

// replicationInvariants are the properties every step must keep: on the
// partition's leader (as the controller has it, when it is up and acts as
// leader in the controller's epoch), the high-water mark is at most the log
// end offset of every online ISR member, and the committed prefix (below
// the high-water mark) is a prefix of every online ISR member's log.
func replicationInvariants(e *env) func() error {
	v := e.view()
	var seen uint64
	return func() error {
		ver := v.Version()
		if ver == seen {
			return nil
		}
		seen = ver
		for _, tp := range v.Partitions() {
			md, _ := v.Metadata(tp)
			replicas := v.Replicas(tp)
			var leader model.ReplicaView
			for _, r := range replicas {
				if r.Broker() == md.Leader && r.Online() && r.IsLeader() && r.LeaderEpoch() == md.LeaderEpoch {
					leader = r
				}
			}
			if leader == nil {
				continue
			}
			hwm := leader.HighWatermark()
			for _, r := range replicas {
				if r == leader || !r.Online() || !slices.Contains(leader.ISR(), r.Broker()) {
					continue
				}
				if r.LogEndOffset() < hwm {
					return fmt.Errorf("%s: leader b%d has high-water mark %d above ISR member b%d's log end %d",
						tp, leader.Broker(), hwm, r.Broker(), r.LogEndOffset())
				}
				for off := leader.LogStartOffset(); off < hwm; off++ {
					a, _ := leader.Entry(off)
					b, ok := r.Entry(off)
					if !ok || a.LeaderEpoch != b.LeaderEpoch || string(a.Value) != string(b.Value) {
						return fmt.Errorf("%s: committed offset %d differs: leader b%d has %v, ISR member b%d has %v",
							tp, off, leader.Broker(), a, r.Broker(), b)
					}
				}
			}
		}
		return nil
	}
}

// randomRun drives a 3-broker cluster through a random interleaving of
// produces, crashes, restarts, isolations, heals and controller actions
// (fencing dead brokers out of the ISR and electing a live ISR member, as
// Kafka's controller does), and returns the simulation's failure, if any.
func randomRun(t *rapid.T, mode broker.TruncationMode, steps int) (*env, error) {
	seed := rapid.Uint64().Draw(t, "seed")
	e, err := newEnv(envOptions{seed: seed, brokers: 3, jitter: 200 * time.Microsecond, config: func(c *broker.Config) {
		c.Truncation = mode
		c.ReplicaLagTimeMax = 2 * time.Second
		c.HighWatermarkCheckpointInterval = 500 * time.Millisecond
	}})
	require.NoError(t, err)
	e.quiet = true
	require.NoError(t, e.ctrl.createTopic("t", [][]int32{{1, 2, 3}}, nil))
	e.s.AddCheck("replication", replicationInvariants(e))
	value := 0
	for i := range steps {
		switch rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("action%d", i)) {
		case 0, 1, 2: // produce to the leader
			reg, _ := e.ctrl.image.Partition(tp0)
			value++
			acks := []int16{protocol.AcksAll, protocol.AcksLeader}[rapid.IntRange(0, 1).Draw(t, fmt.Sprintf("acks%d", i))]
			if reg.Leader >= 0 {
				_ = e.send(reg.Leader, &protocol.Produce{CorrelationID: e.nextCorr(), Acks: acks, Timeout: 5 * time.Second,
					Partitions: []protocol.ProducePartition{{TP: tp0, Records: protocol.NewRecords(protocol.NoProducer, 0, fmt.Sprint(value))}}})
			}
		case 3, 4: // let time pass
			d := time.Duration(rapid.Int64Range(1, 3000).Draw(t, fmt.Sprintf("run%d", i))) * time.Millisecond
			if err := e.s.RunFor(d); err != nil {
				return e, err
			}
		case 5: // crash a broker, keeping at least one up
			id := int32(rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("crash%d", i)))
			if up := countUp(e); up > 1 && e.nodes[id].Up() {
				_ = e.nodes[id].Crash()
			}
		case 6: // restart a broker
			id := int32(rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("restart%d", i)))
			if !e.nodes[id].Up() {
				_ = e.nodes[id].Restart()
				_ = e.ctrl.register(id)
			}
		case 7: // isolate a broker or heal the network
			if rapid.Bool().Draw(t, fmt.Sprintf("heal%d", i)) {
				e.net.Heal()
			} else {
				_ = e.net.Isolate(e.nodes[int32(rapid.IntRange(1, 3).Draw(t, fmt.Sprintf("isolate%d", i)))].ID())
			}
		case 8, 9: // the controller fences dead brokers out of the ISR and elects
			controllerStep(e)
		}
		if err := e.s.Err(); err != nil {
			return e, err
		}
	}
	e.net.Heal()
	for _, id := range e.brokerIDs() {
		if !e.nodes[id].Up() {
			_ = e.nodes[id].Restart()
			_ = e.ctrl.register(id)
		}
	}
	controllerStep(e)
	return e, e.s.RunFor(20 * time.Second)
}

func countUp(e *env) int {
	n := 0
	for _, nd := range e.nodes {
		if nd.Up() {
			n++
		}
	}
	return n
}

// controllerStep removes down brokers from the ISR (never emptying it) and,
// if the leader is down, elects the first live ISR member: a clean
// election, as Kafka's controller makes after a broker's session expires.
func controllerStep(e *env) {
	reg, _ := e.ctrl.image.Partition(tp0)
	var live []int32
	for _, id := range reg.ISR {
		if e.nodes[id].Up() {
			live = append(live, id)
		}
	}
	if len(live) == 0 {
		return
	}
	leader := int32(-2)
	if !slices.Contains(live, reg.Leader) {
		leader = live[0]
	}
	if len(live) == len(reg.ISR) && leader == -2 {
		return
	}
	_ = e.ctrl.change(tp0, leader, live)
}

// TestReplicationProperties: under random interleavings with clean
// elections, the committed prefix of the leader is on every ISR member and
// the high-water mark never passes an ISR member's log end; once the
// faults heal, every replica converges to the leader's log.
func TestReplicationProperties(t *testing.T) {
	for _, mode := range []broker.TruncationMode{broker.TruncateOnFetch, broker.TruncateWithEpochs} {
		t.Run(mode.String(), func(t *testing.T) {
			acked, truncations, elections := 0, 0, 0
			rapid.Check(t, func(t *rapid.T) {
				e, err := randomRun(t, mode, 80)
				require.NoError(t, err)
				acked += len(e.obs.acked)
				truncations += int(e.s.Marked("broker.truncate.diverging-epoch") + e.s.Marked("broker.truncate.offsets-for-leader-epoch"))
				reg, _ := e.ctrl.image.Partition(tp0)
				elections += int(reg.LeaderEpoch)
				lb, ok := e.broker(reg.Leader)
				require.True(t, ok)
				lr, _ := lb.Partition(tp0)
				for _, id := range reg.ISR {
					b, _ := e.broker(id)
					r, _ := b.Partition(tp0)
					require.Equal(t, lr.Log().String(), r.Log().String(), "b%d converged to the leader's log", id)
				}
			})
			t.Logf("%d acks, %d truncations, %d elections", acked, truncations, elections)
			assert.Positive(t, acked, "the runs acknowledged writes")
			assert.Positive(t, elections, "the runs changed leaders")
			assert.Positive(t, truncations, "the runs truncated diverging followers")
		})
	}
}

// TestLegacyTruncationLosesCommittedData: the same random runs with the
// pre-0.11 truncation to the high-water mark break the properties (KIP-101):
// the property test finds the bug.
func TestLegacyTruncationLosesCommittedData(t *testing.T) {
	found := 0
	for seed := range 200 {
		var failure error
		rapid.Custom(func(t *rapid.T) int {
			_, failure = randomRun(t, broker.TruncateToHighWatermark, 40)
			return 0
		}).Example(seed)
		if failure != nil {
			found++
			var f interface{ Unwrap() error }
			assert.True(t, errors.As(failure, &f), "a simulation failure")
			assert.Contains(t, failure.Error(), "seed", "the failure names the seed")
			assert.Contains(t, failure.Error(), "replication: t-0:", "the replication invariant caught it")
			t.Logf("found after %d runs: %v", seed+1, failure)
			break
		}
	}
	assert.Positive(t, found, "truncation to the high-water mark loses committed data in some run")
}
