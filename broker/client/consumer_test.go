package client_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

func polled(h *history.History, client string) map[string]int {
	seen := map[string]int{}
	for _, op := range h.Ops {
		if op.Client == client && op.Poll != nil {
			for _, p := range op.Poll.Parts {
				for _, r := range p.Records {
					seen[string(r.Value)]++
				}
			}
		}
	}
	return seen
}

func TestGroupRebalancesWhenAConsumerJoinsAndDies(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 4})
	for p := range int32(4) {
		fc.write(model.TopicPartition{Topic: "t", Partition: p}, fmt.Sprintf("a%d", p), fmt.Sprintf("b%d", p))
	}
	props := func(id string) map[string]string {
		return map[string]string{"client.id": id, "group.id": "g", "auto.offset.reset": "earliest"}
	}
	c1, _ := fc.consumer(props("c1"), "t")
	fc.run(10 * time.Second)
	assert.Len(t, c1.Assignment(), 4, "alone in the group, c1 reads everything")
	assert.Len(t, polled(fc.history(), "c1"), 8)

	c2, n2 := fc.consumer(props("c2"), "t")
	fc.run(10 * time.Second)
	assert.Len(t, c1.Assignment(), 2, "c2 joined: the partitions are split")
	assert.Len(t, c2.Assignment(), 2)
	_, gen := c1.Generation()
	assert.Equal(t, int32(2), gen)

	// c2 dies without leaving: after session.timeout.ms (45 s) c1 takes over.
	require.NoError(t, n2.Crash())
	fc.run(30 * time.Second)
	assert.Len(t, c1.Assignment(), 2, "not yet: the session has not timed out")
	fc.run(30 * time.Second)
	assert.Len(t, c1.Assignment(), 4, "c2's session expired")
	assert.Positive(t, fc.s.Marked("group.session-timeout"))

	// Everything c1 read it had committed (auto-commit), so a new records
	// appear once, and the history of c1 shows rebalances between polls.
	fc.write(t0, "c0")
	fc.run(5 * time.Second)
	seen := polled(fc.history(), "c1")
	if !assert.Equal(t, 1, seen["c0"]) {
		for _, op := range fc.history().Ops {
			if op.Client == "c1" && op.Kind != history.KindPoll || op.Client == "c1" && len(op.Poll.Parts) > 0 {
				t.Log(op.String())
			}
		}
	}
	rebalances := 0
	for _, op := range fc.history().Ops {
		if op.Client == "c1" && op.Kind == history.KindRebalance {
			rebalances++
		}
	}
	assert.GreaterOrEqual(t, rebalances, 3)
}

func TestManualAssignmentCommitAndErrors(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 2})
	fc.write(t0, "x", "y", "z")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": "false"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(2 * time.Second)
	pos, ok := c.Position(t0)
	require.True(t, ok)
	assert.Equal(t, int64(3), pos)

	err := c.CommitSync([]history.CommittedOffset{{Topic: "t", Partition: 1, Offset: 1, LeaderEpoch: -1}}, nil)
	assert.ErrorContains(t, err, "commit for t-1, which is not assigned to this consumer; commit offsets only for assigned partitions (assigned: t-0)")
	var done error = fmt.Errorf("not yet")
	require.NoError(t, c.CommitSync(nil, func(err error) { done = err }))
	fc.run(time.Second)
	require.NoError(t, done)
	var got []history.CommittedOffset
	c.FetchCommitted([]model.TopicPartition{t0}, func(o []history.CommittedOffset, err error) { got = o })
	fc.run(time.Second)
	require.Len(t, got, 1)
	assert.Equal(t, int64(3), got[0].Offset)

	// Seek back and read again: the history has the seek.
	require.NoError(t, c.Seek(t0, 1))
	fc.run(time.Second)
	h := fc.history()
	var seeks []string
	for _, op := range h.Ops {
		if op.Seek != nil {
			seeks = append(seeks, fmt.Sprintf("%s@%d", op.Seek.Reason, op.Seek.Offset))
		}
	}
	assert.Equal(t, []string{"reset-earliest@0", "seek@1"}, seeks)
	assert.Equal(t, 2, polled(h, "c1")["y"], "y was read twice, once after the seek")
	assert.Error(t, c.Seek(model.TopicPartition{Topic: "t", Partition: 1}, 0))
}

