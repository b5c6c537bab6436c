package metadata

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// The encoding of a record is deterministic and compact: one byte of type,
// one byte of version (0), then the fields in declaration order. Integers
// are zig-zag varints; booleans one byte; strings and id lists a varint
// length then the content, where length -1 stands for nil (for "no change"
// lists and deleted config values); ids 16 raw bytes.

const recordVersion = 0

// Encode encodes a record.
func Encode(r Record) []byte {
	e := encoder{buf: make([]byte, 0, 64)}
	e.buf = append(e.buf, byte(r.Type()), recordVersion)
	r.encode(&e)
	return e.buf
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed metadata record")

// Decode decodes a record encoded by Encode.
func Decode(b []byte) (Record, error) {
	if len(b) < 2 {
		return nil, fmt.Errorf("%w: %d bytes, a record has at least 2", ErrMalformed, len(b))
	}
	var r Record
	switch RecordType(b[0]) {
	case RegisterBrokerType:
		r = new(RegisterBrokerRecord)
	case UnregisterBrokerType:
		r = new(UnregisterBrokerRecord)
	case FenceBrokerType:
		r = new(FenceBrokerRecord)
	case UnfenceBrokerType:
		r = new(UnfenceBrokerRecord)
	case BrokerRegistrationChangeType:
		r = new(BrokerRegistrationChangeRecord)
	case TopicType:
		r = new(TopicRecord)
	case RemoveTopicType:
		r = new(RemoveTopicRecord)
	case PartitionType:
		r = new(PartitionRecord)
	case PartitionChangeType:
		r = new(PartitionChangeRecord)
	case ConfigType:
		r = new(ConfigRecord)
	default:
		return nil, fmt.Errorf("%w: unknown record type %d", ErrMalformed, b[0])
	}
	if b[1] != recordVersion {
		return nil, fmt.Errorf("%w: %s version %d, this build reads version %d", ErrMalformed, r.Type(), b[1], recordVersion)
	}
	d := decoder{buf: b[2:]}
	r.decode(&d)
	if d.err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrMalformed, r.Type(), d.err)
	}
	if len(d.buf) != 0 {
		return nil, fmt.Errorf("%w: %s has %d trailing bytes", ErrMalformed, r.Type(), len(d.buf))
	}
	return r, nil
}

type encoder struct{ buf []byte }

func (e *encoder) int(v int64) { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) bool(v bool) {
	if v {
		e.buf = append(e.buf, 1)
	} else {
		e.buf = append(e.buf, 0)
	}
}
func (e *encoder) uuid(u Uuid) { e.buf = append(e.buf, u[:]...) }
func (e *encoder) string(s string) {
	e.int(int64(len(s)))
	e.buf = append(e.buf, s...)
}
func (e *encoder) optString(s *string) {
	if s == nil {
		e.int(-1)
		return
	}
	e.string(*s)
}
func (e *encoder) ids(v []int32) {
	if v == nil {
		e.int(-1)
		return
	}
	e.int(int64(len(v)))
	for _, id := range v {
		e.int(int64(id))
	}
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) int() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) int32() int32 {
	v := d.int()
	if v < -1<<31 || v > 1<<31-1 {
		d.fail("value %d does not fit 32 bits", v)
	}
	return int32(v)
}

func (d *decoder) int8() int8 {
	v := d.int()
	if v < -128 || v > 127 {
		d.fail("value %d does not fit 8 bits", v)
	}
	return int8(v)
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.buf) < 1 || d.buf[0] > 1 {
		d.fail("bad boolean")
		return false
	}
	v := d.buf[0] == 1
	d.buf = d.buf[1:]
	return v
}

func (d *decoder) uuid() Uuid {
	var u Uuid
	if d.err != nil {
		return u
	}
	if len(d.buf) < 16 {
		d.fail("truncated id")
		return u
	}
	copy(u[:], d.buf)
	d.buf = d.buf[16:]
	return u
}

func (d *decoder) length() int {
	n := d.int()
	if d.err == nil && (n < -1 || n > int64(len(d.buf))) {
		d.fail("length %d with %d bytes left", n, len(d.buf))
		return 0
	}
	return int(n)
}

