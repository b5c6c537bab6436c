package protocol_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// franz-go's kgo compresses and decompresses record batches on its own
// (gzip, raw or xerial-framed snappy, LZ4 frames, zstd): these tests hold
// kafkasim's compressed batches against it both ways.

var codecs = []protocol.Compression{protocol.CompressionGzip, protocol.CompressionSnappy, protocol.CompressionLZ4, protocol.CompressionZstd}

func kgoCodec(c protocol.Compression) kgo.CompressionCodec {
	switch c {
	case protocol.CompressionGzip:
		return kgo.GzipCompression()
	case protocol.CompressionSnappy:
		return kgo.SnappyCompression()
	case protocol.CompressionLZ4:
		return kgo.Lz4Compression()
	case protocol.CompressionZstd:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
}

// genDataBatch draws a batch with records (no control batch, as Kafka
// never compresses those) and a codec.
func genDataBatch(t *rapid.T) (protocol.Batch, protocol.Compression) {
	b := genBatch(t)
	for b.Header.IsControl() || len(b.Records) == 0 {
		b = genBatch(t)
	}
	c := rapid.SampledFrom(codecs).Draw(t, "codec")
	b.Header.Attributes |= int16(c)
	return b, c
}

// records parses an uncompressed records section with kmsg.
func kmsgRecords(t require.TestingT, p []byte, n int32) []kmsg.Record {
	var recs []kmsg.Record
	for range n {
		l, k := binary.Varint(p)
		require.Greater(t, k, 0)
		var kr kmsg.Record
		require.NoError(t, kr.ReadFrom(p[:k+int(l)]))
		recs = append(recs, kr)
		p = p[k+int(l):]
	}
	require.Empty(t, p, "bytes after the last record")
	return recs
}

// kafkasim compresses, franz-go decompresses: the header names the codec,
// the CRC covers the compressed bytes, and the records (headers included)
// are the ones sent.
func TestCompressedBatchesFranzReadsOurs(t *testing.T) {
	dec := kgo.DefaultDecompressor()
	rapid.Check(t, func(t *rapid.T) {
		want, c := genDataBatch(t)
		b := protocol.AppendBatchOf(nil, want)
		got, err := protocol.DecodeBatch(b)
		require.NoError(t, err)
		require.Equal(t, c, got.Header.Compression())
		var kb kmsg.RecordBatch
		require.NoError(t, kb.ReadFrom(b))
		require.Equal(t, int16(c), kb.Attributes&0x07, "codec bits")
		require.Equal(t, uint32(kb.CRC), crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)), "CRC")
		raw, err := dec.Decompress(kb.Records, kgo.CompressionCodecType(c))
		require.NoError(t, err, "franz-go decompresses %s", c)
		kb.Records = raw
		agree(t, got, kb, kmsgRecords(t, raw, kb.NumRecords))
	})
}

// franz-go compresses, kafkasim decompresses.
func TestCompressedBatchesWeReadFranzs(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want, c := genDataBatch(t)
		plain := want
		plain.Header.Attributes &^= protocol.AttrCompression
		raw := protocol.AppendBatchOf(nil, plain)[protocol.BatchHeaderSize:]
		comp, err := kgo.DefaultCompressor(kgoCodec(c))
		require.NoError(t, err)
		packed, typ := comp.Compress(new(bytes.Buffer), raw)
		require.Equal(t, kgo.CompressionCodecType(c), typ)
		h := want.Header
		kb := kmsg.RecordBatch{FirstOffset: h.BaseOffset, PartitionLeaderEpoch: h.PartitionLeaderEpoch, Magic: 2, Attributes: h.Attributes,
			LastOffsetDelta: h.LastOffsetDelta, FirstTimestamp: h.BaseTimestamp, MaxTimestamp: h.MaxTimestamp, ProducerID: h.ProducerID,
			ProducerEpoch: h.ProducerEpoch, FirstSequence: h.BaseSequence, NumRecords: int32(len(want.Records)), Records: packed,
			Length: int32(49 + len(packed))}
		b := kb.AppendTo(nil)
		binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
		got, err := protocol.DecodeBatch(b)
		require.NoError(t, err, "kafkasim reads franz-go's %s", c)
		require.Equal(t, c, got.Header.Compression())
		require.Equal(t, want.Records, got.Records)
	})
}

