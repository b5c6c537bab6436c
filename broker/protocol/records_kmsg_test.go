package protocol_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// franz-go's kmsg is an independent implementation of Kafka's record batch
// format; these tests hold kafkasim's encoder and decoder against it in both
// directions.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// kmsgDecode decodes one batch with kmsg: the header, then each record by
// its varint length.
func kmsgDecode(t require.TestingT, b []byte) (kmsg.RecordBatch, []kmsg.Record) {
	var kb kmsg.RecordBatch
	require.NoError(t, kb.ReadFrom(b), "kmsg reads the batch")
	p := kb.Records
	var recs []kmsg.Record
	for range kb.NumRecords {
		l, n := binary.Varint(p)
		require.Greater(t, n, 0)
		var kr kmsg.Record
		require.NoError(t, kr.ReadFrom(p[:n+int(l)]), "kmsg reads record %d", len(recs))
		recs = append(recs, kr)
		p = p[n+int(l):]
	}
	require.Empty(t, p, "bytes after the last record")
	return kb, recs
}

// kmsgEncode encodes a batch with kmsg, computing record lengths, the batch
// length and the CRC as a Kafka client does.
func kmsgEncode(kb kmsg.RecordBatch, recs []kmsg.Record) []byte {
	var body []byte
	for _, r := range recs {
		r.Length = 0
		r.Length = int32(len(r.AppendTo(nil)) - 1) // a zero varint length is one byte
		body = r.AppendTo(body)
	}
	kb.Magic, kb.Records, kb.NumRecords = 2, body, int32(len(recs))
	kb.Length = int32(49 + len(body))
	kb.CRC = 0
	b := kb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// agree asserts that a batch decoded by kafkasim and by kmsg say the same.
func agree(t require.TestingT, ours protocol.Batch, kb kmsg.RecordBatch, krecs []kmsg.Record) {
	h := ours.Header
	require.Equal(t, []any{h.BaseOffset, h.Length, h.PartitionLeaderEpoch, h.Magic, int32(h.CRC), h.Attributes, h.LastOffsetDelta,
		h.BaseTimestamp, h.MaxTimestamp, h.ProducerID, h.ProducerEpoch, h.BaseSequence, h.RecordCount},
		[]any{kb.FirstOffset, kb.Length, kb.PartitionLeaderEpoch, kb.Magic, kb.CRC, kb.Attributes, kb.LastOffsetDelta,
			kb.FirstTimestamp, kb.MaxTimestamp, kb.ProducerID, kb.ProducerEpoch, kb.FirstSequence, kb.NumRecords}, "headers")
	require.Len(t, krecs, len(ours.Records))
	for i, r := range ours.Records {
		k := krecs[i]
		require.Equal(t, r.Attributes, k.Attributes, "record %d attributes", i)
		require.Equal(t, r.Offset, h.BaseOffset+int64(k.OffsetDelta), "record %d offset", i)
		require.Equal(t, r.Timestamp, h.BaseTimestamp+k.TimestampDelta64, "record %d timestamp", i)
		require.Equal(t, r.Key == nil, k.Key == nil, "record %d null key", i)
		require.Equal(t, string(r.Key), string(k.Key), "record %d key", i)
		require.Equal(t, r.Value == nil, k.Value == nil, "record %d null value", i)
		require.Equal(t, string(r.Value), string(k.Value), "record %d value", i)
		require.Len(t, k.Headers, len(r.Headers), "record %d headers", i)
		for j, hd := range r.Headers {
			require.Equal(t, hd.Key, k.Headers[j].Key, "record %d header %d key", i, j)
			require.Equal(t, hd.Value == nil, k.Headers[j].Value == nil, "record %d header %d null value", i, j)
			require.Equal(t, string(hd.Value), string(k.Headers[j].Value), "record %d header %d value", i, j)
		}
		if h.IsControl() {
			var kk kmsg.ControlRecordKey
			require.NoError(t, kk.ReadFrom(k.Key))
			ck, err := protocol.DecodeControlRecordKey(r.Key)
			require.NoError(t, err)
			require.Equal(t, int16(kk.Type), int16(ck.Type), "control type")
			require.Equal(t, kk.Version, ck.Version, "control version")
		}
	}
}

func genBytes(t *rapid.T, label string) []byte {
	if rapid.IntRange(0, 4).Draw(t, label+"-null") == 0 {
		return nil
	}
	return rapid.SliceOfN(rapid.Byte(), 0, 12).Draw(t, label)
}

// genBatch draws a batch of any shape Kafka writes: gaps between offsets
// and an empty batch (compaction), headers with null values, control
// batches, log append time, idempotent or not.
func genBatch(t *rapid.T) protocol.Batch {
	h := protocol.BatchHeader{
		BaseOffset:           rapid.Int64Range(0, 1<<40).Draw(t, "base"),
		PartitionLeaderEpoch: rapid.Int32Range(-1, 100).Draw(t, "epoch"),
		BaseTimestamp:        rapid.Int64Range(-1, 1<<42).Draw(t, "basets"),
		ProducerID:           protocol.NoProducerID,
		ProducerEpoch:        protocol.NoProducerEpoch,
		BaseSequence:         protocol.NoSequence,
	}
	if rapid.Bool().Draw(t, "idempotent") {
		h.ProducerID = rapid.Int64Range(0, 1<<50).Draw(t, "pid")
		h.ProducerEpoch = rapid.Int16Range(0, 1<<14).Draw(t, "pepoch")
		h.BaseSequence = rapid.Int32Range(0, 1<<31-1).Draw(t, "seq")
	}
	for _, bit := range []int16{protocol.AttrLogAppendTime, protocol.AttrTransactional, protocol.AttrDeleteHorizon} {
		if rapid.Bool().Draw(t, fmt.Sprintf("attr%x", bit)) {
			h.Attributes |= bit
		}
	}
	control := rapid.IntRange(0, 5).Draw(t, "control") == 0
	n := rapid.IntRange(0, 8).Draw(t, "records")
	if control {
		h.Attributes |= protocol.AttrTransactional | protocol.AttrControl
		n = rapid.IntRange(0, 1).Draw(t, "markers")
	}
	var recs []protocol.Record
	delta := int64(-1)
	maxTS := h.BaseTimestamp
	for i := range n {
		delta += 1 + int64(rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("gap%d", i)))
		r := protocol.Record{Offset: h.BaseOffset + delta,
			Timestamp: h.BaseTimestamp + rapid.Int64Range(-1000, 1<<33).Draw(t, fmt.Sprintf("ts%d", i)),
			Key:       genBytes(t, fmt.Sprintf("key%d", i)), Value: genBytes(t, fmt.Sprintf("value%d", i))}
		if control {
			r.Key = protocol.ControlRecordKey{Type: protocol.ControlType(rapid.Int16Range(0, 1).Draw(t, "type"))}.AppendTo(nil)
			r.Value = protocol.EndTxnMarker{CoordinatorEpoch: rapid.Int32Range(0, 50).Draw(t, "coordepoch")}.AppendTo(nil)
		} else {
			for j := range rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("headers%d", i)) {
				r.Headers = append(r.Headers, protocol.RecordHeader{
					Key:   rapid.StringN(0, 8, -1).Draw(t, fmt.Sprintf("hkey%d.%d", i, j)),
					Value: genBytes(t, fmt.Sprintf("hvalue%d.%d", i, j))})
			}
		}
		maxTS = max(maxTS, r.Timestamp)
		recs = append(recs, r)
	}
	h.LastOffsetDelta = int32(max(delta, 0) + int64(rapid.IntRange(0, 3).Draw(t, "tail")))
	h.MaxTimestamp = maxTS
	return protocol.Batch{Header: h, Records: recs}
}

