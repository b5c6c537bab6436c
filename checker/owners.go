package checker

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// ownersTwice finds a partition two consumers of one group owned as
// members of the same generation: a group's assignment gives each
// partition to one member, and the cooperative protocol hands a partition
// over only in the generation after its owner gave it up. Ownership comes
// from each consumer process's rebalances (assigned, revoked) and its
// generation from its latest one; the other owner must still be running
// (it records an operation after the overlap began), so a process that
// died holding the partition does not count.
func (a *analysis) ownersTwice() []Finding {
	type member struct {
		proc  string
		group string
		id    string
		gen   int32
		owned map[model.TopicPartition]bool
		last  *history.Op // its latest rebalance
	}
	procOf := func(op *history.Op) string { return fmt.Sprintf("%s#%d", op.Client, op.Process) }
	lastSeen := map[string]time.Duration{}
	var rebalances []*history.Op
	for i := range a.h.Ops {
		op := &a.h.Ops[i]
		p := procOf(op)
		lastSeen[p] = max(lastSeen[p], op.Invoke)
		if op.Kind == history.KindRebalance && op.Membership != nil && op.Membership.Group != "" {
			rebalances = append(rebalances, op)
		}
	}
	slices.SortStableFunc(rebalances, func(x, y *history.Op) int { return cmp.Or(cmp.Compare(x.Invoke, y.Invoke), cmp.Compare(x.ID, y.ID)) })
	members := map[string]*member{}
	reported := map[string]bool{}
	var fs []Finding
	for _, op := range rebalances {
		m := op.Membership
		p := procOf(op)
		x := members[p]
		if x == nil {
			x = &member{proc: p, group: m.Group, owned: map[model.TopicPartition]bool{}}
			members[p] = x
		}
		x.id, x.gen, x.last = m.Member, m.Generation, op
		for _, tp := range m.Assigned {
			x.owned[tp] = true
		}
		for _, tp := range m.Revoked {
			delete(x.owned, tp)
		}
		if x.gen < 0 {
			continue
		}
		for _, tp := range slices.SortedFunc(maps.Keys(x.owned), model.TopicPartition.Compare) {
			for _, q := range slices.Sorted(maps.Keys(members)) {
				y := members[q]
				if y == x || y.group != x.group || y.gen != x.gen || y.id == x.id || !y.owned[tp] || lastSeen[q] <= op.Invoke {
					continue
				}
				key := fmt.Sprintf("%s/%s/%d", x.group, tp, x.gen)
				if reported[key] {
					continue
				}
				reported[key] = true
				fs = append(fs, Finding{Name: string(PartitionOwnedTwice), Class: Consistency, TP: tp, Group: x.group,
					Ops: []int64{op.ID, y.last.ID}, At: op.Invoke,
					Message: fmt.Sprintf("%s and %s of group %s both own %s in generation %d (members %s and %s; rebalance ops %d and %d)",
						strings.Split(x.proc, "#")[0], strings.Split(y.proc, "#")[0], x.group, tp, x.gen, x.id, y.id, op.ID, y.last.ID)})
			}
		}
	}
	return fs
}
