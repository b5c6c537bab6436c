package checker_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// oracleSteps bounds porcupine's search per partition when it is the
// oracle: a history it cannot decide within them is not compared.
const oracleSteps = 2_000_000

// oracle checks every partition of h with porcupine alone, against
// checker.Porcupine's models, as the check did before the log checker:
// Unchecked where porcupine did not decide within oracleSteps.
func oracle(h *history.History) (map[checker.PartitionKey]checker.Result, map[checker.PartitionKey]int) {
	ops, _ := checker.Linearization(h)
	keys, parts := checker.SplitOperations(ops)
	out := make(map[checker.PartitionKey]checker.Result, len(keys))
	counts := make(map[checker.PartitionKey]int, len(keys))
	for i, k := range keys {
		m := checker.Porcupine()
		m.Partition = nil
		steps, exhausted := 0, false
		step := m.Step
		m.Step = func(state, input, output any) (bool, any) {
			if steps >= oracleSteps {
				exhausted = true
				return false, state
			}
			steps++
			return step(state, input, output)
		}
		counts[k] = len(parts[i])
		switch ok := porcupine.CheckOperations(m, parts[i]); {
		case ok:
			out[k] = checker.Ok
		case exhausted:
			out[k] = checker.Unchecked
		default:
			out[k] = checker.Illegal
		}
	}
	return out, counts
}

// agree checks h with both checkers and requires the same verdict on
// every partition porcupine decided. It returns the log partitions
// compared, how many of them were illegal, and how many porcupine could
// not decide.
func agree(t testing.TB, h *history.History, what string) (compared, illegal, undecided int) {
	t.Helper()
	want, counts := oracle(h)
	got := checker.CheckLinearizability(h, 0)
	seen := make(map[checker.PartitionKey]bool)
	for _, p := range got.Partitions {
		seen[p.Key] = true
		w, ok := want[p.Key]
		require.True(t, ok, "%s: the checker has the %s, which porcupine's conversion has not", what, p.Key)
		if w == checker.Unchecked {
			undecided++
			continue
		}
		if p.Result != w {
			ops, _ := checker.Linearization(h)
			_, parts := checker.SplitOperations(ops)
			var text []string
			for _, part := range parts {
				if checker.KeyOf(part[0]) != p.Key {
					continue
				}
				m := checker.Porcupine()
				for _, op := range part {
					text = append(text, fmt.Sprintf("  [%d, %d] %s", op.Call, op.Return, m.DescribeOperation(op.Input, op.Output)))
				}
			}
			require.Failf(t, "the checkers disagree", "%s: the %s is %s for the checker, %s for porcupine; stuck at op %d (%s)\n%s",
				what, p.Key, p.Result, w, p.Stuck, p.StuckText, joinLines(text))
		}
		require.Equal(t, counts[p.Key], p.Ops, "%s: operations in the %s", what, p.Key)
		if !p.Key.Offsets {
			compared++
			if w == checker.Illegal {
				illegal++
			}
		}
	}
	for k := range want {
		require.True(t, seen[k], "%s: porcupine's conversion has the %s, which the checker has not", what, k)
	}
	return compared, illegal, undecided
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += l + "\n"
	}
	return out
}

// TestLogCheckerAgreesWithPorcupine checks 100,000 random small histories
// (up to 200 operations, with unknown outcomes, crashed clients, and
// mutations that make most of them illegal) with the log checker and with
// porcupine: they must give every partition the same verdict.
func TestLogCheckerAgreesWithPorcupine(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const shards = 4
	var compared, illegal [shards]int
	t.Run("shards", func(t *testing.T) {
		for s := range shards {
			t.Run(fmt.Sprint(s), func(t *testing.T) {
				t.Parallel()
				for seed := s + 1; seed <= n; seed += shards {
					c, i, _ := agree(t, wild(seeded(uint64(seed))), fmt.Sprintf("seed %d", seed))
					compared[s], illegal[s] = compared[s]+c, illegal[s]+i
				}
			})
		}
	})
	var c, i int
	for s := range shards {
		c, i = c+compared[s], i+illegal[s]
	}
	t.Logf("%d histories: %d log partitions compared, %d of them illegal", n, c, i)
	require.Greater(t, i, c/5, "the mutations must make many logs illegal")
	require.Less(t, i, c*4/5, "and leave many legal")
}

