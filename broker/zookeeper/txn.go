package zookeeper

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Stat is a znode's metadata, as ZooKeeper's Stat: the zxids that created
// it, last changed its data and last changed its children; its data
// version (the zkVersion conditional writes test), children version and
// ACL version; the session that owns it if it is ephemeral (0 otherwise).
type Stat struct {
	Czxid          Zxid
	Mzxid          Zxid
	Ctime          int64 // milliseconds, the leader's clock
	Mtime          int64
	Version        int32 // dataVersion
	Cversion       int32
	Aversion       int32
	EphemeralOwner int64
	DataLength     int32
	NumChildren    int32
	Pzxid          Zxid
}

// String formats the fields that scripts and traces care about.
func (s Stat) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "czxid=%v mzxid=%v pzxid=%v version=%d cversion=%d", s.Czxid, s.Mzxid, s.Pzxid, s.Version, s.Cversion)
	if s.EphemeralOwner != 0 {
		fmt.Fprintf(&b, " ephemeralOwner=0x%x", s.EphemeralOwner)
	}
	return b.String()
}

// Op is one operation of a multi: a create, delete, setData or check.
type Op struct {
	Type    OpCode // OpCreate, OpDelete, OpSetData or OpCheck
	Path    string
	Data    []byte
	Version int32 // expected version for delete, setData and check; -1 matches any
	Mode    CreateMode
}

// CreateOp returns a create operation for Multi.
func CreateOp(path string, data []byte, mode CreateMode) Op {
	return Op{Type: OpCreate, Path: path, Data: data, Mode: mode}
}

// DeleteOp returns a delete operation for Multi.
func DeleteOp(path string, version int32) Op { return Op{Type: OpDelete, Path: path, Version: version} }

// SetDataOp returns a setData operation for Multi.
func SetDataOp(path string, data []byte, version int32) Op {
	return Op{Type: OpSetData, Path: path, Data: data, Version: version}
}

// CheckOp returns a version check for Multi: the multi fails unless the
// znode exists at the version (Kafka fences its controller with one on
// /controller_epoch).
func CheckOp(path string, version int32) Op { return Op{Type: OpCheck, Path: path, Version: version} }

// OpResult is the result of one operation of a multi. When the multi
// fails, the operations before the failing one report Ok, the failing one
// its error and those after it RuntimeInconsistency, as ZooKeeper does.
type OpResult struct {
	Type OpCode
	Err  Code
	Path string // the created path (with its sequence number), for creates
	Stat Stat   // for setData
}

// Txn is one transaction of the ZooKeeper log: a header (the session, its
// request's cxid, the zxid, the leader's time and the type) and the body of
// its type. A failed request is an error transaction, which takes a zxid
// like any other. Transactions are shared once proposed: never change one.
type Txn struct {
	Session int64
	Cxid    int32
	Zxid    Zxid
	Time    int64 // milliseconds
	Type    OpCode

	Path           string   // create, delete, setData, check
	Data           []byte   // create, setData
	Ephemeral      bool     // create: owned by Session
	ParentCVersion int32    // create: the parent's new cversion
	Version        int32    // setData: the new version; check: the checked one
	Timeout        int32    // createSession, milliseconds
	Err            Code     // error
	Paths          []string // closeSession: the ephemerals to delete
	Ops            []*Txn   // multi: sub-transactions (type and body only)

	enc    []byte
	digest uint64
}

// Digest summarises the transaction (header and body) for traces and the
// invariants.
func (t *Txn) Digest() uint64 {
	if t.enc == nil {
		t.finish()
	}
	return t.digest
}

// size returns the transaction's encoded size in bytes.
func (t *Txn) size() int {
	if t.enc == nil {
		t.finish()
	}
	return len(t.enc)
}

// finish encodes the transaction once it is complete.
func (t *Txn) finish() *Txn {
	var e encoder
	e.txn(t, true)
	t.enc = e.b
	t.digest = hashBytes(fnvBasis, e.b)
	return t
}

// String formats the transaction for traces and scripts.
func (t *Txn) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v", t.Zxid, t.Type)
	t.body(&b)
	if t.Session != 0 {
		fmt.Fprintf(&b, " session=0x%x", t.Session)
	}
	return b.String()
}

func (t *Txn) body(b *strings.Builder) {
	switch t.Type {
	case OpCreate:
		fmt.Fprintf(b, " %s %s", t.Path, Abbrev(t.Data))
		if t.Ephemeral {
			b.WriteString(" ephemeral")
		}
	case OpDelete:
		fmt.Fprintf(b, " %s", t.Path)
	case OpSetData:
		fmt.Fprintf(b, " %s %s version=%d", t.Path, Abbrev(t.Data), t.Version)
	case OpCheck:
		fmt.Fprintf(b, " %s version=%d", t.Path, t.Version)
	case OpError:
		fmt.Fprintf(b, " %v", t.Err)
	case OpCreateSession:
		fmt.Fprintf(b, " timeout=%dms", t.Timeout)
	case OpCloseSession:
		if len(t.Paths) > 0 {
			fmt.Fprintf(b, " deletes %v", t.Paths)
		}
	case OpMulti:
		b.WriteString(" [")
		for i, o := range t.Ops {
			if i > 0 {
				b.WriteString(";")
			}
			b.WriteString(o.Type.String())
			o.body(b)
		}
		b.WriteString("]")
	}
}

