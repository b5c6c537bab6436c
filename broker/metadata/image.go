package metadata

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

// BrokerRegistration is a broker as the metadata log describes it.
type BrokerRegistration struct {
	ID                   int32
	IncarnationID        Uuid
	Epoch                int64
	Fenced               bool
	InControlledShutdown bool
}

// Topic is a topic as the metadata log describes it.
type Topic struct {
	Name       string
	ID         Uuid
	Partitions int32 // number of partitions created so far
}

// Partition is a partition's registration: the controller's committed view.
type Partition struct {
	Replicas            []int32
	ISR                 []int32
	ELR                 []int32
	LastKnownELR        []int32
	Leader              int32
	LeaderRecoveryState protocol.LeaderRecoveryState
	LeaderEpoch         int32
	PartitionEpoch      int32
}

// Model returns the partition in the checkers' vocabulary.
func (p *Partition) Model() model.PartitionMetadata {
	return model.PartitionMetadata{
		Replicas:       slices.Clone(p.Replicas),
		ISR:            slices.Clone(p.ISR),
		ELR:            slices.Clone(p.ELR),
		LastKnownELR:   slices.Clone(p.LastKnownELR),
		Leader:         p.Leader,
		LeaderEpoch:    p.LeaderEpoch,
		PartitionEpoch: p.PartitionEpoch,
		Recovering:     p.LeaderRecoveryState == protocol.Recovering,
	}
}

func (p *Partition) clone() *Partition {
	c := *p
	c.Replicas = slices.Clone(p.Replicas)
	c.ISR = slices.Clone(p.ISR)
	c.ELR = slices.Clone(p.ELR)
	c.LastKnownELR = slices.Clone(p.LastKnownELR)
	return &c
}

func (p *Partition) String() string {
	return fmt.Sprintf("leader=%d leader-epoch=%d partition-epoch=%d replicas=%v isr=%v elr=%v",
		p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.Replicas, p.ISR, p.ELR)
}

// ConfigKey names one config of one resource.
type ConfigKey struct {
	Type     ConfigResourceType
	Resource string
	Name     string
}

// An Image is the state built by applying metadata records in order: the
// brokers, topics, partitions and configs, and the offset of the last
// record applied. Brokers and the controller each keep one.
type Image struct {
	offset     int64
	brokers    map[int32]*BrokerRegistration
	topics     map[string]*Topic
	topicNames map[Uuid]string
	partitions map[model.TopicPartition]*Partition
	// sorted caches Partitions' answer until the set of partitions changes.
	sorted  []model.TopicPartition
	configs map[ConfigKey]string
}

// NewImage returns the empty image, before any record (offset -1).
func NewImage() *Image {
	return &Image{
		offset:     -1,
		brokers:    make(map[int32]*BrokerRegistration),
		topics:     make(map[string]*Topic),
		topicNames: make(map[Uuid]string),
		partitions: make(map[model.TopicPartition]*Partition),
		configs:    make(map[ConfigKey]string),
	}
}

// A Delta says what one Apply changed, each list sorted.
type Delta struct {
	Brokers           []int32 // registered, changed or unregistered
	NewTopics         []string
	RemovedTopics     []string
	Partitions        []model.TopicPartition // created or changed
	RemovedPartitions []model.TopicPartition
	Configs           []ConfigKey
}

// Empty reports whether nothing changed.
func (d *Delta) Empty() bool {
	return len(d.Brokers)+len(d.NewTopics)+len(d.RemovedTopics)+len(d.Partitions)+len(d.RemovedPartitions)+len(d.Configs) == 0
}

type deltaBuilder struct {
	brokers           map[int32]bool
	newTopics         map[string]bool
	removedTopics     map[string]bool
	partitions        map[model.TopicPartition]bool
	removedPartitions map[model.TopicPartition]bool
	configs           map[ConfigKey]bool
}

func sortedKeys[K interface {
	comparable
}](m map[K]bool, cmp func(a, b K) int) []K {
	if len(m) == 0 {
		return nil
	}
	return slices.SortedFunc(maps.Keys(m), cmp)
}

