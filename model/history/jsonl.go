package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/internal/strictjson"
	"github.com/kafkasim/kafkasim/model"
)

// FormatName and FormatVersion identify kafkasim's history files.
//
// A history file is JSON Lines: one JSON object per line, UTF-8, each line
// ending in '\n'. Times are simulated nanoseconds since the start of the
// run. Record keys and values are null (Kafka's null), a JSON string (the
// bytes are UTF-8) or {"base64": "..."} (any other bytes).
//
// Line 1 is the header:
//
//	{"format":"kafkasim-history","version":1,"seed":7,"replay":"kafkasim replay run.jsonl",
//	 "scenario":"kip-101-loss","config":{"t.min.insync.replicas":"2"},
//	 "run":{"topics":[{"name":"t","min.insync.replicas":2,"unclean.leader.election.enable":false}],
//	 "default":{"min.insync.replicas":1,"unclean.leader.election.enable":false},
//	 "producers":[{"client.id":"producer-1","acks":"all","enable.idempotence":true}]}}
//
// "config" is the configuration for people to read; "run" (RunConfig) is
// what the checkers read. Histories written before "run" existed have only
// "config", which Header.RunConfig reads instead.
//
// Then one line per operation, in increasing id order. Every operation has
// "type" (send, poll, commit, fetch-committed, assign, subscribe,
// rebalance, seek, admin), "id", "client", "process", "invoke_ns",
// "complete_ns" (never before invoke_ns), "outcome" (ok, fail, unknown) and,
// unless ok, "error" (a Kafka error code name), plus exactly one body named
// after its kind:
//
//	{"type":"send","id":0,"client":"producer-1","process":0,"invoke_ns":1000000,"complete_ns":4000000,
//	 "outcome":"ok","send":{"topic":"t","partition":0,"key":null,"value":"v0","acks":"all",
//	 "idempotent":true,"offset":0}}
//	{"type":"poll",...,"poll":{"group":"g","parts":[{"topic":"t","partition":0,"position":0,
//	 "records":[{"offset":0,"leader_epoch":1,"key":null,"value":"v0"}]}]}}
//	{"type":"commit",...,"offsets":{"group":"g","generation":1,"offsets":[{"topic":"t","partition":0,
//	 "offset":1,"leader_epoch":1}]}}
//	{"type":"fetch-committed",...,"offsets":{...}}          (offset -1: nothing committed)
//	{"type":"assign",...,"membership":{"partitions":[{"topic":"t","partition":0}]}}
//	{"type":"subscribe",...,"membership":{"group":"g","topics":["t"]}}
//	{"type":"rebalance",...,"membership":{"group":"g","member":"m1","generation":2,
//	 "assigned":[...],"revoked":[...]}}
//	{"type":"seek",...,"seek":{"topic":"t","partition":0,"offset":5,"reason":"reset-earliest"}}
//	{"type":"admin",...,"admin":{"action":"create-topics","topic":"t","partitions":3,
//	 "replication_factor":3,"configs":{"min.insync.replicas":"2"}}}
//	{"type":"txn",...,"txn":{"mops":[{"send":{...}},{"poll":{...}}]}}
//
// A failed operation whose client judged the failure certain whatever its
// error (Jepsen's :fail) has "certain": true. A seek whose client did not
// learn its offset has "offset": -1.
//
// After the operations, optionally, the final state of the cluster: one
// "partition" line per partition (the controller's state) and one
// "replica" line per replica (see ReplicaState):
//
//	{"type":"partition","topic":"t","partition":0,"replicas":[1,2,3],"isr":[1,2],"elr":[],
//	 "last_known_elr":[],"leader":1,"leader_epoch":4,"partition_epoch":9,"recovering":false}
//	{"type":"replica","topic":"t","partition":0,"broker":1,"online":true,"incarnation":2,
//	 "leader":true,"leader_epoch":4,"high_watermark":10,"log_start_offset":0,
//	 "log_end_offset":11,"records":[...]}
//
// The last line is the end marker, with the counts, so that a truncated file
// is always recognised:
//
//	{"type":"end","ops":2,"partitions":1,"replicas":3}
//
// Readers reject, naming the line, any file that is not of this format and
// version, is truncated, has an unknown field or operation type, an
// operation completing before its invocation, or a body that does not match
// its type. A history from an older or newer format version is refused,
// never guessed at.
const (
	FormatName    = "kafkasim-history"
	FormatVersion = 1
)

// The JSON form of each line.

type jsonHeader struct {
	Format   string            `json:"format"`
	Version  int               `json:"version"`
	Seed     uint64            `json:"seed,omitempty"`
	Replay   string            `json:"replay,omitempty"`
	Scenario string            `json:"scenario,omitempty"`
	Config   map[string]string `json:"config,omitempty"`
	Run      *model.RunConfig  `json:"run,omitempty"`
}

