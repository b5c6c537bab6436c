package broker

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/txn"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// TransactionStateTopic is Kafka's internal topic of transaction state.
const TransactionStateTopic = txn.StateTopic

// txnEnv is the transaction coordinator's access to its broker.
type txnEnv struct{ b *Broker }

// Append implements txn.Env: an acks=all append to __transaction_state.
func (e txnEnv) Append(p int32, records protocol.Records, done func(protocol.ErrorCode)) {
	tp := model.TopicPartition{Topic: TransactionStateTopic, Partition: p}
	req := &protocol.Produce{Acks: protocol.AcksAll, Timeout: e.b.cfg.Txn.AppendTimeout,
		Partitions: []protocol.ProducePartition{{TP: tp, Records: records}}}
	e.b.produce(req, func(resp *protocol.ProduceResponse) { done(resp.Partitions[0].Error) })
}

// LeaderOf implements txn.Env.
func (e txnEnv) LeaderOf(tp model.TopicPartition) (int32, bool) {
	reg, ok := e.b.image.Partition(tp)
	if !ok {
		return protocol.NoNode, false
	}
	return reg.Leader, reg.Leader != protocol.NoNode
}

// NewProducerID implements txn.Env.
func (e txnEnv) NewProducerID() (int64, protocol.ErrorCode) {
	r := e.b.pids.Handle(&protocol.InitProducerId{ProducerID: protocol.NoProducerID}, e.b.epoch)
	return r.ProducerID, r.Error
}

// txnRequest is a transaction request this broker sent another broker
// and waits to have answered: WriteTxnMarkers from its coordinator, or
// AddPartitionsToTxn from a partition it leads (verification).
type txnRequest struct {
	to    int32
	done  func(network.Message, protocol.ErrorCode)
	timer sim.Timer
}

// WriteMarkers implements txn.Env: to this broker itself the markers are
// written at once; to another, the request goes over the network and
// fails on a broken connection or after the request timeout.
func (e txnEnv) WriteMarkers(leader int32, m *protocol.WriteTxnMarkers, done func(*protocol.WriteTxnMarkersResponse, protocol.ErrorCode)) {
	b := e.b
	m.CorrelationID = b.nextCorrelation()
	if leader == b.id {
		b.writeTxnMarkers(m, func(r *protocol.WriteTxnMarkersResponse) { done(r, protocol.None) })
		return
	}
	b.sendTxnRequest(leader, m, m.CorrelationID, "broker.txn-markers-timeout", func(r network.Message, code protocol.ErrorCode) {
		resp, _ := r.(*protocol.WriteTxnMarkersResponse)
		done(resp, code)
	})
}

// sendTxnRequest sends m (whose correlation id is corr) to broker to and
// calls done once: with the response, or with nil and the error that
// failed the request (BROKER_NOT_AVAILABLE when it could not be sent,
// NETWORK_EXCEPTION when the connection broke, REQUEST_TIMED_OUT).
func (b *Broker) sendTxnRequest(to int32, m network.Message, corr int32, timeoutName string, done func(network.Message, protocol.ErrorCode)) {
	if b.txnRequests == nil {
		b.txnRequests = make(map[int32]*txnRequest)
	}
	r := &txnRequest{to: to, done: done}
	b.txnRequests[corr] = r
	r.timer = b.n.After(b.cfg.Txn.MarkerTimeout()*2, timeoutName, func() {
		if b.txnRequests[corr] == r {
			delete(b.txnRequests, corr)
			done(nil, protocol.RequestTimedOut)
		}
	})
	if !b.send(to, m) {
		b.n.Cancel(r.timer)
		delete(b.txnRequests, corr)
		done(nil, protocol.BrokerNotAvailable)
	}
}

// onTxnResponse completes the transaction request a response answers.
func (b *Broker) onTxnResponse(corr int32, m network.Message) {
	r, ok := b.txnRequests[corr]
	if !ok {
		return
	}
	delete(b.txnRequests, corr)
	b.n.Cancel(r.timer)
	r.done(m, protocol.None)
}

// failTxnRequests fails the transaction requests in flight to a broker
// whose connection broke.
func (b *Broker) failTxnRequests(id int32) {
	if len(b.txnRequests) == 0 {
		return
	}
	var corrs []int32
	for c, r := range b.txnRequests {
		if r.to == id {
			corrs = append(corrs, c)
		}
	}
	sortInt32(corrs)
	for _, c := range corrs {
		r := b.txnRequests[c]
		delete(b.txnRequests, c)
		b.n.Cancel(r.timer)
		r.done(nil, protocol.NetworkException)
	}
}

func sortInt32(s []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// startTxnCoordinator creates the broker's transaction coordinator. It
// owns nothing (and runs no timer) until the broker leads a partition of
// __transaction_state, which exists only once a transactional producer
// asked for its coordinator.
func (b *Broker) startTxnCoordinator() {
	c, err := txn.New(b.n, b.cfg.Txn, txnEnv{b}, b.replyTo)
	if err != nil {
		b.s.Trace().Emitf(b.n, "broker.txn-coordinator-error", 0, "%v", err)
		return
	}
	c.OffsetsPartitions = b.cfg.Group.OffsetsTopicPartitions
	b.txnCoord = c
}

func (b *Broker) handleTxnRequest(from sim.NodeID, m network.Message) {
	if b.txnCoord == nil || !b.txnCoord.Handle(from, m) {
		b.s.Trace().Emitf(b.n, "broker.unknown-request", 0, "%s from node %d ignored", m.Kind(), from)
	}
}

// findTxnCoordinator answers FindCoordinator(TRANSACTION) with the leader
// of the transactional id's partition of __transaction_state, creating the
// topic on first use.
func (b *Broker) findTxnCoordinator(from sim.NodeID, m *protocol.FindCoordinator) {
	resp := &protocol.FindCoordinatorResponse{CorrelationID: m.CorrelationID, NodeID: protocol.NoNode}
	partitions := b.cfg.Txn.StateLogPartitions
	_, exists := b.image.Topic(TransactionStateTopic)
	switch {
	case m.Key == "":
		resp.Error = protocol.InvalidRequest
	case !exists:
		resp.Error = protocol.CoordinatorNotAvailable
		if b.controller != protocol.NoNode {
			b.s.Mark("broker.transaction-state-topic.create")
			b.send(b.controller, &protocol.CreateTopics{CorrelationID: b.nextCorrelation(), Timeout: b.cfg.Txn.AppendTimeout,
				Topics: []protocol.CreatableTopic{{Name: TransactionStateTopic, NumPartitions: partitions,
					ReplicationFactor: b.cfg.Txn.StateLogReplicationFactor}}})
		}
	default:
		reg, ok := b.image.Partition(model.TopicPartition{Topic: TransactionStateTopic, Partition: txn.PartitionFor(m.Key, partitions)})
		if !ok || reg.Leader == protocol.NoNode {
			resp.Error = protocol.CoordinatorNotAvailable
		} else {
			resp.NodeID = reg.Leader
		}
	}
	b.replyTo(from, resp)
}

// txnMarkerWritten is told of every marker a leader wrote.
func (b *Broker) txnMarkerWritten(tp model.TopicPartition, m *protocol.TxnMarker) {
	if tp.Topic == OffsetsTopic && b.coord != nil {
		b.coord.CompleteTxn(tp.Partition, m.ProducerID, m.Committed)
	}
}
