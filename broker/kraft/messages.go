package kraft

import (
	"fmt"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// The KRaft RPCs of KIP-595 (with KIP-996's PreVote), as messages of the
// simulated network. Each request carries a correlation id that its response
// echoes; a node keeps at most one request in flight to each peer. Messages
// are shared between nodes once sent: never change one after sending it.

// NoLeader is the leader id of an epoch whose leader is unknown (Kafka's -1).
const NoLeader int32 = -1

// Vote asks a voter for its vote (Kafka's VoteRequest). A candidate sends it
// in its new epoch; a prospective voter sends it with PreVote set in its
// current epoch, and a granted pre-vote binds nobody.
type Vote struct {
	CorrelationID   int32
	ReplicaID       int32 // the candidate (or prospective voter)
	ReplicaEpoch    int32 // its epoch
	LastOffsetEpoch int32 // the epoch of its last log entry
	LastOffset      int64 // its log end offset
	PreVote         bool
}

// VoteResponse answers a Vote with the responder's epoch and leader.
type VoteResponse struct {
	CorrelationID int32
	ErrorCode     protocol.ErrorCode
	LeaderID      int32
	LeaderEpoch   int32
	VoteGranted   bool
	PreVote       bool // echoes the request, so a late answer is never counted in the wrong phase
}

// BeginQuorumEpoch is sent by a newly elected leader to every voter.
type BeginQuorumEpoch struct {
	CorrelationID int32
	LeaderID      int32
	LeaderEpoch   int32
}

// BeginQuorumEpochResponse acknowledges a BeginQuorumEpoch.
type BeginQuorumEpochResponse struct {
	CorrelationID int32
	ErrorCode     protocol.ErrorCode
	LeaderID      int32
	LeaderEpoch   int32
}

// EndQuorumEpoch is sent by a resigning leader to every voter, with the
// voters it prefers as successor, most caught up first.
type EndQuorumEpoch struct {
	CorrelationID       int32
	LeaderID            int32
	LeaderEpoch         int32
	PreferredSuccessors []int32
}

// EndQuorumEpochResponse acknowledges an EndQuorumEpoch.
type EndQuorumEpochResponse struct {
	CorrelationID int32
	ErrorCode     protocol.ErrorCode
	LeaderID      int32
	LeaderEpoch   int32
}

// Fetch is how followers and observers replicate the metadata log from the
// leader (Kafka's Fetch on __cluster_metadata-0). The fetch offset is the
// replica's log end offset and acknowledges everything before it.
type Fetch struct {
	CorrelationID      int32
	ReplicaID          int32 // the fetching replica; -1 for a client
	CurrentLeaderEpoch int32
	FetchOffset        int64
	LastFetchedEpoch   int32
	MaxWait            time.Duration
	HighWatermark      int64 // the replica's high-water mark, -1 if unknown (KAFKA-14145)
}

// EpochEndOffset is a FetchResponse's DivergingEpoch: the largest epoch the
// leader and the follower may share, and where it ends on the leader.
// Epoch -1 means the logs do not diverge.
type EpochEndOffset struct {
	Epoch     int32
	EndOffset int64
}

// FetchResponse carries records from the leader, its high-water mark, or
// where the follower's log diverges from the leader's.
type FetchResponse struct {
	CorrelationID  int32
	ErrorCode      protocol.ErrorCode
	LeaderID       int32
	LeaderEpoch    int32
	HighWatermark  int64 // -1 if the leader does not know it yet
	DivergingEpoch EpochEndOffset
	Batches        []*Batch
}

// Kind names the message in the trace.
func (*Vote) Kind() string { return "Vote" }

// Kind names the message in the trace.
func (*VoteResponse) Kind() string { return "VoteResponse" }

// Kind names the message in the trace.
func (*BeginQuorumEpoch) Kind() string { return "BeginQuorumEpoch" }

// Kind names the message in the trace.
func (*BeginQuorumEpochResponse) Kind() string { return "BeginQuorumEpochResponse" }

// Kind names the message in the trace.
func (*EndQuorumEpoch) Kind() string { return "EndQuorumEpoch" }

// Kind names the message in the trace.
func (*EndQuorumEpochResponse) Kind() string { return "EndQuorumEpochResponse" }

// Kind names the message in the trace.
func (*Fetch) Kind() string { return "Fetch" }

// Kind names the message in the trace.
func (*FetchResponse) Kind() string { return "FetchResponse" }

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Digest summarises the message for the trace hash.
func (m *Vote) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.ReplicaID), uint64(m.ReplicaEpoch), uint64(m.LastOffsetEpoch), uint64(m.LastOffset), b2u(m.PreVote))
}

// Digest summarises the message for the trace hash.
func (m *VoteResponse) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.ErrorCode), uint64(m.LeaderID), uint64(m.LeaderEpoch), b2u(m.VoteGranted), b2u(m.PreVote))
}

// Digest summarises the message for the trace hash.
func (m *BeginQuorumEpoch) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.LeaderID), uint64(m.LeaderEpoch))
}

// Digest summarises the message for the trace hash.
func (m *BeginQuorumEpochResponse) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.ErrorCode), uint64(m.LeaderID), uint64(m.LeaderEpoch))
}

