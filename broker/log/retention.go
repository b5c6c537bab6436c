package log

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// SetTopicConfig changes the topic's log configuration (a topic config
// changed in the metadata); the next append and retention pass use it.
func (l *Log) SetTopicConfig(c TopicConfig) { l.cfg.Topic = c }

// TopicConfig returns the topic's log configuration in effect.
func (l *Log) TopicConfig() TopicConfig { return l.cfg.Topic.orDefault() }

// RetentionReason says why retention deleted segments, as Kafka's
// LogStartOffsetIncrementReason and its retention log lines name it.
type RetentionReason string

// The reasons.
const (
	// RetentionTime: segments whose newest record is older than
	// retention.ms.
	RetentionTime RetentionReason = "retention.ms"
	// RetentionSize: the log was larger than retention.bytes.
	RetentionSize RetentionReason = "retention.bytes"
	// RetentionLogStart: segments wholly below the log start offset that
	// DeleteRecords (or the leader's log start offset) moved.
	RetentionLogStart RetentionReason = "log-start-offset"
)

// Deletion describes one retention pass that deleted segments.
type Deletion struct {
	Reason RetentionReason
	// Segments and Bytes count what was deleted; From and To are the log
	// start offset before and after.
	Segments, Bytes int
	From, To        int64
}

// DeleteOldSegments is one retention pass (Kafka's deleteOldSegments):
// with cleanup.policy delete, segments whose newest record is older than
// retention.ms, then the oldest segments while the log is larger than
// retention.bytes; under any policy, segments wholly below the log start
// offset. Only whole segments go, and only those wholly below the
// high-water mark; when every segment qualifies, a new empty active
// segment is rolled first so that the log keeps one. The log start offset
// moves to the first remaining segment's base. nowMs is the broker's clock
// in milliseconds, compared with the records' timestamps.
func (l *Log) DeleteOldSegments(nowMs int64, now time.Duration) ([]Deletion, error) {
	tc := l.cfg.Topic.orDefault()
	var out []Deletion
	run := func(reason RetentionReason, pred func(s *segment, next int64) bool) error {
		d, err := l.deleteSegments(reason, pred, now)
		if d.Segments > 0 {
			out = append(out, d)
		}
		return err
	}
	if tc.Delete && tc.RetentionMs >= 0 {
		if err := run(RetentionTime, func(s *segment, _ int64) bool {
			return s.maxTS >= 0 && nowMs-s.maxTS > tc.RetentionMs
		}); err != nil {
			return out, err
		}
	}
	if tc.Delete && tc.RetentionBytes >= 0 {
		excess := int64(l.Size()) - tc.RetentionBytes
		if err := run(RetentionSize, func(s *segment, _ int64) bool {
			size := int64(s.file.Size())
			if excess-size < 0 {
				return false
			}
			excess -= size
			return true
		}); err != nil {
			return out, err
		}
	}
	err := run(RetentionLogStart, func(_ *segment, next int64) bool { return next <= l.startOffset })
	return out, err
}

// deleteSegments deletes the oldest segments while pred holds for them
// (Kafka's deletableSegments): a segment is deletable only when it is
// wholly below the high-water mark and, for the active segment, not
// empty.
func (l *Log) deleteSegments(reason RetentionReason, pred func(s *segment, next int64) bool, now time.Duration) (Deletion, error) {
	d := Deletion{Reason: reason, From: l.startOffset}
	n := 0
	for i, s := range l.segs {
		next := l.segmentEnd(i)
		last := i == len(l.segs)-1
		if next > l.hwm || (last && s.file.Size() == 0) || !pred(s, next) {
			break
		}
		n++
	}
	if n == 0 {
		d.To = l.startOffset
		return d, nil
	}
	if n == len(l.segs) {
		// Every segment goes: roll first so the log keeps an active one.
		if err := l.roll(now); err != nil {
			return d, err
		}
	}
	for _, s := range l.segs[:n] {
		d.Bytes += s.file.Size()
	}
	d.Segments = n
	if err := l.removeSegments(n); err != nil {
		return d, err
	}
	l.startOffset = max(l.startOffset, l.segs[0].base)
	l.recoveryPoint = max(l.recoveryPoint, l.startOffset)
	d.To = l.startOffset
	return d, nil
}

// DeleteRecordsBefore moves the log start offset up to offset, as Kafka's
// DeleteRecords does on the leader: records below it can no longer be read
// and the segments wholly below it go at the next retention pass. offset
// -1 means the high-water mark. An offset above the high-water mark is
// OFFSET_OUT_OF_RANGE. It returns the new log start offset (the low
// watermark).
func (l *Log) DeleteRecordsBefore(offset int64) (int64, error) {
	if offset == -1 {
		offset = l.hwm
	}
	if offset < 0 || offset > l.hwm {
		return l.startOffset, appendErr(protocol.OffsetOutOfRange, "cannot delete records before offset %d: it is outside [%d, %d] (the log start offset and the high-water mark)",
			offset, l.startOffset, l.hwm)
	}
	l.startOffset = max(l.startOffset, offset)
	return l.startOffset, nil
}

// MaybeIncrementLogStartOffset moves a follower's log start offset up to
// the leader's (from a fetch response), never above its own high-water
// mark, as Kafka's follower does. It reports whether it moved.
func (l *Log) MaybeIncrementLogStartOffset(leaderStart int64) bool {
	v := min(leaderStart, l.hwm)
	if v <= l.startOffset {
		return false
	}
	l.startOffset = v
	return true
}

// TruncateFullyAndStartAt empties the log and starts it again at offset
// (Kafka's truncateFullyAndStartAt): a follower whose log ends below the
// leader's log start offset cannot catch up by fetching. Every segment
// goes, the epoch cache and producer state are emptied, and the log start,
// end, high-water mark and recovery point become offset.
func (l *Log) TruncateFullyAndStartAt(offset int64, now time.Duration) error {
	if offset < 0 {
		return fmt.Errorf("partition %s: cannot start the log at offset %d", l.tp, offset)
	}
	if err := l.dropSegmentsFrom(1); err != nil {
		return err
	}
	first := l.segs[0]
	if err := l.disk.Remove(first.file.Name()); err != nil {
		return err
	}
	l.segs, l.index = nil, nil
	l.decoded.valid = false
	if err := l.newSegment(offset, now); err != nil {
		return err
	}
	hwm := l.hwm
	l.leo, l.startOffset, l.hwm, l.recoveryPoint, l.cleanedTo = offset, offset, offset, offset, offset
	if l.cfg.KeepHighWatermarkOnFullTruncation {
		l.hwm = min(hwm, offset)
	}
	l.epochs.entries = nil
	if err := l.writeEpochs(); err != nil {
		return err
	}
	if err := l.deleteSnapshots(func(int64) bool { return true }); err != nil {
		return err
	}
	l.rebuildProducers()
	return nil
}
