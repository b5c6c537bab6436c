package cluster

import (
	"fmt"
	"strings"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
)

// Describe returns the cluster as an operator would read it: the
// controllers (which is active, in which quorum epoch, at which committed
// offset), the brokers (running or down, their registration), and every
// partition's committed state (leader, epochs, replicas, ISR, ELR).
func (c *Cluster) Describe() string {
	var b strings.Builder
	im := c.Metadata()
	for _, id := range c.controllerIDs {
		n := c.nodes[id]
		ctl := c.Controller(id)
		switch {
		case ctl == nil:
			fmt.Fprintf(&b, "controller %s (%d): down\n", n.Name(), id)
		default:
			role := "standby"
			if ctl.Active() {
				role = "active"
			}
			if n.State().String() == "paused" {
				role += ", paused"
			}
			epoch := int32(-1)
			if r := ctl.Raft(); r != nil {
				epoch = r.Epoch()
			}
			fmt.Fprintf(&b, "controller %s (%d): %s, quorum epoch %d, committed offset %d\n", n.Name(), id, role, epoch, ctl.Committed().Offset())
		}
	}
	for i, n := range c.zkNodes {
		srv := c.ZooKeeperServer(i + 1)
		if srv == nil {
			fmt.Fprintf(&b, "zookeeper %s (myid %d): down\n", n.Name(), i+1)
			continue
		}
		fmt.Fprintf(&b, "zookeeper %s (myid %d): %s, last zxid %s\n", n.Name(), i+1, srv.State(), srv.LastZxid())
	}
	if c.cfg.ZK() {
		if ctl := c.ZKController(); ctl != nil {
			epoch, _ := ctl.ZKControllerEpoch()
			fmt.Fprintf(&b, "controller: broker %s, controller epoch %d\n", ctl.Node().Name(), epoch)
		} else {
			b.WriteString("controller: none\n")
		}
	}
	for _, id := range c.brokerIDs {
		n := c.nodes[id]
		fmt.Fprintf(&b, "broker %s (%d): ", n.Name(), id)
		if bk := c.Broker(id); bk != nil {
			fmt.Fprintf(&b, "%s", bk.Lifecycle())
		} else {
			b.WriteString("down")
		}
		if reg, ok := im.Broker(id); ok {
			fmt.Fprintf(&b, ", registered epoch %d %s", reg.Epoch, registrationState(reg))
		} else {
			b.WriteString(", not registered")
		}
		b.WriteByte('\n')
	}
	for _, tp := range im.Partitions() {
		p, _ := im.Partition(tp)
		fmt.Fprintf(&b, "%s: %s\n", tp, DescribePartition(p))
	}
	return b.String()
}

func registrationState(reg metadata.BrokerRegistration) string {
	switch {
	case reg.InControlledShutdown && reg.Fenced:
		return "fenced (controlled shutdown)"
	case reg.InControlledShutdown:
		return "controlled-shutdown"
	case reg.Fenced:
		return "fenced"
	}
	return "unfenced"
}

// DescribePartition formats a partition's committed state on one line.
func DescribePartition(p *metadata.Partition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "leader=%d leader-epoch=%d partition-epoch=%d replicas=%v isr=%v", p.Leader, p.LeaderEpoch, p.PartitionEpoch,
		p.Replicas, p.ISR)
	if len(p.ELR) > 0 {
		fmt.Fprintf(&b, " elr=%v", p.ELR)
	}
	if len(p.LastKnownELR) > 0 {
		fmt.Fprintf(&b, " last-known-leader=%v", p.LastKnownELR)
	}
	if p.LeaderRecoveryState == protocol.Recovering {
		b.WriteString(" RECOVERING")
	}
	return b.String()
}
