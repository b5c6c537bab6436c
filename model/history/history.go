// Package history is the vocabulary of histories, what the clients of one
// run did and saw, and their file format.
//
// A History is a header, the operations (Op) of every client in id order,
// and optionally the final state of the cluster (Capture). Clients record
// operations with a Recorder as they run: Invoke when they call, then OK,
// Fail or Unknown when they learn the outcome. Each operation has a kind
// (send, poll, commit, fetch-committed, assign, subscribe, rebalance,
// seek, admin), a client id and a process, invocation and completion
// times in simulated nanoseconds, an outcome, a Kafka error code name, and
// the arguments and results of its kind.
//
// Outcomes follow Jepsen: ok, fail (took no effect) or unknown (may or may
// not have). A send that failed with an error Kafka returns after writing
// (NOT_ENOUGH_REPLICAS_AFTER_APPEND) or that leaves the outcome open (a
// timeout) counts as unknown whatever the client recorded; see Definite
// and Op.Effective.
//
// Histories are stored as JSON Lines, versioned; see FormatName for the
// format, WriteHistory and ReadHistory to use it. A reader refuses, naming
// the line, any file that is truncated, of another format or version, or
// malformed; it never loads half a history.
//
// Checkers assume that every record sent to a topic is unique (the
// workloads make values unique): identity is key and value.
package history

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// A History is what the clients of one run did and saw: a header naming
// the run, every operation in id order, and optionally the final state of
// every replica and partition once the run had ended and healed.
type History struct {
	Header Header
	// Ops are the operations, sorted by ID; IDs run 0, 1, 2, ... in
	// invocation order when a Recorder made the history.
	Ops []Op
	// Partitions and Replicas are the final state of the cluster, when the
	// run captured it (see Capture). Checkers use them as the last reads.
	Partitions []PartitionState
	Replicas   []ReplicaState
	// OpenTxns are the transactions open at the end on the final leaders
	// of the partitions transactions wrote (whose logs are not captured
	// in Replicas: they hold aborted records), by partition and first
	// offset.
	OpenTxns []OpenTxn
}

// An OpenTxn is a transaction open on a partition's final leader: its
// producer's data is written from FirstOffset (the record FirstValue)
// and no marker has ended it, so the last stable offset is at most
// FirstOffset.
type OpenTxn struct {
	TP               model.TopicPartition
	Broker           int32
	ProducerID       int64
	ProducerEpoch    int16
	FirstOffset      int64
	FirstValue       model.Bytes
	LastStableOffset int64
	HighWatermark    int64
	// At is when the history was closed and the state captured.
	At time.Duration
}

// Header names a history's format and the run that produced it.
type Header struct {
	// Format is always FormatName; Version is the format version the
	// history was written with.
	Format  string
	Version int
	// Seed and Replay identify the run: the seed it ran with and a
	// one-line command that replays it. Both are optional.
	Seed   uint64
	Replay string
	// Scenario names the scenario or workload that produced the run.
	Scenario string
	// Config lists the configuration the run set, with Kafka's names
	// ("min.insync.replicas": "2", "<topic>.unclean.leader.election.enable":
	// "true", ...), for people to read. Histories written before Run
	// existed carry only this; RunConfig reads either.
	Config map[string]string
	// Run is the run's configuration typed, as the checkers read it
	// (RunConfig); nil in older histories.
	Run *model.RunConfig
}

// Kind is the kind of an operation.
type Kind uint8

