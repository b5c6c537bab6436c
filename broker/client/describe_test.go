package client_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/broker/client"
)

func TestFormatGroupDescription(t *testing.T) {
	rows := []client.GroupOffsetRow{
		{Group: "orders", Topic: "t", Partition: 0, CurrentOffset: 5, LogEndOffset: 9, ConsumerID: "c1-abc", Host: "/c1", ClientID: "c1"},
		{Group: "orders", Topic: "t", Partition: 1, CurrentOffset: -1, LogEndOffset: 3},
		{Group: "orders", Topic: "t", Partition: 2, CurrentOffset: 12, LogEndOffset: 10},
	}
	want := `
GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID     HOST            CLIENT-ID
orders          t               0          5               9               4               c1-abc          /c1             c1
orders          t               1          -               3               -               -               -               -
orders          t               2          12              10              -2              -               -               -
`
	assert.Equal(t, want, client.FormatGroupDescription("orders", "Stable", rows))
	assert.Equal(t, "\nConsumer group 'orders' has no active members.\n"+want, client.FormatGroupDescription("orders", "Empty", rows))
	assert.Equal(t, "\nWarning: Consumer group 'orders' is rebalancing.\n", client.FormatGroupDescription("orders", "PreparingRebalance", nil))
	assert.Equal(t, "\nError: Consumer group 'orders' does not exist.\n", client.FormatGroupDescription("orders", "Dead", rows))
	lag, ok := rows[2].Lag()
	assert.True(t, ok)
	assert.Equal(t, int64(-2), lag, "a committed offset past the log end shows as negative lag, as in Kafka's tool")
	_, ok = rows[1].Lag()
	assert.False(t, ok)

	long := []client.GroupOffsetRow{{Group: "a-rather-long-group-name", Topic: "t", CurrentOffset: 1, LogEndOffset: 1,
		ConsumerID: "consumer-1-0123456789abcdef", Host: "/consumer-1", ClientID: "consumer-1"}}
	assert.Equal(t, `
GROUP                    TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID                 HOST            CLIENT-ID
a-rather-long-group-name t               0          1               1               0               consumer-1-0123456789abcdef /consumer-1     consumer-1
`, client.FormatGroupDescription("a-rather-long-group-name", "Stable", long), "columns widen to their longest value")
}

func TestFormatTopicDescriptions(t *testing.T) {
	topics := []client.TopicDescription{{Name: "orders", TopicID: [16]byte{1, 2, 3}, Partitions: []client.PartitionDescription{
		{Partition: 0, Leader: 1, LeaderEpoch: 3, PartitionEpoch: 7, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}, ELR: []int32{3}},
		{Partition: 1, Leader: -1, LeaderEpoch: 4, PartitionEpoch: 9, Replicas: []int32{2, 3, 1}, ISR: []int32{2}, LastKnownELR: []int32{2},
			Offline: []int32{2, 3}},
		{Partition: 2, Leader: 3, LeaderEpoch: 5, PartitionEpoch: 5, Replicas: []int32{3, 1, 2}, ISR: []int32{3}, Recovering: true},
	}}}
	want := "Topic: orders\tTopicId: AQIDAAAAAAAAAAAAAAAAAA\tPartitionCount: 3\tReplicationFactor: 3\n" +
		"\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tElr: 3\tLastKnownElr: \tLeaderEpoch: 3\tPartitionEpoch: 7\n" +
		"\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: 2\tElr: \tLastKnownElr: 2\tLeaderEpoch: 4\tPartitionEpoch: 9\tOffline: 2,3\n" +
		"\tTopic: orders\tPartition: 2\tLeader: 3\tReplicas: 3,1,2\tIsr: 3\tElr: \tLastKnownElr: \tLeaderEpoch: 5\tPartitionEpoch: 5\tRecovering: true\n"
	assert.Equal(t, want, client.FormatTopicDescriptions(topics))
}
