package broker

import (
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// DeleteRecordsReason is the reason a leader gives its observer when
// DeleteRecords moved its log start offset (model.LogStartObserver).
const DeleteRecordsReason = "DeleteRecords"

// delayedDeleteRecords is a DeleteRecords waiting for its partitions' low
// watermarks (Kafka's DelayedDeleteRecords).
type delayedDeleteRecords struct {
	delayedRequest
	from sim.NodeID
	resp *protocol.DeleteRecordsResponse
}

// deleteWait is one partition of a DeleteRecords waiting for the low
// watermark to reach the requested offset.
type deleteWait = delayedWait[*delayedDeleteRecords]

// check answers once the partition's low watermark reaches required, or
// at once with NOT_LEADER_OR_FOLLOWER when the partition no longer leads.
func (d *delayedDeleteRecords) check(p *partition, required int64) (protocol.ErrorCode, int64, bool) {
	if !p.isLeader {
		return protocol.NotLeaderOrFollower, -1, true
	}
	if low := p.lowWatermark(); low >= required {
		return protocol.None, low, true
	}
	return protocol.None, 0, false
}

func (d *delayedDeleteRecords) complete(i int, code protocol.ErrorCode, low int64, _ *partition) {
	pr := &d.resp.Partitions[i]
	pr.Error, pr.LowWatermark = code, low
	if code != protocol.None {
		pr.LowWatermark = -1
	}
	if d.completed(i) {
		d.send()
	}
}

func (d *delayedDeleteRecords) send() {
	if d.finish() {
		d.b.replyTo(d.from, d.resp)
	}
}

// expireDeleteRecords answers a delayed DeleteRecords whose timeout passed.
func expireDeleteRecords(a any) { a.(*delayedDeleteRecords).expire() }

func (d *delayedDeleteRecords) expire() {
	if !d.expiring("broker.delete-records.request-timed-out") {
		return
	}
	for i := range d.resp.Partitions {
		if d.waiting[i] {
			d.resp.Partitions[i].Error = protocol.RequestTimedOut
			d.resp.Partitions[i].LowWatermark = -1
		}
	}
	d.send()
}

// handleDeleteRecords moves the log start offset of the partitions this
// broker leads (Kafka's ReplicaManager.deleteRecords) and answers once
// each partition's low watermark reached the requested offset, or the
// request's timeout passed. An offset above the high-water mark is
// OFFSET_OUT_OF_RANGE; a partition this broker does not lead is
// NOT_LEADER_OR_FOLLOWER.
func (b *Broker) handleDeleteRecords(from sim.NodeID, m *protocol.DeleteRecords) {
	n := len(m.Partitions)
	d := &delayedDeleteRecords{delayedRequest: delayedRequest{b: b, waiting: make([]bool, n)}, from: from,
		resp: &protocol.DeleteRecordsResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.DeleteRecordsPartitionResponse, n)}}
	var waits []*deleteWait
	var waitParts []*partition
	for i, part := range m.Partitions {
		pr := &d.resp.Partitions[i]
		*pr = protocol.DeleteRecordsPartitionResponse{TP: part.TP, LowWatermark: -1}
		p, ok := b.partitions.get(part.TP)
		if !ok || p.log == nil {
			pr.Error = protocol.UnknownTopicOrPartition
			if b.failedStart != nil {
				pr.Error = protocol.KafkaStorageError
			}
			continue
		}
		if !p.isLeader {
			b.s.Mark("broker.delete-records.not-leader")
			pr.Error = protocol.NotLeaderOrFollower
			continue
		}
		old := p.log.StartOffset()
		start, err := p.log.DeleteRecordsBefore(part.Offset)
		if err != nil {
			b.s.Mark("broker.delete-records.offset-out-of-range")
			pr.Error = log.ErrorCode(err)
			p.emit("broker.delete-records.refused", uint64(pr.Error), "%v", err)
			continue
		}
		p.emit("broker.delete-records", uint64(start), "log start offset %d (records before %d deleted)", start, part.Offset)
		b.observeLogStart(p.tp, old, start, DeleteRecordsReason)
		p.changed()
		p.wakeFetchWaits()
		d.await(i)
		waits = append(waits, &deleteWait{req: d, index: i, required: start})
		waitParts = append(waitParts, p)
	}
	if d.pending == 0 {
		d.send()
		return
	}
	for i, w := range waits {
		waitParts[i].deleteWaits.tryCompleteElseWatch(waitParts[i], w)
	}
	if !d.sent {
		b.s.Mark("broker.delete-records.delayed")
		d.timer = b.n.AfterFunc(m.Timeout, "broker.delete-records.timeout", expireDeleteRecords, d)
	}
}

// lowWatermark is the smallest log start offset among the replicas on
// live (registered, unfenced) brokers, as Kafka's lowWatermarkIfLeader.
func (p *partition) lowWatermark() int64 {
	return p.tracker.LowWatermark(p.log.StartOffset(), func(id int32) bool {
		reg, ok := p.b.image.Broker(id)
		return ok && !reg.Fenced
	})
}

// completeDeleteWaits answers the DeleteRecords waits on the partition
// that its low watermark now reaches (a follower's fetch moved its log
// start offset), or all of them with NOT_LEADER_OR_FOLLOWER once it no
// longer leads.
func (p *partition) completeDeleteWaits() { p.deleteWaits.checkAndComplete(p) }