// The kinds of operations.
const (
	// KindSend is a producer's send of one record (Send).
	KindSend Kind = iota + 1
	// KindPoll is a consumer's poll (Poll).
	KindPoll
	// KindCommit is a consumer's offset commit (Offsets, as arguments).
	KindCommit
	// KindFetchCommitted reads a group's committed offsets (Offsets: the
	// partitions asked for; on success, the offsets found).
	KindFetchCommitted
	// KindAssign is a consumer's manual assignment (Membership.Partitions).
	KindAssign
	// KindSubscribe is a consumer's subscription (Membership.Topics).
	KindSubscribe
	// KindRebalance is a change of a group member's assignment
	// (Membership.Assigned, Membership.Revoked).
	KindRebalance
	// KindSeek moves a consumer's position (Seek), including resets by
	// auto.offset.reset and after log truncation.
	KindSeek
	// KindAdmin is an admin client operation (Admin).
	KindAdmin
	// KindTxn is one client operation of several micro-operations, sends
	// and polls in the order the client ran them (Txn): Jepsen's Kafka
	// workload records its :txn operations, and its :send and :poll
	// operations of more than one send or poll, so.
	KindTxn
)

var kindNames = [...]string{
	KindSend:           "send",
	KindPoll:           "poll",
	KindCommit:         "commit",
	KindFetchCommitted: "fetch-committed",
	KindAssign:         "assign",
	KindSubscribe:      "subscribe",
	KindRebalance:      "rebalance",
	KindSeek:           "seek",
	KindAdmin:          "admin",
	KindTxn:            "txn",
}

// Kinds lists every kind of operation, in the order of their names.
func Kinds() []Kind {
	return []Kind{KindSend, KindPoll, KindCommit, KindFetchCommitted, KindAssign, KindSubscribe, KindRebalance, KindSeek, KindAdmin, KindTxn}
}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the kind with the given name, or an error listing the
// accepted names.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if kindNames[k] == s {
			return k, nil
		}
	}
	names := make([]string, 0, len(kindNames))
	for _, k := range Kinds() {
		names = append(names, kindNames[k])
	}
	return 0, fmt.Errorf("unknown operation type %q; accepted: %s", s, strings.Join(names, ", "))
}

// Outcome is what a client learned of an operation.
type Outcome uint8

// The outcomes of an operation.
const (
	// OK: the operation took effect, and its results are recorded.
	OK Outcome = iota + 1
	// Fail: the operation failed with Op.Error and, as far as the client
	// knows, took no effect. Checkers still treat a failed send whose
	// error does not rule out a write (see Definite) as Unknown.
	Fail
	// Unknown: the client cannot tell whether the operation took effect
	// (a timeout, a lost connection, a run that ended first). Jepsen calls
	// this outcome "info".
	Unknown
)

