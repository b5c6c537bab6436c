package broker

import (
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// topicLogConfig reads a topic's log configuration (segments, retention,
// compaction) from the metadata image: the topic's own configs, else the
// cluster-wide defaults, else Kafka's.
func (b *Broker) topicLogConfig(topic string) log.TopicConfig {
	c := log.DefaultTopicConfig()
	num := func(name string, dst *int64) {
		if v, ok := b.image.TopicConfig(topic, name); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				*dst = n
			}
		}
	}
	num("segment.bytes", &c.SegmentBytes)
	num("segment.ms", &c.SegmentMs)
	num("retention.ms", &c.RetentionMs)
	num("retention.bytes", &c.RetentionBytes)
	num("delete.retention.ms", &c.DeleteRetentionMs)
	num("min.compaction.lag.ms", &c.MinCompactionLagMs)
	if v, ok := b.image.TopicConfig(topic, "min.cleanable.dirty.ratio"); ok {
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			c.MinCleanableDirtyRatio = f
		}
	}
	if v, ok := b.image.TopicConfig(topic, "cleanup.policy"); ok {
		c.Delete, c.Compact = strings.Contains(v, "delete"), strings.Contains(v, "compact")
	}
	if c.Validate() != nil {
		// The controller validated every config it accepted; a value it
		// did not (an older image) leaves Kafka's defaults.
		return log.DefaultTopicConfig()
	}
	return c
}

// refreshLogConfigs gives the logs of changed partitions, and of topics
// whose configs (or the cluster defaults) changed, their topic's log
// configuration.
func (b *Broker) refreshLogConfigs(d *metadata.Delta) {
	all := false
	topics := map[string]bool{}
	for _, k := range d.Configs {
		switch k.Type {
		case metadata.TopicResource:
			topics[k.Resource] = true
		case metadata.BrokerResource:
			all = all || k.Resource == ""
		}
	}
	for _, tp := range d.Partitions {
		topics[tp.Topic] = true
	}
	for _, tp := range b.sortedPartitions() {
		if p := b.partitions.at(tp); p.log != nil && (all || topics[tp.Topic]) {
			p.log.SetTopicConfig(b.topicLogConfig(tp.Topic))
		}
	}
}

// maybeCleanupLogs runs the log manager's retention pass once every
// log.retention.check.interval.ms (Kafka's cleanupLogs), on leaders and
// followers alike: each log deletes the segments retention or a moved log
// start offset made deletable. It runs from the high-water-mark
// checkpoint tick, so the check happens on the first tick after the
// interval.
func (b *Broker) maybeCleanupLogs() {
	now := b.n.Now()
	if now-b.lastRetention < b.cfg.LogRetentionCheckInterval {
		return
	}
	b.lastRetention = now
	for _, tp := range b.sortedPartitions() {
		p := b.partitions.at(tp)
		if p.log == nil {
			continue
		}
		dels, err := p.log.DeleteOldSegments(now.Milliseconds(), now)
		if err != nil {
			p.emit("broker.storage-error", 0, "retention: %v", err)
		}
		for _, d := range dels {
			b.s.Mark("log.retention." + string(d.Reason))
			p.emit("log.retention", sim.Digest(uint64(d.From), uint64(d.To)), "deleted %d segments (%d bytes) by %s: log start offset %d -> %d",
				d.Segments, d.Bytes, d.Reason, d.From, d.To)
			b.observeLogStart(tp, d.From, d.To, string(d.Reason))
		}
		if len(dels) > 0 {
			p.changed()
		}
	}
}

// logStartOffsets returns the log start offset of every log whose start is
// above its first segment's base: what log-start-offset-checkpoint holds.
func (b *Broker) logStartOffsets() map[model.TopicPartition]int64 {
	out := map[model.TopicPartition]int64{}
	for tp, p := range b.partitions.all() {
		if p.log == nil {
			continue
		}
		if segs := p.log.Segments(); len(segs) > 0 && p.log.StartOffset() > segs[0].BaseOffset {
			out[tp] = p.log.StartOffset()
		}
	}
	return out
}

