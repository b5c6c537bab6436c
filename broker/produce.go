package broker

import (
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// delayedProduce is an acks=all Produce waiting for its partitions'
// high-water marks (Kafka's DelayedProduce).
type delayedProduce struct {
	delayedRequest
	reply func(*protocol.ProduceResponse)
	resp  *protocol.ProduceResponse
	// per partition of the request
	lastOffsets []int64
	// markers is set for transaction markers, which are no client's
	// records and are not reported as acknowledged writes.
	markers bool
	waits   []produceWait // when not nil, the waits' storage
}

// produceWait is one partition of an acks=all Produce waiting for the
// high-water mark to pass its records.
type produceWait = delayedWait[*delayedProduce]

// check is Kafka's checkEnoughReplicasReachOffset.
func (d *delayedProduce) check(p *partition, required int64) (protocol.ErrorCode, int64, bool) {
	code, ok := p.checkEnoughReplicas(required)
	return code, 0, ok
}

func (d *delayedProduce) complete(i int, code protocol.ErrorCode, _ int64, p *partition) {
	pr := &d.resp.Partitions[i]
	if code != protocol.None {
		pr.Error = code
		pr.BaseOffset = -1
		pr.CurrentLeader = protocol.LeaderAndEpoch{LeaderID: p.leader, LeaderEpoch: p.leaderEpoch}
	} else if obs := d.b.cfg.Observer; obs != nil && !d.markers {
		// The records are committed now, while this broker leads: the
		// answer stands even if the response waits for other partitions
		// and leadership moves meanwhile, as in Kafka's DelayedProduce.
		// The observer gets the leader's ISR itself (model.Observer.Acked:
		// it copies what it keeps).
		obs.Acked(pr.TP, d.b.id, p.leaderEpoch, pr.BaseOffset, d.lastOffsets[i], p.maximalISR())
	}
	if d.completed(i) {
		d.send()
	}
}

func (d *delayedProduce) send() {
	if d.finish() {
		d.reply(d.resp)
	}
}

// expireProduce answers a delayed Produce whose timeout passed (a
// function, not a method value allocated per request).
func expireProduce(a any) { a.(*delayedProduce).expire() }

func (d *delayedProduce) expire() {
	if !d.expiring("broker.produce.request-timed-out") {
		return
	}
	for i := range d.resp.Partitions {
		if d.waiting[i] {
			d.resp.Partitions[i].Error = protocol.RequestTimedOut
			d.resp.Partitions[i].BaseOffset = -1
		}
	}
	d.send()
}

// handleProduce appends records to the partitions this broker leads and
// answers the requester.
//
// Kafka's socket server handles one request per connection at a time: it
// mutes a connection while a request is being handled, until its response
// is sent. A produce request waiting for acks=all therefore holds back the
// requests behind it on its connection, so that an idempotent producer's
// batches to one broker complete in the order it sent them. kafkasim keeps
// that order for produce requests (a client's other requests to the broker
// go on; Kafka clients send them on the same connection).
func (b *Broker) handleProduce(from sim.NodeID, m *protocol.Produce) {
	gen, _ := b.net.Connection(from, b.n.ID())
	ch := b.produceChans[from]
	if ch == nil || ch.gen != gen {
		// A new connection: whatever the old one held back died with it.
		ch = &produceChannel{gen: gen}
		ch.reply = func(resp *protocol.ProduceResponse) {
			b.replyTo(from, resp)
			b.unmute(from, ch)
		}
		b.produceChans[from] = ch
	}
	if ch.busy {
		ch.queue = append(ch.queue, m)
		b.s.Mark("broker.produce.held-back")
		return
	}
	b.startProduce(from, ch, m)
}

// A produceChannel is one client connection's produce requests: the one
// being handled and those held back behind it.
type produceChannel struct {
	gen   uint32 // the connection's generation
	busy  bool
	queue []*protocol.Produce
	// reply answers the request being handled and takes the next: made
	// once per connection, not per request
	reply func(*protocol.ProduceResponse)
}

func (b *Broker) startProduce(from sim.NodeID, ch *produceChannel, m *protocol.Produce) {
	ch.busy = true
	b.produceClient(m, ch.reply)
	if m.Acks == protocol.AcksNone {
		b.unmute(from, ch) // no response to wait for
	}
}

// unmute lets ch take its next request. The request is handled as an event
// of its own, as Kafka's network thread picks it up after the response
// went out, never in the middle of the handling that completed the last.
func (b *Broker) unmute(from sim.NodeID, ch *produceChannel) {
	ch.busy = false
	if len(ch.queue) == 0 {
		return
	}
	ch.busy = true
	b.n.After(0, "broker.produce.next", func() {
		ch.busy = false
		if gen, up := b.net.Connection(from, b.n.ID()); !up || gen != ch.gen {
			ch.queue = nil // Kafka drops a closed connection's requests
			return
		}
		m := ch.queue[0]
		ch.queue = ch.queue[1:]
		b.startProduce(from, ch, m)
	})
}

// produce appends records to the partitions this broker leads (Kafka's
// ReplicaManager.appendRecords) and hands the response to reply: at once
// for acks 0 and 1, once the partitions' high-water marks pass the records
// (or the timeout) for acks=all. With acks 0 reply is never called.
func (b *Broker) produce(m *protocol.Produce, reply func(*protocol.ProduceResponse)) {
	b.produceGuarded(m, nil, reply)
}

// produceGuarded is produce for a transactional producer's Produce under
// partition verification: guards holds each partition's verification
// guard (txn_verify.go).
func (b *Broker) produceGuarded(m *protocol.Produce, guards []log.VerificationGuard, reply func(*protocol.ProduceResponse)) {
	d := newDelayedProduce(b, m, reply)
	resp := d.resp
	for i, part := range m.Partitions {
		resp.Partitions[i] = protocol.ProducePartitionResponse{TP: part.TP, BaseOffset: -1, LogStartOffset: -1,
			CurrentLeader: protocol.LeaderAndEpoch{LeaderID: protocol.NoNode, LeaderEpoch: protocol.NoEpoch}}
	}
	if m.Acks != protocol.AcksAll && m.Acks != protocol.AcksNone && m.Acks != protocol.AcksLeader {
		for i := range resp.Partitions {
			resp.Partitions[i].Error = protocol.InvalidRequiredAcks
		}
		reply(resp)
		return
	}
	now := b.n.Now()
	var waits []*produceWait
	var waitParts []*partition
	for i, part := range m.Partitions {
		pr := &resp.Partitions[i]
		p, ok := b.partitions.get(part.TP)
		if !ok || p.log == nil {
			pr.Error = protocol.UnknownTopicOrPartition
			if b.failedStart != nil {
				pr.Error = protocol.KafkaStorageError
			}
			continue
		}
		pr.CurrentLeader = protocol.LeaderAndEpoch{LeaderID: p.leader, LeaderEpoch: p.leaderEpoch}
		if !p.isLeader {
			pr.Error = protocol.NotLeaderOrFollower
			continue
		}
		if m.Acks == protocol.AcksAll && p.tracker.BelowMinISR() {
			b.s.Mark("broker.produce.not-enough-replicas")
			pr.Error = protocol.NotEnoughReplicas
			continue
		}
		if part.Marker == nil {
			recs, err := b.compressForTopic(part.TP.Topic, part.Records)
			if err != nil {
				pr.Error = protocol.CorruptMessage
				p.emit("broker.produce.refused", uint64(pr.Error), "%v", err)
				continue
			}
			part.Records = recs
		}
		guard := log.NoGuard
		if guards != nil {
			guard = guards[i]
		}
		info, err := b.appendAsLeader(p, part, now, guards != nil, guard)
		d.markers = d.markers || part.Marker != nil
		if err != nil {
			pr.Error = log.ErrorCode(err)
			p.emit("broker.produce.refused", uint64(pr.Error), "%v", err)
			continue
		}
		pr.BaseOffset = info.FirstOffset
		pr.LogStartOffset = p.log.StartOffset()
		d.lastOffsets[i] = info.LastOffset
		if info.Duplicate {
			b.s.Mark("broker.produce.duplicate-sequence")
			p.emit("broker.produce.duplicate", uint64(info.FirstOffset), "duplicate of [%d, %d]", info.FirstOffset, info.LastOffset)
			if b.cfg.NoHighWatermarkOnISRCommit {
				// Kafka rechecks the high-water mark after every append,
				// a duplicate's too; only KAFKA-13091's variant leaves it
				// behind for a duplicate to find.
				p.maybeIncrementHighWatermark()
			}
		} else {
			if digest := sim.Digest(uint64(info.FirstOffset), uint64(info.LastOffset), uint64(p.leaderEpoch)); !p.traced("broker.append", digest) {
				p.emit("broker.append", digest, "appended [%d, %d] at epoch %d", info.FirstOffset, info.LastOffset, p.leaderEpoch)
			}
			p.changed()
			p.wakeFetchWaits()
			p.maybeIncrementHighWatermark()
		}
		if m.Acks == protocol.AcksAll {
			w := d.wait(i)
			w.required = info.LastOffset + 1
			d.await(i)
			waits = append(waits, w)
			waitParts = append(waitParts, p)
		}
	}
	switch {
	case m.Acks == protocol.AcksNone:
		return
	case m.Acks == protocol.AcksLeader || d.pending == 0:
		reply(resp)
		return
	}
	// Register the waits only now, so that none completes before every
	// partition of the request was appended.
	for i, w := range waits {
		waitParts[i].produceWaits.tryCompleteElseWatch(waitParts[i], w)
	}
	if !d.sent {
		d.timer = b.n.AfterFunc(m.Timeout, "broker.produce.timeout", expireProduce, d)
	}
}

// produceBuf holds a small Produce's response and waiting state in one
// allocation: most requests name a few partitions.
type produceBuf struct {
	d       delayedProduce
	resp    protocol.ProduceResponse
	parts   [2]protocol.ProducePartitionResponse
	last    [2]int64
	waiting [2]bool
	waits   [2]produceWait
}

// newDelayedProduce returns the state of the Produce m: its response (every
// partition without an answer yet) and what it waits for.
func newDelayedProduce(b *Broker, m *protocol.Produce, reply func(*protocol.ProduceResponse)) *delayedProduce {
	n := len(m.Partitions)
	var d *delayedProduce
	if n <= len(produceBuf{}.parts) {
		buf := &produceBuf{}
		buf.resp = protocol.ProduceResponse{CorrelationID: m.CorrelationID, Partitions: buf.parts[:n:n]}
		d = &buf.d
		d.resp, d.lastOffsets, d.waiting, d.waits = &buf.resp, buf.last[:n:n], buf.waiting[:n:n], buf.waits[:n:n]
	} else {
		d = &delayedProduce{resp: &protocol.ProduceResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.ProducePartitionResponse, n)},
			lastOffsets: make([]int64, n)}
		d.waiting = make([]bool, n)
	}
	d.b, d.reply = b, reply
	return d
}

// wait returns the wait of the request's partition i.
func (d *delayedProduce) wait(i int) *produceWait {
	if d.waits != nil {
		d.waits[i] = produceWait{req: d, index: i}
		return &d.waits[i]
	}
	return &produceWait{req: d, index: i}
}

// checkEnoughReplicas is Kafka's checkEnoughReplicasReachOffset.
func (p *partition) checkEnoughReplicas(required int64) (protocol.ErrorCode, bool) {
	if !p.isLeader {
		return protocol.NotLeaderOrFollower, true
	}
	if p.log.HighWatermark() < required {
		return protocol.None, false
	}
	if p.minISR() > len(p.maximalISR()) {
		p.b.s.Mark("broker.produce.not-enough-replicas-after-append")
		return protocol.NotEnoughReplicasAfterAppend, true
	}
	return protocol.None, true
}
