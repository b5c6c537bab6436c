package txn_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/txn"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// env is the scripted broker around the coordinator: appends to
// __transaction_state complete at once (or wait, or fail, as the script
// says), partition leaders are fixed, WriteTxnMarkers requests wait until
// the script answers them.
type env struct {
	log     map[int32][]byte // __transaction_state partitions
	hold    bool
	held    []func()
	failure protocol.ErrorCode
	leaders map[model.TopicPartition]int32
	markers []sentMarkers
	nextPID int64
}

type sentMarkers struct {
	leader int32
	req    *protocol.WriteTxnMarkers
	done   func(*protocol.WriteTxnMarkersResponse, protocol.ErrorCode)
}

func (e *env) Append(p int32, records protocol.Records, done func(protocol.ErrorCode)) {
	do := func() {
		if e.failure != protocol.None {
			done(e.failure)
			return
		}
		b := append([]byte(nil), records...)
		e.log[p] = append(e.log[p], b...)
		done(protocol.None)
	}
	if e.hold {
		e.held = append(e.held, do)
		return
	}
	do()
}

func (e *env) LeaderOf(tp model.TopicPartition) (int32, bool) {
	l, ok := e.leaders[tp]
	if !ok {
		return 1, true
	}
	return l, l != protocol.NoNode
}

func (e *env) WriteMarkers(leader int32, m *protocol.WriteTxnMarkers, done func(*protocol.WriteTxnMarkersResponse, protocol.ErrorCode)) {
	e.markers = append(e.markers, sentMarkers{leader: leader, req: m, done: done})
}

func (e *env) NewProducerID() (int64, protocol.ErrorCode) {
	e.nextPID++
	return 1000 + e.nextPID, protocol.None
}

