package protocol_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// A Produce reset and built again carries nothing of the request it was
// before: no header field, no partition, no marker, no record; and it is
// built in the storage it had, without allocating.
func TestProduceResetLeavesNothingOfTheLastRequest(t *testing.T) {
	a, b := protocol.TopicPartition{Topic: "a", Partition: 0}, protocol.TopicPartition{Topic: "b", Partition: 1}
	m := &protocol.Produce{CorrelationID: 7, ClientID: "c", TransactionalID: "tx", Acks: protocol.AcksAll, Timeout: time.Second}
	idem := protocol.Producer{ID: 9, Epoch: 2, BaseSequence: 5}
	m.AppendPartition(a, idem, 100, [][]byte{[]byte("one"), []byte("two"), []byte("three")})
	m.AppendPartition(b, idem, 100, [][]byte{[]byte("four")})
	m.Partitions[1].Marker = &protocol.TxnMarker{}

	m.Reset()
	assert.Equal(t, &protocol.Produce{Partitions: []protocol.ProducePartition{}}, m, "every field is zero")
	m.CorrelationID, m.Acks = 8, protocol.AcksLeader
	m.AppendPartition(b, protocol.NoProducer, 200, [][]byte{[]byte("x")})

	fresh := &protocol.Produce{CorrelationID: 8, Acks: protocol.AcksLeader,
		Partitions: []protocol.ProducePartition{{TP: b, Records: protocol.NewRecords(protocol.NoProducer, 200, "x")}}}
	assert.Equal(t, fresh, m, "the reused request equals one built from scratch")
	batch, err := protocol.DecodeBatch(m.Partitions[0].Records)
	require.NoError(t, err)
	require.Len(t, batch.Records, 1)
	assert.Equal(t, "x", string(batch.Records[0].Value))
	assert.Equal(t, protocol.NoProducerID, batch.Header.ProducerID, "no producer id left from the idempotent batch")

	value := [][]byte{[]byte("y")}
	allocs := testing.AllocsPerRun(100, func() {
		m.Reset()
		m.AppendPartition(a, protocol.NoProducer, 300, value)
		m.AppendPartition(b, protocol.NoProducer, 300, value)
	})
	assert.Zero(t, allocs, "a reused request is built in its own storage")
}
