package history

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// A Recorder builds a history as clients run: a client calls an Invoke
// method when it calls an operation, and OK, Fail or Unknown (or a
// kind-specific OK such as SendOK) when it learns the outcome. Ids are
// handed out 0, 1, 2, ... in invocation order, so that one seed always
// yields the same history.
//
// Misuse (completing an operation twice, or one that was never invoked,
// or with results of another kind) does not panic: the first such error is
// kept and returned by Err and History. The recorder keeps the slices it is
// given; callers must not change them afterwards.
type Recorder struct {
	h History
	// open[id]: operation id has no outcome yet
	open []bool
	err  error
	// sends and polls hand out the operations' bodies from chunks: one
	// allocation per chunk, not per operation
	sends []Send
	polls []Poll
	// shared: the operations below it are in a history History returned,
	// so a completion copies their bodies instead of changing them
	shared int64
	// opsShared: a history History returned holds r.h.Ops itself (no
	// copy of a finished history); the next change to an operation copies
	// them first. New operations go past its end.
	opsShared bool
}

// bodyChunk is how many bodies of one kind a chunk holds.
const bodyChunk = 256

// newSend returns a copy of s that the recorder owns.
func (r *Recorder) newSend(s Send) *Send {
	if len(r.sends) == cap(r.sends) {
		r.sends = make([]Send, 0, bodyChunk)
	}
	r.sends = append(r.sends, s)
	return &r.sends[len(r.sends)-1]
}

// newPoll returns a copy of p that the recorder owns.
func (r *Recorder) newPoll(p Poll) *Poll {
	if len(r.polls) == cap(r.polls) {
		r.polls = make([]Poll, 0, bodyChunk)
	}
	r.polls = append(r.polls, p)
	return &r.polls[len(r.polls)-1]
}

// NewRecorder returns a recorder whose history has the given header (its
// Format and Version are set for you).
func NewRecorder(h Header) *Recorder {
	h.Format, h.Version = FormatName, FormatVersion
	return &Recorder{h: History{Header: h}}
}

// Len returns how many operations the recorder holds.
func (r *Recorder) Len() int { return len(r.h.Ops) }

// Invoke records the invocation of op at time at and returns its id.
// op.Kind, op.Client, op.Process and the kind's body (with its arguments)
// must be set; the rest is filled in here.
func (r *Recorder) Invoke(at time.Duration, op Op) int64 {
	op.ID = int64(len(r.h.Ops))
	op.Invoke, op.Complete = at, at
	op.Outcome, op.Error = Unknown, ""
	if op.Send != nil {
		s := *op.Send
		s.Offset = -1
		op.Send = r.newSend(s)
	}
	if op.Poll != nil {
		op.Poll = r.newPoll(*op.Poll)
	}
	return r.add(op)
}

// add appends the invoked operation op, open.
func (r *Recorder) add(op Op) int64 {
	r.h.Ops = append(r.h.Ops, op)
	r.open = append(r.open, true)
	return op.ID
}

// InvokeSend records a producer's send; the Send's Offset is ignored.
func (r *Recorder) InvokeSend(at time.Duration, client string, process int, s Send) int64 {
	s.Offset = -1
	return r.add(Op{ID: int64(len(r.h.Ops)), Kind: KindSend, Client: client, Process: process, Invoke: at, Complete: at,
		Outcome: Unknown, Send: r.newSend(s)})
}

// InvokePoll records a call of poll by a consumer of the given group.
func (r *Recorder) InvokePoll(at time.Duration, client string, process int, group string) int64 {
	return r.add(Op{ID: int64(len(r.h.Ops)), Kind: KindPoll, Client: client, Process: process, Invoke: at, Complete: at,
		Outcome: Unknown, Poll: r.newPoll(Poll{Group: group})})
}

// InvokeCommit records an offset commit.
func (r *Recorder) InvokeCommit(at time.Duration, client string, process int, o Offsets) int64 {
	return r.Invoke(at, Op{Kind: KindCommit, Client: client, Process: process, Offsets: &o})
}

