package group

import (
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// txnOffsets are the offsets a producer's open transaction committed on
// one __consumer_offsets partition: they apply when its commit marker is
// written and vanish with an abort marker.
type txnOffsets struct {
	partition int32
	offsets   map[string]map[model.TopicPartition]OffsetAndMetadata
}

// handleTxnOffsetCommit stores offsets inside a producer's transaction
// (KIP-98; the member and generation checks of KIP-447): a transactional
// batch of the producer on the group's partition, applied at the commit
// marker.
func (c *Coordinator) handleTxnOffsetCommit(from sim.NodeID, m *protocol.TxnOffsetCommit) {
	resp := &protocol.TxnOffsetCommitResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.PartitionError, len(m.Partitions))}
	all := func(code protocol.ErrorCode) {
		for i, p := range m.Partitions {
			resp.Partitions[i] = protocol.PartitionError{TP: p.TP, Error: code}
		}
		c.send(from, resp)
	}
	if code := c.check(m.GroupID); code != protocol.None {
		all(code)
		return
	}
	if g := c.groups[m.GroupID]; g != nil && m.GenerationID >= 0 && m.MemberID != "" {
		if _, code := g.validMember(m.MemberID, "", m.GenerationID); code != protocol.None {
			c.s.Mark("group.txn-commit.fenced-member")
			all(code)
			return
		}
	} else if g == nil && m.GenerationID >= 0 && m.MemberID != "" {
		all(protocol.IllegalGeneration)
		return
	}
	ts := c.now().Milliseconds()
	var recs []protocol.Record
	for i, p := range m.Partitions {
		resp.Partitions[i] = protocol.PartitionError{TP: p.TP}
		k, v := OffsetRecord(m.GroupID, p.TP, OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, CommitTimestamp: ts})
		recs = append(recs, protocol.Record{Timestamp: ts, Key: k, Value: v})
	}
	if len(recs) == 0 {
		c.send(from, resp)
		return
	}
	part := c.PartitionFor(m.GroupID)
	if v, ok := c.log.(TxnVerifier); ok {
		v.VerifyTxnOffsets(part, m.TxnProducer, func(code protocol.ErrorCode) {
			if code != protocol.None {
				c.s.Mark("group.txn-commit.verification-refused")
				all(code)
				return
			}
			c.appendTxnOffsets(from, m, part, recs, ts, resp)
		})
		return
	}
	c.appendTxnOffsets(from, m, part, recs, ts, resp)
}

// appendTxnOffsets writes a transactional offset commit's records as the
// producer's transactional batch and answers once it is committed.
func (c *Coordinator) appendTxnOffsets(from sim.NodeID, m *protocol.TxnOffsetCommit, part int32, recs []protocol.Record, ts int64, resp *protocol.TxnOffsetCommitResponse) {
	batch := protocol.AppendTxnBatch(nil, protocol.Producer{ID: m.ProducerID, Epoch: m.ProducerEpoch, BaseSequence: protocol.NoSequence}, recs)
	c.log.Append(part, batch, func(code protocol.ErrorCode) {
		code = appendError(code, true)
		if code == protocol.None && c.Owns(part) {
			t := c.pendingTxn(m.ProducerID, part)
			if t.offsets[m.GroupID] == nil {
				t.offsets[m.GroupID] = make(map[model.TopicPartition]OffsetAndMetadata)
			}
			for _, p := range m.Partitions {
				t.offsets[m.GroupID][p.TP] = OffsetAndMetadata{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, CommitTimestamp: ts}
			}
		}
		for i := range resp.Partitions {
			resp.Partitions[i].Error = code
		}
		c.send(from, resp)
	})
}

func (c *Coordinator) pendingTxn(pid int64, part int32) *txnOffsets {
	if c.txnOffsets == nil {
		c.txnOffsets = make(map[int64]*txnOffsets)
	}
	t := c.txnOffsets[pid]
	if t == nil || t.partition != part {
		t = &txnOffsets{partition: part, offsets: make(map[string]map[model.TopicPartition]OffsetAndMetadata)}
		c.txnOffsets[pid] = t
	}
	return t
}

// CompleteTxn applies (commit) or drops (abort) the offsets producer pid's
// transaction committed on partition p, once the partition's leader wrote
// the marker.
func (c *Coordinator) CompleteTxn(p int32, pid int64, commit bool) {
	t := c.txnOffsets[pid]
	if t == nil || t.partition != p {
		return
	}
	delete(c.txnOffsets, pid)
	if !commit {
		c.s.Mark("group.txn-offsets-aborted")
		return
	}
	c.s.Mark("group.txn-offsets-committed")
	for _, id := range slices.Sorted(maps.Keys(t.offsets)) {
		g := c.groups[id]
		if g == nil {
			g = newGroup(c, id, p)
			c.groups[id] = g
		}
		for tp, o := range t.offsets[id] {
			g.offsets[tp] = o
		}
	}
}

// decodeLog reads a __consumer_offsets partition as Kafka's loading does:
// plain records apply in order, a transaction's offsets at its commit
// marker (none at an abort), and those of transactions still open are
// kept pending.
func (c *Coordinator) decodeLog(p int32, recs protocol.Records, fn func(LogRecord)) error {
	for _, pid := range slices.Sorted(maps.Keys(c.txnOffsets)) {
		if c.txnOffsets[pid].partition == p {
			delete(c.txnOffsets, pid)
		}
	}
	open := map[int64][]LogRecord{}
	var err error
	werr := recs.Batches(func(h protocol.BatchHeader, b []byte) bool {
		if h.IsControl() {
			t, terr := protocol.ControlTypeOf(b, h)
			if terr != nil {
				err = terr
				return false
			}
			if t == protocol.ControlCommit {
				for _, r := range open[h.ProducerID] {
					fn(r)
				}
			}
			delete(open, h.ProducerID)
			return true
		}
		var recErr error
		err = protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
			lr, derr := DecodeRecord(r.Key, r.Value)
			if derr != nil {
				recErr = derr
				return false
			}
			if h.IsTransactional() {
				open[h.ProducerID] = append(open[h.ProducerID], lr)
			} else {
				fn(lr)
			}
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
	if err != nil {
		return err
	}
	for _, pid := range slices.Sorted(maps.Keys(open)) {
		t := c.pendingTxn(pid, p)
		for _, r := range open[pid] {
			if r.Offset == nil || r.IsGroup {
				continue
			}
			if t.offsets[r.GroupID] == nil {
				t.offsets[r.GroupID] = make(map[model.TopicPartition]OffsetAndMetadata)
			}
			t.offsets[r.GroupID][r.TP] = *r.Offset
		}
	}
	return nil
}