func cmpInt32(a, b int32) int { return int(a) - int(b) }

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpConfig(a, b ConfigKey) int {
	if a.Type != b.Type {
		return int(a.Type) - int(b.Type)
	}
	if c := cmpString(a.Resource, b.Resource); c != 0 {
		return c
	}
	return cmpString(a.Name, b.Name)
}

func mark[K comparable](m *map[K]bool, k K) {
	if *m == nil {
		*m = make(map[K]bool)
	}
	(*m)[k] = true
}

func (b *deltaBuilder) build() *Delta {
	return &Delta{
		Brokers:           sortedKeys(b.brokers, cmpInt32),
		NewTopics:         sortedKeys(b.newTopics, cmpString),
		RemovedTopics:     sortedKeys(b.removedTopics, cmpString),
		Partitions:        sortedKeys(b.partitions, model.TopicPartition.Compare),
		RemovedPartitions: sortedKeys(b.removedPartitions, model.TopicPartition.Compare),
		Configs:           sortedKeys(b.configs, cmpConfig),
	}
}

// Offset returns the metadata log offset of the last record applied, or -1.
func (im *Image) Offset() int64 { return im.offset }

// Apply applies records in order; offset is the metadata log offset of the
// last one. It returns what changed. A record that does not fit the image
// (a change to an unknown partition, a topic created twice) stops Apply
// with an error naming it; the records before it stay applied.
func (im *Image) Apply(records []Record, offset int64) (*Delta, error) {
	if offset < im.offset {
		return nil, fmt.Errorf("metadata offset %d is behind the image's %d: records apply in log order", offset, im.offset)
	}
	var b deltaBuilder
	for i, r := range records {
		if err := im.apply(r, &b); err != nil {
			return b.build(), fmt.Errorf("metadata record %d of %d (%s): %w", i+1, len(records), r, err)
		}
	}
	im.offset = offset
	return b.build(), nil
}

