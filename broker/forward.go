package broker

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// forwarded is an admin request the broker relayed to the active
// controller (KIP-590's forwarding), waiting for the controller's answer.
type forwarded struct {
	from sim.NodeID
	req  protocol.ForwardableRequest
	to   int32 // the controller it went to
}

// forward relays an admin request to the active controller under a
// correlation id of the broker's own; the answer goes back to the
// requester under its id.
func (b *Broker) forward(from sim.NodeID, req protocol.ForwardableRequest) {
	if b.controller == protocol.NoNode {
		b.replyTo(from, notControllerResponse(req, "no active controller is known"))
		return
	}
	corr := b.nextCorrelation()
	if !b.send(b.controller, req.WithCorrelationID(corr)) {
		b.replyTo(from, notControllerResponse(req, "the active controller is not reachable"))
		return
	}
	if b.forwards == nil {
		b.forwards = make(map[int32]*forwarded)
	}
	b.forwards[corr] = &forwarded{from: from, req: req, to: b.controller}
}

// onForwardedResponse passes the controller's answer to a forwarded request
// back to the requester under its correlation id.
func (b *Broker) onForwardedResponse(m protocol.ForwardedResponse) {
	f, ok := b.forwards[m.Correlation()]
	if !ok {
		return
	}
	delete(b.forwards, m.Correlation())
	b.replyTo(f.from, m.WithCorrelationID(f.req.Correlation()))
}

// failForwards answers NOT_CONTROLLER to every request forwarded to a
// controller that is no longer the active one or no longer reachable; the
// admin client retries.
func (b *Broker) failForwards(to int32, why string) {
	for _, corr := range slices.Sorted(maps.Keys(b.forwards)) {
		f := b.forwards[corr]
		if to != protocol.NoNode && f.to != to {
			continue
		}
		delete(b.forwards, corr)
		b.replyTo(f.from, notControllerResponse(f.req, why))
	}
}

// notControllerResponse answers an admin request with NOT_CONTROLLER.
func notControllerResponse(req protocol.ForwardableRequest, why string) network.Message {
	corr := req.Correlation()
	switch m := req.(type) {
	case *protocol.CreateTopics:
		resp := &protocol.CreateTopicsResponse{CorrelationID: corr}
		for _, t := range m.Topics {
			resp.Topics = append(resp.Topics, protocol.TopicError{Name: t.Name, Error: protocol.NotController, Message: why})
		}
		return resp
	case *protocol.DeleteTopics:
		resp := &protocol.DeleteTopicsResponse{CorrelationID: corr}
		for _, n := range m.Names {
			resp.Topics = append(resp.Topics, protocol.TopicError{Name: n, Error: protocol.NotController, Message: why})
		}
		return resp
	case *protocol.ElectLeaders:
		return &protocol.ElectLeadersResponse{CorrelationID: corr, Error: protocol.NotController}
	case *protocol.IncrementalAlterConfigs:
		resp := &protocol.IncrementalAlterConfigsResponse{CorrelationID: corr}
		for _, r := range m.Resources {
			resp.Results = append(resp.Results, protocol.AlterConfigsResult{Type: r.Type, Name: r.Name, Error: protocol.NotController, Message: why})
		}
		return resp
	case *protocol.CreatePartitions:
		resp := &protocol.CreatePartitionsResponse{CorrelationID: corr}
		for _, t := range m.Topics {
			resp.Topics = append(resp.Topics, protocol.TopicError{Name: t.Name, Error: protocol.NotController, Message: why})
		}
		return resp
	}
	panic(fmt.Sprintf("broker: %s is not a forwarded admin request", req.Kind()))
}