func TestOffsetOutOfRangeResets(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	fc.write(t0, "a", "b")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(time.Second)
	require.NoError(t, c.Seek(t0, 10))
	fc.run(time.Second)
	pos, _ := c.Position(t0)
	assert.Equal(t, int64(2), pos, "out of range: reset to earliest and read again")
	assert.Positive(t, fc.s.Marked("consumer.offset-out-of-range"))
}

// KIP-320: after a leader change, the consumer checks its position against
// the new leader's epoch history and moves back if the log was truncated.
func TestPositionValidatedAfterLeaderChange(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 1})
	fc.write(t0, "a", "b", "c", "d")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest", "metadata.max.age.ms": "1000"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(time.Second)
	pos, _ := c.Position(t0)
	require.Equal(t, int64(4), pos)
	// A new leader whose log ends at 2 for the old epoch: c and d are gone.
	fc.leaders[t0], fc.epochs[t0], fc.truncated[t0] = 2, 2, 2
	fc.logs[t0] = fc.logs[t0][:2]
	fc.run(3 * time.Second)
	pos, _ = c.Position(t0)
	assert.Equal(t, int64(2), pos)
	assert.Positive(t, fc.s.Marked("consumer.truncation-detected"))
	var reasons []string
	for _, op := range fc.history().Ops {
		if op.Seek != nil {
			reasons = append(reasons, op.Seek.Reason)
		}
	}
	assert.Equal(t, []string{"reset-earliest", "truncation"}, reasons)
}

// A consumer whose leader died keeps trying it, but its retries do not
// pile up: however many requests failed, one retry is scheduled, a
// partition whose fetch failed waits retry.backoff.ms before the next
// (polls in between do not retry it), and so does a failed metadata
// refresh.
func TestRetriesDoNotPileUpWhileTheLeaderIsDown(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	fc.write(t0, "a", "b")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(time.Second)
	pos, _ := c.Position(t0)
	require.Equal(t, int64(2), pos)

	leader, err := fc.s.Node("b1")
	require.NoError(t, err)
	require.NoError(t, leader.Crash())
	fetches, metadata := 0, 0
	fc.s.Trace().SetSink(func(r sim.Record) {
		if r.Node != "c1" || r.Kind != "net.drop" {
			return
		}
		switch {
		case strings.HasPrefix(r.Detail, "Fetch#"):
			fetches++
		case strings.HasPrefix(r.Detail, "Metadata#"):
			metadata++
		}
	})
	fc.run(20 * time.Second)
	// A fetch and a metadata request every retry.backoff.ms (100 ms): about
	// 200 of each in 20 s. Retries that each start a chain of their own, or
	// polls that retry at once, make thousands.
	assert.Positive(t, fetches, "the consumer keeps trying the leader")
	assert.LessOrEqual(t, fetches, 201, "fetch retries pile up")
	assert.Positive(t, metadata)
	assert.LessOrEqual(t, metadata, 201, "metadata retries pile up")
}

// A fetch answered with a partition error (here NOT_LEADER_OR_FOLLOWER
// from a former leader, while metadata still names it) is tried again
// after retry.backoff.ms, not at once: the consumer does not spin on a
// stale leader until its metadata catches up.
func TestFetchErrorsBackOff(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 1})
	fc.write(t0, "a", "b")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(time.Second)
	pos, _ := c.Position(t0)
	require.Equal(t, int64(2), pos)

	fc.staleLeaders = map[model.TopicPartition][2]int32{t0: {fc.leaders[t0], fc.epochs[t0]}}
	fc.leaders[t0], fc.epochs[t0] = 2, 2
	fetches := 0
	fc.s.Trace().SetSink(func(r sim.Record) {
		if r.Node == "c1" && r.Kind == "net.send" && strings.HasPrefix(r.Detail, "Fetch#") {
			fetches++
		}
	})
	fc.run(5 * time.Second)
	// One fetch per retry.backoff.ms (100 ms) at most: 50 in 5 s. At
	// once after each error, one per round trip: thousands.
	assert.Positive(t, fetches)
	assert.LessOrEqual(t, fetches, 51, "the consumer spins on the stale leader")

	delete(fc.staleLeaders, t0)
	fc.write(t0, "c")
	fc.run(2 * time.Second)
	pos, _ = c.Position(t0)
	assert.Equal(t, int64(3), pos, "once metadata names the new leader, the consumer reads from it")
}

