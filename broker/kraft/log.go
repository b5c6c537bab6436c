package kraft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"sort"
	"strings"

	"github.com/kafkasim/kafkasim/sim"
)

// A Batch is one record batch of the metadata log: records written by one
// leader in one epoch, at consecutive offsets from BaseOffset. A control
// batch holds KRaft's LeaderChange record instead of data records. Batches
// are shared by the logs and messages that hold them: never change one.
type Batch struct {
	BaseOffset int64
	Epoch      int32
	// Records are the opaque payloads of a data batch; nil for a control
	// batch.
	Records [][]byte
	// LeaderChange is set for the control batch a leader writes at the
	// start of its epoch; it counts as one record.
	LeaderChange *LeaderChange

	digest uint64
	size   int
}

// LeaderChange is KRaft's LeaderChangeMessage control record: who leads the
// epoch, the voters, and the voters that granted the leader its election.
type LeaderChange struct {
	LeaderID       int32
	Voters         []int32
	GrantingVoters []int32
}

// Len returns the number of records (offsets) the batch holds.
func (b *Batch) Len() int {
	if b.LeaderChange != nil {
		return 1
	}
	return len(b.Records)
}

// LastOffset returns the offset of the batch's last record.
func (b *Batch) LastOffset() int64 { return b.BaseOffset + int64(b.Len()) - 1 }

// EndOffset returns the offset after the batch's last record.
func (b *Batch) EndOffset() int64 { return b.BaseOffset + int64(b.Len()) }

// Control reports whether the batch is a control batch.
func (b *Batch) Control() bool { return b.LeaderChange != nil }

// Digest summarises the batch (offsets, epoch and record content).
func (b *Batch) Digest() uint64 { return b.digest }

// Size returns the batch's size in bytes as the log stores it.
func (b *Batch) Size() int { return b.size }

// String formats the Batch for traces and scripts.
func (b *Batch) String() string {
	if b.LeaderChange != nil {
		return fmt.Sprintf("%d@e%d LeaderChange{leader=%d voters=%v granting=%v}", b.BaseOffset, b.Epoch, b.LeaderChange.LeaderID, b.LeaderChange.Voters, b.LeaderChange.GrantingVoters)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "[%d,%d]@e%d", b.BaseOffset, b.LastOffset(), b.Epoch)
	for i, r := range b.Records {
		if i == 4 {
			fmt.Fprintf(&s, " …(%d more)", len(b.Records)-4)
			break
		}
		fmt.Fprintf(&s, " %q", r)
	}
	return s.String()
}

// finish computes the batch's digest and size once it is complete.
func (b *Batch) finish() *Batch {
	h := hashBytes(fnvBasis, nil)
	size := batchHeaderSize
	if lc := b.LeaderChange; lc != nil {
		p := encodeLeaderChange(lc)
		h = hashBytes(h, p)
		size += 4 + len(p)
	}
	for _, r := range b.Records {
		h = hashBytes(h, r)
		h = hashWord(h, uint64(len(r)))
		size += 4 + len(r)
	}
	b.digest = sim.Digest(uint64(b.BaseOffset), uint64(b.Epoch), uint64(b.Len()), h)
	b.size = size
	return b
}

const (
	fnvBasis = 0xcbf29ce484222325
	fnvPrime = 0x100000001b3
)