// TestScripts runs the coordinator's state-machine scripts under testdata.
// `go test ./broker/txn -run TestScripts -rewrite` regenerates them.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		s := sim.New(sim.Config{Seed: 1})
		n, err := s.AddNode("b1", func(*sim.Node) any { return nil })
		require.NoError(t, err)
		require.NoError(t, n.Start())
		e := &env{log: map[int32][]byte{}, leaders: map[model.TopicPartition]int32{}}
		cfg := txn.DefaultConfig()
		cfg.StateLogPartitions = 1
		var out []string
		// Partition logs the script leads, for the leader's side of
		// verification, and appends held back after their verification.
		logs := map[model.TopicPartition]*log.Log{}
		var held []heldAppend
		send := func(_ sim.NodeID, m network.Message) { out = append(out, fmt.Sprint(m)) }
		c, err := txn.New(n, cfg, e, send)
		require.NoError(t, err)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out = out[:0]
			a := map[string]string{}
			for _, arg := range d.CmdArgs {
				a[arg.Key] = strings.Join(arg.Vals, ",")
			}
			num := func(k string, def int64) int64 {
				v, ok := a[k]
				if !ok {
					return def
				}
				x, err := strconv.ParseInt(v, 10, 64)
				require.NoError(t, err, "%s: %s=%q", d.Pos, k, v)
				return x
			}
			producer := func() protocol.TxnProducer {
				return protocol.TxnProducer{TransactionalID: a["id"], ProducerID: num("pid", 1001), ProducerEpoch: int16(num("epoch", 0))}
			}
			handle := func(m network.Message) { require.True(t, c.Handle(0, m), "%s not handled", m.Kind()) }
			switch d.Cmd {
			case "config":
				cfg.Version = int(num("version", 2))
				cfg.PartitionVerification = a["verification"] != "false"
				cfg.IDExpiration = time.Duration(num("expiration", cfg.IDExpiration.Milliseconds())) * time.Millisecond
				cfg.RemoveExpiredInterval = time.Duration(num("cleanup", cfg.RemoveExpiredInterval.Milliseconds())) * time.Millisecond
				c, err = txn.New(n, cfg, e, send)
				require.NoError(t, err)
			case "elect":
				require.NoError(t, c.Elected(0, int32(num("epoch", 0)), e.log[0]))
			case "resign":
				c.Resigned(0)
			case "init":
				m := &protocol.InitProducerId{TransactionalID: a["id"], TransactionTimeoutMs: int32(num("timeout", 60000)),
					ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
				if _, ok := a["pid"]; ok {
					m.ProducerID, m.ProducerEpoch = num("pid", 0), int16(num("epoch", 0))
				}
				handle(m)
			case "partition":
				tp := parseTP(a["name"])
				l, _, err := log.Open(n.Disk(), tp, log.Config{}, log.OpenOptions{})
				require.NoError(t, err)
				logs[tp] = l
			case "produce":
				tp := parseTP(a["partition"])
				l := logs[tp]
				require.NotNil(t, l, "%s: no partition %s", d.Pos, tp)
				pr := producer()
				recs := protocol.NewTxnRecords(protocol.Producer{ID: pr.ProducerID, Epoch: pr.ProducerEpoch, BaseSequence: int32(num("seq", 0))}, 1,
					strings.Split(a["values"], ",")...)
				h := heldAppend{tp: tp, l: l, records: recs}
				out = append(out, leaderVerify(c, cfg, &h, pr)...)
				if h.refused {
					break
				}
				if _, hold := a["hold"]; hold {
					held = append(held, h)
					out = append(out, "append held back")
					break
				}
				out = append(out, h.append())
			case "append-held":
				for _, h := range held {
					out = append(out, h.append())
				}
				held = nil
			case "state-log":
				require.NoError(t, txn.DecodeLog(e.log[0], func(m txn.Metadata) {
					if m.State == txn.Dead {
						out = append(out, m.TransactionalID+": tombstone")
						return
					}
					out = append(out, m.String())
				}))
			case "partition-state":
				tp := parseTP(a["name"])
				l := logs[tp]
				line := fmt.Sprintf("%s: leo=%d lso=%d", tp, l.EndOffset(), l.LastStableOffset())
				for _, o := range l.OngoingTxns() {
					line += fmt.Sprintf(" open: producer %d epoch %d from %d", o.ProducerID, o.Epoch, o.FirstOffset)
				}
				out = append(out, line)
			case "add":
				var tps []model.TopicPartition
				for _, s := range strings.Split(a["partitions"], ",") {
					i := strings.LastIndexByte(s, '-')
					p, _ := strconv.Atoi(s[i+1:])
					tps = append(tps, model.TopicPartition{Topic: s[:i], Partition: int32(p)})
				}
				_, verify := a["verify"]
				handle(&protocol.AddPartitionsToTxn{TxnProducer: producer(), Partitions: tps, VerifyOnly: verify})
			case "add-offsets":
				handle(&protocol.AddOffsetsToTxn{TxnProducer: producer(), GroupID: a["group"]})
			case "end":
				handle(&protocol.EndTxn{TxnProducer: producer(), Committed: a["result"] == "commit"})
			case "hold-appends":
				e.hold = true
			case "release-appends":
				e.hold = false
				held := e.held
				e.held = nil
				for _, f := range held {
					f()
				}
			case "fail-appends":
				e.failure, _ = protocol.ParseErrorCode(a["error"])
			case "leader":
				i := strings.LastIndexByte(a["partition"], '-')
				p, _ := strconv.Atoi(a["partition"][i+1:])
				e.leaders[model.TopicPartition{Topic: a["partition"][:i], Partition: int32(p)}] = int32(num("broker", 1))
			case "markers":
				for _, m := range e.markers {
					out = append(out, fmt.Sprintf("to broker %d: %s", m.leader, m.req))
				}
			case "answer-markers":
				code, _ := protocol.ParseErrorCode(a["error"])
				sent := e.markers
				e.markers = nil
				for _, m := range sent {
					if _, lost := a["lost"]; lost {
						m.done(nil, protocol.NetworkException)
						continue
					}
					r := &protocol.WriteTxnMarkersResponse{CorrelationID: m.req.CorrelationID}
					for _, mk := range m.req.Markers {
						res := protocol.WriteTxnMarkersResult{ProducerID: mk.ProducerID}
						for _, tp := range mk.Partitions {
							code := code
							if l := logs[tp]; l != nil && code == protocol.None {
								// A partition the script leads writes the marker.
								typ := protocol.ControlAbort
								if mk.Committed {
									typ = protocol.ControlCommit
								}
								info, err := l.AppendMarker(log.Marker{ProducerID: mk.ProducerID, ProducerEpoch: mk.ProducerEpoch, Type: typ,
									CoordinatorEpoch: mk.CoordinatorEpoch}, 0, 0)
								code = log.ErrorCode(err)
								if err == nil {
									l.SetHighWatermark(l.EndOffset())
									out = append(out, fmt.Sprintf("%s: %s marker at %d", tp, typ, info.FirstOffset))
								}
							}
							res.Partitions = append(res.Partitions, protocol.PartitionError{TP: tp, Error: code})
						}
						r.Markers = append(r.Markers, res)
					}
					m.done(r, protocol.None)
				}
			case "tick":
				require.NoError(t, s.RunFor(time.Duration(num("ms", 0))*time.Millisecond))
			case "state":
				for _, id := range c.TransactionalIDs() {
					md, _ := c.Transaction(id)
					out = append(out, md.String())
				}
			default:
				t.Fatalf("%s: unknown command %s", d.Pos, d.Cmd)
			}
			if _, ok := a["state"]; ok || d.Cmd == "state" {
				if d.Cmd != "state" {
					for _, id := range c.TransactionalIDs() {
						md, _ := c.Transaction(id)
						out = append(out, "state: "+md.String())
					}
				}
			}
			out = slices.DeleteFunc(out, func(string) bool { return false })
			if len(out) == 0 {
				return "ok\n"
			}
			return strings.Join(out, "\n") + "\n"
		})
	})
}

