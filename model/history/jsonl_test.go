package history_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// genBytes draws keys and values: null, empty, text, and arbitrary bytes.
func genBytes() *rapid.Generator[model.Bytes] {
	return rapid.Custom(func(t *rapid.T) model.Bytes {
		switch rapid.IntRange(0, 3).Draw(t, "shape") {
		case 0:
			return nil
		case 1:
			return model.Bytes{}
		case 2:
			return model.Bytes(rapid.StringN(1, 12, -1).Draw(t, "text"))
		}
		return model.Bytes(rapid.SliceOfN(rapid.Byte(), 1, 12).Draw(t, "raw"))
	})
}

func genTP() *rapid.Generator[model.TopicPartition] {
	return rapid.Custom(func(t *rapid.T) model.TopicPartition {
		return model.TopicPartition{
			Topic:     rapid.SampledFrom([]string{"t", "orders", "a.b-c_d"}).Draw(t, "topic"),
			Partition: rapid.Int32Range(0, 5).Draw(t, "partition"),
		}
	})
}

func genRecords(t *rapid.T, label string) []history.Record {
	n := rapid.IntRange(0, 4).Draw(t, label+"-n")
	if n == 0 {
		return nil
	}
	rs := make([]history.Record, n)
	off := rapid.Int64Range(0, 100).Draw(t, label+"-first")
	for i := range rs {
		rs[i] = history.Record{Offset: off, LeaderEpoch: rapid.Int32Range(-1, 9).Draw(t, "epoch"),
			Key: genBytes().Draw(t, "key"), Value: genBytes().Draw(t, "value"), Headers: genHeaders(t)}
		if rapid.Bool().Draw(t, "idempotent") {
			rs[i].Producer = &history.RecordProducer{ID: rapid.Int64Range(0, 1<<40).Draw(t, "producer-id"),
				Epoch: rapid.Int16Range(0, 5).Draw(t, "producer-epoch"), Sequence: rapid.Int32Range(0, 1000).Draw(t, "sequence")}
		}
		off += rapid.Int64Range(1, 3).Draw(t, "gap")
	}
	return rs
}

// genHeaders draws record headers: usually none, as most records have.
func genHeaders(t *rapid.T) []model.RecordHeader {
	n := rapid.IntRange(-2, 2).Draw(t, "headers")
	var hs []model.RecordHeader
	for range n {
		hs = append(hs, model.RecordHeader{Key: rapid.StringN(0, 5, -1).Draw(t, "header-key"), Value: genBytes().Draw(t, "header-value")})
	}
	return hs
}

func sortedTPs(t *rapid.T, label string) []model.TopicPartition {
	tps := rapid.SliceOfNDistinct(genTP(), 0, 3, model.TopicPartition.String).Draw(t, label)
	sortTPs(tps)
	if len(tps) == 0 {
		return nil
	}
	return tps
}

func sortTPs(tps []model.TopicPartition) {
	for i := 1; i < len(tps); i++ {
		for j := i; j > 0 && tps[j].Compare(tps[j-1]) < 0; j-- {
			tps[j], tps[j-1] = tps[j-1], tps[j]
		}
	}
}

