package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// Producer-state snapshots, as Kafka's ProducerStateManager keeps them: at
// every segment roll (before the rolling batch enters producer state) and
// at a clean shutdown, the partition's producer state is written to
// "<offset>.snapshot", offset being the log end offset it was taken at.
// The file says: every producer's state as the log below offset leaves it.
// Recovery and truncation load the latest snapshot at or below the log end
// offset and replay only the batches from its offset on, instead of the
// whole log; snapshots above the log end offset are deleted, and a
// segment's snapshot goes with the segment.
//
// Each entry holds what Kafka's snapshot holds of a producer (id, epoch,
// last sequence and offset through its cached batches, the coordinator
// epoch of its last transaction marker, its open transaction's first
// offset) and, unlike Kafka's, every one of the five cached batches rather
// than the last only, so that a state loaded from a snapshot deduplicates
// exactly as one rebuilt from the whole log.

// SnapshotSuffix ends the name of a producer-state snapshot file.
const SnapshotSuffix = ".snapshot"

// snapshotVersion is the format this build writes and reads.
const snapshotVersion = 1

// SnapshotName returns the file name of the producer-state snapshot taken
// at offset: the offset in 20 digits and ".snapshot", as Kafka names it.
func SnapshotName(offset int64) string { return fmt.Sprintf("%020d%s", offset, SnapshotSuffix) }

func parseSnapshotName(file string) (int64, bool) {
	digits, ok := strings.CutSuffix(file, SnapshotSuffix)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil && n >= 0
}