var outcomeNames = [...]string{OK: "ok", Fail: "fail", Unknown: "unknown"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// ParseOutcome returns the outcome with the given name.
func ParseOutcome(s string) (Outcome, error) {
	switch s {
	case "ok":
		return OK, nil
	case "fail":
		return Fail, nil
	case "unknown":
		return Unknown, nil
	}
	return 0, fmt.Errorf("unknown outcome %q; accepted: ok, fail, unknown", s)
}

// An Op is one operation of one client: what was asked, when, and what
// came of it. Exactly one of the kind-specific parts is set, the one Kind
// names (Offsets for both commit and fetch-committed, Membership for
// assign, subscribe and rebalance, Txn for txn).
type Op struct {
	// ID identifies the operation within its history.
	ID int64
	// Client is the client's id (Kafka's client.id), such as "producer-1".
	Client string
	// Process is the logical thread of the client that ran the operation;
	// operations of one process do not overlap in time unless the client
	// is asynchronous (a producer with several sends in flight).
	Process int
	Kind    Kind
	// Invoke and Complete are the simulated times at which the client
	// called the operation and learned its outcome. An operation still
	// open when the history was closed has outcome Unknown and completes
	// at the closing time.
	Invoke   time.Duration
	Complete time.Duration
	Outcome  Outcome
	// Error is the Kafka error code name behind a Fail or Unknown outcome
	// ("NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT", ...); empty when OK.
	// A history read from another tool may hold that tool's own words.
	Error string
	// Certain marks a Fail outcome the client itself judged certain,
	// whatever its error: Jepsen's :fail means the operation took no
	// effect. Without it, Definite decides from the error code.
	Certain bool

	Send       *Send
	Poll       *Poll
	Offsets    *Offsets
	Membership *Membership
	Seek       *Seek
	Admin      *Admin
	Txn        *Txn
}

// Txn is the body of a txn operation: its micro-operations, in order.
type Txn struct {
	Mops []Mop
}

// A Mop is one micro-operation of a txn: exactly one of Send and Poll.
//
// Inside a txn the rules of a lone send or poll are looser, as Jepsen's
// histories need: an acknowledged send may lack its offset (-1: the client
// did not report it), a send of an operation that failed or whose outcome
// is unknown may carry the offset the client was told, and a poll of such
// an operation may list the records it returned (Kafka's consumers return
// only committed records, whatever becomes of the operation around them).
type Mop struct {
	Send *Send
	Poll *Poll
}

// Sends returns the operation's sends: its one send, or the sends of its
// txn in order.
func (op *Op) Sends() []*Send {
	if op.Send != nil {
		return []*Send{op.Send}
	}
	if op.Txn == nil {
		return nil
	}
	var out []*Send
	for _, m := range op.Txn.Mops {
		if m.Send != nil {
			out = append(out, m.Send)
		}
	}
	return out
}

// Polls returns the operation's polls: its one poll, or the polls of its
// txn in order.
func (op *Op) Polls() []*Poll {
	if op.Poll != nil {
		return []*Poll{op.Poll}
	}
	if op.Txn == nil {
		return nil
	}
	var out []*Poll
	for _, m := range op.Txn.Mops {
		if m.Poll != nil {
			out = append(out, m.Poll)
		}
	}
	return out
}

// Send is a producer's send of one record.
type Send struct {
	Topic string
	// Partition is the partition the record was sent to: the producer's
	// partitioner chooses it when send is called, so it is known whatever
	// the outcome; -1 if the producer never got that far (no metadata).
	Partition int32
	Key       model.Bytes
	Value     model.Bytes
	// Headers are the record's headers, in the order sent; nil when it
	// has none.
	Headers []model.RecordHeader
	Acks    model.Acks
	// Idempotent is the producer's enable.idempotence.
	Idempotent bool
	// Offset is the offset the send got when its outcome is OK; -1
	// otherwise, and for acks=0, which never learns it.
	Offset int64
}

// TP returns the partition the record was sent to.
func (s *Send) TP() model.TopicPartition {
	return model.TopicPartition{Topic: s.Topic, Partition: s.Partition}
}

// Poll is one call of a consumer's poll.
type Poll struct {
	// Group is the consumer's group.id; empty when it has none.
	Group string
	// Parts lists, sorted by partition, every partition the poll returned
	// records from and, optionally, the other assigned partitions.
	Parts []PollPart
}

// PollPart is what one poll returned from one partition.
type PollPart struct {
	Topic     string
	Partition int32
	// Position is the consumer's position in the partition (the offset of
	// the next record it would read) when poll was called; -1 if unknown.
	Position int64
	// Records are the records returned, in the order returned.
	Records []Record
}

// TP returns the part's partition.
func (p *PollPart) TP() model.TopicPartition {
	return model.TopicPartition{Topic: p.Topic, Partition: p.Partition}
}

// A Record is a record as a client or a log saw it.
type Record struct {
	Offset      int64
	LeaderEpoch int32 // -1 if unknown
	Key         model.Bytes
	Value       model.Bytes
	// Headers are the record's headers, in order; nil when it has none.
	Headers []model.RecordHeader
	// Producer is, in a final log, the idempotent producer's write that
	// holds the record; nil for a record without one, and in polls.
	Producer *RecordProducer
}

// RecordProducer identifies an idempotent producer's write of one record:
// its producer id and epoch, and the record's sequence number.
type RecordProducer struct {
	ID       int64
	Epoch    int16
	Sequence int32
}

// RecordOf returns the record of a log entry.
func RecordOf(e model.Entry) Record {
	r := Record{Offset: e.Offset, LeaderEpoch: e.LeaderEpoch, Key: e.Key, Value: e.Value, Headers: e.Headers}
	if e.ProducerID >= 0 {
		r.Producer = &RecordProducer{ID: e.ProducerID, Epoch: e.ProducerEpoch, Sequence: e.Sequence}
	}
	return r
}

func (r Record) String() string {
	if r.Key == nil {
		return fmt.Sprintf("%d:%s", r.Offset, r.Value)
	}
	return fmt.Sprintf("%d:%s=%s", r.Offset, r.Key, r.Value)
}

// Offsets is a commit's arguments or a fetch-committed's question and
// answer: committed offsets of one group.
type Offsets struct {
	Group string
	// Generation is the group generation the member committed in; -1 for
	// a commit outside any generation (manual assignment, admin).
	Generation int32
	// Offsets are sorted by partition. For a fetch-committed they name
	// the partitions asked for, and on success hold the answers, with
	// Offset -1 where the group has no committed offset.
	Offsets []CommittedOffset
}

// CommittedOffset is one partition's committed offset: the offset of the
// next record the group will read there.
type CommittedOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32 // -1 if unknown (KIP-320)
}

