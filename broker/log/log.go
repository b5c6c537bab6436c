// Package log is a partition's log on a simulated disk, as Kafka keeps it:
// record batches in Kafka's format appended to a segment file, an
// in-memory batch index that mirrors the file for fast reads, the
// leader-epoch cache and its leader-epoch-checkpoint file, producer state
// for idempotent producers (the last five batches of each), the flush
// policy and recovery point, and recovery after a crash or power loss that
// validates CRCs and truncates a torn or corrupt tail, and producer-state
// snapshots written at segment rolls and clean shutdowns that recovery and
// truncation reload instead of replaying the whole log.
//
// The log knows nothing of replication: the broker decides what to append,
// where to truncate and what the high-water mark is; the log keeps the
// high-water mark only so that reads and truncations can respect it.
package log

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// Config is the log's share of Kafka's configuration.
type Config struct {
	// FlushIntervalMessages is log.flush.interval.messages: fsync the log
	// once this many records were appended since the last flush. 0 means
	// never (Kafka's default is Long.MAX_VALUE: never).
	FlushIntervalMessages int64
	// LegacyProducerChecks switches producer-state validation to Kafka
	// 0.11–1.1 (before KAFKA-6683): a batch older than every cached batch
	// gets DUPLICATE_SEQUENCE_NUMBER, and the first write of an unknown
	// producer must start at sequence 0 (UNKNOWN_PRODUCER_ID otherwise).
	LegacyProducerChecks bool
	// KeepHighWatermarkOnFullTruncation leaves the high-water mark where
	// it was when TruncateFullyAndStartAt empties the log, below the new
	// log start offset, as Kafka did before 2.5 (KAFKA-9491) until the
	// next fetch response told the follower its leader's.
	KeepHighWatermarkOnFullTruncation bool
	// ProducerStateBeforeAppend records a batch in producer state before
	// the log appends it, as Kafka 0.11–1.1 did (KAFKA-6683): the segment
	// roll the append may trigger then writes a producer-state snapshot
	// that already holds the rolling batch, state past the snapshot's own
	// offset, and an append that fails leaves the batch in the state.
	ProducerStateBeforeAppend bool
	// Topic is the topic's log configuration: segments, retention and
	// compaction (the zero value is Kafka's defaults).
	Topic TopicConfig
}

// Validate reports what is wrong with a log configuration.
func (c Config) Validate() error {
	if c.FlushIntervalMessages < 0 {
		return fmt.Errorf("invalid value %d for configuration log.flush.interval.messages: must be at least 1, or 0 for never", c.FlushIntervalMessages)
	}
	return c.Topic.Validate()
}

// entry indexes one batch of the segment.
type entry struct {
	base     int64
	last     int64
	pos      int
	size     int
	epoch    int32
	pid      int64
	pepoch   int16
	firstSeq int32
	lastSeq  int32
	maxTS    int64
	control  bool // a transaction marker
	seg      *segment
	txn      bool // written inside a transaction
}

// A Log is one partition's log.
type Log struct {
	disk *sim.Disk
	tp   model.TopicPartition
	dir  string
	cfg  Config
	segs []*segment // oldest first; the last is the active segment

	index         []entry
	startOffset   int64
	leo           int64
	hwm           int64
	recoveryPoint int64
	cleanedTo     int64 // the log cleaner's checkpoint (cleaner.go)
	unflushed     int64
	lastFlush     time.Duration

	epochs    epochCache
	producers map[int64]*ProducerEntry
	txns      txnState
	scratch   []byte
	// decoded caches the records of the batch Entry read last; an index
	// entry (position, size, offsets, epoch) names one batch's bytes.
	decoded struct {
		valid   bool
		at      entry
		entries []model.Entry
	}
}