// genOp draws a valid operation of any kind.
func genOp(t *rapid.T, id int64) history.Op {
	kind := rapid.SampledFrom(history.Kinds()).Draw(t, "kind")
	inv := time.Duration(rapid.Int64Range(0, 1e12).Draw(t, "invoke"))
	op := history.Op{ID: id, Client: rapid.SampledFrom([]string{"producer-1", "consumer-2", "admin"}).Draw(t, "client"),
		Process: rapid.IntRange(0, 3).Draw(t, "process"), Kind: kind, Invoke: inv,
		Complete: inv + time.Duration(rapid.Int64Range(0, 1e9).Draw(t, "latency")),
		Outcome:  rapid.SampledFrom([]history.Outcome{history.OK, history.Fail, history.Unknown}).Draw(t, "outcome")}
	switch op.Outcome {
	case history.Fail:
		op.Error = rapid.SampledFrom([]string{"NOT_ENOUGH_REPLICAS", "REQUEST_TIMED_OUT", "NOT_LEADER_OR_FOLLOWER"}).Draw(t, "error")
	case history.Unknown:
		op.Error = rapid.SampledFrom([]string{"", "REQUEST_TIMED_OUT"}).Draw(t, "error")
	}
	ok := op.Outcome == history.OK
	switch kind {
	case history.KindSend:
		tp := genTP().Draw(t, "tp")
		s := &history.Send{Topic: tp.Topic, Partition: tp.Partition, Key: genBytes().Draw(t, "key"), Value: genBytes().Draw(t, "value"),
			Acks:       rapid.SampledFrom([]model.Acks{model.AcksAll, model.AcksLeader, model.AcksNone}).Draw(t, "acks"),
			Idempotent: rapid.Bool().Draw(t, "idempotent"), Offset: -1, Headers: genHeaders(t)}
		if ok && s.Acks != model.AcksNone {
			s.Offset = rapid.Int64Range(0, 1e6).Draw(t, "offset")
		}
		op.Send = s
	case history.KindPoll:
		p := &history.Poll{Group: rapid.SampledFrom([]string{"", "g"}).Draw(t, "group")}
		for _, tp := range sortedTPs(t, "parts") {
			pp := history.PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: rapid.Int64Range(-1, 50).Draw(t, "position")}
			if ok {
				pp.Records = genRecords(t, "records")
			}
			p.Parts = append(p.Parts, pp)
		}
		op.Poll = p
	case history.KindCommit, history.KindFetchCommitted:
		o := &history.Offsets{Group: "g", Generation: rapid.Int32Range(-1, 9).Draw(t, "generation")}
		low := int64(-1)
		if kind == history.KindCommit {
			low = 0
		}
		for _, tp := range sortedTPs(t, "offsets") {
			o.Offsets = append(o.Offsets, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition,
				Offset: rapid.Int64Range(low, 99).Draw(t, "offset"), LeaderEpoch: rapid.Int32Range(-1, 9).Draw(t, "epoch")})
		}
		op.Offsets = o
	case history.KindAssign:
		op.Membership = &history.Membership{Partitions: sortedTPs(t, "assign")}
	case history.KindSubscribe:
		op.Membership = &history.Membership{Group: "g", Topics: []string{"t"}}
	case history.KindRebalance:
		op.Membership = &history.Membership{Group: "g", Member: "m-1", Generation: rapid.Int32Range(1, 9).Draw(t, "gen"),
			Assigned: sortedTPs(t, "assigned"), Revoked: sortedTPs(t, "revoked")}
	case history.KindSeek:
		tp := genTP().Draw(t, "tp")
		op.Seek = &history.Seek{Topic: tp.Topic, Partition: tp.Partition, Offset: rapid.Int64Range(-1, 99).Draw(t, "offset"),
			Reason: rapid.SampledFrom([]string{"seek", "reset-earliest", "truncation"}).Draw(t, "reason")}
	case history.KindAdmin:
		a := &history.Admin{Action: "create-topics", Topic: "t", Partition: -1, Partitions: 3, ReplicationFactor: 3, Offset: -1}
		if rapid.Bool().Draw(t, "configs") {
			a.Configs = map[string]string{"min.insync.replicas": "2"}
		}
		if ok && rapid.Bool().Draw(t, "result") {
			a.Result = map[string]string{"topic-id": "x"}
		}
		op.Admin = a
	case history.KindTxn:
		// Inside a txn, offsets and records need not match the outcome.
		txn := &history.Txn{}
		for range rapid.IntRange(1, 4).Draw(t, "mops") {
			if rapid.Bool().Draw(t, "is-send") {
				tp := genTP().Draw(t, "tp")
				txn.Mops = append(txn.Mops, history.Mop{Send: &history.Send{Topic: tp.Topic, Partition: tp.Partition,
					Value: genBytes().Draw(t, "value"), Acks: model.AcksAll, Offset: rapid.Int64Range(-1, 99).Draw(t, "offset")}})
				continue
			}
			p := &history.Poll{}
			for _, tp := range sortedTPs(t, "parts") {
				p.Parts = append(p.Parts, history.PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: -1, Records: genRecords(t, "records")})
			}
			txn.Mops = append(txn.Mops, history.Mop{Poll: p})
		}
		op.Txn = txn
	}
	if op.Outcome == history.Fail {
		op.Certain = rapid.Bool().Draw(t, "certain")
	}
	return op
}

