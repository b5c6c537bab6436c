package protocol_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
)

// TestRequestsAndResponsesAreDistinctTypes: every message is a Request or
// a Response, never both, and the responses are the ones Kafka names so.
func TestRequestsAndResponsesAreDistinctTypes(t *testing.T) {
	messages := []network.Message{
		&protocol.CreateTopics{}, &protocol.CreateTopicsResponse{}, &protocol.DeleteTopics{},
		&protocol.DeleteTopicsResponse{}, &protocol.ListGroups{}, &protocol.ListGroupsResponse{},
		&protocol.DescribeGroups{}, &protocol.DescribeGroupsResponse{}, &protocol.BrokerRegistration{},
		&protocol.BrokerRegistrationResponse{}, &protocol.BrokerHeartbeat{}, &protocol.BrokerHeartbeatResponse{},
		&protocol.ElectLeaders{}, &protocol.ElectLeadersResponse{}, &protocol.IncrementalAlterConfigs{},
		&protocol.IncrementalAlterConfigsResponse{}, &protocol.DescribeTopicPartitions{},
		&protocol.DescribeTopicPartitionsResponse{}, &protocol.DescribeCluster{},
		&protocol.DescribeClusterResponse{}, &protocol.FindCoordinator{}, &protocol.FindCoordinatorResponse{},
		&protocol.JoinGroup{}, &protocol.JoinGroupResponse{}, &protocol.SyncGroup{}, &protocol.SyncGroupResponse{},
		&protocol.Heartbeat{}, &protocol.HeartbeatResponse{}, &protocol.LeaveGroup{},
		&protocol.LeaveGroupResponse{}, &protocol.OffsetCommit{}, &protocol.OffsetCommitResponse{},
		&protocol.OffsetFetch{}, &protocol.OffsetFetchResponse{}, &protocol.Produce{}, &protocol.ProduceResponse{},
		&protocol.Fetch{}, &protocol.FetchResponse{}, &protocol.ListOffsets{}, &protocol.ListOffsetsResponse{},
		&protocol.OffsetsForLeaderEpoch{}, &protocol.OffsetsForLeaderEpochResponse{}, &protocol.AlterPartition{},
		&protocol.AlterPartitionResponse{}, &protocol.Metadata{}, &protocol.MetadataResponse{},
		&protocol.InitProducerId{}, &protocol.InitProducerIdResponse{}, &protocol.CreatePartitions{},
		&protocol.CreatePartitionsResponse{}, &protocol.DeleteRecords{}, &protocol.DeleteRecordsResponse{},
	}
	for _, m := range messages {
		_, request := m.(protocol.Request)
		_, response := m.(protocol.Response)
		assert.NotEqual(t, request, response, "%s must be a request or a response, not both or neither", m.Kind())
		assert.Equal(t, strings.HasSuffix(m.Kind(), "Response"), response, m.Kind())
	}
}
