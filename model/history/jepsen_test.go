package history_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

func readJepsen(t *testing.T, s string) *history.History {
	t.Helper()
	h, err := history.ReadJepsenHistory(strings.NewReader(s), history.JepsenOptions{})
	require.NoError(t, err)
	return h
}

func TestReadJepsenHistoryShapes(t *testing.T) {
	h := readJepsen(t, `#jepsen.history.Op{:index 0, :time 10, :type :invoke, :process 0, :f :send, :value [[:send 5 1]]}
{:index 1, :time 20, :type :invoke, :process 1, :f :txn, :value [[:send 5 2] [:poll]]}
{:index 2, :time 30, :type :ok, :process 0, :f :send, :value [[:send 5 [3 1]]]}
{:index 3, :time 40, :type :info, :process :nemesis, :f :kill, :value :all}
{:index 4, :time 50, :type :fail, :process 1, :f :txn, :value [[:send 5 [4 2]] [:poll {5 [[3 1]] :x []}]], :error [:txn-aborted "boom"]}
{:index 5, :time 60, :type :invoke, :process 2, :f :assign, :value [5 :x], :seek-to-beginning? true}
{:index 6, :time 70, :type :ok, :process 2, :f :assign, :value [5 :x]}
{:index 7, :time 80, :type :invoke, :process 2, :f :poll, :value [[:poll]]}
{:index 8, :time 90, :type :ok, :process 2, :f :poll, :value ([:poll {5 [[3 1]]}]), :rebalance-log [{:keys [5]}]}
{:index 9, :time 95, :type :invoke, :process 3, :f :crash}
{:index 10, :time 96, :type :info, :process 3, :f :crash}
{:index 11, :time 99, :type :invoke, :process 4, :f :subscribe, :value [:x 7]}
`)
	assert.Equal(t, history.JepsenScenario, h.Header.Scenario)
	assert.Equal(t, map[string]string{"acks": "all", "enable.idempotence": "false"}, h.Header.Config)
	var kinds []string
	for _, op := range h.Ops {
		kinds = append(kinds, op.Kind.String())
	}
	assert.Equal(t, []string{"send", "txn", "assign", "poll", "subscribe", "seek", "seek", "rebalance"}, kinds)

	send := h.Ops[0]
	assert.Equal(t, int64(2), send.ID, "an operation is named by its completion's :index")
	assert.Equal(t, "process-0", send.Client)
	assert.Equal(t, history.OK, send.Outcome)
	assert.Equal(t, history.Send{Topic: "5", Partition: 0, Value: model.Bytes("1"), Acks: model.AcksAll, Offset: 3}, *send.Send)

	txn := h.Ops[1]
	assert.Equal(t, history.Fail, txn.Outcome)
	assert.True(t, txn.Certain)
	assert.Equal(t, history.Fail, txn.Effective(), "Jepsen's :fail is certain")
	assert.Equal(t, `[:txn-aborted "boom"]`, txn.Error)
	require.Len(t, txn.Txn.Mops, 2)
	assert.Equal(t, int64(4), txn.Txn.Mops[0].Send.Offset, "a failed txn keeps the offset its client was told")
	assert.Equal(t, []history.PollPart{
		{Topic: "5", Partition: 0, Position: -1, Records: []history.Record{{Offset: 3, LeaderEpoch: -1, Value: model.Bytes("1")}}},
		{Topic: "x", Partition: 0, Position: -1},
	}, txn.Txn.Mops[1].Poll.Parts)

	assign := h.Ops[2]
	assert.Equal(t, []model.TopicPartition{{Topic: "5"}, {Topic: "x"}}, assign.Membership.Partitions)
	poll := h.Ops[3]
	assert.Equal(t, int64(8), poll.ID)
	sub := h.Ops[4]
	assert.Equal(t, history.Unknown, sub.Outcome, "never completed")
	assert.Equal(t, []string{"7", "x"}, sub.Membership.Topics)
	assert.Equal(t, sub.Invoke, sub.Complete, "an open operation ends with the history, here at its own invocation")

	for _, seek := range h.Ops[5:7] {
		assert.Equal(t, int64(-1), seek.Seek.Offset)
		assert.Equal(t, "seek-to-beginning", seek.Seek.Reason)
		assert.Equal(t, assign.Complete, seek.Invoke)
	}
	rebalance := h.Ops[7]
	assert.Equal(t, []model.TopicPartition{{Topic: "5"}}, rebalance.Membership.Assigned)
	assert.Equal(t, poll.Invoke, rebalance.Invoke, "inside the poll that logged it")
	assert.Equal(t, []int64{12, 13, 14}, []int64{h.Ops[5].ID, h.Ops[6].ID, h.Ops[7].ID}, "numbered after the last operation")

	// What it reads survives kafkasim's own format.
	var buf bytes.Buffer
	require.NoError(t, history.WriteHistory(&buf, h))
	back, err := history.ReadHistory(&buf)
	require.NoError(t, err)
	assert.Equal(t, h.Ops, back.Ops)
}

