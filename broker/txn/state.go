package txn

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// State is a transaction's state on its coordinator (Kafka's
// TransactionState).
type State int8

// The states, with Kafka's names.
const (
	Empty State = iota
	Ongoing
	PrepareCommit
	PrepareAbort
	CompleteCommit
	CompleteAbort
	Dead
	PrepareEpochFence
)

var stateNames = []string{"Empty", "Ongoing", "PrepareCommit", "PrepareAbort", "CompleteCommit", "CompleteAbort", "Dead", "PrepareEpochFence"}

func (s State) String() string {
	if int(s) < len(stateNames) && s >= 0 {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int8(s))
}

// validPrevious lists, for each state, the states it may follow.
var validPrevious = map[State][]State{
	Empty:             {Empty, CompleteCommit, CompleteAbort},
	Ongoing:           {Ongoing, Empty, CompleteCommit, CompleteAbort},
	PrepareCommit:     {Ongoing},
	PrepareAbort:      {Ongoing, PrepareEpochFence, Empty, CompleteCommit, CompleteAbort}, // the last three: version 2's abort of a transaction that added nothing
	CompleteCommit:    {PrepareCommit},
	CompleteAbort:     {PrepareAbort},
	Dead:              {Empty, CompleteCommit, CompleteAbort},
	PrepareEpochFence: {Ongoing},
}

// CanFollow reports whether a transaction may move from prev to s.
func (s State) CanFollow(prev State) bool { return slices.Contains(validPrevious[s], prev) }

// Metadata is one transactional id's state, as the coordinator keeps it in
// memory and in __transaction_state (Kafka's TransactionMetadata).
type Metadata struct {
	TransactionalID string
	ProducerID      int64
	ProducerEpoch   int16
	// LastProducerEpoch is the epoch before the last bump, so that a
	// retried EndTxn under transactions version 2 is recognised.
	LastProducerEpoch int16
	Timeout           time.Duration
	State             State
	// Partitions are the partitions in the transaction, sorted.
	Partitions []model.TopicPartition
	// Start is when the transaction began (the first partition added).
	Start time.Duration
	// Updated is when the state last changed.
	Updated time.Duration
}

func (m Metadata) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s producer=%d/%d %s", m.TransactionalID, m.ProducerID, m.ProducerEpoch, m.State)
	if len(m.Partitions) > 0 {
		parts := make([]string, len(m.Partitions))
		for i, tp := range m.Partitions {
			parts[i] = tp.String()
		}
		fmt.Fprintf(&b, " [%s]", strings.Join(parts, " "))
	}
	return b.String()
}

func (m Metadata) clone() Metadata {
	m.Partitions = slices.Clone(m.Partitions)
	return m
}

func (m *Metadata) has(tp model.TopicPartition) bool {
	_, ok := slices.BinarySearchFunc(m.Partitions, tp, compareTP)
	return ok
}

func (m *Metadata) add(tps ...model.TopicPartition) {
	for _, tp := range tps {
		if i, ok := slices.BinarySearchFunc(m.Partitions, tp, compareTP); !ok {
			m.Partitions = slices.Insert(m.Partitions, i, tp)
		}
	}
}

func compareTP(a, b model.TopicPartition) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return int(a.Partition) - int(b.Partition)
}

// Record encoding of __transaction_state: key = int16 version (0), string
// transactional id; value = int16 version (0), int64 producer id, int16
// epoch, int16 last epoch, int32 timeout ms, int8 state, int32 partition
// count and each partition (string topic, int32 partition), int64 start
// ms, int64 update ms. Strings are an int16 length and bytes.