// InvokeFetchCommitted records a read of committed offsets; o names the
// group and the partitions asked for.
func (r *Recorder) InvokeFetchCommitted(at time.Duration, client string, process int, o Offsets) int64 {
	return r.Invoke(at, Op{Kind: KindFetchCommitted, Client: client, Process: process, Offsets: &o})
}

// InvokeAdmin records an admin operation.
func (r *Recorder) InvokeAdmin(at time.Duration, client string, process int, a Admin) int64 {
	return r.Invoke(at, Op{Kind: KindAdmin, Client: client, Process: process, Admin: &a})
}

// Assign records a consumer's manual assignment, which takes effect at
// once.
func (r *Recorder) Assign(at time.Duration, client string, process int, tps []model.TopicPartition) int64 {
	return r.instant(at, Op{Kind: KindAssign, Client: client, Process: process, Membership: &Membership{Partitions: tps}})
}

// Subscribe records a consumer's subscription to topics.
func (r *Recorder) Subscribe(at time.Duration, client string, process int, group string, topics []string) int64 {
	return r.instant(at, Op{Kind: KindSubscribe, Client: client, Process: process, Membership: &Membership{Group: group, Topics: topics}})
}

// Rebalance records a change of a member's assignment, as its rebalance
// listener saw it: the partitions revoked and the partitions assigned.
func (r *Recorder) Rebalance(at time.Duration, client string, process int, m Membership) int64 {
	return r.instant(at, Op{Kind: KindRebalance, Client: client, Process: process, Membership: &m})
}

// Seek records a move of a consumer's position.
func (r *Recorder) Seek(at time.Duration, client string, process int, s Seek) int64 {
	return r.instant(at, Op{Kind: KindSeek, Client: client, Process: process, Seek: &s})
}

func (r *Recorder) instant(at time.Duration, op Op) int64 {
	id := r.Invoke(at, op)
	r.OK(id, at)
	return id
}

func (r *Recorder) complete(id int64, at time.Duration, outcome Outcome, code string, want Kind) *Op {
	if r.err != nil {
		return nil
	}
	if id < 0 || id >= int64(len(r.open)) || !r.open[id] {
		if id >= 0 && id < int64(len(r.h.Ops)) {
			r.err = fmt.Errorf("recorder: op %d completed twice", id)
		} else {
			r.err = fmt.Errorf("recorder: op %d completed but never invoked", id)
		}
		return nil
	}
	if r.opsShared {
		r.h.Ops, r.opsShared = slices.Clone(r.h.Ops), false
	}
	op := &r.h.Ops[id]
	if want != 0 && op.Kind != want {
		r.err = fmt.Errorf("recorder: op %d is a %s, completed with the results of a %s", id, op.Kind, want)
		return nil
	}
	if at < op.Invoke {
		r.err = fmt.Errorf("recorder: op %d completed at %v, before its invocation at %v", id, at, op.Invoke)
		return nil
	}
	r.open[id] = false
	op.Complete, op.Outcome, op.Error = at, outcome, code
	return op
}

// OK records that operation id succeeded, with no results beyond its
// arguments (commit, assign, seek, ...).
func (r *Recorder) OK(id int64, at time.Duration) {
	r.complete(id, at, OK, "", 0)
}

// Fail records that operation id failed with a Kafka error code and, as far
// as the client knows, took no effect.
func (r *Recorder) Fail(id int64, at time.Duration, code string) {
	if code == "" {
		r.err = fmt.Errorf("recorder: op %d failed without an error code", id)
		return
	}
	r.complete(id, at, Fail, code, 0)
}

// Unknown records that the client cannot tell whether operation id took
// effect; code names what it saw, if anything ("REQUEST_TIMED_OUT").
func (r *Recorder) Unknown(id int64, at time.Duration, code string) {
	r.complete(id, at, Unknown, code, 0)
}

