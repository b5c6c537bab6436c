package log

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Kafka's topic-level log defaults.
const (
	// DefaultSegmentBytes is segment.bytes: 1 GiB.
	DefaultSegmentBytes = 1 << 30
	// DefaultSegmentMs is segment.ms: 7 days.
	DefaultSegmentMs = 7 * 24 * 60 * 60 * 1000
	// DefaultRetentionMs is retention.ms: 7 days.
	DefaultRetentionMs = 7 * 24 * 60 * 60 * 1000
	// DefaultDeleteRetentionMs is delete.retention.ms: 1 day.
	DefaultDeleteRetentionMs = 24 * 60 * 60 * 1000
	// DefaultMinCleanableDirtyRatio is min.cleanable.dirty.ratio.
	DefaultMinCleanableDirtyRatio = 0.5
	// MinSegmentBytes is the smallest segment.bytes Kafka accepts (the
	// overhead of one record).
	MinSegmentBytes = 14
)

// TopicConfig is the log's share of a topic's configuration (Kafka's
// LogConfig): segments, retention and compaction. Durations are in
// milliseconds, as Kafka's properties give them. The zero TopicConfig
// stands for Kafka's defaults (DefaultTopicConfig).
type TopicConfig struct {
	// SegmentBytes is segment.bytes: the active segment rolls when the
	// next batch would take it past this size.
	SegmentBytes int64
	// SegmentMs is segment.ms: the active segment rolls on the first
	// append once its first batch is this old.
	SegmentMs int64
	// RetentionMs is retention.ms: with cleanup.policy delete, a segment
	// whose newest record is older than this is deleted; -1 is forever.
	RetentionMs int64
	// RetentionBytes is retention.bytes: with cleanup.policy delete, the
	// oldest segments are deleted while the log is larger than this;
	// negative is no limit.
	RetentionBytes int64
	// Delete and Compact are cleanup.policy's two values (both for
	// "compact,delete").
	Delete, Compact bool
	// DeleteRetentionMs is delete.retention.ms: how long the cleaner keeps
	// a tombstone (a record with a key and no value) after it cleaned the
	// segment holding it.
	DeleteRetentionMs int64
	// MinCleanableDirtyRatio is min.cleanable.dirty.ratio: the share of
	// the log not yet cleaned above which the cleaner compacts it.
	MinCleanableDirtyRatio float64
	// MinCompactionLagMs is min.compaction.lag.ms: records newer than this
	// stay uncompacted.
	MinCompactionLagMs int64
}

// DefaultTopicConfig returns Kafka's defaults: 1 GiB segments rolled at
// least weekly, seven days' retention without a size limit, cleanup.policy
// delete.
func DefaultTopicConfig() TopicConfig {
	return TopicConfig{SegmentBytes: DefaultSegmentBytes, SegmentMs: DefaultSegmentMs, RetentionMs: DefaultRetentionMs,
		RetentionBytes: -1, Delete: true, DeleteRetentionMs: DefaultDeleteRetentionMs,
		MinCleanableDirtyRatio: DefaultMinCleanableDirtyRatio}
}

// orDefault returns the config, or Kafka's defaults for the zero value.
func (c TopicConfig) orDefault() TopicConfig {
	if c == (TopicConfig{}) {
		return DefaultTopicConfig()
	}
	return c
}

// Validate reports what is wrong with a topic's log configuration, with
// Kafka's ranges.
func (c TopicConfig) Validate() error {
	c = c.orDefault()
	var errs []error
	bad := func(name string, v any, accepted string) {
		errs = append(errs, fmt.Errorf("invalid value %v for configuration %s: %s", v, name, accepted))
	}
	if c.SegmentBytes < MinSegmentBytes || c.SegmentBytes > 1<<31-1 {
		bad("segment.bytes", c.SegmentBytes, fmt.Sprintf("value must be from %d to 2147483647", MinSegmentBytes))
	}
	if c.SegmentMs < 1 {
		bad("segment.ms", c.SegmentMs, "value must be at least 1")
	}
	if c.RetentionMs < -1 {
		bad("retention.ms", c.RetentionMs, "value must be at least -1 (forever)")
	}
	if !c.Delete && !c.Compact {
		bad("cleanup.policy", `""`, "value must name delete, compact or both")
	}
	if c.DeleteRetentionMs < 0 {
		bad("delete.retention.ms", c.DeleteRetentionMs, "value must be at least 0")
	}
	if c.MinCleanableDirtyRatio < 0 || c.MinCleanableDirtyRatio > 1 {
		bad("min.cleanable.dirty.ratio", c.MinCleanableDirtyRatio, "value must be from 0 to 1")
	}
	if c.MinCompactionLagMs < 0 {
		bad("min.compaction.lag.ms", c.MinCompactionLagMs, "value must be at least 0")
	}
	return errors.Join(errs...)
}