// kafkasim encodes, kmsg decodes: every field agrees, and kafkasim decodes
// its own bytes back to the same batch.
func TestBatchesKmsgReadsOurs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want := genBatch(t)
		b := protocol.AppendBatchOf(nil, want)
		got, err := protocol.DecodeBatch(b)
		require.NoError(t, err)
		kb, krecs := kmsgDecode(t, b)
		agree(t, got, kb, krecs)
		want.Header.Length, want.Header.CRC, want.Header.Magic, want.Header.RecordCount = got.Header.Length, got.Header.CRC, 2, int32(len(want.Records))
		if len(want.Records) == 0 {
			want.Records = []protocol.Record{}
		}
		require.Equal(t, want, got)
	})
}

// kmsg encodes, kafkasim decodes: every field agrees, and kafkasim's
// re-encoding is byte for byte kmsg's.
func TestBatchesWeReadKmsgs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ours := genBatch(t)
		h := ours.Header
		kb := kmsg.RecordBatch{FirstOffset: h.BaseOffset, PartitionLeaderEpoch: h.PartitionLeaderEpoch, Attributes: h.Attributes,
			LastOffsetDelta: h.LastOffsetDelta, FirstTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp,
			ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch, FirstSequence: h.BaseSequence}
		var krecs []kmsg.Record
		for _, r := range ours.Records {
			kr := kmsg.Record{Attributes: r.Attributes, TimestampDelta64: r.Timestamp - h.BaseTimestamp,
				OffsetDelta: int32(r.Offset - h.BaseOffset), Key: r.Key, Value: r.Value}
			for _, hd := range r.Headers {
				kr.Headers = append(kr.Headers, kmsg.Header{Key: hd.Key, Value: hd.Value})
			}
			krecs = append(krecs, kr)
		}
		b := kmsgEncode(kb, krecs)
		got, err := protocol.DecodeBatch(b)
		require.NoError(t, err)
		kb2, krecs2 := kmsgDecode(t, b)
		agree(t, got, kb2, krecs2)
		require.Equal(t, b, protocol.AppendBatchOf(nil, got), "re-encoded bytes")
	})
}