func genHistory(t *rapid.T) *history.History {
	h := &history.History{Header: history.Header{Format: history.FormatName, Version: history.FormatVersion,
		Seed: rapid.Uint64().Draw(t, "seed"), Replay: "kafkasim replay run.jsonl", Scenario: "prop"}}
	if rapid.Bool().Draw(t, "config") {
		h.Header.Config = map[string]string{"acks": "all", "unclean.leader.election.enable": "false"}
	}
	n := rapid.IntRange(0, 12).Draw(t, "ops")
	id := int64(0)
	for range n {
		id += rapid.Int64Range(0, 2).Draw(t, "id-gap")
		h.Ops = append(h.Ops, genOp(t, id))
		id++
	}
	if rapid.Bool().Draw(t, "final") {
		h.Partitions = []history.PartitionState{{TP: model.TopicPartition{Topic: "t"}, Metadata: model.PartitionMetadata{
			Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 7}}}
		recs := genRecords(t, "final")
		leo := int64(0)
		if len(recs) > 0 {
			leo = recs[len(recs)-1].Offset + 1
		}
		start := leo
		if len(recs) > 0 {
			start = recs[0].Offset
		}
		h.Replicas = []history.ReplicaState{
			{TP: model.TopicPartition{Topic: "t"}, Broker: 1, Online: true, Incarnation: 2, Leader: true, LeaderEpoch: 3,
				HighWatermark: leo, LogStartOffset: start, LogEndOffset: leo, Records: recs},
			{TP: model.TopicPartition{Topic: "t"}, Broker: 2, Online: false},
		}
	}
	return h
}

func TestHistoryRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		h := genHistory(t)
		var buf bytes.Buffer
		require.NoError(t, history.WriteHistory(&buf, h))
		got, err := history.ReadHistory(bytes.NewReader(buf.Bytes()))
		require.NoError(t, err, buf.String())
		assert.Equal(t, h, got)
		// Writing again gives the same bytes.
		var again bytes.Buffer
		require.NoError(t, history.WriteHistory(&again, got))
		assert.Equal(t, buf.String(), again.String())
	})
}

func TestBytesJSONIsLossless(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := genBytes().Draw(t, "b")
		data, err := b.MarshalJSON()
		require.NoError(t, err)
		var got model.Bytes
		require.NoError(t, got.UnmarshalJSON(data))
		assert.True(t, b.Equal(got), "%q -> %s -> %q", []byte(b), data, []byte(got))
		assert.Equal(t, b == nil, got == nil)
	})
}

func TestBytesJSONForms(t *testing.T) {
	for _, c := range []struct {
		b    model.Bytes
		json string
	}{
		{nil, `null`},
		{model.Bytes{}, `""`},
		{model.Bytes("héllo"), `"héllo"`},
		{model.Bytes{0xff, 0x00}, `{"base64":"/wA="}`},
	} {
		data, err := c.b.MarshalJSON()
		require.NoError(t, err)
		assert.Equal(t, c.json, string(data))
	}
	var b model.Bytes
	assert.ErrorContains(t, b.UnmarshalJSON([]byte(`12`)), "expected null, a string")
	assert.ErrorContains(t, b.UnmarshalJSON([]byte(`{"hex":"00"}`)), "unknown field")
	assert.ErrorContains(t, b.UnmarshalJSON([]byte(`{"base64":"!"}`)), "invalid base64")
}

const goodHistory = `{"format":"kafkasim-history","version":1,"seed":7}
{"type":"send","id":0,"client":"p","process":0,"invoke_ns":10,"complete_ns":20,"outcome":"ok","send":{"topic":"t","partition":0,"key":null,"value":"a","acks":"all","idempotent":true,"offset":0}}
{"type":"poll","id":1,"client":"c","process":0,"invoke_ns":30,"complete_ns":40,"outcome":"ok","poll":{"parts":[{"topic":"t","partition":0,"position":0,"records":[{"offset":0,"leader_epoch":1,"key":null,"value":"a"}]}]}}
{"type":"end","ops":2,"partitions":0,"replicas":0}
`

func TestReadGoodHistory(t *testing.T) {
	h, err := history.ReadHistory(strings.NewReader(goodHistory))
	require.NoError(t, err)
	assert.Equal(t, uint64(7), h.Header.Seed)
	require.Len(t, h.Ops, 2)
	assert.Equal(t, int64(0), h.Ops[0].Send.Offset)
	assert.Equal(t, "a", string(h.Ops[1].Poll.Parts[0].Records[0].Value))
	// Without the final newline the file is still whole.
	_, err = history.ReadHistory(strings.NewReader(strings.TrimSuffix(goodHistory, "\n")))
	require.NoError(t, err)
}

