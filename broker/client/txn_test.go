package client_test

import (
	"fmt"
	"slices"
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

func newTxnCluster(t testing.TB, seed uint64) *realCluster {
	return newTxnClusterWith(t, seed, func(*cluster.Config) {})
}

func newTxnClusterWith(t testing.TB, seed uint64, set func(*cluster.Config)) *realCluster {
	s := sim.New(sim.Config{Seed: seed, Replay: fmt.Sprintf("go test ./broker/client -run %s", t.Name())})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = 3, 1
	cfg.Broker.Txn.StateLogPartitions = 3
	cfg.Broker.Group.OffsetsTopicPartitions = 3
	set(&cfg)
	c, err := cluster.New(s, net, cfg)
	require.NoError(t, err)
	require.NoError(t, c.Start())
	require.NoError(t, c.WaitReady(30*time.Second))
	rc := &realCluster{t: t, s: s, c: c, rec: history.NewRecorder(history.Header{Seed: seed})}
	a := rc.admin("ops")
	rc.await("create-topics", func(done func()) {
		require.NoError(t, a.CreateTopics([]client.NewTopic{{Name: "out", Partitions: 2, ReplicationFactor: 3,
			Configs: map[string]string{"min.insync.replicas": "2"}}, {Name: "in", Partitions: 2, ReplicationFactor: 3,
			Configs: map[string]string{"min.insync.replicas": "2"}}}, func([]client.TopicResult) { done() }))
	})
	require.NoError(t, c.WaitLeaders("out", 10*time.Second))
	require.NoError(t, c.WaitLeaders("in", 10*time.Second))
	return rc
}

func (rc *realCluster) txnProducer(name, tid string) *client.Producer {
	cfg, err := client.ParseProducerConfig(map[string]string{"client.id": name, "transactional.id": tid})
	require.NoError(rc.t, err)
	var p *client.Producer
	n, err := rc.s.AddNode(name, func(n *sim.Node) any {
		p, err = client.NewProducer(n, rc.env(), cfg)
		require.NoError(rc.t, err)
		return &client.Process{Producer: p}
	})
	require.NoError(rc.t, err)
	require.NoError(rc.t, n.Start())
	return p
}

func (rc *realCluster) consumer(name, isolation string) *client.Consumer {
	cfg, err := client.ParseConsumerConfig(map[string]string{"client.id": name, "isolation.level": isolation, "auto.offset.reset": "earliest"})
	require.NoError(rc.t, err)
	var c *client.Consumer
	n, err := rc.s.AddNode(name, func(n *sim.Node) any {
		c, err = client.NewConsumer(n, rc.env(), cfg)
		require.NoError(rc.t, err)
		return &client.Process{Consumer: c}
	})
	require.NoError(rc.t, err)
	require.NoError(rc.t, n.Start())
	return c
}

// txn runs one transaction of sends, committed or aborted, and returns the
// error of its end.
func (rc *realCluster) txn(p *client.Producer, commit bool, values ...string) error {
	require.NoError(rc.t, p.BeginTransaction())
	for _, v := range values {
		p.Send("out", []byte(v), []byte(v), nil)
	}
	// Let the sends go out: an abort drops what was never sent.
	require.NoError(rc.t, rc.s.RunFor(200*time.Millisecond))
	var err error
	rc.await("end-transaction", func(done func()) {
		end := p.AbortTransaction
		if commit {
			end = p.CommitTransaction
		}
		require.NoError(rc.t, end(func(e error) { err = e; done() }))
	})
	return err
}

// readAll polls a consumer assigned to every partition of out until it
// has n records or a minute passes, and returns their values sorted.
func (rc *realCluster) readAll(c *client.Consumer, n int) []string {
	require.NoError(rc.t, c.Assign([]model.TopicPartition{{Topic: "out", Partition: 0}, {Topic: "out", Partition: 1}}))
	var got []string
	deadline := rc.s.Now() + time.Minute
	for len(got) < n && rc.s.Now() < deadline {
		rc.await("poll", func(done func()) {
			require.NoError(rc.t, c.Poll(time.Second, func(parts []history.PollPart) {
				for _, pp := range parts {
					for _, r := range pp.Records {
						got = append(got, string(r.Value))
					}
				}
				done()
			}))
		})
	}
	slices.Sort(got)
	return got
}

// A transactional producer against three brokers: committed transactions
// are read by read_committed consumers, aborted ones only by
// read_uncommitted ones; a second instance with the same transactional id
// fences the first, whose commit then fails for good.
func TestTransactionsAgainstACluster(t *testing.T) {
	rc := newTxnCluster(t, 5)
	p := rc.txnProducer("producer-1", "t1")
	assert.ErrorIs(t, p.BeginTransaction(), client.ErrTxnState, "begin before initTransactions")
	var err error
	rc.await("init", func(done func()) { require.NoError(t, p.InitTransactions(func(e error) { err = e; done() })) })
	require.NoError(t, err)
	require.Equal(t, client.TxnReady, p.TxnState())

	require.NoError(t, rc.txn(p, true, "a", "b", "c"))
	require.NoError(t, rc.txn(p, false, "x", "y"))
	require.NoError(t, rc.txn(p, true, "d"))

	committed := rc.readAll(rc.consumer("rc", client.ReadCommitted), 4)
	assert.Equal(t, []string{"a", "b", "c", "d"}, committed)
	uncommitted := rc.readAll(rc.consumer("ru", client.ReadUncommitted), 6)
	assert.Equal(t, []string{"a", "b", "c", "d", "x", "y"}, uncommitted)

	// A zombie: the new instance fences the old one's open transaction.
	require.NoError(t, p.BeginTransaction())
	p.Send("out", []byte("z"), []byte("zombie"), nil)
	require.NoError(t, rc.s.RunFor(time.Second))
	p2 := rc.txnProducer("producer-2", "t1")
	rc.await("init", func(done func()) { require.NoError(t, p2.InitTransactions(func(e error) { err = e; done() })) })
	require.NoError(t, err)
	rc.await("commit", func(done func()) { require.NoError(t, p.CommitTransaction(func(e error) { err = e; done() })) })
	var te *client.TxnError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.Fatal, "%v", err)
	assert.Contains(t, []protocol.ErrorCode{protocol.ProducerFenced, protocol.InvalidProducerEpoch}, te.Code)
	require.NoError(t, rc.txn(p2, true, "e"))
	committed = rc.readAll(rc.consumer("rc2", client.ReadCommitted), 5)
	assert.Equal(t, []string{"a", "b", "c", "d", "e"}, committed, "the zombie's record is aborted")
}

