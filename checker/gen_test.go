package checker_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// random is the source of choices for the generator: rapid (for shrinking)
// or a seeded PCG (for benchmarks).
type random interface{ IntN(n int) int }

type rapidRandom struct{ t *rapid.T }

func (r rapidRandom) IntN(n int) int { return rapid.IntRange(0, n-1).Draw(r.t, "choice") }

func seeded(seed uint64) random { return rand.New(rand.NewPCG(seed, seed^0x5eed)) }

// genConfig shapes a generated history.
type genConfig struct {
	Partitions int
	Producers  int
	Consumers  int
	Ops        int // client operations, roughly
	// Percentages of sends with an unknown outcome, and of sends that
	// fail definitely.
	Unknown, Fail int
	// Acks of every send; Idempotent producers.
	Acks       model.Acks
	Idempotent bool
}

func defaultGen() genConfig {
	return genConfig{Partitions: 2, Producers: 2, Consumers: 2, Ops: 40, Unknown: 10, Fail: 10, Acks: model.AcksAll, Idempotent: true}
}

// plan is one client operation whose effect happens at lin (a point in
// [invoke, complete], or later for an unknown outcome that still took
// effect).
type plan struct {
	op     history.Op
	proc   int
	lin    time.Duration
	effect bool // for unknown and indeterminate outcomes: did it happen?
}

type reference struct {
	logs      map[model.TopicPartition][]history.Record
	committed map[model.TopicPartition]int64
}

type consumer struct {
	name     string
	assigned []model.TopicPartition
	position map[model.TopicPartition]int64
}

