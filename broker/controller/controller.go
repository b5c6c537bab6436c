package controller

import (
	"errors"
	"fmt"
	"slices"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// A Controller is one KRaft controller process.
type Controller struct {
	n   *sim.Node
	s   *sim.Sim
	cfg Config
	id  int32
	net *network.Network
	dir *protocol.Directory

	raft *kraft.Client
	err  error

	// committed is built from the batches the quorum committed, in order;
	// committedEnd is the offset after the last one.
	committed    *state
	committedEnd int64
	leader       int32 // the quorum leader as last told, or -1
	epoch        int32

	// Active state, set while this controller leads the quorum.
	active      bool
	activeEpoch int32
	working     *state // committed plus what this controller appended
	sessions    map[int32]*session
	waits       []*wait
	fenceT      sim.Timer
	balanceT    sim.Timer
	uncleanT    sim.Timer
	balanceSoon bool
	uncleanSoon bool
}

// wait is a reply held until the records it depends on are committed.
type wait struct {
	offset int64
	done   func() // send the answer
	fail   func() // send NOT_CONTROLLER: leadership was lost first
}

// Boot returns the sim.Boot of a controller with cfg. It panics if cfg is
// invalid: validate it first (Config.Validate).
func Boot(cfg Config) sim.Boot {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("controller %d: %v", cfg.NodeID, err))
	}
	return func(n *sim.Node) any { return start(n, cfg) }
}

func start(n *sim.Node, cfg Config) *Controller {
	c := &Controller{n: n, s: n.Sim(), cfg: cfg, id: cfg.NodeID, net: cfg.Network, dir: cfg.Directory,
		committed: newState(), leader: kraft.NoLeader}
	raft, err := kraft.New(cfg.Quorum, kraft.Setup{
		Node: n, ID: cfg.NodeID, Voters: cfg.Voters, Listener: c,
		Send: func(to sim.NodeID, m network.Message) { c.net.Send(n.ID(), to, m) },
	})
	if err != nil {
		// A failed metadata log directory: Kafka's controller would halt.
		// This one stays up, unable to take part in the quorum.
		c.err = err
		c.s.Trace().Emitf(n, "controller.storage-error", 0, "%v", err)
		return c
	}
	c.raft = raft
	return c
}

// ID returns the controller's node id.
func (c *Controller) ID() int32 { return c.id }

// Node returns the controller's sim node.
func (c *Controller) Node() *sim.Node { return c.n }

// Raft returns the controller's quorum replica, to read.
func (c *Controller) Raft() *kraft.Client { return c.raft }

// Err returns the error that stopped the controller (a failed disk), or
// nil.
func (c *Controller) Err() error {
	if c.err != nil {
		return c.err
	}
	if c.raft != nil {
		return c.raft.Err()
	}
	return nil
}

// Active reports whether this controller is the active controller: it
// leads the metadata quorum and has caught up with the log.
func (c *Controller) Active() bool { return c.active }

// Leader returns the quorum leader as this controller last heard, or -1.
func (c *Controller) Leader() int32 { return c.leader }

// Committed returns the image built from the committed metadata log.
// Read it; never change it.
func (c *Controller) Committed() *metadata.Image { return c.committed.image }

// Working returns, on the active controller, the image it decides from:
// the committed image plus the records it appended that are not committed
// yet; nil elsewhere. Read it; never change it.
func (c *Controller) Working() *metadata.Image {
	if !c.active {
		return nil
	}
	return c.working.image
}

// emit adds a trace record; the detail is formatted only when someone
// reads the trace.
func (c *Controller) emit(kind string, digest uint64, format string, args ...any) {
	tr := c.s.Trace()
	if !tr.Sinking() {
		tr.Emit(c.n, kind, digest, nil)
		return
	}
	tr.Emitf(c.n, kind, digest, format, args...)
}

