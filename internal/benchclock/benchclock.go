// Package benchclock measures the CPU time a benchmark's process spends,
// user and system, including the garbage collector's workers. On a shared,
// loaded machine the wall clock counts the time other programs hold the
// cores; CPU time counts only this process's work, so ratios of two figures
// measured in one run stay honest.
package benchclock

import (
	"syscall"
	"time"
)

// CPU returns the CPU time this process has used so far. Only differences
// between two calls mean anything; the kernel accounts it in ticks, so a
// measured span should be tens of milliseconds or more.
func CPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic("benchclock: getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
