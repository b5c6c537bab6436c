package log_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// AppendMarkers lists the commit and abort markers from an offset on, in
// offset order, and nothing else: data batches and markers below the
// offset are left out.
func TestAppendMarkers(t *testing.T) {
	n := node(t, 1)
	l, _ := open(t, n, log.Config{}, log.OpenOptions{})
	must := func(_ log.AppendInfo, err error) { require.NoError(t, err) }
	p1 := protocol.Producer{ID: 1, Epoch: 0, BaseSequence: 0}
	p2 := protocol.Producer{ID: 2, Epoch: 0, BaseSequence: 0}
	must(l.AppendAsLeader(protocol.NewTxnRecords(p1, 1, "a", "b"), 0, 0))                                   // 0..1
	must(l.AppendAsLeader(protocol.NewTxnRecords(p2, 1, "c"), 0, 0))                                        // 2
	must(l.AppendMarker(log.Marker{ProducerID: 2, Type: protocol.ControlAbort}, 0, time.Millisecond))       // 3
	must(l.AppendAsLeader(protocol.NewRecords(protocol.Producer{ID: protocol.NoProducerID}, 1, "x"), 0, 0)) // 4
	must(l.AppendMarker(log.Marker{ProducerID: 1, Type: protocol.ControlCommit}, 0, time.Millisecond))      // 5
	assert.Equal(t, []log.MarkerInfo{{Offset: 3, ProducerID: 2, Type: protocol.ControlAbort}, {Offset: 5, ProducerID: 1, Type: protocol.ControlCommit}},
		l.AppendMarkers(nil, 0))
	assert.Equal(t, []log.MarkerInfo{{Offset: 5, ProducerID: 1, Type: protocol.ControlCommit}}, l.AppendMarkers(nil, 4))
	assert.Empty(t, l.AppendMarkers(nil, 6))
}