// checkpointLogStartOffsets writes log-start-offset-checkpoint when it
// would change (Kafka writes it every
// log.flush.start.offset.checkpoint.interval.ms, 60 s, with the recovery
// points).
func (b *Broker) checkpointLogStartOffsets(force bool) {
	starts := b.logStartOffsets()
	if !force && len(starts) == len(b.lastStarts) {
		same := true
		for tp, v := range starts {
			if old, ok := b.lastStarts[tp]; !ok || old != v {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	if len(starts) == 0 && !b.n.Disk().Exists(log.LogStartOffsetCheckpoint) {
		b.lastStarts = starts
		return
	}
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.LogStartOffsetCheckpoint, starts); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
		return
	}
	b.lastStarts = starts
}

// followLogStart moves a follower's log start offset up to the leader's
// (from a fetch response), bounded by its own high-water mark.
func (p *partition) followLogStart(leaderStart int64) bool {
	from := p.log.StartOffset()
	if !p.log.MaybeIncrementLogStartOffset(leaderStart) {
		return false
	}
	p.b.s.Mark("broker.follower.log-start-offset")
	p.b.observeLogStart(p.tp, from, p.log.StartOffset(), "leader-log-start-offset")
	return true
}

// startAt empties a follower's log and starts it at the leader's log start
// offset (Kafka's truncateFullyAndStartAt): its log ends below what the
// leader still holds, so fetching cannot catch it up.
func (p *partition) startAt(offset int64) {
	oldStart, oldEnd := p.log.StartOffset(), p.log.EndOffset()
	if err := p.log.TruncateFullyAndStartAt(offset, p.b.n.Now()); err != nil {
		p.emit("broker.storage-error", 0, "truncate fully: %v", err)
		return
	}
	p.b.s.Mark("broker.truncate.fully-and-start-at")
	p.emit("broker.truncate", sim.Digest(uint64(offset), uint64(oldEnd)), "log [%d, %d) is below the leader's log start offset: starts again at %d", oldStart, oldEnd, offset)
	p.b.observeLogStart(p.tp, oldStart, offset, "truncate-fully")
	p.changed()
}

// maybeCleanLogs runs the log cleaner once every log.cleaner.backoff.ms
// (from the high-water-mark checkpoint tick) on every log, leader or
// follower, whose cleanup.policy includes compact: each replica compacts
// its own log, as Kafka's cleaner threads do. After a cleaning the
// cleaner-offset-checkpoint file is written.
func (b *Broker) maybeCleanLogs() {
	now := b.n.Now()
	if now-b.lastClean < b.cfg.LogCleanerBackoff {
		return
	}
	b.lastClean = now
	cleaned := false
	for _, tp := range b.sortedPartitions() {
		p := b.partitions.at(tp)
		if p.log == nil || !p.log.TopicConfig().Compact {
			continue
		}
		res, ok, err := p.log.Clean(now.Milliseconds())
		if err != nil {
			p.emit("broker.storage-error", 0, "log cleaner: %v", err)
			continue
		}
		if !ok {
			continue
		}
		cleaned = true
		b.s.Mark("log.cleaner.cleaned")
		if res.Tombstones > 0 {
			b.s.Mark("log.cleaner.tombstones-removed")
		}
		p.emit("log.cleaner", sim.Digest(uint64(res.FirstDirty), uint64(res.End)), "cleaned [%d, %d) at dirty ratio %.2f: %d -> %d bytes, %d records removed (%d tombstones)",
			res.FirstDirty, res.End, res.DirtyRatio, res.BytesBefore, res.BytesAfter, res.Removed, res.Tombstones)
		p.changed()
	}
	if cleaned {
		b.checkpointCleanerOffsets()
	}
}

// checkpointCleanerOffsets writes cleaner-offset-checkpoint: how far the
// cleaner has cleaned each compacted log.
func (b *Broker) checkpointCleanerOffsets() {
	offsets := map[model.TopicPartition]int64{}
	for tp, p := range b.partitions.all() {
		if p.log != nil && p.log.CleanerCheckpoint() > 0 {
			offsets[tp] = p.log.CleanerCheckpoint()
		}
	}
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.CleanerOffsetCheckpoint, offsets); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
	}
}
