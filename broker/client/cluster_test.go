package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// realCluster is a KRaft cluster of real brokers and a controller, with
// clients on nodes of their own.
type realCluster struct {
	t   testing.TB
	s   *sim.Sim
	c   *cluster.Cluster
	rec *history.Recorder
}

func newRealCluster(t *testing.T, seed uint64, brokers int) *realCluster {
	s := sim.New(sim.Config{Seed: seed, Replay: fmt.Sprintf("go test ./broker/client -run %s", t.Name())})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = brokers, 1
	c, err := cluster.New(s, net, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(30*time.Second))
	return &realCluster{t: t, s: s, c: c, rec: history.NewRecorder(history.Header{Seed: seed})}
}

func (rc *realCluster) env() client.Env {
	return client.Env{Net: rc.c.Net(), Dir: rc.c.Directory(), Bootstrap: rc.c.BrokerIDs(), Recorder: rc.rec}
}

func (rc *realCluster) admin(name string) *client.Admin {
	cfg, err := client.ParseAdminConfig(map[string]string{"client.id": name})
	require.NoError(rc.t, err)
	var a *client.Admin
	n, err := rc.s.AddNode(name, func(n *sim.Node) any {
		a, err = client.NewAdmin(n, rc.env(), cfg)
		require.NoError(rc.t, err)
		return &client.Process{Admin: a}
	})
	require.NoError(rc.t, err)
	require.NoError(rc.t, n.Start())
	return a
}

// await runs the simulation until an operation's callback ran.
func (rc *realCluster) await(what string, start func(done func())) {
	finished := false
	start(func() { finished = true })
	end := rc.s.Now() + 2*time.Minute
	rc.s.At(end, "test.until", func() {})
	ok, err := rc.s.RunUntilTrue(end, func() bool { return finished })
	require.NoError(rc.t, err)
	require.True(rc.t, ok, "%s did not finish (seed %d)", what, rc.s.Seed())
}

func (rc *realCluster) describe(a *client.Admin, names ...string) ([]client.TopicDescription, error) {
	var ts []client.TopicDescription
	var err error
	rc.await("describe-topics", func(done func()) {
		a.DescribeTopics(names, func(d []client.TopicDescription, e error) { ts, err = d, e; done() })
	})
	return ts, err
}

// The admin client against real brokers and a KRaft controller: topics
// are created through a broker's forwarding to the controller, described
// from a broker's metadata with DescribeTopicPartitions, and deleted; the
// controller's refusals come back per topic.
func TestAdminAgainstAKRaftCluster(t *testing.T) {
	rc := newRealCluster(t, 11, 3)
	a := rc.admin("ops")

	var res []client.TopicResult
	rc.await("create-topics", func(done func()) {
		require.NoError(t, a.CreateTopics([]client.NewTopic{
			{Name: "orders", Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"min.insync.replicas": "2"}},
			{Name: "big", Partitions: 1, ReplicationFactor: 4},
		}, func(r []client.TopicResult) { res = r; done() }))
	})
	require.Len(t, res, 2)
	assert.NoError(t, res[0].Err)
	assert.ErrorIs(t, res[1].Err, protocol.InvalidReplicationFactor)
	require.NoError(t, rc.c.WaitLeaders("orders", 10*time.Second))

	ts, err := rc.describe(a, "orders")
	require.NoError(t, err)
	require.Len(t, ts, 1)
	require.Len(t, ts[0].Partitions, 3)
	assert.NotEqual(t, [16]byte{}, ts[0].TopicID)
	for _, p := range ts[0].Partitions {
		assert.Len(t, p.Replicas, 3)
		assert.ElementsMatch(t, p.Replicas, p.ISR, "every replica in sync")
		assert.Contains(t, p.ISR, p.Leader)
		assert.Positive(t, p.LeaderEpoch+1)
	}
	out := client.FormatTopicDescriptions(ts)
	assert.Contains(t, out, "Topic: orders\tTopicId: ")
	assert.Contains(t, out, "PartitionCount: 3\tReplicationFactor: 3")

	// The same topic again: the controller says it exists.
	rc.await("create-topics", func(done func()) {
		require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "orders", Partitions: 1, ReplicationFactor: 1}},
			func(r []client.TopicResult) { res = r; done() }))
	})
	assert.ErrorIs(t, res[0].Err, protocol.TopicAlreadyExists)

	// A broker dies: once the controller fences it, the partitions it led
	// have new leaders in new epochs, and it has left every ISR.
	require.NoError(t, rc.c.Node(1).Crash())
	rc.s.At(rc.s.Now()+20*time.Second, "test.until", func() {})
	require.NoError(t, rc.s.RunFor(20*time.Second))
	after, err := rc.describe(a, "orders")
	require.NoError(t, err)
	for i, p := range after[0].Partitions {
		assert.NotEqual(t, int32(1), p.Leader, "partition %d", i)
		assert.NotContains(t, p.ISR, int32(1), "partition %d", i)
		if ts[0].Partitions[i].Leader == 1 {
			assert.Greater(t, p.LeaderEpoch, ts[0].Partitions[i].LeaderEpoch)
		}
	}

	rc.await("delete-topics", func(done func()) {
		require.NoError(t, a.DeleteTopics([]string{"orders"}, func(r []client.TopicResult) { res = r; done() }))
	})
	require.NoError(t, res[0].Err)
	rc.s.At(rc.s.Now()+time.Second, "test.until", func() {})
	require.NoError(t, rc.s.RunFor(time.Second))
	_, err = rc.describe(a, "orders")
	assert.ErrorIs(t, err, protocol.UnknownTopicOrPartition)

	h, err := rc.rec.History()
	require.NoError(t, err)
	var kinds []string
	for _, op := range h.Ops {
		kinds = append(kinds, fmt.Sprintf("%s %s %s", op.Admin.Action, op.Admin.Topic, op.Outcome))
	}
	assert.Equal(t, []string{"create-topics orders ok", "create-topics big fail", "describe-topics orders ok", "create-topics orders fail",
		"describe-topics orders ok", "delete-topics orders ok", "describe-topics orders fail"}, kinds)
}