func (im *Image) apply(r Record, b *deltaBuilder) error {
	switch r := r.(type) {
	case *RegisterBrokerRecord:
		if old, ok := im.brokers[r.BrokerID]; ok && r.BrokerEpoch <= old.Epoch {
			return fmt.Errorf("broker %d registers with epoch %d, not above its current %d", r.BrokerID, r.BrokerEpoch, old.Epoch)
		}
		im.brokers[r.BrokerID] = &BrokerRegistration{ID: r.BrokerID, IncarnationID: r.IncarnationID, Epoch: r.BrokerEpoch,
			Fenced: r.Fenced, InControlledShutdown: r.InControlledShutdown}
		mark(&b.brokers, r.BrokerID)
	case *UnregisterBrokerRecord:
		if _, err := im.broker(r.BrokerID, r.BrokerEpoch); err != nil {
			return err
		}
		delete(im.brokers, r.BrokerID)
		mark(&b.brokers, r.BrokerID)
	case *FenceBrokerRecord:
		br, err := im.broker(r.ID, r.Epoch)
		if err != nil {
			return err
		}
		br.Fenced = true
		mark(&b.brokers, r.ID)
	case *UnfenceBrokerRecord:
		br, err := im.broker(r.ID, r.Epoch)
		if err != nil {
			return err
		}
		br.Fenced = false
		mark(&b.brokers, r.ID)
	case *BrokerRegistrationChangeRecord:
		br, err := im.broker(r.BrokerID, r.BrokerEpoch)
		if err != nil {
			return err
		}
		switch r.Fenced {
		case FencingFence:
			br.Fenced = true
		case FencingUnfence:
			br.Fenced = false
		case FencingUnchanged:
		default:
			return fmt.Errorf("fencing change %d: accepted are -1 (unfence), 0 (none), 1 (fence)", r.Fenced)
		}
		switch r.InControlledShutdown {
		case 0:
		case 1:
			br.InControlledShutdown = true
		default:
			return fmt.Errorf("in-controlled-shutdown %d: accepted are 0 (no change) and 1", r.InControlledShutdown)
		}
		mark(&b.brokers, r.BrokerID)
	case *TopicRecord:
		if _, ok := im.topics[r.Name]; ok {
			return fmt.Errorf("topic %q already exists", r.Name)
		}
		if name, ok := im.topicNames[r.TopicID]; ok {
			return fmt.Errorf("topic id %s already names topic %q", r.TopicID, name)
		}
		im.topics[r.Name] = &Topic{Name: r.Name, ID: r.TopicID}
		im.topicNames[r.TopicID] = r.Name
		mark(&b.newTopics, r.Name)
	case *RemoveTopicRecord:
		name, ok := im.topicNames[r.TopicID]
		if !ok {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		t := im.topics[name]
		for p := range t.Partitions {
			tp := model.TopicPartition{Topic: name, Partition: p}
			delete(im.partitions, tp)
			im.sorted = nil
			mark(&b.removedPartitions, tp)
		}
		delete(im.topics, name)
		delete(im.topicNames, r.TopicID)
		for k := range im.configs {
			if k.Type == TopicResource && k.Resource == name {
				delete(im.configs, k)
				mark(&b.configs, k)
			}
		}
		mark(&b.removedTopics, name)
	case *PartitionRecord:
		name, ok := im.topicNames[r.TopicID]
		if !ok {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		if err := checkPartition(r.Replicas, r.ISR, r.Leader); err != nil {
			return err
		}
		tp := model.TopicPartition{Topic: name, Partition: r.PartitionID}
		im.sorted = nil
		im.partitions[tp] = &Partition{
			Replicas: slices.Clone(r.Replicas), ISR: slices.Clone(r.ISR), ELR: slices.Clone(r.ELR),
			LastKnownELR: slices.Clone(r.LastKnownELR), Leader: r.Leader, LeaderRecoveryState: r.LeaderRecoveryState,
			LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch,
		}
		t := im.topics[name]
		t.Partitions = max(t.Partitions, r.PartitionID+1)
		mark(&b.partitions, tp)
	case *PartitionChangeRecord:
		name, ok := im.topicNames[r.TopicID]
		if !ok {
			return fmt.Errorf("unknown topic id %s", r.TopicID)
		}
		tp := model.TopicPartition{Topic: name, Partition: r.PartitionID}
		old, ok := im.partitions[tp]
		if !ok {
			return fmt.Errorf("unknown partition %s", tp)
		}
		p := old.Merge(r)
		if err := checkPartition(p.Replicas, p.ISR, p.Leader); err != nil {
			return err
		}
		im.partitions[tp] = p
		mark(&b.partitions, tp)
	case *ConfigRecord:
		if r.ResourceType != TopicResource && r.ResourceType != BrokerResource {
			return fmt.Errorf("config resource type %d: accepted are %d (topic) and %d (broker)", r.ResourceType, TopicResource, BrokerResource)
		}
		k := ConfigKey{Type: r.ResourceType, Resource: r.ResourceName, Name: r.Name}
		if r.Value == nil {
			delete(im.configs, k)
		} else {
			im.configs[k] = *r.Value
		}
		mark(&b.configs, k)
	default:
		return fmt.Errorf("record type %s is not applied by this image", r.Type())
	}
	return nil
}

// Merge returns the partition with a change record applied, as Kafka's
// PartitionRegistration.merge does: unset fields keep their value, the
// partition epoch always bumps, and the leader epoch bumps whenever the
// record sets the leader field.
func (p *Partition) Merge(r *PartitionChangeRecord) *Partition {
	n := p.clone()
	if r.ISR != nil {
		n.ISR = slices.Clone(r.ISR)
	}
	if r.Replicas != nil {
		n.Replicas = slices.Clone(r.Replicas)
	}
	if r.ELR != nil {
		n.ELR = slices.Clone(r.ELR)
	}
	if r.LastKnownELR != nil {
		n.LastKnownELR = slices.Clone(r.LastKnownELR)
	}
	if r.Leader != NoLeaderChange {
		n.Leader = r.Leader
		n.LeaderEpoch = p.LeaderEpoch + 1
	}
	if r.LeaderRecoveryState != NoRecoveryStateChange {
		n.LeaderRecoveryState = r.LeaderRecoveryState
	}
	n.PartitionEpoch = p.PartitionEpoch + 1
	return n
}

func checkPartition(replicas, isr []int32, leader int32) error {
	if len(replicas) == 0 {
		return fmt.Errorf("a partition needs at least one replica")
	}
	for _, id := range isr {
		if !slices.Contains(replicas, id) {
			return fmt.Errorf("ISR member %d is not among the replicas %v", id, replicas)
		}
	}
	if leader != NoLeader && !slices.Contains(replicas, leader) {
		return fmt.Errorf("leader %d is not among the replicas %v", leader, replicas)
	}
	return nil
}

func (im *Image) broker(id int32, epoch int64) (*BrokerRegistration, error) {
	br, ok := im.brokers[id]
	if !ok {
		return nil, fmt.Errorf("broker %d is not registered", id)
	}
	if br.Epoch != epoch {
		return nil, fmt.Errorf("broker %d has epoch %d, the record names epoch %d", id, br.Epoch, epoch)
	}
	return br, nil
}

// Broker returns a broker's registration.
func (im *Image) Broker(id int32) (BrokerRegistration, bool) {
	br, ok := im.brokers[id]
	if !ok {
		return BrokerRegistration{}, false
	}
	return *br, true
}

// Brokers returns the registered broker ids, sorted.
func (im *Image) Brokers() []int32 { return slices.Sorted(maps.Keys(im.brokers)) }

// Topic returns a topic by name.
func (im *Image) Topic(name string) (Topic, bool) {
	t, ok := im.topics[name]
	if !ok {
		return Topic{}, false
	}
	return *t, true
}

// TopicName returns the name of a topic id.
func (im *Image) TopicName(id Uuid) (string, bool) {
	n, ok := im.topicNames[id]
	return n, ok
}

// Topics returns the topic names, sorted.
func (im *Image) Topics() []string { return slices.Sorted(maps.Keys(im.topics)) }

// Partition returns a partition's registration. The pointer is the image's
// own: read it, never change it; a later Apply replaces, not mutates, it.
func (im *Image) Partition(tp model.TopicPartition) (*Partition, bool) {
	p, ok := im.partitions[tp]
	return p, ok
}

// Partitions returns every partition, sorted. The slice is the image's
// own: read it, never change it.
func (im *Image) Partitions() []model.TopicPartition {
	if im.sorted == nil {
		im.sorted = slices.SortedFunc(maps.Keys(im.partitions), model.TopicPartition.Compare)
	}
	return im.sorted
}

// Config returns one config value of a resource.
func (im *Image) Config(t ConfigResourceType, resource, name string) (string, bool) {
	v, ok := im.configs[ConfigKey{Type: t, Resource: resource, Name: name}]
	return v, ok
}

// TopicConfig returns a topic's config value, else the cluster-wide broker
// default (a broker config with an empty resource name), if either is set.
func (im *Image) TopicConfig(topic, name string) (string, bool) {
	if v, ok := im.Config(TopicResource, topic, name); ok {
		return v, true
	}
	return im.Config(BrokerResource, "", name)
}

// Clone returns a deep copy of the image.
func (im *Image) Clone() *Image {
	c := NewImage()
	c.offset = im.offset
	for id, b := range im.brokers {
		cb := *b
		c.brokers[id] = &cb
	}
	for n, t := range im.topics {
		ct := *t
		c.topics[n] = &ct
	}
	maps.Copy(c.topicNames, im.topicNames)
	for tp, p := range im.partitions {
		c.partitions[tp] = p.clone()
	}
	maps.Copy(c.configs, im.configs)
	return c
}