// TP returns the offset's partition.
func (c *CommittedOffset) TP() model.TopicPartition {
	return model.TopicPartition{Topic: c.Topic, Partition: c.Partition}
}

// Membership is a change of what a consumer reads: a manual assignment
// (Partitions), a subscription (Topics), or a rebalance (Assigned,
// Revoked, with the group, member and generation; the group is empty when
// the history does not name it, as Jepsen's :rebalance-log does not).
type Membership struct {
	Group      string
	Member     string
	Generation int32
	Topics     []string
	Partitions []model.TopicPartition
	Assigned   []model.TopicPartition
	Revoked    []model.TopicPartition
}

// Seek is a move of a consumer's position in one partition. Reason says
// why: "seek", "seek-to-beginning", "seek-to-end", "committed" (the
// position was set from the committed offset), "reset-earliest" and
// "reset-latest" (auto.offset.reset), "truncation" (the consumer found
// the log truncated below its position, KIP-320). Offset is -1 when the
// client did not learn where the seek took it (Jepsen's
// :seek-to-beginning? records no offset).
type Seek struct {
	Topic     string
	Partition int32
	Offset    int64
	Reason    string
}

// TP returns the seek's partition.
func (s *Seek) TP() model.TopicPartition {
	return model.TopicPartition{Topic: s.Topic, Partition: s.Partition}
}

// Admin is an admin client operation: Action names it with Kafka's verb
// ("create-topics", "delete-topics", "create-partitions",
// "incremental-alter-configs", "elect-leaders", "delete-records",
// "alter-consumer-group-offsets", ...), the other fields are its
// arguments, and Result holds what it answered.
type Admin struct {
	Action            string
	Topic             string
	Partition         int32 // -1 for every partition
	Partitions        int32 // a count, for create-topics and create-partitions
	ReplicationFactor int16
	Offset            int64 // for delete-records and offset changes; -1 if none
	Configs           map[string]string
	Result            map[string]string
}

// Definite reports whether a failed operation of the given kind with the
// given error code certainly took no effect. Kafka answers some failures
// after the write happened (NOT_ENOUGH_REPLICAS_AFTER_APPEND: the records
// were appended and may yet be committed) and others leave the outcome
// open (REQUEST_TIMED_OUT, NETWORK_EXCEPTION, KAFKA_STORAGE_ERROR,
// UNKNOWN_SERVER_ERROR, or no code at all); only codes with which the
// broker or coordinator rejects a request before writing are definite.
// Checkers treat an indefinite failure as an Unknown outcome.
func Definite(kind Kind, code string) bool {
	switch kind {
	case KindSend:
		_, ok := definiteSend[code]
		return ok
	case KindCommit:
		_, ok := definiteCommit[code]
		return ok
	}
	// Reads and membership changes write nothing.
	return true
}