type jsonOp struct {
	Type       string          `json:"type"`
	ID         int64           `json:"id"`
	Client     string          `json:"client"`
	Process    int             `json:"process"`
	Invoke     *int64          `json:"invoke_ns"`
	Complete   *int64          `json:"complete_ns"`
	Outcome    string          `json:"outcome"`
	Error      string          `json:"error,omitempty"`
	Certain    bool            `json:"certain,omitempty"`
	Send       *jsonSend       `json:"send,omitempty"`
	Poll       *jsonPoll       `json:"poll,omitempty"`
	Offsets    *jsonOffsets    `json:"offsets,omitempty"`
	Membership *jsonMembership `json:"membership,omitempty"`
	Seek       *jsonSeek       `json:"seek,omitempty"`
	Admin      *jsonAdmin      `json:"admin,omitempty"`
	Txn        *jsonTxn        `json:"txn,omitempty"`
}

type jsonTxn struct {
	Mops []jsonMop `json:"mops"`
}

type jsonMop struct {
	Send *jsonSend `json:"send,omitempty"`
	Poll *jsonPoll `json:"poll,omitempty"`
}

type jsonSend struct {
	Topic      string      `json:"topic"`
	Partition  *int32      `json:"partition"`
	Key        model.Bytes `json:"key"`
	Value      model.Bytes `json:"value"`
	Acks       *model.Acks `json:"acks"`
	Idempotent bool        `json:"idempotent"`
	Offset     *int64      `json:"offset"`
	// Headers is absent when the record has none, as in files written
	// before headers were recorded.
	Headers []jsonRecordHeader `json:"headers,omitempty"`
}

type jsonRecordHeader struct {
	Key   string      `json:"key"`
	Value model.Bytes `json:"value"`
}

func headersJSON(hs []model.RecordHeader) []jsonRecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]jsonRecordHeader, len(hs))
	for i, h := range hs {
		out[i] = jsonRecordHeader(h)
	}
	return out
}

func headersFromJSON(hs []jsonRecordHeader) []model.RecordHeader {
	if len(hs) == 0 {
		return nil
	}
	out := make([]model.RecordHeader, len(hs))
	for i, h := range hs {
		out[i] = model.RecordHeader(h)
	}
	return out
}

type jsonPoll struct {
	Group string         `json:"group,omitempty"`
	Parts []jsonPollPart `json:"parts"`
}

type jsonPollPart struct {
	Topic     string       `json:"topic"`
	Partition int32        `json:"partition"`
	Position  *int64       `json:"position"`
	Records   []jsonRecord `json:"records"`
}

type jsonRecord struct {
	Offset      int64               `json:"offset"`
	LeaderEpoch int32               `json:"leader_epoch"`
	Key         model.Bytes         `json:"key"`
	Value       model.Bytes         `json:"value"`
	Headers     []jsonRecordHeader  `json:"headers,omitempty"`
	Producer    *jsonRecordProducer `json:"producer,omitempty"`
}

type jsonRecordProducer struct {
	ID       int64 `json:"id"`
	Epoch    int16 `json:"epoch"`
	Sequence int32 `json:"sequence"`
}

type jsonOffsets struct {
	Group      string            `json:"group"`
	Generation int32             `json:"generation"`
	Offsets    []jsonCommittedOf `json:"offsets"`
}

type jsonCommittedOf struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	Offset      int64  `json:"offset"`
	LeaderEpoch int32  `json:"leader_epoch"`
}

type jsonMembership struct {
	Group      string                 `json:"group,omitempty"`
	Member     string                 `json:"member,omitempty"`
	Generation int32                  `json:"generation,omitempty"`
	Topics     []string               `json:"topics,omitempty"`
	Partitions []model.TopicPartition `json:"partitions,omitempty"`
	Assigned   []model.TopicPartition `json:"assigned,omitempty"`
	Revoked    []model.TopicPartition `json:"revoked,omitempty"`
}

type jsonSeek struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Reason    string `json:"reason"`
}

type jsonAdmin struct {
	Action            string            `json:"action"`
	Topic             string            `json:"topic,omitempty"`
	Partition         int32             `json:"partition"`
	Partitions        int32             `json:"partitions,omitempty"`
	ReplicationFactor int16             `json:"replication_factor,omitempty"`
	Offset            int64             `json:"offset"`
	Configs           map[string]string `json:"configs,omitempty"`
	Result            map[string]string `json:"result,omitempty"`
}

type jsonPartition struct {
	Type           string  `json:"type"`
	Topic          string  `json:"topic"`
	Partition      int32   `json:"partition"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	ELR            []int32 `json:"elr"`
	LastKnownELR   []int32 `json:"last_known_elr"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
	Recovering     bool    `json:"recovering"`
}

