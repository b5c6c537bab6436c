package fault_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

func TestDelayValidates(t *testing.T) {
	s, err := fault.Parse("delay.json", []byte(`[
		{"at": "1s", "kind": "delay", "from": "p1", "to": "leader(orders-0)", "messages": ["Produce"], "hold": "8s"},
		{"at": "2s", "kind": "delay", "to": "b1", "messages": ["EndTxn", "FetchResponse"], "hold": "500ms", "count": 3},
		{"at": "3s", "kind": "delay", "from": "clients", "messages": ["WriteTxnMarkers"], "hold": "1s"}
	]`), names, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "1s delay p1->leader(orders-0) Produce held 8s", s[0].String())
	assert.Equal(t, "2s delay any->b1 EndTxn,FetchResponse held 500ms count=3", s[1].String())
	assert.Equal(t, "3s delay clients->any WriteTxnMarkers held 1s", s[2].String())

	for _, tc := range []struct{ in, want string }{
		{`[{"at": "1s", "kind": "delay", "hold": "1s"}]`, `messages: delay needs the Kafka APIs whose messages it holds: accepted are Produce, ProduceResponse, Fetch`},
		{`[{"at": "1s", "kind": "delay", "messages": ["Produse"], "hold": "1s"}]`, `messages: unknown Kafka API "Produse": accepted are Produce,`},
		{`[{"at": "1s", "kind": "delay", "messages": ["Produce"]}]`, `hold: delay needs how long to hold the messages, above 0`},
		{`[{"at": "1s", "kind": "delay", "messages": ["Produce"], "hold": "1s", "count": -1}]`, `count: -1 is negative`},
		{`[{"at": "1s", "kind": "delay", "to": "b9", "messages": ["Produce"], "hold": "1s"}]`, `to: unknown node "b9"`},
		{`[{"at": "1s", "kind": "delay", "from": "b1", "to": "b1", "messages": ["Produce"], "hold": "1s"}]`, `from and to are both "b1"`},
		{`[{"at": "1s", "kind": "crash", "nodes": ["b1"], "messages": ["Produce"], "hold": "1s"}]`, `messages/hold/count: only delay takes them`},
		{`[{"at": "1s", "kind": "cut", "from": "b1"}]`, `to: cut needs a node`},
	} {
		_, err := fault.Parse("bad.json", []byte(tc.in), names, time.Minute)
		require.Error(t, err, tc.in)
		assert.Contains(t, err.Error(), tc.want, tc.in)
	}
}

// TestDelayNamesKafkasMessages: the APIs a delay accepts are the kinds
// of kafkasim's protocol messages.
func TestDelayNamesKafkasMessages(t *testing.T) {
	for _, m := range []network.Message{&protocol.Produce{}, &protocol.ProduceResponse{}, &protocol.FetchResponse{}, &protocol.EndTxn{},
		&protocol.WriteTxnMarkers{}, &protocol.AddPartitionsToTxn{}, &protocol.InitProducerId{}, &protocol.AlterPartition{}} {
		assert.Contains(t, fault.Messages, m.Kind())
	}
	for _, m := range fault.DelayDrawn {
		assert.Contains(t, fault.Messages, m)
	}
}

// TestDelayInstallsAHold: a delay fault holds the next matching message
// when it fires, and the message sent after it on the link overtakes it.
func TestDelayInstallsAHold(t *testing.T) {
	s, net, target := cluster(t, 1)
	fault.Schedule{
		{At: fault.Duration(time.Second), Kind: fault.Delay, From: "p1", To: "b1", Messages: []string{"EndTxn"}, Hold: fault.Duration(2 * time.Second)},
	}.Install(target)
	require.NoError(t, s.RunUntil(1500*time.Millisecond))
	require.Len(t, net.Holds(), 1)
	assert.Equal(t, []string{"EndTxn"}, net.Holds()[0].Kinds)
	p1, err := s.Node("p1")
	require.NoError(t, err)
	b1, err := s.Node("b1")
	require.NoError(t, err)
	net.Send(p1.ID(), b1.ID(), &protocol.EndTxn{CorrelationID: 1})
	net.Send(p1.ID(), b1.ID(), &protocol.EndTxn{CorrelationID: 2})
	require.NoError(t, s.RunUntil(2*time.Second))
	assert.Empty(t, net.Holds(), "spent after one message")
	assert.EqualValues(t, 1, net.Stats().Held)
	assert.EqualValues(t, 1, net.Stats().Delivered, "the second EndTxn went through at once")
	require.NoError(t, s.RunUntil(4*time.Second))
	assert.EqualValues(t, 2, net.Stats().Delivered, "the first arrived after its hold")
	assert.EqualValues(t, 1, s.Marked("fault.delay"))
}

func TestNemesisDelayMessages(t *testing.T) {
	n := fault.Nemesis{Kinds: []fault.Kind{fault.Delay}, Targets: []string{"b1", "b2"}, End: 30 * time.Second,
		Interval: time.Second, Length: 5 * time.Second, MaxFaulty: 1, DelayMessages: []string{"EndTxn"}}
	sched, err := n.Generate(sim.NewRand(1, "nemesis"))
	require.NoError(t, err)
	require.NotEmpty(t, sched)
	for _, f := range sched {
		assert.Equal(t, fault.Delay, f.Kind)
		assert.Equal(t, []string{"EndTxn"}, f.Messages)
		assert.Positive(t, f.Hold)
		assert.Empty(t, f.From, "requests are held on their way to the victim")
	}
	require.NoError(t, sched.Validate(names, 0))
	n.DelayMessages = []string{"Nope"}
	_, err = n.Generate(sim.NewRand(1, "nemesis"))
	assert.ErrorContains(t, err, `nemesis delay messages: unknown Kafka API "Nope"`)
}