// RecoveryInfo says what Open found and did.
type RecoveryInfo struct {
	// Clean is set when the broker shut down cleanly: nothing was
	// validated.
	Clean bool
	// Truncated is the number of bytes cut from a torn or corrupt tail.
	Truncated int
	// TruncatedFrom is the offset where the cut tail started (the new log
	// end offset) when Truncated > 0.
	TruncatedFrom int64
	// Reason says why the tail was cut.
	Reason string
}

// OpenOptions are what the broker's checkpoint files say about a log.
type OpenOptions struct {
	// Clean is set when the clean-shutdown marker was present.
	Clean bool
	// RecoveryPoint is the checkpointed recovery point: batches below it
	// were flushed and are trusted; batches from it on are validated.
	RecoveryPoint int64
	// HighWatermark is the checkpointed high-water mark.
	HighWatermark int64
	// LogStartOffset is the checkpointed log start offset (0 when the
	// checkpoint has none): retention or DeleteRecords moved it above the
	// first segment's base offset.
	LogStartOffset int64
	// Now is the broker's clock, for the flush timer.
	Now time.Duration
}

// Open opens the partition's log, creating an empty one if the disk has
// none, and recovers it: the index is rebuilt from the segment, batches
// from the recovery point on (all of them after an unclean shutdown with
// no recovery point) have their CRC checked, and a torn or corrupt tail is
// truncated. The epoch cache is loaded and cut to the log end offset, and
// producer state is loaded from the latest producer-state snapshot at or
// below the log end offset and the batches after it (snapshot.go).
func Open(d *sim.Disk, tp model.TopicPartition, cfg Config, opt OpenOptions) (*Log, RecoveryInfo, error) {
	if err := cfg.Validate(); err != nil {
		return nil, RecoveryInfo{}, err
	}
	l := &Log{disk: d, tp: tp, dir: Dir(tp), cfg: cfg, producers: make(map[int64]*ProducerEntry), lastFlush: opt.Now}
	if err := l.removeCleanedLeftovers(); err != nil {
		return nil, RecoveryInfo{}, err
	}
	if err := l.openSegments(opt.Now); err != nil {
		return nil, RecoveryInfo{}, err
	}
	info, err := l.recover(opt)
	if err != nil {
		return nil, info, err
	}
	if err := l.loadEpochs(); err != nil {
		return nil, info, err
	}
	if l.epochs.truncateFromEnd(l.leo) {
		if err := l.writeEpochs(); err != nil {
			return nil, info, err
		}
	}
	if err := l.reloadProducers(); err != nil {
		return nil, info, err
	}
	l.hwm = min(max(opt.HighWatermark, l.startOffset), l.leo)
	l.recoveryPoint = min(max(opt.RecoveryPoint, 0), l.leo)
	if info.Truncated > 0 || !opt.Clean {
		// Everything that survived recovery was read back; Kafka flushes
		// the recovered segment and moves the recovery point to the end.
		if err := l.Flush(opt.Now); err != nil {
			return nil, info, err
		}
	} else {
		l.unflushed = 0
	}
	return l, info, nil
}

func (l *Log) recover(opt OpenOptions) (RecoveryInfo, error) {
	info := RecoveryInfo{Clean: opt.Clean}
	next := l.segs[0].base
	for i := 0; i < len(l.segs); i++ {
		s := l.segs[i]
		if s.base < next {
			// A segment below the end of the one before: what remains of
			// a crash between writes. Everything from it on goes.
			info.Truncated += l.segmentsBytes(i)
			info.TruncatedFrom, info.Reason = next, fmt.Sprintf("segment %s starts below offset %d", SegmentName(s.base), next)
			if err := l.dropSegmentsFrom(i); err != nil {
				return info, err
			}
			break
		}
		next = max(next, s.base)
		pos, cut, err := l.recoverSegment(s, &next, opt)
		if err != nil {
			return info, err
		}
		if cut != "" {
			info.Truncated += s.file.Size() - pos + l.segmentsBytes(i+1)
			info.TruncatedFrom, info.Reason = next, cut
			if err := s.file.Truncate(pos); err != nil {
				return info, err
			}
			if err := l.dropSegmentsFrom(i + 1); err != nil {
				return info, err
			}
			break
		}
	}
	l.leo = next
	l.startOffset = min(max(l.segs[0].base, opt.LogStartOffset), l.leo)
	return info, nil
}