// wild generates a small history: a correct one, then a few mutations
// of its times, outcomes, offsets, records and final logs.
func wild(r random) *history.History {
	cfg := genConfig{
		Partitions: 1 + r.IntN(3), Producers: 1 + r.IntN(3), Consumers: r.IntN(3),
		Ops: 1 + r.IntN(120), Unknown: r.IntN(40), Fail: r.IntN(20), Acks: model.AcksAll, Idempotent: true,
	}
	h := generate(r, cfg)
	for range 1 + r.IntN(3) {
		wildMutations[r.IntN(len(wildMutations))](r, h)
	}
	if len(h.Ops) > 200 {
		h.Ops = h.Ops[:200]
	}
	return h
}

func sendOps(h *history.History) []*history.Op {
	var out []*history.Op
	for i := range h.Ops {
		if h.Ops[i].Kind == history.KindSend {
			out = append(out, &h.Ops[i])
		}
	}
	return out
}

func pick[T any](r random, s []T) (T, bool) {
	var zero T
	if len(s) == 0 {
		return zero, false
	}
	return s[r.IntN(len(s))], true
}

func allParts(h *history.History) []*history.PollPart { return polled(h, 1) }

func historyEnd(h *history.History) time.Duration {
	var end time.Duration
	for i := range h.Ops {
		end = max(end, h.Ops[i].Complete)
	}
	return end
}

func finalLeaders(h *history.History) []*history.ReplicaState {
	var out []*history.ReplicaState
	for i := range h.Replicas {
		if h.Replicas[i].Leader && h.Replicas[i].Online {
			out = append(out, &h.Replicas[i])
		}
	}
	return out
}

// someValue returns a value some send or read has, or a fresh one.
func someValue(r random, h *history.History) model.Bytes {
	var vs []model.Bytes
	for _, op := range sendOps(h) {
		vs = append(vs, op.Send.Value)
	}
	if v, ok := pick(r, vs); ok && r.IntN(4) > 0 {
		return v
	}
	return model.Bytes(fmt.Sprintf("w%d", r.IntN(5)))
}

