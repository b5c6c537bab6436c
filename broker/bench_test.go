package broker_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// steadyProducer sends rate records per second, batched every linger, one
// Produce per leader broker per linger (as Kafka's producer groups
// partitions by leader), acks=all. It reuses a request once its response
// arrived (protocol.Produce.Reset), as a pooling client does.
type steadyProducer struct {
	e      *env
	linger time.Duration
	rate   int
	next   int
	acked  int
	// topic, when set, is the only topic written to.
	topic string
	// kept between ticks, so that the producer's own allocations are its
	// messages
	byLeader map[int32]*protocol.Produce
	order    []int32
	batches  map[model.TopicPartition][][]byte
	parts    []model.TopicPartition
	// requests whose response arrived, ready for reuse, and those sent
	free, inflight []*protocol.Produce
	tickFn         func() // p.tick, made once
}

// value is every record's value.
var value = []byte("value-0123456789")

func (p *steadyProducer) tick() {
	per := max(p.rate*int(p.linger/time.Millisecond)/1000, 1)
	if p.byLeader == nil {
		p.byLeader, p.batches = map[int32]*protocol.Produce{}, map[model.TopicPartition][][]byte{}
	}
	clear(p.byLeader)
	for tp, vals := range p.batches {
		p.batches[tp] = vals[:0]
	}
	sent := p.inflight[:0]
	for _, req := range p.inflight {
		if _, answered := p.e.responses[req.CorrelationID]; answered {
			delete(p.e.responses, req.CorrelationID)
			p.free = append(p.free, req)
		} else {
			sent = append(sent, req)
		}
	}
	p.inflight = sent
	byLeader, order, batches := p.byLeader, p.order[:0], p.batches
	parts := p.e.ctrl.image.Partitions()
	if p.topic != "" {
		p.parts = append(p.parts[:0], parts...)
		parts = slices.DeleteFunc(p.parts, func(tp model.TopicPartition) bool { return tp.Topic != p.topic })
	}
	for range per {
		tp := parts[p.next%len(parts)]
		p.next++
		batches[tp] = append(batches[tp], value)
	}
	for _, tp := range parts {
		vals := batches[tp]
		if len(vals) == 0 {
			continue
		}
		reg, _ := p.e.ctrl.image.Partition(tp)
		req, ok := byLeader[reg.Leader]
		if !ok {
			if n := len(p.free); n > 0 {
				req = p.free[n-1]
				p.free = p.free[:n-1]
				req.Reset()
			} else {
				req = &protocol.Produce{}
			}
			req.CorrelationID, req.Acks, req.Timeout = p.e.nextCorr(), protocol.AcksAll, 30*time.Second
			byLeader[reg.Leader] = req
			order = append(order, reg.Leader)
		}
		req.AppendPartition(tp, protocol.NoProducer, int64(p.e.s.Now()/time.Millisecond), vals)
	}
	for _, id := range order {
		_ = p.e.send(id, byLeader[id])
		p.inflight = append(p.inflight, byLeader[id])
	}
	p.order = order
	if p.tickFn == nil {
		p.tickFn = p.tick
	}
	p.e.client.After(p.linger, "producer.linger", p.tickFn)
}

// newBenchCluster is 3 brokers, 3 partitions with replication factor 3
// (leaders spread), and a steady acks=all producer.
func newBenchCluster(b *testing.B, linger time.Duration) (*env, *steadyProducer) {
	e, err := newEnv(envOptions{seed: 1, brokers: 3, jitter: 100 * time.Microsecond})
	if err != nil {
		b.Fatal(err)
	}
	e.quiet = true
	if err := e.ctrl.createTopic("t", [][]int32{{1, 2, 3}, {2, 3, 1}, {3, 1, 2}}, nil); err != nil {
		b.Fatal(err)
	}
	p := &steadyProducer{e: e, linger: linger, rate: 1000}
	e.client.After(0, "producer.linger", p.tick)
	return e, p
}

// BenchmarkSteadyAcksAll runs a 3-broker, 3-partition, RF=3 cluster under
// a steady 1,000 records/s with acks=all. One iteration is one simulated
// second; every 100 simulated seconds a fresh cluster starts (so memory
// stays bounded). Reported: simulated seconds per wall second and kernel
// events per wall second.
//
//	go test ./broker -run '^$' -bench SteadyAcksAll -benchmem
func BenchmarkSteadyAcksAll(b *testing.B) {
	for _, linger := range []time.Duration{5 * time.Millisecond, 100 * time.Millisecond} {
		b.Run(fmt.Sprintf("linger=%v", linger), func(b *testing.B) {
			var e *env
			var events uint64
			var acked int
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%100 == 0 {
					if e != nil {
						events += e.s.Steps()
						acked += len(e.obs.acked)
					}
					b.StopTimer()
					e, _ = newBenchCluster(b, linger)
					events -= e.s.Steps()
					b.StartTimer()
				}
				if err := e.s.RunFor(time.Second); err != nil {
					b.Fatal(err)
				}
			}
			events += e.s.Steps()
			acked += len(e.obs.acked)
			wall := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/wall, "sim-s/s")
			b.ReportMetric(float64(events)/wall, "events/s")
			b.ReportMetric(float64(acked)/float64(b.N), "acked-batches/sim-s")
		})
	}
}
