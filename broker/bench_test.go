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
// partitions by leader), acks=all.
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
	batches  map[model.TopicPartition][]string
}

func (p *steadyProducer) tick() {
	per := max(p.rate*int(p.linger/time.Millisecond)/1000, 1)
	if p.byLeader == nil {
		p.byLeader, p.batches = map[int32]*protocol.Produce{}, map[model.TopicPartition][]string{}
	}
	clear(p.byLeader)
	for tp, vals := range p.batches {
		p.batches[tp] = vals[:0]
	}
	byLeader, order, batches := p.byLeader, p.order[:0], p.batches
	parts := p.e.ctrl.image.Partitions()
	if p.topic != "" {
		parts = slices.DeleteFunc(slices.Clone(parts), func(tp model.TopicPartition) bool { return tp.Topic != p.topic })
	}
	for range per {
		tp := parts[p.next%len(parts)]
		p.next++
		batches[tp] = append(batches[tp], "value-0123456789")
	}
	for _, tp := range parts {
		vals := batches[tp]
		if len(vals) == 0 {
			continue
		}
		reg, _ := p.e.ctrl.image.Partition(tp)
		req, ok := byLeader[reg.Leader]
		if !ok {
			req = &protocol.Produce{CorrelationID: p.e.nextCorr(), Acks: protocol.AcksAll, Timeout: 30 * time.Second}
			byLeader[reg.Leader] = req
			order = append(order, reg.Leader)
		}
		req.Partitions = append(req.Partitions, protocol.ProducePartition{TP: tp,
			Records: protocol.NewRecords(protocol.NoProducer, int64(p.e.s.Now()/time.Millisecond), vals...)})
	}
	for _, id := range order {
		_ = p.e.send(id, byLeader[id])
	}
	p.order = order
	p.e.client.After(p.linger, "producer.linger", p.tick)
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
