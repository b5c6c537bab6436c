package scenarios

import (
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// runTarget is the cluster as a fault schedule's target, able to add
// partitions as an operator's kafka-topics --alter --partitions would,
// recorded in the history as a create-partitions admin operation.
type runTarget struct {
	*cluster.Cluster
	r *run
}

var _ fault.PartitionAdder = runTarget{}

// Resolve implements fault.Target: the cluster's selectors, and clients
// (every client node of the workload).
func (t runTarget) Resolve(sel string) ([]*sim.Node, error) {
	if sel != fault.SelClients {
		return t.Cluster.Resolve(sel)
	}
	return slices.Clone(t.r.clients), nil
}

// addPartitionsTimeout bounds how long the harness's CreatePartitions
// keeps trying (default.api.timeout.ms, as an admin client's).
const addPartitionsTimeout = 60 * time.Second

// AddPartitions implements fault.PartitionAdder: CreatePartitions goes to
// the active controller from the admin node, and is sent again after
// NOT_CONTROLLER or while no controller is active, until the answer
// comes or the timeout passes. The outcome is recorded in the history.
func (t runTarget) AddPartitions(topic string, count int) error {
	r := t.r
	admin := t.AdminNode()
	start := r.sim.Now()
	id := r.rec.InvokeAdmin(start, cluster.AdminNode, 0, history.Admin{Action: "create-partitions", Topic: topic,
		Partition: -1, Partitions: int32(count), Offset: -1})
	done, sent := false, 0
	finish := func(code protocol.ErrorCode, msg string) {
		if done {
			return
		}
		done = true
		now := r.sim.Now()
		switch {
		case code == protocol.None:
			r.rec.AdminOK(id, now, nil)
		case code == protocol.RequestTimedOut || (code == protocol.InvalidPartitions && sent > 1):
			// After a request whose answer never came, the count
			// already reached may be that request's doing.
			r.rec.Unknown(id, now, code.String())
		default:
			r.rec.Fail(id, now, code.String())
		}
		r.sim.Trace().Emitf(admin, "scenario.create-partitions", uint64(code), "%s to %d partitions: %s %s", topic, count, code, msg)
	}
	var attempt func()
	attempt = func() {
		if done {
			return
		}
		if r.sim.Now()-start >= addPartitionsTimeout {
			finish(protocol.RequestTimedOut, fmt.Sprintf("no answer within %v", addPartitionsTimeout))
			return
		}
		ctl := t.ActiveController()
		if ctl == nil || !admin.Up() {
			admin.After(100*time.Millisecond, "scenario.create-partitions-retry", attempt)
			return
		}
		sent++
		req := &protocol.CreatePartitions{CorrelationID: t.NextCorrelation(), Timeout: 30 * time.Second,
			Topics: []protocol.CreatePartitionsTopic{{Name: topic, Count: int32(count)}}}
		err := t.Send(ctl.ID(), req, func(resp protocol.Response) {
			te := protocol.TopicError{Error: protocol.UnknownServerError}
			if m, ok := resp.(*protocol.CreatePartitionsResponse); ok && len(m.Topics) == 1 {
				te = m.Topics[0]
			}
			if te.Error == protocol.NotController {
				admin.After(100*time.Millisecond, "scenario.create-partitions-retry", attempt)
				return
			}
			finish(te.Error, te.Message)
		})
		if err != nil {
			admin.After(100*time.Millisecond, "scenario.create-partitions-retry", attempt)
			return
		}
		// A controller that dies with the request unanswered: ask again.
		admin.After(5*time.Second, "scenario.create-partitions-retry", attempt)
	}
	attempt()
	return nil
}

// partitionCounts gives each of the scenario's topics its largest
// partition count: the one it starts with, or a later add-partitions'.
func partitionCounts(s Scenario, schedule fault.Schedule) map[string]int {
	out := map[string]int{}
	for _, t := range s.Cluster.Topics {
		out[t.Name] = val(t.Partitions)
	}
	for _, f := range schedule {
		if f.Kind == fault.AddPartitions {
			if _, ok := out[f.Topic]; ok {
				out[f.Topic] = max(out[f.Topic], f.Partitions)
			}
		}
	}
	return out
}