func TestReadJepsenHistoryErrors(t *testing.T) {
	for _, c := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"not a map", "{:type :invoke, :process 0, :f :poll, :value [[:poll]]}\n[1 2]", 2, "expected an operation map"},
		{"no type", "{:process 0, :f :poll}", 1, "no :type keyword"},
		{"bad type", "{:type :done, :process 0, :f :poll}", 1, "unknown :type :done"},
		{"bad f", "{:type :invoke, :process 0, :f :read}", 1, "unknown :f :read"},
		{"double invoke", "{:type :invoke, :process 0, :f :poll}\n{:type :invoke, :process 0, :f :poll}", 2, "has not completed"},
		{"lone completion", "{:type :ok, :process 0, :f :poll, :value [[:poll]]}", 1, "without an invocation"},
		{"f changes", "{:type :invoke, :process 0, :f :poll}\n{:type :ok, :process 0, :f :send}", 2, "completes :send, but invoked :poll"},
		{"bad mop", "{:type :invoke, :process 0, :f :send}\n{:type :ok, :process 0, :f :send, :value [[:write 1 2]]}", 2, "unknown micro-op :write"},
		{"no offset", "{:type :invoke, :process 0, :f :poll}\n{:type :ok, :process 0, :f :poll,\n :value [[:poll {1 [[nil 2]]}]]}", 3, "expected an integer >= 0"},
		{"bad key", "{:type :invoke, :process 0, :f :assign, :value [[1]]}\n{:type :ok, :process 0, :f :assign, :value [[1]]}", 2, "expected an integer, keyword or string"},
		{"backwards", "{:type :invoke, :process 0, :f :poll, :time 5}\n{:type :ok, :process 0, :f :poll, :time 4, :value [[:poll]]}", 2, "before its invocation"},
		{"same index", "{:index 1, :time 1, :type :invoke, :process 0, :f :poll}\n{:index 1, :time 2, :type :ok, :process 0, :f :poll, :value [[:poll]]}\n{:index 2, :time 3, :type :invoke, :process 1, :f :poll}\n{:index 1, :time 4, :type :ok, :process 1, :f :poll, :value [[:poll]]}", 4, "two operations have :index 1"},
		{"malformed", "{:type :invoke,\n :process 0 :f :poll", 2, "malformed EDN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := history.ReadJepsenHistory(strings.NewReader(c.in), history.JepsenOptions{})
			var le *history.LineError
			require.True(t, errors.As(err, &le), "%v", err)
			assert.Equal(t, c.line, le.Line, "%v", err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := history.ReadJepsenHistory(strings.NewReader(""), history.JepsenOptions{Acks: 5})
	assert.ErrorContains(t, err, "acks must be all or 1")
	h, err := history.ReadJepsenHistory(strings.NewReader(""), history.JepsenOptions{Acks: model.AcksLeader, Idempotent: true})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"acks": "1", "enable.idempotence": "true"}, h.Header.Config)
	assert.Empty(t, h.Ops)
}

func TestIsJepsenHistory(t *testing.T) {
	assert.True(t, history.IsJepsenHistory([]byte("\n{:index 0, :type :invoke}")))
	assert.True(t, history.IsJepsenHistory([]byte("#jepsen.history.Op{:index 0}")))
	assert.False(t, history.IsJepsenHistory([]byte(`{"format":"kafkasim-history","version":1}`)))
}

// FuzzReadJepsenHistory: any input gives a history or a line error, never
// a panic, and every history read survives kafkasim's own format.
func FuzzReadJepsenHistory(f *testing.F) {
	f.Add("{:type :invoke, :process 0, :f :txn, :value [[:send 5 1] [:poll]]}\n{:type :ok, :process 0, :f :txn, :value [[:send 5 [0 1]] [:poll {5 [[0 1]]}]]}\n")
	f.Add("{:type :invoke, :process 0, :f :assign, :value [1 2], :seek-to-beginning? true}\n{:type :info, :process 0, :f :assign}\n")
	f.Add("{:type :invoke, :process 1, :f :poll}\n{:type :fail, :process 1, :f :poll, :value [[:poll {1 [[3 :a]]}]], :rebalance-log [{:keys [1]}]}\n")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := history.ReadJepsenHistory(strings.NewReader(s), history.JepsenOptions{})
		if err != nil {
			var le *history.LineError
			if !errors.As(err, &le) || le.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := history.WriteHistory(&buf, h); err != nil {
			t.Fatalf("a history read from Jepsen cannot be written: %v", err)
		}
		if _, err := history.ReadHistory(&buf); err != nil {
			t.Fatalf("a history read from Jepsen cannot be read back: %v", err)
		}
	})
}