type jsonReplica struct {
	Type           string       `json:"type"`
	Topic          string       `json:"topic"`
	Partition      int32        `json:"partition"`
	Broker         int32        `json:"broker"`
	Online         bool         `json:"online"`
	Incarnation    uint32       `json:"incarnation"`
	Leader         bool         `json:"leader"`
	LeaderEpoch    int32        `json:"leader_epoch"`
	HighWatermark  int64        `json:"high_watermark"`
	LogStartOffset int64        `json:"log_start_offset"`
	LogEndOffset   int64        `json:"log_end_offset"`
	Records        []jsonRecord `json:"records"`
	CleanedTo      int64        `json:"cleaned_to,omitempty"`
}

type jsonOpenTxn struct {
	Type             string      `json:"type"`
	Topic            string      `json:"topic"`
	Partition        int32       `json:"partition"`
	Broker           int32       `json:"broker"`
	ProducerID       int64       `json:"producer_id"`
	ProducerEpoch    int16       `json:"producer_epoch"`
	FirstOffset      int64       `json:"first_offset"`
	FirstValue       model.Bytes `json:"first_value"`
	LastStableOffset int64       `json:"last_stable_offset"`
	HighWatermark    int64       `json:"high_watermark"`
	AtNs             int64       `json:"at_ns"`
}

type jsonEnd struct {
	Type       string `json:"type"`
	Ops        int    `json:"ops"`
	Partitions int    `json:"partitions"`
	Replicas   int    `json:"replicas"`
}

func recordsJSON(rs []Record) []jsonRecord {
	out := make([]jsonRecord, len(rs))
	for i, r := range rs {
		out[i] = jsonRecord{r.Offset, r.LeaderEpoch, r.Key, r.Value, headersJSON(r.Headers), nil}
		if pr := r.Producer; pr != nil {
			out[i].Producer = &jsonRecordProducer{pr.ID, pr.Epoch, pr.Sequence}
		}
	}
	return out
}

func recordsFromJSON(rs []jsonRecord) []Record {
	if len(rs) == 0 {
		return nil
	}
	out := make([]Record, len(rs))
	for i, r := range rs {
		out[i] = Record{r.Offset, r.LeaderEpoch, r.Key, r.Value, headersFromJSON(r.Headers), nil}
		if pr := r.Producer; pr != nil {
			out[i].Producer = &RecordProducer{pr.ID, pr.Epoch, pr.Sequence}
		}
	}
	return out
}

func opJSON(op *Op) *jsonOp {
	inv, comp := int64(op.Invoke), int64(op.Complete)
	j := &jsonOp{
		Type: op.Kind.String(), ID: op.ID, Client: op.Client, Process: op.Process,
		Invoke: &inv, Complete: &comp, Outcome: op.Outcome.String(), Error: op.Error, Certain: op.Certain,
	}
	if s := op.Send; s != nil {
		j.Send = sendJSON(s)
	}
	if p := op.Poll; p != nil {
		j.Poll = pollJSON(p)
	}
	if t := op.Txn; t != nil {
		jt := &jsonTxn{Mops: make([]jsonMop, len(t.Mops))}
		for i, m := range t.Mops {
			if m.Send != nil {
				jt.Mops[i].Send = sendJSON(m.Send)
			}
			if m.Poll != nil {
				jt.Mops[i].Poll = pollJSON(m.Poll)
			}
		}
		j.Txn = jt
	}
	if o := op.Offsets; o != nil {
		jo := &jsonOffsets{Group: o.Group, Generation: o.Generation, Offsets: make([]jsonCommittedOf, len(o.Offsets))}
		for i, c := range o.Offsets {
			jo.Offsets[i] = jsonCommittedOf{c.Topic, c.Partition, c.Offset, c.LeaderEpoch}
		}
		j.Offsets = jo
	}
	if m := op.Membership; m != nil {
		j.Membership = &jsonMembership{m.Group, m.Member, m.Generation, m.Topics, m.Partitions, m.Assigned, m.Revoked}
	}
	if s := op.Seek; s != nil {
		j.Seek = &jsonSeek{s.Topic, s.Partition, s.Offset, s.Reason}
	}
	if a := op.Admin; a != nil {
		j.Admin = &jsonAdmin{a.Action, a.Topic, a.Partition, a.Partitions, a.ReplicationFactor, a.Offset, a.Configs, a.Result}
	}
	return j
}

func sendJSON(s *Send) *jsonSend {
	part, acks, off := s.Partition, s.Acks, s.Offset
	return &jsonSend{s.Topic, &part, s.Key, s.Value, &acks, s.Idempotent, &off, headersJSON(s.Headers)}
}

func pollJSON(p *Poll) *jsonPoll {
	jp := &jsonPoll{Group: p.Group, Parts: make([]jsonPollPart, len(p.Parts))} // [] when empty
	for i, pp := range p.Parts {
		pos := pp.Position
		jp.Parts[i] = jsonPollPart{pp.Topic, pp.Partition, &pos, recordsJSON(pp.Records)}
	}
	return jp
}