// SendOK records a successful send and the offset it got (-1 for acks=0).
func (r *Recorder) SendOK(id int64, at time.Duration, offset int64) {
	if op := r.complete(id, at, OK, "", KindSend); op != nil {
		if id < r.shared {
			s := *op.Send
			s.Offset = offset
			op.Send = r.newSend(s)
			return
		}
		op.Send.Offset = offset
	}
}

// PollOK records a successful poll and what it returned.
func (r *Recorder) PollOK(id int64, at time.Duration, parts []PollPart) {
	if op := r.complete(id, at, OK, "", KindPoll); op != nil {
		if id < r.shared {
			p := *op.Poll
			p.Parts = parts
			op.Poll = r.newPoll(p)
			return
		}
		op.Poll.Parts = parts
	}
}

// FetchCommittedOK records the committed offsets found (Offset -1 where
// the group has none).
func (r *Recorder) FetchCommittedOK(id int64, at time.Duration, offsets []CommittedOffset) {
	if op := r.complete(id, at, OK, "", KindFetchCommitted); op != nil {
		o := *op.Offsets
		o.Offsets = offsets
		op.Offsets = &o
	}
}

// AdminOK records a successful admin operation and its result.
func (r *Recorder) AdminOK(id int64, at time.Duration, result map[string]string) {
	if op := r.complete(id, at, OK, "", KindAdmin); op != nil {
		a := *op.Admin
		a.Result = result
		op.Admin = &a
	}
}

// Open returns the ids of the operations not yet completed, in order.
func (r *Recorder) Open() []int64 {
	var ids []int64
	for id, open := range r.open {
		if open {
			ids = append(ids, int64(id))
		}
	}
	return ids
}

// Close completes every open operation as Unknown at time at (the run has
// ended; the client never learned the outcome) and records the final
// state of the cluster, if view is not nil.
func (r *Recorder) Close(at time.Duration, view model.ClusterView) {
	for _, id := range r.Open() {
		r.complete(id, max(at, r.h.Ops[id].Invoke), Unknown, "", 0)
	}
	if view != nil {
		topics := topicsOf(r.h.Ops)
		for i := range r.h.Ops {
			// A final log of a topic transactions write holds aborted
			// records and records of transactions left open, which no
			// read_committed reader sees: it is no committed read.
			if op := &r.h.Ops[i]; op.Kind == KindTxn {
				for _, s := range op.Sends() {
					delete(topics, s.Topic)
				}
			}
		}
		r.h.Partitions, r.h.Replicas = captureTopics(view, topics)
		r.h.OpenTxns = captureOpenTxns(view, txnTopicsOf(r.h.Ops), at)
	}
}

// txnTopicsOf returns the topics transactions wrote.
func txnTopicsOf(ops []Op) map[string]bool {
	out := map[string]bool{}
	for i := range ops {
		if op := &ops[i]; op.Kind == KindTxn {
			for _, s := range op.Sends() {
				out[s.Topic] = true
			}
		}
	}
	return out
}

// captureOpenTxns returns the transactions open on the online leaders of
// the topics' partitions, by partition and first offset.
func captureOpenTxns(view model.ClusterView, topics map[string]bool, at time.Duration) []OpenTxn {
	var out []OpenTxn
	tps := slices.Clone(view.Partitions())
	slices.SortFunc(tps, model.TopicPartition.Compare)
	for _, tp := range tps {
		if !topics[tp.Topic] {
			continue
		}
		for _, rv := range view.Replicas(tp) {
			t, ok := rv.(model.TxnReplicaView)
			if !ok || !rv.Online() || !rv.IsLeader() {
				continue
			}
			for _, ot := range t.OpenTxns(nil) {
				o := OpenTxn{TP: tp, Broker: rv.Broker(), At: at, ProducerID: ot.ProducerID, ProducerEpoch: ot.ProducerEpoch,
					FirstOffset: ot.FirstOffset, LastStableOffset: t.LastStableOffset(), HighWatermark: rv.HighWatermark()}
				if e, ok := rv.Entry(o.FirstOffset); ok {
					o.FirstValue = e.Value
				}
				out = append(out, o)
			}
		}
	}
	return out
}

