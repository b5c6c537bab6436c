package log

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// cleanedSuffix names a segment's cleaned copy until it replaces the
// segment (Kafka writes ".cleaned", then swaps).
const cleanedSuffix = ".cleaned"

// CleanResult describes one cleaning of a compacted log.
type CleanResult struct {
	// FirstDirty and End bound the dirty section that was cleaned
	// [FirstDirty, End); End is the new cleaner checkpoint.
	FirstDirty, End int64
	// DirtyRatio is the share of dirty bytes that made the log cleanable.
	DirtyRatio float64
	// BytesBefore and BytesAfter are the cleaned segments' sizes.
	BytesBefore, BytesAfter int
	// Removed counts the records removed: superseded by a later record
	// of their key, or tombstones older than delete.retention.ms.
	Removed, Tombstones int
	// Retained counts the batches kept empty because they were their
	// producer's last.
	Retained int
}

// CleanerCheckpoint returns the offset up to which the log cleaner has
// cleaned the log (what cleaner-offset-checkpoint holds for it), or 0.
func (l *Log) CleanerCheckpoint() int64 { return l.cleanedTo }

// SetCleanerCheckpoint sets the cleaner's checkpoint read from
// cleaner-offset-checkpoint.
func (l *Log) SetCleanerCheckpoint(offset int64) { l.cleanedTo = max(offset, 0) }

// firstUncleanable is where the cleaner must stop (Kafka's
// firstUncleanableDirtyOffset): the base of the first segment that is the
// active one, reaches above the high-water mark, or holds a record newer
// than min.compaction.lag.ms.
func (l *Log) firstUncleanable(nowMs int64) int64 {
	lag := l.cfg.Topic.orDefault().MinCompactionLagMs
	for i, s := range l.segs {
		if i == len(l.segs)-1 || l.segmentEnd(i) > l.hwm || (lag > 0 && s.maxTS > nowMs-lag) {
			return s.base
		}
	}
	return l.active().base
}

// DirtyRatio returns the share of the log's bytes from the cleaner's
// checkpoint up to where cleaning must stop, and that bound.
func (l *Log) DirtyRatio(nowMs int64) (float64, int64) {
	firstDirty := max(l.cleanedTo, l.startOffset)
	end := l.firstUncleanable(nowMs)
	var clean, dirty int
	for i, s := range l.segs {
		switch next := l.segmentEnd(i); {
		case s.base >= end:
		case next <= firstDirty:
			clean += s.file.Size()
		default:
			dirty += s.file.Size()
		}
	}
	if dirty == 0 {
		return 0, end
	}
	return float64(dirty) / float64(clean+dirty), end
}

// Clean compacts the log once if its cleanup.policy includes compact and
// its dirty ratio reaches min.cleanable.dirty.ratio (Kafka's LogCleaner):
// it maps every key of the dirty section to its latest offset, then
// rewrites each segment below the end of the dirty section keeping only
// the records no later record of their key supersedes; tombstones (a key
// with a null value) that an earlier cleaning already kept go once they
// are older than delete.retention.ms. Offsets never change: cleaned
// batches keep their base and last offsets, and a batch left with no
// record goes unless it is its producer's last, which stays empty. The active segment is never touched. Each segment's cleaned
// copy is written and synced under a ".cleaned" name, then renamed over
// the segment. It reports false when there was nothing to do.
func (l *Log) Clean(nowMs int64) (CleanResult, bool, error) {
	tc := l.cfg.Topic.orDefault()
	if !tc.Compact {
		return CleanResult{}, false, nil
	}
	ratio, end := l.DirtyRatio(nowMs)
	firstDirty := max(l.cleanedTo, l.startOffset)
	if end <= firstDirty || ratio == 0 || ratio < tc.MinCleanableDirtyRatio {
		return CleanResult{}, false, nil
	}
	res := CleanResult{FirstDirty: firstDirty, End: end, DirtyRatio: ratio}
	// The offset map: each key's latest offset in the dirty section.
	latest := map[string]int64{}
	for _, e := range l.index {
		if e.base >= end {
			break
		}
		if e.last < firstDirty || e.control {
			continue
		}
		b, err := e.seg.file.Bytes()
		if err != nil {
			return res, false, err
		}
		h, err := protocol.ParseBatchHeader(b[e.pos:])
		if err != nil {
			return res, false, err
		}
		if err := protocol.DecodeRecords(b[e.pos:], h, func(r protocol.Record) bool {
			if r.Offset >= firstDirty && r.Key != nil {
				latest[string(r.Key)] = r.Offset
			}
			return true
		}); err != nil {
			return res, false, err
		}
	}
	horizon := nowMs - tc.DeleteRetentionMs
	// Each idempotent or transactional producer's last batch stays, empty
	// if need be, so that its sequence and epoch survive the cleaning and
	// a restart (Kafka's cleaner retains the last batch of every producer).
	lastOf := map[int64]int64{}
	for _, e := range l.index {
		if e.pid != protocol.NoProducerID && !e.control {
			lastOf[e.pid] = e.base
		}
	}
	var index []entry
	i := 0
	for _, s := range l.segs {
		if s.base >= end {
			break
		}
		var out []byte
		var entries []entry
		s.firstTS, s.maxTS = -1, -1
		for ; i < len(l.index) && l.index[i].seg == s; i++ {
			e := l.index[i]
			b, err := s.file.Bytes()
			if err != nil {
				return res, false, err
			}
			batch, err := protocol.DecodeBatch(b[e.pos : e.pos+e.size])
			if err != nil {
				return res, false, err
			}
			kept := batch.Records[:0]
			for _, r := range batch.Records {
				if batch.Header.IsControl() {
					kept = append(kept, r)
					continue
				}
				if o, ok := latest[string(r.Key)]; ok && r.Key != nil && r.Offset < o {
					res.Removed++
					continue
				}
				if r.Value == nil && r.Offset < firstDirty && r.Timestamp < horizon {
					res.Removed++
					res.Tombstones++
					continue
				}
				kept = append(kept, r)
			}
			if len(kept) == 0 {
				if last, ok := lastOf[e.pid]; !ok || last != e.base {
					continue
				}
				res.Retained++
			}
			batch.Records = kept
			pos := len(out)
			out = protocol.AppendBatchOf(out, batch)
			h, err := protocol.ParseBatchHeader(out[pos:])
			if err != nil {
				return res, false, err
			}
			ne := l.entryOf(h, pos)
			ne.seg = s
			s.observe(h)
			entries = append(entries, ne)
		}
		res.BytesBefore += s.file.Size()
		res.BytesAfter += len(out)
		if err := l.swapSegment(s, out); err != nil {
			return res, false, err
		}
		index = append(index, entries...)
	}
	l.index = append(index, l.index[i:]...)
	l.decoded.valid = false
	l.cleanedTo = end
	l.rebuildProducers()
	return res, true, nil
}

