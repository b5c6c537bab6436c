package broker

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
	"github.com/kafkasim/kafkasim/model"
)

// The znodes of ZooKeeper-mode Kafka, with the JSON Kafka writes in them.
const (
	// ZKBrokerIDsPath holds one ephemeral znode per live broker,
	// /brokers/ids/<id>; its czxid is the broker epoch (KIP-380).
	ZKBrokerIDsPath = "/brokers/ids"
	// ZKTopicsPath holds one znode per topic, /brokers/topics/<topic>, with
	// its replica assignment, and under it
	// partitions/<p>/state with the partition's leader and ISR.
	ZKTopicsPath = "/brokers/topics"
	// ZKControllerPath is the ephemeral znode of the active controller.
	ZKControllerPath = "/controller"
	// ZKControllerEpochPath holds the controller epoch; its zkVersion
	// fences the controller's writes (KAFKA-6082).
	ZKControllerEpochPath = "/controller_epoch"
	// ZKTopicConfigsPath holds each topic's configs, /config/topics/<topic>.
	ZKTopicConfigsPath = "/config/topics"
	// ZKIsrChangePath is where leaders that write ISR changes themselves
	// (before Kafka 2.7) leave sequential notifications for the
	// controller.
	ZKIsrChangePath = "/isr_change_notification"
)

// zkTopLevelPaths are the persistent paths every broker creates at start
// (KafkaZkClient.createTopLevelPaths), parents first.
var zkTopLevelPaths = []string{"/brokers", ZKBrokerIDsPath, ZKTopicsPath, "/config", ZKTopicConfigsPath, ZKIsrChangePath}

// ZKBrokerPath returns /brokers/ids/<id>.
func ZKBrokerPath(id int32) string { return ZKBrokerIDsPath + "/" + strconv.Itoa(int(id)) }

// ZKTopicPath returns /brokers/topics/<topic>.
func ZKTopicPath(topic string) string { return ZKTopicsPath + "/" + topic }

// ZKPartitionStatePath returns /brokers/topics/<topic>/partitions/<p>/state.
func ZKPartitionStatePath(tp model.TopicPartition) string {
	return ZKTopicPath(tp.Topic) + "/partitions/" + strconv.Itoa(int(tp.Partition)) + "/state"
}

// zkBrokerZnode is /brokers/ids/<id>'s data (version 5 of Kafka's format).
type zkBrokerZnode struct {
	Version   int      `json:"version"`
	Host      string   `json:"host"`
	Port      int      `json:"port"`
	JmxPort   int      `json:"jmx_port"`
	Timestamp string   `json:"timestamp"`
	Endpoints []string `json:"endpoints"`
}

// zkControllerZnode is /controller's data.
type zkControllerZnode struct {
	Version   int    `json:"version"`
	BrokerID  int32  `json:"brokerid"`
	Timestamp string `json:"timestamp"`
}

// zkTopicZnode is /brokers/topics/<topic>'s data: the assignment, and the
// topic id (KIP-516, Kafka 2.8).
type zkTopicZnode struct {
	Version    int                `json:"version"`
	TopicID    string             `json:"topic_id"`
	Partitions map[string][]int32 `json:"partitions"`
}

// zkPartitionState is a partition state znode's data.
type zkPartitionState struct {
	ControllerEpoch int32   `json:"controller_epoch"`
	Leader          int32   `json:"leader"`
	Version         int     `json:"version"`
	LeaderEpoch     int32   `json:"leader_epoch"`
	ISR             []int32 `json:"isr"`
}

// zkTopicConfigZnode is /config/topics/<topic>'s data.
type zkTopicConfigZnode struct {
	Version int               `json:"version"`
	Config  map[string]string `json:"config"`
}

// zkIsrChangeZnode is an ISR change notification's data.
type zkIsrChangeZnode struct {
	Version    int                `json:"version"`
	Partitions []zkIsrChangeEntry `json:"partitions"`
}

type zkIsrChangeEntry struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("zk znode encoding: %v", err))
	}
	return b
}

func encodeState(leader, leaderEpoch int32, isr []int32, controllerEpoch int32) []byte {
	return mustJSON(zkPartitionState{ControllerEpoch: controllerEpoch, Leader: leader, Version: 1, LeaderEpoch: leaderEpoch,
		ISR: nonNilIDs(isr)})
}

func nonNilIDs(ids []int32) []int32 {
	if ids == nil {
		return []int32{}
	}
	return slices.Clone(ids)
}

func decodeState(data []byte) (zkPartitionState, error) {
	var s zkPartitionState
	if err := json.Unmarshal(data, &s); err != nil {
		return s, fmt.Errorf("partition state %q: %w", data, err)
	}
	return s, nil
}

