package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// createPartitions is the history's action name of a partition increase.
const createPartitions = "create-partitions"

// increase is one partition increase the history records: a
// create-partitions operation that succeeded, or whose outcome is unknown.
type increase struct {
	op *history.Op
	to int32
}

// keyMoves finds keys that a partition increase sent to another
// partition (key-moved): the default partitioner hashes a key over the
// partition count, so once partitions are added a key's later records
// may land in another partition than its earlier ones, and Kafka orders
// records within a partition only: a consumer may read the later record
// first. One finding per key and increase, for keys whose acknowledged
// sends stayed in one partition before the increase and left it after.
// The increase allows it: the finding is Expected.
func (a *analysis) keyMoves() []Finding {
	incs := map[string][]increase{}
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		if op.Kind == history.KindAdmin && op.Admin != nil && op.Admin.Action == createPartitions && op.Outcome != history.Fail {
			incs[op.Admin.Topic] = append(incs[op.Admin.Topic], increase{op, op.Admin.Partitions})
		}
	}
	if len(incs) == 0 {
		return nil
	}
	type keyID struct {
		topic string
		key   vkey
	}
	byKey := map[keyID][]sendRef{}
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		for _, s := range op.Sends() {
			if s.Key == nil || s.Partition < 0 || len(incs[s.Topic]) == 0 {
				continue
			}
			if r := (sendRef{op, s}); a.acked(r) {
				k := keyID{s.Topic, vkey(s.Key)}
				byKey[k] = append(byKey[k], r)
			}
		}
	}
	var fs []Finding
	for _, k := range slices.SortedFunc(maps.Keys(byKey), func(x, y keyID) int {
		return cmp.Or(cmp.Compare(x.topic, y.topic), cmp.Compare(x.key, y.key))
	}) {
		refs := byKey[k]
		slices.SortStableFunc(refs, func(x, y sendRef) int {
			return cmp.Or(cmp.Compare(x.op.Invoke, y.op.Invoke), cmp.Compare(x.op.ID, y.op.ID))
		})
		reported := map[*history.Op]bool{}
		for i := 1; i < len(refs); i++ {
			prev, cur := refs[i-1], refs[i]
			if prev.s.Partition == cur.s.Partition {
				continue
			}
			inc, ok := increaseBefore(incs[k.topic], cur.op.Invoke)
			if !ok || reported[inc.op] || !stayed(refs[:i], prev.s.Partition, inc.op.Invoke) {
				continue
			}
			reported[inc.op] = true
			fs = append(fs, Finding{Name: string(KeyMoved), Class: Expected, TP: prev.s.TP(), Offsets: []int64{prev.s.Offset},
				Values: []model.Bytes{prev.s.Value, cur.s.Value}, Ops: []int64{prev.op.ID, cur.op.ID, inc.op.ID}, At: cur.op.Invoke,
				Message: fmt.Sprintf("key %s moved from %s (offset %d, op %d) to %s (offset %d, op %d) after a partition increase raised %s to %d partitions (op %d at %v): Kafka orders records within a partition only, so a consumer may read the later record first; the partition increase allows it, no guarantee broke",
					model.Bytes(k.key), prev.s.TP(), prev.s.Offset, prev.op.ID, cur.s.TP(), cur.s.Offset, cur.op.ID, k.topic, inc.to, inc.op.ID, inc.op.Invoke)})
		}
	}
	return fs
}

// increaseBefore returns the latest increase invoked before at: producers
// learn of it from their metadata, up to metadata.max.age.ms later.
func increaseBefore(incs []increase, at time.Duration) (increase, bool) {
	var out increase
	found := false
	for _, inc := range incs {
		if inc.op.Invoke <= at && (!found || inc.op.Invoke >= out.op.Invoke) {
			out, found = inc, true
		}
	}
	return out, found
}

// stayed reports whether every send before the increase went to partition
// p: the key was placed by its hash, not spread by another partitioner.
func stayed(refs []sendRef, p int32, before time.Duration) bool {
	for _, r := range refs {
		if r.op.Invoke < before && r.s.Partition != p {
			return false
		}
	}
	return true
}