// swapSegment replaces a segment's content with its cleaned copy: written
// and synced under the ".cleaned" name, then renamed over the segment.
func (l *Log) swapSegment(s *segment, content []byte) error {
	name := s.file.Name()
	f, err := l.disk.Create(name + cleanedSuffix)
	if err != nil {
		return err
	}
	if err := f.WriteAt(content, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := l.disk.Rename(name+cleanedSuffix, name); err != nil {
		return err
	}
	s.file = f
	return nil
}

// removeCleanedLeftovers deletes the cleaned copies a crash left behind
// before they replaced their segments.
func (l *Log) removeCleanedLeftovers() error {
	for _, name := range l.disk.List(l.dir) {
		if strings.HasSuffix(name, cleanedSuffix) {
			if err := l.disk.Remove(name); err != nil {
				return fmt.Errorf("partition %s: %w", l.tp, err)
			}
		}
	}
	return nil
}

// Keys returns, for scripts and checkers, each key's records in the log in
// offset order, as "offset:value" (a tombstone's value is "<nil>").
func (l *Log) Keys() map[string][]string {
	out := map[string][]string{}
	for _, bi := range l.batchRecords() {
		for _, r := range bi {
			v := "<nil>"
			if r.Value != nil {
				v = string(r.Value)
			}
			out[string(r.Key)] = append(out[string(r.Key)], fmt.Sprintf("%d:%s", r.Offset, v))
		}
	}
	return out
}

// batchRecords decodes every data record of the log, batch by batch.
func (l *Log) batchRecords() [][]protocol.Record {
	var out [][]protocol.Record
	for _, e := range l.index {
		if e.control {
			continue
		}
		b, err := e.seg.file.Bytes()
		if err != nil {
			return out
		}
		batch, err := protocol.DecodeBatch(b[e.pos : e.pos+e.size])
		if err != nil {
			return out
		}
		out = append(out, slices.Clone(batch.Records))
	}
	return out
}

// checkKeys refuses a batch with a record without a key for a compacted
// topic, as Kafka does (INVALID_RECORD: a compacted topic cannot accept a
// record without a key). Transaction markers are exempt.
func (l *Log) checkKeys(records []byte, h protocol.BatchHeader) error {
	if !l.cfg.Topic.orDefault().Compact || h.IsControl() {
		return nil
	}
	var bad error
	_ = protocol.DecodeRecords(records, h, func(r protocol.Record) bool {
		if r.Key == nil {
			bad = appendErr(protocol.InvalidRecord, "compacted topic %s cannot accept a record without a key (cleanup.policy %s)", l.tp.Topic, l.cfg.Topic.CleanupPolicy())
			return false
		}
		return true
	})
	return bad
}
