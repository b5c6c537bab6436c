package coord_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/coord"
)

// Java's String.hashCode values, as any JVM computes them.
func TestJavaHashCode(t *testing.T) {
	assert.Equal(t, int32(0), coord.JavaHashCode(""))
	assert.Equal(t, int32(99162322), coord.JavaHashCode("hello"))
	assert.Equal(t, int32(-1<<31), coord.JavaHashCode("polygenelubricants"))
	assert.Equal(t, int32(-862545276), coord.JavaHashCode("Hello World"))
	// Characters outside the BMP count as two UTF-16 code units.
	assert.Equal(t, int32(31*0xd83d+0xde00), coord.JavaHashCode("😀"))
}

func TestPartitionFor(t *testing.T) {
	assert.EqualValues(t, 99162322%50, coord.PartitionFor("hello", 50))
	assert.EqualValues(t, 862545276%50, coord.PartitionFor("Hello World", 50), "abs of a negative hash")
	assert.EqualValues(t, 0, coord.PartitionFor("polygenelubricants", 50), "Utils.abs(Integer.MIN_VALUE) is 0")
	assert.EqualValues(t, 0, coord.PartitionFor("hello", 0), "no partitions")
	rapid.Check(t, func(t *rapid.T) {
		key := rapid.String().Draw(t, "key")
		n := rapid.Int32Range(1, 200).Draw(t, "partitions")
		if p := coord.PartitionFor(key, n); p < 0 || p >= n {
			t.Fatalf("partition %d out of [0, %d)", p, n)
		}
	})
}

func TestOwned(t *testing.T) {
	o := coord.NewOwned("__transaction_state", 3)
	_, err := o.Electing(3, 0)
	require.ErrorContains(t, err, "partition 3 of __transaction_state, which has partitions 0 to 2")
	_, err = o.Electing(-1, 0)
	require.Error(t, err)

	load, err := o.Electing(1, 4)
	require.NoError(t, err)
	require.True(t, load)
	o.Add(1, 4)
	assert.True(t, o.Owns(1))
	assert.False(t, o.Owns(0))
	load, _ = o.Electing(1, 3)
	assert.False(t, load, "an election older than the one loaded is ignored")
	load, _ = o.Electing(1, 4)
	assert.True(t, load, "the same epoch loads again")

	key := "hello" // partition 99162322 % 3 = 1
	p, epoch, ok := o.Owner(key)
	assert.Equal(t, []any{int32(1), int32(4), true}, []any{p, epoch, ok})
	assert.Equal(t, 1, o.Len())
	assert.True(t, o.Remove(1))
	assert.False(t, o.Remove(1))
	_, _, ok = o.Owner(key)
	assert.False(t, ok)
	assert.Equal(t, 0, o.Len())
}

func TestMoveOf(t *testing.T) {
	assert.Equal(t, coord.Load, coord.MoveOf(false, true, true, 0, 0), "became leader")
	assert.Equal(t, coord.Load, coord.MoveOf(true, true, true, 1, 2), "leads at a new epoch")
	assert.Equal(t, coord.Stay, coord.MoveOf(true, true, true, 2, 2), "same leadership")
	assert.Equal(t, coord.Stay, coord.MoveOf(false, true, false, 0, 0), "no log to load from")
	assert.Equal(t, coord.Unload, coord.MoveOf(true, false, true, 2, 3), "lost leadership")
	assert.Equal(t, coord.Stay, coord.MoveOf(false, false, true, 2, 3), "never led")
}
