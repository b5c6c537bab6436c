package client

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Admin is Kafka's admin client as a state machine on a node: topic
// creation, deletion and description, leader elections and config
// changes, group listing and description, committed offsets and their
// reset. Every operation takes a callback that the simulation calls with
// the outcome, retries retriable errors within default.api.timeout.ms as
// Kafka's admin client does, and is recorded in the history: topic and
// cluster operations as admin operations, reads of committed offsets as
// fetch-committed and changes of them as commits, so that checkers judge
// them with the consumers' own.
//
// Requests go to any broker (the least loaded one: a ready broker with
// the fewest requests in flight, taking turns among equals); brokers forward CreateTopics, DeleteTopics,
// ElectLeaders and IncrementalAlterConfigs to the active controller
// (KIP-590). Group requests go to the group's coordinator.
type Admin struct {
	n       *sim.Node
	s       *sim.Sim
	cfg     AdminConfig
	c       *conn
	rec     *history.Recorder
	process int

	coordinators map[string]int32 // group → coordinator found
}

// An AdminError is how an admin operation failed: the Kafka error code
// and what the broker or the client said about it. errors.Is matches it
// against a protocol.ErrorCode.
type AdminError struct {
	Code    protocol.ErrorCode
	Message string
}

func (e *AdminError) Error() string {
	if e.Message == "" {
		return e.Code.Error()
	}
	return e.Code.String() + ": " + e.Message
}

// Unwrap returns the error code.
func (e *AdminError) Unwrap() error { return e.Code }

// err returns e, or nil when its code is NONE.
func (e *AdminError) err() error {
	if e.Code == protocol.None {
		return nil
	}
	return e
}

// codeOf returns the Kafka error code of err: its AdminError's or
// ErrorCode's, UNKNOWN_SERVER_ERROR otherwise, NONE for nil.
func codeOf(err error) protocol.ErrorCode {
	if err == nil {
		return protocol.None
	}
	var code protocol.ErrorCode
	if errors.As(err, &code) {
		return code
	}
	return protocol.UnknownServerError
}

// NewAdmin returns an admin client for node n; cfg must be valid.
func NewAdmin(n *sim.Node, env Env, cfg AdminConfig) (*Admin, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, fmt.Errorf("admin client %s: no history recorder in its environment", cfg.ClientID)
	}
	return &Admin{n: n, s: n.Sim(), cfg: cfg, rec: env.Recorder, process: incarnation(n),
		c:            newConn(n, env, cfg.ClientID, adminTag, cfg.RequestTimeout, cfg.RetryBackoff, cfg.MetadataMaxAge),
		coordinators: make(map[string]int32)}, nil
}

// Config returns the admin client's configuration.
func (a *Admin) Config() AdminConfig { return a.cfg }

// Receive handles responses.
func (a *Admin) Receive(from sim.NodeID, m network.Message) { a.c.receive(from, m) }

// Disconnected fails the requests in flight to a broker.
func (a *Admin) Disconnected(peer sim.NodeID) {
	a.c.disconnected(peer)
	if id, ok := a.c.env.Dir.ID(peer); ok {
		for _, g := range slices.Sorted(maps.Keys(a.coordinators)) {
			if a.coordinators[g] == id {
				delete(a.coordinators, g)
			}
		}
	}
}

func (a *Admin) now() time.Duration { return a.s.Now() }

// adminCall is one admin operation in progress (Kafka's AdminClient Call): its
// deadline, its attempts so far, and whether it has ended.
type adminCall struct {
	name     string
	deadline time.Duration
	tries    int
	// indefinite is set once an attempt may have taken effect without
	// the client learning so (a timeout or a lost connection).
	indefinite bool
	ended      bool
	timer      sim.Timer
}

// newCall starts an operation that must end by default.api.timeout.ms:
// if it has not ended by then (its requests are bounded by the deadline,
// but a metadata wait may not be), expire ends it.
func (a *Admin) newCall(name string, expire func()) *adminCall {
	cl := &adminCall{name: name, deadline: a.now() + a.cfg.DefaultAPITimeout}
	cl.timer = a.n.After(a.cfg.DefaultAPITimeout, "admin.deadline", func() {
		if !cl.ended {
			// A request may be in flight: what it did is unknown.
			a.s.Mark("client.admin.deadline")
			cl.indefinite = true
			expire()
		}
	})
	return cl
}

