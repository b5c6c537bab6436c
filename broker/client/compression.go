package client

import "github.com/kafkasim/kafkasim/broker/protocol"

// codec is the producer's compression.type as a batch codec; a config
// built in Go without one compresses nothing, as none does.
func (p *Producer) codec() protocol.Compression {
	c, err := protocol.ParseCompression(p.cfg.CompressionType)
	if err != nil {
		return protocol.CompressionNone
	}
	return c
}
