package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
)

// Records are zero or more record batches back to back, in Kafka's record
// batch format (magic 2), exactly as a Produce request carries them, a
// partition log stores them and a Fetch response returns them. Brokers never
// re-encode records: the leader stamps the base offset and the partition
// leader epoch into the header, which the CRC deliberately does not cover.
//
// A batch is a 61-byte header followed by its records:
//
//	baseOffset           int64   first offset of the batch
//	batchLength          int32   bytes after this field
//	partitionLeaderEpoch int32   epoch of the leader that appended the batch
//	magic                int8    2
//	crc                  uint32  CRC-32C of everything from attributes to the end
//	attributes           int16   0 (no compression, create time, not transactional)
//	lastOffsetDelta      int32   offset of the last record minus baseOffset
//	baseTimestamp        int64   milliseconds
//	maxTimestamp         int64   milliseconds
//	producerId           int64   -1 when the producer is not idempotent
//	producerEpoch        int16   -1 when the producer is not idempotent
//	baseSequence         int32   -1 when the producer is not idempotent
//	recordCount          int32
//
// and each record is Kafka's varint-framed record: length, attributes,
// timestamp delta, offset delta, key, value and an empty header list.
type Records []byte

// Batch format constants.
const (
	BatchHeaderSize = 61
	Magic           = 2

	// NoProducerID, NoProducerEpoch and NoSequence mark a batch of a
	// producer that is not idempotent.
	NoProducerID    int64 = -1
	NoProducerEpoch int16 = -1
	NoSequence      int32 = -1

	// NoPartitionLeaderEpoch is the epoch of a batch that no leader has
	// stamped yet (as a producer sends it).
	NoPartitionLeaderEpoch int32 = -1
)

// Header field offsets.
const (
	offBaseOffset     = 0
	offLength         = 8
	offLeaderEpoch    = 12
	offMagic          = 16
	offCRC            = 17
	offAttributes     = 21
	offLastDelta      = 23
	offBaseTimestamp  = 27
	offMaxTimestamp   = 35
	offProducerID     = 43
	offProducerEpoch  = 51
	offBaseSequence   = 53
	offRecordCount    = 57
	lengthFieldEnd    = 12 // batchLength counts the bytes after this offset
	crcCoverageOffset = offAttributes
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A Record is one record of a batch, decoded.
type Record struct {
	Offset    int64
	Timestamp int64 // milliseconds
	Key       []byte
	Value     []byte
}

// A BatchHeader is a batch's header, decoded.
type BatchHeader struct {
	BaseOffset           int64
	Length               int32 // bytes after the length field
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size returns the batch's total size in bytes.
func (h BatchHeader) Size() int { return lengthFieldEnd + int(h.Length) }

// LastOffset returns the offset of the batch's last record.
func (h BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset returns the offset after the batch's last record.
func (h BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// LastSequence returns the sequence number of the batch's last record, or
// NoSequence when the batch has none.
func (h BatchHeader) LastSequence() int32 {
	if h.BaseSequence == NoSequence {
		return NoSequence
	}
	return incSequence(h.BaseSequence, h.LastOffsetDelta)
}

// HasProducer reports whether the batch comes from an idempotent producer.
func (h BatchHeader) HasProducer() bool { return h.ProducerID != NoProducerID }

func (h BatchHeader) String() string {
	s := fmt.Sprintf("[%d..%d]@e%d", h.BaseOffset, h.LastOffset(), h.PartitionLeaderEpoch)
	if h.HasProducer() {
		s += fmt.Sprintf(" pid %d/%d seq %d", h.ProducerID, h.ProducerEpoch, h.BaseSequence)
	}
	return s
}

// incSequence adds delta to a sequence number, wrapping from MaxInt32 to 0
// as Kafka's sequences do.
func incSequence(seq, delta int32) int32 {
	v := int64(seq) + int64(delta)
	if v > 1<<31-1 {
		v -= 1 << 31
	}
	return int32(v)
}

// IncSequence adds delta to a sequence number with Kafka's wrap-around.
func IncSequence(seq, delta int32) int32 { return incSequence(seq, delta) }

// ErrCorrupt is wrapped by every batch decoding error.
var ErrCorrupt = errors.New("corrupt record batch")

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// ParseBatchHeader decodes the header of the batch at the start of b and
// checks that the whole batch is present. It does not check the CRC.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, corrupt("%d bytes left, a batch header needs %d", len(b), BatchHeaderSize)
	}
	h := BatchHeader{
		BaseOffset:           int64(binary.BigEndian.Uint64(b[offBaseOffset:])),
		Length:               int32(binary.BigEndian.Uint32(b[offLength:])),
		PartitionLeaderEpoch: int32(binary.BigEndian.Uint32(b[offLeaderEpoch:])),
		Magic:                int8(b[offMagic]),
		CRC:                  binary.BigEndian.Uint32(b[offCRC:]),
		Attributes:           int16(binary.BigEndian.Uint16(b[offAttributes:])),
		LastOffsetDelta:      int32(binary.BigEndian.Uint32(b[offLastDelta:])),
		BaseTimestamp:        int64(binary.BigEndian.Uint64(b[offBaseTimestamp:])),
		MaxTimestamp:         int64(binary.BigEndian.Uint64(b[offMaxTimestamp:])),
		ProducerID:           int64(binary.BigEndian.Uint64(b[offProducerID:])),
		ProducerEpoch:        int16(binary.BigEndian.Uint16(b[offProducerEpoch:])),
		BaseSequence:         int32(binary.BigEndian.Uint32(b[offBaseSequence:])),
		RecordCount:          int32(binary.BigEndian.Uint32(b[offRecordCount:])),
	}
	if h.Magic != Magic {
		return h, corrupt("magic %d, want %d", h.Magic, Magic)
	}
	if int(h.Length) < BatchHeaderSize-lengthFieldEnd {
		return h, corrupt("batch length %d is below the header's %d bytes", h.Length, BatchHeaderSize-lengthFieldEnd)
	}
	if h.Size() > len(b) {
		return h, corrupt("batch of %d bytes, only %d present", h.Size(), len(b))
	}
	if h.RecordCount <= 0 || h.LastOffsetDelta != h.RecordCount-1 {
		return h, corrupt("%d records with last offset delta %d", h.RecordCount, h.LastOffsetDelta)
	}
	return h, nil
}

// VerifyCRC checks the CRC of the batch at the start of b, whose header is h.
func VerifyCRC(b []byte, h BatchHeader) error {
	if got := crc32.Checksum(b[crcCoverageOffset:h.Size()], castagnoli); got != h.CRC {
		return corrupt("CRC %08x, computed %08x", h.CRC, got)
	}
	return nil
}

// SetBaseOffset stamps the base offset of the batch at the start of b.
func SetBaseOffset(b []byte, off int64) { binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off)) }

