package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// AdminNode is the name of the sim node the harness sends its own admin
// requests from (topic creation and the like). It is no broker and no
// controller: fault selectors never name it.
const AdminNode = "admin"

// A Cluster is a whole Kafka cluster on one simulation: controllers and
// brokers as sim nodes, the directory of their node ids, and an admin node.
type Cluster struct {
	s   *sim.Sim
	net *network.Network
	cfg Config
	dir *protocol.Directory

	brokerIDs     []int32
	controllerIDs []int32
	nodes         map[int32]*sim.Node
	admin         *sim.Node

	view      *broker.ClusterView
	lastImage *metadata.Image

	// ZooKeeper mode: the ensemble's nodes (z1..), and the image last
	// built from a server's tree, with the zxid it was built at.
	zkNodes []*sim.Node
	zkImage zkImageKey

	corr      int32
	callbacks map[int32]func(protocol.Response)
}

// New adds the cluster's nodes to s (down: Start starts them) and returns
// the cluster. cfg is validated first; every broker and controller config
// is too.
func New(s *sim.Sim, net *network.Network, cfg Config) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Cluster{s: s, net: net, cfg: cfg, dir: protocol.NewDirectory(), nodes: make(map[int32]*sim.Node),
		callbacks: make(map[int32]func(protocol.Response)), lastImage: metadata.NewImage()}
	voters := make(map[int32]sim.NodeID)
	var ctlCfgs []controller.Config
	for i := range cfg.Controllers {
		id := FirstControllerID + int32(i)
		cc := cfg.Controller
		cc.NodeID, cc.Voters, cc.Directory, cc.Network, cc.Quorum = id, voters, c.dir, net, cfg.Quorum
		ctlCfgs = append(ctlCfgs, cc)
		c.controllerIDs = append(c.controllerIDs, id)
	}
	var zkServers []sim.NodeID
	if cfg.ZK() {
		var err error
		if zkServers, err = c.addZooKeepers(); err != nil {
			return nil, err
		}
	}
	var brokerCfgs []broker.Config
	for i := range cfg.Brokers {
		id := int32(i + 1)
		bc := cfg.Broker
		bc.BrokerID, bc.Directory, bc.Network, bc.Observer = id, c.dir, net, cfg.Observer
		bc.ControllerQuorum, bc.Quorum = voters, cfg.Quorum
		if cfg.ZK() {
			zc := cfg.ZKBroker
			zc.Servers = slices.Clone(zkServers)
			zc.TopicDefaults = cfg.Controller.TopicDefaults()
			zc.AutoLeaderRebalance = cfg.Controller.AutoLeaderRebalance
			zc.LeaderImbalanceCheckInterval = cfg.Controller.LeaderImbalanceCheckInterval
			bc.ControllerQuorum, bc.ZooKeeper = nil, &zc
		}
		brokerCfgs = append(brokerCfgs, bc)
		c.brokerIDs = append(c.brokerIDs, id)
	}
	// The voters map is shared by every config and filled as the
	// controllers' nodes are added; validate once it is complete.
	for i, cc := range ctlCfgs {
		n, err := s.AddNode("c"+strconv.Itoa(i+1), func(n *sim.Node) any { return controllerBoot(n, cc) })
		if err != nil {
			return nil, err
		}
		voters[cc.NodeID] = n.ID()
		c.nodes[cc.NodeID] = n
		if err := c.dir.Add(cc.NodeID, n.ID()); err != nil {
			return nil, err
		}
	}
	for _, cc := range ctlCfgs {
		if err := cc.Validate(); err != nil {
			return nil, fmt.Errorf("controller %d: %w", cc.NodeID, err)
		}
	}
	for _, bc := range brokerCfgs {
		if err := bc.Validate(); err != nil {
			return nil, fmt.Errorf("broker %d: %w", bc.BrokerID, err)
		}
		n, err := s.AddNode("b"+strconv.Itoa(int(bc.BrokerID)), broker.Boot(bc))
		if err != nil {
			return nil, err
		}
		c.nodes[bc.BrokerID] = n
		if err := c.dir.Add(bc.BrokerID, n.ID()); err != nil {
			return nil, err
		}
	}
	admin, err := s.AddNode(AdminNode, func(*sim.Node) any { return &adminProcess{c: c} })
	if err != nil {
		return nil, err
	}
	c.admin = admin
	brokerNodes := make(map[int32]*sim.Node, len(c.brokerIDs))
	for _, id := range c.brokerIDs {
		brokerNodes[id] = c.nodes[id]
	}
	c.view = broker.NewClusterView(brokerNodes, c.Metadata)
	if !cfg.ZK() {
		c.view.SetQuorum(c.quorumMembers(), cfg.Quorum.FetchTimeout)
	}
	return c, nil
}

