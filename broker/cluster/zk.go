package cluster

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// zkImageKey says which tree the cached ZooKeeper-mode image was built
// from.
type zkImageKey struct {
	node sim.NodeID
	zxid zookeeper.Zxid
	boot uint32
}

// addZooKeepers adds the ensemble's nodes, z1..zN, and returns them in
// myid order: zookeeper.connect for the brokers.
func (c *Cluster) addZooKeepers() ([]sim.NodeID, error) {
	ensemble := map[int64]sim.NodeID{}
	var out []sim.NodeID
	for i := range c.cfg.ZooKeepers {
		myid := int64(i + 1)
		cfg := c.cfg.ZooKeeper
		net := c.net
		n, err := c.s.AddNode("z"+strconv.Itoa(i+1), func(n *sim.Node) any {
			srv, err := zookeeper.NewServer(cfg, zookeeper.Setup{Node: n, ID: myid, Servers: ensemble,
				Send: func(to sim.NodeID, m network.Message) { net.Send(n.ID(), to, m) }})
			if err != nil {
				// A data directory ZooKeeper cannot load: the server does
				// not start, as ZooKeeper's would not.
				n.Sim().Trace().Emitf(n, "zk.start-failed", 0, "%v", err)
				return &deadServer{}
			}
			return srv
		})
		if err != nil {
			return nil, err
		}
		ensemble[myid] = n.ID()
		c.zkNodes = append(c.zkNodes, n)
		out = append(out, n.ID())
	}
	return out, nil
}

// deadServer stands for a ZooKeeper server that refused to start.
type deadServer struct{}

func (*deadServer) Receive(sim.NodeID, network.Message) {}

// ZooKeeperNames returns the ZooKeeper servers' node names (z1, z2, ...),
// none in KRaft mode.
func (c *Cluster) ZooKeeperNames() []string {
	out := make([]string, len(c.zkNodes))
	for i, n := range c.zkNodes {
		out[i] = n.Name()
	}
	return out
}

// ZooKeeperNodes returns the ensemble's nodes, in myid order.
func (c *Cluster) ZooKeeperNodes() []*sim.Node { return slices.Clone(c.zkNodes) }

// ZooKeeperServer returns the running server of z<myid>, or nil.
func (c *Cluster) ZooKeeperServer(myid int) *zookeeper.Server {
	if myid < 1 || myid > len(c.zkNodes) {
		return nil
	}
	n := c.zkNodes[myid-1]
	if !n.Up() {
		return nil
	}
	srv, _ := n.Process().(*zookeeper.Server)
	return srv
}

// ZKLeader returns the node of the ensemble's established leader, or nil.
func (c *Cluster) ZKLeader() *sim.Node {
	var best *sim.Node
	var bestEpoch int64 = -1
	for i, n := range c.zkNodes {
		srv := c.ZooKeeperServer(i + 1)
		if srv == nil || srv.State() != zookeeper.Leading {
			continue
		}
		if e, ok := srv.Established(); ok && e > bestEpoch && n.State() == sim.Up {
			best, bestEpoch = n, e
		}
	}
	return best
}

// ZKController returns, in ZooKeeper mode, the broker that runs the active
// controller of the newest controller epoch, or nil while there is none.
// A running broker wins over a paused one.
func (c *Cluster) ZKController() *broker.Broker {
	var best *broker.Broker
	var bestEpoch int32 = -1
	bestUp := false
	for _, id := range c.brokerIDs {
		b := c.Broker(id)
		if b == nil {
			continue
		}
		epoch, active := b.ZKControllerEpoch()
		if !active {
			continue
		}
		up := b.Node().State() == sim.Up
		if best == nil || (up && !bestUp) || (up == bestUp && epoch > bestEpoch) {
			best, bestEpoch, bestUp = b, epoch, up
		}
	}
	return best
}

// zkMetadata is Metadata in ZooKeeper mode: the image of the controller's
// state in ZooKeeper (broker.ZKImage), built from the data tree of the
// ensemble's established leader, which holds exactly the committed
// transactions, and rebuilt when it moves on. Without an established
// leader nothing commits, and the last image stands.
func (c *Cluster) zkMetadata() *metadata.Image {
	n := c.ZKLeader()
	if n == nil {
		return c.lastImage
	}
	tree := n.Process().(*zookeeper.Server).Tree()
	key := zkImageKey{node: n.ID(), zxid: tree.LastProcessedZxid(), boot: n.Incarnation()}
	if key == c.zkImage {
		return c.lastImage
	}
	c.zkImage = key
	c.lastImage = broker.ZKImage(tree)
	return c.lastImage
}

// zkReadiness says what keeps a ZooKeeper-mode cluster from being ready:
// no active controller, or a running broker not registered in its current
// session or not yet told of the active controller's epoch.
func (c *Cluster) zkReadiness() string {
	ctl := c.ZKController()
	if ctl == nil {
		return "no active controller"
	}
	epoch, _ := ctl.ZKControllerEpoch()
	im := c.Metadata()
	for _, id := range c.brokerIDs {
		b := c.Broker(id)
		if b == nil {
			continue
		}
		reg, ok := im.Broker(id)
		if !b.ZKRegistered() || !ok || reg.Epoch != b.BrokerEpoch() {
			return fmt.Sprintf("broker %d is not registered in ZooKeeper", id)
		}
		if e, _ := b.ZKControllerEpoch(); e < epoch && b != ctl {
			return fmt.Sprintf("broker %d has not heard from the controller of epoch %d", id, epoch)
		}
	}
	return ""
}