func encodeTopic(id metadata.Uuid, assignment [][]int32) []byte {
	z := zkTopicZnode{Version: 3, TopicID: id.String(), Partitions: map[string][]int32{}}
	for p, replicas := range assignment {
		z.Partitions[strconv.Itoa(p)] = replicas
	}
	return mustJSON(z)
}

// decodeTopic returns a topic's id and assignment, partition by partition.
func decodeTopic(data []byte) (metadata.Uuid, [][]int32, error) {
	var z zkTopicZnode
	var id metadata.Uuid
	if err := json.Unmarshal(data, &z); err != nil {
		return id, nil, fmt.Errorf("topic znode %q: %w", data, err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(z.TopicID)
	if err != nil || len(raw) != len(id) {
		return id, nil, fmt.Errorf("topic znode %q: topic_id %q is not a Kafka Uuid", data, z.TopicID)
	}
	copy(id[:], raw)
	out := make([][]int32, len(z.Partitions))
	for k, r := range z.Partitions {
		p, err := strconv.Atoi(k)
		if err != nil || p < 0 || p >= len(out) {
			return id, nil, fmt.Errorf("topic znode %q: partition %q out of 0..%d", data, k, len(out)-1)
		}
		out[p] = slices.Clone(r)
	}
	return id, out, nil
}

func decodeControllerID(data []byte) (int32, error) {
	var z zkControllerZnode
	if err := json.Unmarshal(data, &z); err != nil {
		return -1, fmt.Errorf("controller znode %q: %w", data, err)
	}
	return z.BrokerID, nil
}

// ZKImage builds a metadata image from a ZooKeeper data tree, as the
// ZooKeeper-mode controller's state stands there: a registered, unfenced
// broker for each /brokers/ids znode (epoch: its czxid), every topic of
// /brokers/topics with its configs, and every partition state (partition
// epoch: the state znode's zkVersion). The image's offset is the tree's
// last processed zxid. Znodes that do not decode are left out, and so is a
// partition without a state znode yet.
func ZKImage(tree *zookeeper.DataTree) *metadata.Image {
	im := metadata.NewImage()
	var recs []metadata.Record
	if ids, _, ok := tree.Children(ZKBrokerIDsPath); ok {
		for _, name := range ids {
			id, err := strconv.Atoi(name)
			if err != nil {
				continue
			}
			_, st, _ := tree.Get(ZKBrokerIDsPath + "/" + name)
			recs = append(recs, &metadata.RegisterBrokerRecord{BrokerID: int32(id), BrokerEpoch: int64(st.Czxid)})
		}
	}
	topics, _, _ := tree.Children(ZKTopicsPath)
	for _, t := range topics {
		data, _, ok := tree.Get(ZKTopicPath(t))
		if !ok {
			continue
		}
		id, assignment, err := decodeTopic(data)
		if err != nil {
			continue
		}
		recs = append(recs, &metadata.TopicRecord{Name: t, TopicID: id})
		if cdata, _, ok := tree.Get(ZKTopicConfigsPath + "/" + t); ok {
			var c zkTopicConfigZnode
			if json.Unmarshal(cdata, &c) == nil {
				for _, k := range slices.Sorted(maps.Keys(c.Config)) {
					v := c.Config[k]
					recs = append(recs, &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: t, Name: k, Value: &v})
				}
			}
		}
		for p, replicas := range assignment {
			tp := model.TopicPartition{Topic: t, Partition: int32(p)}
			sdata, st, ok := tree.Get(ZKPartitionStatePath(tp))
			if !ok {
				continue
			}
			s, err := decodeState(sdata)
			if err != nil {
				continue
			}
			recs = append(recs, &metadata.PartitionRecord{PartitionID: int32(p), TopicID: id, Replicas: replicas, ISR: s.ISR,
				Leader: s.Leader, LeaderEpoch: s.LeaderEpoch, PartitionEpoch: st.Version, LeaderRecoveryState: protocol.Recovered})
		}
	}
	// A record that does not fit (a state naming a replica outside the
	// assignment) stops Apply; what came before stays, which is what a
	// reader of a damaged tree can know.
	_, _ = im.Apply(recs, int64(tree.LastProcessedZxid()))
	return im
}

// ZKPartitionState reads a partition state znode from a data tree: its
// leader, leader epoch and zkVersion; ok is false when the znode is
// missing or does not decode.
func ZKPartitionState(tree *zookeeper.DataTree, tp model.TopicPartition) (leader, leaderEpoch, zkVersion int32, ok bool) {
	data, st, found := tree.Get(ZKPartitionStatePath(tp))
	if !found {
		return protocol.NoNode, protocol.NoEpoch, -1, false
	}
	s, err := decodeState(data)
	if err != nil {
		return protocol.NoNode, protocol.NoEpoch, -1, false
	}
	return s.Leader, s.LeaderEpoch, st.Version, true
}