// A broker that restarted but answers nothing yet (Kafka's listeners open
// only once the broker caught up with the metadata log) is asked for
// metadata only when no other broker will do: the consumer asks brokers it
// has connections with, learns each new leader and goes on reading, rather
// than waiting request.timeout.ms for the silent one.
func TestMetadataAvoidsAStartingBroker(t *testing.T) {
	fc := newFakeCluster(t, 3, map[string]int32{"t": 1})
	fc.leaders[t0] = 2
	fc.write(t0, "a")
	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	fc.run(time.Second)
	pos, _ := c.Position(t0)
	require.Equal(t, int64(1), pos)

	// The leader crashes and comes back starting; leadership then moves
	// between the other two, and each move needs a metadata refresh.
	b2, err := fc.s.Node("b2")
	require.NoError(t, err)
	require.NoError(t, b2.Crash())
	fc.starting = map[int32]bool{2: true}
	require.NoError(t, b2.Restart())
	for i, leader := range []int32{1, 3, 1, 3, 1, 3} {
		fc.leaders[t0], fc.epochs[t0] = leader, fc.epochs[t0]+1
		fc.write(t0, fmt.Sprintf("m%d", i))
		fc.run(time.Second)
		pos, _ = c.Position(t0)
		require.Equal(t, int64(i+2), pos, "move %d: the consumer read from leader %d without waiting on the starting broker", i, leader)
	}
	assert.Zero(t, fc.s.Marked("client.request-timeout"))
}

// requireNoDoubleHolders replays the history's rebalances and fails if a partition is
// ever held by two consumers at once.
func requireNoDoubleHolders(t *testing.T, h *history.History) {
	t.Helper()
	held := map[model.TopicPartition]string{}
	for _, op := range h.Ops {
		if op.Kind != history.KindRebalance || op.Membership == nil {
			continue
		}
		for _, tp := range op.Membership.Revoked {
			if held[tp] == op.Client {
				delete(held, tp)
			}
		}
		for _, tp := range op.Membership.Assigned {
			if other, ok := held[tp]; ok && other != op.Client {
				require.Failf(t, "double holder", "%s assigned to %s at %v while %s still holds it", tp, op.Client, op.Invoke, other)
			}
			held[tp] = op.Client
		}
	}
}

// A cooperative member that drops a topic from its subscription revokes
// that topic's partitions before it rejoins (Kafka's onJoinPrepare), so
// they go to another member in the same rebalance, and never to two
// members at once.
func TestCooperativeConsumerRevokesUnsubscribedTopicsBeforeRejoining(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"a": 1, "b": 4})
	props := func(id string) map[string]string {
		return map[string]string{"client.id": id, "group.id": "g", "auto.offset.reset": "earliest",
			"partition.assignment.strategy": "cooperative-sticky"}
	}
	c1, _ := fc.consumer(props("c1"), "a", "b")
	fc.run(10 * time.Second)
	require.Len(t, c1.Assignment(), 5)
	c2, _ := fc.consumer(props("c2"), "b")
	fc.run(20 * time.Second)
	require.Len(t, c1.Assignment(), 3, "c1 keeps a-0 and two of b's partitions")
	require.Len(t, c2.Assignment(), 2)

	require.NoError(t, c1.Subscribe([]string{"a"}))
	fc.run(20 * time.Second)
	assert.Equal(t, []model.TopicPartition{{Topic: "a", Partition: 0}}, c1.Assignment())
	assert.Len(t, c2.Assignment(), 4)
	assert.Positive(t, fc.s.Marked("consumer.unsubscribed-revoke"))
	requireNoDoubleHolders(t, fc.history())
}

