package zookeeper_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// brokerProc is a broker's process in miniature: it embeds a ZooKeeper
// handle and hands it what the network delivers.
type brokerProc struct{ zk *zookeeper.Client }

func (p *brokerProc) Receive(from sim.NodeID, m network.Message) { p.zk.Receive(from, m) }
func (p *brokerProc) Disconnected(peer sim.NodeID)               { p.zk.Disconnected(peer) }

// Example shows the client API as ZooKeeper-mode Kafka uses it: a broker
// registers its ephemeral /brokers/ids/1 and wins the controller election
// by creating the ephemeral /controller; a second create of /controller
// fails with NODEEXISTS and its owner is the session that holds it.
func Example() {
	s := sim.New(sim.Config{Seed: 1})
	net, _ := network.New(s, network.DefaultConfig())
	ensemble := map[int64]sim.NodeID{}
	var servers []*sim.Node
	for id := int64(1); id <= 3; id++ {
		n, _ := s.AddNode(fmt.Sprintf("z%d", id), func(n *sim.Node) any {
			srv, err := zookeeper.NewServer(zookeeper.DefaultConfig(), zookeeper.Setup{
				Node: n, ID: id, Servers: ensemble,
				Send: func(to sim.NodeID, m network.Message) { net.Send(n.ID(), to, m) },
			})
			if err != nil {
				s.Fail("boot", err)
			}
			return srv
		})
		ensemble[id] = n.ID()
		servers = append(servers, n)
	}
	for _, n := range servers {
		_ = n.Start()
	}
	broker, _ := s.AddNode("b1", func(n *sim.Node) any { return &brokerProc{} })
	_ = broker.Start()
	zk, _ := zookeeper.NewClient(zookeeper.DefaultClientConfig(), zookeeper.ClientSetup{
		Node: broker, Servers: []sim.NodeID{ensemble[1], ensemble[2], ensemble[3]},
		Send:    func(to sim.NodeID, m network.Message) { net.Send(broker.ID(), to, m) },
		Watcher: func(e zookeeper.Event) { fmt.Println("event:", e) },
	})
	broker.Process().(*brokerProc).zk = zk

	zk.Multi([]zookeeper.Op{
		zookeeper.CreateOp("/brokers", nil, zookeeper.Persistent),
		zookeeper.CreateOp("/brokers/ids", nil, zookeeper.Persistent),
	}, nil)
	zk.Create("/brokers/ids/1", []byte(`{"host":"b1","port":9092}`), zookeeper.Ephemeral, func(path string, err error) {
		fmt.Println("registered", path, err)
	})
	zk.Create("/controller", []byte(`{"brokerid":1}`), zookeeper.Ephemeral, func(path string, err error) {
		fmt.Println("controller", path, err)
	})
	zk.Create("/controller", []byte(`{"brokerid":1}`), zookeeper.Ephemeral, func(_ string, err error) {
		fmt.Println("again:", errors.Is(err, zookeeper.NodeExists))
		zk.GetData("/controller", true, func(data []byte, st zookeeper.Stat, err error) {
			fmt.Printf("%s owned by our session: %t\n", data, st.EphemeralOwner == zk.SessionID())
		})
	})
	_ = s.RunFor(10 * time.Second)
	// Output:
	// event: SyncConnected
	// registered /brokers/ids/1 <nil>
	// controller /controller <nil>
	// again: true
	// {"brokerid":1} owned by our session: true
}
