package checker

import (
	"fmt"

	"github.com/kafkasim/kafkasim/model"
)

// checkProducerState: every producer's last batch that a replica's
// producer state remembers is in its log. A batch at or above the log end
// offset, or at offsets that hold other records, is state the log does not
// back: loaded from a producer-state snapshot that held state past its own
// offset, or left by an append that failed (KAFKA-6683). Such a replica
// answers a retry of that batch as a duplicate, with offsets that do not
// hold it, and Kafka's replica fetcher crashed on it. Offsets below the log
// start offset (retention, DeleteRecords) and records the log no longer
// holds (compaction) are not judged. Checked when the replica's log end
// offset or incarnation changed.
func (inv *Invariants) checkProducerState(tp model.TopicPartition, rs *replicaState, r model.ReplicaView) {
	pv, ok := r.(model.ProducerStateView)
	if !ok {
		return
	}
	inc, leo := r.Incarnation(), r.LogEndOffset()
	if rs.producersChecked && rs.producersInc == inc && rs.producersLEO == leo {
		return
	}
	rs.producersChecked, rs.producersInc, rs.producersLEO = true, inc, leo
	inv.producerBatches = pv.LastProducerBatches(inv.producerBatches[:0])
	b := r.Broker()
	for _, pb := range inv.producerBatches {
		why := ""
		switch {
		case pb.LastOffset >= leo:
			why = fmt.Sprintf("at or above its log end offset %d", leo)
		case pb.LastOffset < r.LogStartOffset():
			continue
		default:
			// A batch without sequences (a transactional offset commit)
			// is judged by its producer alone.
			e, ok := r.Entry(pb.LastOffset)
			if !ok || (e.ProducerID == pb.ProducerID && (pb.LastSequence < 0 || e.Sequence == pb.LastSequence)) {
				continue
			}
			why = fmt.Sprintf("where its log holds producer %d's sequence %d", e.ProducerID, e.Sequence)
		}
		inv.report(fmt.Sprintf("%s|%s|%d|%d|%d", InvalidProducerState, tp, b, pb.ProducerID, pb.LastOffset), Finding{Name: string(InvalidProducerState), Class: Invariant,
			TP: tp, Brokers: []int32{b}, Offsets: span(pb.FirstOffset, pb.LastOffset+1),
			Message: fmt.Sprintf("replica %d's producer state remembers producer %d's batch with sequences %d..%d at offsets %d..%d, %s: a retry of it would be answered as a duplicate at offsets that do not hold it",
				b, pb.ProducerID, pb.FirstSequence, pb.LastSequence, pb.FirstOffset, pb.LastOffset, why)})
	}
}
