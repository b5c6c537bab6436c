package broker

import (
	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/txn"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
)

// txnVerification is what a leader does before it appends a transactional
// producer's first batch of a transaction to a partition (KIP-890).
type txnVerification int

const (
	// noVerification: the batch is appended as it comes (transaction
	// version 1 with transaction.partition.verification.enable=false, and
	// Kafka before 3.6), which lets a late Produce open a transaction no
	// marker ends (KAFKA-14402).
	noVerification txnVerification = iota
	// verifyOnly: the leader asks the coordinator whether the partition
	// is in the producer's ongoing transaction at its epoch and refuses
	// the batch (INVALID_TXN_STATE) otherwise (part 1, Kafka 3.6).
	verifyOnly
	// addPartition: transaction version 2 clients send no
	// AddPartitionsToTxn; the leader adds the partition to the
	// transaction for them (part 2, Kafka 4.0).
	addPartition
)

func (b *Broker) txnVerification() txnVerification {
	switch {
	case b.cfg.Txn.Version >= 2:
		return addPartition
	case b.cfg.Txn.PartitionVerification:
		return verifyOnly
	}
	return noVerification
}

// produceClient appends a client's Produce. A transactional producer's
// batches that would open a transaction on a partition are first verified
// with (or, under version 2, added by) the transactional id's coordinator;
// the batches it refuses get its error, the others are appended, each
// only if its verification's guard is still valid then (Kafka's
// ReplicaManager with its AddPartitionsToTxnManager).
func (b *Broker) produceClient(m *protocol.Produce, reply func(*protocol.ProduceResponse)) {
	mode := b.txnVerification()
	if m.TransactionalID == "" || mode == noVerification {
		b.produce(m, reply)
		return
	}
	guards := make([]log.VerificationGuard, len(m.Partitions))
	var need []int
	var producer protocol.TxnProducer
	for i, part := range m.Partitions {
		p, ok := b.partitions.get(part.TP)
		if !ok || p.log == nil || !p.isLeader || part.Marker != nil {
			continue
		}
		if pid, epoch, needs := p.log.NeedsVerification(part.Records); needs {
			producer = protocol.TxnProducer{TransactionalID: m.TransactionalID, ProducerID: pid, ProducerEpoch: epoch}
			need = append(need, i)
		}
	}
	if len(need) == 0 {
		b.produceGuarded(m, guards, reply)
		return
	}
	b.s.Mark("broker.txn.verification-sent")
	req := &protocol.AddPartitionsToTxn{TxnProducer: producer, VerifyOnly: mode == verifyOnly}
	for _, i := range need {
		tp := m.Partitions[i].TP
		guards[i] = b.partitions.at(tp).log.StartVerification(producer.ProducerID)
		req.Partitions = append(req.Partitions, tp)
	}
	b.askTxnCoordinator(req, func(r *protocol.AddPartitionsToTxnResponse, code protocol.ErrorCode) {
		refused := map[model.TopicPartition]protocol.ErrorCode{}
		for _, tp := range req.Partitions {
			c := code
			if c == protocol.None && r.Error != protocol.None {
				c = r.Error
			}
			if c == protocol.None {
				c = protocol.UnknownServerError // no answer for the partition
				for _, pe := range r.Partitions {
					if pe.TP == tp {
						c = pe.Error
					}
				}
			}
			if c != protocol.None {
				refused[tp] = verificationError(c)
			}
		}
		b.produceVerified(m, guards, refused, reply)
	})
}

// produceVerified appends the partitions of m the coordinator did not
// refuse, and answers m with both.
func (b *Broker) produceVerified(m *protocol.Produce, guards []log.VerificationGuard, refused map[model.TopicPartition]protocol.ErrorCode, reply func(*protocol.ProduceResponse)) {
	if len(refused) == 0 {
		b.produceGuarded(m, guards, reply)
		return
	}
	resp := &protocol.ProduceResponse{CorrelationID: m.CorrelationID, Partitions: make([]protocol.ProducePartitionResponse, len(m.Partitions))}
	sub := *m
	sub.Partitions = nil
	var subGuards []log.VerificationGuard
	var index []int
	for i, part := range m.Partitions {
		code, ok := refused[part.TP]
		if !ok {
			sub.Partitions = append(sub.Partitions, part)
			subGuards = append(subGuards, guards[i])
			index = append(index, i)
			continue
		}
		b.s.Mark("broker.txn.verification-refused")
		pr := protocol.ProducePartitionResponse{TP: part.TP, Error: code, BaseOffset: -1, LogStartOffset: -1,
			CurrentLeader: protocol.LeaderAndEpoch{LeaderID: protocol.NoNode, LeaderEpoch: protocol.NoEpoch}}
		if p, ok := b.partitions.get(part.TP); ok {
			pr.CurrentLeader = protocol.LeaderAndEpoch{LeaderID: p.leader, LeaderEpoch: p.leaderEpoch}
			p.emit("broker.produce.refused", uint64(code), "producer %s: the transaction coordinator refused the partition: %s", m.TransactionalID, code)
		}
		resp.Partitions[i] = pr
	}
	if len(sub.Partitions) == 0 {
		if m.Acks != protocol.AcksNone {
			reply(resp)
		}
		return
	}
	b.produceGuarded(&sub, subGuards, func(sr *protocol.ProduceResponse) {
		for j, pr := range sr.Partitions {
			resp.Partitions[index[j]] = pr
		}
		reply(resp)
	})
}

