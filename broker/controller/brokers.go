package controller

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// session is the active controller's view of one broker's heartbeats
// (Kafka's BrokerHeartbeatManager): when it last heard from it, the
// metadata offset it reported, and where its controlled shutdown ends.
type session struct {
	lastContact    time.Duration // controller's local clock
	metadataOffset int64
	shutdownOffset int64 // -1 unless in controlled shutdown
	fenced         bool
}

// brokerState is a broker's state as the heartbeat logic sees it.
type brokerState uint8

const (
	stateFenced brokerState = iota
	stateUnfenced
	stateControlledShutdown
	stateShutdownNow
)

var brokerStateNames = []string{"fenced", "unfenced", "controlled-shutdown", "shutdown-now"}

func (s brokerState) String() string { return brokerStateNames[s] }

func (s brokerState) fenced() bool { return s == stateFenced || s == stateShutdownNow }

func (c *Controller) validSession(id int32) bool {
	s := c.sessions[id]
	return s != nil && !s.fenced && c.n.Now()-s.lastContact <= c.cfg.SessionTimeout
}

// isActive reports whether a broker may lead or join an ISR: registered,
// unfenced and not shutting down.
func (c *Controller) isActive(id int32) bool {
	reg, ok := c.working.image.Broker(id)
	return ok && !reg.Fenced && !reg.InControlledShutdown
}

// handleRegistration registers a broker process (Kafka's
// ClusterControlManager.registerBroker). A new incarnation gets a new
// broker epoch, the offset at which its records start, and registers
// fenced; it is refused while the previous incarnation's session is
// alive. With ELR on, an incarnation that cannot prove a clean shutdown
// (its previous broker epoch) leaves every ISR and ELR first.
func (c *Controller) handleRegistration(from sim.NodeID, m *protocol.BrokerRegistration) {
	resp := &protocol.BrokerRegistrationResponse{CorrelationID: m.CorrelationID, BrokerEpoch: -1}
	notController := func() {
		resp.Error, resp.Message = protocol.NotController, fmt.Sprintf("controller %d is not the active controller", c.id)
		c.reply(from, resp)
	}
	if !c.active {
		notController()
		return
	}
	id := m.BrokerID
	incarnation := metadata.Uuid(m.IncarnationID)
	reg, exists := c.working.image.Broker(id)
	if exists && reg.IncarnationID != incarnation && c.validSession(id) {
		c.s.Mark("controller.registration.duplicate")
		resp.Error = protocol.DuplicateBrokerRegistration
		resp.Message = fmt.Sprintf("another incarnation of broker %d is registered and its session has not expired (broker.session.timeout.ms=%d)",
			id, c.cfg.SessionTimeout.Milliseconds())
		c.reply(from, resp)
		return
	}
	if exists && reg.IncarnationID == incarnation {
		// A retry of a registration that succeeded: the epoch stays.
		c.sessions[id] = c.touched(c.sessions[id], reg.Fenced, -1)
		last, _ := c.write(nil)
		resp.BrokerEpoch = reg.Epoch
		c.replyAfter(last, func() { c.reply(from, resp) }, notController)
		return
	}
	epoch := c.nextWriteOffset()
	var recs []metadata.Record
	if exists {
		clean := m.PreviousBrokerEpoch == reg.Epoch
		if c.cfg.ELR && !clean {
			// KIP-966: it may have lost data it acknowledged; it leaves
			// every ISR and ELR and may not lead.
			c.s.Mark("controller.registration.unclean-shutdown")
			recs = c.leaderAndISRUpdates(-1, -1, id, c.partitionsWith(id, true, true))
		} else {
			recs = c.leaderAndISRUpdates(id, -1, -1, c.partitionsWith(id, true, false))
		}
	}
	recs = append(recs, &metadata.RegisterBrokerRecord{BrokerID: id, IncarnationID: incarnation, BrokerEpoch: epoch, Fenced: true})
	last, err := c.write(recs)
	if err != nil {
		resp.Error, resp.Message = writeError(err), err.Error()
		c.reply(from, resp)
		return
	}
	c.sessions[id] = &session{lastContact: c.n.Now(), metadataOffset: -1, shutdownOffset: -1, fenced: true}
	c.emit("controller.register", sim.Digest(uint64(id), uint64(epoch)), "broker %d registers incarnation %s with epoch %d (previous epoch %d)",
		id, incarnation, epoch, m.PreviousBrokerEpoch)
	resp.BrokerEpoch = epoch
	c.replyAfter(last, func() { c.reply(from, resp) }, notController)
	c.rescheduleFence()
}

