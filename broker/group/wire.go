package group

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// writer encodes Kafka's classic binary schema types: big-endian integers,
// int16-length strings (-1 for null), int32-length bytes and arrays.
type writer struct{ b []byte }

func (w *writer) int16(v int16) { w.b = binary.BigEndian.AppendUint16(w.b, uint16(v)) }
func (w *writer) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) int64(v int64) { w.b = binary.BigEndian.AppendUint64(w.b, uint64(v)) }

func (w *writer) string(s string) {
	w.int16(int16(len(s)))
	w.b = append(w.b, s...)
}

// nullable writes a nullable string: "" is written as null.
func (w *writer) nullable(s string) {
	if s == "" {
		w.int16(-1)
		return
	}
	w.string(s)
}

func (w *writer) bytes(p []byte) {
	w.int32(int32(len(p)))
	w.b = append(w.b, p...)
}

// reader decodes what writer encodes; the first error sticks and every
// later read returns zero values, so decoders check err once at the end.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b) {
		r.err = errShort
		return nil
	}
	p := r.b[:n:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) int16() int16 {
	if p := r.take(2); p != nil {
		return int16(binary.BigEndian.Uint16(p))
	}
	return 0
}

func (r *reader) int32() int32 {
	if p := r.take(4); p != nil {
		return int32(binary.BigEndian.Uint32(p))
	}
	return 0
}

func (r *reader) int64() int64 {
	if p := r.take(8); p != nil {
		return int64(binary.BigEndian.Uint64(p))
	}
	return 0
}

func (r *reader) string() string {
	n := r.int16()
	if n < 0 {
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) bytes() []byte {
	n := r.int32()
	if n < 0 {
		return nil
	}
	return r.take(int(n))
}

// count reads an array length and checks it against what is left, each
// element taking at least min bytes.
func (r *reader) count(min int) int {
	n := r.int32()
	if r.err == nil && (n < 0 || int(n)*min > len(r.b)) {
		r.err = fmt.Errorf("array of %d elements does not fit in %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	return nil
}
