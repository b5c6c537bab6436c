package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/client"
)

// TestMurmur2MatchesKafka checks the values Kafka's own UtilsTest asserts
// for Utils.murmur2, so keyed records land where a Java producer puts them.
func TestMurmur2MatchesKafka(t *testing.T) {
	for key, want := range map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
		"abc": 479470107,
	} {
		assert.Equal(t, want, client.Murmur2([]byte(key)), key)
	}
}

func TestKeyPartitionIsStableAndInRange(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.SliceOf(rapid.Byte()).Draw(t, "key")
		n := rapid.IntRange(1, 100).Draw(t, "partitions")
		p := client.KeyPartition(key, n)
		if p < 0 || int(p) >= n {
			t.Fatalf("partition %d out of [0, %d)", p, n)
		}
		if p != client.KeyPartition(append([]byte(nil), key...), n) {
			t.Fatal("same key, different partition")
		}
	})
	// "abc" hashes to 479470107, which is positive: 479470107 % 3 == 0.
	assert.EqualValues(t, 479470107%3, client.KeyPartition([]byte("abc"), 3))
	// "21" hashes negative: the sign bit is masked off first, as Kafka's toPositive does.
	assert.EqualValues(t, (-973932308&0x7fffffff)%7, client.KeyPartition([]byte("21"), 7))
}