// topicsOf returns the topics the operations name: the history is about
// those, not about the cluster's internal topics (__consumer_offsets),
// which no client writes to directly.
func topicsOf(ops []Op) map[string]bool {
	out := map[string]bool{}
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Send != nil:
			out[op.Send.Topic] = true
		case op.Poll != nil:
			for _, p := range op.Poll.Parts {
				out[p.Topic] = true
			}
		case op.Offsets != nil:
			for _, o := range op.Offsets.Offsets {
				out[o.Topic] = true
			}
		case op.Membership != nil:
			for _, t := range op.Membership.Topics {
				out[t] = true
			}
			for _, tps := range [][]model.TopicPartition{op.Membership.Partitions, op.Membership.Assigned, op.Membership.Revoked} {
				for _, tp := range tps {
					out[tp.Topic] = true
				}
			}
		case op.Seek != nil:
			out[op.Seek.Topic] = true
		}
	}
	return out
}

// captureTopics is Capture restricted to some topics.
func captureTopics(view model.ClusterView, topics map[string]bool) ([]PartitionState, []ReplicaState) {
	parts, reps := Capture(view)
	parts = slices.DeleteFunc(parts, func(p PartitionState) bool { return !topics[p.TP.Topic] })
	reps = slices.DeleteFunc(reps, func(r ReplicaState) bool { return !topics[r.TP.Topic] })
	return parts, reps
}

// Err returns the first misuse of the recorder, if any.
func (r *Recorder) Err() error { return r.err }

// History returns the history recorded so far, checked: every operation
// is validated. Operations still open appear with outcome Unknown and
// their invocation time as completion; call Close first to end them
// properly.
func (r *Recorder) History() (*History, error) {
	if r.err != nil {
		return nil, r.err
	}
	for i := range r.h.Ops {
		if err := r.h.Ops[i].Validate(); err != nil {
			return nil, fmt.Errorf("recorder: %v", err)
		}
	}
	h := r.h
	h.Ops = slices.Clip(r.h.Ops)
	r.shared, r.opsShared = int64(len(r.h.Ops)), true
	return &h, nil
}

// InvokeTxn records the beginning of a transaction with the
// micro-operations it starts with (at least one; their results come with
// TxnDone, and stay unknown if it never completes).
func (r *Recorder) InvokeTxn(at time.Duration, client string, process int, mops []Mop) int64 {
	c := make([]Mop, len(mops))
	for i, m := range mops {
		if m.Send != nil {
			s := *m.Send
			s.Offset = -1
			c[i].Send = &s
		}
		if m.Poll != nil {
			p := *m.Poll
			c[i].Poll = &p
		}
	}
	return r.Invoke(at, Op{Kind: KindTxn, Client: client, Process: process, Txn: &Txn{Mops: c}})
}

// TxnDone completes a txn operation with its micro-operations: OK once it
// committed, Fail once it aborted (certain: an abort the coordinator
// completed takes no effect), Unknown when the client cannot tell.
func (r *Recorder) TxnDone(id int64, at time.Duration, outcome Outcome, code string, mops []Mop) {
	if outcome == Fail && code == "" {
		r.err = fmt.Errorf("recorder: txn %d failed without an error code", id)
		return
	}
	if op := r.complete(id, at, outcome, code, KindTxn); op != nil {
		op.Txn = &Txn{Mops: mops}
		op.Certain = outcome == Fail
	}
}

// SourceHeader is the header a consume-transform-produce pipeline's output
// record carries: the partition and offset of the input record it was
// made from, "<topic>-<partition>@<offset>", for the exactly-once check.
const SourceHeader = "kafkasim.source"
