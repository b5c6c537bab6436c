package checker

import (
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// The persistent log finds every offset it holds, and no other, along any
// chain of appends, and equal logs compare equal whatever their sharing.
func TestLogNodeFind(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 300).Draw(t, "n")
		head := emptyLog
		var offsets []int64
		var values []int32
		off := int64(-1)
		for i := range n {
			off += rapid.Int64Range(1, 3).Draw(t, "gap")
			head = head.push(off, int32(i))
			offsets = append(offsets, off)
			values = append(values, int32(i))
		}
		require.Equal(t, int32(n), head.depth)
		for i, o := range offsets {
			got := head.find(o)
			require.NotNil(t, got, "offset %d", o)
			require.Equal(t, values[i], got.value)
		}
		for o := int64(0); o <= off+2; o++ {
			if _, found := slicesIndex(offsets, o); !found {
				require.Nil(t, head.find(o), "offset %d is not in the log", o)
			}
		}
		// A copy built separately is equal and hashes the same.
		other := emptyLog
		for i, o := range offsets {
			other = other.push(o, values[i])
		}
		require.True(t, logEqual(head, other))
		require.Equal(t, head.hash, other.hash)
		if n > 0 {
			diff := head.parent.push(head.offset, head.value+1)
			require.False(t, logEqual(head, diff))
		}
	})
}

func slicesIndex(s []int64, v int64) (int, bool) {
	for i, x := range s {
		if x == v {
			return i, true
		}
	}
	return -1, false
}
