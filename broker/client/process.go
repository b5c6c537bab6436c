package client

import (
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// A Process is a client application running on a sim node: a producer, a
// consumer and an admin client (any of them may be absent). It routes the
// responses the node receives to the component that sent the request.
// The workload drivers' Boot functions return one.
type Process struct {
	Producer *Producer
	Consumer *Consumer
	Admin    *Admin
}

// Leave closes the process's consumer as an application that shuts down
// does (Consumer.CloseThen: a final commit with enable.auto.commit, and
// LeaveGroup) and calls exit once both are answered or failed. It
// reports false, and does nothing, when the process runs no consumer.
func (p *Process) Leave(exit func()) bool {
	if p.Consumer == nil {
		return false
	}
	p.Consumer.CloseThen(exit)
	return true
}

// Receive implements network.Receiver.
func (p *Process) Receive(from sim.NodeID, m network.Message) {
	switch {
	case p.Producer != nil && p.Producer.c.owns(m):
		p.Producer.Receive(from, m)
	case p.Consumer != nil && p.Consumer.c.owns(m):
		p.Consumer.Receive(from, m)
	case p.Admin != nil && p.Admin.c.owns(m):
		p.Admin.Receive(from, m)
	}
}

// Disconnected implements network.Disconnectable.
func (p *Process) Disconnected(peer sim.NodeID) {
	if p.Producer != nil {
		p.Producer.Disconnected(peer)
	}
	if p.Consumer != nil {
		p.Consumer.Disconnected(peer)
	}
	if p.Admin != nil {
		p.Admin.Disconnected(peer)
	}
}
