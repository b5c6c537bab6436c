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