// definiteSend are the produce error codes with which the broker rejects a
// batch without appending it.
var definiteSend = map[string]struct{}{
	"NOT_ENOUGH_REPLICAS":          {},
	"NOT_LEADER_OR_FOLLOWER":       {},
	"LEADER_NOT_AVAILABLE":         {},
	"UNKNOWN_TOPIC_OR_PARTITION":   {},
	"INVALID_TOPIC_EXCEPTION":      {},
	"MESSAGE_TOO_LARGE":            {},
	"RECORD_LIST_TOO_LARGE":        {},
	"INVALID_RECORD":               {},
	"CORRUPT_MESSAGE":              {},
	"INVALID_REQUIRED_ACKS":        {},
	"OUT_OF_ORDER_SEQUENCE_NUMBER": {},
	"INVALID_PRODUCER_EPOCH":       {},
	"PRODUCER_FENCED":              {},
	"UNKNOWN_PRODUCER_ID":          {},
	"FENCED_LEADER_EPOCH":          {},
	"UNKNOWN_LEADER_EPOCH":         {},
	"TOPIC_AUTHORIZATION_FAILED":   {},
	"UNSUPPORTED_VERSION":          {},
}

// definiteCommit are the offset commit error codes with which the group
// coordinator rejects a commit without writing it.
var definiteCommit = map[string]struct{}{
	"ILLEGAL_GENERATION":           {},
	"UNKNOWN_MEMBER_ID":            {},
	"REBALANCE_IN_PROGRESS":        {},
	"FENCED_INSTANCE_ID":           {},
	"STALE_MEMBER_EPOCH":           {},
	"FENCED_MEMBER_EPOCH":          {},
	"NOT_COORDINATOR":              {},
	"COORDINATOR_NOT_AVAILABLE":    {},
	"COORDINATOR_LOAD_IN_PROGRESS": {},
	"INVALID_GROUP_ID":             {},
	"GROUP_ID_NOT_FOUND":           {},
	"INVALID_COMMIT_OFFSET_SIZE":   {},
	"OFFSET_METADATA_TOO_LARGE":    {},
	"UNKNOWN_TOPIC_OR_PARTITION":   {},
	"GROUP_AUTHORIZATION_FAILED":   {},
}

// Effective returns the outcome checkers use: the recorded one, except that
// a failure whose error code does not rule out a write counts as Unknown
// (unless the client judged it Certain).
func (op *Op) Effective() Outcome {
	kind := op.Kind
	if kind == KindTxn && len(op.Sends()) > 0 {
		kind = KindSend
	}
	if op.Outcome == Fail && !op.Certain && !Definite(kind, op.Error) {
		return Unknown
	}
	if op.Outcome == OK && op.Kind == KindSend && op.Send != nil && op.Send.Offset < 0 {
		// acks=0: the producer never learns whether, or where, the
		// record was written.
		return Unknown
	}
	return op.Outcome
}

// String renders an operation on one line, for messages and reports.
func (op *Op) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op %d %s/%d %s", op.ID, op.Client, op.Process, op.Kind)
	switch {
	case op.Send != nil:
		writeSend(&b, op.Send, true)
	case op.Poll != nil:
		writeParts(&b, op.Poll.Parts)
	case op.Offsets != nil:
		fmt.Fprintf(&b, " group=%s", op.Offsets.Group)
		for _, c := range op.Offsets.Offsets {
			fmt.Fprintf(&b, " %s=%d", c.TP(), c.Offset)
		}
	case op.Membership != nil:
		m := op.Membership
		if m.Group != "" {
			fmt.Fprintf(&b, " group=%s gen=%d", m.Group, m.Generation)
		}
		if len(m.Topics) > 0 {
			fmt.Fprintf(&b, " topics=%s", strings.Join(m.Topics, ","))
		}
		for _, l := range []struct {
			name string
			tps  []model.TopicPartition
		}{{"partitions", m.Partitions}, {"assigned", m.Assigned}, {"revoked", m.Revoked}} {
			if len(l.tps) > 0 {
				fmt.Fprintf(&b, " %s=%s", l.name, joinTPs(l.tps))
			}
		}
	case op.Seek != nil:
		fmt.Fprintf(&b, " %s to %d (%s)", op.Seek.TP(), op.Seek.Offset, op.Seek.Reason)
	case op.Admin != nil:
		fmt.Fprintf(&b, " %s", op.Admin.Action)
		if op.Admin.Topic != "" {
			fmt.Fprintf(&b, " %s", op.Admin.Topic)
		}
	case op.Txn != nil:
		writeTxn(&b, op.Txn, writeParts)
	}
	fmt.Fprintf(&b, " [%v, %v] %s", op.Invoke, op.Complete, op.Outcome)
	if op.Error != "" {
		fmt.Fprintf(&b, " %s", op.Error)
	}
	return b.String()
}

