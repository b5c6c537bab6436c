package protocol_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

func TestBatchRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 20).Draw(t, "records")
		var recs []protocol.Record
		for i := range n {
			var key []byte
			if rapid.Bool().Draw(t, fmt.Sprintf("haskey%d", i)) {
				key = rapid.SliceOf(rapid.Byte()).Draw(t, fmt.Sprintf("key%d", i))
			}
			recs = append(recs, protocol.Record{
				Timestamp: rapid.Int64Range(0, 1<<40).Draw(t, fmt.Sprintf("ts%d", i)),
				Key:       key,
				Value:     rapid.SliceOf(rapid.Byte()).Draw(t, fmt.Sprintf("value%d", i)),
			})
		}
		p := protocol.Producer{ID: rapid.Int64Range(-1, 100).Draw(t, "pid"), Epoch: 3, BaseSequence: rapid.Int32Range(0, 1000).Draw(t, "seq")}
		base := rapid.Int64Range(0, 1<<40).Draw(t, "base")
		b := protocol.AppendBatch([]byte("prefix"), base, 7, p, recs)[6:]
		h, err := protocol.ParseBatchHeader(b)
		require.NoError(t, err)
		require.NoError(t, protocol.VerifyCRC(b, h))
		assert.Equal(t, len(b), h.Size())
		assert.Equal(t, base, h.BaseOffset)
		assert.Equal(t, int32(7), h.PartitionLeaderEpoch)
		assert.Equal(t, int32(n), h.RecordCount)
		assert.Equal(t, p.ID, h.ProducerID)
		assert.Equal(t, base+int64(n)-1, h.LastOffset())
		i := 0
		require.NoError(t, protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
			assert.Equal(t, base+int64(i), r.Offset)
			assert.Equal(t, recs[i].Timestamp, r.Timestamp)
			assert.Equal(t, recs[i].Key == nil, r.Key == nil)
			assert.Equal(t, string(recs[i].Key), string(r.Key))
			assert.Equal(t, string(recs[i].Value), string(r.Value))
			i++
			return true
		}))
		assert.Equal(t, n, i)
		// Restamping offset and epoch keeps the CRC valid: it does not cover them.
		protocol.SetBaseOffset(b, base+100)
		protocol.SetPartitionLeaderEpoch(b, 9)
		h2, err := protocol.ParseBatchHeader(b)
		require.NoError(t, err)
		require.NoError(t, protocol.VerifyCRC(b, h2))
		assert.Equal(t, base+100, h2.BaseOffset)
	})
}

func TestCRCCatchesEveryFlippedByteItCovers(t *testing.T) {
	b := protocol.NewRecords(protocol.NoProducer, 5, "a", "bb", "ccc")
	for i := 21; i < len(b); i++ { // from attributes to the end
		c := append([]byte(nil), b...)
		c[i] ^= 0x10
		h, err := protocol.ParseBatchHeader(c)
		if err != nil {
			continue // the header itself no longer parses: also caught
		}
		assert.Error(t, protocol.VerifyCRC(c, h), "flipped byte %d", i)
	}
}

func TestTruncatedBatchIsCorrupt(t *testing.T) {
	b := protocol.NewRecords(protocol.NoProducer, 5, "a", "bb")
	for n := 0; n < len(b); n++ {
		_, err := protocol.ParseBatchHeader(b[:n])
		assert.ErrorIs(t, err, protocol.ErrCorrupt, "prefix of %d bytes", n)
	}
	zeros := make([]byte, 100)
	_, err := protocol.ParseBatchHeader(zeros)
	assert.ErrorIs(t, err, protocol.ErrCorrupt)
}

func TestRecordsWalkAndCount(t *testing.T) {
	var r protocol.Records
	r = protocol.AppendBatch(r, 0, 1, protocol.NoProducer, []protocol.Record{{Value: []byte("x")}})
	r = protocol.AppendBatch(r, 1, 2, protocol.Producer{ID: 4, Epoch: 0, BaseSequence: 0}, []protocol.Record{{Value: []byte("y")}, {Value: []byte("z")}})
	assert.Equal(t, 3, r.Count())
	assert.Equal(t, "[0..0]@e1 [1..2]@e2 pid 4/0 seq 0", r.String())
	assert.NotEqual(t, r.Digest(), protocol.Records(r[:len(r)/2]).Digest())
}

func TestSequenceWraps(t *testing.T) {
	assert.Equal(t, int32(0), protocol.IncSequence(1<<31-1, 1))
	assert.Equal(t, int32(5), protocol.IncSequence(1<<31-1, 6))
	assert.Equal(t, int32(10), protocol.IncSequence(4, 6))
}