// SetPartitionLeaderEpoch stamps the leader epoch of the batch at the start of b.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(epoch))
}

// A Producer identifies the idempotent producer of a batch and its place
// in the producer's sequence.
type Producer struct {
	ID           int64
	Epoch        int16
	BaseSequence int32
}

// NoProducer is the Producer of a batch from a producer that is not idempotent.
var NoProducer = Producer{ID: NoProducerID, Epoch: NoProducerEpoch, BaseSequence: NoSequence}

// AppendBatch encodes a batch of records at the end of dst and returns the
// extended slice. Offsets are relative: the batch's base offset is baseOffset
// and its records take consecutive offsets; leaderEpoch is usually
// NoPartitionLeaderEpoch (the leader stamps it). Each record's Offset field
// is ignored. A batch needs at least one record.
func AppendBatch(dst []byte, baseOffset int64, leaderEpoch int32, p Producer, records []Record) []byte {
	if len(records) == 0 {
		panic("protocol: AppendBatch with no records")
	}
	start := len(dst)
	dst = append(dst, make([]byte, BatchHeaderSize)...)
	baseTS, maxTS := records[0].Timestamp, records[0].Timestamp
	for _, r := range records {
		maxTS = max(maxTS, r.Timestamp)
	}
	var tmp [5 * binary.MaxVarintLen64]byte
	for i, r := range records {
		body := tmp[:0]
		body = append(body, 0) // attributes
		body = binary.AppendVarint(body, r.Timestamp-baseTS)
		body = binary.AppendVarint(body, int64(i))
		size := len(body) + varintLen(int64(len(r.Key))) + len(r.Key) + varintLen(int64(len(r.Value))) + len(r.Value) + 1
		dst = binary.AppendVarint(dst, int64(size))
		dst = append(dst, body...)
		dst = appendBytes(dst, r.Key)
		dst = appendBytes(dst, r.Value)
		dst = binary.AppendVarint(dst, 0) // no headers
	}
	b := dst[start:]
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(baseOffset))
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-lengthFieldEnd))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(leaderEpoch))
	b[offMagic] = Magic
	binary.BigEndian.PutUint16(b[offAttributes:], 0)
	binary.BigEndian.PutUint32(b[offLastDelta:], uint32(len(records)-1))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(baseTS))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(maxTS))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(p.ID))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(p.Epoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(p.BaseSequence))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(len(records)))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[crcCoverageOffset:], castagnoli))
	return dst
}

