package log

import "github.com/kafkasim/kafkasim/broker/protocol"

// MarkerInfo is a transaction marker in the log: producer ProducerID's
// transaction ended at Offset, committed or aborted.
type MarkerInfo struct {
	Offset     int64
	ProducerID int64
	Type       protocol.ControlType
}

// AppendMarkers appends to dst the commit and abort markers at or after
// offset from, in offset order. It walks the index from the batch holding
// from, so asking from the last offset asked costs only the batches since.
func (l *Log) AppendMarkers(dst []MarkerInfo, from int64) []MarkerInfo {
	for i := l.find(from); i < len(l.index); i++ {
		e := l.index[i]
		if !e.control || e.base < from {
			continue
		}
		if typ, ok := l.markerType(e); ok {
			dst = append(dst, MarkerInfo{Offset: e.base, ProducerID: e.pid, Type: typ})
		}
	}
	return dst
}