// quorumMembers lists the metadata log's replicas for the view: the
// controllers (voters), then the brokers (observers).
func (c *Cluster) quorumMembers() []broker.QuorumMember {
	var out []broker.QuorumMember
	for _, id := range c.controllerIDs {
		out = append(out, broker.QuorumMember{ID: id, Voter: true, Node: c.nodes[id], Client: func() *kraft.Client {
			if ctl := c.Controller(id); ctl != nil {
				return ctl.Raft()
			}
			return nil
		}})
	}
	for _, id := range c.brokerIDs {
		out = append(out, broker.QuorumMember{ID: id, Node: c.nodes[id], Client: func() *kraft.Client {
			if b := c.Broker(id); b != nil {
				return b.MetadataLog()
			}
			return nil
		}})
	}
	return out
}

func controllerBoot(n *sim.Node, cfg controller.Config) any {
	return controller.Boot(cfg)(n)
}

// Start starts every node that is down: controllers, then brokers, then
// the admin node.
func (c *Cluster) Start() error {
	var errs []error
	for _, n := range c.zkNodes {
		if !n.Up() {
			errs = append(errs, n.Start())
		}
	}
	for _, id := range slices.Concat(c.controllerIDs, c.brokerIDs) {
		if n := c.nodes[id]; !n.Up() {
			errs = append(errs, n.Start())
		}
	}
	if !c.admin.Up() {
		errs = append(errs, c.admin.Start())
	}
	return errors.Join(errs...)
}

// Sim returns the simulation; with Net and Resolve it makes the cluster a
// fault schedule's target (scenarios/fault.Target).
func (c *Cluster) Sim() *sim.Sim { return c.s }

// Net returns the simulated network.
func (c *Cluster) Net() *network.Network { return c.net }

// Config returns the configuration the cluster was built with.
func (c *Cluster) Config() Config { return c.cfg }

// Directory maps the cluster's Kafka node ids to sim nodes.
func (c *Cluster) Directory() *protocol.Directory { return c.dir }

// BrokerIDs returns the broker ids, sorted.
func (c *Cluster) BrokerIDs() []int32 { return slices.Clone(c.brokerIDs) }

// ControllerIDs returns the controller ids, sorted.
func (c *Cluster) ControllerIDs() []int32 { return slices.Clone(c.controllerIDs) }

// Node returns the sim node of a broker or controller id, or nil.
func (c *Cluster) Node(id int32) *sim.Node { return c.nodes[id] }

// AdminNode returns the node the harness sends admin requests from.
func (c *Cluster) AdminNode() *sim.Node { return c.admin }

// Broker returns a broker's running process, or nil when it is down (or
// not a broker).
func (c *Cluster) Broker(id int32) *broker.Broker {
	n, ok := c.nodes[id]
	if !ok || !n.Up() {
		return nil
	}
	b, _ := n.Process().(*broker.Broker)
	return b
}

// Controller returns a controller's running process, or nil when it is
// down (or not a controller).
func (c *Cluster) Controller(id int32) *controller.Controller {
	n, ok := c.nodes[id]
	if !ok || !n.Up() {
		return nil
	}
	ctl, _ := n.Process().(*controller.Controller)
	return ctl
}

