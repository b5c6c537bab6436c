package checker

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/model"
)

// ZooKeeper mode's findings, judged from what the run shows after every
// step (the methods below; broker/cluster's ZKChecker calls them):
//
//   - deposed-controller-write: ZooKeeper accepted a partition state
//     written by a controller of epoch E at a zxid after the one that
//     committed a newer controller epoch. Since KAFKA-6082's fix every
//     controller write is a multi that checks /controller_epoch's zkVersion,
//     so it fails once a newer controller was elected; without the fence a
//     controller that lost its session finishes its writes as a zombie.
//   - stale-isr-zkversion: a leader that writes its own ISR changes (before
//     Kafka 2.7) had its conditional write refused a second time on the
//     same cached zkVersion, while ZooKeeper's state of the partition names
//     it leader in the same leader epoch at another zkVersion: nothing will
//     send it a newer state, so its ISR cannot change (KAFKA-1382, seen
//     again as KAFKA-2729 and KAFKA-3042).

// zkState is what the invariants remember of a ZooKeeper-mode run.
type zkState struct {
	epochs map[int32]int64 // controller epoch → the zxid that committed it
	writes map[int32]zkWrite
}

// zkWrite is the latest accepted write of controllers of one epoch.
type zkWrite struct {
	broker  int32
	tp      model.TopicPartition
	version int32
	zxid    int64
}

func (inv *Invariants) zkState() *zkState {
	if inv.zk == nil {
		inv.zk = &zkState{epochs: map[int32]int64{}, writes: map[int32]zkWrite{}}
	}
	return inv.zk
}

// ControllerEpochCommitted tells the invariants that ZooKeeper committed
// controller epoch epoch at zxid.
func (inv *Invariants) ControllerEpochCommitted(epoch int32, zxid int64) {
	z := inv.zkState()
	if _, ok := z.epochs[epoch]; ok {
		return
	}
	z.epochs[epoch] = zxid
	inv.judgeControllerWrites()
}

// ControllerWrite tells the invariants that ZooKeeper accepted a partition
// state written by broker's controller acting in controllerEpoch, at zxid.
func (inv *Invariants) ControllerWrite(broker int32, tp model.TopicPartition, controllerEpoch, zkVersion int32, zxid int64) {
	z := inv.zkState()
	if w, ok := z.writes[controllerEpoch]; ok && w.zxid >= zxid {
		return
	}
	z.writes[controllerEpoch] = zkWrite{broker: broker, tp: tp, version: zkVersion, zxid: zxid}
	inv.judgeControllerWrites()
}

// judgeControllerWrites reports a controller epoch's write that ZooKeeper
// accepted after it committed a newer epoch.
func (inv *Invariants) judgeControllerWrites() {
	z := inv.zk
	for _, e := range slices.Sorted(maps.Keys(z.writes)) {
		w := z.writes[e]
		for _, newer := range slices.Sorted(maps.Keys(z.epochs)) {
			at := z.epochs[newer]
			if newer <= e || at >= w.zxid {
				continue
			}
			inv.report(fmt.Sprintf("%s/%d", DeposedControllerWrite, e), Finding{Name: string(DeposedControllerWrite), Class: Invariant,
				TP: w.tp, Brokers: []int32{w.broker},
				Message: fmt.Sprintf("broker %d's controller of epoch %d wrote %s's state (zkVersion %d) at zxid 0x%x, after ZooKeeper committed controller epoch %d at zxid 0x%x: a deposed controller's write was accepted (its writes are not fenced by /controller_epoch's zkVersion: KAFKA-6082)",
					w.broker, e, w.tp, w.version, w.zxid, newer, at)})
			break
		}
	}
}

// ISRWriteRefused tells the invariants that ZooKeeper refused a leader's
// conditional ISR write: broker leads tp in leaderEpoch with cached
// zkVersion cachedZkVersion, refused failures times in a row at that
// version; ZooKeeper's state of tp names zkLeader in zkLeaderEpoch at
// zkVersion (zkLeader -1: unknown).
func (inv *Invariants) ISRWriteRefused(broker int32, tp model.TopicPartition, leaderEpoch, cachedZkVersion int32, failures int, zkLeader, zkLeaderEpoch, zkVersion int32) {
	if failures < 2 || zkLeader != broker || zkLeaderEpoch != leaderEpoch || zkVersion == cachedZkVersion {
		return
	}
	inv.report(fmt.Sprintf("%s/%s/%d/%d", StaleISRZkVersion, tp, broker, leaderEpoch), Finding{Name: string(StaleISRZkVersion), Class: Invariant,
		TP: tp, Brokers: []int32{broker},
		Message: fmt.Sprintf("leader %d of %s (leader epoch %d) had its ISR write refused %d times on its cached zkVersion %d, while ZooKeeper's state names it leader in leader epoch %d at zkVersion %d: its cached zkVersion is stale and nothing will refresh it, so the ISR cannot change (KAFKA-1382)",
			broker, tp, leaderEpoch, failures, cachedZkVersion, zkLeaderEpoch, zkVersion)})
}
