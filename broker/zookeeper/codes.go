package zookeeper

import (
	"fmt"
	"strconv"
)

// Zxid is ZooKeeper's transaction id: the epoch of the leader that proposed
// the transaction in the high 32 bits and a counter within that epoch in the
// low 32 bits. Zxids order every transaction the ensemble ever proposes.
type Zxid int64

// MakeZxid builds the zxid of counter in epoch.
func MakeZxid(epoch, counter int64) Zxid { return Zxid(epoch<<32 | counter&0xffffffff) }

// Epoch returns the epoch of the leader that proposed the transaction.
func (z Zxid) Epoch() int64 { return int64(z) >> 32 }

// Counter returns the transaction's position within its epoch.
func (z Zxid) Counter() int64 { return int64(z) & 0xffffffff }

// String formats the zxid in hex, as ZooKeeper logs it (0x100000003).
func (z Zxid) String() string {
	if z < 0 {
		return strconv.FormatInt(int64(z), 10)
	}
	return "0x" + strconv.FormatInt(int64(z), 16)
}

// Code is a ZooKeeper error code (KeeperException.Code), with ZooKeeper's
// numbers. A Code other than Ok is an error: callbacks receive it as their
// err, and errors.Is matches it.
type Code int32

// The error codes, as ZooKeeper numbers them.
const (
	Ok                      Code = 0
	SystemError             Code = -1
	RuntimeInconsistency    Code = -2
	DataInconsistency       Code = -3
	ConnectionLoss          Code = -4
	MarshallingError        Code = -5
	Unimplemented           Code = -6
	OperationTimeout        Code = -7
	BadArguments            Code = -8
	APIError                Code = -100
	NoNode                  Code = -101
	NoAuth                  Code = -102
	BadVersion              Code = -103
	NoChildrenForEphemerals Code = -108
	NodeExists              Code = -110
	NotEmpty                Code = -111
	SessionExpired          Code = -112
	InvalidCallback         Code = -113
	InvalidACL              Code = -114
	AuthFailed              Code = -115
	SessionMoved            Code = -118
	NotReadOnly             Code = -119
)

var codeNames = map[Code]string{
	Ok: "OK", SystemError: "SYSTEMERROR", RuntimeInconsistency: "RUNTIMEINCONSISTENCY",
	DataInconsistency: "DATAINCONSISTENCY", ConnectionLoss: "CONNECTIONLOSS", MarshallingError: "MARSHALLINGERROR",
	Unimplemented: "UNIMPLEMENTED", OperationTimeout: "OPERATIONTIMEOUT", BadArguments: "BADARGUMENTS",
	APIError: "APIERROR", NoNode: "NONODE", NoAuth: "NOAUTH", BadVersion: "BADVERSION",
	NoChildrenForEphemerals: "NOCHILDRENFOREPHEMERALS", NodeExists: "NODEEXISTS", NotEmpty: "NOTEMPTY",
	SessionExpired: "SESSIONEXPIRED", InvalidCallback: "INVALIDCALLBACK", InvalidACL: "INVALIDACL",
	AuthFailed: "AUTHFAILED", SessionMoved: "SESSIONMOVED", NotReadOnly: "NOTREADONLY",
}

// String returns the code's name as ZooKeeper's Code enum spells it.
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// Error makes a Code an error.
func (c Code) Error() string { return "zookeeper: " + c.String() }

// err returns nil for Ok and the code otherwise.
func (c Code) err() error {
	if c == Ok {
		return nil
	}
	return c
}

// OpCode is a request or transaction type, with ZooKeeper's numbers.
type OpCode int32

// The operation codes the simulation uses.
const (
	OpError         OpCode = -1
	OpCreate        OpCode = 1
	OpDelete        OpCode = 2
	OpExists        OpCode = 3
	OpGetData       OpCode = 4
	OpSetData       OpCode = 5
	OpGetChildren   OpCode = 8
	OpSync          OpCode = 9
	OpPing          OpCode = 11
	OpCheck         OpCode = 13
	OpMulti         OpCode = 14
	OpSetWatches    OpCode = 101
	OpCreateSession OpCode = -10
	OpCloseSession  OpCode = -11
)

var opNames = map[OpCode]string{
	OpError: "error", OpCreate: "create", OpDelete: "delete", OpExists: "exists", OpGetData: "getData",
	OpSetData: "setData", OpGetChildren: "getChildren", OpSync: "sync", OpPing: "ping", OpCheck: "check",
	OpMulti: "multi", OpSetWatches: "setWatches", OpCreateSession: "createSession", OpCloseSession: "closeSession",
}

// String returns the op's name as ZooKeeper's OpCode spells it.
func (o OpCode) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return "OpCode(" + strconv.Itoa(int(o)) + ")"
}

// write reports whether requests of this type are transactions, which go
// through the leader; the others are read locally by the connected server.
func (o OpCode) write() bool {
	switch o {
	case OpCreate, OpDelete, OpSetData, OpCheck, OpMulti, OpCreateSession, OpCloseSession:
		return true
	}
	return false
}

// CreateMode is a znode's kind, with ZooKeeper's numbers.
type CreateMode int32

// The create modes.
const (
	Persistent           CreateMode = 0
	Ephemeral            CreateMode = 1
	PersistentSequential CreateMode = 2
	EphemeralSequential  CreateMode = 3
)

