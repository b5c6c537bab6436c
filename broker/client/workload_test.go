package client_test

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

// producerDriver adds a node running a producer driver and starts it.
func (fc *fakeCluster) producerDriver(name string, w client.ProducerWorkload) (*client.ProducerDriver, *sim.Node) {
	d, err := client.NewProducerDriver(fc.env(), w)
	require.NoError(fc.t, err)
	n, err := fc.s.AddNode(name, d.Boot)
	require.NoError(fc.t, err)
	require.NoError(fc.t, n.Start())
	return d, n
}

// consumerDriver adds a node running a consumer driver and starts it.
func (fc *fakeCluster) consumerDriver(name string, w client.ConsumerWorkload) (*client.ConsumerDriver, *sim.Node) {
	d, err := client.NewConsumerDriver(fc.env(), w)
	require.NoError(fc.t, err)
	n, err := fc.s.AddNode(name, d.Boot)
	require.NoError(fc.t, err)
	require.NoError(fc.t, n.Start())
	return d, n
}

func sends(h *history.History, client string) []history.Op {
	var out []history.Op
	for _, op := range h.Ops {
		if op.Kind == history.KindSend && op.Client == client {
			out = append(out, op)
		}
	}
	return out
}

func TestProducerDriverRateKeysValuesAndStop(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 4})
	d, _ := fc.producerDriver("producer-1", client.ProducerWorkload{Topic: "t", Rate: 100, Keys: 3, Until: 2 * time.Second})
	fc.run(time.Second)
	assert.False(t, d.Stopped())
	assert.False(t, d.Drained(), "still producing")
	fc.run(2 * time.Second)
	require.True(t, d.Stopped())
	require.True(t, d.Drained())

	ops := sends(fc.history(), "producer-1")
	// 2 s at 100/s, gaps drawn uniformly from 5 to 15 ms.
	assert.InDelta(t, 200, len(ops), 30)
	st := d.Stats()
	assert.Equal(t, len(ops), st.Sent)
	assert.Equal(t, st.Sent, st.OK)
	keys := map[string]bool{}
	var gaps []time.Duration
	for i, op := range ops {
		require.Equal(t, history.OK, op.Outcome, op.String())
		assert.Equal(t, fmt.Sprintf("producer-1:%d", i), string(op.Send.Value), "values count up from 0")
		keys[string(op.Send.Key)] = true
		assert.Equal(t, client.KeyPartition(op.Send.Key, 4), op.Send.Partition)
		assert.Less(t, op.Invoke, 2*time.Second, "nothing is sent after Until")
		if i > 0 {
			gap := op.Invoke - ops[i-1].Invoke
			assert.GreaterOrEqual(t, gap, 5*time.Millisecond)
			assert.LessOrEqual(t, gap, 15*time.Millisecond)
			gaps = append(gaps, gap)
		}
	}
	assert.Equal(t, map[string]bool{"key-0": true, "key-1": true, "key-2": true}, keys)
	slices.Sort(gaps)
	assert.Less(t, gaps[len(gaps)/10], gaps[len(gaps)*9/10], "the gaps are jittered")
}

func TestProducerDriverSteadyWithoutKeys(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 2})
	d, _ := fc.producerDriver("p", client.ProducerWorkload{Topic: "t", Rate: 50, Steady: true, Until: time.Second,
		Properties: map[string]string{"acks": "1", "client.id": "app"}})
	fc.run(2 * time.Second)
	require.True(t, d.Drained())
	ops := sends(fc.history(), "app")
	require.NotEmpty(t, ops)
	for i, op := range ops {
		assert.Nil(t, op.Send.Key)
		assert.Equal(t, model.AcksLeader, op.Send.Acks)
		assert.Equal(t, fmt.Sprintf("p:%d", i), string(op.Send.Value), "values name the node, not the client id")
		if i > 0 {
			assert.Equal(t, 20*time.Millisecond, op.Invoke-ops[i-1].Invoke)
		}
	}
}