// Digest summarises the message for the trace hash.
func (m *EndQuorumEpoch) Digest() uint64 {
	d := sim.Digest(uint64(m.CorrelationID), uint64(m.LeaderID), uint64(m.LeaderEpoch))
	for _, s := range m.PreferredSuccessors {
		d = sim.Digest(d, uint64(s))
	}
	return d
}

// Digest summarises the message for the trace hash.
func (m *EndQuorumEpochResponse) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.ErrorCode), uint64(m.LeaderID), uint64(m.LeaderEpoch))
}

// Digest summarises the message for the trace hash.
func (m *Fetch) Digest() uint64 {
	return sim.Digest(uint64(m.CorrelationID), uint64(m.ReplicaID), uint64(m.CurrentLeaderEpoch), uint64(m.FetchOffset), uint64(m.LastFetchedEpoch), uint64(m.MaxWait), uint64(m.HighWatermark))
}

// Digest summarises the message for the trace hash.
func (m *FetchResponse) Digest() uint64 {
	d := sim.Digest(uint64(m.CorrelationID), uint64(m.ErrorCode), uint64(m.LeaderID), uint64(m.LeaderEpoch), uint64(m.HighWatermark), uint64(m.DivergingEpoch.Epoch), uint64(m.DivergingEpoch.EndOffset))
	for _, b := range m.Batches {
		d = sim.Digest(d, b.Digest())
	}
	return d
}

// Size is the message's size in bytes, for links with a bandwidth limit.
func (m *FetchResponse) Size() int {
	n := 64
	for _, b := range m.Batches {
		n += b.Size()
	}
	return n
}

// String formats the Vote for traces and scripts.
func (m *Vote) String() string {
	kind := "Vote"
	if m.PreVote {
		kind = "Vote(pre)"
	}
	return fmt.Sprintf("%s{corr=%d replica=%d epoch=%d last=%d@e%d}", kind, m.CorrelationID, m.ReplicaID, m.ReplicaEpoch, m.LastOffset, m.LastOffsetEpoch)
}

func errSuffix(e protocol.ErrorCode) string {
	if e == protocol.None {
		return ""
	}
	return " " + e.String()
}

// String formats the VoteResponse for traces and scripts.
func (m *VoteResponse) String() string {
	kind := "VoteResponse"
	if m.PreVote {
		kind = "VoteResponse(pre)"
	}
	return fmt.Sprintf("%s{corr=%d granted=%t leader=%d epoch=%d%s}", kind, m.CorrelationID, m.VoteGranted, m.LeaderID, m.LeaderEpoch, errSuffix(m.ErrorCode))
}

// String formats the BeginQuorumEpoch for traces and scripts.
func (m *BeginQuorumEpoch) String() string {
	return fmt.Sprintf("BeginQuorumEpoch{corr=%d leader=%d epoch=%d}", m.CorrelationID, m.LeaderID, m.LeaderEpoch)
}

// String formats the BeginQuorumEpochResponse for traces and scripts.
func (m *BeginQuorumEpochResponse) String() string {
	return fmt.Sprintf("BeginQuorumEpochResponse{corr=%d leader=%d epoch=%d%s}", m.CorrelationID, m.LeaderID, m.LeaderEpoch, errSuffix(m.ErrorCode))
}

// String formats the EndQuorumEpoch for traces and scripts.
func (m *EndQuorumEpoch) String() string {
	return fmt.Sprintf("EndQuorumEpoch{corr=%d leader=%d epoch=%d successors=%v}", m.CorrelationID, m.LeaderID, m.LeaderEpoch, m.PreferredSuccessors)
}

// String formats the EndQuorumEpochResponse for traces and scripts.
func (m *EndQuorumEpochResponse) String() string {
	return fmt.Sprintf("EndQuorumEpochResponse{corr=%d leader=%d epoch=%d%s}", m.CorrelationID, m.LeaderID, m.LeaderEpoch, errSuffix(m.ErrorCode))
}

// String formats the Fetch for traces and scripts.
func (m *Fetch) String() string {
	return fmt.Sprintf("Fetch{corr=%d replica=%d epoch=%d offset=%d last-epoch=%d hwm=%d}", m.CorrelationID, m.ReplicaID, m.CurrentLeaderEpoch, m.FetchOffset, m.LastFetchedEpoch, m.HighWatermark)
}

// String formats the FetchResponse for traces and scripts.
func (m *FetchResponse) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "FetchResponse{corr=%d leader=%d epoch=%d hwm=%d", m.CorrelationID, m.LeaderID, m.LeaderEpoch, m.HighWatermark)
	if m.DivergingEpoch.Epoch >= 0 {
		fmt.Fprintf(&b, " diverging=%d@e%d", m.DivergingEpoch.EndOffset, m.DivergingEpoch.Epoch)
	}
	if len(m.Batches) > 0 {
		first, last := m.Batches[0], m.Batches[len(m.Batches)-1]
		fmt.Fprintf(&b, " records=[%d,%d]", first.BaseOffset, last.LastOffset())
	}
	b.WriteString(errSuffix(m.ErrorCode))
	b.WriteString("}")
	return b.String()
}