func sendFromJSON(id int64, s *jsonSend) (*Send, error) {
	if s.Partition == nil || s.Acks == nil || s.Offset == nil {
		return nil, fmt.Errorf("op %d: a send needs \"partition\", \"acks\" and \"offset\" (-1 when not known)", id)
	}
	return &Send{Topic: s.Topic, Partition: *s.Partition, Key: s.Key, Value: s.Value, Headers: headersFromJSON(s.Headers),
		Acks: *s.Acks, Idempotent: s.Idempotent, Offset: *s.Offset}, nil
}

func pollFromJSON(id int64, p *jsonPoll) (*Poll, error) {
	out := &Poll{Group: p.Group}
	for i, pp := range p.Parts {
		if pp.Position == nil {
			return nil, fmt.Errorf("op %d: poll part %d needs \"position\" (-1 when not known)", id, i)
		}
		out.Parts = append(out.Parts, PollPart{pp.Topic, pp.Partition, *pp.Position, recordsFromJSON(pp.Records)})
	}
	return out, nil
}

// A Writer writes a history as JSON Lines, one line at a time, so that a
// long run need not hold its history in memory to save it. Close writes
// the end marker; a file without it is read as truncated.
type Writer struct {
	w      *bufio.Writer
	enc    *json.Encoder
	err    error
	lastID int64
	counts jsonEnd
	closed bool
}

// NewWriter writes the header (with FormatName and FormatVersion, whatever
// h says) and returns a Writer for the rest.
func NewWriter(w io.Writer, h Header) *Writer {
	bw := bufio.NewWriter(w)
	wr := &Writer{w: bw, enc: json.NewEncoder(bw), lastID: -1, counts: jsonEnd{Type: "end"}}
	wr.enc.SetEscapeHTML(false)
	wr.line(jsonHeader{FormatName, FormatVersion, h.Seed, h.Replay, h.Scenario, h.Config, h.Run})
	return wr
}

func (w *Writer) line(v any) {
	if w.err != nil {
		return
	}
	if w.closed {
		w.err = errors.New("history writer: write after Close")
		return
	}
	w.err = w.enc.Encode(v)
}

// Op writes one operation. Operations must come in increasing id order and
// before any final state.
func (w *Writer) Op(op *Op) error {
	if w.err == nil {
		if err := op.Validate(); err != nil {
			w.err = fmt.Errorf("history writer: %v", err)
		} else if op.ID <= w.lastID {
			w.err = fmt.Errorf("history writer: op %d after op %d: operations must be written in increasing id order", op.ID, w.lastID)
		} else if w.counts.Partitions+w.counts.Replicas > 0 {
			w.err = fmt.Errorf("history writer: op %d after the final state: write operations first", op.ID)
		}
	}
	w.line(opJSON(op))
	w.lastID = op.ID
	w.counts.Ops++
	return w.err
}

// Partition writes a partition's final controller state.
func (w *Writer) Partition(p *PartitionState) error {
	md := p.Metadata
	w.line(jsonPartition{"partition", p.TP.Topic, p.TP.Partition, nonNil(md.Replicas), nonNil(md.ISR), nonNil(md.ELR),
		nonNil(md.LastKnownELR), md.Leader, md.LeaderEpoch, md.PartitionEpoch, md.Recovering})
	w.counts.Partitions++
	return w.err
}

// Replica writes a replica's final state.
func (w *Writer) Replica(r *ReplicaState) error {
	if w.err == nil {
		if err := r.validate(); err != nil {
			w.err = fmt.Errorf("history writer: %v", err)
		}
	}
	w.line(jsonReplica{"replica", r.TP.Topic, r.TP.Partition, r.Broker, r.Online, r.Incarnation, r.Leader, r.LeaderEpoch,
		r.HighWatermark, r.LogStartOffset, r.LogEndOffset, recordsJSON(r.Records), r.CleanedTo})
	w.counts.Replicas++
	return w.err
}

// OpenTxn writes a transaction open at the end (a line of type
// "open_txn", after the final state).
func (w *Writer) OpenTxn(t *OpenTxn) error {
	w.line(jsonOpenTxn{"open_txn", t.TP.Topic, t.TP.Partition, t.Broker, t.ProducerID, t.ProducerEpoch, t.FirstOffset,
		t.FirstValue, t.LastStableOffset, t.HighWatermark, int64(t.At)})
	return w.err
}

func nilIfEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonNil(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

// Close writes the end marker and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	w.line(w.counts)
	w.closed = true
	if w.err == nil {
		w.err = w.w.Flush()
	}
	return w.err
}