// IsEphemeral reports whether the znode lives only as long as its session.
func (m CreateMode) IsEphemeral() bool { return m == Ephemeral || m == EphemeralSequential }

// IsSequential reports whether the server appends a sequence number to the
// znode's name.
func (m CreateMode) IsSequential() bool { return m == PersistentSequential || m == EphemeralSequential }

// String returns the mode's name as ZooKeeper's CreateMode spells it.
func (m CreateMode) String() string {
	switch m {
	case Persistent:
		return "PERSISTENT"
	case Ephemeral:
		return "EPHEMERAL"
	case PersistentSequential:
		return "PERSISTENT_SEQUENTIAL"
	case EphemeralSequential:
		return "EPHEMERAL_SEQUENTIAL"
	}
	return "CreateMode(" + strconv.Itoa(int(m)) + ")"
}

// EventType is what a watch event says happened (Watcher.Event.EventType).
type EventType int32

// The event types, with ZooKeeper's numbers.
const (
	EventNone                EventType = -1
	EventNodeCreated         EventType = 1
	EventNodeDeleted         EventType = 2
	EventNodeDataChanged     EventType = 3
	EventNodeChildrenChanged EventType = 4
)

// String returns the type's name as ZooKeeper spells it.
func (t EventType) String() string {
	switch t {
	case EventNone:
		return "None"
	case EventNodeCreated:
		return "NodeCreated"
	case EventNodeDeleted:
		return "NodeDeleted"
	case EventNodeDataChanged:
		return "NodeDataChanged"
	case EventNodeChildrenChanged:
		return "NodeChildrenChanged"
	}
	return "EventType(" + strconv.Itoa(int(t)) + ")"
}

// KeeperState is the session state an event reports
// (Watcher.Event.KeeperState).
type KeeperState int32

// The keeper states, with ZooKeeper's numbers.
const (
	StateDisconnected  KeeperState = 0
	StateSyncConnected KeeperState = 3
	StateExpired       KeeperState = -112
	StateClosed        KeeperState = 7
)

// String returns the state's name as ZooKeeper spells it.
func (s KeeperState) String() string {
	switch s {
	case StateDisconnected:
		return "Disconnected"
	case StateSyncConnected:
		return "SyncConnected"
	case StateExpired:
		return "Expired"
	case StateClosed:
		return "Closed"
	}
	return "KeeperState(" + strconv.Itoa(int(s)) + ")"
}

// ServerState is a server's role in the ensemble (QuorumPeer.ServerState).
type ServerState uint8

// The server states (no observers in the simulation).
const (
	Looking ServerState = iota
	Following
	Leading
)

// String returns the state's name as ZooKeeper logs it.
func (s ServerState) String() string {
	switch s {
	case Looking:
		return "LOOKING"
	case Following:
		return "FOLLOWING"
	case Leading:
		return "LEADING"
	}
	return "ServerState(" + strconv.Itoa(int(s)) + ")"
}

// ZabState is the phase of the ZAB protocol a server is in
// (QuorumPeer.ZabState).
type ZabState uint8

// The ZAB phases.
const (
	Election ZabState = iota
	Discovery
	Synchronization
	Broadcast
)

// String returns the phase's name as ZooKeeper spells it.
func (z ZabState) String() string {
	switch z {
	case Election:
		return "ELECTION"
	case Discovery:
		return "DISCOVERY"
	case Synchronization:
		return "SYNCHRONIZATION"
	case Broadcast:
		return "BROADCAST"
	}
	return "ZabState(" + strconv.Itoa(int(z)) + ")"
}

// PacketType is the type of a packet between the leader and a learner,
// with the numbers of ZooKeeper's Leader class.
type PacketType int32

// The packet types (observers' OBSERVERINFO and INFORM, and reconfig's
// *ANDACTIVATE packets, are not simulated).
const (
	REQUEST      PacketType = 1
	PROPOSAL     PacketType = 2
	ACK          PacketType = 3
	COMMIT       PacketType = 4
	PING         PacketType = 5
	REVALIDATE   PacketType = 6
	SYNC         PacketType = 7
	NEWLEADER    PacketType = 10
	FOLLOWERINFO PacketType = 11
	UPTODATE     PacketType = 12
	DIFF         PacketType = 13
	TRUNC        PacketType = 14
	SNAP         PacketType = 15
	LEADERINFO   PacketType = 17
	ACKEPOCH     PacketType = 18
)

var packetNames = map[PacketType]string{
	REQUEST: "REQUEST", PROPOSAL: "PROPOSAL", ACK: "ACK", COMMIT: "COMMIT", PING: "PING",
	REVALIDATE: "REVALIDATE", SYNC: "SYNC", NEWLEADER: "NEWLEADER", FOLLOWERINFO: "FOLLOWERINFO",
	UPTODATE: "UPTODATE", DIFF: "DIFF", TRUNC: "TRUNC", SNAP: "SNAP", LEADERINFO: "LEADERINFO", ACKEPOCH: "ACKEPOCH",
}

// String returns the packet type's name as ZooKeeper spells it.
func (p PacketType) String() string {
	if n, ok := packetNames[p]; ok {
		return n
	}
	return fmt.Sprintf("PacketType(%d)", int32(p))
}