func (l *Log) entryOf(h protocol.BatchHeader, pos int) entry {
	return entry{base: h.BaseOffset, last: h.LastOffset(), pos: pos, size: h.Size(), epoch: h.PartitionLeaderEpoch,
		pid: h.ProducerID, pepoch: h.ProducerEpoch, firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), maxTS: h.MaxTimestamp,
		control: h.IsControl(), txn: h.IsTransactional()}
}

func (l *Log) loadEpochs() error {
	f, err := l.disk.Open(l.dir + LeaderEpochCheckpoint)
	if errors.Is(err, fs.ErrNotExist) {
		l.epochs.entries = nil
		return nil
	}
	if err != nil {
		return err
	}
	b, err := f.Bytes()
	if err != nil {
		return err
	}
	entries, err := decodeEpochs(b)
	if err != nil {
		return fmt.Errorf("partition %s: %s: %w", l.tp, LeaderEpochCheckpoint, err)
	}
	l.epochs.entries = entries
	return nil
}

func (l *Log) writeEpochs() error {
	return WriteFileAtomic(l.disk, l.dir+LeaderEpochCheckpoint, l.epochs.encode())
}

func (l *Log) rebuildProducers() {
	clear(l.producers)
	l.txns.reset()
	for _, e := range l.index {
		l.updateProducer(e)
	}
}

func (l *Log) updateProducer(e entry) {
	if l.observeTxn(e) {
		return
	}
	if e.pid == protocol.NoProducerID || e.control {
		// A transaction marker ends a transaction; it is no batch of the
		// producer's sequence.
		return
	}
	p := l.producers[e.pid]
	if p == nil {
		p = &ProducerEntry{Epoch: e.pepoch}
		l.producers[e.pid] = p
	}
	if e.pepoch < p.Epoch {
		return // a fenced producer's batch written by an older leader
	}
	p.add(e.pepoch, BatchMeta{FirstSeq: e.firstSeq, LastSeq: e.lastSeq, FirstOffset: e.base, LastOffset: e.last})
}

// TopicPartition returns the log's partition.
func (l *Log) TopicPartition() model.TopicPartition { return l.tp }

// StartOffset returns the log start offset.
func (l *Log) StartOffset() int64 { return l.startOffset }

// EndOffset returns the log end offset (LEO): the offset the next record gets.
func (l *Log) EndOffset() int64 { return l.leo }

// HighWatermark returns the high-water mark the broker last set.
func (l *Log) HighWatermark() int64 { return l.hwm }

// SetHighWatermark sets the high-water mark, bounded by the log's offsets.
func (l *Log) SetHighWatermark(v int64) { l.hwm = min(max(v, l.startOffset), l.leo) }

// RecoveryPoint returns the offset below which the log is flushed.
func (l *Log) RecoveryPoint() int64 { return l.recoveryPoint }

// Size returns the size of the log's segments in bytes.
func (l *Log) Size() int {
	n := 0
	for _, s := range l.segs {
		n += s.file.Size()
	}
	return n
}

// Batches returns the number of batches in the log.
func (l *Log) Batches() int { return len(l.index) }

// LatestEpoch returns the latest epoch in the epoch cache, or NoEpoch.
func (l *Log) LatestEpoch() int32 { return l.epochs.latest() }

// Epochs returns a copy of the epoch cache.
func (l *Log) Epochs() []EpochEntry { return append([]EpochEntry(nil), l.epochs.entries...) }