// Headers are written only for records that have them, so a history
// without headers reads and writes exactly as before headers were
// recorded (goodHistory is such a file).
func TestRecordHeadersInHistory(t *testing.T) {
	h, err := history.ReadHistory(strings.NewReader(goodHistory))
	require.NoError(t, err)
	assert.Nil(t, h.Ops[0].Send.Headers)
	var buf bytes.Buffer
	require.NoError(t, history.WriteHistory(&buf, h))
	assert.Equal(t, goodHistory, buf.String())

	withHeaders := strings.Replace(goodHistory, `"offset":0}}`, `"offset":0,"headers":[{"key":"trace","value":"x"},{"key":"n","value":null}]}}`, 1)
	withHeaders = strings.Replace(withHeaders, `"value":"a"}]`, `"value":"a","headers":[{"key":"trace","value":"x"},{"key":"n","value":null}]}]`, 1)
	h, err = history.ReadHistory(strings.NewReader(withHeaders))
	require.NoError(t, err)
	want := []model.RecordHeader{{Key: "trace", Value: model.Bytes("x")}, {Key: "n", Value: nil}}
	assert.Equal(t, want, h.Ops[0].Send.Headers)
	assert.Equal(t, want, h.Ops[1].Poll.Parts[0].Records[0].Headers)
	buf.Reset()
	require.NoError(t, history.WriteHistory(&buf, h))
	assert.Equal(t, withHeaders, buf.String())
}

func TestReadBadHistories(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(goodHistory, "\n"), "\n")
	join := func(ls ...string) string { return strings.Join(ls, "\n") + "\n" }
	for _, c := range []struct {
		name  string
		input string
		line  int
		want  string
	}{
		{"empty", "", 1, "empty input"},
		{"not json", "hello\n", 1, "not a kafkasim history"},
		{"other format", `{"format":"other","version":1}` + "\n", 1, `expected "kafkasim-history"`},
		{"older version", `{"format":"kafkasim-history","version":0}` + "\n", 1, "older kafkasim"},
		{"newer version", `{"format":"kafkasim-history","version":2}` + "\n", 1, "newer kafkasim"},
		{"no version", `{"format":"kafkasim-history"}` + "\n", 1, `no valid "version"`},
		{"truncated mid-line", goodHistory[:len(goodHistory)-30], 4, "truncated"},
		{"truncated at a line end", join(lines[0], lines[1]), 3, "without its end marker"},
		{"line lost", join(lines[0], lines[1], lines[3]), 3, "lines are missing"},
		{"unknown type", join(lines[0], strings.Replace(lines[1], `"type":"send"`, `"type":"produce"`, 1)), 2, `unknown operation type "produce"; accepted: send, poll`},
		{"completion before invocation", join(lines[0], strings.Replace(lines[1], `"complete_ns":20`, `"complete_ns":5`, 1)), 2, "before it was invoked"},
		{"unknown field", join(lines[0], strings.Replace(lines[1], `"process":0`, `"proces":0`, 1)), 2, `unknown field "proces"`},
		{"wrong body", join(lines[0], `{"type":"send","id":0,"client":"p","process":0,"invoke_ns":1,"complete_ns":2,"outcome":"ok","seek":{"topic":"t","partition":0,"offset":1,"reason":"seek"}}`), 2, "needs a \"send\" body"},
		{"two bodies", join(lines[0], strings.Replace(lines[1], `"send":`, `"seek":{"topic":"t","partition":0,"offset":1,"reason":"seek"},"send":`, 1)), 2, "takes only \"send\""},
		{"no type", join(lines[0], `{"id":3}`), 2, `no "type"`},
		{"blank line", join(lines[0], "", lines[1]), 2, "blank line"},
		{"ids out of order", join(lines[0], lines[2], lines[1]), 3, "increasing id order"},
		{"bad outcome", join(lines[0], strings.Replace(lines[1], `"outcome":"ok"`, `"outcome":"info"`, 1)), 2, "accepted: ok, fail, unknown"},
		{"ok send without offset", join(lines[0], strings.Replace(lines[1], `"offset":0`, `"offset":-1`, 1)), 2, "must record the offset"},
		{"send missing acks", join(lines[0], strings.Replace(lines[1], `"acks":"all",`, ``, 1)), 2, `needs "partition", "acks" and "offset"`},
		{"bad acks", join(lines[0], strings.Replace(lines[1], `"acks":"all"`, `"acks":"2"`, 1)), 2, "invalid acks"},
		{"fail without error", join(lines[0], strings.Replace(strings.Replace(lines[1], `"outcome":"ok"`, `"outcome":"fail"`, 1), `"offset":0`, `"offset":-1`, 1)), 2, "without an error code"},
		{"after end", goodHistory + lines[1] + "\n", 5, "after the end marker"},
		{"ok marked certain", join(lines[0], strings.Replace(lines[1], `"outcome":"ok"`, `"outcome":"ok","certain":true`, 1)), 2, "only a failure is"},
		{"empty txn", join(lines[0], `{"type":"txn","id":0,"client":"p","process":0,"invoke_ns":1,"complete_ns":2,"outcome":"ok","txn":{"mops":[]}}`), 2, "without micro-operations"},
		{"txn mop of two", join(lines[0], `{"type":"txn","id":0,"client":"p","process":0,"invoke_ns":1,"complete_ns":2,"outcome":"ok","txn":{"mops":[{}]}}`), 2, "exactly one of a send and a poll"},
		{"unknown send with offset", join(lines[0], strings.Replace(lines[1], `"outcome":"ok"`, `"outcome":"unknown"`, 1)), 2, "only successful sends learn an offset"},
		{"two values", join(lines[0], lines[1]+` {}`), 2, "malformed JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := history.ReadHistory(strings.NewReader(c.input))
			require.Error(t, err)
			assert.Nil(t, h, "nothing is half-loaded")
			var le *history.LineError
			require.True(t, errors.As(err, &le), "%v", err)
			assert.Equal(t, c.line, le.Line, "%v", err)
			assert.Contains(t, err.Error(), c.want)
			assert.Contains(t, err.Error(), "history line")
		})
	}
}