func (c *Controller) touched(s *session, fenced bool, offset int64) *session {
	if s == nil {
		s = &session{metadataOffset: -1, shutdownOffset: -1}
	}
	s.lastContact = c.n.Now()
	s.fenced = fenced
	if offset >= 0 {
		s.metadataOffset = offset
	}
	return s
}

// handleHeartbeat processes a broker heartbeat (Kafka's
// processBrokerHeartbeat with BrokerHeartbeatManager's state machine):
// a fenced broker that asks to be unfenced is, once it has applied its own
// registration; an unfenced broker that asks to shut down enters
// controlled shutdown (leaderships move away, it leaves the ISRs) and may
// shut down once it leads nothing and every active broker has applied
// those changes.
func (c *Controller) handleHeartbeat(from sim.NodeID, m *protocol.BrokerHeartbeat) {
	resp := &protocol.BrokerHeartbeatResponse{CorrelationID: m.CorrelationID}
	notController := func() {
		resp.Error = protocol.NotController
		c.reply(from, resp)
	}
	if !c.active {
		notController()
		return
	}
	id := m.BrokerID
	reg, ok := c.working.image.Broker(id)
	if !ok || reg.Epoch != m.BrokerEpoch {
		resp.Error = protocol.StaleBrokerEpoch
		c.reply(from, resp)
		return
	}
	s := c.sessions[id]
	if s == nil {
		s = &session{metadataOffset: -1, shutdownOffset: -1, fenced: reg.Fenced}
		c.sessions[id] = s
	}
	regOffset := c.working.regOffset[id]
	cur := c.currentState(s, reg)
	next := c.nextState(id, s, cur, m, regOffset)
	var recs []metadata.Record
	if cur != next {
		c.emit("controller.broker-state", sim.Digest(uint64(id), uint64(next)), "broker %d: %s -> %s", id, cur, next)
		switch next {
		case stateFenced, stateShutdownNow:
			if !reg.Fenced {
				recs = c.fenceRecords(id, reg.Epoch)
			}
		case stateUnfenced:
			c.s.Mark("controller.unfence")
			recs = c.unfenceRecords(id, reg.Epoch)
		case stateControlledShutdown:
			c.s.Mark("controller.controlled-shutdown")
			recs = c.controlledShutdownRecords(id, reg)
		}
	}
	c.touched(s, next.fenced(), m.CurrentMetadataOffset)
	last, err := c.write(recs)
	if err != nil {
		resp.Error = writeError(err)
		c.reply(from, resp)
		return
	}
	switch next {
	case stateControlledShutdown:
		if s.shutdownOffset < 0 {
			s.shutdownOffset = last
		}
	case stateShutdownNow:
		c.s.Mark("controller.controlled-shutdown.complete")
	}
	resp.IsCaughtUp = m.CurrentMetadataOffset >= regOffset
	resp.IsFenced = next.fenced()
	resp.ShouldShutDown = next == stateShutdownNow
	c.rescheduleFence()
	c.replyAfter(last, func() { c.reply(from, resp) }, notController)
}

func (c *Controller) currentState(s *session, reg metadata.BrokerRegistration) brokerState {
	switch {
	case s.shutdownOffset >= 0:
		return stateControlledShutdown
	case s.fenced || reg.Fenced:
		return stateFenced
	}
	return stateUnfenced
}

func (c *Controller) nextState(id int32, s *session, cur brokerState, m *protocol.BrokerHeartbeat, regOffset int64) brokerState {
	switch cur {
	case stateFenced:
		switch {
		case m.WantShutDown:
			return stateShutdownNow
		case !m.WantFence && m.CurrentMetadataOffset >= regOffset:
			return stateUnfenced
		}
		return stateFenced
	case stateUnfenced:
		switch {
		case m.WantFence && m.WantShutDown:
			return stateShutdownNow
		case m.WantFence:
			return stateFenced
		case m.WantShutDown && c.hasLeaderships(id):
			return stateControlledShutdown
		case m.WantShutDown:
			return stateShutdownNow
		}
		return stateUnfenced
	case stateControlledShutdown:
		if c.hasLeaderships(id) {
			return stateControlledShutdown
		}
		if s.shutdownOffset <= c.lowestActiveOffset() {
			return stateShutdownNow
		}
		return stateControlledShutdown
	}
	return stateShutdownNow
}

func (c *Controller) hasLeaderships(id int32) bool {
	im := c.working.image
	for _, tp := range im.Partitions() {
		if p, _ := im.Partition(tp); p.Leader == id {
			return true
		}
	}
	return false
}

