package sim

import (
	"fmt"
	"time"
)

// A Trace is the record of a run. Every executed event and every record a
// component emits is folded into a streaming 64-bit hash; two runs with the
// same seed and inputs must end with the same hash. The hash covers each
// record's time, node, kind and numeric digest, never its text, so turning
// on a Sink for readable records does not change it.
type Trace struct {
	s    *Sim
	h    uint64
	n    uint64
	sink func(Record)
}

// A Record is one readable trace line.
type Record struct {
	Step   uint64        // events executed before this record (the step it belongs to)
	At     time.Duration // global simulated time
	Node   string        // the node it concerns; empty for the world
	Kind   string        // what happened, e.g. "net.deliver" or "node.crash"
	Detail string        // free text; empty for bare kernel events
}

func (r Record) String() string {
	node := r.Node
	if node == "" {
		node = "-"
	}
	if r.Detail == "" {
		return fmt.Sprintf("%d %v %s %s", r.Step, r.At, node, r.Kind)
	}
	return fmt.Sprintf("%d %v %s %s %s", r.Step, r.At, node, r.Kind, r.Detail)
}

const (
	fnvOffset = 0xcbf29ce484222325
	fnvPrime  = 0x100000001b3
)

func (t *Trace) init(s *Sim) {
	t.s = s
	t.h = fnvOffset
}

// Hash returns the trace hash so far.
func (t *Trace) Hash() uint64 { return fmix(t.h) }

// HashString returns the trace hash as 16 hex digits.
func (t *Trace) HashString() string { return fmt.Sprintf("%016x", t.Hash()) }

// Len returns the number of records hashed so far.
func (t *Trace) Len() uint64 { return t.n }

// SetSink makes the trace also produce readable records and hand each to
// fn; nil turns that off. It does not change the hash.
func (t *Trace) SetSink(fn func(Record)) { t.sink = fn }

// Sinking reports whether a sink is set, for callers that want to skip
// building details nobody will read.
func (t *Trace) Sinking() bool { return t.sink != nil }

// Emit adds a record about node n (nil: the world). digest is folded into
// the hash and should summarise the record's content (offsets, epochs,
// sizes); detail is formatted with fmt only when a sink is set.
func (t *Trace) Emit(n *Node, kind string, digest uint64, detail any) {
	t.add(n, kind, digest)
	if t.sink != nil {
		var d string
		switch v := detail.(type) {
		case nil:
		case string:
			d = v
		default:
			d = fmt.Sprint(v)
		}
		t.sink(Record{Step: t.s.steps, At: t.s.now, Node: nodeName(n), Kind: kind, Detail: d})
	}
}

// Emitf is Emit with a formatted detail.
func (t *Trace) Emitf(n *Node, kind string, digest uint64, format string, args ...any) {
	t.add(n, kind, digest)
	if t.sink != nil {
		t.sink(Record{Step: t.s.steps, At: t.s.now, Node: nodeName(n), Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
}

// event records an executed kernel event.
func (t *Trace) event(owner *Node, kind string) {
	t.add(owner, kind, 0)
	if t.sink != nil {
		t.sink(Record{Step: t.s.steps, At: t.s.now, Node: nodeName(owner), Kind: kind})
	}
}

func (t *Trace) add(n *Node, kind string, digest uint64) {
	h := mix(t.h, uint64(t.s.now))
	id := uint64(0)
	if n != nil {
		id = uint64(n.id) + 1
	}
	h = mix(h, id)
	h = hashString(h, kind)
	t.h = mix(h, digest)
	t.n++
}

func nodeName(n *Node) string {
	if n == nil {
		return ""
	}
	return n.name
}

// mix folds a 64-bit word into h, FNV-1a style over whole words.
func mix(h, v uint64) uint64 {
	h ^= v
	h *= fnvPrime
	h ^= h >> 29
	return h
}

// fmix is a final avalanche so that nearby states give unrelated hashes.
func fmix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// hashString folds s into h with FNV-1a.
func hashString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// Digest is a helper for building record digests: it folds words together.
// Digest(a, b, c) differs from Digest(b, a, c).
func Digest(words ...uint64) uint64 {
	h := uint64(fnvOffset)
	for _, w := range words {
		h = mix(h, w)
	}
	return h
}

// DigestString folds a string into a digest.
func DigestString(h uint64, s string) uint64 { return hashString(h|1, s) }

// A Recorder keeps readable trace records in memory, up to a limit.
type Recorder struct {
	Limit   int      // maximum records kept; 0 means no limit
	Records []Record // the records kept, oldest first
	Dropped int      // records not kept because of Limit
}

// Record keeps r, or counts it as dropped past the limit. Pass it to
// Trace.SetSink.
func (r *Recorder) Record(rec Record) {
	if r.Limit > 0 && len(r.Records) >= r.Limit {
		r.Dropped++
		return
	}
	r.Records = append(r.Records, rec)
}
