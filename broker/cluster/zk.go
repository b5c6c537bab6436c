package cluster

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/model"
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

// ZKLeader returns the node of the ensemble's established leader, or nil:
// a running server that leads the newest epoch any server has reached (a
// deposed leader that was paused, and still believes it leads an older
// epoch, is not the ensemble's leader).
func (c *Cluster) ZKLeader() *sim.Node {
	var newest int64 = -1
	for i := range c.zkNodes {
		if srv := c.ZooKeeperServer(i + 1); srv != nil {
			newest = max(newest, srv.CurrentEpoch(), srv.AcceptedEpoch())
		}
	}
	for i, n := range c.zkNodes {
		srv := c.ZooKeeperServer(i + 1)
		if srv == nil || srv.State() != zookeeper.Leading || n.State() != sim.Up {
			continue
		}
		if e, ok := srv.Established(); ok && e >= newest {
			return n
		}
	}
	return nil
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

// ZKChecker checks, after every step of a ZooKeeper-mode run, ZooKeeper's
// invariants (zookeeper.Checker: one leader per epoch, one history,
// committed transactions never lost, ephemerals of live sessions only) and
// the ZooKeeper-mode controller's: one active controller per controller
// epoch, and no broker acting on a controller epoch ZooKeeper never
// committed.
type ZKChecker struct {
	c        *Cluster
	zk       *zookeeper.Checker
	maxEpoch int32
	sink     ZKSink
	epochs   map[int32]bool
	cursors  map[*broker.Broker][2]int // writes and ISR failures read so far
}

// ZKSink is told, after each step of a ZooKeeper-mode run, what the
// controller's findings are judged from: each controller epoch ZooKeeper
// committed (the value of /controller_epoch and the zxid that wrote it,
// as the ensemble's established leader holds it), each partition state a
// broker's controller wrote and ZooKeeper accepted, and each conditional
// ISR write of a leader that ZooKeeper refused, with the partition state
// ZooKeeper holds (leader -1 when it holds none).
type ZKSink interface {
	ControllerEpochCommitted(epoch int32, zxid int64)
	ControllerWrite(broker int32, tp model.TopicPartition, controllerEpoch, zkVersion int32, zxid int64)
	ISRWriteRefused(broker int32, tp model.TopicPartition, leaderEpoch, cachedZkVersion int32, failures int, zkLeader, zkLeaderEpoch, zkVersion int32)
}

// NewZKChecker returns the checker of a ZooKeeper-mode cluster; sink, if
// not nil, is told what each step showed.
func (c *Cluster) NewZKChecker(sink ZKSink) *ZKChecker {
	return &ZKChecker{c: c, zk: zookeeper.NewChecker(), sink: sink, epochs: map[int32]bool{}, cursors: map[*broker.Broker][2]int{}}
}

// Check checks the invariants now.
func (k *ZKChecker) Check() error {
	c := k.c
	servers := make([]*zookeeper.Server, len(c.zkNodes))
	for i := range c.zkNodes {
		servers[i] = c.ZooKeeperServer(i + 1)
	}
	if err := k.zk.Check(servers); err != nil {
		return fmt.Errorf("zookeeper: %w", err)
	}
	var tree *zookeeper.DataTree
	if n := c.ZKLeader(); n != nil {
		tree = n.Process().(*zookeeper.Server).Tree()
		if data, st, ok := tree.Get(broker.ZKControllerEpochPath); ok {
			if e, err := strconv.Atoi(string(data)); err == nil {
				k.maxEpoch = max(k.maxEpoch, int32(e))
				if k.sink != nil && !k.epochs[int32(e)] {
					k.epochs[int32(e)] = true
					k.sink.ControllerEpochCommitted(int32(e), int64(st.Mzxid))
				}
			}
		}
	}
	if k.sink != nil {
		k.observe(tree)
	}
	active := map[int32]int32{}
	for _, id := range c.brokerIDs {
		n := c.nodes[id]
		if n.State() == sim.Down {
			continue
		}
		b, ok := n.Process().(*broker.Broker)
		if !ok {
			continue
		}
		epoch, isActive := b.ZKControllerEpoch()
		if epoch > k.maxEpoch {
			return fmt.Errorf("zookeeper-mode controller: broker %d acts on controller epoch %d, which ZooKeeper never committed (newest %d)", id, epoch, k.maxEpoch)
		}
		if !isActive {
			continue
		}
		if other, dup := active[epoch]; dup {
			return fmt.Errorf("zookeeper-mode controller: brokers %d and %d are both active controllers of epoch %d", other, id, epoch)
		}
		active[epoch] = id
	}
	return nil
}

// observe tells the sink of the controller writes and refused ISR writes
// each running broker made since the last step.
func (k *ZKChecker) observe(tree *zookeeper.DataTree) {
	c := k.c
	for _, id := range c.brokerIDs {
		b := c.Broker(id)
		if b == nil {
			continue
		}
		cur := k.cursors[b]
		writes, fails := b.ZKControllerWrites(), b.ZKISRWriteFailures()
		if cur[0] == len(writes) && cur[1] == len(fails) {
			continue
		}
		if len(k.cursors) > 4*len(c.brokerIDs) {
			// Forget the processes of brokers that restarted since.
			for old := range k.cursors {
				if c.Broker(old.ID()) != old {
					delete(k.cursors, old)
				}
			}
		}
		for _, w := range writes[cur[0]:] {
			k.sink.ControllerWrite(id, w.TP, w.ControllerEpoch, w.ZkVersion, int64(w.Zxid))
		}
		for _, f := range fails[cur[1]:] {
			leader, epoch, version := int32(-1), int32(-1), int32(-1)
			if tree != nil {
				if l, e, v, ok := broker.ZKPartitionState(tree, f.TP); ok {
					leader, epoch, version = l, e, v
				}
			}
			k.sink.ISRWriteRefused(id, f.TP, f.LeaderEpoch, f.ZkVersion, f.Failures, leader, epoch, version)
		}
		k.cursors[b] = [2]int{len(writes), len(fails)}
	}
}