// The shapes the batch header parser once refused, and the ones that carry
// meaning beyond data, one by one against kmsg.
func TestBatchShapesAgreeWithKmsg(t *testing.T) {
	pid := protocol.Producer{ID: 7, Epoch: 2, BaseSequence: 10}
	cases := map[string]protocol.Batch{
		"compacted: last offset delta 5, 2 records": {Header: protocol.BatchHeader{BaseOffset: 100, LastOffsetDelta: 5,
			BaseTimestamp: 1000, MaxTimestamp: 1004, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			Records: []protocol.Record{{Offset: 101, Timestamp: 1001, Value: []byte("b")}, {Offset: 104, Timestamp: 1004, Key: []byte("k"), Value: []byte("e")}}},
		"compacted: empty, offsets kept": {Header: protocol.BatchHeader{BaseOffset: 100, LastOffsetDelta: 9,
			BaseTimestamp: -1, MaxTimestamp: -1, ProducerID: pid.ID, ProducerEpoch: pid.Epoch, BaseSequence: pid.BaseSequence},
			Records: []protocol.Record{}},
		"headers, one with a null value": {Header: protocol.BatchHeader{LastOffsetDelta: 0, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			Records: []protocol.Record{{Value: []byte("v"), Headers: []protocol.RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "null", Value: nil}, {Key: "", Value: []byte{}}}}}},
		"log append time": {Header: protocol.BatchHeader{Attributes: protocol.AttrLogAppendTime, LastOffsetDelta: 1, BaseTimestamp: 5, MaxTimestamp: 99,
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			Records: []protocol.Record{{Offset: 0, Timestamp: 5, Value: []byte("a")}, {Offset: 1, Timestamp: 7, Value: []byte("b")}}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			b := protocol.AppendBatchOf(nil, c)
			got, err := protocol.DecodeBatch(b)
			require.NoError(t, err)
			kb, krecs := kmsgDecode(t, b)
			agree(t, got, kb, krecs)
			assert.Equal(t, c.Records, got.Records)
		})
	}
	for _, typ := range []protocol.ControlType{protocol.ControlAbort, protocol.ControlCommit} {
		t.Run("control "+typ.String(), func(t *testing.T) {
			b := protocol.AppendControlBatch(nil, 50, 3, pid, 1234, typ, 8)
			got, err := protocol.DecodeBatch(b)
			require.NoError(t, err)
			assert.Equal(t, int16(0x30), got.Header.Attributes)
			assert.True(t, got.Header.IsControl())
			assert.True(t, got.Header.IsTransactional())
			kb, krecs := kmsgDecode(t, b)
			agree(t, got, kb, krecs)
			var km kmsg.EndTxnMarker
			require.NoError(t, km.ReadFrom(krecs[0].Value))
			m, err := protocol.DecodeEndTxnMarker(got.Records[0].Value)
			require.NoError(t, err)
			assert.Equal(t, km.CoordinatorEpoch, m.CoordinatorEpoch)
			assert.Equal(t, int32(8), m.CoordinatorEpoch)
			k, err := protocol.DecodeControlRecordKey(got.Records[0].Key)
			require.NoError(t, err)
			assert.Equal(t, typ, k.Type)
		})
	}
}

