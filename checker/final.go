package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// FinalState checks a history's final cluster state: no two online
// replicas of a partition may disagree below their common high-water mark
// (replica-divergence). In a topic with unclean.leader.election.enable=true
// in the run's configuration (Header.RunConfig), divergence is Expected
// rather than Consistency: an unclean election may elect a replica that
// lacks committed records. The records lost that way stay data-loss
// (lost-write, lost-committed), so that runs with clean and unclean
// elections compare. A transaction left open after its operation ended is
// a hanging transaction.
func FinalState(h *history.History, run Run) []Finding {
	cfg := h.Header.RunConfig()
	why := func(tp model.TopicPartition) string {
		if cfg.Topic(tp.Topic).UncleanLeaderElection {
			return "unclean.leader.election.enable=true allows an out-of-sync replica to lead"
		}
		return ""
	}
	return append(append(divergence(h.Replicas, run, why), compaction(h, run)...), hangingTxns(h, run)...)
}

// compaction checks each compacted final leader's log below its cleaner's
// point (history.ReplicaState.CleanedTo), where offsets are checked by key:
// the latest acknowledged record of every key written there must still be
// there, unless it is a tombstone (the cleaner removes those after
// delete.retention.ms) or a later record of its key is in the log.
// Records above the cleaner's point are checked offset by offset, as in
// any log (lost-write, lost-committed, replica-divergence).
func compaction(h *history.History, run Run) []Finding {
	var fs []Finding
	for _, f := range FinalLogs(h) {
		if f.CleanedTo <= f.LogStartOffset {
			continue
		}
		type sent struct {
			offset int64
			value  model.Bytes
			op     int64
		}
		latest := map[string]sent{}
		for i := range h.Ops {
			op := &h.Ops[i]
			if op.Effective() != history.OK {
				continue
			}
			for _, s := range op.Sends() {
				if s.TP() != f.TP || s.Offset < 0 || s.Key == nil {
					continue
				}
				if l, ok := latest[string(s.Key)]; !ok || s.Offset > l.offset {
					latest[string(s.Key)] = sent{s.Offset, s.Value, op.ID}
				}
			}
		}
		last := map[string]history.Record{}
		for _, r := range f.Records {
			last[string(r.Key)] = r
		}
		var lost []int64
		var values []model.Bytes
		var ops []int64
		for _, k := range slices.Sorted(maps.Keys(latest)) {
			s := latest[k]
			if s.offset < f.LogStartOffset || s.offset >= f.CleanedTo || s.value == nil {
				continue
			}
			if r, ok := last[k]; ok && (r.Offset > s.offset || (r.Offset == s.offset && string(r.Value) == string(s.value))) {
				continue
			}
			lost = append(lost, s.offset)
			values = append(values, s.value)
			ops = append(ops, s.op)
		}
		if len(lost) == 0 {
			continue
		}
		fs = append(fs, Finding{Name: string(CompactionLostKey), Class: DataLoss, TP: f.TP, Offsets: lost, Values: values, Ops: ops,
			Brokers: []int32{f.Broker}, Seed: run.Seed, Replay: run.Replay,
			Message: fmt.Sprintf("the final leader (broker %d) cleaned %s up to offset %d, but the latest acknowledged record of %s is gone (offsets %s)",
				f.Broker, f.TP, f.CleanedTo, plural(len(lost), "key"), offsetRanges(lost))})
	}
	return fs
}