// CleanupPolicy returns cleanup.policy as Kafka spells it.
func (c TopicConfig) CleanupPolicy() string {
	c = c.orDefault()
	switch {
	case c.Compact && c.Delete:
		return "compact,delete"
	case c.Compact:
		return "compact"
	}
	return "delete"
}

// segment is one segment of a partition's log: the file named by its base
// offset (the first offset it may hold) and what the broker keeps in memory
// about it (Kafka's LogSegment, with its time index reduced to the
// timestamps retention and rolling need).
type segment struct {
	base int64
	file *sim.File
	// created is when the segment was rolled (broker clock), for
	// segment.ms while it has no batch yet.
	created time.Duration
	// firstTS is the max timestamp of its first batch, maxTS the largest
	// timestamp of any batch; -1 when empty.
	firstTS, maxTS int64
}

// SegmentName returns the file name of the segment with base offset base:
// the offset in 20 digits and ".log", as Kafka names it.
func SegmentName(base int64) string { return fmt.Sprintf("%020d.log", base) }

// parseSegmentName reads a segment file's base offset.
func parseSegmentName(file string) (int64, bool) {
	digits, ok := strings.CutSuffix(file, ".log")
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

func (s *segment) observe(h protocol.BatchHeader) {
	if s.firstTS < 0 {
		s.firstTS = h.MaxTimestamp
	}
	s.maxTS = max(s.maxTS, h.MaxTimestamp)
}

// active returns the segment appends go to.
func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

// openSegments opens the partition's segment files in offset order,
// creating the first one (at offset 0) for a new log.
func (l *Log) openSegments(now time.Duration) error {
	for _, name := range l.disk.List(l.dir) {
		base, ok := parseSegmentName(strings.TrimPrefix(name, l.dir))
		if !ok {
			continue
		}
		f, err := l.disk.Open(name)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, &segment{base: base, file: f, created: now, firstTS: -1, maxTS: -1})
	}
	if len(l.segs) > 0 {
		return nil
	}
	return l.newSegment(0, now)
}

// newSegment creates an empty segment at base and makes it the active one.
func (l *Log) newSegment(base int64, now time.Duration) error {
	f, err := l.disk.Open(l.dir + SegmentName(base))
	if errors.Is(err, fs.ErrNotExist) {
		f, err = l.disk.Create(l.dir + SegmentName(base))
	}
	if err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	l.segs = append(l.segs, &segment{base: base, file: f, created: now, firstTS: -1, maxTS: -1})
	return nil
}

// maybeRoll rolls a new active segment before a batch of size bytes with
// the given max timestamp is appended, as Kafka's UnifiedLog.maybeRoll
// does: when the batch would take the active segment past segment.bytes,
// or when the active segment's first batch is older than segment.ms (by
// the appended batch's timestamp). An empty segment never rolls. The
// segment left behind is flushed, as Kafka flushes it after a roll.
func (l *Log) maybeRoll(size int, maxTS int64, now time.Duration) error {
	a := l.active()
	if a.file.Size() == 0 {
		return nil
	}
	tc := l.cfg.Topic.orDefault()
	full := int64(a.file.Size())+int64(size) > tc.SegmentBytes
	old := a.firstTS >= 0 && maxTS-a.firstTS > tc.SegmentMs
	if !full && !old {
		return nil
	}
	return l.roll(now)
}

// roll flushes the active segment, writes a producer-state snapshot at
// the log end offset (snapshot.go) and starts a new segment there.
func (l *Log) roll(now time.Duration) error {
	if err := l.active().file.Sync(); err != nil {
		return err
	}
	if err := l.writeSnapshot(l.leo); err != nil {
		return err
	}
	if l.recoveryPoint >= l.active().base {
		l.recoveryPoint = l.leo
	}
	return l.newSegment(l.leo, now)
}

// segmentOf returns the segment holding the batch e.
func (l *Log) segmentOf(e entry) *segment { return e.seg }

// segmentEnd returns the offset after segment i: the next one's base, or
// the log end offset for the active segment.
func (l *Log) segmentEnd(i int) int64 {
	if i+1 < len(l.segs) {
		return l.segs[i+1].base
	}
	return l.leo
}