func hashBytes(h uint64, p []byte) uint64 {
	for _, c := range p {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashWord(h, w uint64) uint64 {
	h ^= w
	h *= fnvPrime
	return h
}

// The on-disk batch format, a reduced form of Kafka's record batch v2:
//
//	baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 |
//	magic int8 (2) | crc uint32 (CRC-32C of the rest) | attributes int16 |
//	lastOffsetDelta int32 | recordCount int32 | records
//
// and every record is a length (int32) followed by its bytes. A control
// batch (attribute bit 5) holds one record: control type 3 (LEADER_CHANGE,
// int16) followed by the LeaderChange fields.
const (
	batchHeaderSize  = 31
	magic            = 2
	controlAttribute = 1 << 5
	leaderChangeType = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func encodeLeaderChange(lc *LeaderChange) []byte {
	p := make([]byte, 0, 2+4+4+4*len(lc.Voters)+4+4*len(lc.GrantingVoters))
	p = binary.BigEndian.AppendUint16(p, leaderChangeType)
	p = binary.BigEndian.AppendUint32(p, uint32(lc.LeaderID))
	p = binary.BigEndian.AppendUint32(p, uint32(len(lc.Voters)))
	for _, v := range lc.Voters {
		p = binary.BigEndian.AppendUint32(p, uint32(v))
	}
	p = binary.BigEndian.AppendUint32(p, uint32(len(lc.GrantingVoters)))
	for _, v := range lc.GrantingVoters {
		p = binary.BigEndian.AppendUint32(p, uint32(v))
	}
	return p
}

func decodeLeaderChange(p []byte) (*LeaderChange, error) {
	bad := errors.New("malformed LeaderChange control record")
	if len(p) < 10 || binary.BigEndian.Uint16(p) != leaderChangeType {
		return nil, bad
	}
	lc := &LeaderChange{LeaderID: int32(binary.BigEndian.Uint32(p[2:]))}
	p = p[6:]
	list := func() ([]int32, bool) {
		if len(p) < 4 {
			return nil, false
		}
		n := int(binary.BigEndian.Uint32(p))
		p = p[4:]
		if n < 0 || n > len(p)/4 {
			return nil, false
		}
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(binary.BigEndian.Uint32(p[4*i:]))
		}
		p = p[4*n:]
		return out, true
	}
	var ok bool
	if lc.Voters, ok = list(); !ok {
		return nil, bad
	}
	if lc.GrantingVoters, ok = list(); !ok || len(p) != 0 {
		return nil, bad
	}
	return lc, nil
}

// appendBatch encodes b onto buf.
func appendBatch(buf []byte, b *Batch) []byte {
	start := len(buf)
	buf = binary.BigEndian.AppendUint64(buf, uint64(b.BaseOffset))
	buf = binary.BigEndian.AppendUint32(buf, 0) // batchLength, patched below
	buf = binary.BigEndian.AppendUint32(buf, uint32(b.Epoch))
	buf = append(buf, magic)
	buf = binary.BigEndian.AppendUint32(buf, 0) // crc, patched below
	attrs := uint16(0)
	if b.Control() {
		attrs |= controlAttribute
	}
	buf = binary.BigEndian.AppendUint16(buf, attrs)
	buf = binary.BigEndian.AppendUint32(buf, uint32(b.Len()-1))
	buf = binary.BigEndian.AppendUint32(buf, uint32(b.Len()))
	if b.Control() {
		p := encodeLeaderChange(b.LeaderChange)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(p)))
		buf = append(buf, p...)
	}
	for _, r := range b.Records {
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(r)))
		buf = append(buf, r...)
	}
	binary.BigEndian.PutUint32(buf[start+8:], uint32(len(buf)-start-12))
	binary.BigEndian.PutUint32(buf[start+17:], crc32.Checksum(buf[start+21:], castagnoli))
	return buf
}

// decodeBatch decodes the batch at the start of p, copying its records, and
// returns it with its encoded size. It reports why p does not start with a
// whole, valid batch.
func decodeBatch(p []byte) (*Batch, int, error) {
	if len(p) < batchHeaderSize {
		return nil, 0, fmt.Errorf("%d bytes left, a batch header needs %d", len(p), batchHeaderSize)
	}
	length := int(binary.BigEndian.Uint32(p[8:]))
	size := 12 + length
	if length < batchHeaderSize-12 || size > len(p) {
		return nil, 0, fmt.Errorf("batch length %d overruns the %d bytes left", length, len(p))
	}
	if p[16] != magic {
		return nil, 0, fmt.Errorf("magic %d, expected %d", p[16], magic)
	}
	if crc32.Checksum(p[21:size], castagnoli) != binary.BigEndian.Uint32(p[17:]) {
		return nil, 0, errors.New("CRC mismatch")
	}
	b := &Batch{BaseOffset: int64(binary.BigEndian.Uint64(p)), Epoch: int32(binary.BigEndian.Uint32(p[12:]))}
	attrs := binary.BigEndian.Uint16(p[21:])
	count := int(binary.BigEndian.Uint32(p[27:]))
	if count < 1 || int(binary.BigEndian.Uint32(p[23:])) != count-1 {
		return nil, 0, fmt.Errorf("record count %d does not match last offset delta", count)
	}
	body := p[batchHeaderSize:size]
	data := make([]byte, len(body))
	copy(data, body)
	recs := make([][]byte, 0, count)
	for range count {
		if len(data) < 4 {
			return nil, 0, errors.New("truncated record")
		}
		n := int(binary.BigEndian.Uint32(data))
		if n < 0 || n > len(data)-4 {
			return nil, 0, errors.New("record length overruns the batch")
		}
		recs = append(recs, data[4:4+n:4+n])
		data = data[4+n:]
	}
	if len(data) != 0 {
		return nil, 0, errors.New("trailing bytes after the last record")
	}
	if attrs&controlAttribute != 0 {
		if count != 1 {
			return nil, 0, errors.New("control batch with more than one record")
		}
		lc, err := decodeLeaderChange(recs[0])
		if err != nil {
			return nil, 0, err
		}
		b.LeaderChange = lc
	} else {
		b.Records = recs
	}
	return b.finish(), size, nil
}

