package cluster_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

// delete-records [topic=t partition=0] broker=N offset=N [timeout=30s]
// [wait=1s]: a DeleteRecords from the admin node (offset -1: the
// high-water mark), printing what happens until it is answered.
func (s *script) deleteRecords(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	to, err1 := a.int("broker", 0)
	off, err2 := a.int("offset", -1)
	timeout, err3 := a.duration("timeout", 30*time.Second)
	wait, err4 := a.duration("wait", time.Second)
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			return "", err
		}
	}
	req := &protocol.DeleteRecords{CorrelationID: s.c.NextCorrelation(), Timeout: timeout,
		Partitions: []protocol.DeleteRecordsPartition{{TP: tp, Offset: off}}}
	return s.ask(int32(to), req, wait, false)
}

// list-offsets [topic=t partition=0] broker=N earliest|latest: a
// consumer's ListOffsets from the admin node.
func (s *script) listOffsets(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	to, err := a.int("broker", 0)
	if err != nil {
		return "", err
	}
	ts := protocol.LatestTimestamp
	if a.has("earliest") {
		ts = protocol.EarliestTimestamp
	}
	req := &protocol.ListOffsets{CorrelationID: s.c.NextCorrelation(), ReplicaID: protocol.ConsumerReplicaID,
		Partitions: []protocol.ListOffsetsPartition{{TP: tp, CurrentLeaderEpoch: protocol.NoEpoch, Timestamp: ts}}}
	resp, err := s.c.Request(int32(to), req, time.Second)
	if err != nil {
		return s.flush(), err
	}
	return s.flush() + fmt.Sprintf("%s admin <- b%d: %v\n", at(s.s.Now()), to, resp), nil
}

// log-starts [topic=t partition=0]: every replica's log start offset,
// high-water mark and log end offset.
func (s *script) logStarts(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(s.flush())
	p, ok := s.c.Partition(tp)
	if !ok {
		return b.String(), fmt.Errorf("unknown partition %s", tp)
	}
	for _, id := range p.Replicas {
		br := s.c.Broker(id)
		if br == nil {
			fmt.Fprintf(&b, "b%d down\n", id)
			continue
		}
		r, ok := br.Partition(tp)
		if !ok {
			fmt.Fprintf(&b, "b%d no replica\n", id)
			continue
		}
		fmt.Fprintf(&b, "b%d start=%d hwm=%d leo=%d\n", id, r.LogStartOffset(), r.HighWatermark(), r.LogEndOffset())
	}
	return b.String(), nil
}