// EndOffsetForEpoch answers OffsetsForLeaderEpoch from this log (KIP-101,
// with KIP-279's epoch in the answer).
func (l *Log) EndOffsetForEpoch(epoch int32) (int32, int64) {
	return l.epochs.endOffsetFor(epoch, l.leo)
}

// LegacyEndOffsetForEpoch is Kafka 0.11–1.x's answer, without an epoch.
func (l *Log) LegacyEndOffsetForEpoch(epoch int32) int64 {
	return l.epochs.legacyEndOffsetFor(epoch, l.leo)
}

// AssignEpochStartOffset records that epoch starts at offset (a new
// leader's first offset), and writes the checkpoint if the cache changed.
func (l *Log) AssignEpochStartOffset(epoch int32, offset int64) error {
	if l.epochs.assign(epoch, offset) {
		return l.writeEpochs()
	}
	return nil
}

// Producer returns an idempotent producer's state on this partition.
func (l *Log) Producer(pid int64) (ProducerEntry, bool) {
	p, ok := l.producers[pid]
	if !ok {
		return ProducerEntry{}, false
	}
	return *p, true
}

// AppendInfo describes a leader append.
type AppendInfo struct {
	FirstOffset, LastOffset int64
	// Duplicate is set when the batch repeated one of the producer's five
	// most recent batches: nothing was written and the offsets are those
	// of the original.
	Duplicate bool
	Records   int
}

// An AppendError carries the Kafka error code of a refused append.
type AppendError struct {
	Code protocol.ErrorCode
	Msg  string
}

func (e *AppendError) Error() string { return e.Code.String() + ": " + e.Msg }