func TestWriterRefusesBadOps(t *testing.T) {
	var buf bytes.Buffer
	w := history.NewWriter(&buf, history.Header{})
	op := history.Op{ID: 1, Client: "p", Kind: history.KindSeek, Invoke: 5, Complete: 3, Outcome: history.OK,
		Seek: &history.Seek{Topic: "t", Offset: 1, Reason: "seek"}}
	assert.ErrorContains(t, w.Op(&op), "before it was invoked")
	assert.Error(t, w.Close())

	buf.Reset()
	w = history.NewWriter(&buf, history.Header{})
	op.Complete = 6
	require.NoError(t, w.Op(&op))
	assert.ErrorContains(t, w.Op(&op), "increasing id order")
}

// FuzzReadHistory feeds the decoder arbitrary bytes: it must return an
// error or a history, never panic, and whatever it accepts must survive a
// round trip.
func FuzzReadHistory(f *testing.F) {
	f.Add([]byte(goodHistory))
	f.Add([]byte(goodHistory[:100]))
	f.Add([]byte(`{"format":"kafkasim-history","version":1}` + "\n" + `{"type":"end","ops":0,"partitions":0,"replicas":0}`))
	f.Add([]byte(`{"format":"kafkasim-history","version":1}` + "\n" + `{"type":"replica","topic":"t","partition":0,"broker":1,"online":true,"incarnation":1,"leader":true,"leader_epoch":1,"high_watermark":1,"log_start_offset":0,"log_end_offset":1,"records":[{"offset":0,"leader_epoch":1,"key":{"base64":"AA=="},"value":"v"}]}` + "\n" + `{"type":"end","ops":0,"partitions":0,"replicas":1}`))
	f.Add([]byte(`{"format":"kafkasim-history","version":1}` + "\n" + `{"type":"partition","topic":"t","partition":0,"replicas":[1],"isr":[1],"elr":[],"last_known_elr":[],"leader":1,"leader_epoch":1,"partition_epoch":1,"recovering":false}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.ReadHistory(bytes.NewReader(data))
		if err != nil {
			if h != nil {
				t.Fatalf("error %v with a half-loaded history", err)
			}
			var le *history.LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := history.WriteHistory(&buf, h); err != nil {
			t.Fatalf("accepted history cannot be written: %v", err)
		}
		h2, err := history.ReadHistory(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("written history cannot be read back: %v\n%s", err, buf.String())
		}
		var b2 bytes.Buffer
		if err := history.WriteHistory(&b2, h2); err != nil {
			t.Fatal(err)
		}
		if buf.String() != b2.String() {
			t.Fatalf("round trip changed the history:\n%s\n%s", buf.String(), b2.String())
		}
	})
}
