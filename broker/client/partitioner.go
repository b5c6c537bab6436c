package client

// Murmur2 is the 32-bit MurmurHash2 that Kafka's Java producer applies to
// record keys (seed 0x9747b28c), returned as Java's signed int so that
// values match Kafka's own tests.
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition returns the partition Kafka's default partitioner gives a
// record with a non-null key: the positive part of the key's murmur2 hash
// modulo the number of partitions.
func KeyPartition(key []byte, partitions int) int32 {
	if partitions <= 0 {
		return 0
	}
	return int32(uint32(Murmur2(key)&0x7fffffff) % uint32(partitions))
}