// WriteHistory writes a whole history.
func WriteHistory(w io.Writer, h *History) error {
	wr := NewWriter(w, h.Header)
	for i := range h.Ops {
		wr.Op(&h.Ops[i])
	}
	for i := range h.Partitions {
		wr.Partition(&h.Partitions[i])
	}
	for i := range h.Replicas {
		wr.Replica(&h.Replicas[i])
	}
	for i := range h.OpenTxns {
		wr.OpenTxn(&h.OpenTxns[i])
	}
	return wr.Close()
}

// A LineError is a problem with one line of a history file.
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("history line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// ReadHistory reads a whole history written by WriteHistory or a Writer.
// On any problem it returns a *LineError naming the first bad line and no
// history at all: a history is loaded whole or not at all.
func ReadHistory(r io.Reader) (*History, error) {
	br := bufio.NewReader(r)
	h := &History{}
	var end *jsonEnd
	lastID := int64(-1)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return nil, &LineError{n, err}
		}
		if len(line) == 0 && err == io.EOF {
			switch {
			case n == 1:
				return nil, &LineError{1, errors.New("empty input: expected the header line of a kafkasim history")}
			case end == nil:
				return nil, &LineError{n, fmt.Errorf("truncated: the history ends after line %d without its end marker {\"type\":\"end\",...}", n-1)}
			}
			return h, nil
		}
		if end != nil {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			return nil, &LineError{n, errors.New("unexpected line after the end marker")}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			return nil, &LineError{n, errors.New("blank line: every line of a history is one JSON object")}
		}
		if err == io.EOF && !json.Valid(line) {
			return nil, &LineError{n, fmt.Errorf("truncated: the last line is incomplete JSON: %s", strictjson.Clip(string(line)))}
		}
		if n == 1 {
			if err := decodeHeader(line, &h.Header); err != nil {
				return nil, &LineError{1, err}
			}
			continue
		}
		var t struct {
			Type *string `json:"type"`
		}
		if err := json.Unmarshal(line, &t); err != nil {
			return nil, &LineError{n, fmt.Errorf("malformed JSON: %v", err)}
		}
		if t.Type == nil {
			return nil, &LineError{n, errors.New(`no "type": every line after the header has one`)}
		}
		switch *t.Type {
		case "end":
			var e jsonEnd
			if err := strictjson.Decode(line, &e); err != nil {
				return nil, &LineError{n, err}
			}
			if e.Ops != len(h.Ops) || e.Partitions != len(h.Partitions) || e.Replicas != len(h.Replicas) {
				return nil, &LineError{n, fmt.Errorf("the end marker counts %d ops, %d partitions, %d replicas, but the file has %d, %d, %d: lines are missing",
					e.Ops, e.Partitions, e.Replicas, len(h.Ops), len(h.Partitions), len(h.Replicas))}
			}
			end = &e
		case "partition":
			var j jsonPartition
			if err := strictjson.Decode(line, &j); err != nil {
				return nil, &LineError{n, err}
			}
			h.Partitions = append(h.Partitions, PartitionState{
				TP: model.TopicPartition{Topic: j.Topic, Partition: j.Partition},
				Metadata: model.PartitionMetadata{Replicas: nilIfEmpty(j.Replicas), ISR: nilIfEmpty(j.ISR), ELR: nilIfEmpty(j.ELR), LastKnownELR: nilIfEmpty(j.LastKnownELR),
					Leader: j.Leader, LeaderEpoch: j.LeaderEpoch, PartitionEpoch: j.PartitionEpoch, Recovering: j.Recovering},
			})
		case "replica":
			var j jsonReplica
			if err := strictjson.Decode(line, &j); err != nil {
				return nil, &LineError{n, err}
			}
			r := ReplicaState{model.TopicPartition{Topic: j.Topic, Partition: j.Partition}, j.Broker, j.Online, j.Incarnation, j.Leader, j.LeaderEpoch,
				j.HighWatermark, j.LogStartOffset, j.LogEndOffset, recordsFromJSON(j.Records), j.CleanedTo}
			if err := r.validate(); err != nil {
				return nil, &LineError{n, err}
			}
			h.Replicas = append(h.Replicas, r)
		case "open_txn":
			var j jsonOpenTxn
			if err := strictjson.Decode(line, &j); err != nil {
				return nil, &LineError{n, err}
			}
			h.OpenTxns = append(h.OpenTxns, OpenTxn{TP: model.TopicPartition{Topic: j.Topic, Partition: j.Partition}, Broker: j.Broker,
				ProducerID: j.ProducerID, ProducerEpoch: j.ProducerEpoch, FirstOffset: j.FirstOffset, FirstValue: j.FirstValue,
				LastStableOffset: j.LastStableOffset, HighWatermark: j.HighWatermark, At: time.Duration(j.AtNs)})
		default:
			op, err := decodeOp(line)
			if err != nil {
				return nil, &LineError{n, err}
			}
			if op.ID <= lastID {
				return nil, &LineError{n, fmt.Errorf("op id %d after op id %d: operations must be listed in increasing id order", op.ID, lastID)}
			}
			if len(h.Partitions)+len(h.Replicas) > 0 {
				return nil, &LineError{n, fmt.Errorf("op %d after the final state: operations come first", op.ID)}
			}
			lastID = op.ID
			h.Ops = append(h.Ops, op)
		}
	}
}

