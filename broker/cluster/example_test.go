package cluster_test

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// Example builds a cluster of three brokers and three controllers, creates
// a topic, crashes its leader and reads who leads after the failover.
func Example() {
	s := sim.New(sim.Config{Seed: 1})
	net, _ := network.New(s, network.DefaultConfig())
	cfg := cluster.DefaultConfig()
	_ = cfg.Set("min.insync.replicas", "2")
	_ = cfg.SetSwitch("elr", "true")
	c, err := cluster.New(s, net, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = c.Start()
	if err := c.WaitReady(30 * time.Second); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.CreateTopic(cluster.Topic{Name: "orders", Partitions: 1, ReplicationFactor: 3}, 10*time.Second); err != nil {
		fmt.Println(err)
		return
	}
	tp := model.TopicPartition{Topic: "orders", Partition: 0}
	leader, _ := c.Leader(tp)
	fmt.Println("leader:", leader)

	nodes, _ := c.Resolve("leader(orders-0)")
	_ = nodes[0].Crash()
	_ = s.RunFor(15 * time.Second)
	leader, _ = c.Leader(tp)
	p, _ := c.Partition(tp)
	fmt.Println("after the crash:", leader, cluster.DescribePartition(p))

	err = c.CreateTopic(cluster.Topic{Name: "big", Partitions: 1, ReplicationFactor: 4}, 10*time.Second)
	fmt.Println(err)
	// Output:
	// leader: 2
	// after the crash: 3 leader=3 leader-epoch=1 partition-epoch=1 replicas=[2 3 1] isr=[3 1]
	// INVALID_REPLICATION_FACTOR: unable to replicate the partition 4 time(s): the target replication factor of 4 cannot be reached because only 3 broker(s) are registered
}
