package zookeeper

import (
	"fmt"
	"strings"

	"github.com/kafkasim/kafkasim/sim"
)

// The messages of the simulated ensemble. Servers elect with Notifications
// (fast leader election); a leader and its learners speak QuorumPackets
// over a connection; clients speak ConnectRequest, Request, Reply and
// WatcherEvent over theirs. ZooKeeper runs both over TCP: a connection
// delivers in order, and once broken it stays broken. The simulated
// network delivers in order per link but opens a new link after a break,
// so every message of a connection carries the connection's id and a
// sequence number: a receiver that sees a gap treats the connection as
// broken, as a TCP peer would, and FIN stands for the TCP close that tells
// the other end at once. Messages are shared once sent: never change one.

// Xids with a special meaning, as ZooKeeper's ClientCnxn numbers them.
const (
	notificationXid int32 = -1
	pingXid         int32 = -2
	setWatchesXid   int32 = -8
)

// Notification is fast leader election's vote message: the sender's
// proposed leader with that leader's last zxid and epoch, the sender's
// election round (logical clock), state and id.
type Notification struct {
	Leader        int64
	Zxid          Zxid
	ElectionEpoch int64
	State         ServerState
	Sid           int64
	PeerEpoch     int64
}

// QuorumPacket is a packet between the leader and a learner (ZooKeeper's
// QuorumPacket): a type, a zxid, and the payload of its type.
type QuorumPacket struct {
	Conn uint64 // the learner connection
	Seq  uint64

	Type PacketType
	Zxid Zxid

	Sid       int64          // FOLLOWERINFO: the learner's myid
	Epoch     int64          // ACKEPOCH: the learner's currentEpoch, or -1 if it had accepted the epoch already
	Txn       *Txn           // PROPOSAL
	Snapshot  []byte         // SNAP: the serialised data tree
	Touches   []SessionTouch // PING from a learner: the sessions its clients touched
	Request   *Request       // REQUEST: a client request forwarded to the leader
	SessionID int64          // REVALIDATE
	Timeout   int32          // REVALIDATE request: the negotiated timeout, ms
	Valid     bool           // REVALIDATE answer
}

// SessionTouch is a session a learner's client showed activity on, with
// its timeout, reported to the leader in the answer to a PING.
type SessionTouch struct {
	SessionID int64
	Timeout   int32
}

// FIN closes a connection (the TCP close the simulated network does not
// model), so that the other end learns of it at once.
type FIN struct{ Conn uint64 }

// ConnectRequest opens a client connection: a new session (SessionID 0)
// or an existing one, with the largest zxid the client has seen (a server
// that has seen less refuses it) and the timeout the client asks for.
type ConnectRequest struct {
	Conn         uint64
	Seq          uint64
	LastZxidSeen Zxid
	TimeOut      int32 // milliseconds
	SessionID    int64
}

// ConnectResponse answers a ConnectRequest with the negotiated timeout and
// the session id; a timeout of 0 means the session has expired.
type ConnectResponse struct {
	Conn      uint64
	Seq       uint64
	TimeOut   int32
	SessionID int64
}

// Request is a client request (header and body); a learner forwards the
// write requests of its clients to the leader inside a REQUEST packet,
// with the session filled in.
type Request struct {
	Conn uint64
	Seq  uint64
	Xid  int32
	Type OpCode

	Path    string
	Data    []byte
	Version int32
	Mode    CreateMode
	Watch   bool
	Ops     []Op // multi

	// SetWatches: the client's watches, to re-register after a reconnect.
	RelativeZxid                            Zxid
	DataWatches, ExistWatches, ChildWatches []string

	SessionID int64 // set when forwarded, and for createSession
	Timeout   int32 // createSession, milliseconds
}

// Reply answers a Request (reply header and body).
type Reply struct {
	Conn     uint64
	Seq      uint64
	Xid      int32
	Zxid     Zxid
	Err      Code
	Path     string
	Data     []byte
	Stat     Stat
	Children []string
	Results  []OpResult
}

// WatcherEvent notifies a client of a watch that fired.
type WatcherEvent struct {
	Conn  uint64
	Seq   uint64
	Type  EventType
	State KeeperState
	Path  string
}

// Kind names the message in the trace.
func (*Notification) Kind() string { return "Notification" }

// Kind names the packet by its type, as ZooKeeper logs it.
func (p *QuorumPacket) Kind() string { return p.Type.String() }

// Kind names the message in the trace.
func (*FIN) Kind() string { return "FIN" }

// Kind names the message in the trace.
func (*ConnectRequest) Kind() string { return "ConnectRequest" }

