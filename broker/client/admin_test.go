package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

func (fc *fakeCluster) admin(props map[string]string) (*client.Admin, *sim.Node) {
	cfg, err := client.ParseAdminConfig(props)
	require.NoError(fc.t, err)
	var a *client.Admin
	n, err := fc.s.AddNode(cfg.ClientID, func(n *sim.Node) any {
		a, err = client.NewAdmin(n, fc.env(), cfg)
		require.NoError(fc.t, err)
		return &client.Process{Admin: a}
	})
	require.NoError(fc.t, err)
	require.NoError(fc.t, n.Start())
	return a, n
}

func TestAdminConfig(t *testing.T) {
	c, err := client.ParseAdminConfig(nil)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, c.RequestTimeout)
	assert.Equal(t, time.Minute, c.DefaultAPITimeout)
	assert.Equal(t, 100*time.Millisecond, c.RetryBackoff)
	assert.Equal(t, time.Second, c.RetryBackoffMax)

	// Left at its default, the operation timeout grows with the request
	// timeout; set explicitly below it, it is refused.
	c, err = client.ParseAdminConfig(map[string]string{"request.timeout.ms": "90000"})
	require.NoError(t, err)
	assert.Equal(t, 90*time.Second, c.DefaultAPITimeout)
	for _, tc := range []struct {
		props map[string]string
		want  string
	}{
		{map[string]string{"request.timeout.ms": "90000", "default.api.timeout.ms": "60000"},
			"invalid value 60000 for configuration default.api.timeout.ms: an operation's timeout may not be shorter than one request's: give at least request.timeout.ms (90000)"},
		{map[string]string{"retries": "-1"}, "invalid value -1 for configuration retries: value must be at least 0"},
		{map[string]string{"retry.backoff.ms": "soon"}, "invalid value soon for configuration retry.backoff.ms: expected a whole number from 0 to 9223372036854"},
		{map[string]string{"request.timeout.ms": "0"}, "invalid value 0 for configuration request.timeout.ms: value must be at least 1"},
		{map[string]string{"bootstrap.server": "b1"}, `unknown configuration "bootstrap.server": kafkasim's admin configurations are client.id`},
	} {
		_, err := client.ParseAdminConfig(tc.props)
		assert.ErrorContains(t, err, tc.want, "%v", tc.props)
	}
}

func TestParseOffsetReset(t *testing.T) {
	for in, want := range map[string]client.OffsetReset{
		"to-earliest":     {To: client.ToEarliest},
		"--to-latest":     {To: client.ToLatest},
		"to-offset 42":    {To: client.ToOffset, Offset: 42},
		"--to-offset=7":   {To: client.ToOffset, Offset: 7},
		"shift-by -10":    {To: client.ShiftBy, Offset: -10},
		" --shift-by=+3 ": {To: client.ShiftBy, Offset: 3},
	} {
		got, err := client.ParseOffsetReset(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, want := range map[string]string{
		"":              "offset reset is empty; accepted: to-earliest, to-latest, to-offset <offset>, shift-by <n>",
		"to-datetime x": `offset reset "to-datetime x": unknown; accepted`,
		"to-offset":     "to-offset takes one number",
		"to-offset -1":  "the offset is negative",
		"shift-by x":    `"x" is not a number`,
		"to-latest 3":   "to-latest takes no number",
	} {
		_, err := client.ParseOffsetReset(in)
		assert.ErrorContains(t, err, want, in)
	}
	assert.Equal(t, "shift-by -10", client.OffsetReset{To: client.ShiftBy, Offset: -10}.String())
}

func TestValidateTopicName(t *testing.T) {
	for _, ok := range []string{"t", "orders.v2", "a_b-c", string(make([]byte, 0)) + "x"} {
		assert.NoError(t, client.ValidateTopicName(ok), ok)
	}
	for name, want := range map[string]string{
		"":                        "topic name is empty",
		".":                       `cannot be "." or ".."`,
		"..":                      `cannot be "." or ".."`,
		"a b":                     `' ' is not an ASCII letter`,
		"naïve":                   `'ï' is not an ASCII letter`,
		string(make([]byte, 250)): "the limit is 249",
	} {
		assert.ErrorContains(t, client.ValidateTopicName(name), want)
	}
}

// With every broker down, an operation ends at default.api.timeout.ms
// with REQUEST_TIMED_OUT: a creation's outcome is unknown (a request may
// have reached a broker), a read's is a failure.
func TestAdminGivesUpAtTheDeadline(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 1})
	a, _ := fc.admin(map[string]string{"client.id": "a1", "request.timeout.ms": "2000", "default.api.timeout.ms": "10000"})
	for _, id := range []int32{1, 2} {
		n, _ := fc.dir.Node(id)
		require.NoError(t, fc.s.NodeByID(n).Crash())
	}
	start := fc.s.Now()
	var created []client.TopicResult
	var described error
	var listed error
	require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "x", Partitions: 1, ReplicationFactor: 1}}, func(r []client.TopicResult) { created = r }))
	a.DescribeTopics(nil, func(_ []client.TopicDescription, err error) { described = err })
	a.ListGroups(func(_ []client.GroupListing, err error) { listed = err })
	fc.runUntil(time.Minute, func() bool { return created != nil && described != nil && listed != nil }, "all three calls end")
	assert.LessOrEqual(t, fc.s.Now()-start, 10*time.Second+time.Millisecond, "no call outlives default.api.timeout.ms")
	assert.ErrorIs(t, created[0].Err, protocol.RequestTimedOut)
	assert.ErrorIs(t, described, protocol.RequestTimedOut)
	assert.ErrorIs(t, listed, protocol.RequestTimedOut)
	outcomes := map[string]history.Outcome{}
	for _, op := range fc.history().Ops {
		outcomes[op.Admin.Action] = op.Outcome
	}
	assert.Equal(t, map[string]history.Outcome{"create-topics": history.Unknown, "describe-topics": history.Fail, "list-groups": history.Fail}, outcomes)
	assert.Positive(t, fc.s.Marked("client.admin.retry"))
}