// The workload drivers against real brokers: a producer driver writes
// for a while, a consumer driver reading every partition by manual
// assignment drains, and it has read every acknowledged value; the log
// end offsets the admin client lists add up to what was written.
func TestDriversAgainstAKRaftCluster(t *testing.T) {
	rc := newRealCluster(t, 12, 3)
	require.NoError(t, rc.c.CreateTopic(cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3}, 10*time.Second))
	pd, err := client.NewProducerDriver(rc.env(), client.ProducerWorkload{Topic: "t", Rate: 200, Keys: 6, Until: rc.s.Now() + 3*time.Second})
	require.NoError(t, err)
	pn, err := rc.s.AddNode("producer-1", pd.Boot)
	require.NoError(t, err)
	cd, err := client.NewConsumerDriver(rc.env(), client.ConsumerWorkload{Topics: []string{"t"}, Assign: true,
		Properties: map[string]string{"auto.offset.reset": "earliest"}})
	require.NoError(t, err)
	cn, err := rc.s.AddNode("consumer-1", cd.Boot)
	require.NoError(t, err)
	require.NoError(t, pn.Start())
	require.NoError(t, cn.Start())
	a := rc.admin("ops")

	end := rc.s.Now() + time.Minute
	rc.s.At(end, "test.until", func() {})
	ok, err := rc.s.RunUntilTrue(end, func() bool { return pd.Drained() && cd.Drained() && rc.s.Now() > 4*time.Second })
	require.NoError(t, err)
	require.True(t, ok, "drained")

	h, err := rc.rec.History()
	require.NoError(t, err)
	read := polled(h, "consumer-1")
	acked := 0
	for _, op := range sends(h, "producer-1") {
		require.Equal(t, history.OK, op.Outcome, op.String())
		assert.Equal(t, 1, read[string(op.Send.Value)], "%s read once", op.Send.Value)
		acked++
	}
	assert.Greater(t, acked, 400)
	assert.Equal(t, acked, pd.Stats().OK)

	var ends map[model.TopicPartition]client.ListedOffset
	rc.await("list-offsets", func(done func()) {
		tps := []model.TopicPartition{{Topic: "t", Partition: 0}, {Topic: "t", Partition: 1}, {Topic: "t", Partition: 2}}
		require.NoError(t, a.ListOffsets(tps, client.OffsetLatest, func(o map[model.TopicPartition]client.ListedOffset, err error) {
			require.NoError(t, err)
			ends = o
			done()
		}))
	})
	total := int64(0)
	for _, o := range ends {
		total += o.Offset
	}
	assert.Equal(t, int64(acked), total, "the high-water marks add up to the acknowledged sends")

}