// Kind names the message in the trace.
func (*ConnectResponse) Kind() string { return "ConnectResponse" }

// Kind names the request by its op.
func (r *Request) Kind() string { return "Request." + r.Type.String() }

// Kind names the message in the trace.
func (*Reply) Kind() string { return "Reply" }

// Kind names the message in the trace.
func (*WatcherEvent) Kind() string { return "WatcherEvent" }

// Digest summarises the message for the trace hash.
func (n *Notification) Digest() uint64 {
	return sim.Digest(uint64(n.Leader), uint64(n.Zxid), uint64(n.ElectionEpoch), uint64(n.State), uint64(n.Sid), uint64(n.PeerEpoch))
}

// Digest summarises the packet for the trace hash.
func (p *QuorumPacket) Digest() uint64 {
	d := sim.Digest(p.Conn, p.Seq, uint64(p.Type), uint64(p.Zxid), uint64(p.Sid), uint64(p.Epoch), uint64(p.SessionID), uint64(len(p.Snapshot)))
	if p.Txn != nil {
		d = sim.Digest(d, p.Txn.Digest())
	}
	if p.Request != nil {
		d = sim.Digest(d, p.Request.Digest())
	}
	for _, t := range p.Touches {
		d = sim.Digest(d, uint64(t.SessionID), uint64(t.Timeout))
	}
	return d
}

// Digest summarises the message for the trace hash.
func (f *FIN) Digest() uint64 { return f.Conn }

// Digest summarises the message for the trace hash.
func (c *ConnectRequest) Digest() uint64 {
	return sim.Digest(c.Conn, c.Seq, uint64(c.LastZxidSeen), uint64(c.TimeOut), uint64(c.SessionID))
}

// Digest summarises the message for the trace hash.
func (c *ConnectResponse) Digest() uint64 {
	return sim.Digest(c.Conn, c.Seq, uint64(c.TimeOut), uint64(c.SessionID))
}

// Digest summarises the request for the trace hash.
func (r *Request) Digest() uint64 {
	d := sim.Digest(r.Conn, r.Seq, uint64(r.Xid), uint64(r.Type), hashString(fnvBasis, r.Path), hashBytes(fnvBasis, r.Data),
		uint64(r.Version), uint64(r.Mode), uint64(r.SessionID), uint64(len(r.Ops)))
	for _, o := range r.Ops {
		d = sim.Digest(d, uint64(o.Type), hashString(fnvBasis, o.Path), uint64(o.Version))
	}
	return d
}

// Digest summarises the reply for the trace hash.
func (r *Reply) Digest() uint64 {
	return sim.Digest(r.Conn, r.Seq, uint64(r.Xid), uint64(r.Zxid), uint64(r.Err), uint64(r.Stat.Version), uint64(len(r.Results)))
}

// Digest summarises the event for the trace hash.
func (e *WatcherEvent) Digest() uint64 {
	return sim.Digest(e.Conn, e.Seq, uint64(e.Type), uint64(e.State), hashString(fnvBasis, e.Path))
}

// Size is the packet's size in bytes, for links with a bandwidth limit.
func (p *QuorumPacket) Size() int {
	n := 32 + len(p.Snapshot) + 12*len(p.Touches)
	if p.Txn != nil {
		n += p.Txn.size()
	}
	if p.Request != nil {
		n += 32 + len(p.Request.Path) + len(p.Request.Data)
	}
	return n
}

// String formats the notification for traces and scripts.
func (n *Notification) String() string {
	return fmt.Sprintf("Notification{sid=%d %v leader=%d zxid=%v round=%d peerEpoch=%d}", n.Sid, n.State, n.Leader, n.Zxid, n.ElectionEpoch, n.PeerEpoch)
}

// String formats the packet for traces and scripts.
func (p *QuorumPacket) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v %v", p.Type, p.Zxid)
	switch p.Type {
	case FOLLOWERINFO:
		fmt.Fprintf(&b, " sid=%d", p.Sid)
	case ACKEPOCH:
		fmt.Fprintf(&b, " currentEpoch=%d", p.Epoch)
	case PROPOSAL:
		fmt.Fprintf(&b, " %v", p.Txn)
	case SNAP:
		fmt.Fprintf(&b, " %d bytes", len(p.Snapshot))
	case REQUEST:
		fmt.Fprintf(&b, " %v session=0x%x", p.Request.Type, p.Request.SessionID)
	case REVALIDATE:
		fmt.Fprintf(&b, " session=0x%x valid=%t", p.SessionID, p.Valid)
	case PING:
		if len(p.Touches) > 0 {
			fmt.Fprintf(&b, " touches=%d", len(p.Touches))
		}
	}
	return b.String()
}