func decodeHeader(line []byte, h *Header) error {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return fmt.Errorf("not a kafkasim history: the first line is not a JSON object (%v)", err)
	}
	var format string
	if raw, ok := probe["format"]; !ok || json.Unmarshal(raw, &format) != nil || format != FormatName {
		return fmt.Errorf("not a kafkasim history: the header's \"format\" is %s, expected %q", strictjson.Clip(string(probe["format"])), FormatName)
	}
	var version int
	if err := json.Unmarshal(probe["version"], &version); err != nil {
		return fmt.Errorf("the header has no valid \"version\" (%s): expected %d", strictjson.Clip(string(probe["version"])), FormatVersion)
	}
	switch {
	case version < FormatVersion:
		return fmt.Errorf("history format version %d was written by an older kafkasim; this kafkasim reads version %d only: record the run again (kafkasim replay) to get a current history", version, FormatVersion)
	case version > FormatVersion:
		return fmt.Errorf("history format version %d was written by a newer kafkasim; this kafkasim reads version %d only: upgrade kafkasim", version, FormatVersion)
	}
	var j jsonHeader
	if err := strictjson.Decode(line, &j); err != nil {
		return err
	}
	*h = Header{Format: j.Format, Version: j.Version, Seed: j.Seed, Replay: j.Replay, Scenario: j.Scenario, Config: j.Config, Run: j.Run}
	return nil
}

func decodeOp(line []byte) (Op, error) {
	var j jsonOp
	if err := strictjson.Decode(line, &j); err != nil {
		return Op{}, err
	}
	kind, err := ParseKind(j.Type)
	if err != nil {
		return Op{}, err
	}
	outcome, err := ParseOutcome(j.Outcome)
	if err != nil {
		return Op{}, fmt.Errorf("op %d: %v", j.ID, err)
	}
	if j.Invoke == nil || j.Complete == nil {
		return Op{}, fmt.Errorf("op %d: both \"invoke_ns\" and \"complete_ns\" are required", j.ID)
	}
	op := Op{ID: j.ID, Client: j.Client, Process: j.Process, Kind: kind, Invoke: time.Duration(*j.Invoke),
		Complete: time.Duration(*j.Complete), Outcome: outcome, Error: j.Error, Certain: j.Certain}
	if s := j.Send; s != nil {
		if op.Send, err = sendFromJSON(j.ID, s); err != nil {
			return Op{}, err
		}
	}
	if p := j.Poll; p != nil {
		if op.Poll, err = pollFromJSON(j.ID, p); err != nil {
			return Op{}, err
		}
	}
	if t := j.Txn; t != nil {
		op.Txn = &Txn{Mops: make([]Mop, len(t.Mops))}
		for i, m := range t.Mops {
			if m.Send != nil {
				if op.Txn.Mops[i].Send, err = sendFromJSON(j.ID, m.Send); err != nil {
					return Op{}, err
				}
			}
			if m.Poll != nil {
				if op.Txn.Mops[i].Poll, err = pollFromJSON(j.ID, m.Poll); err != nil {
					return Op{}, err
				}
			}
		}
	}
	if o := j.Offsets; o != nil {
		op.Offsets = &Offsets{Group: o.Group, Generation: o.Generation}
		for _, c := range o.Offsets {
			op.Offsets.Offsets = append(op.Offsets.Offsets, CommittedOffset{c.Topic, c.Partition, c.Offset, c.LeaderEpoch})
		}
	}
	if m := j.Membership; m != nil {
		op.Membership = &Membership{m.Group, m.Member, m.Generation, m.Topics, m.Partitions, m.Assigned, m.Revoked}
	}
	if s := j.Seek; s != nil {
		op.Seek = &Seek{s.Topic, s.Partition, s.Offset, s.Reason}
	}
	if a := j.Admin; a != nil {
		op.Admin = &Admin{a.Action, a.Topic, a.Partition, a.Partitions, a.ReplicationFactor, a.Offset, a.Configs, a.Result}
	}
	if err := op.Validate(); err != nil {
		return Op{}, err
	}
	return op, nil
}

// opBody is one of an operation's bodies: its name, and whether the
// operation has it.
type opBody struct {
	name string
	has  bool
}

