package log

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// EpochEntry is one entry of the leader-epoch cache: the first offset
// written in a leader epoch (KIP-101).
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

// epochCache is a replica's leader epoch → start offset map, mirrored in
// the partition's leader-epoch-checkpoint file.
type epochCache struct {
	entries []EpochEntry // ascending in both epoch and start offset
}

// assign records that epoch starts at offset, as Kafka's
// LeaderEpochFileCache.assign does: entries that would break monotonicity
// (an epoch at or above it, or a start offset at or above its own) are
// removed first. It reports whether the cache changed.
func (c *epochCache) assign(epoch int32, offset int64) bool {
	if epoch < 0 {
		return false
	}
	if n := len(c.entries); n > 0 {
		last := c.entries[n-1]
		if last.Epoch == epoch && last.StartOffset <= offset {
			return false
		}
	}
	keep := c.entries[:0]
	for _, e := range c.entries {
		if e.Epoch < epoch && e.StartOffset < offset {
			keep = append(keep, e)
		}
	}
	c.entries = append(keep, EpochEntry{Epoch: epoch, StartOffset: offset})
	return true
}

// latest returns the latest epoch, or NoEpoch.
func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return protocol.NoEpoch
	}
	return c.entries[len(c.entries)-1].Epoch
}

// truncateFromEnd removes the entries that start at or after endOffset.
func (c *epochCache) truncateFromEnd(endOffset int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= endOffset {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// endOffsetFor answers OffsetsForLeaderEpoch for requested, given the log
// end offset, as Kafka's LeaderEpochFileCache.endOffsetFor does: the
// largest epoch at or below requested and the start offset of the next
// higher epoch (the log end offset for the latest epoch); the requested
// epoch itself when it is below every known epoch; NoEpoch/NoOffset when
// it is above every known epoch or undefined.
func (c *epochCache) endOffsetFor(requested int32, leo int64) (int32, int64) {
	if requested == protocol.NoEpoch || len(c.entries) == 0 {
		return protocol.NoEpoch, protocol.NoOffset
	}
	if c.latest() == requested {
		return requested, leo
	}
	// higher: the first entry with an epoch above requested.
	hi := -1
	for i, e := range c.entries {
		if e.Epoch > requested {
			hi = i
			break
		}
	}
	if hi < 0 {
		return protocol.NoEpoch, protocol.NoOffset
	}
	if hi == 0 {
		return requested, c.entries[0].StartOffset
	}
	return c.entries[hi-1].Epoch, c.entries[hi].StartOffset
}

// legacyEndOffsetFor is Kafka 0.11–1.x's answer (before KIP-279): only an
// end offset — the log end offset for the latest epoch, else the start of
// the first higher epoch — and NoOffset when the requested epoch is below
// the first known epoch or above the latest.
func (c *epochCache) legacyEndOffsetFor(requested int32, leo int64) int64 {
	if requested == protocol.NoEpoch || len(c.entries) == 0 {
		return protocol.NoOffset
	}
	if c.latest() == requested {
		return leo
	}
	if requested < c.entries[0].Epoch {
		return protocol.NoOffset
	}
	for _, e := range c.entries {
		if e.Epoch > requested {
			return e.StartOffset
		}
	}
	return protocol.NoOffset
}

func (c *epochCache) encode() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.StartOffset)
	}
	return []byte(b.String())
}

func decodeEpochs(b []byte) ([]EpochEntry, error) {
	lines, err := checkpointLines(b)
	if err != nil {
		return nil, err
	}
	out := make([]EpochEntry, 0, len(lines))
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 {
			return nil, fmt.Errorf("entry %d %q: want \"epoch offset\"", i+1, l)
		}
		e, err1 := strconv.ParseInt(f[0], 10, 32)
		o, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || e < 0 || o < 0 {
			return nil, fmt.Errorf("entry %d %q: want two non-negative integers", i+1, l)
		}
		if n := len(out); n > 0 && (int32(e) <= out[n-1].Epoch || o < out[n-1].StartOffset) {
			return nil, fmt.Errorf("entry %d %q is not above the previous one", i+1, l)
		}
		out = append(out, EpochEntry{Epoch: int32(e), StartOffset: o})
	}
	return out, nil
}

// checkpointLines parses Kafka's checkpoint file framing: a version line
// (0), a count line, then count entry lines.
func checkpointLines(b []byte) ([]string, error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 2 {
		return nil, fmt.Errorf("%d lines, a checkpoint has at least a version and a count", len(lines))
	}
	if lines[0] != "0" {
		return nil, fmt.Errorf("version %q, this build reads version 0", lines[0])
	}
	n, err := strconv.Atoi(lines[1])
	if err != nil || n < 0 {
		return nil, fmt.Errorf("count %q is not a non-negative integer", lines[1])
	}
	if len(lines)-2 != n {
		return nil, fmt.Errorf("count says %d entries, the file has %d", n, len(lines)-2)
	}
	return lines[2:], nil
}

// WriteFileAtomic writes a checkpoint file as Kafka does: to name.tmp,
// fsync, then rename over name.
func WriteFileAtomic(d *sim.Disk, name string, content []byte) error {
	tmp := name + ".tmp"
	f, err := d.Create(tmp)
	if err != nil {
		return err
	}
	if err := f.WriteAt(content, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return d.Rename(tmp, name)
}