// ActiveController returns the active controller, or nil while there is
// none (an election or a catch-up under way). Two controllers may both
// believe they are active for a moment (a deposed one that has not heard
// of the newer epoch yet): the one in the newest quorum epoch wins, and a
// running one wins over a paused one.
func (c *Cluster) ActiveController() *controller.Controller {
	var best *controller.Controller
	better := func(a, b *controller.Controller) bool {
		aUp, bUp := a.Node().State() == sim.Up, b.Node().State() == sim.Up
		if aUp != bUp {
			return aUp
		}
		return a.Raft().Epoch() > b.Raft().Epoch()
	}
	for _, id := range c.controllerIDs {
		ctl := c.Controller(id)
		if ctl == nil || !ctl.Active() {
			continue
		}
		if best == nil || better(ctl, best) {
			best = ctl
		}
	}
	return best
}

// Metadata returns the committed metadata: the image of the running
// controller that has applied the most of the committed log (the last one
// seen while every controller is down). Read it; never change it.
func (c *Cluster) Metadata() *metadata.Image {
	if c.cfg.ZK() {
		return c.zkMetadata()
	}
	best := c.lastImage
	for _, id := range c.controllerIDs {
		if ctl := c.Controller(id); ctl != nil && ctl.Committed().Offset() > best.Offset() {
			best = ctl.Committed()
		}
	}
	c.lastImage = best
	return best
}

// Partition returns a partition's committed state.
func (c *Cluster) Partition(tp model.TopicPartition) (*metadata.Partition, bool) {
	return c.Metadata().Partition(tp)
}

// Leader returns the leader of a partition in the committed metadata, or
// false if the partition is unknown or has no leader.
func (c *Cluster) Leader(tp model.TopicPartition) (int32, bool) {
	p, ok := c.Partition(tp)
	if !ok || p.Leader == metadata.NoLeader {
		return metadata.NoLeader, false
	}
	return p.Leader, true
}

// View returns the model.ClusterView that the checkers read: every
// broker's replicas, with the committed metadata.
func (c *Cluster) View() *broker.ClusterView { return c.view }

// ---- names and fault selectors ----

// BrokerNames returns the brokers' node names (b1, b2, ...).
func (c *Cluster) BrokerNames() []string { return c.names(c.brokerIDs) }

// ControllerNames returns the controllers' node names (c1, c2, ...).
func (c *Cluster) ControllerNames() []string { return c.names(c.controllerIDs) }

func (c *Cluster) names(ids []int32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = c.nodes[id].Name()
	}
	return out
}

// PartitionNames returns every partition of the committed metadata as
// <topic>-<partition>, sorted.
func (c *Cluster) PartitionNames() []string {
	tps := c.Metadata().Partitions()
	out := make([]string, len(tps))
	for i, tp := range tps {
		out[i] = tp.String()
	}
	return out
}

// Selectors that Resolve understands besides node names.
const (
	SelBrokers     = "brokers"
	SelControllers = "controllers"
	SelAll         = "all"
	SelController  = "controller"
	// SelStandbyController is the first running controller, by id, that
	// is not the active one (KRaft mode), when the fault fires.
	SelStandbyController = "standby-controller"
	// SelZooKeepers is every ZooKeeper server; SelZooKeeperLeader the
	// ensemble's established leader, when the fault fires.
	SelZooKeepers      = "zookeepers"
	SelZooKeeperLeader = "zookeeper-leader"
)

