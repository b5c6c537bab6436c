package reports_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/reports"
)

// A transaction is drawn as one span on its client's lane, from begin to
// commit or abort, saying how it ended and what it wrote and read.
func TestTransactionSpans(t *testing.T) {
	rec := history.NewRecorder(history.Header{Seed: 1})
	send := history.Mop{Send: &history.Send{Topic: "out", Partition: 1, Value: model.Bytes("a"), Acks: model.AcksAll, Offset: 7}}
	id := rec.InvokeTxn(time.Second, "txn-1", 0, []history.Mop{send})
	rec.TxnDone(id, 2*time.Second, history.OK, "", []history.Mop{send,
		{Poll: &history.Poll{Parts: []history.PollPart{{Topic: "out", Partition: 0, Position: 0, Records: []history.Record{{Offset: 0, Value: model.Bytes("x")}}}}}},
	})
	id = rec.InvokeTxn(3*time.Second, "txn-1", 0, []history.Mop{send})
	rec.TxnDone(id, 4*time.Second, history.Fail, "TRANSACTION_ABORTED", []history.Mop{send})
	h, err := rec.History()
	require.NoError(t, err)
	r := reports.Build(reports.Source{History: h, Report: checker.Check(h, checker.Options{SkipLinearizability: true})})
	require.Len(t, r.Clients, 1)
	ops := r.Clients[0].Ops
	require.Len(t, ops, 2)
	assert.Equal(t, reports.Op{Start: time.Second, End: 2 * time.Second, Kind: "txn", Outcome: "ok",
		Label: "op 0 transaction committed; sent out-1@7; 1 polls read 1 records"}, ops[0])
	assert.Equal(t, "fail", ops[1].Outcome)
	assert.Equal(t, "op 1 transaction aborted (TRANSACTION_ABORTED); sent out-1@7", ops[1].Label)
}