// Every message is a network.Message with a digest and a readable form,
// and the digest changes with the content.
func TestMessagesDigestTheirContent(t *testing.T) {
	tp := protocol.TopicPartition{Topic: "t", Partition: 0}
	pairs := [][2]network.Message{
		{&protocol.Produce{CorrelationID: 1, Acks: -1, Partitions: []protocol.ProducePartition{{TP: tp, Records: protocol.NewRecords(protocol.NoProducer, 0, "a")}}},
			&protocol.Produce{CorrelationID: 1, Acks: -1, Partitions: []protocol.ProducePartition{{TP: tp, Records: protocol.NewRecords(protocol.NoProducer, 0, "b")}}}},
		{&protocol.ProduceResponse{CorrelationID: 1, Partitions: []protocol.ProducePartitionResponse{{TP: tp, BaseOffset: 3}}},
			&protocol.ProduceResponse{CorrelationID: 1, Partitions: []protocol.ProducePartitionResponse{{TP: tp, BaseOffset: 4}}}},
		{&protocol.Fetch{CorrelationID: 1, ReplicaID: 2, Partitions: []protocol.FetchPartition{{TP: tp, FetchOffset: 1}}},
			&protocol.Fetch{CorrelationID: 1, ReplicaID: 2, Partitions: []protocol.FetchPartition{{TP: tp, FetchOffset: 2}}}},
		{&protocol.FetchResponse{CorrelationID: 1, Partitions: []protocol.FetchPartitionResponse{{TP: tp, HighWatermark: 1, DivergingEpoch: protocol.NoDivergence}}},
			&protocol.FetchResponse{CorrelationID: 1, Partitions: []protocol.FetchPartitionResponse{{TP: tp, HighWatermark: 1, DivergingEpoch: protocol.EpochEndOffset{Epoch: 1, EndOffset: 0}}}}},
		{&protocol.ListOffsets{CorrelationID: 1, Partitions: []protocol.ListOffsetsPartition{{TP: tp, Timestamp: -1}}},
			&protocol.ListOffsets{CorrelationID: 1, Partitions: []protocol.ListOffsetsPartition{{TP: tp, Timestamp: -2}}}},
		{&protocol.ListOffsetsResponse{CorrelationID: 1, Partitions: []protocol.ListOffsetsPartitionResponse{{TP: tp, Offset: 1}}},
			&protocol.ListOffsetsResponse{CorrelationID: 1, Partitions: []protocol.ListOffsetsPartitionResponse{{TP: tp, Offset: 2}}}},
		{&protocol.OffsetsForLeaderEpoch{CorrelationID: 1, Partitions: []protocol.OffsetForLeaderPartition{{TP: tp, LeaderEpoch: 1}}},
			&protocol.OffsetsForLeaderEpoch{CorrelationID: 1, Partitions: []protocol.OffsetForLeaderPartition{{TP: tp, LeaderEpoch: 2}}}},
		{&protocol.OffsetsForLeaderEpochResponse{CorrelationID: 1, Partitions: []protocol.EpochEndOffsetResponse{{TP: tp, EndOffset: 1}}},
			&protocol.OffsetsForLeaderEpochResponse{CorrelationID: 1, Partitions: []protocol.EpochEndOffsetResponse{{TP: tp, EndOffset: 2}}}},
		{&protocol.AlterPartition{CorrelationID: 1, Partitions: []protocol.AlterPartitionItem{{TP: tp, NewISR: []protocol.BrokerState{{BrokerID: 1}}}}},
			&protocol.AlterPartition{CorrelationID: 1, Partitions: []protocol.AlterPartitionItem{{TP: tp, NewISR: []protocol.BrokerState{{BrokerID: 2}}}}}},
		{&protocol.AlterPartitionResponse{CorrelationID: 1, Partitions: []protocol.AlterPartitionResult{{TP: tp, ISR: []int32{1}}}},
			&protocol.AlterPartitionResponse{CorrelationID: 1, Partitions: []protocol.AlterPartitionResult{{TP: tp, ISR: []int32{1, 2}}}}},
		{&protocol.Metadata{CorrelationID: 1, Topics: []string{"a"}}, &protocol.Metadata{CorrelationID: 1, Topics: []string{"b"}}},
		{&protocol.MetadataResponse{CorrelationID: 1, ControllerID: 1}, &protocol.MetadataResponse{CorrelationID: 1, ControllerID: 2}},
	}
	for _, p := range pairs {
		a, b := p[0], p[1]
		assert.Equal(t, a.Kind(), b.Kind())
		assert.NotEqual(t, a.(network.Digester).Digest(), b.(network.Digester).Digest(), a.Kind())
		assert.NotEmpty(t, fmt.Sprint(a))
		assert.Equal(t, int32(1), a.(interface{ Correlation() int32 }).Correlation())
	}
}