func appendErr(code protocol.ErrorCode, format string, args ...any) error {
	return &AppendError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Kafka error code of err: the code of an
// AppendError, KAFKA_STORAGE_ERROR for a disk failure.
func ErrorCode(err error) protocol.ErrorCode {
	if err == nil {
		return protocol.None
	}
	var ae *AppendError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return protocol.KafkaStorageError
}

// AppendAsLeader validates one batch from a client and appends it with
// offsets from the log end offset, stamped with the leader's epoch. The
// records are copied; the caller's slice is not changed. Idempotent
// batches are checked against producer state first: a duplicate of one of
// the producer's last five batches is not written again (Duplicate in the
// result), a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER, an older
// producer epoch INVALID_PRODUCER_EPOCH.
func (l *Log) AppendAsLeader(records protocol.Records, epoch int32, now time.Duration) (AppendInfo, error) {
	return l.appendAsLeader(records, epoch, now, false, NoGuard)
}

func (l *Log) appendAsLeader(records protocol.Records, epoch int32, now time.Duration, verify bool, guard VerificationGuard) (AppendInfo, error) {
	h, err := protocol.ParseBatchHeader(records)
	if err != nil {
		return AppendInfo{}, appendErr(protocol.CorruptMessage, "%v", err)
	}
	if h.Size() != len(records) {
		return AppendInfo{}, appendErr(protocol.InvalidRecord, "a produce request carries exactly one record batch per partition, this one has %d trailing bytes", len(records)-h.Size())
	}
	if err := protocol.VerifyCRC(records, h); err != nil {
		return AppendInfo{}, appendErr(protocol.CorruptMessage, "%v", err)
	}
	if err := l.checkKeys(records, h); err != nil {
		return AppendInfo{}, err
	}
	if h.HasProducer() {
		p := l.producers[h.ProducerID]
		if p != nil {
			if m, dup := p.duplicateOf(h); dup {
				return AppendInfo{FirstOffset: m.FirstOffset, LastOffset: m.LastOffset, Duplicate: true, Records: int(h.RecordCount)}, nil
			}
		}
		if code := checkProducer(p, h, l.cfg.LegacyProducerChecks); code != protocol.None {
			last := protocol.NoSequence
			if p != nil {
				last = p.LastSeq()
			}
			return AppendInfo{}, appendErr(code, "producer %d epoch %d: batch with sequences %d..%d after last sequence %d",
				h.ProducerID, h.ProducerEpoch, h.BaseSequence, h.LastSequence(), last)
		}
		if err := l.checkTxnAppend(h, verify, guard); err != nil {
			return AppendInfo{}, err
		}
	}
	l.scratch = append(l.scratch[:0], records...)
	protocol.SetBaseOffset(l.scratch, l.leo)
	protocol.SetPartitionLeaderEpoch(l.scratch, epoch)
	h.BaseOffset, h.PartitionLeaderEpoch = l.leo, epoch
	if err := l.append(l.scratch, h, now); err != nil {
		return AppendInfo{}, err
	}
	return AppendInfo{FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(), Records: int(h.RecordCount)}, nil
}

// AppendAsFollower appends batches fetched from the leader, keeping their
// offsets and epochs. Each batch's CRC is checked and its base offset must
// continue the log; batches wholly below the log end offset are skipped.
// It returns the number of records appended.
func (l *Log) AppendAsFollower(records protocol.Records, now time.Duration) (int, error) {
	n := 0
	b := []byte(records)
	for len(b) > 0 {
		h, err := protocol.ParseBatchHeader(b)
		if err != nil {
			return n, appendErr(protocol.CorruptMessage, "%v", err)
		}
		batch := b[:h.Size()]
		b = b[h.Size():]
		if h.LastOffset() < l.leo {
			continue
		}
		if h.BaseOffset < l.leo {
			return n, appendErr(protocol.UnknownServerError, "fetched batch starts at offset %d, the log ends at %d", h.BaseOffset, l.leo)
		}
		if err := protocol.VerifyCRC(batch, h); err != nil {
			return n, appendErr(protocol.CorruptMessage, "%v", err)
		}
		if err := l.append(batch, h, now); err != nil {
			return n, err
		}
		n += int(h.RecordCount)
	}
	return n, nil
}

func (l *Log) append(batch []byte, h protocol.BatchHeader, now time.Duration) error {
	// Under ProducerStateBeforeAppend a data batch enters producer state
	// here, before the roll and the write (a marker's entry needs its
	// bytes in the log).
	early := l.cfg.ProducerStateBeforeAppend && !h.IsControl()
	if early {
		l.updateProducer(l.entryOf(h, -1))
	}
	if err := l.maybeRoll(len(batch), h.MaxTimestamp, now); err != nil {
		return err
	}
	s := l.active()
	pos := s.file.Size()
	if err := s.file.Append(batch); err != nil {
		return err
	}
	e := l.entryOf(h, pos)
	e.seg = s
	s.observe(h)
	if len(l.index) == 0 && len(l.segs) == 1 {
		l.startOffset = e.base
	}
	l.index = append(l.index, e)
	l.leo = h.NextOffset()
	// Every batch's epoch is assigned, a lower one too, as Kafka does: a
	// replica that led an epoch it wrote nothing in (a leader back from a
	// power loss with an empty log) copies older epochs' batches over that
	// entry, and assign drops it.
	if h.PartitionLeaderEpoch >= 0 {
		if err := l.AssignEpochStartOffset(h.PartitionLeaderEpoch, h.BaseOffset); err != nil {
			return err
		}
	}
	if !early {
		l.updateProducer(e)
	}
	l.unflushed += int64(h.RecordCount)
	if l.cfg.FlushIntervalMessages > 0 && l.unflushed >= l.cfg.FlushIntervalMessages {
		return l.Flush(now)
	}
	return nil
}

// Flush fsyncs the segment and moves the recovery point to the log end.
func (l *Log) Flush(now time.Duration) error {
	for _, s := range l.segs {
		if s.base >= l.recoveryPoint || s == l.active() || l.segmentEndOf(s) > l.recoveryPoint {
			if err := s.file.Sync(); err != nil {
				return err
			}
		}
	}
	l.recoveryPoint = l.leo
	l.unflushed = 0
	l.lastFlush = now
	return nil
}

// Unflushed returns the number of records appended since the last flush.
func (l *Log) Unflushed() int64 { return l.unflushed }

// LastFlush returns when the log was last flushed (broker clock).
func (l *Log) LastFlush() time.Duration { return l.lastFlush }

// find returns the index of the batch holding offset, or len(index).
func (l *Log) find(offset int64) int {
	return sort.Search(len(l.index), func(i int) bool { return l.index[i].last >= offset })
}

// Read returns a copy of the batches from the one holding offset, up to
// (not including) the first batch that ends at or beyond maxOffset, and at
// most maxBytes (at least one batch, so that a large batch still moves).
// An offset outside [start, end] is OFFSET_OUT_OF_RANGE; reading at the
// end returns nothing.
func (l *Log) Read(offset, maxOffset int64, maxBytes int) (protocol.Records, error) {
	if offset < l.startOffset || offset > l.leo {
		return nil, appendErr(protocol.OffsetOutOfRange, "offset %d is outside the log's range [%d, %d]", offset, l.startOffset, l.leo)
	}
	i := l.find(offset)
	if i == len(l.index) {
		return nil, nil
	}
	seg := l.index[i].seg
	from := l.index[i].pos
	to := from
	for j := i; j < len(l.index); j++ {
		e := l.index[j]
		if e.seg != seg || e.last >= maxOffset || (to > from && to-from+e.size > maxBytes) {
			break
		}
		to = e.pos + e.size
	}
	if to == from {
		return nil, nil
	}
	out := make([]byte, to-from)
	if _, err := seg.file.ReadAt(out, from); err != nil {
		return nil, err
	}
	return out, nil
}

// TruncateTo removes every batch that holds an offset at or above offset,
// so that the log ends at offset or, if a batch straddles it, at that
// batch's base offset. It returns the new log end offset and whether
// anything was removed. The epoch cache, producer state, high-water mark
// and recovery point follow.
func (l *Log) TruncateTo(offset int64) (int64, bool, error) {
	if offset >= l.leo {
		// Nothing to cut, but an epoch that starts at the log end holds no
		// batch: a leader that wrote nothing in its epoch before another
		// was elected. Kafka drops such entries here, or the follower's
		// last fetched epoch would name an epoch the leader never had.
		if l.epochs.truncateFromEnd(l.leo) {
			if err := l.writeEpochs(); err != nil {
				return l.leo, false, err
			}
		}
		return l.leo, false, nil
	}
	i := l.find(offset)
	if i == len(l.index) {
		return l.leo, false, nil
	}
	pos, newEnd := l.index[i].pos, l.index[i].base
	l.decoded.valid = false
	if err := l.truncateSegments(l.index[i].seg, pos); err != nil {
		return l.leo, false, err
	}
	l.index = l.index[:i]
	l.leo = newEnd
	if len(l.index) == 0 && len(l.segs) == 1 {
		l.startOffset = newEnd
	}
	if l.epochs.truncateFromEnd(l.leo) {
		if err := l.writeEpochs(); err != nil {
			return l.leo, true, err
		}
	}
	if err := l.reloadProducers(); err != nil {
		return l.leo, true, err
	}
	l.startOffset = min(l.startOffset, l.leo) // Kafka starts the log again at the target
	l.hwm = min(l.hwm, l.leo)
	l.recoveryPoint = min(l.recoveryPoint, l.leo)
	l.cleanedTo = min(l.cleanedTo, l.leo)
	return l.leo, true, nil
}

// Entry returns the record at offset, if the log holds it. A transaction
// marker (a control record) keeps its offset but is no record: Entry
// reports it missing, as it does the offsets compaction removed.
func (l *Log) Entry(offset int64) (model.Entry, bool) {
	if offset < l.startOffset || offset >= l.leo {
		return model.Entry{}, false
	}
	i := l.find(offset)
	if i == len(l.index) || l.index[i].base > offset {
		return model.Entry{}, false
	}
	e := l.index[i]
	c := &l.decoded
	if !(c.valid && c.at == e) {
		// Checkers read a replica's records offset by offset: decode the
		// whole batch once and serve its records from the cache.
		c.valid, c.at, c.entries = false, e, c.entries[:0]
		b, err := e.seg.file.Bytes()
		if err != nil || e.pos+e.size > len(b) {
			return model.Entry{}, false
		}
		h, err := protocol.ParseBatchHeader(b[e.pos:])
		if err != nil {
			return model.Entry{}, false
		}
		if h.IsControl() {
			// A transaction marker keeps its offset in the log but is
			// not a record anyone sent or reads.
			c.valid = true
			return model.Entry{}, false
		}
		_ = protocol.DecodeRecords(b[e.pos:], h, func(r protocol.Record) bool {
			en := model.Entry{Offset: r.Offset, LeaderEpoch: h.PartitionLeaderEpoch, ProducerID: h.ProducerID, ProducerEpoch: h.ProducerEpoch,
				Key: append([]byte(nil), r.Key...), Value: append([]byte(nil), r.Value...), Sequence: protocol.NoSequence,
				Headers: protocol.ModelHeaders(r.Headers)}
			if h.HasProducer() {
				en.Sequence = protocol.IncSequence(h.BaseSequence, int32(r.Offset-h.BaseOffset))
			}
			c.entries = append(c.entries, en)
			return true
		})
		c.valid = true
	}
	// The batch's records are in offset order (compaction may leave gaps).
	if j, ok := slices.BinarySearchFunc(c.entries, offset, func(en model.Entry, o int64) int { return cmp.Compare(en.Offset, o) }); ok {
		return c.entries[j], true
	}
	return model.Entry{}, false
}

// BatchInfo describes one batch for printing.
type BatchInfo struct {
	Header protocol.BatchHeader
	Values []string
}

// BatchInfos decodes every batch, for scripts and debugging.
func (l *Log) BatchInfos() []BatchInfo {
	out := make([]BatchInfo, 0, len(l.index))
	for _, e := range l.index {
		b, err := e.seg.file.Bytes()
		if err != nil {
			return out
		}
		h, err := protocol.ParseBatchHeader(b[e.pos:])
		if err != nil {
			break
		}
		bi := BatchInfo{Header: h}
		_ = protocol.DecodeRecords(b[e.pos:], h, func(r protocol.Record) bool {
			if h.IsControl() {
				k, err := protocol.DecodeControlRecordKey(r.Key)
				if err != nil {
					bi.Values = append(bi.Values, "<control: "+err.Error()+">")
				} else {
					bi.Values = append(bi.Values, "<"+k.Type.String()+">")
				}
				return true
			}
			bi.Values = append(bi.Values, string(r.Value))
			return true
		})
		out = append(out, bi)
	}
	return out
}

// String summarises the log: each batch as offset range, epoch and values.
func (l *Log) String() string {
	var parts []string
	for _, bi := range l.BatchInfos() {
		parts = append(parts, fmt.Sprintf("%d:e%d:%s", bi.Header.BaseOffset, bi.Header.PartitionLeaderEpoch, strings.Join(bi.Values, ",")))
	}
	if len(parts) == 0 {
		return "(empty)"
	}
	return strings.Join(parts, " ")
}

// OffsetForTimestamp returns the base offset of the first batch below
// maxOffset whose largest timestamp is at or after ts, or NoOffset.
func (l *Log) OffsetForTimestamp(ts, maxOffset int64) int64 {
	for _, e := range l.index {
		if e.base >= maxOffset {
			break
		}
		if e.maxTS >= ts {
			return e.base
		}
	}
	return protocol.NoOffset
}
