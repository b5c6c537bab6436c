package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"strings"

	"github.com/kafkasim/kafkasim/model"
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
//	attributes           int16   bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control
//	                             (kafkasim writes the codec, or 0x30 for a transaction marker)
//	lastOffsetDelta      int32   offset of the last record minus baseOffset; compaction may
//	                             remove records and keep it, so it can exceed recordCount-1
//	baseTimestamp        int64   milliseconds
//	maxTimestamp         int64   milliseconds
//	producerId           int64   -1 when the producer is not idempotent
//	producerEpoch        int16   -1 when the producer is not idempotent
//	baseSequence         int32   -1 when the producer is not idempotent
//	recordCount          int32   0 for a batch that compaction emptied
//
// then the records, compressed as one block by the batch's codec when it
// has one (Compression), and each record is Kafka's varint-framed record: length, attributes (int8,
// always 0), timestamp delta, offset delta, key, value and headers (a varint
// count, then per header a varint key length and key, a varint value length
// and value, -1 for a null value). Lengths of nullable bytes are -1 for nil.
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
	// Offset is the batch's base offset plus the record's offset delta.
	Offset int64
	// Timestamp is the batch's base timestamp plus the record's timestamp
	// delta, in milliseconds; see BatchHeader.TimestampOf for the
	// timestamp a consumer sees.
	Timestamp int64
	Key       []byte
	Value     []byte
	Headers   []RecordHeader
	// Attributes is the record's attribute byte, unused by Kafka (0).
	Attributes int8
}

// A RecordHeader is one header of a record: a key that is never null and
// a value that may be (nil).
type RecordHeader struct {
	Key   string
	Value []byte
}

// Batch attribute bits.
const (
	// AttrCompression masks the compression codec (0 none, 1 gzip,
	// 2 snappy, 3 lz4, 4 zstd): see Compression.
	AttrCompression int16 = 0x07
	// AttrLogAppendTime marks batches whose timestamps the broker set
	// (message.timestamp.type=LogAppendTime): every record's timestamp
	// is the batch's max timestamp.
	AttrLogAppendTime int16 = 0x08
	// AttrTransactional marks batches written inside a transaction.
	AttrTransactional int16 = 0x10
	// AttrControl marks control batches: one control record (a
	// transaction marker) that consumers never return as data.
	AttrControl int16 = 0x20
	// AttrDeleteHorizon marks a base timestamp that holds the delete
	// horizon the log cleaner set (KIP-534).
	AttrDeleteHorizon int16 = 0x40
)

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

// Compression returns the batch's compression codec (0 for none).
func (h BatchHeader) Compression() Compression { return Compression(h.Attributes & AttrCompression) }

// LogAppendTime reports whether the batch's timestamps are log append
// times (attribute bit 3) rather than create times.
func (h BatchHeader) LogAppendTime() bool { return h.Attributes&AttrLogAppendTime != 0 }

// IsTransactional reports whether the batch belongs to a transaction
// (attribute bit 4).
func (h BatchHeader) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }

// IsControl reports whether the batch is a control batch (attribute bit 5):
// its records are transaction markers, not data.
func (h BatchHeader) IsControl() bool { return h.Attributes&AttrControl != 0 }