// Label is a short line for a tooltip beside what a drawing of the operation already shows (client, kind,
// outcome, times): its id and what it did. A poll names each partition's position and the offsets it returned,
// never every record, so that a label stays short at any load; other kinds read as in String.
func (op *Op) Label() string {
	var b strings.Builder
	fmt.Fprintf(&b, "op %d", op.ID)
	switch {
	case op.Send != nil:
		writeSend(&b, op.Send, false)
	case op.Poll != nil:
		writePartsShort(&b, op.Poll.Parts)
	case op.Txn != nil:
		writeTxn(&b, op.Txn, writePartsShort)
	default:
		return op.String()
	}
	if op.Error != "" {
		fmt.Fprintf(&b, " %s", op.Error)
	}
	return b.String()
}

func writeSend(b *strings.Builder, s *Send, acks bool) {
	fmt.Fprintf(b, " %s value=%s", s.TP(), s.Value)
	if acks {
		fmt.Fprintf(b, " acks=%s", s.Acks)
	}
	if s.Key != nil {
		fmt.Fprintf(b, " key=%s", s.Key)
	}
	if s.Offset >= 0 {
		fmt.Fprintf(b, " -> offset %d", s.Offset)
	}
}

func writeTxn(b *strings.Builder, t *Txn, parts func(*strings.Builder, []PollPart)) {
	for _, m := range t.Mops {
		switch {
		case m.Send != nil:
			fmt.Fprintf(b, " [send %s %s", m.Send.TP(), m.Send.Value)
			if m.Send.Offset >= 0 {
				fmt.Fprintf(b, " -> offset %d", m.Send.Offset)
			}
			b.WriteByte(']')
		case m.Poll != nil:
			b.WriteString(" [poll")
			parts(b, m.Poll.Parts)
			b.WriteByte(']')
		}
	}
}

// writePartsShort writes a poll's partitions with their positions and the offsets returned.
func writePartsShort(b *strings.Builder, parts []PollPart) {
	if len(parts) == 0 {
		b.WriteString(" nothing")
	}
	for _, p := range parts {
		fmt.Fprintf(b, " %s@%d:", p.TP(), p.Position)
		switch n := len(p.Records); n {
		case 0:
			b.WriteString(" none")
		case 1:
			fmt.Fprintf(b, " %d=%s", p.Records[0].Offset, p.Records[0].Value)
		default:
			fmt.Fprintf(b, " %d records, offsets %d..%d", n, p.Records[0].Offset, p.Records[n-1].Offset)
		}
	}
}

func writeParts(b *strings.Builder, parts []PollPart) {
	for _, p := range parts {
		fmt.Fprintf(b, " %s@%d[", p.TP(), p.Position)
		for i, r := range p.Records {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(r.String())
		}
		b.WriteByte(']')
	}
}

func joinTPs(tps []model.TopicPartition) string {
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return strings.Join(s, ",")
}

// PartitionState is a partition's final controller state in a history.
type PartitionState struct {
	TP       model.TopicPartition
	Metadata model.PartitionMetadata
}