// divergence compares every pair of online replicas of each partition
// below their common high-water mark. expected returns why divergence is
// allowed in a partition, or "".
func divergence(replicas []history.ReplicaState, run Run, expected func(model.TopicPartition) string) []Finding {
	byTP := make(map[model.TopicPartition][]*history.ReplicaState)
	var tps []model.TopicPartition
	for i := range replicas {
		r := &replicas[i]
		if !r.Online {
			continue
		}
		if byTP[r.TP] == nil {
			tps = append(tps, r.TP)
		}
		byTP[r.TP] = append(byTP[r.TP], r)
	}
	slices.SortFunc(tps, model.TopicPartition.Compare)
	var fs []Finding
	for _, tp := range tps {
		rs := byTP[tp]
		slices.SortFunc(rs, func(a, b *history.ReplicaState) int { return int(a.Broker) - int(b.Broker) })
		for i := range rs {
			for j := i + 1; j < len(rs); j++ {
				if f, ok := diverge(rs[i], rs[j]); ok {
					f.Seed, f.Replay = run.Seed, run.Replay
					if why := expected(tp); why != "" {
						f.Class = Expected
						f.Message += "; " + why
					}
					fs = append(fs, f)
				}
			}
		}
	}
	return fs
}

// diverge compares two replicas of one partition below their common
// high-water mark, within both logs.
func diverge(a, b *history.ReplicaState) (Finding, bool) {
	lo := max(a.CheckedFrom(), b.CheckedFrom())
	hi := min(a.HighWatermark, b.HighWatermark, a.LogEndOffset, b.LogEndOffset)
	if lo >= hi {
		return Finding{}, false
	}
	ra, rb := recordsIn(a, lo, hi), recordsIn(b, lo, hi)
	// Only offsets where either replica has a record can differ: walk
	// both, in offset order.
	var differ []int64
	var first [2]*history.Record
	for i, j := 0, 0; i < len(ra) || j < len(rb); {
		var x, y *history.Record
		switch {
		case j == len(rb) || (i < len(ra) && ra[i].Offset < rb[j].Offset):
			x = &ra[i]
			i++
		case i == len(ra) || rb[j].Offset < ra[i].Offset:
			y = &rb[j]
			j++
		default:
			x, y = &ra[i], &rb[j]
			i, j = i+1, j+1
		}
		if x != nil && y != nil && sameRecord(*x, *y) {
			continue
		}
		if len(differ) == 0 {
			first = [2]*history.Record{x, y}
		}
		if x != nil {
			differ = append(differ, x.Offset)
		} else {
			differ = append(differ, y.Offset)
		}
	}
	if len(differ) == 0 {
		return Finding{}, false
	}
	show := func(r *history.Record) string {
		if r == nil {
			return "no record"
		}
		return fmt.Sprintf("%s (epoch %d)", r.Value, r.LeaderEpoch)
	}
	f := Finding{Name: string(ReplicaDivergence), Class: Consistency, TP: a.TP, Offsets: differ, Brokers: []int32{a.Broker, b.Broker},
		Message: fmt.Sprintf("replicas %d and %d disagree at %s below their common high-water mark %d; at offset %d broker %d has %s, broker %d has %s",
			a.Broker, b.Broker, plural(len(differ), "offset"), hi, differ[0], a.Broker, show(first[0]), b.Broker, show(first[1]))}
	for _, r := range first {
		if r != nil {
			f.Values = append(f.Values, r.Value)
		}
	}
	return f, true
}

// recordsIn returns r's records in [lo, hi), sorted by offset, one per
// offset (the last, should a state list one twice).
func recordsIn(r *history.ReplicaState, lo, hi int64) []history.Record {
	out := make([]history.Record, 0, len(r.Records))
	for _, rec := range r.Records {
		if rec.Offset >= lo && rec.Offset < hi {
			out = append(out, rec)
		}
	}
	if !slices.IsSortedFunc(out, byOffset) {
		slices.SortStableFunc(out, byOffset)
	}
	k := 0
	for i, rec := range out {
		if i+1 < len(out) && out[i+1].Offset == rec.Offset {
			continue
		}
		out[k] = rec
		k++
	}
	return out[:k]
}

func byOffset(a, b history.Record) int { return cmp.Compare(a.Offset, b.Offset) }

func sameRecord(a, b history.Record) bool {
	return a.Offset == b.Offset && a.LeaderEpoch == b.LeaderEpoch && a.Key.Equal(b.Key) && a.Value.Equal(b.Value)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
