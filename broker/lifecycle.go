package broker

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// LifecycleState is a broker's state towards the controller, as Kafka's
// BrokerState names it.
type LifecycleState uint8

// The lifecycle states.
const (
	// Starting: registering, and catching up with the metadata log.
	Starting LifecycleState = iota
	// Recovery: caught up, fenced, asking to be unfenced.
	Recovery
	// Running: unfenced.
	Running
	// PendingControlledShutdown: asking the controller to move its
	// leaderships away before it stops.
	PendingControlledShutdown
	// ShuttingDown: stopped serving; the process is about to end.
	ShuttingDown
)

var lifecycleNames = []string{"STARTING", "RECOVERY", "RUNNING", "PENDING_CONTROLLED_SHUTDOWN", "SHUTTING_DOWN"}

func (s LifecycleState) String() string {
	if int(s) < len(lifecycleNames) {
		return lifecycleNames[s]
	}
	return "LifecycleState(" + strconv.Itoa(int(s)) + ")"
}

// Backoff of the lifecycle's requests after a failure (Kafka's
// BrokerLifecycleManager: 100 ms doubling up to broker.session.timeout.ms,
// with 2% jitter).
const (
	lifecycleBackoffInitial = 100 * time.Millisecond
	lifecycleBackoffJitter  = 0.02
)

// lifecycle is Kafka's BrokerLifecycleManager: it registers the broker
// with the active controller (a new incarnation id every process start,
// and the broker epoch of the last clean shutdown, if any), then
// heartbeats every broker.heartbeat.interval.ms. The broker starts fenced;
// once the controller says it has caught up with the metadata log up to
// its own registration, it asks to be unfenced and starts serving
// requests (Kafka enables its listeners at that point). A controlled
// shutdown asks the controller to move leaderships away first.
type lifecycle struct {
	b              *Broker
	state          LifecycleState
	registered     bool
	epoch          int64 // from the registration response
	previousEpoch  int64 // from the clean-shutdown file, or -1
	readyToUnfence bool

	inflight      int32 // correlation id of the request in flight, or 0
	inflightTimer sim.Timer
	next          sim.Timer
	immediate     bool
	failures      int

	shutdownDone  func(error)
	shutdownTimer sim.Timer
	gotShutdown   bool
}

func newLifecycle(b *Broker, previousEpoch int64) *lifecycle {
	l := &lifecycle{b: b, previousEpoch: previousEpoch, epoch: -1}
	l.schedule(0)
	return l
}

// Lifecycle returns the broker's lifecycle state; a broker whose metadata
// comes from ApplyMetadata calls is always Running.
func (b *Broker) Lifecycle() LifecycleState {
	if b.life == nil {
		return Running
	}
	return b.life.state
}

// Serving reports whether the broker processes requests from clients and
// other brokers. A broker that follows the metadata quorum starts serving
// once the controller acknowledged that it caught up with its own
// registration, and stops when it shuts down.
func (b *Broker) Serving() bool {
	return b.life == nil || (b.life.readyToUnfence && b.life.state != ShuttingDown)
}

func (l *lifecycle) emit(kind string, digest uint64, format string, args ...any) {
	tr := l.b.s.Trace()
	if !tr.Sinking() {
		tr.Emit(l.b.n, kind, digest, nil)
		return
	}
	tr.Emitf(l.b.n, kind, digest, format, args...)
}

func (l *lifecycle) setState(s LifecycleState) {
	if l.state == s {
		return
	}
	l.emit("broker.lifecycle", uint64(s), "%s -> %s", l.state, s)
	l.state = s
}

// schedule sets the next communication with the controller after d.
func (l *lifecycle) schedule(d time.Duration) {
	if l.immediate {
		d = 0
		l.immediate = false
	}
	l.b.n.Cancel(l.next)
	l.next = l.b.n.After(d, "broker.lifecycle.communicate", l.communicate)
}

func (l *lifecycle) afterSuccess() {
	l.failures = 0
	l.schedule(l.b.cfg.HeartbeatInterval)
}

func (l *lifecycle) afterFailure() {
	term := lifecycleBackoffInitial << min(l.failures, 30)
	if term > l.b.cfg.SessionTimeout || term <= 0 {
		term = l.b.cfg.SessionTimeout
	}
	factor := 1 - lifecycleBackoffJitter + 2*lifecycleBackoffJitter*l.b.n.Rand().Float64()
	l.failures++
	l.immediate = false
	l.schedule(time.Duration(float64(term) * factor))
}

// communicate sends the registration, or a heartbeat once registered.
func (l *lifecycle) communicate() {
	b := l.b
	switch {
	case l.state == ShuttingDown:
		return
	case l.inflight != 0:
		l.immediate = true
		return
	case b.controller == protocol.NoNode:
		return // told again when the quorum has a leader
	}
	if l.registered && b.s.Buggify("broker.heartbeat.lost") {
		l.schedule(b.cfg.HeartbeatInterval)
		return
	}
	corr := b.nextCorrelation()
	var req network.Message
	if l.registered {
		req = &protocol.BrokerHeartbeat{CorrelationID: corr, BrokerID: b.id, BrokerEpoch: l.epoch,
			CurrentMetadataOffset: b.image.Offset(), WantFence: !l.readyToUnfence, WantShutDown: l.state == PendingControlledShutdown}
	} else {
		req = &protocol.BrokerRegistration{CorrelationID: corr, BrokerID: b.id, IncarnationID: b.incarnation,
			PreviousBrokerEpoch: l.previousEpoch}
	}
	if !b.send(b.controller, req) {
		l.afterFailure()
		return
	}
	l.inflight = corr
	// KAFKA-14392: the request times out after half the session timeout.
	l.inflightTimer = b.n.After(b.cfg.SessionTimeout/2, "broker.lifecycle.timeout", func() {
		if l.inflight == corr {
			l.inflight = 0
			l.emit("broker.lifecycle.timeout", uint64(corr), "%s to controller %d timed out", req.Kind(), b.controller)
			l.afterFailure()
		}
	})
}