// Consumer drivers in a group on real brokers, with the group coordinator
// on the broker leading the group's __consumer_offsets partition: they
// split the partitions, read everything, and commit; the
// kafka-consumer-groups view shows both members and no lag. Once they
// leave, the admin client resets the group's offsets to the start, and a
// new member reads everything again.
func TestGroupAdminAgainstAKRaftCluster(t *testing.T) {
	rc := newRealCluster(t, 13, 3)
	require.NoError(t, rc.c.CreateTopic(cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3}, 10*time.Second))
	pd, err := client.NewProducerDriver(rc.env(), client.ProducerWorkload{Topic: "t", Rate: 100, Keys: 6, Until: rc.s.Now() + 2*time.Second})
	require.NoError(t, err)
	pn, err := rc.s.AddNode("producer-1", pd.Boot)
	require.NoError(t, err)
	require.NoError(t, pn.Start())
	props := map[string]string{"group.id": "g", "auto.offset.reset": "earliest", "enable.auto.commit": "false"}
	var cds []*client.ConsumerDriver
	for i := 1; i <= 2; i++ {
		cd, err := client.NewConsumerDriver(rc.env(), client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: 2, Properties: props})
		require.NoError(t, err)
		n, err := rc.s.AddNode(fmt.Sprintf("consumer-%d", i), cd.Boot)
		require.NoError(t, err)
		require.NoError(t, n.Start())
		cds = append(cds, cd)
	}
	a := rc.admin("ops")
	end := rc.s.Now() + 2*time.Minute
	rc.s.At(end, "test.until", func() {})
	ok, err := rc.s.RunUntilTrue(end, func() bool { return pd.Drained() && cds[0].Drained() && cds[1].Drained() })
	require.NoError(t, err)
	require.True(t, ok, "drained (seed %d)", rc.s.Seed())
	rc.s.At(rc.s.Now()+2*time.Second, "test.until", func() {})
	require.NoError(t, rc.s.RunFor(2*time.Second)) // the last commits land

	var view client.GroupOffsets
	rc.await("describe", func(done func()) {
		require.NoError(t, a.DescribeConsumerGroupOffsets("g", func(v client.GroupOffsets, err error) {
			require.NoError(t, err)
			view = v
			done()
		}))
	})
	assert.Equal(t, "Stable", view.State)
	require.Len(t, view.Rows, 3, view.String())
	clients := map[string]int{}
	for _, r := range view.Rows {
		lag, ok := r.Lag()
		assert.True(t, ok, view.String())
		assert.Zero(t, lag, view.String())
		clients[r.ClientID]++
	}
	assert.Len(t, clients, 2, "both members own partitions:\n%s", view.String())

	var rerr error
	rc.await("reset refused", func(done func()) {
		require.NoError(t, a.ResetOffsets("g", nil, client.OffsetReset{To: client.ToEarliest}, func(_ []history.CommittedOffset, err error) { rerr = err; done() }))
	})
	assert.ErrorIs(t, rerr, protocol.NonEmptyGroup)

	for _, cd := range cds {
		cd.Close()
	}
	rc.s.At(rc.s.Now()+time.Second, "test.until", func() {})
	require.NoError(t, rc.s.RunFor(time.Second))
	var reset []history.CommittedOffset
	rc.await("reset", func(done func()) {
		require.NoError(t, a.ResetOffsets("g", []string{"t"}, client.OffsetReset{To: client.ToEarliest}, func(o []history.CommittedOffset, err error) {
			require.NoError(t, err)
			reset = o
			done()
		}))
	})
	require.Len(t, reset, 3)
	for _, o := range reset {
		assert.Zero(t, o.Offset)
	}

	cd, err := client.NewConsumerDriver(rc.env(), client.ConsumerWorkload{Topics: []string{"t"}, Properties: props})
	require.NoError(t, err)
	n, err := rc.s.AddNode("consumer-3", cd.Boot)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	end = rc.s.Now() + time.Minute
	rc.s.At(end, "test.until", func() {})
	ok, err = rc.s.RunUntilTrue(end, cd.Drained)
	require.NoError(t, err)
	require.True(t, ok)
	h, err := rc.rec.History()
	require.NoError(t, err)
	again := polled(h, "consumer-3")
	for _, op := range sends(h, "producer-1") {
		assert.Equal(t, 1, again[string(op.Send.Value)], "after the reset, %s is read again", op.Send.Value)
	}
	commits := 0
	for _, op := range h.Ops {
		if op.Kind == history.KindCommit && op.Client == "ops" {
			commits++
			assert.Equal(t, int32(-1), op.Offsets.Generation, "an admin commit is outside any generation")
			assert.Equal(t, history.OK, op.Outcome)
		}
	}
	assert.Equal(t, 1, commits)
}

