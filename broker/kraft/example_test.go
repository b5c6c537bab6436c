package kraft_test

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// controller is how a controller process embeds the quorum: it hands the
// Client every message and broken connection, and listens to what the
// quorum commits.
type controller struct {
	raft    *kraft.Client
	active  bool
	applied []string
}

func (c *controller) Receive(from sim.NodeID, m network.Message) {
	if c.raft.Receive(from, m) {
		return
	}
	// ... the controller's own requests (broker heartbeats, AlterPartition)
}

func (c *controller) Disconnected(peer sim.NodeID) { c.raft.Disconnected(peer) }

func (c *controller) HandleCommit(b *kraft.Batch) {
	for _, r := range b.Records {
		c.applied = append(c.applied, string(r))
	}
}

func (c *controller) HandleLeaderChange(leader, epoch int32) {
	c.active = leader == c.raft.ID()
}

// Example runs a quorum of three controllers, writes two records through
// the active controller and reads them back from every controller once
// they are committed.
func Example() {
	s := sim.New(sim.Config{Seed: 1})
	net, _ := network.New(s, network.DefaultConfig())
	voters := map[int32]sim.NodeID{}
	var nodes []*sim.Node
	for id := int32(1); id <= 3; id++ {
		id := id
		n, _ := s.AddNode(fmt.Sprintf("controller-%d", id), func(n *sim.Node) any {
			c := &controller{}
			var err error
			c.raft, err = kraft.New(kraft.DefaultConfig(), kraft.Setup{
				Node: n, ID: id, Voters: voters, Listener: c,
				Send: func(to sim.NodeID, m network.Message) { net.Send(n.ID(), to, m) },
			})
			if err != nil {
				s.Fail("boot", err)
			}
			return c
		})
		voters[id] = n.ID()
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		_ = n.Start()
	}
	active := func() *controller {
		for _, n := range nodes {
			if c := n.Process().(*controller); c.active {
				return c
			}
		}
		return nil
	}
	_, _ = s.RunUntilTrue(10*time.Second, func() bool { return active() != nil })
	c := active()
	fmt.Printf("active controller: %d, epoch %d\n", c.raft.ID(), c.raft.Epoch())
	last, _ := c.raft.Append([][]byte{[]byte("RegisterBrokerRecord{1}"), []byte("TopicRecord{orders}")})
	_ = s.RunFor(time.Second)
	for _, n := range nodes {
		c := n.Process().(*controller)
		fmt.Printf("controller %d: committed through %d: %v\n", c.raft.ID(), c.raft.HighWatermark()-1, c.applied)
	}
	fmt.Println("last appended offset:", last)
	// Output:
	// active controller: 3, epoch 1
	// controller 1: committed through 2: [RegisterBrokerRecord{1} TopicRecord{orders}]
	// controller 2: committed through 2: [RegisterBrokerRecord{1} TopicRecord{orders}]
	// controller 3: committed through 2: [RegisterBrokerRecord{1} TopicRecord{orders}]
	// last appended offset: 2
}