// A group's coordinator that stops leading its __consumer_offsets
// partition answers NOT_COORDINATOR; the admin client finds the
// coordinator again and retries until it is back.
func TestAdminFollowsTheCoordinator(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	a, _ := fc.admin(map[string]string{"client.id": "a1"})
	var offs []history.CommittedOffset
	require.NoError(t, a.AlterConsumerGroupOffsets("g", []history.CommittedOffset{{Topic: "t", Partition: 0, Offset: 3, LeaderEpoch: -1}}, func(err error) {
		require.NoError(t, err)
	}))
	fc.run(time.Second)
	b1, _ := fc.dir.Node(1)
	coord := fc.s.NodeByID(b1).Process().(*fakeBroker).coord
	coord.Resigned(0)
	fc.s.After(2*time.Second, "test.elect", func() { require.NoError(t, coord.Elected(0, 2, fc.offsetsLog())) })
	require.NoError(t, a.ListConsumerGroupOffsets("g", nil, func(o []history.CommittedOffset, err error) {
		require.NoError(t, err)
		offs = o
	}))
	fc.runUntil(time.Minute, func() bool { return offs != nil }, "the offsets are read")
	assert.Equal(t, []history.CommittedOffset{{Topic: "t", Partition: 0, Offset: 3, LeaderEpoch: -1}}, offs)
	assert.Positive(t, fc.s.Marked("client.admin.coordinator-moved"))
}

// ListOffsets asks each partition's leader; a leader that moved answers
// NOT_LEADER_OR_FOLLOWER, and the client asks the new one after fresh
// metadata. A partition that does not exist fails at once.
func TestAdminListOffsetsFollowsLeaders(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 2})
	fc.write(t0, "a", "b", "c")
	a, _ := fc.admin(map[string]string{"client.id": "a1"})
	var got map[model.TopicPartition]client.ListedOffset
	tps := []model.TopicPartition{t0, {Topic: "t", Partition: 1}}
	require.NoError(t, a.ListOffsets(tps, client.OffsetLatest, func(o map[model.TopicPartition]client.ListedOffset, err error) {
		require.NoError(t, err)
		got = o
	}))
	fc.run(time.Second)
	assert.Equal(t, int64(3), got[t0].Offset)

	fc.leaders[t0], fc.epochs[t0] = 2, 2
	got = nil
	require.NoError(t, a.ListOffsets(tps, client.OffsetEarliest, func(o map[model.TopicPartition]client.ListedOffset, err error) {
		require.NoError(t, err)
		got = o
	}))
	fc.runUntil(10*time.Second, func() bool { return got != nil }, "the offsets are listed")
	assert.Equal(t, client.ListedOffset{Offset: 0, LeaderEpoch: 2}, got[t0], "from the new leader")

	var err error
	done := false
	require.NoError(t, a.ListOffsets([]model.TopicPartition{{Topic: "t", Partition: 7}, {Topic: "nope", Partition: 0}}, client.OffsetLatest,
		func(_ map[model.TopicPartition]client.ListedOffset, e error) { err, done = e, true }))
	start := fc.s.Now()
	fc.runUntil(time.Minute, func() bool { return done }, "the listing ends")
	assert.Less(t, fc.s.Now()-start, time.Second, "no retries for partitions that do not exist")
	assert.ErrorIs(t, err, protocol.UnknownTopicOrPartition)
	assert.ErrorContains(t, err, "nope-0: UNKNOWN_TOPIC_OR_PARTITION")
	assert.ErrorContains(t, err, "t-7: UNKNOWN_TOPIC_OR_PARTITION")
	assert.Error(t, a.ListOffsets(tps, client.OffsetSpec(5), nil))
}