// Receive implements network.Receiver: the quorum's messages, brokers'
// registrations, heartbeats and AlterPartition requests, and admin
// requests.
func (c *Controller) Receive(from sim.NodeID, m network.Message) {
	if c.raft != nil && c.raft.Receive(from, m) {
		return
	}
	switch m := m.(type) {
	case *protocol.BrokerRegistration:
		c.handleRegistration(from, m)
	case *protocol.BrokerHeartbeat:
		c.handleHeartbeat(from, m)
	case *protocol.AlterPartition:
		c.handleAlterPartition(from, m)
	case *protocol.CreateTopics:
		c.handleCreateTopics(from, m)
	case *protocol.DeleteTopics:
		c.handleDeleteTopics(from, m)
	case *protocol.ElectLeaders:
		c.handleElectLeaders(from, m)
	case *protocol.IncrementalAlterConfigs:
		c.handleAlterConfigs(from, m)
	case *protocol.CreatePartitions:
		c.handleCreatePartitions(from, m)
	default:
		c.s.Trace().Emitf(c.n, "controller.unknown-request", 0, "%s from node %d ignored", m.Kind(), from)
	}
}

// Disconnected implements network.Disconnectable.
func (c *Controller) Disconnected(peer sim.NodeID) {
	if c.raft != nil {
		c.raft.Disconnected(peer)
	}
}

func (c *Controller) reply(to sim.NodeID, m network.Message) { c.net.Send(c.n.ID(), to, m) }

// HandleCommit implements kraft.Listener: it applies a committed batch to
// the committed image and releases the replies that waited for it.
func (c *Controller) HandleCommit(b *kraft.Batch) {
	if b.Control() {
		if err := c.committed.apply(nil, b.LastOffset()); err != nil {
			c.s.Fail("controller.metadata", fmt.Errorf("controller %d: %w", c.id, err))
		}
	} else {
		recs, err := decode(b.Records)
		if err == nil {
			err = c.committed.apply(recs, b.BaseOffset)
		}
		if err != nil {
			c.s.Fail("controller.metadata", fmt.Errorf("controller %d: batch at offset %d: %w", c.id, b.BaseOffset, err))
			return
		}
	}
	c.committedEnd = b.EndOffset()
	if !c.active {
		return
	}
	n := 0
	for n < len(c.waits) && c.waits[n].offset < c.committedEnd {
		n++
	}
	done := c.waits[:n]
	c.waits = slices.Clone(c.waits[n:])
	for _, w := range done {
		w.done()
	}
}

func decode(payloads [][]byte) ([]metadata.Record, error) {
	recs := make([]metadata.Record, len(payloads))
	for i, p := range payloads {
		r, err := metadata.Decode(p)
		if err != nil {
			return nil, err
		}
		recs[i] = r
	}
	return recs, nil
}

// HandleLeaderChange implements kraft.Listener: the controller becomes
// active when it wins the quorum's election (on a caught-up log), and
// inactive when it loses it.
func (c *Controller) HandleLeaderChange(leader, epoch int32) {
	c.leader, c.epoch = leader, epoch
	switch {
	case leader == c.id && (!c.active || c.activeEpoch != epoch):
		if c.active {
			c.deactivate()
		}
		c.activate(epoch)
	case leader != c.id && c.active:
		c.deactivate()
	}
}

// activate makes this controller the active controller: it decides from a
// copy of the committed image, and every registered broker gets a fresh
// session, as if it had just heartbeated.
func (c *Controller) activate(epoch int32) {
	c.active, c.activeEpoch = true, epoch
	c.working = c.committed.clone()
	c.sessions = make(map[int32]*session)
	now := c.n.Now()
	for _, id := range c.working.image.Brokers() {
		reg, _ := c.working.image.Broker(id)
		c.sessions[id] = &session{lastContact: now, metadataOffset: -1, shutdownOffset: -1, fenced: reg.Fenced}
	}
	if c.raft.EpochStartOffset() > 0 {
		// An earlier controller led the quorum: this is a failover.
		c.s.Mark("controller.failover")
	}
	c.emit("controller.active", uint64(epoch), "active controller in epoch %d at metadata offset %d", epoch, c.working.image.Offset())
	if c.cfg.ELR {
		// With ELR on, the cluster-wide min.insync.replicas is a dynamic
		// config record, written from the static config if missing.
		if _, ok := c.working.image.Config(metadata.BrokerResource, "", MinInsyncReplicasConfig); !ok {
			v := fmt.Sprint(c.cfg.MinInsyncReplicas)
			if _, err := c.write([]metadata.Record{&metadata.ConfigRecord{ResourceType: metadata.BrokerResource,
				Name: MinInsyncReplicasConfig, Value: &v}}); err != nil {
				c.emit("controller.write-error", 0, "%v", err)
			}
		}
	}
	c.rescheduleFence()
	c.maybeScheduleBalance()
	c.maybeScheduleUnclean()
}

