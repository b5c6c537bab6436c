package broker

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/kafkasim/kafkasim/broker/log"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// loadLogs opens every partition log on the disk (LogManager.loadLogs):
// the clean-shutdown marker says whether recovery can be skipped, the
// checkpoints give each log its recovery point and high-water mark.
func (b *Broker) loadLogs() error {
	d := b.n.Disk()
	clean := d.Exists(log.CleanShutdownFile)
	if clean {
		if err := d.Remove(log.CleanShutdownFile); err != nil {
			return err
		}
	}
	hwms, err := log.ReadOffsetCheckpoint(d, log.ReplicationOffsetCheckpoint)
	if err != nil {
		return err
	}
	rps, err := log.ReadOffsetCheckpoint(d, log.RecoveryPointCheckpoint)
	if err != nil {
		return err
	}
	starts, err := log.ReadOffsetCheckpoint(d, log.LogStartOffsetCheckpoint)
	if err != nil {
		return err
	}
	b.lastStarts = starts
	cleaned, err := log.ReadOffsetCheckpoint(d, log.CleanerOffsetCheckpoint)
	if err != nil {
		return err
	}
	for _, tp := range log.Partitions(d) {
		l, info, err := log.Open(d, tp, b.logConfig(), log.OpenOptions{Clean: clean, RecoveryPoint: rps[tp], HighWatermark: hwms[tp],
			LogStartOffset: starts[tp], Now: b.n.Now()})
		if err != nil {
			return err
		}
		if info.Truncated > 0 {
			b.s.Mark("log.recovery.torn-tail")
			b.s.Trace().Emitf(b.n, "log.recovery", sim.Digest(uint64(info.TruncatedFrom), uint64(info.Truncated)),
				"%s: cut %d bytes from offset %d: %s", tp, info.Truncated, info.TruncatedFrom, info.Reason)
			b.observeTruncation(tp, info.TruncatedFrom, -1, "recovery")
		}
		l.SetCleanerCheckpoint(min(cleaned[tp], l.EndOffset()))
		p := newPartition(b, tp)
		p.log = l
		b.partitions.set(tp, p)
	}
	return nil
}

func (b *Broker) logConfig() log.Config {
	return log.Config{FlushIntervalMessages: b.cfg.LogFlushIntervalMessages, LegacyProducerChecks: b.cfg.LegacyProducerChecks,
		KeepHighWatermarkOnFullTruncation: b.cfg.KeepHighWatermarkOnFullTruncation, ProducerStateBeforeAppend: b.cfg.ProducerStateBeforeAppend}
}

// startHighWatermarkCheckpoints writes replication-offset-checkpoint the
// first time the broker acts on partition leadership after it starts, as
// Kafka's replica manager runs its checkpoint task at once when it starts
// it (then every replica.high.watermark.checkpoint.interval.ms). The file
// then holds this incarnation's high-water marks, each at most its
// recovered log's end, instead of a previous incarnation's: a broker that
// lost its unflushed records and crashed again before the next periodic
// checkpoint would otherwise load a mark above records no ISR member has.
func (b *Broker) startHighWatermarkCheckpoints() {
	if b.hwmCheckpoints {
		return
	}
	b.hwmCheckpoints = true
	b.checkpointHighWatermarks()
}

// checkpointHighWatermarks writes replication-offset-checkpoint when a
// high-water mark changed since the last write.
func (b *Broker) checkpointHighWatermarks() {
	hwms := make(map[model.TopicPartition]int64, b.partitions.len())
	for tp, p := range b.partitions.all() {
		if p.log != nil {
			hwms[tp] = p.log.HighWatermark()
		}
	}
	dirty := b.lastHWMs == nil || len(hwms) != len(b.lastHWMs)
	for tp, v := range hwms {
		if old, ok := b.lastHWMs[tp]; !ok || old != v {
			dirty = true
		}
	}
	if !dirty {
		return
	}
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.ReplicationOffsetCheckpoint, hwms); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
		return
	}
	b.lastHWMs = hwms
}

func (b *Broker) recoveryPoints() map[model.TopicPartition]int64 {
	rps := make(map[model.TopicPartition]int64, b.partitions.len())
	for tp, p := range b.partitions.all() {
		if p.log != nil {
			rps[tp] = p.log.RecoveryPoint()
		}
	}
	return rps
}

func (b *Broker) checkpointRecoveryPoints() {
	if err := log.WriteOffsetCheckpoint(b.n.Disk(), log.RecoveryPointCheckpoint, b.recoveryPoints()); err != nil {
		b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%v", err)
	}
}

func (b *Broker) flushLogs() {
	now := b.n.Now()
	for _, tp := range b.sortedPartitions() {
		p := b.partitions.at(tp)
		if p.log != nil && p.log.Unflushed() > 0 && now-p.log.LastFlush() >= b.cfg.LogFlushInterval {
			if err := p.log.Flush(now); err != nil {
				b.s.Trace().Emitf(b.n, "broker.storage-error", 0, "%s: %v", tp, err)
			}
		}
	}
}

// Shutdown is a clean shutdown's disk work: every log flushed and its
// producer state snapshotted, the checkpoints written and the
// clean-shutdown marker left, so that the next start skips recovery. The
// caller then stops the node (Crash).
func (b *Broker) Shutdown() error {
	var errs []error
	now := b.n.Now()
	for _, tp := range b.sortedPartitions() {
		if p := b.partitions.at(tp); p.log != nil {
			errs = append(errs, p.log.Flush(now), p.log.TakeProducerSnapshot())
		}
	}
	b.lastHWMs = nil
	b.checkpointHighWatermarks()
	errs = append(errs, log.WriteOffsetCheckpoint(b.n.Disk(), log.RecoveryPointCheckpoint, b.recoveryPoints()))
	b.checkpointLogStartOffsets(false)
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// The marker holds the broker epoch, which the next incarnation sends
	// as its previous broker epoch (KIP-966).
	return log.WriteFileAtomic(b.n.Disk(), log.CleanShutdownFile, cleanShutdownContent(b.epoch))
}

// readPreviousEpoch reads the broker epoch a clean shutdown left in the
// clean-shutdown file (Kafka writes {"version":0,"brokerEpoch":N} there),
// or -1 when there is none: the previous shutdown was not clean.
func readPreviousEpoch(d *sim.Disk) int64 {
	f, err := d.Open(log.CleanShutdownFile)
	if err != nil {
		return -1
	}
	data, err := f.Bytes()
	if err != nil {
		return -1
	}
	var content struct {
		Version     int   `json:"version"`
		BrokerEpoch int64 `json:"brokerEpoch"`
	}
	if json.Unmarshal(data, &content) != nil || content.Version != 0 {
		return -1
	}
	return content.BrokerEpoch
}

func cleanShutdownContent(epoch int64) []byte {
	return []byte(fmt.Sprintf(`{"version":0,"brokerEpoch":%d}`, epoch))
}
