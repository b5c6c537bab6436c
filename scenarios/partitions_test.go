package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/scenarios"
)

// TestTopicNamesAndIncreasesAreValidated: an internal topic's name, two
// topics whose names collide once '.' and '_' are one, add-partitions
// that do not raise the count, and a compression.type the role does not
// take are refused with Kafka's error and what is accepted, before
// anything runs.
func TestTopicNamesAndIncreasesAreValidated(t *testing.T) {
	topics := `"cluster": {"topics": [{"name": "orders", "partitions": 3}]}`
	for field, want := range map[string]string{
		`"cluster": {"topics": [{"name": "__transaction_state"}]}`:                                                                                                                      `cluster.topics[0].name: __transaction_state is one of Kafka's internal topics (__consumer_offsets, __transaction_state, __cluster_metadata)`,
		`"cluster": {"topics": [{"name": "__cluster_metadata"}]}`:                                                                                                                       `cluster.topics[0].name: __cluster_metadata is one of Kafka's internal topics`,
		`"cluster": {"topics": [{"name": "a.b"}, {"name": "a_b"}]}`:                                                                                                                     `cluster.topics[1].name: INVALID_TOPIC_EXCEPTION: Topic 'a_b' collides with existing topic: a.b`,
		topics + `, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "orders", "partitions": 2}]`:                                                                             `faults[0] (add-partitions): partitions: INVALID_PARTITIONS: The topic orders currently has 3 partition(s); 2 would not be an increase.`,
		topics + `, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "orders", "partitions": 3}]`:                                                                             `faults[0] (add-partitions): partitions: INVALID_PARTITIONS: Topic already has 3 partition(s).`,
		topics + `, "faults": [{"at": "9s", "kind": "add-partitions", "topic": "orders", "partitions": 5}, {"at": "5s", "kind": "add-partitions", "topic": "orders", "partitions": 6}]`: `faults[0] (add-partitions): partitions: INVALID_PARTITIONS: The topic orders currently has 6 partition(s); 5 would not be an increase.`,
		topics + `, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "nope", "partitions": 6}]`:                                                                               `faults[0] (add-partitions): topic: unknown topic "nope": the scenario's topics are orders`,
		topics + `, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "orders"}]`:                                                                                              `faults[0] (add-partitions): partitions: add-partitions needs the new partition count (1 or more), got 0`,
		topics + `, "faults": [{"at": "5s", "kind": "crash", "nodes": ["b1"], "topic": "orders"}]`:                                                                                      `faults[0] (crash): topic/partitions: only add-partitions takes them`,
		topics + `, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "orders", "partitions": 6000}]`:                                                                          `faults[0].partitions: 6000 is above the limit of 5000 partitions per topic`,
	} {
		_, err := scenarios.Parse("z.json", []byte(`{"name": "z", `+field+`}`))
		if assert.Error(t, err, field) {
			assert.Contains(t, err.Error(), want, field)
		}
	}
	_, err := scenarios.Parse("ok.json", []byte(`{"name": "ok", `+topics+`, "faults": [{"at": "5s", "kind": "add-partitions", "topic": "orders", "partitions": 4}, {"at": "9s", "kind": "add-partitions", "topic": "orders", "partitions": 8}]}`))
	assert.NoError(t, err)
}