// TimestampOf returns the timestamp a consumer sees for record r of the
// batch: the batch's max timestamp under LogAppendTime, the record's own
// (create) time otherwise.
func (h BatchHeader) TimestampOf(r Record) int64 {
	if h.LogAppendTime() {
		return h.MaxTimestamp
	}
	return r.Timestamp
}

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
	if h.IsControl() {
		s += " control"
	} else if h.IsTransactional() {
		s += " txn"
	}
	if h.RecordCount != h.LastOffsetDelta+1 {
		s += fmt.Sprintf(" %d records", h.RecordCount)
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
// checks that the whole batch is present. It does not check the CRC. It
// accepts every shape Kafka writes: a record count below lastOffsetDelta+1
// (compaction removed records and kept the offsets), a record count of 0
// (compaction removed them all), any attributes and timestamps.
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
	if h.LastOffsetDelta < 0 || h.RecordCount < 0 || int64(h.RecordCount) > int64(h.LastOffsetDelta)+1 {
		return h, corrupt("%d records with last offset delta %d; want 0 <= records <= last offset delta + 1", h.RecordCount, h.LastOffsetDelta)
	}
	if h.BaseOffset < 0 || h.BaseOffset > math.MaxInt64-int64(h.LastOffsetDelta)-1 {
		return h, corrupt("base offset %d with last offset delta %d is outside 0..%d", h.BaseOffset, h.LastOffsetDelta, int64(math.MaxInt64))
	}
	if c := h.Compression(); c > CompressionZstd {
		return h, corrupt("compression codec %d; accepted are 0 (none), 1 (gzip), 2 (snappy), 3 (lz4), 4 (zstd)", c)
	}
	// A record takes at least 7 bytes: length, attributes, timestamp
	// delta, offset delta, key and value lengths, header count (before
	// compression, which can pack many records into fewer bytes).
	if h.Compression() == 0 && int64(h.RecordCount)*7 > int64(h.Size()-BatchHeaderSize) {
		return h, corrupt("%d records cannot fit in %d bytes", h.RecordCount, h.Size()-BatchHeaderSize)
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
	return AppendBatchWith(dst, baseOffset, leaderEpoch, p, CompressionNone, records)
}

// AppendBatchWith is AppendBatch for a batch whose records codec c
// compresses (its attributes name the codec).
func AppendBatchWith(dst []byte, baseOffset int64, leaderEpoch int32, p Producer, c Compression, records []Record) []byte {
	if len(records) == 0 {
		panic("protocol: AppendBatch with no records")
	}
	baseTS, maxTS := records[0].Timestamp, records[0].Timestamp
	for _, r := range records {
		maxTS = max(maxTS, r.Timestamp)
	}
	return appendBatch(dst, BatchHeader{BaseOffset: baseOffset, PartitionLeaderEpoch: leaderEpoch, Attributes: int16(c) & AttrCompression,
		LastOffsetDelta: int32(len(records) - 1), BaseTimestamp: baseTS, MaxTimestamp: maxTS,
		ProducerID: p.ID, ProducerEpoch: p.Epoch, BaseSequence: p.BaseSequence}, records, true)
}

// A Batch is a whole record batch, decoded.
type Batch struct {
	Header  BatchHeader
	Records []Record
}

// AppendBatchOf encodes b at the end of dst and returns the extended slice.
// The header's base offset, partition leader epoch, attributes, last offset
// delta, timestamps and producer fields are written as given; its length,
// magic, CRC and record count are computed. Each record is written with its
// own offset and timestamp (as deltas from the header's base offset and
// base timestamp), attributes, key, value and headers. A batch Kafka's
// compaction left behind (records with gaps between their offsets, or none
// at all) encodes as it was read.
func AppendBatchOf(dst []byte, b Batch) []byte { return appendBatch(dst, b.Header, b.Records, false) }

// appendBatch encodes a batch; consecutive gives the records offset deltas
// 0, 1, 2, ... instead of their own.
func appendBatch(dst []byte, h BatchHeader, records []Record, consecutive bool) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, BatchHeaderSize)...)
	recStart := len(dst)
	for i, r := range records {
		offDelta := int64(i)
		if !consecutive {
			offDelta = r.Offset - h.BaseOffset
		}
		tsDelta := r.Timestamp - h.BaseTimestamp
		size := 1 + varintLen(tsDelta) + varintLen(offDelta) + bytesLen(r.Key) + bytesLen(r.Value) + varintLen(int64(len(r.Headers)))
		for _, hd := range r.Headers {
			size += varintLen(int64(len(hd.Key))) + len(hd.Key) + bytesLen(hd.Value)
		}
		dst = binary.AppendVarint(dst, int64(size))
		dst = append(dst, byte(r.Attributes))
		dst = binary.AppendVarint(dst, tsDelta)
		dst = binary.AppendVarint(dst, offDelta)
		dst = appendBytes(dst, r.Key)
		dst = appendBytes(dst, r.Value)
		dst = binary.AppendVarint(dst, int64(len(r.Headers)))
		for _, hd := range r.Headers {
			dst = binary.AppendVarint(dst, int64(len(hd.Key)))
			dst = append(dst, hd.Key...)
			dst = appendBytes(dst, hd.Value)
		}
	}
	if c := h.Compression(); c != CompressionNone {
		packed, err := Compress(c, dst[recStart:])
		if err != nil {
			// The codecs write to memory and fail only on a codec number
			// outside Kafka's.
			panic(fmt.Sprintf("protocol: %v", err))
		}
		dst = append(dst[:recStart], packed...)
	}
	b := dst[start:]
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(h.BaseOffset))
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-lengthFieldEnd))
	binary.BigEndian.PutUint32(b[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	b[offMagic] = Magic
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(h.Attributes))
	binary.BigEndian.PutUint32(b[offLastDelta:], uint32(h.LastOffsetDelta))
	binary.BigEndian.PutUint64(b[offBaseTimestamp:], uint64(h.BaseTimestamp))
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(h.MaxTimestamp))
	binary.BigEndian.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	binary.BigEndian.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	binary.BigEndian.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	binary.BigEndian.PutUint32(b[offRecordCount:], uint32(len(records)))
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[crcCoverageOffset:], castagnoli))
	return dst
}