var wildMutations = []func(r random, h *history.History){
	// An operation's times move.
	func(r random, h *history.History) {
		op := &h.Ops[r.IntN(len(h.Ops))]
		ms := time.Millisecond
		op.Invoke = max(0, op.Invoke+time.Duration(r.IntN(61)-30)*ms)
		op.Complete = max(op.Invoke, op.Complete+time.Duration(r.IntN(61)-30)*ms)
	},
	// An operation's interval shrinks to its start or its end.
	func(r random, h *history.History) {
		op := &h.Ops[r.IntN(len(h.Ops))]
		if r.IntN(2) == 0 {
			op.Complete = op.Invoke
		} else {
			op.Invoke = op.Complete
		}
	},
	// A client crashes: its operations open at some time never complete.
	func(r random, h *history.History) {
		end := historyEnd(h)
		client := h.Ops[r.IntN(len(h.Ops))].Client
		at := time.Duration(r.IntN(int(end/time.Millisecond)+1)) * time.Millisecond
		for i := range h.Ops {
			op := &h.Ops[i]
			if op.Client != client || op.Complete <= at || op.Invoke > at {
				continue
			}
			op.Outcome, op.Error, op.Complete = history.Unknown, "", end
			if op.Send != nil {
				op.Send.Offset = -1
			}
		}
	},
	// A send's outcome changes.
	func(r random, h *history.History) {
		op, ok := pick(r, sendOps(h))
		if !ok {
			return
		}
		switch r.IntN(4) {
		case 0:
			op.Outcome, op.Error, op.Send.Offset = history.Unknown, "REQUEST_TIMED_OUT", -1
		case 1:
			op.Outcome, op.Error, op.Send.Offset = history.Fail, "NOT_ENOUGH_REPLICAS", -1
		case 2:
			op.Outcome, op.Error, op.Send.Offset = history.Fail, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", -1
		default:
			op.Outcome, op.Error, op.Send.Offset = history.OK, "", int64(r.IntN(8))
		}
	},
	// A send's offset moves.
	func(r random, h *history.History) {
		op, ok := pick(r, sendOps(h))
		if !ok || op.Send.Offset < 0 {
			return
		}
		op.Send.Offset = max(-1, op.Send.Offset+int64(r.IntN(5)-2))
	},
	// A send's record is another's, or null, or empty.
	func(r random, h *history.History) {
		op, ok := pick(r, sendOps(h))
		if !ok {
			return
		}
		switch r.IntN(4) {
		case 0:
			op.Send.Value = nil
		case 1:
			op.Send.Value = model.Bytes{}
		case 2:
			op.Send.Key = model.Bytes("k")
		default:
			op.Send.Value = someValue(r, h)
		}
	},
	// A poll's records change.
	func(r random, h *history.History) {
		p, ok := pick(r, allParts(h))
		if !ok {
			return
		}
		i := r.IntN(len(p.Records))
		switch r.IntN(7) {
		case 0:
			p.Records = slices.Delete(p.Records, i, i+1)
		case 1:
			p.Records[i].Value = someValue(r, h)
		case 2:
			// Not below -1: porcupine's log model never finds a lower
			// offset, and searches for it for ever.
			p.Records[i].Offset = max(-1, p.Records[i].Offset+int64(r.IntN(3)-1))
		case 3:
			p.Position += int64(r.IntN(3) - 1)
		case 4:
			p.Records = p.Records[:i]
		case 5:
			p.Records = slices.Insert(p.Records, i, p.Records[i])
		default:
			if i > 0 {
				p.Records[i], p.Records[i-1] = p.Records[i-1], p.Records[i]
			}
		}
	},
	// A poll's position is unknown.
	func(r random, h *history.History) {
		if p, ok := pick(r, allParts(h)); ok {
			p.Position = -1
		}
	},
	// A leader's final log changes.
	func(r random, h *history.History) {
		l, ok := pick(r, finalLeaders(h))
		if !ok {
			return
		}
		n := len(l.Records)
		switch r.IntN(6) {
		case 0:
			i := r.IntN(n + 1)
			l.Records, l.LogEndOffset = l.Records[:i], int64(i)
		case 1:
			i := r.IntN(n + 1)
			l.Records, l.LogStartOffset = l.Records[i:], int64(i)
		case 2:
			l.LogEndOffset += int64(r.IntN(3) - 1)
		case 3:
			if n > 0 {
				l.Records[r.IntN(n)].Value = someValue(r, h)
			}
		case 4:
			l.Records = append(l.Records, history.Record{Offset: int64(n), LeaderEpoch: 1, Value: someValue(r, h)})
			l.LogEndOffset = int64(n + 1)
		default:
			l.Online = false
		}
	},
	// An unknown send of a record some read saw.
	func(r random, h *history.History) {
		p, ok := pick(r, allParts(h))
		if !ok {
			return
		}
		rec := p.Records[r.IntN(len(p.Records))]
		at := time.Duration(r.IntN(int(historyEnd(h)/time.Millisecond)+1)) * time.Millisecond
		h.Ops = append(h.Ops, history.Op{ID: int64(len(h.Ops)), Client: "producer-x", Kind: history.KindSend, Invoke: at,
			Complete: at + time.Duration(r.IntN(40))*time.Millisecond, Outcome: history.Unknown, Error: "REQUEST_TIMED_OUT",
			Send: &history.Send{Topic: p.Topic, Partition: p.Partition, Key: rec.Key, Value: rec.Value, Acks: model.AcksAll, Offset: -1}})
	},
}
