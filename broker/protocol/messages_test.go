package protocol_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/network"
)

// TestRequestsAndResponsesAreDistinctTypes: every message is a Request or
// a Response, never both, and the responses are the ones Kafka names so.
func TestRequestsAndResponsesAreDistinctTypes(t *testing.T) {
	for _, m := range allMessages {
		_, request := m.(protocol.Request)
		_, response := m.(protocol.Response)
		assert.NotEqual(t, request, response, "%s must be a request or a response, not both or neither", m.Kind())
		assert.Equal(t, strings.HasSuffix(m.Kind(), "Response"), response, m.Kind())
	}
}

// allMessages holds one of each message.
var allMessages = []network.Message{
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

// TestForwardableRequests: the admin requests a broker forwards to the
// controller (KIP-590) are forwardable, their responses can be passed
// back, and nothing else is either.
func TestForwardableRequests(t *testing.T) {
	forwardable := []string{"CreateTopics", "DeleteTopics", "ElectLeaders", "IncrementalAlterConfigs", "CreatePartitions"}
	for _, m := range allMessages {
		_, isRequest := m.(protocol.ForwardableRequest)
		_, isResponse := m.(protocol.ForwardedResponse)
		kind := strings.TrimSuffix(m.Kind(), "Response")
		assert.Equal(t, slices.Contains(forwardable, kind), isRequest || isResponse, m.Kind())
	}
}

// TestWithCorrelationIDCopies: a forwarded copy carries the new
// correlation id and all else of the original, which keeps its own id.
func TestWithCorrelationIDCopies(t *testing.T) {
	req := &protocol.CreateTopics{CorrelationID: 3, Topics: []protocol.CreatableTopic{{Name: "t", NumPartitions: 2}}}
	fwd := req.WithCorrelationID(40).(*protocol.CreateTopics)
	assert.Equal(t, int32(3), req.CorrelationID)
	assert.Equal(t, int32(40), fwd.CorrelationID)
	assert.Equal(t, req.Topics, fwd.Topics)

	resp := &protocol.ElectLeadersResponse{CorrelationID: 40, Error: protocol.NotController}
	back := resp.WithCorrelationID(3).(*protocol.ElectLeadersResponse)
	assert.Equal(t, int32(40), resp.CorrelationID)
	assert.Equal(t, int32(3), back.CorrelationID)
	assert.Equal(t, protocol.NotController, back.Error)
}
