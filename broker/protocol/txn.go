package protocol

// Kafka's error codes of transactions (KIP-98, KIP-890), with Kafka's
// numbering.
const (
	InvalidTxnState              ErrorCode = 48
	InvalidProducerIdMapping     ErrorCode = 49
	InvalidTransactionTimeout    ErrorCode = 50
	ConcurrentTransactions       ErrorCode = 51
	TransactionCoordinatorFenced ErrorCode = 52
	TransactionalIdNotFound      ErrorCode = 105
	TransactionAbortable         ErrorCode = 120
)

func init() {
	for code, info := range map[ErrorCode]errorInfo{
		InvalidTxnState:              {"INVALID_TXN_STATE", false, "the producer attempted a transactional operation in an invalid state"},
		InvalidProducerIdMapping:     {"INVALID_PRODUCER_ID_MAPPING", false, "the producer id does not match the transactional id"},
		InvalidTransactionTimeout:    {"INVALID_TRANSACTION_TIMEOUT", false, "transaction.timeout.ms is above transaction.max.timeout.ms or not positive"},
		ConcurrentTransactions:       {"CONCURRENT_TRANSACTIONS", true, "the producer's previous transaction is still being completed"},
		TransactionCoordinatorFenced: {"TRANSACTION_COORDINATOR_FENCED", false, "a newer transaction coordinator has written for this producer"},
		TransactionalIdNotFound:      {"TRANSACTIONAL_ID_NOT_FOUND", false, "the transactional id has no state on its coordinator"},
		TransactionAbortable:         {"TRANSACTION_ABORTABLE", false, "the transaction failed on the server and must be aborted"},
	} {
		errorTable[code] = info
	}
}

// NewTxnRecords encodes one transactional batch (attribute bit 4) of
// values from producer p, ready for a Produce request.
func NewTxnRecords(p Producer, ts int64, values ...string) Records {
	recs := make([]Record, len(values))
	for i, v := range values {
		recs[i] = Record{Timestamp: ts, Value: []byte(v)}
	}
	return AppendTxnBatch(nil, p, recs)
}

// AppendTxnBatch encodes records as one transactional batch of producer p
// at the end of dst, with relative offsets from 0 and no leader epoch.
func AppendTxnBatch(dst []byte, p Producer, records []Record) []byte {
	if len(records) == 0 {
		panic("protocol: AppendTxnBatch with no records")
	}
	baseTS, maxTS := records[0].Timestamp, records[0].Timestamp
	for _, r := range records {
		maxTS = max(maxTS, r.Timestamp)
	}
	return appendBatch(dst, BatchHeader{BaseOffset: 0, PartitionLeaderEpoch: NoPartitionLeaderEpoch, Attributes: AttrTransactional,
		LastOffsetDelta: int32(len(records) - 1), BaseTimestamp: baseTS, MaxTimestamp: maxTS,
		ProducerID: p.ID, ProducerEpoch: p.Epoch, BaseSequence: p.BaseSequence}, records, true)
}

// ControlTypeOf returns the type of a control batch's marker: the key of
// its first record.
func ControlTypeOf(batch []byte, h BatchHeader) (ControlType, error) {
	t, found := ControlAbort, false
	var kerr error
	err := DecodeRecords(batch, h, func(r Record) bool {
		k, err := DecodeControlRecordKey(r.Key)
		if err != nil {
			kerr = err
			return false
		}
		t, found = k.Type, true
		return false
	})
	if err == nil {
		err = kerr
	}
	if err == nil && !found {
		err = corrupt("control batch at offset %d holds no record", h.BaseOffset)
	}
	return t, err
}

// An AbortedTransaction is an entry of a partition's aborted-transactions
// index as a Fetch response carries it: the producer and the first offset
// of its aborted transaction on the partition.
type AbortedTransaction struct {
	ProducerID  int64
	FirstOffset int64
}

// foldTxn adds a read_committed fetch's last stable offset and aborted
// transactions to a digest.
func foldTxn(h uint64, p FetchPartitionResponse) uint64 {
	h = fold(h, uint64(p.LastStableOffset))
	for _, a := range p.AbortedTransactions {
		h = fold(h, uint64(a.ProducerID), uint64(a.FirstOffset))
	}
	return h
}

// An AbortFilter drops the data of aborted transactions from the batches
// of a read_committed fetch, as Kafka's consumer does with the response's
// aborted-transactions list: a transactional batch is skipped when its
// producer has an aborted transaction that started at or before the
// batch's last offset, until that producer's abort marker.
type AbortFilter struct {
	pending []AbortedTransaction // by first offset
	aborted map[int64]bool
}

// NewAbortFilter returns a filter for one partition of a fetch response.
func NewAbortFilter(aborted []AbortedTransaction) *AbortFilter {
	pending := append([]AbortedTransaction(nil), aborted...)
	for i := 1; i < len(pending); i++ { // insertion sort: lists are short and mostly sorted
		for j := i; j > 0 && pending[j].FirstOffset < pending[j-1].FirstOffset; j-- {
			pending[j], pending[j-1] = pending[j-1], pending[j]
		}
	}
	return &AbortFilter{pending: pending, aborted: make(map[int64]bool)}
}

// Skip reports whether the batch (header h, bytes b) must not be returned
// to a read_committed reader: it is aborted data or a marker. Batches
// must be given in offset order.
func (f *AbortFilter) Skip(h BatchHeader, b []byte) bool {
	if h.HasProducer() {
		// Aborted transactions that began at or before this batch, a
		// marker included: an abort marker met before its transaction's
		// data would otherwise leave the producer marked aborted.
		for len(f.pending) > 0 && f.pending[0].FirstOffset <= h.LastOffset() {
			f.aborted[f.pending[0].ProducerID] = true
			f.pending = f.pending[1:]
		}
	}
	if h.IsControl() {
		if t, err := ControlTypeOf(b, h); err == nil && t == ControlAbort {
			delete(f.aborted, h.ProducerID)
		}
		return true
	}
	return h.IsTransactional() && f.aborted[h.ProducerID]
}

// TxnMarker is a transaction marker to append: the end of a producer's
// transaction, committed or aborted, from the coordinator at
// CoordinatorEpoch.
type TxnMarker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Committed        bool
	CoordinatorEpoch int32
}
