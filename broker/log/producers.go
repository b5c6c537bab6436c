package log

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// MaxCachedBatches is how many of a producer's most recent batches a
// partition remembers for duplicate detection (Kafka's
// ProducerStateEntry.NUM_BATCHES_TO_RETAIN).
const MaxCachedBatches = 5

// BatchMeta is what producer state remembers of one batch.
type BatchMeta struct {
	FirstSeq, LastSeq       int32
	FirstOffset, LastOffset int64
}

// ProducerEntry is one idempotent producer's state on a partition: its
// epoch and its most recent batches, oldest first.
type ProducerEntry struct {
	Epoch   int16
	batches [MaxCachedBatches]BatchMeta
	n       int
}

// Batches returns the cached batches, oldest first.
func (e *ProducerEntry) Batches() []BatchMeta { return e.batches[:e.n] }

// LastSeq returns the last sequence written, or NoSequence.
func (e *ProducerEntry) LastSeq() int32 {
	if e.n == 0 {
		return protocol.NoSequence
	}
	return e.batches[e.n-1].LastSeq
}

func (e *ProducerEntry) add(epoch int16, m BatchMeta) {
	if epoch != e.Epoch {
		e.Epoch = epoch
		e.n = 0
	}
	if e.n == MaxCachedBatches {
		copy(e.batches[:], e.batches[1:])
		e.n--
	}
	e.batches[e.n] = m
	e.n++
}

func (e *ProducerEntry) duplicateOf(h protocol.BatchHeader) (BatchMeta, bool) {
	if h.ProducerEpoch != e.Epoch {
		return BatchMeta{}, false
	}
	last := h.LastSequence()
	for _, b := range e.batches[:e.n] {
		if b.FirstSeq == h.BaseSequence && b.LastSeq == last {
			return b, true
		}
	}
	return BatchMeta{}, false
}

// checkProducer validates a client batch against the producer's state as
// Kafka's ProducerAppendInfo does, after the duplicate check. entry is nil
// for a producer the partition has no state for.
func checkProducer(entry *ProducerEntry, h protocol.BatchHeader, legacy bool) protocol.ErrorCode {
	if entry == nil {
		if legacy && h.BaseSequence != 0 {
			// Kafka 0.11–1.1 refused a first write that did not start the
			// sequence.
			return protocol.UnknownProducerId
		}
		return protocol.None // no state: any sequence is accepted
	}
	if h.ProducerEpoch < entry.Epoch {
		return protocol.InvalidProducerEpoch
	}
	if h.ProducerEpoch != entry.Epoch {
		if h.BaseSequence != 0 {
			return protocol.OutOfOrderSequenceNumber // a new epoch starts at sequence 0
		}
		return protocol.None
	}
	last := entry.LastSeq()
	if legacy && entry.n > 0 && h.LastSequence() < entry.batches[0].FirstSeq {
		// Kafka 0.11–1.1: a batch older than every cached one is a
		// duplicate the broker can no longer place.
		return protocol.DuplicateSequenceNumber
	}
	if !inSequence(last, h.BaseSequence) {
		return protocol.OutOfOrderSequenceNumber
	}
	return protocol.None
}

func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == 1<<31-1)
}