// generate runs producers and consumers against a correct reference: one
// log per partition and one committed offset per partition for group g.
// Every history it makes is linearizable and free of anomalies.
func generate(r random, cfg genConfig) *history.History {
	tps := make([]model.TopicPartition, cfg.Partitions)
	for i := range tps {
		tps[i] = model.TopicPartition{Topic: "t", Partition: int32(i)}
	}
	procs := cfg.Producers + cfg.Consumers
	free := make([]time.Duration, procs)
	consumers := make([]*consumer, cfg.Consumers)
	ms := time.Millisecond
	var plans []*plan
	var instants []*plan
	value := 0
	for i := range consumers {
		c := &consumer{name: fmt.Sprintf("consumer-%d", i+1), position: make(map[model.TopicPartition]int64)}
		for j, tp := range tps {
			if j%cfg.Consumers == i {
				c.assigned = append(c.assigned, tp)
			}
		}
		consumers[i] = c
		instants = append(instants, &plan{proc: cfg.Producers + i, op: history.Op{Client: c.name, Kind: history.KindAssign,
			Outcome: history.OK, Membership: &history.Membership{Partitions: slices.Clone(c.assigned)}}})
	}
	for range cfg.Ops {
		p := r.IntN(procs)
		inv := free[p] + time.Duration(r.IntN(20))*ms
		lat := time.Duration(1+r.IntN(30)) * ms
		pl := &plan{proc: p, lin: inv + time.Duration(r.IntN(int(lat/ms)))*ms}
		pl.op = history.Op{Invoke: inv, Complete: inv + lat, Outcome: history.OK}
		free[p] = pl.op.Complete + ms
		if p < cfg.Producers {
			tp := tps[r.IntN(len(tps))]
			pl.op.Client, pl.op.Kind = fmt.Sprintf("producer-%d", p+1), history.KindSend
			pl.op.Send = &history.Send{Topic: tp.Topic, Partition: tp.Partition, Value: model.Bytes(fmt.Sprintf("v%d", value)),
				Acks: cfg.Acks, Idempotent: cfg.Idempotent, Offset: -1}
			value++
			switch x := r.IntN(100); {
			case x < cfg.Unknown:
				pl.op.Outcome, pl.op.Error, pl.effect = history.Unknown, "REQUEST_TIMED_OUT", r.IntN(2) == 0
				if pl.effect && r.IntN(2) == 0 {
					pl.lin = pl.op.Complete + time.Duration(r.IntN(50))*ms // lands after the client gave up
				}
			case x < cfg.Unknown+cfg.Fail/2:
				pl.op.Outcome, pl.op.Error = history.Fail, "NOT_ENOUGH_REPLICAS"
			case x < cfg.Unknown+cfg.Fail:
				pl.op.Outcome, pl.op.Error, pl.effect = history.Fail, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", r.IntN(2) == 0
			}
			plans = append(plans, pl)
			continue
		}
		c := consumers[p-cfg.Producers]
		pl.op.Client = c.name
		switch x := r.IntN(100); {
		case x < 60 || len(c.assigned) == 0:
			pl.op.Kind, pl.op.Poll = history.KindPoll, &history.Poll{Group: "g"}
		case x < 75:
			pl.op.Kind, pl.op.Offsets = history.KindCommit, &history.Offsets{Group: "g", Generation: -1}
			switch y := r.IntN(10); {
			case y == 0:
				pl.op.Outcome, pl.op.Error, pl.effect = history.Unknown, "REQUEST_TIMED_OUT", r.IntN(2) == 0
			case y == 1:
				pl.op.Outcome, pl.op.Error = history.Fail, "REBALANCE_IN_PROGRESS"
			}
		case x < 90:
			pl.op.Kind, pl.op.Offsets = history.KindFetchCommitted, &history.Offsets{Group: "g", Generation: -1}
		default:
			// A seek, at once.
			tp := c.assigned[r.IntN(len(c.assigned))]
			pl.op.Kind, pl.op.Complete, pl.lin = history.KindSeek, inv, inv
			pl.op.Seek = &history.Seek{Topic: tp.Topic, Partition: tp.Partition, Reason: "seek", Offset: -1}
			pl.effect = r.IntN(2) == 0 // to the beginning, or to the end
		}
		plans = append(plans, pl)
	}
	// Apply every effect in linearization order.
	order := slices.Clone(plans)
	slices.SortStableFunc(order, func(a, b *plan) int { return cmp.Compare(a.lin, b.lin) })
	ref := reference{logs: make(map[model.TopicPartition][]history.Record), committed: make(map[model.TopicPartition]int64)}
	for _, pl := range order {
		op := &pl.op
		switch op.Kind {
		case history.KindSend:
			tp := op.Send.TP()
			if op.Outcome == history.OK || pl.effect {
				off := int64(len(ref.logs[tp]))
				ref.logs[tp] = append(ref.logs[tp], history.Record{Offset: off, LeaderEpoch: 1, Value: op.Send.Value})
				if op.Outcome == history.OK {
					op.Send.Offset = off
				}
			}
		case history.KindPoll:
			c := consumers[pl.proc-cfg.Producers]
			for _, tp := range c.assigned {
				pos := c.position[tp]
				log := ref.logs[tp]
				n := min(int64(len(log))-pos, int64(r.IntN(5)))
				part := history.PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: pos}
				if n > 0 {
					part.Records = slices.Clone(log[pos : pos+n])
					c.position[tp] = pos + n
				}
				op.Poll.Parts = append(op.Poll.Parts, part)
			}
		case history.KindCommit:
			c := consumers[pl.proc-cfg.Producers]
			for _, tp := range c.assigned {
				op.Offsets.Offsets = append(op.Offsets.Offsets, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition,
					Offset: c.position[tp], LeaderEpoch: 1})
				if op.Outcome == history.OK || pl.effect {
					ref.committed[tp] = c.position[tp]
				}
			}
		case history.KindFetchCommitted:
			c := consumers[pl.proc-cfg.Producers]
			for _, tp := range c.assigned {
				off, ok := ref.committed[tp]
				if !ok {
					off = -1
				}
				op.Offsets.Offsets = append(op.Offsets.Offsets, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: off, LeaderEpoch: -1})
			}
		case history.KindSeek:
			c := consumers[pl.proc-cfg.Producers]
			tp := op.Seek.TP()
			to := int64(0)
			if !pl.effect {
				to = int64(len(ref.logs[tp]))
			}
			op.Seek.Offset = to
			c.position[tp] = to
		}
	}
	// Number the operations in invocation order.
	all := append(instants, plans...)
	slices.SortStableFunc(all, func(a, b *plan) int { return cmp.Compare(a.op.Invoke, b.op.Invoke) })
	h := &history.History{Header: history.Header{Format: history.FormatName, Version: history.FormatVersion, Seed: 7,
		Replay: "kafkasim replay gen.jsonl", Config: map[string]string{"min.insync.replicas": "2"}}}
	for i, pl := range all {
		pl.op.ID = int64(i)
		pl.op.Process = 0
		h.Ops = append(h.Ops, pl.op)
	}
	// The final state: three in-sync replicas with the whole log committed.
	for _, tp := range tps {
		log := ref.logs[tp]
		h.Partitions = append(h.Partitions, history.PartitionState{TP: tp, Metadata: model.PartitionMetadata{
			Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1, LeaderEpoch: 1, PartitionEpoch: 1}})
		for b := int32(1); b <= 3; b++ {
			h.Replicas = append(h.Replicas, history.ReplicaState{TP: tp, Broker: b, Online: true, Incarnation: 1, Leader: b == 1,
				LeaderEpoch: 1, HighWatermark: int64(len(log)), LogEndOffset: int64(len(log)), Records: slices.Clone(log)})
		}
	}
	return h
}