// end marks the call over and reports whether it was still running: only
// the first end of a call may report its outcome.
func (a *Admin) end(cl *adminCall) bool {
	if cl.ended {
		return false
	}
	cl.ended = true
	a.n.Cancel(cl.timer)
	return true
}

// timedOut is the error of a call that ran out of time.
func (a *Admin) timedOut(cl *adminCall) *AdminError {
	return &AdminError{Code: protocol.RequestTimedOut, Message: fmt.Sprintf("%s timed out after %v", cl.name, a.cfg.DefaultAPITimeout)}
}

// recordRead records the outcome of a read: OK with result, or a
// failure (a read has no effect to be unsure of).
func (a *Admin) recordRead(id int64, err error, result map[string]string) {
	if err == nil {
		a.rec.AdminOK(id, a.now(), result)
	} else {
		a.rec.Fail(id, a.now(), codeOf(err).String())
	}
}

// record records the outcome of a change: OK with result, or a failure,
// unknown when an attempt may have taken effect unseen.
func (a *Admin) record(id int64, cl *adminCall, err error, result map[string]string) {
	switch {
	case err == nil:
		a.rec.AdminOK(id, a.now(), result)
	case cl.indefinite:
		a.rec.Unknown(id, a.now(), codeOf(err).String())
	default:
		a.rec.Fail(id, a.now(), codeOf(err).String())
	}
}

// timeout is the request timeout of the call's next attempt: at most
// request.timeout.ms and never past the call's deadline.
func (a *Admin) timeout(cl *adminCall) time.Duration {
	return max(min(a.cfg.RequestTimeout, cl.deadline-a.now()), time.Millisecond)
}

// retry schedules attempt again after the backoff when code is retriable
// and the call has tries and time left, and reports whether it did.
func (a *Admin) retry(cl *adminCall, code protocol.ErrorCode, attempt func()) bool {
	if cl.ended {
		return true // the deadline ended it meanwhile: nothing more to do
	}
	if code == protocol.RequestTimedOut || code == protocol.NetworkException {
		cl.indefinite = true
	}
	if !code.Retriable() || cl.tries >= a.cfg.Retries {
		return false
	}
	wait := backoff(a.n, a.cfg.RetryBackoff, a.cfg.RetryBackoffMax, cl.tries+1)
	if a.now()+wait >= cl.deadline {
		return false
	}
	cl.tries++
	a.s.Mark("client.admin.retry")
	a.n.After(wait, "admin.retry", func() {
		if !cl.ended {
			attempt()
		}
	})
	return true
}

// failure is the error a call ends with: the code itself, or, when it
// ran out of time or tries on a retriable error, a timeout naming it.
func (a *Admin) failure(cl *adminCall, code protocol.ErrorCode, msg string) *AdminError {
	if code.Retriable() {
		a.s.Mark("client.admin.timeout")
		return &AdminError{Code: protocol.RequestTimedOut,
			Message: fmt.Sprintf("%s timed out after %d attempt(s) in %v; the last error was %s", cl.name, cl.tries+1, a.cfg.DefaultAPITimeout, code)}
	}
	return &AdminError{Code: code, Message: msg}
}

// backoff is KIP-580's exponential backoff with ±20% jitter, drawn from
// the node's random stream.
func backoff(n *sim.Node, base, ceiling time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, max(ceiling, base))
	if d <= 0 {
		return 0
	}
	j := time.Duration(n.Rand().Int64N(int64(d)*2/5+1)) - d/5
	return max(d+j, 0)
}

// request sends a request built by build to broker and hands done the
// response, or the transport's error code (NETWORK_EXCEPTION,
// REQUEST_TIMED_OUT).
// Answers that come after the call ended are dropped.
func (a *Admin) request(cl *adminCall, broker int32, build func(corr int32) network.Message, done func(network.Message, protocol.ErrorCode)) {
	live := func(m network.Message, code protocol.ErrorCode) {
		if !cl.ended {
			done(m, code)
		}
	}
	if broker == protocol.NoNode {
		a.n.After(0, "admin.no-broker", func() { live(nil, protocol.LeaderNotAvailable) })
		return
	}
	a.c.request(broker, a.timeout(cl), build, live)
}

// anyBroker picks a broker for a request any broker answers.
func (a *Admin) anyBroker() int32 { return a.c.anyBroker() }