// A crash leaves the crashed producer's open sends unknown; the restarted
// producer goes on with fresh values under the next history process.
func TestProducerDriverSurvivesRestart(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	d, n := fc.producerDriver("producer-1", client.ProducerWorkload{Topic: "t", Rate: 200, Until: 3 * time.Second,
		Properties: map[string]string{"linger.ms": "50"}})
	fc.run(time.Second)
	pid0, _ := d.Producer().ProducerID()
	require.NoError(t, n.Crash())
	assert.Nil(t, d.Producer())
	assert.Zero(t, d.Pending(), "a crashed producer has nothing pending")
	assert.False(t, d.Drained(), "the driver will resume until its stop time")
	assert.NotEmpty(t, fc.rec.Open(), "the sends lingering at the crash stay open")
	fc.run(500 * time.Millisecond)
	require.NoError(t, n.Restart())
	fc.run(3 * time.Second)
	require.True(t, d.Drained())

	h := fc.history()
	ops := sends(h, "producer-1")
	seen := map[string]bool{}
	procs := map[int]int{}
	for _, op := range ops {
		v := string(op.Send.Value)
		assert.False(t, seen[v], "value %s sent twice", v)
		seen[v] = true
		procs[op.Process]++
		if op.Process == 0 && op.Outcome == history.Unknown {
			assert.Equal(t, time.Duration(0), op.Complete-op.Invoke, "open until the history is closed")
		}
	}
	assert.Len(t, procs, 2, "two incarnations, two processes")
	assert.Positive(t, procs[1])
	assert.Equal(t, len(ops), d.Stats().Sent)
	pid1, _ := d.Producer().ProducerID()
	assert.NotEqual(t, pid0, pid1, "the restarted producer asked for a new producer id")
}

func TestConsumerDriversInAGroupReadEverything(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 4})
	p, _ := fc.producerDriver("producer-1", client.ProducerWorkload{Topic: "t", Rate: 200, Keys: 10, Until: 5 * time.Second})
	group := map[string]string{"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": "false"}
	var cs []*client.ConsumerDriver
	for i := 1; i <= 2; i++ {
		c, _ := fc.consumerDriver(fmt.Sprintf("consumer-%d", i), client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: 3,
			PollInterval: 10 * time.Millisecond, Properties: group})
		cs = append(cs, c)
	}
	fc.runUntil(30*time.Second, func() bool { return p.Drained() && cs[0].Drained() && cs[1].Drained() }, "producer and consumers drain")
	fc.run(5 * time.Second)
	require.True(t, cs[0].Drained() && cs[1].Drained(), "and stay drained")

	h := fc.history()
	read := map[string]bool{}
	for _, c := range []string{"consumer-1", "consumer-2"} {
		for v := range polled(h, c) {
			read[v] = true
		}
	}
	for _, op := range sends(h, "producer-1") {
		assert.True(t, read[string(op.Send.Value)], "%s was never polled", op.Send.Value)
	}
	assert.Len(t, cs[0].Consumer().Assignment(), 2, "the group split the partitions")
	assert.Len(t, cs[1].Consumer().Assignment(), 2)
	commits := 0
	for _, op := range h.Ops {
		if op.Kind == history.KindCommit {
			commits++
			assert.Equal(t, "g", op.Offsets.Group)
		}
	}
	assert.Positive(t, commits, "commitSync every third poll")
	assert.GreaterOrEqual(t, cs[0].Stats().Commits+cs[1].Stats().Commits, commits, "a commitSync with nothing consumed sends nothing")
	assert.Equal(t, len(sends(h, "producer-1")), cs[0].Stats().Records+cs[1].Stats().Records, "each record read once: no rebalance after the start")
}

func TestConsumerDriverManualAssignmentOfEveryPartition(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 3, "u": 2})
	for p := range int32(3) {
		fc.write(model.TopicPartition{Topic: "t", Partition: p}, fmt.Sprintf("t%d", p))
	}
	fc.write(model.TopicPartition{Topic: "u", Partition: 1}, "u1")
	d, _ := fc.consumerDriver("reader", client.ConsumerWorkload{Topics: []string{"t", "u"}, Assign: true,
		Properties: map[string]string{"auto.offset.reset": "earliest"}})
	fc.runUntil(10*time.Second, d.Drained, "the consumer drains")
	assert.Len(t, d.Consumer().Assignment(), 5)
	assert.Equal(t, map[string]int{"t0": 1, "t1": 1, "t2": 1, "u1": 1}, polled(fc.history(), "reader"))
	var assigns []history.Op
	for _, op := range fc.history().Ops {
		if op.Kind == history.KindAssign {
			assigns = append(assigns, op)
		}
	}
	require.Len(t, assigns, 1)
	assert.Len(t, assigns[0].Membership.Partitions, 5)
	fc.write(t0, "late")
	fc.run(time.Second)
	assert.True(t, d.Drained())
	assert.Equal(t, 1, polled(fc.history(), "reader")["late"])
}

