package protocol_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
)

func TestTxnMessagesAreRequestsOrResponses(t *testing.T) {
	for _, m := range []network.Message{&protocol.AddPartitionsToTxn{}, &protocol.AddPartitionsToTxnResponse{},
		&protocol.AddOffsetsToTxn{}, &protocol.AddOffsetsToTxnResponse{}, &protocol.EndTxn{}, &protocol.EndTxnResponse{},
		&protocol.WriteTxnMarkers{}, &protocol.WriteTxnMarkersResponse{}, &protocol.TxnOffsetCommit{}, &protocol.TxnOffsetCommitResponse{}} {
		_, request := m.(protocol.Request)
		_, response := m.(protocol.Response)
		assert.NotEqual(t, request, response, m.Kind())
		assert.Equal(t, strings.HasSuffix(m.Kind(), "Response"), response, m.Kind())
	}
}

func TestTxnErrorCodesKeepKafkasNumbers(t *testing.T) {
	for code, want := range map[protocol.ErrorCode]int16{
		protocol.InvalidTxnState: 48, protocol.InvalidProducerIdMapping: 49, protocol.InvalidTransactionTimeout: 50,
		protocol.ConcurrentTransactions: 51, protocol.TransactionCoordinatorFenced: 52, protocol.ProducerFenced: 90,
		protocol.TransactionalIdNotFound: 105, protocol.TransactionAbortable: 120,
	} {
		assert.EqualValues(t, want, code, code.String())
	}
	c, ok := protocol.ParseErrorCode("CONCURRENT_TRANSACTIONS")
	assert.True(t, ok)
	assert.Equal(t, protocol.ConcurrentTransactions, c)
	assert.True(t, protocol.ConcurrentTransactions.Retriable())
}

// The abort filter drops an aborted producer's batches from the first
// offset of its aborted transaction to its abort marker, and nothing of a
// producer whose transaction committed.
func TestAbortFilter(t *testing.T) {
	var recs []byte
	add := func(b []byte, base int64) {
		protocol.SetBaseOffset(b, base)
		recs = append(recs, b...)
	}
	p1 := protocol.Producer{ID: 1, Epoch: 0, BaseSequence: 0}
	p2 := protocol.Producer{ID: 2, Epoch: 0, BaseSequence: 0}
	add(protocol.NewTxnRecords(p1, 1, "a"), 0)
	add(protocol.NewTxnRecords(p2, 1, "b"), 1)
	add(protocol.NewRecords(protocol.NoProducer, 1, "plain"), 2)
	add(protocol.AppendControlBatch(nil, 3, 0, p1, 1, protocol.ControlAbort, 0), 3)
	add(protocol.NewTxnRecords(p1, 1, "c"), 4)
	add(protocol.AppendControlBatch(nil, 5, 0, p2, 1, protocol.ControlCommit, 0), 5)
	f := protocol.NewAbortFilter([]protocol.AbortedTransaction{{ProducerID: 1, FirstOffset: 0}})
	var kept []int64
	require.NoError(t, protocol.Records(recs).Batches(func(h protocol.BatchHeader, b []byte) bool {
		if !f.Skip(h, b) {
			kept = append(kept, h.BaseOffset)
		}
		return true
	}))
	assert.Equal(t, []int64{1, 2, 4}, kept)

	// A fetch that starts at producer 1's abort marker still names the
	// aborted transaction; its next transaction is not aborted.
	f = protocol.NewAbortFilter([]protocol.AbortedTransaction{{ProducerID: 1, FirstOffset: 0}})
	kept = nil
	require.NoError(t, protocol.Records(recs).Batches(func(h protocol.BatchHeader, b []byte) bool {
		if h.BaseOffset >= 3 && !f.Skip(h, b) {
			kept = append(kept, h.BaseOffset)
		}
		return true
	}))
	assert.Equal(t, []int64{4}, kept)
}