// SegmentInfo describes one segment for scripts and checkers.
type SegmentInfo struct {
	// BaseOffset is the segment's first offset (its file's name).
	BaseOffset int64
	// EndOffset is the offset after its last: the next segment's base,
	// or the log end offset.
	EndOffset int64
	// Bytes is the file's size; Batches how many batches it holds.
	Bytes, Batches int
	// MaxTimestamp is the largest timestamp in it, -1 when empty.
	MaxTimestamp int64
}

// Segments describes the log's segments, oldest first; the last is the
// active one.
func (l *Log) Segments() []SegmentInfo {
	out := make([]SegmentInfo, len(l.segs))
	j := 0
	for i, s := range l.segs {
		n := 0
		for j < len(l.index) && l.index[j].seg == s {
			n++
			j++
		}
		out[i] = SegmentInfo{BaseOffset: s.base, EndOffset: l.segmentEnd(i), Bytes: s.file.Size(), Batches: n, MaxTimestamp: s.maxTS}
	}
	return out
}

// removeSegments deletes the first n segments' files and index entries.
func (l *Log) removeSegments(n int) error {
	if n <= 0 {
		return nil
	}
	gone := l.segs[:n]
	keep := l.segs[n] // removeSegments never removes the active segment
	k := sort.Search(len(l.index), func(i int) bool { return l.index[i].seg == keep || l.index[i].base >= keep.base })
	l.index = slices.Clone(l.index[k:])
	l.decoded.valid = false
	var errs []error
	for _, s := range gone {
		errs = append(errs, l.disk.Remove(s.file.Name()))
	}
	l.segs = slices.Clone(l.segs[n:])
	// A segment's producer-state snapshot goes with it.
	errs = append(errs, l.deleteSnapshots(func(o int64) bool { return o < keep.base }))
	return errors.Join(errs...)
}

// recoverSegment rebuilds the index of one segment during recovery: each
// batch must start at or after next (compaction leaves gaps), and batches
// from the recovery point on (all of them after an unclean shutdown with
// no recovery point) must pass their CRC check. It returns where a torn or
// corrupt tail starts and why, or an empty reason.
func (l *Log) recoverSegment(s *segment, next *int64, opt OpenOptions) (int, string, error) {
	b, err := s.file.Bytes()
	if err != nil {
		return 0, "", err
	}
	pos := 0
	for pos < len(b) {
		h, err := protocol.ParseBatchHeader(b[pos:])
		if err == nil && h.BaseOffset < *next {
			err = fmt.Errorf("batch at byte %d of segment %s has base offset %d, expected at least %d", pos, SegmentName(s.base), h.BaseOffset, *next)
		}
		if err == nil && !opt.Clean && h.BaseOffset >= opt.RecoveryPoint {
			err = protocol.VerifyCRC(b[pos:], h)
		}
		if err != nil {
			if opt.Clean {
				return 0, "", fmt.Errorf("partition %s: log is corrupt after a clean shutdown at byte %d of segment %s: %w", l.tp, pos, SegmentName(s.base), err)
			}
			return pos, err.Error(), nil
		}
		e := l.entryOf(h, pos)
		e.seg = s
		s.observe(h)
		l.index = append(l.index, e)
		*next = h.NextOffset()
		pos += h.Size()
	}
	return pos, "", nil
}

// segmentsBytes sums the sizes of the segments from i on.
func (l *Log) segmentsBytes(i int) int {
	n := 0
	for _, s := range l.segs[i:] {
		n += s.file.Size()
	}
	return n
}

// dropSegmentsFrom deletes the segments from i on (never the first).
func (l *Log) dropSegmentsFrom(i int) error {
	i = max(i, 1)
	var errs []error
	for _, s := range l.segs[i:] {
		errs = append(errs, l.disk.Remove(s.file.Name()))
	}
	l.segs = l.segs[:i]
	return errors.Join(errs...)
}

// truncateSegments cuts the log at byte pos of segment s: the segments
// after it are deleted, as Kafka's truncateTo deletes the segments above
// the target offset.
func (l *Log) truncateSegments(s *segment, pos int) error {
	i := slices.Index(l.segs, s)
	if err := l.dropSegmentsFrom(i + 1); err != nil {
		return err
	}
	if err := s.file.Truncate(pos); err != nil {
		return err
	}
	s.firstTS, s.maxTS = -1, -1
	for _, e := range l.index {
		if e.seg == s && e.pos < pos {
			s.observe(protocol.BatchHeader{MaxTimestamp: e.maxTS})
		}
	}
	return nil
}

// segmentEndOf returns the offset after segment s.
func (l *Log) segmentEndOf(s *segment) int64 {
	return l.segmentEnd(slices.Index(l.segs, s))
}
