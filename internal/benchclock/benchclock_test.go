package benchclock_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/internal/benchclock"
)

func TestCPUAdvancesWithWork(t *testing.T) {
	start := benchclock.CPU()
	x := uint64(1)
	for benchclock.CPU()-start <= 0 {
		for i := range 1_000_000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	assert.NotZero(t, x)
	assert.Greater(t, benchclock.CPU(), start, "CPU time must grow while the process computes")
}
