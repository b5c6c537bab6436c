package client_test

import (
	"fmt"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// A scenario's workload: a producer driver and a consumer group member on
// a KRaft cluster, run until both have drained, and an admin client's
// kafka-consumer-groups --describe at the end.
func Example() {
	s := sim.New(sim.Config{Seed: 1})
	net, _ := network.New(s, network.DefaultConfig())
	cfg := cluster.DefaultConfig()
	cfg.Brokers, cfg.Controllers = 3, 1
	c, _ := cluster.New(s, net, cfg)
	_ = c.Start()
	_ = c.WaitReady(30 * time.Second)
	_ = c.CreateTopic(cluster.Topic{Name: "orders", Partitions: 2, ReplicationFactor: 3}, time.Minute)

	rec := history.NewRecorder(history.Header{Seed: 1, Scenario: "example"})
	env := client.Env{Net: net, Dir: c.Directory(), Bootstrap: c.BrokerIDs(), Recorder: rec}
	producer, _ := client.NewProducerDriver(env, client.ProducerWorkload{
		Topic: "orders", Rate: 50, Keys: 4, Until: s.Now() + 2*time.Second,
		Properties: map[string]string{"acks": "all", "linger.ms": "10"},
	})
	consumer, _ := client.NewConsumerDriver(env, client.ConsumerWorkload{
		Topics: []string{"orders"}, CommitEvery: 1,
		Properties: map[string]string{"group.id": "billing", "auto.offset.reset": "earliest", "enable.auto.commit": "false"},
	})
	p, _ := s.AddNode("producer-1", producer.Boot)
	q, _ := s.AddNode("consumer-1", consumer.Boot)
	_ = p.Start()
	_ = q.Start()
	var admin *client.Admin
	a, _ := s.AddNode("ops", func(n *sim.Node) any {
		admin, _ = client.NewAdmin(n, env, client.DefaultAdminConfig())
		return &client.Process{Admin: admin}
	})
	_ = a.Start()

	_, _ = s.RunUntilTrue(s.Now()+time.Minute, func() bool { return producer.Drained() && consumer.Drained() })
	_ = s.RunFor(time.Second) // the last commit lands
	ps, cs := producer.Stats(), consumer.Stats()
	fmt.Println("every send acknowledged:", ps.OK == ps.Sent, "and read once:", cs.Records == ps.OK)

	var view client.GroupOffsets
	_ = admin.DescribeConsumerGroupOffsets("billing", func(v client.GroupOffsets, err error) { view = v })
	_, _ = s.RunUntilTrue(s.Now()+time.Minute, func() bool { return view.State != "" })
	for _, r := range view.Rows {
		lag, _ := r.Lag()
		fmt.Printf("%s-%d lag %d, owned by %s\n", r.Topic, r.Partition, lag, r.ClientID)
	}
	// Output:
	// every send acknowledged: true and read once: true
	// orders-0 lag 0, owned by consumer-1
	// orders-1 lag 0, owned by consumer-1
}