// Resolve turns a node name or a selector into nodes, as the cluster is
// now: brokers, controllers, all (brokers and controllers), controller
// (the active controller), leader(<topic>-<partition>) (the broker the
// committed metadata names as leader) and follower(<topic>-<partition>)
// (the first replica in assignment order that is not the leader,
// preferring ISR members). A dynamic selector that matches nothing right
// now (no leader, no active controller) resolves to no node. Any other
// node of the simulation (a client the harness added, such as
// consumer-1) is resolved by its name; the admin node never is.
func (c *Cluster) Resolve(sel string) ([]*sim.Node, error) {
	switch sel {
	case SelBrokers:
		return c.nodesOf(c.brokerIDs), nil
	case SelControllers:
		return c.nodesOf(c.controllerIDs), nil
	case SelAll:
		return slices.Concat(c.nodesOf(slices.Concat(c.brokerIDs, c.controllerIDs)), c.zkNodes), nil
	case SelController:
		if c.cfg.ZK() {
			if b := c.ZKController(); b != nil {
				return []*sim.Node{b.Node()}, nil
			}
			return nil, nil
		}
		if ctl := c.ActiveController(); ctl != nil {
			return []*sim.Node{ctl.Node()}, nil
		}
		return nil, nil
	case SelStandbyController:
		active := c.ActiveController()
		for _, id := range c.controllerIDs {
			if ctl := c.Controller(id); ctl != nil && ctl != active && ctl.Node().State() == sim.Up {
				return []*sim.Node{ctl.Node()}, nil
			}
		}
		return nil, nil
	case SelZooKeepers:
		return slices.Clone(c.zkNodes), nil
	case SelZooKeeperLeader:
		if n := c.ZKLeader(); n != nil {
			return []*sim.Node{n}, nil
		}
		return nil, nil
	}
	for _, n := range c.zkNodes {
		if n.Name() == sel {
			return []*sim.Node{n}, nil
		}
	}
	for _, id := range slices.Concat(c.brokerIDs, c.controllerIDs) {
		if c.nodes[id].Name() == sel {
			return []*sim.Node{c.nodes[id]}, nil
		}
	}
	for _, kind := range []string{"leader", "follower"} {
		arg, ok := strings.CutPrefix(sel, kind+"(")
		if !ok {
			continue
		}
		arg, ok = strings.CutSuffix(arg, ")")
		tp, err := ParsePartition(arg)
		if !ok || err != nil {
			return nil, fmt.Errorf("selector %q: write %s(<topic>-<partition>), such as %s(orders-0)", sel, kind, kind)
		}
		p, known := c.Partition(tp)
		if !known {
			return nil, fmt.Errorf("selector %q names unknown partition %s: known partitions are %s", sel, tp,
				strings.Join(c.PartitionNames(), ", "))
		}
		if kind == "leader" {
			if p.Leader == metadata.NoLeader {
				return nil, nil
			}
			return []*sim.Node{c.nodes[p.Leader]}, nil
		}
		follower := int32(-1)
		for _, r := range p.Replicas {
			if r != p.Leader && slices.Contains(p.ISR, r) {
				follower = r
				break
			}
		}
		if follower < 0 {
			for _, r := range p.Replicas {
				if r != p.Leader {
					follower = r
					break
				}
			}
		}
		if follower < 0 {
			return nil, nil
		}
		return []*sim.Node{c.nodes[follower]}, nil
	}
	if n, err := c.s.Node(sel); err == nil && n != c.admin {
		return []*sim.Node{n}, nil
	}
	return nil, fmt.Errorf("unknown node %q: accepted are the nodes %s, the selectors brokers, controllers, zookeepers, all, controller, zookeeper-leader, and leader(<topic>-<partition>), follower(<topic>-<partition>)",
		sel, strings.Join(c.nodeNames(), ", "))
}

// nodeNames lists the nodes Resolve accepts by name: brokers, controllers,
// then the other nodes of the simulation (clients) in the order they were
// added.
func (c *Cluster) nodeNames() []string {
	out := slices.Concat(c.BrokerNames(), c.ControllerNames(), c.ZooKeeperNames())
	for _, n := range c.s.Nodes() {
		if n != c.admin && !slices.Contains(out, n.Name()) {
			out = append(out, n.Name())
		}
	}
	return out
}

func (c *Cluster) nodesOf(ids []int32) []*sim.Node {
	out := make([]*sim.Node, len(ids))
	for i, id := range ids {
		out[i] = c.nodes[id]
	}
	return out
}

// ParsePartition parses <topic>-<partition>, such as orders-0.
func ParsePartition(s string) (model.TopicPartition, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return model.TopicPartition{}, fmt.Errorf("partition %q: write <topic>-<partition>, such as orders-0", s)
	}
	p, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil || p < 0 {
		return model.TopicPartition{}, fmt.Errorf("partition %q: the partition number must be a whole number from 0, such as orders-0", s)
	}
	return model.TopicPartition{Topic: s[:i], Partition: int32(p)}, nil
}