// bodyOf names the body each kind of operation takes.
var bodyOf = map[Kind]string{KindSend: "send", KindPoll: "poll", KindCommit: "offsets", KindFetchCommitted: "offsets",
	KindAssign: "membership", KindSubscribe: "membership", KindRebalance: "membership", KindSeek: "seek", KindAdmin: "admin",
	KindTxn: "txn"}

// Validate reports the first way in which op is not a well-formed
// operation: a body that does not match its kind, completion before
// invocation, an outcome without the results it promises.
func (op *Op) Validate() error {
	if op.ID < 0 {
		return fmt.Errorf("op id %d is negative", op.ID)
	}
	if op.Kind < KindSend || op.Kind > KindTxn {
		return fmt.Errorf("op %d: unknown operation kind %d", op.ID, op.Kind)
	}
	if op.Outcome < OK || op.Outcome > Unknown {
		return fmt.Errorf("op %d: unknown outcome %d", op.ID, op.Outcome)
	}
	if op.Client == "" {
		return fmt.Errorf("op %d: no client id", op.ID)
	}
	if op.Process < 0 {
		return fmt.Errorf("op %d: process %d is negative", op.ID, op.Process)
	}
	if op.Invoke < 0 {
		return fmt.Errorf("op %d: invoked at %v, before the start of the run", op.ID, op.Invoke)
	}
	if op.Complete < op.Invoke {
		return fmt.Errorf("op %d: completes at %v (%d ns), before it was invoked at %v (%d ns)", op.ID, op.Complete, int64(op.Complete), op.Invoke, int64(op.Invoke))
	}
	switch {
	case op.Outcome == OK && op.Error != "":
		return fmt.Errorf("op %d: outcome ok with error %q: an error goes with fail or unknown", op.ID, op.Error)
	case op.Outcome == Fail && op.Error == "":
		return fmt.Errorf("op %d: outcome fail without an error code", op.ID)
	case op.Certain && op.Outcome != Fail:
		return fmt.Errorf("op %d: outcome %s marked certain: only a failure is", op.ID, op.Outcome)
	}
	// The bodies by name, in the order their names sort.
	bodies := [...]opBody{{"admin", op.Admin != nil}, {"membership", op.Membership != nil}, {"offsets", op.Offsets != nil},
		{"poll", op.Poll != nil}, {"seek", op.Seek != nil}, {"send", op.Send != nil}, {"txn", op.Txn != nil}}
	want := bodyOf[op.Kind]
	if !slices.Contains(bodies[:], opBody{want, true}) {
		return fmt.Errorf("op %d: a %s operation needs a %q body", op.ID, op.Kind, want)
	}
	for _, b := range bodies {
		if b.has && b.name != want {
			return fmt.Errorf("op %d: a %s operation has a %q body; it takes only %q", op.ID, op.Kind, b.name, want)
		}
	}
	switch op.Kind {
	case KindSend:
		return op.validateSend(op.Send, false)
	case KindPoll:
		return op.validatePoll(op.Poll, false)
	case KindTxn:
		return op.validateTxn()
	case KindCommit, KindFetchCommitted:
		return op.validateOffsets()
	case KindAssign, KindSubscribe, KindRebalance:
		return op.validateMembership()
	case KindSeek:
		s := op.Seek
		if s.Topic == "" || s.Partition < 0 || s.Offset < -1 {
			return fmt.Errorf("op %d: seek needs a topic, a partition >= 0 and an offset >= 0 (or -1 when not known)", op.ID)
		}
	case KindAdmin:
		if op.Admin.Action == "" {
			return fmt.Errorf("op %d: admin operation without an action", op.ID)
		}
	}
	return nil
}