type epochStart struct {
	epoch int32
	start int64
}

// Log is a replica's copy of the metadata log (__cluster_metadata-0): record
// batches on the node's simulated disk, with an in-memory index of them and
// the epoch → start-offset cache that answers DivergingEpoch questions.
// Writes go to the page cache; flush makes them durable.
type Log struct {
	file    *sim.File
	name    string
	batches []*Batch
	pos     []int // file position of each batch
	epochs  []epochStart
	end     int64 // log end offset
	buf     []byte
	// truncations counts the truncations since the log was opened.
	truncations uint64
}

// segmentName is the log's one segment file under the log directory.
const segmentName = "00000000000000000000.log"

// openLog opens (or creates) the log under dir and recovers it: batches are
// read back and validated in order, and the first torn, corrupt or
// out-of-order batch is truncated away with everything after it. It
// returns the number of bytes truncated.
func openLog(d *sim.Disk, dir string) (*Log, int, error) {
	name := dir + "/" + segmentName
	f, err := d.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		f, err = d.Create(name)
	}
	if err != nil {
		return nil, 0, err
	}
	l := &Log{file: f, name: name}
	data, err := f.Bytes()
	if err != nil {
		return nil, 0, err
	}
	off := 0
	for off < len(data) {
		b, size, err := decodeBatch(data[off:])
		if err == nil && b.BaseOffset != l.end {
			err = fmt.Errorf("base offset %d, expected %d", b.BaseOffset, l.end)
		}
		if err == nil && b.Epoch < l.LastEpoch() {
			err = fmt.Errorf("epoch %d below the previous batch's %d", b.Epoch, l.LastEpoch())
		}
		if err != nil {
			break
		}
		l.add(b, off)
		off += size
	}
	torn := len(data) - off
	if torn > 0 {
		if err := f.Truncate(off); err != nil {
			return nil, 0, err
		}
		if err := f.Sync(); err != nil {
			return nil, 0, err
		}
	}
	return l, torn, nil
}

func (l *Log) add(b *Batch, pos int) {
	if len(l.epochs) == 0 || l.epochs[len(l.epochs)-1].epoch != b.Epoch {
		l.epochs = append(l.epochs, epochStart{b.Epoch, b.BaseOffset})
	}
	l.batches = append(l.batches, b)
	l.pos = append(l.pos, pos)
	l.end = b.EndOffset()
}

// EndOffset returns the log end offset (LEO): the offset the next record
// gets.
func (l *Log) EndOffset() int64 { return l.end }

// LastEpoch returns the epoch of the last batch, or 0 for an empty log.
func (l *Log) LastEpoch() int32 {
	if len(l.epochs) == 0 {
		return 0
	}
	return l.epochs[len(l.epochs)-1].epoch
}

// Batches returns the log's batches, oldest first. The slice is the log's
// own: do not modify it; it is valid until the log next changes.
func (l *Log) Batches() []*Batch { return l.batches }

// Epochs returns the epoch cache as (epoch, start offset) pairs.
func (l *Log) Epochs() [][2]int64 {
	out := make([][2]int64, len(l.epochs))
	for i, e := range l.epochs {
		out[i] = [2]int64{int64(e.epoch), e.start}
	}
	return out
}

// index returns the index of the batch holding offset, or -1.
func (l *Log) index(offset int64) int {
	i := sort.Search(len(l.batches), func(i int) bool { return l.batches[i].EndOffset() > offset })
	if i == len(l.batches) || l.batches[i].BaseOffset > offset {
		return -1
	}
	return i
}

