package broker

import (
	"fmt"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Receive implements network.Receiver: requests from clients, followers
// and the controller, and responses to this broker's own requests.
func (b *Broker) Receive(from sim.NodeID, m network.Message) {
	if b.zk != nil && b.zk.receive(from, m) {
		return
	}
	if b.receiveControlPlane(from, m) {
		return
	}
	switch m := m.(type) {
	case *protocol.Produce:
		b.handleProduce(from, m)
	case *protocol.Fetch:
		b.handleFetch(from, m)
	case *protocol.ListOffsets:
		b.handleListOffsets(from, m)
	case *protocol.DeleteRecords:
		b.handleDeleteRecords(from, m)
	case *protocol.OffsetsForLeaderEpoch:
		b.handleOffsetsForLeaderEpoch(from, m)
	case *protocol.Metadata:
		b.handleMetadata(from, m)
	case *protocol.InitProducerId:
		if m.TransactionalID != "" {
			b.handleTxnRequest(from, m)
			return
		}
		b.replyTo(from, b.pids.Handle(m, b.epoch))
	case *protocol.AddPartitionsToTxn, *protocol.AddOffsetsToTxn, *protocol.EndTxn:
		b.handleTxnRequest(from, m)
	case *protocol.WriteTxnMarkers:
		b.handleWriteTxnMarkers(from, m)
	case *protocol.WriteTxnMarkersResponse:
		b.onTxnResponse(m.CorrelationID, m)
	case *protocol.AddPartitionsToTxnResponse:
		b.onTxnResponse(m.CorrelationID, m)
	case *protocol.FindCoordinator:
		b.handleFindCoordinator(from, m)
	case *protocol.FetchResponse:
		b.onFetchResponse(from, m)
	case *protocol.OffsetsForLeaderEpochResponse:
		b.onOffsetsForLeaderEpochResponse(from, m)
	case *protocol.ListOffsetsResponse:
		b.onListOffsetsResponse(from, m)
	case *protocol.AlterPartitionResponse:
		b.onAlterPartitionResponse(from, m)
	default:
		if b.coord != nil && b.coord.Handle(from, m) {
			return
		}
		b.s.Trace().Emitf(b.n, "broker.unknown-request", 0, "%s from node %d ignored", m.Kind(), from)
	}
}

// Disconnected implements network.Disconnectable: requests in flight to
// the peer are failed (fetchers back off, AlterPartition is resent).
func (b *Broker) Disconnected(peer sim.NodeID) {
	if b.meta != nil {
		b.meta.raft.Disconnected(peer)
	}
	if b.zk != nil {
		b.zk.zk.Disconnected(peer)
	}
	id, ok := b.dir.ID(peer)
	if !ok {
		return
	}
	if id == b.controller && b.life != nil {
		b.life.abandon(true)
	}
	if len(b.forwards) > 0 {
		b.failForwards(id, fmt.Sprintf("the connection to controller %d broke", id))
	}
	if f, ok := b.fetchers[id]; ok {
		f.failInflight("disconnected")
	}
	b.failAlters(id)
	b.failTxnRequests(id)
}

func (b *Broker) replyTo(from sim.NodeID, m network.Message) { b.net.Send(b.n.ID(), from, m) }

// receiveControlPlane handles what is not the data path: the metadata
// quorum's messages, the controller's answers to the lifecycle and to
// forwarded admin requests, admin requests the broker forwards or answers
// from its metadata, and, while the broker is not serving, every request
// (dropped, as a broker whose listeners are not open would). It reports
// whether it handled the message.
func (b *Broker) receiveControlPlane(from sim.NodeID, m network.Message) bool {
	if b.meta != nil && b.meta.raft.Receive(from, m) {
		return true
	}
	switch m := m.(type) {
	case *protocol.BrokerRegistrationResponse:
		if b.life != nil {
			b.life.onRegistrationResponse(m)
		}
		return true
	case *protocol.BrokerHeartbeatResponse:
		if b.life != nil {
			b.life.onHeartbeatResponse(m)
		}
		return true
	case protocol.ForwardedResponse:
		b.onForwardedResponse(m)
		return true
	}
	if !b.Serving() && !isResponse(m) {
		b.s.Trace().Emitf(b.n, "broker.not-serving", 0, "%s from node %d dropped: the broker is %s", m.Kind(), from, b.Lifecycle())
		return true
	}
	switch m := m.(type) {
	case protocol.ForwardableRequest:
		b.forward(from, m)
		return true
	case *protocol.DescribeTopicPartitions:
		b.handleDescribeTopicPartitions(from, m)
		return true
	case *protocol.DescribeCluster:
		b.handleDescribeCluster(from, m)
		return true
	}
	return false
}

// Refuses implements network.Refuser. Kafka opens a broker's listeners only
// once the broker is ready to serve (registered, caught up, unfenced), so
// until then a client's or another broker's connection is refused at once
// and it tries elsewhere. The controllers' answers come back on connections
// the broker opened, and so do answers to its own requests (its fetchers
// replicate before it serves): neither is refused.
func (b *Broker) Refuses(from sim.NodeID, m network.Message) bool {
	if b.Serving() || isResponse(m) {
		return false
	}
	if id, ok := b.dir.ID(from); ok {
		if _, controller := b.cfg.ControllerQuorum[id]; controller {
			return false
		}
	}
	b.s.Mark("broker.connection-refused")
	return true
}

// isResponse reports whether m answers a request, as opposed to being one.
// The metadata quorum's messages are not protocol messages: its answers
// come from the controllers, which a broker never refuses, and its raft
// replica takes them before any other check.
func isResponse(m network.Message) bool {
	_, ok := m.(protocol.Response)
	return ok
}