// verificationError is the produce error for a coordinator's refusal of a
// partition. What a producer retries (the coordinator moved, is loading,
// is busy ending the last transaction, or could not be reached) becomes
// NOT_ENOUGH_REPLICAS, which every producer retries; a fenced producer
// gets INVALID_PRODUCER_EPOCH, the produce path's fencing error; the rest
// (INVALID_TXN_STATE above all) pass through.
func verificationError(code protocol.ErrorCode) protocol.ErrorCode {
	switch code {
	case protocol.NotCoordinator, protocol.CoordinatorNotAvailable, protocol.CoordinatorLoadInProgress, protocol.ConcurrentTransactions,
		protocol.NetworkException, protocol.RequestTimedOut, protocol.BrokerNotAvailable:
		return protocol.NotEnoughReplicas
	case protocol.ProducerFenced:
		return protocol.InvalidProducerEpoch
	}
	return code
}

// askTxnCoordinator sends a leader's AddPartitionsToTxn to the
// transactional id's coordinator, as this broker's metadata names it: the
// leader of its __transaction_state partition (this broker's own
// coordinator is asked directly). done gets the answer, or nil and the
// error that stood in its way.
func (b *Broker) askTxnCoordinator(req *protocol.AddPartitionsToTxn, done func(*protocol.AddPartitionsToTxnResponse, protocol.ErrorCode)) {
	tp := model.TopicPartition{Topic: TransactionStateTopic, Partition: txn.PartitionFor(req.TransactionalID, b.cfg.Txn.StateLogPartitions)}
	reg, ok := b.image.Partition(tp)
	switch {
	case !ok || reg.Leader == protocol.NoNode:
		done(nil, protocol.CoordinatorNotAvailable)
	case reg.Leader == b.id:
		if b.txnCoord == nil {
			done(nil, protocol.CoordinatorNotAvailable)
			return
		}
		b.txnCoord.AddPartitions(req, func(r *protocol.AddPartitionsToTxnResponse) { done(r, protocol.None) })
	default:
		req.CorrelationID = b.nextCorrelation()
		b.sendTxnRequest(reg.Leader, req, req.CorrelationID, "broker.txn-verify-timeout", func(m network.Message, code protocol.ErrorCode) {
			r, _ := m.(*protocol.AddPartitionsToTxnResponse)
			if code == protocol.None && r == nil {
				code = protocol.UnknownServerError
			}
			done(r, code)
		})
	}
}

// VerifyTxnOffsets implements group.TxnVerifier: a transactional offset
// commit to partition p of __consumer_offsets is verified with (version 1
// with verification) or added to (version 2) the producer's transaction,
// unless the producer's transaction is already open there. Errors a
// producer retries reach it as COORDINATOR_NOT_AVAILABLE (kafkasim does
// not guard these appends, which the group coordinator makes itself).
func (l offsetsLog) VerifyTxnOffsets(p int32, producer protocol.TxnProducer, done func(protocol.ErrorCode)) {
	b := l.b
	mode := b.txnVerification()
	tp := model.TopicPartition{Topic: OffsetsTopic, Partition: p}
	if part, ok := b.partitions.get(tp); mode == noVerification || !ok || part.log == nil || part.log.HasOngoingTxn(producer.ProducerID, producer.ProducerEpoch) {
		done(protocol.None)
		return
	}
	b.s.Mark("broker.txn.verification-sent")
	req := &protocol.AddPartitionsToTxn{TxnProducer: producer, VerifyOnly: mode == verifyOnly, Partitions: []model.TopicPartition{tp}}
	b.askTxnCoordinator(req, func(r *protocol.AddPartitionsToTxnResponse, code protocol.ErrorCode) {
		if code == protocol.None {
			code = r.Error
		}
		if code == protocol.None {
			code = protocol.UnknownServerError
			for _, pe := range r.Partitions {
				if pe.TP == tp {
					code = pe.Error
				}
			}
		}
		switch verificationError(code) {
		case protocol.NotEnoughReplicas:
			code = protocol.CoordinatorNotAvailable
		}
		done(code)
	})
}