func TestAdminRunsAreDeterministic(t *testing.T) {
	run := func() string {
		fc := newFakeCluster(t, 3, map[string]int32{"t": 3})
		a, _ := fc.admin(map[string]string{"client.id": "a1", "request.timeout.ms": "1000"})
		fc.adminFaults = []*produceFault{{kind: "error", code: protocol.NotController, times: 3}, {kind: "lose-ack", times: 1}}
		done := 0
		require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "x", Partitions: 2, ReplicationFactor: 2}}, func([]client.TopicResult) { done++ }))
		require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "y", Partitions: 1, ReplicationFactor: 1}}, func([]client.TopicResult) { done++ }))
		a.DescribeTopics(nil, func([]client.TopicDescription, error) { done++ })
		fc.runUntil(time.Minute, func() bool { return done == 3 }, "the calls end")
		return fc.s.Trace().HashString()
	}
	assert.Equal(t, run(), run())
}

// One application with a producer, a consumer and an admin client on one
// node: every response reaches the client that sent its request.
func TestOneProcessWithThreeClients(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	var p *client.Producer
	var c *client.Consumer
	var a *client.Admin
	n, err := fc.s.AddNode("app", func(n *sim.Node) any {
		pc, _ := client.ParseProducerConfig(map[string]string{"client.id": "app-p", "linger.ms": "0", "request.timeout.ms": "1000",
			"max.in.flight.requests.per.connection": "1"})
		cc, _ := client.ParseConsumerConfig(map[string]string{"client.id": "app-c", "auto.offset.reset": "earliest"})
		ac, _ := client.ParseAdminConfig(map[string]string{"client.id": "app-a"})
		var err error
		p, err = client.NewProducer(n, fc.env(), pc)
		require.NoError(t, err)
		c, err = client.NewConsumer(n, fc.env(), cc)
		require.NoError(t, err)
		a, err = client.NewAdmin(n, fc.env(), ac)
		require.NoError(t, err)
		return &client.Process{Producer: p, Consumer: c, Admin: a}
	})
	require.NoError(t, err)
	require.NoError(t, n.Start())
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	// The first produce answer is lost: the producer's request stays in
	// flight for a second while the consumer's requests go by. One request
	// in flight keeps the later sends behind it, so that its retry is a
	// duplicate within the leader's window of five batches (with more in
	// flight, they would push it out and its retry would wait for
	// delivery.timeout.ms, as in Kafka).
	fc.faults = []*produceFault{{kind: "lose-ack", times: 1}}
	polls := 0
	var loop func()
	loop = func() {
		_ = c.Poll(20*time.Millisecond, func([]history.PollPart) { polls++; n.After(10*time.Millisecond, "test.poll", loop) })
	}
	loop()
	lists := 0
	for i := range 20 {
		p.Send("t", nil, []byte{byte('a' + i)}, nil)
		require.NoError(t, a.ListOffsets([]model.TopicPartition{t0}, client.OffsetLatest, func(_ map[model.TopicPartition]client.ListedOffset, err error) {
			require.NoError(t, err)
			lists++
		}))
		fc.run(7 * time.Millisecond)
	}
	fc.run(3 * time.Second)
	assert.Equal(t, 20, lists)
	assert.Len(t, polled(fc.history(), "app-c"), 20, "the consumer read every record")
	for _, op := range fc.history().Ops {
		if op.Kind == history.KindSend {
			assert.Equal(t, history.OK, op.Outcome)
		}
	}
	assert.Positive(t, polls)
}
