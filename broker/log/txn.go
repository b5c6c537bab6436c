package log

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// AbortedTxn is an entry of the aborted-transactions index (Kafka's
// AbortedTxn in the .txnindex file): a producer's aborted transaction on
// this partition, from its first data offset to the offset of its abort
// marker.
type AbortedTxn struct {
	ProducerID  int64
	FirstOffset int64
	LastOffset  int64
}

// OngoingTxn is a transaction whose data is in the log and whose marker is
// not: it holds the last stable offset at its first offset.
type OngoingTxn struct {
	ProducerID  int64
	Epoch       int16
	FirstOffset int64
}

// txnState is a partition's transactional producer state (the part of
// Kafka's ProducerStateManager that tracks transactions) and its
// aborted-transactions index. Like the rest of producer state it is
// rebuilt from the log on recovery and truncation.
type txnState struct {
	ongoing map[int64]OngoingTxn
	aborted []AbortedTxn // in marker order
	// coordinatorEpoch is the epoch of the transaction coordinator that
	// wrote each producer's last marker: a marker from an older
	// coordinator is fenced.
	coordinatorEpoch map[int64]int32
	// verifying is each producer's verification guard under way, and
	// guards counts the guards handed out. They are the leader's memory,
	// not rebuilt from the log.
	verifying map[int64]VerificationGuard
	guards    uint64
}

func (t *txnState) reset() {
	if t.ongoing == nil {
		t.ongoing = make(map[int64]OngoingTxn)
		t.coordinatorEpoch = make(map[int64]int32)
	}
	clear(t.ongoing)
	clear(t.coordinatorEpoch)
	t.aborted = t.aborted[:0]
}

// observeTxn updates transaction state for a batch entering the index (an
// append, or recovery's rebuild). It reports whether the batch was a
// marker, which producer sequence state does not see.
func (l *Log) observeTxn(e entry) bool {
	if l.txns.ongoing == nil {
		l.txns.reset()
	}
	if e.pid == protocol.NoProducerID {
		return e.control
	}
	if !e.control {
		if e.txn {
			if _, ok := l.txns.ongoing[e.pid]; !ok {
				l.txns.ongoing[e.pid] = OngoingTxn{ProducerID: e.pid, Epoch: e.pepoch, FirstOffset: e.base}
			}
		}
		return false
	}
	typ, ok := l.markerType(e)
	if ok {
		l.completeTxn(e, typ)
	}
	return true
}

// completeTxn applies a marker: the producer's open transaction ends, an
// abort enters the index, and a marker at a higher producer epoch (a
// fencing abort, or transactions version 2's bump at every end) moves the
// producer to that epoch with a fresh sequence.
func (l *Log) completeTxn(e entry, typ protocol.ControlType) {
	delete(l.txns.verifying, e.pid)
	if o, open := l.txns.ongoing[e.pid]; open {
		delete(l.txns.ongoing, e.pid)
		if typ == protocol.ControlAbort {
			l.txns.aborted = append(l.txns.aborted, AbortedTxn{ProducerID: e.pid, FirstOffset: o.FirstOffset, LastOffset: e.base})
		}
	}
	if c, err := l.markerCoordinatorEpoch(e); err == nil {
		l.txns.coordinatorEpoch[e.pid] = c
	}
	p := l.producers[e.pid]
	if p == nil {
		l.producers[e.pid] = &ProducerEntry{Epoch: e.pepoch}
	} else if e.pepoch > p.Epoch {
		p.Epoch, p.n = e.pepoch, 0
	}
}

// batchBytes returns the bytes of an indexed batch.
func (l *Log) batchBytes(e entry) ([]byte, protocol.BatchHeader, bool) {
	if e.seg == nil {
		return nil, protocol.BatchHeader{}, false
	}
	b, err := e.seg.file.Bytes()
	if err != nil || e.pos+e.size > len(b) {
		return nil, protocol.BatchHeader{}, false
	}
	h, err := protocol.ParseBatchHeader(b[e.pos:])
	if err != nil {
		return nil, protocol.BatchHeader{}, false
	}
	return b[e.pos : e.pos+e.size], h, true
}

func (l *Log) markerType(e entry) (protocol.ControlType, bool) {
	b, h, ok := l.batchBytes(e)
	if !ok {
		return 0, false
	}
	t, err := protocol.ControlTypeOf(b, h)
	return t, err == nil && (t == protocol.ControlAbort || t == protocol.ControlCommit)
}

