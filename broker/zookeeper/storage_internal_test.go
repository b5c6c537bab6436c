package zookeeper

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/sim"
)

func sampleTxns() []*Txn {
	return []*Txn{
		{Session: 7, Cxid: 1, Zxid: MakeZxid(1, 1), Time: 10, Type: OpCreateSession, Timeout: 6000},
		{Session: 7, Cxid: 2, Zxid: MakeZxid(1, 2), Time: 11, Type: OpCreate, Path: "/a", Data: []byte("x"), ParentCVersion: 1},
		{Session: 7, Cxid: 3, Zxid: MakeZxid(1, 3), Time: 12, Type: OpCreate, Path: "/a/e", Ephemeral: true, ParentCVersion: 1},
		{Session: 7, Cxid: 4, Zxid: MakeZxid(1, 4), Time: 13, Type: OpSetData, Path: "/a", Data: []byte("y"), Version: 1},
		{Session: 7, Cxid: 5, Zxid: MakeZxid(1, 5), Time: 14, Type: OpError, Err: BadVersion},
		{Session: 7, Cxid: 6, Zxid: MakeZxid(1, 6), Time: 15, Type: OpMulti, Ops: []*Txn{
			{Type: OpCheck, Path: "/a", Version: 2},
			{Type: OpCreate, Path: "/a/b", Data: nil, ParentCVersion: 2},
			{Type: OpDelete, Path: "/a/b"},
		}},
		{Session: 7, Cxid: 7, Zxid: MakeZxid(2, 1), Time: 16, Type: OpCloseSession, Paths: []string{"/a/e"}},
	}
}

func TestTxnRoundTrip(t *testing.T) {
	for _, tx := range sampleTxns() {
		tx.finish()
		back, err := decodeTxn(tx.enc)
		require.NoError(t, err, "%v", tx)
		require.Equal(t, tx.Digest(), back.Digest(), "%v", tx)
		require.Equal(t, tx.String(), back.String())
	}
	_, err := decodeTxn([]byte{1, 2, 3})
	require.Error(t, err)
}

// TestTreeAppliesAndSnapshots applies transactions, checks the tree, and
// checks that a snapshot reads back as the same tree.
func TestTreeAppliesAndSnapshots(t *testing.T) {
	tr := newDataTree()
	var w []watchTrigger
	var results []txnResult
	for _, tx := range sampleTxns()[:6] {
		results = append(results, tr.process(tx.finish(), &w))
	}
	require.Equal(t, BadVersion, results[4].err)
	require.Equal(t, Ok, results[5].err)
	data, st, ok := tr.Get("/a")
	require.True(t, ok)
	require.Equal(t, "y", string(data))
	require.Equal(t, int32(1), st.Version)
	require.Equal(t, int32(2), st.Cversion, "the multi's create bumped the cversion")
	require.Equal(t, MakeZxid(1, 6), st.Pzxid, "the multi's delete set the pzxid")
	require.Equal(t, map[int64][]string{7: {"/a/e"}}, tr.Ephemerals())

	back, err := decodeSnapshot(encodeSnapshot(tr))
	require.NoError(t, err)
	require.Equal(t, tr.Digest(), back.Digest())
	require.Equal(t, tr.Paths(), back.Paths())
	require.Equal(t, tr.Ephemerals(), back.Ephemerals())
	z, c := tr.LastTxn()
	bz, bc := back.LastTxn()
	require.Equal(t, z, bz)
	require.Equal(t, c, bc)

	// closeSession deletes the ephemerals and forgets the session.
	tr.process(sampleTxns()[6].finish(), &w)
	require.Empty(t, tr.Ephemerals())
	require.Empty(t, tr.Sessions())
	_, _, ok = tr.Get("/a/e")
	require.False(t, ok)

	p := encodeSnapshot(tr)
	p[len(p)/2] ^= 0xff
	_, err = decodeSnapshot(p)
	require.Error(t, err, "a damaged snapshot must not load")
	_, err = decodeSnapshot(p[:len(p)-1])
	require.Error(t, err, "a snapshot without its end marker must not load")
}

// TestRecoveryFromSnapshotAndLogs: a database written through the log and
// a snapshot loads back the same, and a torn log tail is read up to the
// tear.
func TestRecoveryFromSnapshotAndLogs(t *testing.T) {
	s := sim.New(sim.Config{Seed: 1})
	n, err := s.AddNode("z1", func(*sim.Node) any { return struct{}{} })
	require.NoError(t, err)
	db := newDatabase(n.Disk(), DefaultDir, 500, 0.33)
	_, err = db.load()
	require.NoError(t, err)
	var w []watchTrigger
	for i, tx := range sampleTxns()[:6] {
		require.NoError(t, db.append(tx.finish()))
		require.NoError(t, db.sync()) // forceSync
		db.tree.process(tx, &w)
		if i == 2 {
			db.rollLog()
			require.NoError(t, db.snapshot(false))
		}
	}
	require.NoError(t, db.sync())
	want := db.tree.Digest()

	db2 := newDatabase(n.Disk(), DefaultDir, 500, 0.33)
	res, err := db2.load()
	require.NoError(t, err)
	require.Equal(t, 3, res.replayed, "the snapshot covers the first three")
	require.Equal(t, want, db2.tree.Digest())
	require.Equal(t, MakeZxid(1, 6), db2.tree.LastProcessedZxid())

	// A transaction torn (cut short) ends its file.
	require.NoError(t, db.append(sampleTxns()[6].finish()))
	f, err := n.Disk().Open(db.logName)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(f.Size()-3))
	db3 := newDatabase(n.Disk(), DefaultDir, 500, 0.33)
	res, err = db3.load()
	require.NoError(t, err)
	require.Equal(t, 1, res.tornFiles)
	require.Equal(t, want, db3.tree.Digest())

	// A power loss takes the unsynced snapshot: loading falls back to the
	// initial one and replays every log.
	n.PowerLoss(false)
	db4 := newDatabase(n.Disk(), DefaultDir, 500, 0.33)
	res, err = db4.load()
	require.NoError(t, err)
	require.Equal(t, 1, res.invalidSnaps)
	require.Equal(t, 6, res.replayed)
	require.Equal(t, want, db4.tree.Digest())

	// Truncation removes later transactions and snapshots.
	_, err = db3.truncate(MakeZxid(1, 2))
	require.NoError(t, err)
	require.Equal(t, MakeZxid(1, 2), db3.tree.LastProcessedZxid())
	_, _, ok := db3.tree.Get("/a/e")
	require.False(t, ok)
}

func FuzzDecodeTxn(f *testing.F) {
	for _, tx := range sampleTxns() {
		f.Add(tx.finish().enc)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		tx, err := decodeTxn(p)
		if err != nil {
			return
		}
		var e encoder
		e.txn(tx, true)
		back, err := decodeTxn(e.b)
		require.NoError(t, err)
		require.Equal(t, tx.String(), back.String())
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	tr := newDataTree()
	var w []watchTrigger
	for _, tx := range sampleTxns()[:6] {
		tr.process(tx.finish(), &w)
	}
	f.Add(encodeSnapshot(tr))
	f.Fuzz(func(t *testing.T, p []byte) {
		back, err := decodeSnapshot(p)
		if err != nil {
			return
		}
		again, err := decodeSnapshot(encodeSnapshot(back))
		require.NoError(t, err)
		require.Equal(t, back.Digest(), again.Digest())
	})
}