func (op *Op) validateTxn() error {
	if len(op.Txn.Mops) == 0 {
		return fmt.Errorf("op %d: a txn without micro-operations", op.ID)
	}
	for i, m := range op.Txn.Mops {
		if (m.Send == nil) == (m.Poll == nil) {
			return fmt.Errorf("op %d: txn micro-operation %d must be exactly one of a send and a poll", op.ID, i)
		}
		var err error
		if m.Send != nil {
			err = op.validateSend(m.Send, true)
		} else {
			err = op.validatePoll(m.Poll, true)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// validateSend checks a send; in a txn (loose) the offset need not match
// the operation's outcome (see Mop).
func (op *Op) validateSend(s *Send, loose bool) error {
	if s.Topic == "" {
		return fmt.Errorf("op %d: send without a topic", op.ID)
	}
	if s.Acks != model.AcksAll && s.Acks != model.AcksLeader && s.Acks != model.AcksNone {
		return fmt.Errorf("op %d: invalid acks %d; accepted: all, 1, 0", op.ID, s.Acks)
	}
	if s.Partition < -1 {
		return fmt.Errorf("op %d: send to partition %d; expected >= 0, or -1 if never chosen", op.ID, s.Partition)
	}
	if s.Offset < -1 {
		return fmt.Errorf("op %d: send offset %d; expected >= 0, or -1 if not known", op.ID, s.Offset)
	}
	if s.Offset >= 0 && s.Partition < 0 {
		return fmt.Errorf("op %d: a send with offset %d must name its partition", op.ID, s.Offset)
	}
	if loose {
		return nil
	}
	if op.Outcome == OK {
		if s.Partition < 0 {
			return fmt.Errorf("op %d: a successful send must name its partition", op.ID)
		}
		if s.Acks != model.AcksNone && s.Offset < 0 {
			return fmt.Errorf("op %d: a successful acks=%s send must record the offset it got", op.ID, s.Acks)
		}
	} else if s.Offset >= 0 {
		return fmt.Errorf("op %d: a send with outcome %s has offset %d: only successful sends learn an offset", op.ID, op.Outcome, s.Offset)
	}
	return nil
}

// validatePoll checks a poll; in a txn (loose) a poll of an operation that
// did not succeed may list records (see Mop).
func (op *Op) validatePoll(poll *Poll, loose bool) error {
	for i := range poll.Parts {
		p := &poll.Parts[i]
		if p.Topic == "" || p.Partition < 0 {
			return fmt.Errorf("op %d: poll part %d needs a topic and a partition >= 0", op.ID, i)
		}
		if i > 0 && poll.Parts[i-1].TP().Compare(p.TP()) >= 0 {
			return fmt.Errorf("op %d: poll parts must be sorted by partition, each once (%s after %s)", op.ID, p.TP(), poll.Parts[i-1].TP())
		}
		if p.Position < -1 {
			return fmt.Errorf("op %d: poll position %d in %s; expected >= 0, or -1 if unknown", op.ID, p.Position, p.TP())
		}
		if len(p.Records) > 0 && op.Outcome != OK && !loose {
			return fmt.Errorf("op %d: a poll with outcome %s returned records: only successful polls return records", op.ID, op.Outcome)
		}
		for _, r := range p.Records {
			if r.Offset < 0 {
				return fmt.Errorf("op %d: record with offset %d in %s", op.ID, r.Offset, p.TP())
			}
		}
	}
	return nil
}

func (op *Op) validateOffsets() error {
	o := op.Offsets
	if o.Group == "" && op.Kind == KindFetchCommitted {
		return fmt.Errorf("op %d: fetch-committed without a group", op.ID)
	}
	for i := range o.Offsets {
		c := &o.Offsets[i]
		if c.Topic == "" || c.Partition < 0 {
			return fmt.Errorf("op %d: committed offset %d needs a topic and a partition >= 0", op.ID, i)
		}
		if i > 0 && o.Offsets[i-1].TP().Compare(c.TP()) >= 0 {
			return fmt.Errorf("op %d: offsets must be sorted by partition, each once (%s after %s)", op.ID, c.TP(), o.Offsets[i-1].TP())
		}
		if c.Offset < -1 || (op.Kind == KindCommit && c.Offset < 0) {
			return fmt.Errorf("op %d: %s offset %d for %s", op.ID, op.Kind, c.Offset, c.TP())
		}
	}
	return nil
}

func (op *Op) validateMembership() error {
	m := op.Membership
	for _, l := range [][]model.TopicPartition{m.Partitions, m.Assigned, m.Revoked} {
		for _, tp := range l {
			if tp.Topic == "" || tp.Partition < 0 {
				return fmt.Errorf("op %d: %s names an invalid partition %q/%d", op.ID, op.Kind, tp.Topic, tp.Partition)
			}
		}
	}
	switch op.Kind {
	case KindSubscribe:
		if len(m.Topics) == 0 {
			return fmt.Errorf("op %d: subscribe without topics", op.ID)
		}
	}
	return nil
}

func (r *ReplicaState) validate() error {
	where := fmt.Sprintf("replica %d of %s", r.Broker, r.TP)
	if r.TP.Topic == "" || r.TP.Partition < 0 {
		return fmt.Errorf("%s: invalid partition", where)
	}
	if !r.Online {
		if len(r.Records) > 0 {
			return fmt.Errorf("%s is offline but lists records: offline replicas have none", where)
		}
		return nil
	}
	if r.LogStartOffset < 0 || r.LogEndOffset < r.LogStartOffset || r.HighWatermark < 0 {
		return fmt.Errorf("%s: log bounds [%d, %d) and high-water mark %d are invalid", where, r.LogStartOffset, r.LogEndOffset, r.HighWatermark)
	}
	prev := int64(-1)
	for _, rec := range r.Records {
		if rec.Offset < r.LogStartOffset || rec.Offset >= r.LogEndOffset || rec.Offset <= prev {
			return fmt.Errorf("%s: record at offset %d is out of order or outside the log [%d, %d)", where, rec.Offset, r.LogStartOffset, r.LogEndOffset)
		}
		prev = rec.Offset
	}
	return nil
}