// A leader crashes and comes back while the drivers run: the idempotent
// producer's retries go to the new leaders without writing anything
// twice, and the consumer reads every acknowledged value.
func TestDriversSurviveALeaderCrash(t *testing.T) {
	rc := newRealCluster(t, 14, 3)
	require.NoError(t, rc.c.CreateTopic(cluster.Topic{Name: "t", Partitions: 3, ReplicationFactor: 3,
		Configs: map[string]string{"min.insync.replicas": "2"}}, 10*time.Second))
	start := rc.s.Now()
	pd, err := client.NewProducerDriver(rc.env(), client.ProducerWorkload{Topic: "t", Rate: 200, Keys: 9, Until: start + 10*time.Second})
	require.NoError(t, err)
	pn, err := rc.s.AddNode("producer-1", pd.Boot)
	require.NoError(t, err)
	cd, err := client.NewConsumerDriver(rc.env(), client.ConsumerWorkload{Topics: []string{"t"}, Assign: true,
		Properties: map[string]string{"auto.offset.reset": "earliest"}})
	require.NoError(t, err)
	cn, err := rc.s.AddNode("consumer-1", cd.Boot)
	require.NoError(t, err)
	require.NoError(t, pn.Start())
	require.NoError(t, cn.Start())
	leader, ok := rc.c.Leader(model.TopicPartition{Topic: "t", Partition: 0})
	require.True(t, ok)
	rc.s.At(start+2*time.Second, "test.crash", func() { require.NoError(t, rc.c.Node(leader).Crash()) })
	rc.s.At(start+8*time.Second, "test.restart", func() { require.NoError(t, rc.c.Node(leader).Restart()) })

	end := start + 3*time.Minute
	rc.s.At(end, "test.until", func() {})
	ok, err = rc.s.RunUntilTrue(end, func() bool { return rc.s.Now() > start+10*time.Second && pd.Drained() && cd.Drained() })
	require.NoError(t, err)
	require.True(t, ok, "drained (seed %d)", rc.s.Seed())

	h, err := rc.rec.History()
	require.NoError(t, err)
	at := map[string]map[string]bool{} // value → partition@offset where read
	for _, op := range h.Ops {
		if op.Kind != history.KindPoll {
			continue
		}
		for _, p := range op.Poll.Parts {
			for _, r := range p.Records {
				v := string(r.Value)
				if at[v] == nil {
					at[v] = map[string]bool{}
				}
				at[v][fmt.Sprintf("%s@%d", p.TP(), r.Offset)] = true
			}
		}
	}
	acked := 0
	for _, op := range sends(h, "producer-1") {
		v := string(op.Send.Value)
		if op.Outcome == history.OK {
			acked++
			assert.NotEmpty(t, at[v], "acknowledged %s never read", v)
		}
		assert.LessOrEqual(t, len(at[v]), 1, "%s written at %v", v, at[v])
	}
	assert.Greater(t, acked, 1500)
	assert.Positive(t, rc.s.Marked("client.producer.retry"), "the crash made the producer retry")
}

// Record headers travel end to end on real brokers: the producer sends
// them, the leader's log and its followers keep them, a fetch returns them,
// the consumer returns them, and the history records them on the send and
// on the poll.
func TestHeadersEndToEnd(t *testing.T) {
	rc := newRealCluster(t, 5, 3)
	require.NoError(t, rc.c.CreateTopic(cluster.Topic{Name: "t", Partitions: 1, ReplicationFactor: 3}, 10*time.Second))
	pcfg, err := client.ParseProducerConfig(map[string]string{"client.id": "p"})
	require.NoError(t, err)
	var p *client.Producer
	pn, err := rc.s.AddNode("p", func(n *sim.Node) any {
		p, err = client.NewProducer(n, rc.env(), pcfg)
		require.NoError(t, err)
		return &client.Process{Producer: p}
	})
	require.NoError(t, err)
	require.NoError(t, pn.Start())
	headers := []model.RecordHeader{{Key: "trace", Value: model.Bytes("id-1")}, {Key: "null", Value: nil}, {Key: "empty", Value: model.Bytes{}}}
	rc.await("send", func(done func()) {
		p.SendRecord(client.ProducerRecord{Topic: "t", Value: []byte("v"), Headers: headers}, func(r client.SendResult) {
			require.Equal(t, history.OK, r.Outcome)
			done()
		})
	})
	ccfg, err := client.ParseConsumerConfig(map[string]string{"client.id": "c", "auto.offset.reset": "earliest"})
	require.NoError(t, err)
	var c *client.Consumer
	cn, err := rc.s.AddNode("c", func(n *sim.Node) any {
		c, err = client.NewConsumer(n, rc.env(), ccfg)
		require.NoError(t, err)
		return &client.Process{Consumer: c}
	})
	require.NoError(t, err)
	require.NoError(t, cn.Start())
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	require.NoError(t, c.Assign([]model.TopicPartition{tp}))
	var got []history.Record
	for range 20 {
		if len(got) > 0 {
			break
		}
		rc.await("poll", func(done func()) {
			require.NoError(t, c.Poll(time.Second, func(parts []history.PollPart) {
				for _, pp := range parts {
					got = append(got, pp.Records...)
				}
				done()
			}))
		})
	}
	require.Len(t, got, 1)
	assert.Equal(t, headers, got[0].Headers)
	h, err := rc.rec.History()
	require.NoError(t, err)
	assert.Equal(t, headers, sends(h, "p")[0].Send.Headers)
	replicas := rc.c.View().Replicas(tp)
	require.Len(t, replicas, 3)
	for _, r := range replicas {
		e, ok := r.Entry(0)
		require.True(t, ok)
		assert.Equal(t, headers, e.Headers)
	}
}