func parseTP(s string) model.TopicPartition {
	i := strings.LastIndexByte(s, '-')
	p, _ := strconv.Atoi(s[i+1:])
	return model.TopicPartition{Topic: s[:i], Partition: int32(p)}
}

// heldAppend is a transactional batch on its way into a partition's log,
// with the guard of its verification.
type heldAppend struct {
	tp      model.TopicPartition
	l       *log.Log
	records protocol.Records
	verify  bool
	guard   log.VerificationGuard
	refused bool
}

// leaderVerify does what a partition leader does before it appends a
// transactional batch (the broker's produceClient): under version 2 it
// has the coordinator add the partition, under version 1 with
// verification it asks whether the partition is in the transaction, and
// without verification it appends at once.
func leaderVerify(c *txn.Coordinator, cfg txn.Config, h *heldAppend, pr protocol.TxnProducer) []string {
	if cfg.Version < 2 && !cfg.PartitionVerification {
		return nil
	}
	h.verify = true
	if _, _, needs := h.l.NeedsVerification(h.records); !needs {
		return []string{"no verification: the producer's transaction is open here"}
	}
	h.guard = h.l.StartVerification(pr.ProducerID)
	var resp *protocol.AddPartitionsToTxnResponse
	c.AddPartitions(&protocol.AddPartitionsToTxn{TxnProducer: pr, VerifyOnly: cfg.Version < 2, Partitions: []model.TopicPartition{h.tp}},
		func(r *protocol.AddPartitionsToTxnResponse) { resp = r })
	if resp == nil {
		h.refused = true
		return []string{"the coordinator has not answered"}
	}
	out := []string{"leader asks: " + resp.String()}
	for _, pe := range resp.Partitions {
		if pe.Error != protocol.None {
			h.refused = true
			out = append(out, fmt.Sprintf("produce refused: %s", pe.Error))
		}
	}
	return out
}

func (h heldAppend) append() string {
	var info log.AppendInfo
	var err error
	if h.verify {
		info, err = h.l.AppendVerified(h.records, 0, 0, h.guard)
	} else {
		info, err = h.l.AppendAsLeader(h.records, 0, 0)
	}
	if err != nil {
		return fmt.Sprintf("%s: append refused: %v", h.tp, err)
	}
	h.l.SetHighWatermark(h.l.EndOffset())
	return fmt.Sprintf("%s: appended at %d", h.tp, info.FirstOffset)
}