func (l *Log) markerCoordinatorEpoch(e entry) (int32, error) {
	b, h, ok := l.batchBytes(e)
	if !ok {
		return 0, fmt.Errorf("batch at offset %d unreadable", e.base)
	}
	var epoch int32
	var merr error
	err := protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
		m, err := protocol.DecodeEndTxnMarker(r.Value)
		epoch, merr = m.CoordinatorEpoch, err
		return false
	})
	if err == nil {
		err = merr
	}
	return epoch, err
}

// Marker is a transaction marker a leader is asked to write
// (WriteTxnMarkers): the end of producer ProducerID's transaction at
// ProducerEpoch, committed or aborted, by the coordinator at
// CoordinatorEpoch.
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Type             protocol.ControlType
	CoordinatorEpoch int32
}

// AppendMarker writes a transaction marker as the leader at leaderEpoch
// (Kafka's appendAsLeader with origin COORDINATOR). A marker older than
// the producer's epoch is INVALID_PRODUCER_EPOCH; one from a coordinator
// older than the one that wrote the producer's last marker is
// TRANSACTION_COORDINATOR_FENCED. A marker for a producer with no open
// transaction here is still written (the coordinator cannot know which
// partitions received data), as Kafka does.
func (l *Log) AppendMarker(m Marker, leaderEpoch int32, now time.Duration) (AppendInfo, error) {
	if p := l.producers[m.ProducerID]; p != nil && m.ProducerEpoch < p.Epoch {
		return AppendInfo{}, appendErr(protocol.InvalidProducerEpoch, "marker for producer %d at epoch %d, the partition knows epoch %d", m.ProducerID, m.ProducerEpoch, p.Epoch)
	}
	if c, ok := l.txns.coordinatorEpoch[m.ProducerID]; ok && m.CoordinatorEpoch < c {
		return AppendInfo{}, appendErr(protocol.TransactionCoordinatorFenced, "marker for producer %d from coordinator epoch %d, the last marker came from epoch %d", m.ProducerID, m.CoordinatorEpoch, c)
	}
	batch := protocol.AppendControlBatch(l.scratch[:0], l.leo, leaderEpoch,
		protocol.Producer{ID: m.ProducerID, Epoch: m.ProducerEpoch, BaseSequence: protocol.NoSequence}, now.Milliseconds(), m.Type, m.CoordinatorEpoch)
	l.scratch = batch
	h, err := protocol.ParseBatchHeader(batch)
	if err != nil {
		return AppendInfo{}, appendErr(protocol.CorruptMessage, "%v", err)
	}
	if err := l.append(batch, h, now); err != nil {
		return AppendInfo{}, err
	}
	return AppendInfo{FirstOffset: h.BaseOffset, LastOffset: h.LastOffset(), Records: 1}, nil
}

// checkTxnAppend validates a client batch against transaction state, after
// the sequence checks: a non-transactional batch from a producer with an
// open transaction here is INVALID_TXN_STATE; with verify, so is a
// transactional batch that opens a transaction here without the guard of
// a verification still valid.
func (l *Log) checkTxnAppend(h protocol.BatchHeader, verify bool, guard VerificationGuard) error {
	if !h.HasProducer() {
		return nil
	}
	if !h.IsTransactional() {
		if _, open := l.txns.ongoing[h.ProducerID]; open {
			return appendErr(protocol.InvalidTxnState, "producer %d wrote a non-transactional batch while its transaction at offset %d is open", h.ProducerID, l.txns.ongoing[h.ProducerID].FirstOffset)
		}
		return nil
	}
	if !verify || l.HasOngoingTxn(h.ProducerID, h.ProducerEpoch) {
		return nil
	}
	if guard == NoGuard || l.txns.verifying[h.ProducerID] != guard {
		return appendErr(protocol.InvalidTxnState, "producer %d epoch %d: the batch is not part of an ongoing transaction (no verification of it is still valid)", h.ProducerID, h.ProducerEpoch)
	}
	delete(l.txns.verifying, h.ProducerID)
	return nil
}

// VerificationGuard identifies one verification of a producer's
// transaction on a partition (KIP-890 part 1, KAFKA-14884): the leader
// takes one before it asks the coordinator, and the batch is appended only
// if the guard is still the producer's when the answer comes. A marker for
// the producer, or a newer verification, invalidates it, so that a
// verification answered for a transaction that ended meanwhile does not
// let its batch open a transaction no marker will end.
type VerificationGuard uint64

// NoGuard is no verification (Kafka's sentinel guard).
const NoGuard VerificationGuard = 0

// HasOngoingTxn reports whether a producer has an open transaction here
// at producer epoch epoch.
func (l *Log) HasOngoingTxn(pid int64, epoch int16) bool {
	o, ok := l.txns.ongoing[pid]
	return ok && o.Epoch == epoch
}

