package broker

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/model"
)

// The znodes carry Kafka's JSON: a topic's id and assignment and a
// partition's state survive a round trip, and what does not decode is
// refused with what was wrong.
func TestZKZnodes(t *testing.T) {
	id := metadata.NewUuid(rand.New(rand.NewPCG(1, 2)))
	assignment := [][]int32{{1, 2, 3}, {2, 3, 1}}
	data := encodeTopic(id, assignment)
	assert.JSONEq(t, `{"version":3,"topic_id":"`+id.String()+`","partitions":{"0":[1,2,3],"1":[2,3,1]}}`, string(data))
	gotID, got, err := decodeTopic(data)
	require.NoError(t, err)
	assert.Equal(t, id, gotID)
	assert.Equal(t, assignment, got)
	_, _, err = decodeTopic([]byte(`{"version":3,"topic_id":"x","partitions":{}}`))
	assert.ErrorContains(t, err, "is not a Kafka Uuid")
	_, _, err = decodeTopic([]byte(`{"version":3,"topic_id":"` + id.String() + `","partitions":{"5":[1]}}`))
	assert.ErrorContains(t, err, `partition "5" out of 0..0`)

	state := encodeState(2, 7, []int32{2, 3}, 4)
	assert.JSONEq(t, `{"controller_epoch":4,"leader":2,"version":1,"leader_epoch":7,"isr":[2,3]}`, string(state))
	s, err := decodeState(state)
	require.NoError(t, err)
	assert.Equal(t, zkPartitionState{ControllerEpoch: 4, Leader: 2, Version: 1, LeaderEpoch: 7, ISR: []int32{2, 3}}, s)
	assert.JSONEq(t, `{"controller_epoch":1,"leader":-1,"version":1,"leader_epoch":0,"isr":[]}`, string(encodeState(-1, 0, nil, 1)))
	_, err = decodeState([]byte("nope"))
	assert.ErrorContains(t, err, `partition state "nope"`)

	c, err := decodeControllerID([]byte(`{"version":1,"brokerid":3,"timestamp":"5"}`))
	require.NoError(t, err)
	assert.Equal(t, int32(3), c)
	assert.Equal(t, "/brokers/topics/orders/partitions/1/state", ZKPartitionStatePath(model.TopicPartition{Topic: "orders", Partition: 1}))
	assert.Equal(t, "/brokers/ids/12", ZKBrokerPath(12))
	for _, s := range []string{"alter-partition", "zookeeper"} {
		m, err := ParseISRUpdateMode(s)
		require.NoError(t, err)
		assert.Equal(t, s, m.String())
	}
	_, err = ParseISRUpdateMode("zk")
	assert.ErrorContains(t, err, "accepted are alter-partition, zookeeper")
}