func varintLen(v int64) int {
	var tmp [binary.MaxVarintLen64]byte
	return len(binary.AppendVarint(tmp[:0], v))
}

// bytesLen is the encoded size of nullable bytes.
func bytesLen(p []byte) int {
	if p == nil {
		return varintLen(-1)
	}
	return varintLen(int64(len(p))) + len(p)
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
// header is h) and calls fn for each until fn returns false; the Key, Value
// and header value slices alias b. Offset deltas must increase and stay
// within the batch's last offset delta (compaction may leave gaps). A
// compressed batch's records are decompressed first; their slices then
// alias the decompressed copy.
func DecodeRecords(b []byte, h BatchHeader, fn func(Record) bool) error {
	p := b[BatchHeaderSize:h.Size()]
	if c := h.Compression(); c != CompressionNone {
		raw, err := Decompress(c, p)
		if err != nil {
			return corrupt("batch at offset %d: %s records: %v", h.BaseOffset, c, err)
		}
		p = raw
	}
	prev := int64(-1)
	for i := int32(0); i < h.RecordCount; i++ {
		size, n := binary.Varint(p)
		if n <= 0 || size < 0 || int64(len(p)-n) < size {
			return corrupt("record %d of batch at offset %d: bad length", i, h.BaseOffset)
		}
		rec := p[n : n+int(size)]
		p = p[n+int(size):]
		r, err := decodeRecord(rec, h, prev)
		if err != nil {
			return corrupt("record %d of batch at offset %d: %v", i, h.BaseOffset, err)
		}
		prev = r.Offset - h.BaseOffset
		if !fn(r) {
			return nil
		}
	}
	if len(p) != 0 {
		return corrupt("batch at offset %d has %d trailing bytes", h.BaseOffset, len(p))
	}
	return nil
}

// decodeRecord decodes one record's bytes (after its length); prev is the
// previous record's offset delta, -1 for the first.
func decodeRecord(rec []byte, h BatchHeader, prev int64) (Record, error) {
	if len(rec) < 1 {
		return Record{}, errors.New("empty")
	}
	r := Record{Attributes: int8(rec[0])}
	rec = rec[1:]
	tsDelta, n := binary.Varint(rec)
	if n <= 0 {
		return r, errors.New("bad timestamp delta")
	}
	rec = rec[n:]
	offDelta, n := binary.Varint(rec)
	if n <= 0 {
		return r, errors.New("bad offset delta")
	}
	if offDelta <= prev || offDelta > int64(h.LastOffsetDelta) {
		return r, fmt.Errorf("offset delta %d, want above %d and at most the last offset delta %d", offDelta, prev, h.LastOffsetDelta)
	}
	rec = rec[n:]
	r.Offset, r.Timestamp = h.BaseOffset+offDelta, h.BaseTimestamp+tsDelta
	var err error
	if r.Key, rec, err = readBytes(rec); err != nil {
		return r, fmt.Errorf("key: %v", err)
	}
	if r.Value, rec, err = readBytes(rec); err != nil {
		return r, fmt.Errorf("value: %v", err)
	}
	count, n := binary.Varint(rec)
	if n <= 0 || count < 0 || count > int64(len(rec)) {
		return r, errors.New("bad header count")
	}
	rec = rec[n:]
	if count > 0 {
		r.Headers = make([]RecordHeader, count)
	}
	for j := range r.Headers {
		key, rest, err := readBytes(rec)
		if err != nil || key == nil {
			return r, fmt.Errorf("header %d: bad key (a header key is never null)", j)
		}
		value, rest, err := readBytes(rest)
		if err != nil {
			return r, fmt.Errorf("header %d value: %v", j, err)
		}
		r.Headers[j], rec = RecordHeader{Key: string(key), Value: value}, rest
	}
	if len(rec) != 0 {
		return r, fmt.Errorf("%d bytes after the headers", len(rec))
	}
	return r, nil
}

func readBytes(p []byte) ([]byte, []byte, error) {
	l, n := binary.Varint(p)
	if n <= 0 || l < -1 {
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

// ModelHeaders returns a record's headers as the history records them,
// copied (the record's slices alias a batch); nil when there are none.
func ModelHeaders(hs []RecordHeader) []model.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]model.RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = model.RecordHeader{Key: h.Key}
		if h.Value != nil {
			out[i].Value = append(model.Bytes{}, h.Value...)
		}
	}
	return out
}

// RecordHeaders returns headers from the history's form, for encoding.
func RecordHeaders(hs []model.RecordHeader) []RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = RecordHeader{Key: h.Key, Value: h.Value}
	}
	return out
}

