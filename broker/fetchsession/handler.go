// Package fetchsession is KIP-227's incremental fetch sessions (Kafka 1.1):
// the fetcher's side (Handler, Kafka's FetchSessionHandler), which turns
// the partitions a fetcher wants into a full or an incremental request and
// follows the session through the responses, and the leader's side
// (Cache, Kafka's FetchSessionCache and fetch contexts), which keeps a
// session per fetcher, turns an incremental request back into the full
// list of the session's partitions, and leaves out of a response the
// partitions that have nothing new. Both are pure: no clock but the one
// given, no randomness.
package fetchsession

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// A Handler is a fetcher's side of its session with one broker.
type Handler struct {
	id    int32 // the session, 0 for none
	epoch int32 // the epoch of the next request
	// parts are the session's partitions as the broker holds them after
	// the latest answered request, sorted.
	parts []protocol.FetchPartition
	// next is what parts becomes when the request in flight is answered.
	next []protocol.FetchPartition
	// inflight is the request in flight's epoch, or -2 for none.
	inflight int32
	full     bool
	// changed, set for a request BuildChanged made, holds the entries of
	// parts that request changes (next is unused then).
	changed []change
	delta   bool
}

// change is one partition of parts that a request changes.
type change struct {
	i int
	p protocol.FetchPartition
}

const noRequest = -2

// NewHandler returns a handler without a session: its first request is a
// full one that opens a session.
func NewHandler() *Handler { return &Handler{inflight: noRequest} }

// SessionID returns the handler's session, 0 for none.
func (h *Handler) SessionID() int32 { return h.id }

// Build returns the partitions and the session fields of the next request
// for the partitions the fetcher wants, sorted by partition: all of them
// in a full request (no session yet, or one being replaced), or in an
// incremental request only those added or changed since the previous
// request, with the ones no longer wanted as Forgotten. The slice it
// returns is the caller's own.
func (h *Handler) Build(want []protocol.FetchPartition) ([]protocol.FetchPartition, *protocol.FetchSession) {
	h.next = append(h.next[:0], want...)
	h.delta = false
	h.inflight = h.epoch
	s := &protocol.FetchSession{ID: h.id, Epoch: h.epoch}
	if h.id == 0 || h.epoch == protocol.InitialSessionEpoch {
		h.full = true
		return want, s
	}
	h.full = false
	var out []protocol.FetchPartition
	i, j := 0, 0
	for i < len(want) || j < len(h.parts) {
		switch {
		case j == len(h.parts) || (i < len(want) && want[i].TP.Compare(h.parts[j].TP) < 0):
			out = append(out, want[i]) // added
			i++
		case i == len(want) || want[i].TP.Compare(h.parts[j].TP) > 0:
			s.Forgotten = append(s.Forgotten, h.parts[j].TP)
			j++
		default:
			if want[i] != h.parts[j] {
				out = append(out, want[i]) // changed
			}
			i++
			j++
		}
	}
	return out, s
}

// Incremental reports whether the next request may be an incremental one
// for the n partitions the session holds (see BuildChanged).
func (h *Handler) Incremental(n int) bool {
	return h.id != 0 && h.epoch != protocol.InitialSessionEpoch && h.inflight == noRequest && len(h.parts) == n
}

// BuildChanged is Build for a fetcher that wants the partitions the
// session holds, in the same order, and knows which of them may have
// changed since the previous request (the indexes changed, sorted): the
// incremental request lists those of them that differ from what the
// session holds, and nothing is forgotten. Call it only when
// Incremental(len(want)) holds. The slice it returns is the caller's own.
func (h *Handler) BuildChanged(want []protocol.FetchPartition, changed []int) ([]protocol.FetchPartition, *protocol.FetchSession) {
	h.inflight = h.epoch
	h.full, h.delta = false, true
	h.changed = h.changed[:0]
	var out []protocol.FetchPartition
	for _, i := range changed {
		if want[i] != h.parts[i] {
			out = append(out, want[i])
			h.changed = append(h.changed, change{i, want[i]})
		}
	}
	return out, &protocol.FetchSession{ID: h.id, Epoch: h.epoch}
}

// Handle follows the session through the response to the request Build
// made last, and reports whether the response's partitions are usable: a
// session error (FETCH_SESSION_ID_NOT_FOUND, INVALID_FETCH_SESSION_EPOCH)
// makes the next request a full one.
func (h *Handler) Handle(resp *protocol.FetchResponse) bool {
	if h.inflight == noRequest {
		return false
	}
	h.inflight = noRequest
	switch resp.Error {
	case protocol.None:
	case protocol.FetchSessionIdNotFound:
		// The broker no longer holds the session: open a new one.
		h.id, h.epoch, h.parts = 0, protocol.InitialSessionEpoch, h.parts[:0]
		return false
	default:
		h.Fail()
		return false
	}
	if h.full {
		h.id = resp.SessionID
		h.epoch = protocol.InitialSessionEpoch
		if h.id != 0 {
			h.epoch = protocol.NextSessionEpoch(protocol.InitialSessionEpoch)
		}
	} else {
		h.epoch = protocol.NextSessionEpoch(h.epoch)
	}
	if h.delta {
		for _, c := range h.changed {
			h.parts[c.i] = c.p
		}
		return true
	}
	h.parts, h.next = h.next, h.parts[:0]
	return true
}

// Fail gives up on the request in flight (no answer, a disconnect, an
// error for the whole request): the next request is a full one that closes
// the session and opens a new one.
func (h *Handler) Fail() {
	h.inflight = noRequest
	h.epoch = protocol.InitialSessionEpoch
	h.parts = h.parts[:0]
}