func TestDirectory(t *testing.T) {
	d := protocol.NewDirectory()
	require.NoError(t, d.Add(1, sim.NodeID(0)))
	require.NoError(t, d.Add(3000, sim.NodeID(1)))
	assert.ErrorContains(t, d.Add(1, sim.NodeID(2)), "already mapped")
	assert.ErrorContains(t, d.Add(2, sim.NodeID(1)), "already has Kafka node id 3000")
	n, ok := d.Node(3000)
	assert.True(t, ok)
	assert.Equal(t, sim.NodeID(1), n)
	id, ok := d.ID(0)
	assert.True(t, ok)
	assert.Equal(t, int32(1), id)
	assert.Equal(t, []int32{1, 3000}, d.IDs())
}

// The header parser accepts every shape Kafka writes and refuses the ones
// no writer produces.
func TestBatchHeaderShapes(t *testing.T) {
	batch := func(lastDelta int32, recs ...protocol.Record) []byte {
		return protocol.AppendBatchOf(nil, protocol.Batch{Header: protocol.BatchHeader{BaseOffset: 10, LastOffsetDelta: lastDelta,
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, Records: recs})
	}
	compacted := batch(5, protocol.Record{Offset: 11, Value: []byte("b")}, protocol.Record{Offset: 14, Value: []byte("e")})
	h, err := protocol.ParseBatchHeader(compacted)
	require.NoError(t, err)
	assert.Equal(t, int64(15), h.LastOffset())
	assert.Equal(t, "[10..15]@e0 2 records", h.String())
	var offs []int64
	require.NoError(t, protocol.DecodeRecords(compacted, h, func(r protocol.Record) bool { offs = append(offs, r.Offset); return true }))
	assert.Equal(t, []int64{11, 14}, offs)

	empty := batch(3)
	h, err = protocol.ParseBatchHeader(empty)
	require.NoError(t, err)
	assert.Equal(t, int64(14), h.NextOffset())
	assert.Equal(t, 0, protocol.Records(empty).Count())

	// Offset deltas must increase and stay within the last offset delta.
	for name, b := range map[string][]byte{
		"delta beyond last":     batch(1, protocol.Record{Offset: 12}),
		"deltas not increasing": batch(3, protocol.Record{Offset: 11}, protocol.Record{Offset: 11}),
	} {
		_, err := protocol.DecodeBatch(b)
		assert.ErrorIs(t, err, protocol.ErrCorrupt, name)
		assert.ErrorContains(t, err, "offset delta", name)
	}
	// More records than offsets.
	bad := batch(0, protocol.Record{Offset: 10})
	binary.BigEndian.PutUint32(bad[57:], 2)
	_, err = protocol.ParseBatchHeader(bad)
	assert.ErrorContains(t, err, "2 records with last offset delta 0")
	// A compressed batch whose records section is not the codec's is
	// refused with the codec named.
	gz := protocol.AppendBatchOf(nil, protocol.Batch{Header: protocol.BatchHeader{Attributes: 1}, Records: []protocol.Record{{}}})
	gz[protocol.BatchHeaderSize] ^= 0xff // break the gzip magic
	binary.BigEndian.PutUint32(gz[17:], crc32.Checksum(gz[21:], crc32.MakeTable(crc32.Castagnoli)))
	_, err = protocol.DecodeBatch(gz)
	assert.ErrorContains(t, err, "gzip records")
}

// A batch without headers encodes exactly as before headers were carried:
// an empty header list is one zero byte.
func TestNoHeadersEncodeAsBefore(t *testing.T) {
	b := protocol.NewRecords(protocol.NoProducer, 5, "a")
	assert.Equal(t, byte(0), b[len(b)-1])
	assert.Equal(t, uint32(0x5e1da808), binary.BigEndian.Uint32(b[17:]), "CRC of a fixed batch")
	withHeader := protocol.AppendBatch(nil, 0, -1, protocol.NoProducer, []protocol.Record{{Timestamp: 5, Value: []byte("a"), Headers: []protocol.RecordHeader{{Key: "k"}}}})
	r, err := protocol.DecodeBatch(withHeader)
	require.NoError(t, err)
	assert.Equal(t, []protocol.RecordHeader{{Key: "k"}}, r.Records[0].Headers)
}