// A consumer that restarts joins again and resumes from its committed
// offsets: what it read before the crash and had committed is not read
// again.
func TestConsumerDriverResumesFromCommittedOffsets(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	fc.write(t0, "a", "b", "c")
	props := map[string]string{"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": "false",
		"max.poll.records": "1"}
	d, n := fc.consumerDriver("consumer-1", client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: 1, Properties: props})
	fc.runUntil(20*time.Second, d.Drained, "the consumer drains")
	require.NoError(t, n.Crash())
	fc.write(t0, "d")
	fc.run(time.Second)
	require.NoError(t, n.Restart())
	fc.runUntil(120*time.Second, d.Drained, "the restarted consumer drains")
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, polled(fc.history(), "consumer-1"))
	procs := map[int]bool{}
	for _, op := range fc.history().Ops {
		if op.Client == "consumer-1" && op.Kind == history.KindPoll {
			procs[op.Process] = true
		}
	}
	assert.Equal(t, map[int]bool{0: true, 1: true}, procs)
}

func TestWorkloadValidation(t *testing.T) {
	for _, tc := range []struct {
		w    client.ProducerWorkload
		want string
	}{
		{client.ProducerWorkload{Rate: 1}, "topic is empty"},
		{client.ProducerWorkload{Topic: "t"}, "rate 0: give records per second, above 0"},
		{client.ProducerWorkload{Topic: "t", Rate: 1, Keys: -1}, "keys -1 is negative"},
		{client.ProducerWorkload{Topic: "t", Rate: 1, Until: -time.Second}, "until -1s is negative"},
		{client.ProducerWorkload{Topic: "t", Rate: 1, Properties: map[string]string{"linger.ms": "-1"}},
			"invalid value -1 for configuration linger.ms: value must be at least 0"},
	} {
		assert.ErrorContains(t, tc.w.Validate(), tc.want)
		_, err := client.NewProducerDriver(client.Env{}, tc.w)
		assert.ErrorContains(t, err, tc.want)
	}
	for _, tc := range []struct {
		w    client.ConsumerWorkload
		want string
	}{
		{client.ConsumerWorkload{Properties: map[string]string{"group.id": "g"}}, "no topics"},
		{client.ConsumerWorkload{Topics: []string{"t"}}, "no group.id to subscribe with"},
		{client.ConsumerWorkload{Topics: []string{"t"}, Assign: true, CommitEvery: 2}, "commitSync every 2 polls needs a group.id"},
		{client.ConsumerWorkload{Topics: []string{"t"}, Assign: true, PollTimeout: -1}, "poll timeout -1ns is negative"},
		{client.ConsumerWorkload{Topics: []string{"t"}, Assign: true, CommitEvery: -1}, "commit every -1 polls is negative"},
		{client.ConsumerWorkload{Topics: []string{"t"}, Properties: map[string]string{"group.id": "g", "max.poll.records": "0"}},
			"invalid value 0 for configuration max.poll.records"},
	} {
		assert.ErrorContains(t, tc.w.Validate(), tc.want)
	}
	_, err := client.NewProducerDriver(client.Env{}, client.ProducerWorkload{Topic: "t", Rate: 1})
	assert.ErrorContains(t, err, "no history recorder")
}

func TestWorkloadRunsAreDeterministic(t *testing.T) {
	run := func() (string, string) {
		fc := newFakeCluster(t, 2, map[string]int32{"t": 3})
		p, pn := fc.producerDriver("producer-1", client.ProducerWorkload{Topic: "t", Rate: 300, Keys: 5, Until: 4 * time.Second})
		fc.consumerDriver("consumer-1", client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: 2,
			Properties: map[string]string{"group.id": "g", "auto.offset.reset": "earliest"}})
		fc.s.At(time.Second, "test.crash", func() { _ = pn.Crash() })
		fc.s.At(1500*time.Millisecond, "test.restart", func() { _ = pn.Restart() })
		fc.run(8 * time.Second)
		require.True(t, p.Drained())
		h := fc.history()
		var last string
		for _, op := range h.Ops {
			last = op.String()
		}
		return fc.s.Trace().HashString(), last
	}
	h1, l1 := run()
	h2, l2 := run()
	assert.Equal(t, h1, h2)
	assert.Equal(t, l1, l2)
	assert.Regexp(t, regexp.MustCompile(`^op \d+ `), l1)
}
