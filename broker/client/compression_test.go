package client_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

// Compression end to end on real brokers: the producer compresses its
// batches with its compression.type; a topic whose compression.type is
// producer keeps them, one that names a codec (or uncompressed) has the
// leader rebuild them; every replica stores the leader's bytes, the
// consumer reads the records and headers sent, and a compressible
// workload takes fewer bytes on disk than uncompressed.
func TestCompressionEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		producer, topic string
		stored          protocol.Compression
	}{
		{"zstd", "", protocol.CompressionZstd},
		{"gzip", "producer", protocol.CompressionGzip},
		{"snappy", "lz4", protocol.CompressionLZ4},
		{"lz4", "uncompressed", protocol.CompressionNone},
		{"none", "gzip", protocol.CompressionGzip},
		{"none", "", protocol.CompressionNone},
	} {
		t.Run(tc.producer+"-"+tc.topic, func(t *testing.T) {
			rc := newRealCluster(t, 11, 3)
			topic := cluster.Topic{Name: "t", Partitions: 1, ReplicationFactor: 3, Configs: map[string]string{}}
			if tc.topic != "" {
				topic.Configs["compression.type"] = tc.topic
			}
			require.NoError(t, rc.c.CreateTopic(topic, 10*time.Second))
			pcfg, err := client.ParseProducerConfig(map[string]string{"client.id": "p", "compression.type": tc.producer, "linger.ms": "50"})
			require.NoError(t, err)
			var p *client.Producer
			pn, err := rc.s.AddNode("p", func(n *sim.Node) any {
				p, err = client.NewProducer(n, rc.env(), pcfg)
				require.NoError(t, err)
				return &client.Process{Producer: p}
			})
			require.NoError(t, err)
			require.NoError(t, pn.Start())
			headers := []model.RecordHeader{{Key: "trace", Value: model.Bytes("id-1")}, {Key: "null"}}
			const n = 50
			acked := 0
			rc.await("sends", func(done func()) {
				for i := range n {
					p.SendRecord(client.ProducerRecord{Topic: "t", Key: []byte(fmt.Sprintf("k%d", i%5)),
						Value: []byte(strings.Repeat("compressible ", 8) + fmt.Sprint(i)), Headers: headers}, func(r client.SendResult) {
						require.Equal(t, history.OK, r.Outcome)
						if acked++; acked == n {
							done()
						}
					})
				}
			})
			tp := model.TopicPartition{Topic: "t", Partition: 0}
			ok, err := rc.s.RunUntilTrue(rc.s.Now()+10*time.Second, func() bool {
				for _, r := range rc.c.View().Replicas(tp) {
					if r.LogEndOffset() < n {
						return false
					}
				}
				return true
			})
			require.NoError(t, err)
			require.True(t, ok, "every replica has the records")
			var sizes []int
			for _, id := range rc.c.BrokerIDs() {
				r, ok := rc.c.Broker(id).Partition(tp)
				require.True(t, ok)
				size := 0
				for _, bi := range r.Log().BatchInfos() {
					assert.Equal(t, tc.stored, bi.Header.Compression(), "broker %d stores %s batches", id, tc.stored)
					size += bi.Header.Size()
				}
				sizes = append(sizes, size)
				for o := range int64(n) {
					e, ok := r.Entry(o)
					require.True(t, ok)
					assert.Equal(t, headers, e.Headers)
					assert.True(t, strings.HasPrefix(string(e.Value), "compressible "))
				}
			}
			assert.Equal(t, sizes[0], sizes[1], "replicas store the leader's bytes")
			if tc.stored != protocol.CompressionNone {
				assert.Less(t, sizes[0], n*60, "compressed batches take less than the records' %d bytes", n*110)
			} else {
				assert.Greater(t, sizes[0], n*110)
			}
			if (tc.topic == "" || tc.topic == "producer") != (rc.s.Marked("broker.produce.recompressed") == 0) {
				t.Errorf("recompressed %d times with topic compression.type %q and producer %s", rc.s.Marked("broker.produce.recompressed"), tc.topic, tc.producer)
			}
		})
	}
}