// Recompress rebuilds batches with another codec (or none) and keeps
// everything else: offsets, timestamps, the producer's id, epoch and
// sequence, headers.
func TestRecompress(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		want, _ := genDataBatch(t)
		to := rapid.SampledFrom(append([]protocol.Compression{protocol.CompressionNone}, codecs...)).Draw(t, "to")
		r := protocol.Records(protocol.AppendBatchOf(nil, want))
		out, err := protocol.Recompress(r, to)
		require.NoError(t, err)
		got, err := protocol.DecodeBatch(out)
		require.NoError(t, err)
		require.Equal(t, to, got.Header.Compression())
		require.Equal(t, want.Records, got.Records)
		h, w := got.Header, want.Header
		require.Equal(t, []any{w.BaseOffset, w.LastOffsetDelta, w.BaseTimestamp, w.MaxTimestamp, w.ProducerID, w.ProducerEpoch, w.BaseSequence,
			w.Attributes &^ protocol.AttrCompression}, []any{h.BaseOffset, h.LastOffsetDelta, h.BaseTimestamp, h.MaxTimestamp, h.ProducerID,
			h.ProducerEpoch, h.BaseSequence, h.Attributes &^ protocol.AttrCompression})
	})
	r := protocol.NewRecords(protocol.NoProducer, 0, "a", "b")
	same, err := protocol.Recompress(r, protocol.CompressionNone)
	require.NoError(t, err)
	assert.Equal(t, &r[0], &same[0], "records already in the codec come back as given")
}

// A compressible batch is smaller compressed, whichever codec: the size
// the network's bandwidth and the disk see.
func TestCompressionShrinksBatches(t *testing.T) {
	var recs []protocol.Record
	for i := range 200 {
		recs = append(recs, protocol.Record{Timestamp: 1000, Key: []byte(fmt.Sprintf("key-%d", i%10)),
			Value: []byte(strings.Repeat("order placed for customer ", 4))})
	}
	plain := protocol.AppendBatch(nil, 0, -1, protocol.NoProducer, recs)
	for _, c := range codecs {
		b := protocol.AppendBatchWith(nil, 0, -1, protocol.NoProducer, c, recs)
		assert.Less(t, len(b), len(plain)/3, "%s: %d bytes, uncompressed %d", c, len(b), len(plain))
		got, err := protocol.DecodeBatch(b)
		require.NoError(t, err)
		assert.Len(t, got.Records, 200)
	}
}

func TestParseCompression(t *testing.T) {
	c, err := protocol.ParseCompression("lz4")
	require.NoError(t, err)
	assert.Equal(t, protocol.CompressionLZ4, c)
	_, err = protocol.ParseCompression("brotli")
	assert.EqualError(t, err, `compression type "brotli": accepted are none, gzip, snappy, lz4, zstd`)
	_, ok, err := protocol.TopicCompression("producer")
	assert.False(t, ok)
	require.NoError(t, err)
	c, ok, err = protocol.TopicCompression("uncompressed")
	assert.True(t, ok)
	assert.Equal(t, protocol.CompressionNone, c)
	require.NoError(t, err)
	_, _, err = protocol.TopicCompression("none")
	assert.Error(t, err)
	b := protocol.AppendBatch(nil, 0, -1, protocol.NoProducer, []protocol.Record{{Value: []byte("x")}})
	b[22] |= 0x07 // codec 7
	_, err = protocol.ParseBatchHeader(b)
	assert.ErrorContains(t, err, "compression codec 7; accepted are 0 (none), 1 (gzip), 2 (snappy), 3 (lz4), 4 (zstd)")
}
