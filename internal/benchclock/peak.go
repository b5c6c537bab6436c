package benchclock

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Peak measures the memory a span of a benchmark needed at its highest: a
// goroutine of its own samples the runtime's heap every millisecond, so
// that the code measured is left exactly as it is (a simulation stays on
// its one goroutine and its trace hash does not change).
type Peak struct {
	stop chan struct{}
	done chan struct{}
	// heap is the largest heap seen, in bytes of objects (live, or dead
	// and not yet swept); live the largest live heap a collection marked.
	heap, live uint64
}

// peakMetrics are the samples a Peak reads: heap objects, live heap.
var peakMetrics = []string{"/memory/classes/heap/objects:bytes", "/gc/heap/live:bytes"}

// StartPeak starts measuring; it also resets the process's peak resident
// set where the kernel allows it (see PeakRSS).
func StartPeak() *Peak {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // resets VmHWM (Linux 4.0 on)
	p := &Peak{stop: make(chan struct{}), done: make(chan struct{})}
	samples := make([]metrics.Sample, len(peakMetrics))
	for i, name := range peakMetrics {
		samples[i].Name = name
	}
	read := func() {
		metrics.Read(samples)
		if samples[0].Value.Kind() == metrics.KindUint64 {
			p.heap = max(p.heap, samples[0].Value.Uint64())
		}
		if samples[1].Value.Kind() == metrics.KindUint64 {
			p.live = max(p.live, samples[1].Value.Uint64())
		}
	}
	read()
	go func() {
		defer close(p.done)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				read()
				return
			case <-t.C:
				read()
			}
		}
	}()
	return p
}

// Stop ends the measurement and returns the largest heap seen (objects,
// live or not yet swept) and the largest live heap a garbage collection
// marked, in bytes.
func (p *Peak) Stop() (heap, live uint64) {
	close(p.stop)
	<-p.done
	return p.heap, p.live
}

// PeakRSS returns the process's peak resident set in bytes since it
// started or since the last StartPeak (where the kernel lets a process
// reset it), or 0 where the system does not say.
func PeakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
