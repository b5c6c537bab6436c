package checker

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// committedTxnAborted finds records of committed transactions that were
// aborted (KAFKA-17754): a transactional operation whose commit was
// acknowledged wrote a record at an offset, and a read_committed poll (a
// transactional operation's) read past that offset — it returned a later
// record of the partition, starting at or below it — without returning
// it. A read_committed consumer skips only aborted records and markers,
// so the record was aborted although its transaction committed. (The
// reverse, an aborted transaction's record read, is G1a.)
func committedTxnAborted(h *history.History, run Run) []Finding {
	type sent struct {
		offset int64
		value  model.Bytes
		op     int64
	}
	committed := map[model.TopicPartition][]sent{}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindTxn || op.Outcome != history.OK {
			continue
		}
		for _, s := range op.Sends() {
			if s.Offset >= 0 {
				committed[s.TP()] = append(committed[s.TP()], sent{s.Offset, s.Value, op.ID})
			}
		}
	}
	if len(committed) == 0 {
		return nil
	}
	for _, ss := range committed {
		slices.SortFunc(ss, func(a, b sent) int { return int(a.offset - b.offset) })
	}
	type skip struct {
		sent
		poll int64
		at   time.Duration
	}
	skipped := map[model.TopicPartition]map[int64]skip{}
	// passed notes the committed sends in [from, to) of tp as read past
	// by poll op.
	passed := func(tp model.TopicPartition, from, to int64, op *history.Op) {
		ss := committed[tp]
		j, _ := slices.BinarySearchFunc(ss, from, func(s sent, o int64) int { return int(s.offset - o) })
		for ; j < len(ss) && ss[j].offset < to; j++ {
			if skipped[tp] == nil {
				skipped[tp] = map[int64]skip{}
			}
			if _, seen := skipped[tp][ss[j].offset]; !seen {
				skipped[tp][ss[j].offset] = skip{ss[j], op.ID, op.Complete}
			}
		}
	}
	type reader struct {
		client string
		tp     model.TopicPartition
	}
	end := map[reader]int64{} // where each reader's last poll left it
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindTxn {
			continue
		}
		for _, p := range op.PollParts() {
			if len(committed[p.TP()]) == 0 || p.Position < 0 {
				continue
			}
			rd := reader{op.Client, p.TP()}
			// A poll that starts beyond where the last one left the
			// reader passed over what lies between (an empty poll moves
			// a read_committed position past aborted records too).
			if last, ok := end[rd]; ok && p.Position > last {
				passed(p.TP(), last, p.Position, op)
			}
			from := p.Position
			for _, r := range p.Records {
				passed(p.TP(), from, r.Offset, op)
				from = max(from, r.Offset+1)
			}
			end[rd] = from
		}
	}
	var fs []Finding
	for _, tp := range slices.SortedFunc(maps.Keys(skipped), model.TopicPartition.Compare) {
		var offsets []int64
		var values []model.Bytes
		var ops []int64
		var poll int64
		var at time.Duration
		for i, o := range slices.Sorted(maps.Keys(skipped[tp])) {
			s := skipped[tp][o]
			offsets, values = append(offsets, o), append(values, s.value)
			if !slices.Contains(ops, s.op) {
				ops = append(ops, s.op)
			}
			if i == 0 {
				poll, at = s.poll, s.at
			}
		}
		fs = append(fs, Finding{Name: string(CommittedTxnAborted), Class: Consistency, TP: tp, Offsets: offsets, Values: values,
			Ops: append(ops, poll), At: at, Seed: run.Seed, Replay: run.Replay,
			Message: fmt.Sprintf("%s of committed transactions (operations %v) at offsets %s of %s were aborted: read_committed polls (the first, operation %d) read past them without returning them",
				plural(len(offsets), "record"), ops, offsetRanges(offsets), tp, poll)})
	}
	return fs
}