// ---- admin requests ----

// adminProcess is the admin node's process: it hands responses to the
// callbacks waiting for them.
type adminProcess struct{ c *Cluster }

func (p *adminProcess) Receive(from sim.NodeID, m network.Message) {
	r, ok := m.(protocol.Response)
	if !ok {
		return
	}
	cb, ok := p.c.callbacks[r.Correlation()]
	if !ok {
		return
	}
	delete(p.c.callbacks, r.Correlation())
	cb(r)
}

// NextCorrelation returns a fresh correlation id for a request sent from
// the admin node.
func (c *Cluster) NextCorrelation() int32 {
	c.corr++
	return c.corr
}

// Send sends a request from the admin node to a broker or controller id;
// cb gets the response, if one comes. The request's correlation id must
// come from NextCorrelation.
func (c *Cluster) Send(to int32, req protocol.Request, cb func(protocol.Response)) error {
	n, ok := c.nodes[to]
	if !ok {
		return fmt.Errorf("unknown node id %d: brokers are %v, controllers %v", to, c.brokerIDs, c.controllerIDs)
	}
	if !c.admin.Up() {
		return fmt.Errorf("the admin node is down: start the cluster first")
	}
	if cb != nil {
		c.callbacks[req.Correlation()] = cb
	}
	c.net.Send(c.admin.ID(), n.ID(), req.(network.Message))
	return nil
}

// Request sends a request to a node and runs the simulation until the
// answer comes or limit (simulated time from now) passes.
func (c *Cluster) Request(to int32, req protocol.Request, limit time.Duration) (protocol.Response, error) {
	var resp protocol.Response
	if err := c.Send(to, req, func(r protocol.Response) { resp = r }); err != nil {
		return nil, err
	}
	if _, err := c.s.RunUntilTrue(c.s.Now()+limit, func() bool { return resp != nil }); err != nil {
		return nil, err
	}
	if resp == nil {
		delete(c.callbacks, req.Correlation())
		return nil, fmt.Errorf("%s to node %d: no answer within %v (seed %d)", req.Kind(), to, limit, c.s.Seed())
	}
	return resp, nil
}

// An AdminError is a request's failure as Kafka reports it: an error code
// and a message saying what was wrong.
type AdminError struct {
	Code    protocol.ErrorCode
	Message string
}

func (e *AdminError) Error() string {
	if e.Message == "" {
		return e.Code.String()
	}
	return e.Code.String() + ": " + e.Message
}

// Topic is a topic to create. Partitions and ReplicationFactor of -1
// take the defaults (num.partitions, default.replication.factor).
type Topic struct {
	Name              string
	Partitions        int
	ReplicationFactor int
	Configs           map[string]string
}

// WaitReady runs the simulation until a controller is active and every
// running broker is registered, unfenced and serving, or limit (simulated
// time from now) passes.
func (c *Cluster) WaitReady(limit time.Duration) error {
	ok, err := c.s.RunUntilTrue(c.s.Now()+limit, c.Ready)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("cluster not ready within %v (seed %d): %s", limit, c.s.Seed(), c.readiness())
	}
	return nil
}

// Ready reports whether a controller is active and every running broker is
// unfenced and serving.
func (c *Cluster) Ready() bool { return c.readiness() == "" }

func (c *Cluster) readiness() string {
	if c.cfg.ZK() {
		return c.zkReadiness()
	}
	ctl := c.ActiveController()
	if ctl == nil {
		return "no active controller"
	}
	for _, id := range c.brokerIDs {
		b := c.Broker(id)
		if b == nil {
			continue
		}
		reg, ok := ctl.Committed().Broker(id)
		if !ok || reg.Fenced || reg.IncarnationID != b.IncarnationID() || !b.Serving() {
			return fmt.Sprintf("broker %d is %s", id, b.Lifecycle())
		}
	}
	return ""
}