// deactivate drops everything the active controller held: its working
// image (uncommitted records are the quorum's business now), the
// sessions, the timers, and the replies still waiting, which fail with
// NOT_CONTROLLER.
func (c *Controller) deactivate() {
	c.active = false
	c.working = nil
	c.sessions = nil
	c.n.Cancel(c.fenceT)
	c.n.Cancel(c.balanceT)
	c.n.Cancel(c.uncleanT)
	c.balanceSoon, c.uncleanSoon = false, false
	waits := c.waits
	c.waits = nil
	for _, w := range waits {
		w.fail()
	}
	c.emit("controller.inactive", uint64(c.activeEpoch), "no longer active (epoch %d)", c.activeEpoch)
}

// errNotActive is the error of a write on a controller that is not active.
var errNotActive = errors.New("not the active controller")

// write appends records to the metadata log as one batch and applies them
// to the working image. It returns the offset of the last record (or, for
// no records, of the last record appended so far): a reply that depends on
// the write waits until that offset is committed.
func (c *Controller) write(recs []metadata.Record) (int64, error) {
	if !c.active {
		return -1, errNotActive
	}
	if len(recs) == 0 {
		return c.working.image.Offset(), nil
	}
	payloads := make([][]byte, len(recs))
	for i, r := range recs {
		payloads[i] = metadata.Encode(r)
	}
	last, err := c.raft.Append(payloads)
	if err != nil {
		return -1, err
	}
	if !c.active {
		// The quorum client ran its own due work inside Append and this
		// controller resigned there (check-quorum after a long pause): the
		// records will not commit in this epoch.
		c.s.Mark("controller.write.lost-leadership")
		return -1, errNotActive
	}
	if err := c.working.apply(recs, last-int64(len(recs))+1); err != nil {
		c.s.Fail("controller.metadata", fmt.Errorf("controller %d wrote records its own image refuses: %w", c.id, err))
		return -1, err
	}
	c.maybeScheduleBalance()
	c.maybeScheduleUnclean()
	return last, nil
}

// nextWriteOffset is the offset the next record written will get.
func (c *Controller) nextWriteOffset() int64 {
	return c.raft.EndOffset() + int64(c.raft.Lingering())
}

// replyAfter sends the answer once offset is committed, or the failure if
// the controller loses its leadership first.
func (c *Controller) replyAfter(offset int64, done, fail func()) {
	if offset < c.committedEnd {
		done()
		return
	}
	c.waits = append(c.waits, &wait{offset: offset, done: done, fail: fail})
}

// notControllerTopics answers each topic of a request NOT_CONTROLLER, as a
// controller that is not the active one does.
func notControllerTopics[T any](c *Controller, topics []T, name func(T) string) []protocol.TopicError {
	var out []protocol.TopicError
	for _, t := range topics {
		out = append(out, protocol.TopicError{Name: name(t), Error: protocol.NotController,
			Message: fmt.Sprintf("controller %d is not the active controller", c.id)})
	}
	return out
}

// commitAndReply writes recs and answers resp once they are committed, or
// calls fail if the controller loses its leadership first. When the write
// itself fails, writeFailed puts its error into resp, which is answered at
// once.
func (c *Controller) commitAndReply(from sim.NodeID, recs []metadata.Record, resp network.Message, writeFailed func(error), fail func()) {
	last, err := c.write(recs)
	if err != nil {
		writeFailed(err)
		c.reply(from, resp)
		return
	}
	c.replyAfter(last, func() { c.reply(from, resp) }, fail)
}

// writeError maps a failed append to the error code a requester sees.
func writeError(err error) protocol.ErrorCode {
	if errors.Is(err, errNotActive) || errors.Is(err, kraft.ErrNotLeader) {
		return protocol.NotController
	}
	// Kafka's controller queue times the request out when it cannot keep
	// up; the requester retries.
	return protocol.RequestTimedOut
}