// seedBatches are the fuzz corpus's seeds: every named shape.
func seedBatches() [][]byte {
	pid := protocol.Producer{ID: 7, Epoch: 2, BaseSequence: 10}
	return [][]byte{
		protocol.NewRecords(protocol.NoProducer, 5, "a", "bb"),
		protocol.AppendControlBatch(nil, 50, 3, pid, 1234, protocol.ControlCommit, 8),
		protocol.AppendBatchOf(nil, protocol.Batch{Header: protocol.BatchHeader{BaseOffset: 100, LastOffsetDelta: 5, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1},
			Records: []protocol.Record{{Offset: 101, Value: []byte("b")}, {Offset: 104, Key: []byte("k"), Value: []byte("e"), Headers: []protocol.RecordHeader{{Key: "h", Value: nil}}}}}),
		protocol.AppendBatchOf(nil, protocol.Batch{Header: protocol.BatchHeader{BaseOffset: 100, LastOffsetDelta: 9, ProducerID: 7, ProducerEpoch: 2, BaseSequence: 10}}),
	}
}

// FuzzDecodeBatch: the decoder never panics; whatever it accepts re-encodes
// to bytes it accepts and decodes to the same batch, and kmsg reads the same
// fields from the original bytes. Random bytes rarely carry a valid CRC, so
// each input is also tried with its CRC made right.
func FuzzDecodeBatch(f *testing.F) {
	for _, b := range seedBatches() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		if h, err := protocol.ParseBatchHeader(b); err == nil {
			c := append([]byte(nil), b...)
			binary.BigEndian.PutUint32(c[17:], crc32.Checksum(c[21:h.Size()], castagnoli))
			checkDecode(t, c)
		}
	})
}

func checkDecode(t *testing.T, b []byte) {
	_ = protocol.Records(b).String()
	_ = protocol.Records(b).Count()
	got, err := protocol.DecodeBatch(b)
	if err != nil {
		require.ErrorIs(t, err, protocol.ErrCorrupt)
		return
	}
	if got.Header.Attributes&protocol.AttrCompression != 0 {
		// kmsg hands a compressed batch's records over still compressed:
		// only its header is compared here; the codecs are held to
		// franz-go's own in the compression tests.
		var kb kmsg.RecordBatch
		require.NoError(t, kb.ReadFrom(b[:got.Header.Size()]), "kmsg reads the batch")
		require.Equal(t, int(kb.NumRecords), len(got.Records))
		require.Equal(t, kb.Attributes, got.Header.Attributes)
	} else {
		kb, krecs := kmsgDecode(t, b[:got.Header.Size()])
		agree(t, got, kb, krecs)
	}
	again, err := protocol.DecodeBatch(protocol.AppendBatchOf(nil, got))
	require.NoError(t, err, "re-encoded batch")
	// Non-minimal varints re-encode shorter: length and CRC may differ.
	got.Header.Length, got.Header.CRC = again.Header.Length, again.Header.CRC
	require.Equal(t, got, again)
}