// BatchAt returns the batch holding offset, or nil.
func (l *Log) BatchAt(offset int64) *Batch {
	if i := l.index(offset); i >= 0 {
		return l.batches[i]
	}
	return nil
}

// append adds a batch at the log end, in the page cache.
func (l *Log) append(b *Batch) error {
	if b.BaseOffset != l.end {
		return fmt.Errorf("append of batch at offset %d to a log ending at %d", b.BaseOffset, l.end)
	}
	if b.Epoch < l.LastEpoch() {
		return fmt.Errorf("append of a batch of epoch %d after epoch %d", b.Epoch, l.LastEpoch())
	}
	pos := l.file.Size()
	l.buf = appendBatch(l.buf[:0], b)
	if err := l.file.Append(l.buf); err != nil {
		return err
	}
	l.add(b, pos)
	return nil
}

// Truncations counts the truncations of this log since it was opened.
func (l *Log) Truncations() uint64 { return l.truncations }

// flush makes the log durable (fsync).
func (l *Log) flush() error { return l.file.Sync() }

// truncateTo removes every batch from the one holding offset on, and
// returns how many offsets it removed.
func (l *Log) truncateTo(offset int64) (int64, error) {
	if offset >= l.end {
		return 0, nil
	}
	i := l.index(max(offset, 0))
	if i < 0 {
		return 0, nil
	}
	if err := l.file.Truncate(l.pos[i]); err != nil {
		return 0, err
	}
	removed := l.end - l.batches[i].BaseOffset
	l.truncations++
	clear(l.batches[i:])
	l.batches, l.pos = l.batches[:i], l.pos[:i]
	l.end = 0
	if i > 0 {
		l.end = l.batches[i-1].EndOffset()
	}
	for len(l.epochs) > 0 && l.epochs[len(l.epochs)-1].start >= l.end {
		l.epochs = l.epochs[:len(l.epochs)-1]
	}
	return removed, nil
}

// endOffsetForEpoch returns the largest epoch at or below epoch that the log
// holds, and the offset where it ends (the start of the next epoch, or the
// log end). For an epoch below every epoch the log holds, it returns epoch
// itself and the log start: the logs agree on nothing but the empty prefix.
func (l *Log) endOffsetForEpoch(epoch int32) (int32, int64) {
	i := sort.Search(len(l.epochs), func(i int) bool { return l.epochs[i].epoch > epoch })
	if i == 0 {
		return epoch, 0
	}
	if i == len(l.epochs) {
		return l.epochs[i-1].epoch, l.end
	}
	return l.epochs[i-1].epoch, l.epochs[i].start
}

// validate checks a follower's fetch position against the log, as the
// leader does: the follower's last fetched epoch must end, in this log, no
// earlier than its fetch offset. Otherwise it returns where the logs
// diverge.
func (l *Log) validate(fetchOffset int64, lastFetchedEpoch int32) (bool, EpochEndOffset) {
	epoch, end := l.endOffsetForEpoch(lastFetchedEpoch)
	if epoch != lastFetchedEpoch || end < fetchOffset {
		return false, EpochEndOffset{Epoch: epoch, EndOffset: end}
	}
	return true, EpochEndOffset{Epoch: -1, EndOffset: -1}
}

// divergenceOffset returns where a follower truncates on a DivergingEpoch
// answer: the smaller of the leader's end of that epoch and its own, or, if
// it does not hold that epoch, the end of its largest epoch below it (the
// next Fetch then walks further back).
func (l *Log) divergenceOffset(d EpochEndOffset) int64 {
	epoch, end := l.endOffsetForEpoch(d.Epoch)
	if epoch == d.Epoch {
		return min(end, d.EndOffset)
	}
	return end
}

// read returns the batches from offset on, up to about maxBytes (at least
// one batch).
func (l *Log) read(offset int64, maxBytes int) []*Batch {
	i := l.index(offset)
	if i < 0 {
		return nil
	}
	j, size := i, 0
	for j < len(l.batches) && (j == i || size+l.batches[j].size <= maxBytes) {
		size += l.batches[j].size
		j++
	}
	out := make([]*Batch, j-i)
	copy(out, l.batches[i:j])
	return out
}