// lowestActiveOffset is the smallest metadata offset reported by a broker
// that is unfenced and not shutting down.
func (c *Controller) lowestActiveOffset() int64 {
	low := int64(math.MaxInt64)
	for _, s := range c.sessions {
		if !s.fenced && s.shutdownOffset < 0 {
			low = min(low, s.metadataOffset)
		}
	}
	return low
}

// fenceRecords removes a broker from every ISR and leadership, then fences
// it (handleBrokerFenced).
func (c *Controller) fenceRecords(id int32, epoch int64) []metadata.Record {
	recs := c.leaderAndISRUpdates(id, -1, -1, c.partitionsWith(id, true, false))
	return append(recs, &metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: epoch, Fenced: metadata.FencingFence})
}

// unfenceRecords unfences a broker and elects leaders for the partitions
// that have none, now that it may lead (handleBrokerUnfenced).
func (c *Controller) unfenceRecords(id int32, epoch int64) []metadata.Record {
	recs := []metadata.Record{&metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: epoch, Fenced: metadata.FencingUnfence}}
	return append(recs, c.leaderAndISRUpdates(-1, id, -1, c.leaderless())...)
}

// controlledShutdownRecords marks a broker as shutting down and moves its
// leaderships and ISR memberships away (handleBrokerInControlledShutdown).
func (c *Controller) controlledShutdownRecords(id int32, reg metadata.BrokerRegistration) []metadata.Record {
	var recs []metadata.Record
	if !reg.InControlledShutdown {
		recs = append(recs, &metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: reg.Epoch, InControlledShutdown: 1})
	}
	return append(recs, c.leaderAndISRUpdates(id, -1, -1, c.partitionsWith(id, true, false))...)
}

// rescheduleFence sets the session check for the unfenced broker whose
// session expires first.
func (c *Controller) rescheduleFence() {
	c.n.Cancel(c.fenceT)
	if !c.active {
		return
	}
	next := time.Duration(math.MaxInt64)
	for _, s := range c.sessions {
		if !s.fenced {
			next = min(next, s.lastContact+c.cfg.SessionTimeout)
		}
	}
	if next == time.Duration(math.MaxInt64) {
		return
	}
	c.fenceT = c.n.After(next-c.n.Now()+time.Nanosecond, "controller.session-check", c.fenceStale)
}

// fenceStale fences one broker whose session expired, the one silent the
// longest, and checks again (Kafka fences them one at a time).
func (c *Controller) fenceStale() {
	if !c.active {
		return
	}
	stale := int32(-1)
	var oldest time.Duration
	for _, id := range slices.Sorted(maps.Keys(c.sessions)) {
		s := c.sessions[id]
		if s.fenced || c.validSession(id) {
			continue
		}
		if stale < 0 || s.lastContact < oldest {
			stale, oldest = id, s.lastContact
		}
	}
	if stale >= 0 {
		// The session is held before the write: the quorum client runs
		// its overdue work inside the write, and a controller that
		// resigns there (check-quorum after a long pause) drops its
		// sessions.
		s := c.sessions[stale]
		reg, ok := c.working.image.Broker(stale)
		if ok && !reg.Fenced {
			c.s.Mark("controller.fence.session-expired")
			c.emit("controller.fence", uint64(stale), "broker %d fenced: no heartbeat for %v (broker.session.timeout.ms=%d)",
				stale, (c.n.Now() - oldest).Round(time.Millisecond), c.cfg.SessionTimeout.Milliseconds())
			if _, err := c.write(c.fenceRecords(stale, reg.Epoch)); err != nil {
				c.emit("controller.write-error", 0, "fence broker %d: %v", stale, err)
			}
		}
		s.fenced = true
	}
	c.rescheduleFence()
}

// partitionsWith returns the partitions whose ISR (and, with elr, ELR)
// holds broker id, sorted.
func (c *Controller) partitionsWith(id int32, isr, elr bool) []model.TopicPartition {
	im := c.working.image
	var out []model.TopicPartition
	for _, tp := range im.Partitions() {
		p, _ := im.Partition(tp)
		if (isr && slices.Contains(p.ISR, id)) || (elr && slices.Contains(p.ELR, id)) {
			out = append(out, tp)
		}
	}
	return out
}

// leaderless returns the partitions without a leader, sorted.
func (c *Controller) leaderless() []model.TopicPartition {
	im := c.working.image
	var out []model.TopicPartition
	for _, tp := range im.Partitions() {
		if p, _ := im.Partition(tp); p.Leader == metadata.NoLeader {
			out = append(out, tp)
		}
	}
	return out
}