func varintLen(v int64) int {
	var tmp [binary.MaxVarintLen64]byte
	return len(binary.AppendVarint(tmp[:0], v))
}

// appendBytes appends a varint length and the bytes; nil is length -1.
func appendBytes(dst, p []byte) []byte {
	if p == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(p)))
	return append(dst, p...)
}

// DecodeRecords decodes the records of the batch at the start of b (whose
// header is h) and calls fn for each; the Key and Value slices alias b.
func DecodeRecords(b []byte, h BatchHeader, fn func(Record) bool) error {
	p := b[BatchHeaderSize:h.Size()]
	for i := int32(0); i < h.RecordCount; i++ {
		size, n := binary.Varint(p)
		if n <= 0 || size < 0 || int64(len(p)-n) < size {
			return corrupt("record %d of batch at offset %d: bad length", i, h.BaseOffset)
		}
		rec := p[n : n+int(size)]
		p = p[n+int(size):]
		if len(rec) < 1 {
			return corrupt("record %d of batch at offset %d: empty", i, h.BaseOffset)
		}
		rec = rec[1:] // attributes
		tsDelta, n := binary.Varint(rec)
		if n <= 0 {
			return corrupt("record %d: bad timestamp", i)
		}
		rec = rec[n:]
		offDelta, n := binary.Varint(rec)
		if n <= 0 {
			return corrupt("record %d: bad offset delta", i)
		}
		rec = rec[n:]
		key, rest, err := readBytes(rec)
		if err != nil {
			return corrupt("record %d key: %v", i, err)
		}
		value, _, err := readBytes(rest)
		if err != nil {
			return corrupt("record %d value: %v", i, err)
		}
		if !fn(Record{Offset: h.BaseOffset + offDelta, Timestamp: h.BaseTimestamp + tsDelta, Key: key, Value: value}) {
			return nil
		}
	}
	if len(p) != 0 {
		return corrupt("batch at offset %d has %d trailing bytes", h.BaseOffset, len(p))
	}
	return nil
}

func readBytes(p []byte) ([]byte, []byte, error) {
	l, n := binary.Varint(p)
	if n <= 0 {
		return nil, nil, errors.New("bad length")
	}
	p = p[n:]
	if l < 0 {
		return nil, p, nil
	}
	if int64(len(p)) < l {
		return nil, nil, errors.New("truncated")
	}
	return p[:l:l], p[l:], nil
}

// Batches calls fn for every batch in r, in order, with its header and its
// bytes, and stops early when fn returns false. A malformed batch stops the
// walk with an error; the CRC is not checked.
func (r Records) Batches(fn func(h BatchHeader, b []byte) bool) error {
	b := []byte(r)
	for len(b) > 0 {
		h, err := ParseBatchHeader(b)
		if err != nil {
			return err
		}
		if !fn(h, b[:h.Size()]) {
			return nil
		}
		b = b[h.Size():]
	}
	return nil
}

// Digest summarises the records for the trace hash: each batch's base
// offset, epoch and CRC, which together pin its content.
func (r Records) Digest() uint64 {
	h := uint64(len(r))
	_ = r.Batches(func(bh BatchHeader, _ []byte) bool {
		h = h*0x100000001b3 ^ uint64(bh.BaseOffset)
		h = h*0x100000001b3 ^ uint64(uint32(bh.PartitionLeaderEpoch))
		h = h*0x100000001b3 ^ uint64(bh.CRC)
		return true
	})
	return h
}

// Count returns the number of records in r (0 if r is malformed).
func (r Records) Count() int {
	n := 0
	_ = r.Batches(func(h BatchHeader, _ []byte) bool { n += int(h.RecordCount); return true })
	return n
}

func (r Records) String() string {
	if len(r) == 0 {
		return "[]"
	}
	var parts []string
	err := r.Batches(func(h BatchHeader, _ []byte) bool {
		parts = append(parts, h.String())
		return true
	})
	if err != nil {
		parts = append(parts, "!"+err.Error())
	}
	return strings.Join(parts, " ")
}

// NewRecords encodes one batch of values (no keys, timestamp ts) from a
// producer, ready for a Produce request. It is a convenience for tests and
// simple clients.
func NewRecords(p Producer, ts int64, values ...string) Records {
	recs := make([]Record, len(values))
	for i, v := range values {
		recs[i] = Record{Timestamp: ts, Value: []byte(v)}
	}
	return AppendBatch(nil, 0, NoPartitionLeaderEpoch, p, recs)
}
