package props_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/props"
)

// TestValuesByRole: compression.type accepts a producer's codecs from a
// producer and a topic's (with producer and uncompressed) from a topic,
// each with its own default, and says what the role accepts.
func TestValuesByRole(t *testing.T) {
	_, err := props.Parse(props.Producer, "compression.type", "zstd")
	require.NoError(t, err)
	_, err = props.Parse(props.Producer, "compression.type", "producer")
	assert.EqualError(t, err, "invalid value producer for configuration compression.type: expected one of none, gzip, snappy, lz4, zstd")
	_, err = props.Parse(props.Topic, "compression.type", "none")
	assert.EqualError(t, err, "invalid value none for configuration compression.type: expected one of uncompressed, zstd, lz4, snappy, gzip, producer")
	v, err := props.Parse(props.Topic, "compression.type", "producer")
	require.NoError(t, err)
	assert.Equal(t, "producer", v.String())
	p, ok := props.Lookup("compression.type")
	require.True(t, ok)
	assert.Equal(t, "none", p.For(props.Producer).Default)
	assert.Equal(t, "producer", p.For(props.Topic).Default)
	assert.Contains(t, p.Accepted(), "producer: one of none, gzip, snappy, lz4, zstd")
}