// snapshotEntry is one producer's state in a snapshot: the union of what
// the producer map, the open transactions and the coordinator epochs hold
// for one producer id.
type snapshotEntry struct {
	pid              int64
	producer         *ProducerEntry // nil when the map has none
	ongoing          *OngoingTxn    // nil when no transaction is open
	coordinatorEpoch int32
	hasCoordinator   bool
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Entry flags.
const (
	snapHasProducer    = 1 << 0
	snapHasOngoing     = 1 << 1
	snapHasCoordinator = 1 << 2
)

// encodeSnapshot writes the producer state: version (int16), CRC-32C of
// what follows (uint32), entry count (int32), then per producer id, in
// order: id (int64), flags (int8), epoch (int16), coordinator epoch
// (int32), open transaction's epoch (int16) and first offset (int64, -1
// when none), batch count (int8), and per batch its first and last
// sequence (int32) and first and last offset (int64).
func (l *Log) encodeSnapshot() []byte {
	pids := make(map[int64]bool, len(l.producers))
	for pid := range l.producers {
		pids[pid] = true
	}
	for pid := range l.txns.ongoing {
		pids[pid] = true
	}
	for pid := range l.txns.coordinatorEpoch {
		pids[pid] = true
	}
	b := make([]byte, 10, 10+len(pids)*(31+MaxCachedBatches*24))
	binary.BigEndian.PutUint16(b, snapshotVersion)
	binary.BigEndian.PutUint32(b[6:], uint32(len(pids)))
	for _, pid := range slices.Sorted(maps.Keys(pids)) {
		var flags byte
		p := l.producers[pid]
		o, open := l.txns.ongoing[pid]
		c, coord := l.txns.coordinatorEpoch[pid]
		if p != nil {
			flags |= snapHasProducer
		} else {
			p = &ProducerEntry{}
		}
		if !open {
			o = OngoingTxn{FirstOffset: protocol.NoOffset}
		} else {
			flags |= snapHasOngoing
		}
		if coord {
			flags |= snapHasCoordinator
		}
		b = binary.BigEndian.AppendUint64(b, uint64(pid))
		b = append(b, flags)
		b = binary.BigEndian.AppendUint16(b, uint16(p.Epoch))
		b = binary.BigEndian.AppendUint32(b, uint32(c))
		b = binary.BigEndian.AppendUint16(b, uint16(o.Epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(o.FirstOffset))
		b = append(b, byte(p.n))
		for _, m := range p.Batches() {
			b = binary.BigEndian.AppendUint32(b, uint32(m.FirstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.LastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.FirstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.LastOffset))
		}
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[6:], castagnoli))
	return b
}

// errShortSnapshot is a snapshot file that ends inside an entry.
var errShortSnapshot = errors.New("the file ends inside an entry")

// decodeSnapshot reads a file encodeSnapshot wrote.
func decodeSnapshot(b []byte) ([]snapshotEntry, error) {
	if len(b) < 10 {
		return nil, fmt.Errorf("%d bytes, a snapshot has at least 10 (version, CRC, count)", len(b))
	}
	if v := binary.BigEndian.Uint16(b); v != snapshotVersion {
		return nil, fmt.Errorf("version %d, this build reads version %d", v, snapshotVersion)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[6:], castagnoli); want != got {
		return nil, fmt.Errorf("CRC %08x does not match the content's %08x", want, got)
	}
	n := int(binary.BigEndian.Uint32(b[6:]))
	r := b[10:]
	out := make([]snapshotEntry, 0, min(n, len(r)/26))
	for range n {
		if len(r) < 26 {
			return nil, errShortSnapshot
		}
		e := snapshotEntry{pid: int64(binary.BigEndian.Uint64(r))}
		flags := r[8]
		p := &ProducerEntry{Epoch: int16(binary.BigEndian.Uint16(r[9:]))}
		e.coordinatorEpoch = int32(binary.BigEndian.Uint32(r[11:]))
		o := OngoingTxn{ProducerID: e.pid, Epoch: int16(binary.BigEndian.Uint16(r[15:])), FirstOffset: int64(binary.BigEndian.Uint64(r[17:]))}
		nb := int(r[25])
		r = r[26:]
		if nb > MaxCachedBatches || len(r) < nb*24 {
			return nil, fmt.Errorf("producer %d: %d cached batches in %d bytes, at most %d of 24 bytes each", e.pid, nb, len(r), MaxCachedBatches)
		}
		for range nb {
			p.batches[p.n] = BatchMeta{FirstSeq: int32(binary.BigEndian.Uint32(r)), LastSeq: int32(binary.BigEndian.Uint32(r[4:])),
				FirstOffset: int64(binary.BigEndian.Uint64(r[8:])), LastOffset: int64(binary.BigEndian.Uint64(r[16:]))}
			p.n++
			r = r[24:]
		}
		if flags&snapHasProducer != 0 {
			e.producer = p
		}
		if flags&snapHasOngoing != 0 {
			e.ongoing = &o
		}
		e.hasCoordinator = flags&snapHasCoordinator != 0
		out = append(out, e)
	}
	if len(r) != 0 {
		return nil, fmt.Errorf("%d bytes after the last of %d entries", len(r), n)
	}
	return out, nil
}

// writeSnapshot writes the producer state as the snapshot at offset (the
// log end offset), durably: a temporary file, fsync, rename.
func (l *Log) writeSnapshot(offset int64) error {
	return WriteFileAtomic(l.disk, l.dir+SnapshotName(offset), l.encodeSnapshot())
}

// TakeProducerSnapshot writes a producer-state snapshot at the log end
// offset, as Kafka does when it closes a log at a clean shutdown: the next
// start loads it and replays nothing.
func (l *Log) TakeProducerSnapshot() error { return l.writeSnapshot(l.leo) }

// ProducerSnapshots returns the offsets of the partition's producer-state
// snapshots on the disk, in order.
func (l *Log) ProducerSnapshots() []int64 {
	var out []int64
	for _, name := range l.disk.List(l.dir) {
		if o, ok := parseSnapshotName(strings.TrimPrefix(name, l.dir)); ok {
			out = append(out, o)
		}
	}
	return out
}

// deleteSnapshots removes the snapshots whose offset satisfies drop.
func (l *Log) deleteSnapshots(drop func(offset int64) bool) error {
	var errs []error
	for _, o := range l.ProducerSnapshots() {
		if drop(o) {
			errs = append(errs, l.disk.Remove(l.dir+SnapshotName(o)))
		}
	}
	return errors.Join(errs...)
}

// loadSnapshot reads the snapshot at offset.
func (l *Log) loadSnapshot(offset int64) ([]snapshotEntry, error) {
	f, err := l.disk.Open(l.dir + SnapshotName(offset))
	if err != nil {
		return nil, err
	}
	b, err := f.Bytes()
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(b)
}

// reloadProducers rebuilds producer state after recovery or truncation as
// Kafka's truncateAndReload does: snapshots above the log end offset are
// deleted, the latest one left is loaded (a corrupt one is deleted and the
// one before it tried), and the batches from its offset on are replayed.
// With no snapshot the state is rebuilt from the whole log. The
// aborted-transactions index (Kafka's per-segment .txnindex files, not
// part of the snapshot) is always rebuilt from the log.
func (l *Log) reloadProducers() error {
	l.rebuildProducers()
	if err := l.deleteSnapshots(func(o int64) bool { return o > l.leo }); err != nil {
		return err
	}
	offsets := l.ProducerSnapshots()
	for i := len(offsets) - 1; i >= 0; i-- {
		entries, err := l.loadSnapshot(offsets[i])
		if err != nil {
			if err := l.disk.Remove(l.dir + SnapshotName(offsets[i])); err != nil {
				return err
			}
			continue
		}
		l.applySnapshot(offsets[i], entries)
		return nil
	}
	return nil
}

// applySnapshot replaces producer state with a snapshot's and replays the
// batches from its offset on.
func (l *Log) applySnapshot(offset int64, entries []snapshotEntry) {
	aborted := slices.Clone(l.txns.aborted)
	clear(l.producers)
	clear(l.txns.ongoing)
	clear(l.txns.coordinatorEpoch)
	for _, e := range entries {
		if e.producer != nil {
			l.producers[e.pid] = e.producer
		}
		if e.ongoing != nil {
			l.txns.ongoing[e.pid] = *e.ongoing
		}
		if e.hasCoordinator {
			l.txns.coordinatorEpoch[e.pid] = e.coordinatorEpoch
		}
	}
	for i := l.find(offset); i < len(l.index); i++ {
		if l.index[i].base >= offset {
			l.updateProducer(l.index[i])
		}
	}
	l.txns.aborted = aborted
}

// AppendLastProducerBatches appends to dst, by producer id, the last batch
// producer state remembers of each producer that has one.
func (l *Log) AppendLastProducerBatches(dst []model.ProducerBatch) []model.ProducerBatch {
	for _, pid := range slices.Sorted(maps.Keys(l.producers)) {
		p := l.producers[pid]
		if p.n == 0 {
			continue
		}
		m := p.batches[p.n-1]
		dst = append(dst, model.ProducerBatch{ProducerID: pid, ProducerEpoch: p.Epoch, FirstSequence: m.FirstSeq, LastSequence: m.LastSeq,
			FirstOffset: m.FirstOffset, LastOffset: m.LastOffset})
	}
	return dst
}