// ReplicaState is one replica's final state in a history: what
// ReplicaView showed when the run ended. An offline replica has no
// records (its view is not to be relied on).
type ReplicaState struct {
	TP             model.TopicPartition
	Broker         int32
	Online         bool
	Incarnation    uint32
	Leader         bool
	LeaderEpoch    int32
	HighWatermark  int64
	LogStartOffset int64
	LogEndOffset   int64
	Records        []Record
	// CleanedTo is how far the log cleaner compacted the replica's log (a
	// compacted topic): below it a record may be gone because a later
	// record of its key superseded it, so offsets there are checked by
	// key (the compaction checker), not one by one.
	CleanedTo int64
}

// CheckedFrom is the first offset from which the replica's log holds
// every record it ever held and still may: the log start offset, or the
// cleaner's point of a compacted log if above it.
func (r ReplicaState) CheckedFrom() int64 { return max(r.LogStartOffset, r.CleanedTo) }

// Compacted is the optional extension of ReplicaView of a compacted log:
// the log cleaner's checkpoint.
type Compacted interface {
	CleanerCheckpoint() int64
}

// Capture returns the final state of every partition and replica of a
// cluster, sorted by partition and then assignment order, for
// History.Partitions and History.Replicas.
func Capture(view model.ClusterView) ([]PartitionState, []ReplicaState) {
	var parts []PartitionState
	var reps []ReplicaState
	tps := slices.Clone(view.Partitions())
	slices.SortFunc(tps, model.TopicPartition.Compare)
	for _, tp := range tps {
		if md, ok := view.Metadata(tp); ok {
			parts = append(parts, PartitionState{TP: tp, Metadata: md})
		}
		// The replicas of a partition mostly hold the same records: a
		// record equal to the first replica's at its offset shares its
		// key and value.
		var first []Record
		for _, r := range view.Replicas(tp) {
			st := ReplicaState{TP: tp, Broker: r.Broker(), Online: r.Online(), Incarnation: r.Incarnation()}
			if st.Online {
				st.Leader = r.IsLeader()
				st.LeaderEpoch = r.LeaderEpoch()
				st.HighWatermark = r.HighWatermark()
				st.LogStartOffset = r.LogStartOffset()
				st.LogEndOffset = r.LogEndOffset()
				if c, ok := r.(Compacted); ok {
					st.CleanedTo = min(max(c.CleanerCheckpoint(), 0), st.LogEndOffset)
				}
				if st.CleanedTo <= st.LogStartOffset && st.LogEndOffset > st.LogStartOffset {
					// Uncompacted: about one record per offset.
					st.Records = make([]Record, 0, st.LogEndOffset-st.LogStartOffset)
				}
				for o := st.LogStartOffset; o < st.LogEndOffset; o++ {
					if e, ok := r.Entry(o); ok {
						st.Records = append(st.Records, shareBytes(RecordOf(e), first))
					}
				}
				if first == nil {
					first = st.Records
				}
			}
			reps = append(reps, st)
		}
	}
	return parts, reps
}

// shareBytes returns rec with the key and value of the record of others
// (sorted by offset) at its offset, when they are equal.
func shareBytes(rec Record, others []Record) Record {
	i := sort.Search(len(others), func(i int) bool { return others[i].Offset >= rec.Offset })
	if i == len(others) || others[i].Offset != rec.Offset {
		return rec
	}
	o := &others[i]
	if rec.Key.Equal(o.Key) && rec.Value.Equal(o.Value) {
		rec.Key, rec.Value = o.Key, o.Value
	}
	return rec
}

// RunConfig returns the run's typed configuration: the header's, or for a
// history written before it had one, what the header's Config map says
// (cluster-wide names, and "<topic>.<name>" for a topic's own configs).
func (h Header) RunConfig() model.RunConfig {
	if h.Run != nil {
		return *h.Run
	}
	return model.RunConfigFromMap(h.Config)
}

// PollParts returns every partition an operation's polls returned, in
// order: a poll's parts, or a txn's polls' parts one after another.
func (op *Op) PollParts() []PollPart {
	polls := op.Polls()
	if len(polls) == 1 {
		return polls[0].Parts
	}
	var out []PollPart
	for _, p := range polls {
		out = append(out, p.Parts...)
	}
	return out
}
