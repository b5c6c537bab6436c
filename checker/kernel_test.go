package checker_test

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// healthyView is one partition with three in-sync replicas holding a, b.
func healthyView() (*fakeView, model.TopicPartition) {
	v := newFakeView()
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	p := v.part(tp)
	p.md = model.PartitionMetadata{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}
	p.hasMD = true
	for b := int32(1); b <= 3; b++ {
		r := v.replica(tp, b)
		r.epoch, r.hwm = 1, 2
		r.entries, _ = parseEntries("a,b", 0, 1)
		if b == 1 {
			r.leader, r.isr = true, []int32{1, 2, 3}
		}
	}
	v.bump()
	return v, tp
}

// A violation found after an event stops the kernel's run with the seed,
// the time, the step and the replay command.
func TestInvariantsStopTheRun(t *testing.T) {
	s := sim.New(sim.Config{Seed: 9, Replay: "kafkasim replay kip101.json"})
	v, tp := healthyView()
	inv := checker.NewInvariants(checker.InvariantConfig{Run: checker.Run{Seed: 9, Replay: "kafkasim replay kip101.json"}})
	inv.Register(s, v)
	s.At(time.Second, "tick", func() {})
	s.At(5*time.Second, "break", func() {
		r := v.replica(tp, 2)
		r.entries, r.hwm = r.entries[:1], 1 // b is gone, without a restart
		v.bump()
	})
	s.At(6*time.Second, "later", func() { t.Error("the run went on after the violation") })
	err := s.RunUntil(time.Minute)
	require.Error(t, err)

	var failure *sim.Failure
	require.True(t, errors.As(err, &failure))
	assert.Equal(t, checker.CheckName, failure.Check)
	assert.Equal(t, uint64(9), failure.Seed)
	assert.Equal(t, 5*time.Second, failure.At)
	assert.Contains(t, err.Error(), "replay: kafkasim replay kip101.json")

	var f *checker.Finding
	require.True(t, errors.As(err, &f))
	assert.Equal(t, "hwm-above-isr-leo", f.Name)
	assert.Equal(t, checker.Invariant, f.Class)
	assert.Equal(t, 5*time.Second, f.At)
	assert.Equal(t, uint64(2), f.Step)
	assert.Contains(t, f.String(), "seed 9")
	assert.Contains(t, f.String(), "at 5s")
	assert.Contains(t, f.String(), "replay: kafkasim replay kip101.json")
}

// A violation the broker reports through the Observer, in the middle of an
// event, stops the run at that event.
func TestObserverViolationStopsAtItsEvent(t *testing.T) {
	s := sim.New(sim.Config{Seed: 3})
	v, tp := healthyView()
	inv := checker.NewInvariants(checker.InvariantConfig{Run: checker.Run{Seed: 3}})
	inv.Register(s, v)
	s.At(2*time.Second, "produce", func() {
		r := v.replica(tp, 1)
		r.entries = append(r.entries, model.Entry{Offset: 2, LeaderEpoch: 1, Value: []byte("c")})
		v.bump()
		inv.Acked(tp, 1, 1, 2, 2, []int32{1, 2, 3}) // nobody else has c
	})
	err := s.RunUntil(time.Minute)
	var f *checker.Finding
	require.True(t, errors.As(err, &f), "%v", err)
	assert.Equal(t, "acked-not-replicated", f.Name)
	assert.Equal(t, 2*time.Second, f.At)
	assert.Len(t, inv.Findings(), 2, "both members 2 and 3 lack the record")
}

// With Continue, the run reaches its end and every violation is kept.
func TestInvariantsContinue(t *testing.T) {
	s := sim.New(sim.Config{Seed: 3})
	v, tp := healthyView()
	inv := checker.NewInvariants(checker.InvariantConfig{Continue: true})
	inv.Register(s, v)
	s.At(time.Second, "break", func() {
		v.replica(tp, 1).hwm = 7
		v.bump()
	})
	require.NoError(t, s.RunUntil(time.Minute))
	names := []string{}
	for _, f := range inv.Findings() {
		names = append(names, f.Name)
	}
	assert.Contains(t, names, "hwm-above-leo")
	assert.Contains(t, names, "hwm-above-isr-leo")
}

// The invariants mark the legal but dangerous states they let pass.
func TestInvariantsMarkWhatTheyAllow(t *testing.T) {
	s := sim.New(sim.Config{Seed: 5})
	v, tp := healthyView()
	inv := checker.NewInvariants(checker.InvariantConfig{})
	inv.Register(s, v)
	s.At(time.Second, "crash", func() {
		r := v.replica(tp, 3)
		r.online = false
		v.bump()
	})
	s.At(2*time.Second, "restart without the tail", func() {
		r := v.replica(tp, 3)
		r.online, r.incarnation, r.entries, r.hwm = true, 2, r.entries[:1], 1
		v.bump()
	})
	require.NoError(t, s.RunUntil(time.Minute))
	assert.Equal(t, uint64(1), s.Marked("checker.isr-member-lost-data"))
	require.Len(t, inv.Findings(), 1)
	assert.Equal(t, checker.Note, inv.Findings()[0].Class)
}
