package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// A Compression is a record batch's codec: the attribute bits 0-2 of its
// header, with Kafka's values. The records section of a compressed batch
// (everything after the 61-byte header) is the codec's encoding of the
// records as an uncompressed batch would hold them; the header, record
// count included, stays uncompressed.
type Compression int16

// The codecs.
const (
	CompressionNone   Compression = 0
	CompressionGzip   Compression = 1
	CompressionSnappy Compression = 2
	CompressionLZ4    Compression = 3
	CompressionZstd   Compression = 4
)

var compressionNames = [...]string{"none", "gzip", "snappy", "lz4", "zstd"}

func (c Compression) String() string {
	if c >= 0 && int(c) < len(compressionNames) {
		return compressionNames[c]
	}
	return fmt.Sprintf("compression(%d)", int16(c))
}

// ParseCompression reads a producer's compression.type: none, gzip,
// snappy, lz4 or zstd.
func ParseCompression(name string) (Compression, error) {
	for i, n := range compressionNames {
		if n == name {
			return Compression(i), nil
		}
	}
	return CompressionNone, fmt.Errorf("compression type %q: accepted are %s", name, strings.Join(compressionNames[:], ", "))
}

// TopicCompression reads a topic's compression.type: producer (keep the
// producer's codec: ok is false), uncompressed, or a codec.
func TopicCompression(name string) (c Compression, ok bool, err error) {
	switch name {
	case "producer", "":
		return CompressionNone, false, nil
	case "uncompressed":
		return CompressionNone, true, nil
	case "none":
		return CompressionNone, false, fmt.Errorf("topic compression type %q: accepted are uncompressed, zstd, lz4, snappy, gzip, producer", name)
	}
	c, err = ParseCompression(name)
	return c, err == nil, err
}

// xerialHeader starts a snappy stream in snappy-java's framing, which
// Kafka's Java clients write: a magic, then version 1 and the oldest
// compatible version 1, as big-endian int32s.
var xerialHeader = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1}

// xerialBlock is snappy-java's default block size.
const xerialBlock = 32 << 10

// The zstd codec's encoder and decoder: stateless between calls
// (EncodeAll and DecodeAll), so one of each serves every simulation.
var (
	zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	zstdDecoder, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecompressed))
)

// Compress encodes raw with codec c, in the framing Kafka's Java
// producer writes: a gzip stream; snappy-java's framed stream (blocks of
// 32 KiB, each a big-endian length and a raw snappy block); an LZ4 frame
// with 64 KiB independent blocks and no checksums (Kafka's
// KafkaLZ4BlockOutputStream); a zstd frame.
func Compress(c Compression, raw []byte) ([]byte, error) {
	switch c {
	case CompressionNone:
		return raw, nil
	case CompressionGzip:
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		if _, err := w.Write(raw); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case CompressionSnappy:
		out := append([]byte(nil), xerialHeader...)
		for len(raw) > 0 {
			n := min(len(raw), xerialBlock)
			block := snappy.Encode(nil, raw[:n])
			out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
			out = append(out, block...)
			raw = raw[n:]
		}
		return out, nil
	case CompressionLZ4:
		var b bytes.Buffer
		w := lz4.NewWriter(&b)
		if err := w.Apply(lz4.BlockSizeOption(lz4.Block64Kb), lz4.ChecksumOption(false), lz4.BlockChecksumOption(false),
			lz4.ConcurrencyOption(1)); err != nil {
			return nil, err
		}
		if _, err := w.Write(raw); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	case CompressionZstd:
		return zstdEncoder.EncodeAll(raw, nil), nil
	}
	return nil, fmt.Errorf("compression codec %d: accepted are 0 (none), 1 (gzip), 2 (snappy), 3 (lz4), 4 (zstd)", int16(c))
}

// maxDecompressed bounds a batch's decompressed records, against a
// corrupt or hostile length.
const maxDecompressed = 64 << 20

// Decompress decodes a compressed records section. Snappy is read in
// snappy-java's framing or as one raw snappy block (as other clients
// write it).
func Decompress(c Compression, data []byte) ([]byte, error) {
	switch c {
	case CompressionNone:
		return data, nil
	case CompressionGzip:
		r, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return readBounded(r)
	case CompressionSnappy:
		if !bytes.HasPrefix(data, xerialHeader[:8]) {
			return snappy.Decode(nil, data)
		}
		if len(data) < len(xerialHeader) {
			return nil, fmt.Errorf("snappy stream of %d bytes: the framing header needs %d", len(data), len(xerialHeader))
		}
		var out []byte
		for p := data[len(xerialHeader):]; len(p) > 0; {
			if len(p) < 4 {
				return nil, fmt.Errorf("snappy block length cut short")
			}
			n := int(binary.BigEndian.Uint32(p))
			if n > len(p)-4 {
				return nil, fmt.Errorf("snappy block of %d bytes, %d present", n, len(p)-4)
			}
			block, err := snappy.Decode(nil, p[4:4+n])
			if err != nil {
				return nil, err
			}
			if out = append(out, block...); len(out) > maxDecompressed {
				return nil, fmt.Errorf("decompressed records exceed %d bytes", maxDecompressed)
			}
			p = p[4+n:]
		}
		return out, nil
	case CompressionLZ4:
		return readBounded(lz4.NewReader(bytes.NewReader(data)))
	case CompressionZstd:
		return zstdDecoder.DecodeAll(data, nil)
	}
	return nil, fmt.Errorf("compression codec %d: accepted are 0 (none), 1 (gzip), 2 (snappy), 3 (lz4), 4 (zstd)", int16(c))
}

func readBounded(r io.Reader) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, maxDecompressed+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("decompressed records exceed %d bytes", maxDecompressed)
	}
	return out, nil
}

// Recompress returns the records with every data batch whose codec is
// not c rebuilt with c, as a leader does when its topic's
// compression.type names a codec other than the producer's: offsets,
// timestamps, producer id, epoch and sequence stay, the attributes name
// the new codec, and the CRC is computed afresh. Control batches are
// never compressed. Records that need no change come back as given.
func Recompress(r Records, c Compression) (Records, error) {
	need := false
	err := r.Batches(func(h BatchHeader, _ []byte) bool {
		need = need || (!h.IsControl() && h.Compression() != c)
		return !need
	})
	if err != nil || !need {
		return r, err
	}
	out := make([]byte, 0, len(r))
	var derr error
	err = r.Batches(func(h BatchHeader, b []byte) bool {
		if h.IsControl() || h.Compression() == c {
			out = append(out, b...)
			return true
		}
		batch, err := DecodeBatch(b)
		if err != nil {
			derr = err
			return false
		}
		batch.Header.Attributes = batch.Header.Attributes&^AttrCompression | int16(c)
		out = AppendBatchOf(out, batch)
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, err
	}
	return Records(out), nil
}