// NeedsVerification reports whether a batch must be verified with the
// transaction coordinator before it is appended: it is transactional and
// its producer has no open transaction here at its epoch.
func (l *Log) NeedsVerification(records protocol.Records) (pid int64, epoch int16, needs bool) {
	h, err := protocol.ParseBatchHeader(records)
	if err != nil || !h.HasProducer() || !h.IsTransactional() || h.IsControl() {
		return 0, 0, false
	}
	return h.ProducerID, h.ProducerEpoch, !l.HasOngoingTxn(h.ProducerID, h.ProducerEpoch)
}

// StartVerification returns a new guard for a producer's verification,
// which replaces any earlier one.
func (l *Log) StartVerification(pid int64) VerificationGuard {
	if l.txns.verifying == nil {
		l.txns.verifying = make(map[int64]VerificationGuard)
	}
	l.txns.guards++
	g := VerificationGuard(l.txns.guards)
	l.txns.verifying[pid] = g
	return g
}

// AppendVerified is AppendAsLeader for a client's batch under partition
// verification: a transactional batch whose producer has no open
// transaction here at its epoch is appended only with the producer's
// current guard (INVALID_TXN_STATE otherwise), which it then consumes.
func (l *Log) AppendVerified(records protocol.Records, epoch int32, now time.Duration, guard VerificationGuard) (AppendInfo, error) {
	return l.appendAsLeader(records, epoch, now, true, guard)
}

// FirstUnstableOffset returns the first offset of the earliest open
// transaction, if any.
func (l *Log) FirstUnstableOffset() (int64, bool) {
	first, any := int64(0), false
	for _, o := range l.txns.ongoing {
		if !any || o.FirstOffset < first {
			first, any = o.FirstOffset, true
		}
	}
	return first, any
}

// LastStableOffset returns the last stable offset: the high-water mark,
// or the first offset of the earliest open transaction if lower.
// read_committed consumers read below it.
func (l *Log) LastStableOffset() int64 {
	if first, ok := l.FirstUnstableOffset(); ok && first < l.hwm {
		return first
	}
	return l.hwm
}

// OngoingTxns returns the open transactions, by first offset.
func (l *Log) OngoingTxns() []OngoingTxn {
	out := slices.Collect(maps.Values(l.txns.ongoing))
	slices.SortFunc(out, func(a, b OngoingTxn) int {
		if a.FirstOffset != b.FirstOffset {
			return int(a.FirstOffset - b.FirstOffset)
		}
		return int(a.ProducerID - b.ProducerID)
	})
	return out
}

// AbortedTxns returns the whole aborted-transactions index.
func (l *Log) AbortedTxns() []AbortedTxn { return slices.Clone(l.txns.aborted) }

// AbortedTransactions returns the aborted transactions whose data may lie
// in [from, upTo): those whose marker is at or after from and whose first
// offset is below upTo (Kafka's collectAbortedTransactions), for a
// read_committed fetch's response.
func (l *Log) AbortedTransactions(from, upTo int64) []protocol.AbortedTransaction {
	var out []protocol.AbortedTransaction
	i := sort.Search(len(l.txns.aborted), func(i int) bool { return l.txns.aborted[i].LastOffset >= from })
	for _, a := range l.txns.aborted[i:] {
		if a.FirstOffset < upTo {
			out = append(out, protocol.AbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset})
		}
	}
	return out
}

// AppendAsCoordinator appends a batch a coordinator wrote to its own
// internal partition (Kafka's origin COORDINATOR): a transactional offset
// commit carries the producer's id and epoch but no sequence, and is not
// checked against producer sequences.
func (l *Log) AppendAsCoordinator(records protocol.Records, epoch int32, now time.Duration) (AppendInfo, error) {
	h, err := protocol.ParseBatchHeader(records)
	if err != nil {
		return AppendInfo{}, appendErr(protocol.CorruptMessage, "%v", err)
	}
	if !h.IsTransactional() {
		return l.AppendAsLeader(records, epoch, now)
	}
	if h.Size() != len(records) {
		return AppendInfo{}, appendErr(protocol.InvalidRecord, "one record batch per partition, this one has %d trailing bytes", len(records)-h.Size())
	}
	if p := l.producers[h.ProducerID]; p != nil && h.ProducerEpoch < p.Epoch {
		return AppendInfo{}, appendErr(protocol.InvalidProducerEpoch, "producer %d epoch %d: the partition knows epoch %d", h.ProducerID, h.ProducerEpoch, p.Epoch)
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