const (
	fnvBasis = 0xcbf29ce484222325
	fnvPrime = 0x100000001b3
)

func hashBytes(h uint64, p []byte) uint64 {
	for _, c := range p {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func mixWord(h, w uint64) uint64 {
	h ^= w
	h *= fnvPrime
	h ^= h >> 29
	return h
}

// encoder appends big-endian fields, as jute's BinaryOutputArchive.
type encoder struct{ b []byte }

func (e *encoder) i32(v int32)  { e.b = binary.BigEndian.AppendUint32(e.b, uint32(v)) }
func (e *encoder) i64(v int64)  { e.b = binary.BigEndian.AppendUint64(e.b, uint64(v)) }
func (e *encoder) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) str(s string) { e.i32(int32(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte) {
	if p == nil {
		e.i32(-1)
		return
	}
	e.i32(int32(len(p)))
	e.b = append(e.b, p...)
}

// txn encodes a transaction; sub-transactions of a multi carry no header.
func (e *encoder) txn(t *Txn, header bool) {
	if header {
		e.i64(t.Session)
		e.i32(t.Cxid)
		e.i64(int64(t.Zxid))
		e.i64(t.Time)
	}
	e.i32(int32(t.Type))
	switch t.Type {
	case OpCreate:
		e.str(t.Path)
		e.bytes(t.Data)
		e.bool(t.Ephemeral)
		e.i32(t.ParentCVersion)
	case OpDelete:
		e.str(t.Path)
	case OpSetData:
		e.str(t.Path)
		e.bytes(t.Data)
		e.i32(t.Version)
	case OpCheck:
		e.str(t.Path)
		e.i32(t.Version)
	case OpError:
		e.i32(int32(t.Err))
	case OpCreateSession:
		e.i32(t.Timeout)
	case OpCloseSession:
		e.i32(int32(len(t.Paths)))
		for _, p := range t.Paths {
			e.str(p)
		}
	case OpMulti:
		e.i32(int32(len(t.Ops)))
		for _, o := range t.Ops {
			e.txn(o, false)
		}
	}
}

// decoder reads what encoder wrote; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated record")

func (d *decoder) need(n int) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b) < n {
		d.err = errShort
		return false
	}
	return true
}

func (d *decoder) i32() int32 {
	if !d.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

func (d *decoder) i64() int64 {
	if !d.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *decoder) u64() uint64 { return uint64(d.i64()) }

func (d *decoder) bool() bool {
	if !d.need(1) {
		return false
	}
	v := d.b[0] != 0
	d.b = d.b[1:]
	return v
}

func (d *decoder) str() string {
	n := int(d.i32())
	if !d.need(n) {
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bytes() []byte {
	n := int(d.i32())
	if n == -1 && d.err == nil {
		return nil
	}
	if !d.need(n) {
		return nil
	}
	p := make([]byte, n)
	copy(p, d.b)
	d.b = d.b[n:]
	return p
}

func (d *decoder) count() int {
	n := int(d.i32())
	if d.err == nil && (n < 0 || n > len(d.b)) {
		d.err = fmt.Errorf("count %d overruns the %d bytes left", n, len(d.b))
		return 0
	}
	return n
}

func (d *decoder) txn(header bool) *Txn {
	t := &Txn{}
	if header {
		t.Session = d.i64()
		t.Cxid = d.i32()
		t.Zxid = Zxid(d.i64())
		t.Time = d.i64()
	}
	t.Type = OpCode(d.i32())
	switch t.Type {
	case OpCreate:
		t.Path = d.str()
		t.Data = d.bytes()
		t.Ephemeral = d.bool()
		t.ParentCVersion = d.i32()
	case OpDelete:
		t.Path = d.str()
	case OpSetData:
		t.Path = d.str()
		t.Data = d.bytes()
		t.Version = d.i32()
	case OpCheck:
		t.Path = d.str()
		t.Version = d.i32()
	case OpError:
		t.Err = Code(d.i32())
	case OpCreateSession:
		t.Timeout = d.i32()
	case OpCloseSession:
		for range d.count() {
			t.Paths = append(t.Paths, d.str())
		}
	case OpMulti:
		if !header {
			d.err = errors.New("a multi inside a multi")
			return t
		}
		for range d.count() {
			t.Ops = append(t.Ops, d.txn(false))
		}
	default:
		if d.err == nil {
			d.err = fmt.Errorf("unknown transaction type %d", int32(t.Type))
		}
	}
	return t
}

// decodeTxn decodes one transaction with its header.
func decodeTxn(p []byte) (*Txn, error) {
	d := decoder{b: p}
	t := d.txn(true)
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	t.enc = append([]byte(nil), p...)
	t.digest = hashBytes(fnvBasis, p)
	return t, nil
}

// Abbrev quotes data for traces and scripts, cutting it after 16 bytes.
func Abbrev(p []byte) string {
	if len(p) <= 16 {
		return fmt.Sprintf("%q", p)
	}
	return fmt.Sprintf("%q…(%d bytes)", p[:16], len(p))
}
