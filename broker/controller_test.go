package broker_test

import (
	"fmt"
	"slices"

	kcontroller "github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// controller is a test double of the active controller: it keeps the
// authoritative metadata log and image, answers AlterPartition as Kafka's
// controller does (broker epoch, leader epoch, partition epoch and replica
// eligibility checks), and publishes records to brokers through
// ApplyMetadata when the test says so (or at once in auto mode).
type controller struct {
	env       *env
	id        int32
	node      *sim.Node
	image     *metadata.Image
	records   []metadata.Record
	delivered map[int32]int // per broker: records delivered to its current incarnation
	inc       map[int32]uint32
	auto      bool
	nextEpoch int64
	topicIDs  map[string]metadata.Uuid
	// hold, when set, makes the controller drop AlterPartition requests
	// unanswered (a controller that is slow or gone).
	hold bool
}

func newController(e *env, id int32) *controller {
	return &controller{env: e, id: id, image: metadata.NewImage(), delivered: make(map[int32]int),
		inc: make(map[int32]uint32), auto: true, nextEpoch: 100, topicIDs: make(map[string]metadata.Uuid)}
}

// process is the controller node's process.
type controllerProcess struct{ c *controller }

func (p *controllerProcess) Receive(from sim.NodeID, m network.Message) {
	if ap, ok := m.(*protocol.AlterPartition); ok {
		p.c.alterPartition(from, ap)
	}
}

// commit appends records to the metadata log and applies them.
func (c *controller) commit(recs ...metadata.Record) error {
	if _, err := c.image.Apply(recs, int64(len(c.records)+len(recs)-1)); err != nil {
		return err
	}
	c.records = append(c.records, recs...)
	if c.auto {
		c.deliver(nil)
	}
	return nil
}

// deliver publishes the records each running broker has not yet applied
// (to the listed brokers only, if any).
func (c *controller) deliver(to []int32) {
	for _, id := range c.env.brokerIDs() {
		if to != nil && !slices.Contains(to, id) {
			continue
		}
		b, ok := c.env.broker(id)
		if !ok {
			continue
		}
		if c.inc[id] != b.Node().Incarnation() {
			c.inc[id] = b.Node().Incarnation()
			c.delivered[id] = 0
		}
		from := c.delivered[id]
		if from == len(c.records) {
			continue
		}
		if err := b.ApplyMetadata(c.records[from:], int64(len(c.records)-1)); err != nil {
			c.env.logf("broker %d: metadata error: %v", id, err)
		}
		b.SetController(c.id)
		c.delivered[id] = len(c.records)
	}
}

// register registers a broker's current incarnation and unfences it.
func (c *controller) register(id int32) error {
	b, ok := c.env.broker(id)
	if !ok {
		return fmt.Errorf("broker %d is not running", id)
	}
	c.nextEpoch++
	epoch := c.nextEpoch
	return c.commit(
		&metadata.RegisterBrokerRecord{BrokerID: id, IncarnationID: b.IncarnationID(), BrokerEpoch: epoch, Fenced: true},
		&metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: epoch, Fenced: metadata.FencingUnfence},
	)
}

func (c *controller) setFenced(id int32, fenced bool) error {
	reg, ok := c.image.Broker(id)
	if !ok {
		return fmt.Errorf("broker %d is not registered", id)
	}
	change := metadata.FencingUnfence
	if fenced {
		change = metadata.FencingFence
	}
	return c.commit(&metadata.BrokerRegistrationChangeRecord{BrokerID: id, BrokerEpoch: reg.Epoch, Fenced: change})
}

func (c *controller) createTopic(name string, assignments [][]int32, configs map[string]string) error {
	if _, err := kcontroller.ParseTopicConfig(model.TopicConfig{MinInsyncReplicas: 1}, len(assignments[0]), configs); err != nil {
		return err
	}
	id := metadata.NewUuid(c.env.s.Rand("controller/topic-ids"))
	c.topicIDs[name] = id
	recs := []metadata.Record{&metadata.TopicRecord{Name: name, TopicID: id}}
	for _, k := range slices.Sorted(mapsKeys(configs)) {
		v := configs[k]
		recs = append(recs, &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: name, Name: k, Value: &v})
	}
	for i, replicas := range assignments {
		recs = append(recs, &metadata.PartitionRecord{PartitionID: int32(i), TopicID: id, Replicas: replicas,
			ISR: slices.Clone(replicas), Leader: replicas[0]})
	}
	return c.commit(recs...)
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// change commits a PartitionChangeRecord: leader (NoLeaderChange to keep)
// and ISR (nil to keep).
func (c *controller) change(tp model.TopicPartition, leader int32, isr []int32) error {
	id, ok := c.topicIDs[tp.Topic]
	if !ok {
		return fmt.Errorf("unknown topic %q", tp.Topic)
	}
	r := metadata.NewPartitionChange(id, tp.Partition)
	r.Leader = leader
	r.ISR = isr
	return c.commit(r)
}

// alterPartition answers an AlterPartition as Kafka's controller does.
func (c *controller) alterPartition(from sim.NodeID, m *protocol.AlterPartition) {
	if c.hold {
		c.env.logf("controller: holds AlterPartition#%d from broker %d", m.CorrelationID, m.BrokerID)
		return
	}
	resp := &protocol.AlterPartitionResponse{CorrelationID: m.CorrelationID}
	reg, ok := c.image.Broker(m.BrokerID)
	if !ok || reg.Epoch != m.BrokerEpoch {
		resp.Error = protocol.StaleBrokerEpoch
		c.env.net.Send(c.node.ID(), from, resp)
		return
	}
	var recs []metadata.Record
	for _, item := range m.Partitions {
		res := protocol.AlterPartitionResult{TP: item.TP}
		p, ok := c.image.Partition(item.TP)
		switch {
		case !ok:
			res.Error = protocol.UnknownTopicOrPartition
		case p.Leader != m.BrokerID:
			res.Error = protocol.NotLeaderOrFollower
		case item.LeaderEpoch != p.LeaderEpoch:
			res.Error = protocol.FencedLeaderEpoch
		case item.PartitionEpoch != p.PartitionEpoch:
			res.Error = protocol.InvalidUpdateVersion
		default:
			res.Error = c.checkISR(p, item)
		}
		if res.Error == protocol.None {
			change := metadata.NewPartitionChange(c.topicIDs[item.TP.Topic], item.TP.Partition)
			change.ISR = item.ISR()
			np := p.Merge(change)
			recs = append(recs, change)
			res.LeaderID, res.LeaderEpoch, res.ISR, res.PartitionEpoch = np.Leader, np.LeaderEpoch, np.ISR, np.PartitionEpoch
		}
		resp.Partitions = append(resp.Partitions, res)
	}
	if len(recs) > 0 {
		if err := c.commit(recs...); err != nil {
			c.env.logf("controller: %v", err)
		}
	}
	c.env.net.Send(c.node.ID(), from, resp)
}

// checkISR refuses a new ISR with replicas that are not assigned, fenced,
// shutting down or on a stale broker epoch (KIP-841, KIP-903).
func (c *controller) checkISR(p *metadata.Partition, item protocol.AlterPartitionItem) protocol.ErrorCode {
	for _, s := range item.NewISR {
		if !slices.Contains(p.Replicas, s.BrokerID) {
			return protocol.InvalidRequest
		}
		reg, ok := c.image.Broker(s.BrokerID)
		if !ok || reg.Fenced || reg.InControlledShutdown || (s.BrokerEpoch != -1 && s.BrokerEpoch != reg.Epoch) {
			return protocol.IneligibleReplica
		}
	}
	return protocol.None
}
