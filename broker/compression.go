package broker

import (
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// compressForTopic applies the topic's compression.type to a producer's
// records before the leader appends them, as Kafka's log validation
// does: producer (the default) keeps the producer's batches as they came;
// uncompressed or a codec rebuilds every batch whose codec differs.
func (b *Broker) compressForTopic(topic string, r protocol.Records) (protocol.Records, error) {
	v, ok := b.image.TopicConfig(topic, controller.CompressionTypeConfig)
	if !ok {
		return r, nil
	}
	c, recompress, err := protocol.TopicCompression(v)
	if err != nil || !recompress {
		return r, nil
	}
	out, err := protocol.Recompress(r, c)
	if err == nil && len(out) > 0 && &out[0] != &r[0] {
		b.s.Mark("broker.produce.recompressed")
	}
	return out, err
}