// DecodeBatch decodes the whole batch at the start of b: its header (whose
// CRC it checks) and all its records, whose slices alias b. In a control
// batch every record's key must be a control record key.
func DecodeBatch(b []byte) (Batch, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return Batch{}, err
	}
	if err := VerifyCRC(b, h); err != nil {
		return Batch{}, err
	}
	// The record count is the batch's claim, not a promise: a corrupt or
	// hostile count must not size an allocation.
	out := Batch{Header: h, Records: make([]Record, 0, min(max(int(h.RecordCount), 0), 1024))}
	err = DecodeRecords(b, h, func(r Record) bool {
		out.Records = append(out.Records, r)
		return true
	})
	if err != nil {
		return Batch{}, err
	}
	if h.IsControl() {
		for _, r := range out.Records {
			if _, err := DecodeControlRecordKey(r.Key); err != nil {
				return Batch{}, corrupt("control batch at offset %d: %v", h.BaseOffset, err)
			}
		}
	}
	return out, nil
}

// A ControlType is the type of a control record (Kafka's ControlRecordType).
type ControlType int16

// Control record types of transaction markers.
const (
	ControlAbort  ControlType = 0
	ControlCommit ControlType = 1
)

func (t ControlType) String() string {
	switch t {
	case ControlAbort:
		return "ABORT"
	case ControlCommit:
		return "COMMIT"
	}
	return fmt.Sprintf("UNKNOWN(%d)", int16(t))
}

// A ControlRecordKey is the key of a control record: a version (0) and a
// type.
type ControlRecordKey struct {
	Version int16
	Type    ControlType
}

// ControlRecordKeySize is the size of an encoded control record key.
const ControlRecordKeySize = 4

// DecodeControlRecordKey decodes a control record's key: int16 version,
// int16 type. A key longer than 4 bytes (a later version) is accepted;
// its first 4 bytes are read.
func DecodeControlRecordKey(key []byte) (ControlRecordKey, error) {
	if len(key) < ControlRecordKeySize {
		return ControlRecordKey{}, fmt.Errorf("control record key of %d bytes, want at least %d (int16 version, int16 type)", len(key), ControlRecordKeySize)
	}
	return ControlRecordKey{Version: int16(binary.BigEndian.Uint16(key)), Type: ControlType(binary.BigEndian.Uint16(key[2:]))}, nil
}

// AppendTo appends the key's encoding to dst.
func (k ControlRecordKey) AppendTo(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(k.Version))
	return binary.BigEndian.AppendUint16(dst, uint16(k.Type))
}

// An EndTxnMarker is the value of a transaction marker: a version (0) and
// the epoch of the transaction coordinator that wrote it.
type EndTxnMarker struct {
	Version          int16
	CoordinatorEpoch int32
}

// DecodeEndTxnMarker decodes a transaction marker's value: int16 version,
// int32 coordinator epoch.
func DecodeEndTxnMarker(value []byte) (EndTxnMarker, error) {
	if len(value) < 6 {
		return EndTxnMarker{}, fmt.Errorf("transaction marker value of %d bytes, want at least 6 (int16 version, int32 coordinator epoch)", len(value))
	}
	return EndTxnMarker{Version: int16(binary.BigEndian.Uint16(value)), CoordinatorEpoch: int32(binary.BigEndian.Uint32(value[2:]))}, nil
}

// AppendTo appends the marker's encoding to dst.
func (m EndTxnMarker) AppendTo(dst []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(m.Version))
	return binary.BigEndian.AppendUint32(dst, uint32(m.CoordinatorEpoch))
}

// AppendControlBatch encodes a transaction marker batch (attributes 0x30:
// transactional and control) of producer p at the end of dst: one record
// whose key is the control record key of type t and whose value is the
// marker with the coordinator's epoch.
func AppendControlBatch(dst []byte, baseOffset int64, leaderEpoch int32, p Producer, ts int64, t ControlType, coordinatorEpoch int32) []byte {
	r := Record{Offset: baseOffset, Timestamp: ts, Key: ControlRecordKey{Type: t}.AppendTo(nil),
		Value: EndTxnMarker{CoordinatorEpoch: coordinatorEpoch}.AppendTo(nil)}
	return AppendBatchOf(dst, Batch{Header: BatchHeader{BaseOffset: baseOffset, PartitionLeaderEpoch: leaderEpoch,
		Attributes: AttrTransactional | AttrControl, BaseTimestamp: ts, MaxTimestamp: ts,
		ProducerID: p.ID, ProducerEpoch: p.Epoch, BaseSequence: p.BaseSequence}, Records: []Record{r}})
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
