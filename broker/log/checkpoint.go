package log

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// Broker-level files, named as Kafka names them in a log directory.
const (
	// ReplicationOffsetCheckpoint holds every partition's high-water mark,
	// written every replica.high.watermark.checkpoint.interval.ms.
	ReplicationOffsetCheckpoint = "replication-offset-checkpoint"
	// RecoveryPointCheckpoint holds every partition's recovery point (the
	// offset below which the log is known flushed), written every
	// log.flush.offset.checkpoint.interval.ms.
	RecoveryPointCheckpoint = "recovery-point-offset-checkpoint"
	// CleanShutdownFile marks a clean shutdown: on startup its presence
	// lets the broker skip recovery.
	CleanShutdownFile = ".kafka_cleanshutdown"
	// LeaderEpochCheckpoint is each partition's epoch cache file.
	LeaderEpochCheckpoint = "leader-epoch-checkpoint"
	// LogStartOffsetCheckpoint holds the log start offset of every
	// partition whose start retention or DeleteRecords moved above its
	// first segment's base offset, written every
	// log.flush.start.offset.checkpoint.interval.ms.
	LogStartOffsetCheckpoint = "log-start-offset-checkpoint"
	// CleanerOffsetCheckpoint holds, per compacted partition, the offset
	// up to which the log cleaner has cleaned it.
	CleanerOffsetCheckpoint = "cleaner-offset-checkpoint"
	// SegmentFile is the first segment of a new partition (base offset 0).
	SegmentFile = "00000000000000000000.log"
)

// Dir returns the name prefix of a partition's files ("topic-partition/").
func Dir(tp model.TopicPartition) string { return tp.String() + "/" }

// WriteOffsetCheckpoint writes offsets per partition in Kafka's checkpoint
// format (version 0, a count, then "topic partition offset" lines, sorted),
// atomically.
func WriteOffsetCheckpoint(d *sim.Disk, name string, offsets map[model.TopicPartition]int64) error {
	var b strings.Builder
	fmt.Fprintf(&b, "0\n%d\n", len(offsets))
	for _, tp := range slices.SortedFunc(maps.Keys(offsets), model.TopicPartition.Compare) {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, offsets[tp])
	}
	return WriteFileAtomic(d, name, []byte(b.String()))
}

// ReadOffsetCheckpoint reads a file written by WriteOffsetCheckpoint. A
// missing file is an empty checkpoint.
func ReadOffsetCheckpoint(d *sim.Disk, name string) (map[model.TopicPartition]int64, error) {
	out := make(map[model.TopicPartition]int64)
	f, err := d.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := f.Bytes()
	if err != nil {
		return nil, err
	}
	lines, err := checkpointLines(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s: entry %d %q: want \"topic partition offset\"", name, i+1, l)
		}
		p, err1 := strconv.ParseInt(f[1], 10, 32)
		o, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || p < 0 {
			return nil, fmt.Errorf("%s: entry %d %q: want a partition number and an offset", name, i+1, l)
		}
		out[model.TopicPartition{Topic: f[0], Partition: int32(p)}] = o
	}
	return out, nil
}

// Partitions returns the partitions that have a log on the disk, sorted.
func Partitions(d *sim.Disk) []model.TopicPartition {
	var out []model.TopicPartition
	for _, name := range d.List("") {
		dir, file, ok := strings.Cut(name, "/")
		if _, seg := parseSegmentName(file); !ok || !seg || (len(out) > 0 && out[len(out)-1].String() == dir) {
			continue
		}
		i := strings.LastIndexByte(dir, '-')
		if i <= 0 {
			continue
		}
		p, err := strconv.ParseInt(dir[i+1:], 10, 32)
		if err != nil || p < 0 {
			continue
		}
		out = append(out, model.TopicPartition{Topic: dir[:i], Partition: int32(p)})
	}
	slices.SortFunc(out, model.TopicPartition.Compare)
	return out
}