// EncodeRecord returns the key and value of a metadata record. A Dead
// transactional id is a tombstone: its key with a null value.
func EncodeRecord(m Metadata) (key, value []byte) {
	key = binary.BigEndian.AppendUint16(nil, 0)
	key = appendString(key, m.TransactionalID)
	if m.State == Dead {
		return key, nil
	}
	v := binary.BigEndian.AppendUint16(nil, 0)
	v = binary.BigEndian.AppendUint64(v, uint64(m.ProducerID))
	v = binary.BigEndian.AppendUint16(v, uint16(m.ProducerEpoch))
	v = binary.BigEndian.AppendUint16(v, uint16(m.LastProducerEpoch))
	v = binary.BigEndian.AppendUint32(v, uint32(m.Timeout.Milliseconds()))
	v = append(v, byte(m.State))
	v = binary.BigEndian.AppendUint32(v, uint32(len(m.Partitions)))
	for _, tp := range m.Partitions {
		v = appendString(v, tp.Topic)
		v = binary.BigEndian.AppendUint32(v, uint32(tp.Partition))
	}
	v = binary.BigEndian.AppendUint64(v, uint64(m.Start.Milliseconds()))
	v = binary.BigEndian.AppendUint64(v, uint64(m.Updated.Milliseconds()))
	return key, v
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || len(r.b) < n {
		if r.err == nil {
			r.err = fmt.Errorf("record ends %d bytes early", n-len(r.b))
		}
		return make([]byte, n)
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) u16() uint16    { return binary.BigEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32    { return binary.BigEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64    { return binary.BigEndian.Uint64(r.take(8)) }
func (r *reader) str() string    { return string(r.take(int(r.u16()))) }
func (r *reader) version() error { v := r.u16(); return versionErr(v) }

func versionErr(v uint16) error {
	if v != 0 {
		return fmt.Errorf("record version %d: accepted is 0", v)
	}
	return nil
}

// DecodeRecord decodes a metadata record; a tombstone (null value) is the
// transactional id in state Dead.
func DecodeRecord(key, value []byte) (Metadata, error) {
	k := &reader{b: key}
	if err := k.version(); err != nil {
		return Metadata{}, err
	}
	m := Metadata{TransactionalID: k.str()}
	if value == nil {
		m.State = Dead
		return m, k.err
	}
	v := &reader{b: value}
	if err := v.version(); err != nil {
		return Metadata{}, err
	}
	m.ProducerID = int64(v.u64())
	m.ProducerEpoch = int16(v.u16())
	m.LastProducerEpoch = int16(v.u16())
	m.Timeout = time.Duration(v.u32()) * time.Millisecond
	m.State = State(v.take(1)[0])
	n := int(v.u32())
	if v.err == nil && n > len(v.b) {
		return Metadata{}, fmt.Errorf("transaction %s: %d partitions in %d bytes", m.TransactionalID, n, len(v.b))
	}
	for i := 0; i < n && v.err == nil; i++ {
		m.Partitions = append(m.Partitions, model.TopicPartition{Topic: v.str(), Partition: int32(v.u32())})
	}
	m.Start = time.Duration(v.u64()) * time.Millisecond
	m.Updated = time.Duration(v.u64()) * time.Millisecond
	if k.err != nil {
		return Metadata{}, k.err
	}
	if v.err != nil {
		return Metadata{}, v.err
	}
	if int(m.State) >= len(stateNames) || m.State < 0 {
		return Metadata{}, fmt.Errorf("transaction %s: unknown state %d", m.TransactionalID, m.State)
	}
	return m, nil
}

// encodeBatch returns one batch (no producer) holding the record.
func encodeBatch(m Metadata, now time.Duration) protocol.Records {
	k, v := EncodeRecord(m)
	return protocol.AppendBatch(nil, 0, protocol.NoPartitionLeaderEpoch, protocol.NoProducer,
		[]protocol.Record{{Timestamp: now.Milliseconds(), Key: k, Value: v}})
}

// DecodeLog calls fn for every metadata record in a partition's log, in
// order.
func DecodeLog(records protocol.Records, fn func(Metadata)) error {
	var err error
	werr := records.Batches(func(h protocol.BatchHeader, b []byte) bool {
		if h.IsControl() {
			return true
		}
		var recErr error
		err = protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
			m, derr := DecodeRecord(r.Key, r.Value)
			if derr != nil {
				recErr = fmt.Errorf("offset %d: %w", r.Offset, derr)
				return false
			}
			fn(m)
			return true
		})
		if err == nil {
			err = recErr
		}
		return err == nil
	})
	if werr != nil {
		return werr
	}
	return err
}
