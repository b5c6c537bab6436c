package client_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// Whatever its rate, keys, stop time and producer settings, a producer
// driver sends values "<node>:0", "<node>:1", ... in order, keyed records
// to their murmur2 partition, with gaps of 0.5 to 1.5 times 1/rate, none
// after its stop time, and ends drained with every send acknowledged.
func TestProducerDriverProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.Int32Range(1, 6).Draw(t, "partitions")
		rate := rapid.Float64Range(5, 500).Draw(t, "rate")
		keys := rapid.IntRange(0, 20).Draw(t, "keys")
		until := time.Duration(rapid.IntRange(100, 2000).Draw(t, "until-ms")) * time.Millisecond
		props := map[string]string{
			"linger.ms":  strconv.Itoa(rapid.IntRange(0, 50).Draw(t, "linger")),
			"batch.size": strconv.Itoa(rapid.IntRange(100, 20000).Draw(t, "batch")),
			"acks":       rapid.SampledFrom([]string{"all", "1"}).Draw(t, "acks"),
		}
		fc := newFakeCluster(t, 2, map[string]int32{"t": parts})
		w := client.ProducerWorkload{Topic: "t", Rate: rate, Keys: keys, Until: until, Properties: props}
		d, err := client.NewProducerDriver(fc.env(), w)
		if err != nil {
			t.Fatalf("workload %+v: %v", w, err)
		}
		n, _ := fc.s.AddNode("producer-1", d.Boot)
		_ = n.Start()
		fc.runUntil(until+time.Minute, d.Drained, "the driver drains")

		ops := sends(fc.history(), "producer-1")
		mean := time.Duration(float64(time.Second) / rate)
		for i, op := range ops {
			if got := string(op.Send.Value); got != fmt.Sprintf("producer-1:%d", i) {
				t.Fatalf("send %d has value %s", i, got)
			}
			if op.Outcome != history.OK {
				t.Fatalf("%s: not acknowledged", op.String())
			}
			if op.Invoke >= until {
				t.Fatalf("%s: sent after the stop time %v", op.String(), until)
			}
			if keys == 0 && op.Send.Key != nil || keys > 0 && !strings.HasPrefix(string(op.Send.Key), "key-") {
				t.Fatalf("%s: key %v with %d keys", op.String(), op.Send.Key, keys)
			}
			if keys > 0 && op.Send.Partition != client.KeyPartition(op.Send.Key, int(parts)) {
				t.Fatalf("%s: key %s belongs to partition %d", op.String(), op.Send.Key, client.KeyPartition(op.Send.Key, int(parts)))
			}
			if i > 0 {
				gap := op.Invoke - ops[i-1].Invoke
				if gap < mean/2-time.Microsecond || gap > mean*3/2+time.Microsecond {
					t.Fatalf("gap %v between sends %d and %d: want %v to %v", gap, i-1, i, mean/2, mean*3/2)
				}
			}
		}
		if want := float64(until) / float64(mean); float64(len(ops)) > 2*want+1 || float64(len(ops)) < want/1.5-1 {
			t.Fatalf("%d sends in %v at %v/s", len(ops), until, rate)
		}
		if st := d.Stats(); st.Sent != len(ops) || st.OK != len(ops) || d.Pending() != 0 {
			t.Fatalf("stats %+v, pending %d, for %d sends", st, d.Pending(), len(ops))
		}
	})
}

// However many consumers a group has and however many partitions the
// topic, consumer drivers in a group end drained with every acknowledged
// record read by one of them, and a commit of every partition.
func TestConsumerGroupDriversReadEverything(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := rapid.Int32Range(1, 6).Draw(t, "partitions")
		consumers := rapid.IntRange(1, 4).Draw(t, "consumers")
		assignor := rapid.SampledFrom([]string{"range", "roundrobin", "cooperative-sticky"}).Draw(t, "assignor")
		commitEvery := rapid.IntRange(0, 3).Draw(t, "commit-every")
		fc := newFakeCluster(t, 2, map[string]int32{"t": parts})
		p, err := client.NewProducerDriver(fc.env(), client.ProducerWorkload{Topic: "t", Rate: 100, Keys: 7, Until: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		pn, _ := fc.s.AddNode("producer-1", p.Boot)
		_ = pn.Start()
		props := map[string]string{"group.id": "g", "auto.offset.reset": "earliest", "partition.assignment.strategy": assignor,
			"auto.commit.interval.ms": "500"}
		var ds []*client.ConsumerDriver
		for i := range consumers {
			d, err := client.NewConsumerDriver(fc.env(), client.ConsumerWorkload{Topics: []string{"t"}, CommitEvery: commitEvery, Properties: props})
			if err != nil {
				t.Fatal(err)
			}
			n, _ := fc.s.AddNode(fmt.Sprintf("consumer-%d", i+1), d.Boot)
			_ = n.Start()
			ds = append(ds, d)
		}
		all := func() bool {
			for _, d := range ds {
				if !d.Drained() {
					return false
				}
			}
			return p.Drained()
		}
		fc.runUntil(2*time.Minute, all, "the drivers drain")
		fc.run(2 * time.Second) // the last commits land
		h := fc.history()
		read := map[string]bool{}
		owners := map[model.TopicPartition]int{}
		for i, d := range ds {
			for v := range polled(h, fmt.Sprintf("consumer-%d", i+1)) {
				read[v] = true
			}
			for _, tp := range d.Consumer().Assignment() {
				owners[tp]++
			}
		}
		for _, op := range sends(h, "producer-1") {
			if !read[string(op.Send.Value)] {
				t.Fatalf("%s was acknowledged and never read", op.String())
			}
		}
		if len(owners) != int(parts) {
			t.Fatalf("owned partitions %v: want all %d, each once", owners, parts)
		}
		for tp, n := range owners {
			if n != 1 {
				t.Fatalf("%s owned by %d consumers", tp, n)
			}
		}
		committed := map[model.TopicPartition]bool{}
		for _, op := range h.Ops {
			if op.Kind == history.KindCommit && op.Outcome == history.OK {
				for _, o := range op.Offsets.Offsets {
					committed[o.TP()] = true
				}
			}
		}
		if len(committed) != int(parts) {
			t.Fatalf("commits cover %d partitions of %d", len(committed), parts)
		}
	})
}