// abandon forgets the request in flight (the controller changed or the
// connection broke) and tries again.
func (l *lifecycle) abandon(failed bool) {
	if l.inflight == 0 {
		return
	}
	l.inflight = 0
	l.b.n.Cancel(l.inflightTimer)
	if failed {
		l.afterFailure()
		return
	}
	l.schedule(0)
}

func (l *lifecycle) controllerChanged() {
	if l.inflight != 0 {
		l.abandon(false)
		return
	}
	if !l.b.s.Scheduled(l.next) && l.state != ShuttingDown {
		l.schedule(0)
	}
}

func (l *lifecycle) onRegistrationResponse(m *protocol.BrokerRegistrationResponse) {
	if m.CorrelationID != l.inflight {
		return
	}
	l.inflight = 0
	l.b.n.Cancel(l.inflightTimer)
	if m.Error != protocol.None {
		l.emit("broker.lifecycle.registration-error", uint64(m.Error), "registration refused: %s: %s", m.Error, m.Message)
		l.afterFailure()
		return
	}
	l.registered, l.epoch, l.failures = true, m.BrokerEpoch, 0
	l.emit("broker.lifecycle.registered", uint64(m.BrokerEpoch), "registered with broker epoch %d", m.BrokerEpoch)
	l.schedule(0)
}

func (l *lifecycle) onHeartbeatResponse(m *protocol.BrokerHeartbeatResponse) {
	if m.CorrelationID != l.inflight {
		return
	}
	l.inflight = 0
	l.b.n.Cancel(l.inflightTimer)
	if m.Error != protocol.None {
		l.emit("broker.lifecycle.heartbeat-error", uint64(m.Error), "heartbeat failed: %s", m.Error)
		l.afterFailure()
		return
	}
	l.failures = 0
	switch l.state {
	case Starting:
		if m.IsCaughtUp {
			l.setState(Recovery)
			l.maybeReady()
		}
		l.schedule(10 * time.Millisecond)
	case Recovery:
		if !m.IsFenced {
			l.setState(Running)
		}
		l.afterSuccess()
	case Running:
		l.afterSuccess()
	case PendingControlledShutdown:
		if m.ShouldShutDown {
			l.finishShutdown(nil)
			return
		}
		if !l.gotShutdown {
			l.gotShutdown = true
			l.schedule(50 * time.Millisecond)
		} else {
			l.afterSuccess()
		}
	}
}

// maybeReady asks to be unfenced, and starts serving, once the controller
// said the broker caught up and the broker has published its metadata.
func (l *lifecycle) maybeReady() {
	if l.readyToUnfence || l.state != Recovery || !l.b.meta.published {
		return
	}
	l.readyToUnfence = true
	l.b.s.Mark("broker.lifecycle.serving")
	l.emit("broker.serving", uint64(l.b.image.Offset()), "serving requests from metadata offset %d", l.b.image.Offset())
	l.immediate = true
}

func (l *lifecycle) metadataApplied() { l.maybeReady() }

// ControlledShutdown shuts the broker down the controlled way: it asks
// the controller to move its leaderships away and waits until the
// controller lets it go (or timeout passes), then stops serving, does a
// clean shutdown's disk work (Shutdown) and calls done with its result.
// The caller then stops the node. A broker that is not running (still
// starting, or fenced) shuts down at once, as Kafka's does.
func (b *Broker) ControlledShutdown(timeout time.Duration, done func(error)) {
	if b.zk != nil {
		b.zk.controlledShutdown(timeout, done)
		return
	}
	l := b.life
	if l != nil && (l.state == PendingControlledShutdown || l.state == ShuttingDown) {
		return // already on its way
	}
	if l == nil || l.state != Running {
		if l != nil {
			l.b.n.Cancel(l.next)
			l.setState(ShuttingDown)
		}
		done(b.Shutdown())
		return
	}
	b.s.Mark("broker.controlled-shutdown")
	l.setState(PendingControlledShutdown)
	l.shutdownDone = done
	l.shutdownTimer = b.n.After(timeout, "broker.controlled-shutdown.timeout", func() {
		l.emit("broker.controlled-shutdown.timeout", 0, "the controller did not release the broker within %v", timeout)
		l.finishShutdown(fmt.Errorf("broker %d: timed out after %v waiting for the controller to approve controlled shutdown", b.id, timeout))
	})
	if l.inflight != 0 {
		l.immediate = true // right after the answer to the request in flight
	} else {
		l.schedule(0)
	}
}

func (l *lifecycle) finishShutdown(reason error) {
	if l.state == ShuttingDown {
		return
	}
	l.b.n.Cancel(l.shutdownTimer)
	l.b.n.Cancel(l.next)
	l.setState(ShuttingDown)
	err := l.b.Shutdown()
	if err == nil {
		err = reason
	}
	if done := l.shutdownDone; done != nil {
		l.shutdownDone = nil
		done(err)
	}
}