func (d *decoder) string() string {
	n := d.length()
	if d.err != nil || n < 0 {
		if n < 0 {
			d.fail("nil string")
		}
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	return s
}

func (d *decoder) optString() *string {
	save := d.buf
	if d.int() == -1 {
		return nil
	}
	d.buf = save
	s := d.string()
	return &s
}

func (d *decoder) ids() []int32 {
	n := d.length()
	if d.err != nil || n < 0 {
		return nil
	}
	v := make([]int32, n)
	for i := range v {
		v[i] = d.int32()
	}
	return v
}

func (r *RegisterBrokerRecord) encode(e *encoder) {
	e.int(int64(r.BrokerID))
	e.uuid(r.IncarnationID)
	e.int(r.BrokerEpoch)
	e.bool(r.Fenced)
	e.bool(r.InControlledShutdown)
}

func (r *RegisterBrokerRecord) decode(d *decoder) {
	r.BrokerID = d.int32()
	r.IncarnationID = d.uuid()
	r.BrokerEpoch = d.int()
	r.Fenced = d.bool()
	r.InControlledShutdown = d.bool()
}

func (r *UnregisterBrokerRecord) encode(e *encoder) {
	e.int(int64(r.BrokerID))
	e.int(r.BrokerEpoch)
}

func (r *UnregisterBrokerRecord) decode(d *decoder) {
	r.BrokerID = d.int32()
	r.BrokerEpoch = d.int()
}

func (r *FenceBrokerRecord) encode(e *encoder) {
	e.int(int64(r.ID))
	e.int(r.Epoch)
}

func (r *FenceBrokerRecord) decode(d *decoder) {
	r.ID = d.int32()
	r.Epoch = d.int()
}

func (r *UnfenceBrokerRecord) encode(e *encoder) {
	e.int(int64(r.ID))
	e.int(r.Epoch)
}

func (r *UnfenceBrokerRecord) decode(d *decoder) {
	r.ID = d.int32()
	r.Epoch = d.int()
}

func (r *BrokerRegistrationChangeRecord) encode(e *encoder) {
	e.int(int64(r.BrokerID))
	e.int(r.BrokerEpoch)
	e.int(int64(r.Fenced))
	e.int(int64(r.InControlledShutdown))
}

func (r *BrokerRegistrationChangeRecord) decode(d *decoder) {
	r.BrokerID = d.int32()
	r.BrokerEpoch = d.int()
	r.Fenced = FencingChange(d.int8())
	r.InControlledShutdown = d.int8()
}

func (r *TopicRecord) encode(e *encoder) {
	e.string(r.Name)
	e.uuid(r.TopicID)
}

func (r *TopicRecord) decode(d *decoder) {
	r.Name = d.string()
	r.TopicID = d.uuid()
}

func (r *RemoveTopicRecord) encode(e *encoder) { e.uuid(r.TopicID) }

func (r *RemoveTopicRecord) decode(d *decoder) { r.TopicID = d.uuid() }

func (r *PartitionRecord) encode(e *encoder) {
	e.int(int64(r.PartitionID))
	e.uuid(r.TopicID)
	e.ids(r.Replicas)
	e.ids(r.ISR)
	e.ids(r.ELR)
	e.ids(r.LastKnownELR)
	e.int(int64(r.Leader))
	e.int(int64(r.LeaderRecoveryState))
	e.int(int64(r.LeaderEpoch))
	e.int(int64(r.PartitionEpoch))
}

func (r *PartitionRecord) decode(d *decoder) {
	r.PartitionID = d.int32()
	r.TopicID = d.uuid()
	r.Replicas = d.ids()
	r.ISR = d.ids()
	r.ELR = d.ids()
	r.LastKnownELR = d.ids()
	r.Leader = d.int32()
	r.LeaderRecoveryState = protocol.LeaderRecoveryState(d.int8())
	r.LeaderEpoch = d.int32()
	r.PartitionEpoch = d.int32()
}

func (r *PartitionChangeRecord) encode(e *encoder) {
	e.int(int64(r.PartitionID))
	e.uuid(r.TopicID)
	e.ids(r.ISR)
	e.int(int64(r.Leader))
	e.ids(r.Replicas)
	e.ids(r.ELR)
	e.ids(r.LastKnownELR)
	e.int(int64(r.LeaderRecoveryState))
}

func (r *PartitionChangeRecord) decode(d *decoder) {
	r.PartitionID = d.int32()
	r.TopicID = d.uuid()
	r.ISR = d.ids()
	r.Leader = d.int32()
	r.Replicas = d.ids()
	r.ELR = d.ids()
	r.LastKnownELR = d.ids()
	r.LeaderRecoveryState = protocol.LeaderRecoveryState(d.int8())
}

func (r *ConfigRecord) encode(e *encoder) {
	e.int(int64(r.ResourceType))
	e.string(r.ResourceName)
	e.string(r.Name)
	e.optString(r.Value)
}

func (r *ConfigRecord) decode(d *decoder) {
	r.ResourceType = ConfigResourceType(d.int8())
	r.ResourceName = d.string()
	r.Name = d.string()
	r.Value = d.optString()
}