// With the eager sticky assignor a member gives up everything before it
// rejoins but tells the leader in its user data what it owned: when a
// third member joins, the first two keep two of their three partitions
// each (range would move more).
func TestStickyConsumersKeepTheirPartitions(t *testing.T) {
	fc := newFakeCluster(t, 2, map[string]int32{"t": 6})
	props := func(id string) map[string]string {
		return map[string]string{"client.id": id, "group.id": "g", "auto.offset.reset": "earliest",
			"partition.assignment.strategy": "sticky"}
	}
	c1, _ := fc.consumer(props("c1"), "t")
	fc.run(10 * time.Second)
	c2, _ := fc.consumer(props("c2"), "t")
	fc.run(10 * time.Second)
	before1, before2 := c1.Assignment(), c2.Assignment()
	require.Len(t, before1, 3)
	require.Len(t, before2, 3)
	c3, _ := fc.consumer(props("c3"), "t")
	fc.run(10 * time.Second)
	require.Len(t, c3.Assignment(), 2)
	kept := func(before, after []model.TopicPartition) int {
		n := 0
		for _, tp := range after {
			if slices.Contains(before, tp) {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 2, kept(before1, c1.Assignment()), "c1 had %v, has %v", before1, c1.Assignment())
	assert.Equal(t, 2, kept(before2, c2.Assignment()), "c2 had %v, has %v", before2, c2.Assignment())
	requireNoDoubleHolders(t, fc.history())
}

// A consumer returns records with their headers, never returns transaction
// markers as data, and reads past offsets compaction removed (gaps, an
// empty batch, a marker last in the log) instead of fetching them forever.
func TestConsumerHeadersMarkersAndCompactedBatches(t *testing.T) {
	fc := newFakeCluster(t, 1, map[string]int32{"t": 1})
	none := protocol.BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	pid := protocol.Producer{ID: 3, Epoch: 0, BaseSequence: protocol.NoSequence}
	var raw protocol.Records
	raw = protocol.AppendBatch(raw, 0, 0, protocol.NoProducer, []protocol.Record{
		{Value: []byte("a"), Headers: []protocol.RecordHeader{{Key: "trace", Value: []byte("x")}, {Key: "null"}}}})
	h := none
	h.BaseOffset, h.LastOffsetDelta = 1, 5 // compacted: [1..6] keeps 2 and 4
	raw = protocol.AppendBatchOf(raw, protocol.Batch{Header: h, Records: []protocol.Record{{Offset: 2, Value: []byte("c")}, {Offset: 4, Value: []byte("e")}}})
	raw = protocol.AppendControlBatch(raw, 7, 0, pid, 0, protocol.ControlCommit, 0)
	h.BaseOffset, h.LastOffsetDelta = 8, 2 // compaction emptied [8..10]
	raw = protocol.AppendBatchOf(raw, protocol.Batch{Header: h})
	raw = protocol.AppendBatch(raw, 11, 0, protocol.NoProducer, []protocol.Record{{Value: []byte("l")}})
	raw = protocol.AppendControlBatch(raw, 12, 0, pid, 0, protocol.ControlAbort, 0)
	fc.raw = map[model.TopicPartition]protocol.Records{t0: raw}

	c, _ := fc.consumer(map[string]string{"client.id": "c1", "auto.offset.reset": "earliest"})
	require.NoError(t, c.Assign([]model.TopicPartition{t0}))
	var got []history.Record
	for range 20 {
		require.NoError(t, c.Poll(100*time.Millisecond, func(parts []history.PollPart) {
			for _, p := range parts {
				got = append(got, p.Records...)
			}
		}))
		fc.run(200 * time.Millisecond)
	}
	var offs []string
	for _, r := range got {
		offs = append(offs, r.String())
	}
	assert.Equal(t, []string{"0:a", "2:c", "4:e", "11:l"}, offs)
	assert.Equal(t, []model.RecordHeader{{Key: "trace", Value: model.Bytes("x")}, {Key: "null"}}, got[0].Headers)
	assert.Nil(t, got[1].Headers)
	pos, _ := c.Position(t0)
	assert.Equal(t, int64(13), pos, "past the last marker")
	assert.Positive(t, fc.s.Marked("consumer.control-batch-skipped"))
	assert.Positive(t, fc.s.Marked("consumer.position-skipped-offsets"))
	// The history records the headers as polled.
	var polledHeaders []model.RecordHeader
	for _, op := range fc.history().Ops {
		if op.Poll != nil {
			for _, p := range op.Poll.Parts {
				for _, r := range p.Records {
					polledHeaders = append(polledHeaders, r.Headers...)
				}
			}
		}
	}
	assert.Len(t, polledHeaders, 2)
}