// Transactions under both protocol versions (KIP-890): under version 1
// the producer adds each partition with AddPartitionsToTxn and the leaders
// verify its first write with the coordinator (or not, with verification
// off); under version 2 it sends no AddPartitionsToTxn and the leaders add
// the partitions. Either way committed transactions are read and aborted
// ones are not.
func TestTransactionVersionsAgainstACluster(t *testing.T) {
	for _, tc := range []struct {
		name         string
		version      int
		verification bool
	}{{"version 2", 2, true}, {"version 1 with verification", 1, true}, {"version 1 without verification", 1, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rc := newTxnClusterWith(t, 7, func(c *cluster.Config) {
				c.Broker.Txn.Version = tc.version
				c.Broker.Txn.PartitionVerification = tc.verification
			})
			p := rc.txnProducer("producer-1", "t1")
			var err error
			rc.await("init", func(done func()) { require.NoError(t, p.InitTransactions(func(e error) { err = e; done() })) })
			require.NoError(t, err)
			require.NoError(t, rc.txn(p, true, "a", "b", "c"))
			require.NoError(t, rc.txn(p, false, "x", "y"))
			require.NoError(t, rc.txn(p, true, "d"))
			assert.Equal(t, []string{"a", "b", "c", "d"}, rc.readAll(rc.consumer("rc", client.ReadCommitted), 4))

			asked := rc.s.Marked("broker.txn.verification-sent")
			if tc.verification || tc.version == 2 {
				assert.NotZero(t, asked, "leaders ask the coordinator")
			} else {
				assert.Zero(t, asked, "leaders append without asking")
			}
			byLeader := rc.s.Marked("client.txn.partition-added-by-leader")
			if tc.version == 2 {
				assert.NotZero(t, byLeader, "version 2 producers let the leaders add partitions")
			} else {
				assert.Zero(t, byLeader, "version 1 producers add partitions themselves")
			}
		})
	}
}

// A transactional producer needs idempotence: turning it off, or setting
// what idempotence forbids, is Kafka's ConfigException.
func TestTransactionalConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		set  map[string]string
		want string
	}{
		{map[string]string{"enable.idempotence": "false"}, "Cannot set a transactional.id without also enabling idempotence."},
		{map[string]string{"acks": "1"}, "Must set acks to all in order to use the idempotent producer."},
		{map[string]string{"max.in.flight.requests.per.connection": "6"}, "Must set max.in.flight.requests.per.connection to at most 5"},
	} {
		m := map[string]string{"client.id": "p", "transactional.id": "t1"}
		for k, v := range tc.set {
			m[k] = v
		}
		_, err := client.ParseProducerConfig(m)
		require.Error(t, err, "%v", tc.set)
		assert.Contains(t, err.Error(), tc.want)
	}
	// Without transactional.id the same acks=1 quietly turns idempotence off.
	c, err := client.ParseProducerConfig(map[string]string{"client.id": "p", "acks": "1"})
	require.NoError(t, err)
	assert.False(t, c.EnableIdempotence)
	_, err = client.ParseConsumerConfig(map[string]string{"client.id": "c", "isolation.level": "read_dirty"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "isolation.level")
}

// BenchmarkTransactions measures committed transactions (three sends each)
// per wall second against three brokers (replication factor 3,
// min.insync.replicas 2), and per simulated second.
func BenchmarkTransactions(b *testing.B) {
	rc := newTxnCluster(b, 1)
	p := rc.txnProducer("producer-1", "t1")
	var err error
	rc.await("init", func(done func()) { require.NoError(b, p.InitTransactions(func(e error) { err = e; done() })) })
	require.NoError(b, err)
	start := rc.s.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		require.NoError(b, p.BeginTransaction())
		for j := 0; j < 3; j++ {
			v := []byte(fmt.Sprintf("%d-%d", i, j))
			p.Send("out", v, v, nil)
		}
		rc.await("commit", func(done func()) {
			require.NoError(b, p.CommitTransaction(func(e error) { err = e; done() }))
		})
		require.NoError(b, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "txns/s")
	b.ReportMetric(float64(b.N)/(rc.s.Now()-start).Seconds(), "txns/sim-s")
}