// CreateTopic creates a topic through the active controller, as an admin
// client's CreateTopics would, and runs the simulation until the
// controller has committed it and every partition's leader (if it has one)
// acts as leader, or limit passes. A refusal comes back as an *AdminError
// with Kafka's error code and message.
func (c *Cluster) CreateTopic(t Topic, limit time.Duration) error {
	deadline := c.s.Now() + limit
	req := protocol.CreatableTopic{Name: t.Name, NumPartitions: int32(t.Partitions), ReplicationFactor: int16(t.ReplicationFactor),
		Configs: maps.Clone(t.Configs)}
	// The active controller: the broker elected through ZooKeeper, or
	// the KRaft quorum's leader.
	active := func() (int32, bool) {
		if c.cfg.ZK() {
			if b := c.ZKController(); b != nil {
				return b.ID(), true
			}
		} else if ctl := c.ActiveController(); ctl != nil {
			return ctl.ID(), true
		}
		return 0, false
	}
	for {
		if _, err := c.s.RunUntilTrue(deadline, func() bool { _, ok := active(); return ok }); err != nil {
			return err
		}
		id, ok := active()
		if !ok {
			return fmt.Errorf("create topic %s: no active controller within %v (seed %d)", t.Name, limit, c.s.Seed())
		}
		resp, err := c.Request(id, &protocol.CreateTopics{CorrelationID: c.NextCorrelation(), Topics: []protocol.CreatableTopic{req}},
			deadline-c.s.Now())
		if err != nil {
			return err
		}
		te := resp.(*protocol.CreateTopicsResponse).Topics[0]
		if te.Error == protocol.NotController {
			continue
		}
		if te.Error != protocol.None {
			return &AdminError{Code: te.Error, Message: te.Message}
		}
		break
	}
	if c.cfg.ZK() {
		// The controller writes the partitions' states once its topic
		// watch fires.
		started := func() bool {
			tm, ok := c.Metadata().Topic(t.Name)
			return ok && int(tm.Partitions) >= t.Partitions
		}
		if ok, err := c.s.RunUntilTrue(deadline, started); err != nil || !ok {
			return errors.Join(err, fmt.Errorf("topic %s: partitions not started within %v (seed %d)", t.Name, limit, c.s.Seed()))
		}
	}
	return c.WaitLeaders(t.Name, deadline-c.s.Now())
}

// WaitLeaders runs the simulation until every partition of topic that has
// a leader in the committed metadata is led, at that leader epoch, by its
// broker, or limit passes.
func (c *Cluster) WaitLeaders(topic string, limit time.Duration) error {
	led := func() bool {
		im := c.Metadata()
		t, ok := im.Topic(topic)
		if !ok {
			return false
		}
		for i := range t.Partitions {
			tp := model.TopicPartition{Topic: topic, Partition: i}
			p, _ := im.Partition(tp)
			if p.Leader == metadata.NoLeader {
				continue
			}
			b := c.Broker(p.Leader)
			if b == nil {
				continue
			}
			r, ok := b.Partition(tp)
			if !ok || !r.IsLeader() || r.LeaderEpoch() != p.LeaderEpoch {
				return false
			}
		}
		return true
	}
	ok, err := c.s.RunUntilTrue(c.s.Now()+limit, led)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("topic %s: leaders not in place within %v (seed %d)", topic, limit, c.s.Seed())
	}
	return nil
}

// Shutdown shuts a broker down the controlled way (its leaderships move
// away first, then it writes its clean-shutdown marker) and stops its
// node; done, if not nil, is called once the node is down, with the
// shutdown's error. The controlled shutdown waits at most timeout for the
// controller.
func (c *Cluster) Shutdown(id int32, timeout time.Duration, done func(error)) error {
	b := c.Broker(id)
	if b == nil {
		return fmt.Errorf("broker %d is not running", id)
	}
	n := c.nodes[id]
	inc := n.Incarnation()
	b.ControlledShutdown(timeout, func(err error) {
		// Stop the process as a world event, outside the broker's own.
		c.s.After(0, "cluster.stop-broker", func() {
			if n.Up() && n.Incarnation() == inc {
				_ = n.Crash()
			}
			if done != nil {
				done(err)
			}
		})
	})
	return nil
}
