package client_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
)

func (rc *realCluster) txnDriver(name string, w client.TxnWorkload) *client.TxnDriver {
	d, err := client.NewTxnDriver(rc.env(), w)
	require.NoError(rc.t, err)
	n, err := rc.s.AddNode(name, d.Boot)
	require.NoError(rc.t, err)
	require.NoError(rc.t, n.Start())
	return d
}

func (rc *realCluster) check() []checker.Finding {
	rc.rec.Close(rc.s.Now(), nil)
	h, err := rc.rec.History()
	require.NoError(rc.t, err)
	r := checker.Check(h, checker.Options{SkipLinearizability: true})
	var bad []checker.Finding
	for _, f := range r.Findings {
		if f.Class.Bad() {
			bad = append(bad, f)
		}
	}
	return bad
}

// Jepsen-style transactions from two producers, some aborted on purpose,
// some polling, one producer crashing and restarting: the history's txn
// operations hold their sends and polls, and the checkers find nothing
// wrong.
func TestTxnDriverJepsenStyle(t *testing.T) {
	rc := newTxnCluster(t, 3)
	w := client.TxnWorkload{Topic: "out", Rate: 20, MaxSends: 3, PollChance: 0.5, AbortChance: 0.2, Until: rc.s.Now() + 10*time.Second}
	d1 := rc.txnDriver("txn-1", w)
	d2 := rc.txnDriver("txn-2", w)
	// txn-1 crashes in the middle of its transactions and comes back: its
	// open transaction stays unknown, the new incarnation fences it.
	require.NoError(t, rc.s.RunFor(5*time.Second))
	n, err := rc.s.Node("txn-1")
	require.NoError(t, err)
	require.NoError(t, n.Crash())
	require.NoError(t, rc.s.RunFor(time.Second))
	require.NoError(t, n.Restart())
	require.NoError(t, rc.s.RunFor(9*time.Second))
	for _, d := range []*client.TxnDriver{d1, d2} {
		assert.Greater(t, d.Stats.Committed, 20, "%+v", d.Stats)
		assert.Positive(t, d.Stats.Aborted, "%+v", d.Stats)
	}
	assert.Empty(t, rc.check())
}

// A consume-transform-produce pipeline of two members through a broker
// crash: every input record is output by exactly one committed
// transaction.
func TestTxnDriverPipeline(t *testing.T) {
	rc := newTxnCluster(t, 4)
	pw := client.ProducerWorkload{Topic: "in", Rate: 50, Keys: 10, Until: rc.s.Now() + 20*time.Second}
	pd, err := client.NewProducerDriver(rc.env(), pw)
	require.NoError(t, err)
	n, err := rc.s.AddNode("producer-1", pd.Boot)
	require.NoError(t, err)
	require.NoError(t, n.Start())
	w := client.TxnWorkload{Topic: "out", Input: "in", Group: "pipe", AbortChance: 0.1}
	d1 := rc.txnDriver("pipe-1", w)
	d2 := rc.txnDriver("pipe-2", w)
	require.NoError(t, rc.s.RunFor(8*time.Second))
	require.NoError(t, rc.c.Node(2).Crash())
	require.NoError(t, rc.s.RunFor(10*time.Second))
	require.NoError(t, rc.c.Node(2).Restart())
	require.NoError(t, rc.s.RunFor(30*time.Second))
	assert.Positive(t, d1.Stats.Committed+d2.Stats.Committed)
	rc.rec.Close(rc.s.Now(), nil)
	h, err := rc.rec.History()
	require.NoError(t, err)
	assert.Empty(t, checker.ExactlyOnce(h, checker.Run{}))
	processed := map[string]bool{}
	for _, op := range h.Ops {
		if op.Kind == history.KindTxn && op.Outcome == history.OK {
			for _, s := range op.Sends() {
				processed[string(s.Headers[0].Value)] = true
			}
		}
	}
	assert.Greater(t, len(processed), 500, "stats %+v %+v", d1.Stats, d2.Stats)
}
