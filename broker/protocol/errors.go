// Package protocol holds the vocabulary kafkasim's brokers, controllers and
// clients speak: Kafka's error codes and the requests and responses that
// travel over the simulated network.
package protocol

import (
	"fmt"
	"strconv"
)

// ErrorCode is a Kafka protocol error code, with Kafka's numbering.
type ErrorCode int16

// Kafka's error codes, as numbered in Kafka's protocol. Only the codes a
// simulated cluster can produce are listed.
const (
	UnknownServerError      ErrorCode = -1
	None                    ErrorCode = 0
	OffsetOutOfRange        ErrorCode = 1
	CorruptMessage          ErrorCode = 2
	UnknownTopicOrPartition ErrorCode = 3
	LeaderNotAvailable      ErrorCode = 5
	NotLeaderOrFollower     ErrorCode = 6
	RequestTimedOut         ErrorCode = 7
	BrokerNotAvailable      ErrorCode = 8
	ReplicaNotAvailable     ErrorCode = 9
	MessageTooLarge         ErrorCode = 10
	// StaleControllerEpoch: the request came from a controller older than
	// one the broker has heard from (ZooKeeper mode), or, per partition of
	// a LeaderAndIsr, carried a leader epoch not newer than the broker's.
	StaleControllerEpoch         ErrorCode = 11
	OffsetMetadataTooLarge       ErrorCode = 12
	NetworkException             ErrorCode = 13
	CoordinatorLoadInProgress    ErrorCode = 14
	CoordinatorNotAvailable      ErrorCode = 15
	NotCoordinator               ErrorCode = 16
	InvalidTopicException        ErrorCode = 17
	RecordListTooLarge           ErrorCode = 18
	NotEnoughReplicas            ErrorCode = 19
	NotEnoughReplicasAfterAppend ErrorCode = 20
	InvalidRequiredAcks          ErrorCode = 21
	IllegalGeneration            ErrorCode = 22
	InconsistentGroupProtocol    ErrorCode = 23
	InvalidGroupId               ErrorCode = 24
	UnknownMemberId              ErrorCode = 25
	InvalidSessionTimeout        ErrorCode = 26
	RebalanceInProgress          ErrorCode = 27
	InvalidCommitOffsetSize      ErrorCode = 28
	UnsupportedVersion           ErrorCode = 35
	TopicAlreadyExists           ErrorCode = 36
	InvalidPartitions            ErrorCode = 37
	InvalidReplicationFactor     ErrorCode = 38
	InvalidReplicaAssignment     ErrorCode = 39
	InvalidConfig                ErrorCode = 40
	NotController                ErrorCode = 41
	InvalidRequest               ErrorCode = 42
	OutOfOrderSequenceNumber     ErrorCode = 45
	DuplicateSequenceNumber      ErrorCode = 46
	InvalidProducerEpoch         ErrorCode = 47
	KafkaStorageError            ErrorCode = 56
	UnknownProducerId            ErrorCode = 59
	NonEmptyGroup                ErrorCode = 68
	GroupIdNotFound              ErrorCode = 69
	FetchSessionIdNotFound       ErrorCode = 70
	InvalidFetchSessionEpoch     ErrorCode = 71
	FencedLeaderEpoch            ErrorCode = 74
	UnknownLeaderEpoch           ErrorCode = 75
	StaleBrokerEpoch             ErrorCode = 77
	OffsetNotAvailable           ErrorCode = 78
	MemberIdRequired             ErrorCode = 79
	PreferredLeaderNotAvailable  ErrorCode = 80
	GroupMaxSizeReached          ErrorCode = 81
	FencedInstanceId             ErrorCode = 82
	EligibleLeadersNotAvailable  ErrorCode = 83
	ElectionNotNeeded            ErrorCode = 84
	InvalidRecord                ErrorCode = 87
	UnstableOffsetCommit         ErrorCode = 88
	ProducerFenced               ErrorCode = 90
	InconsistentVoterSet         ErrorCode = 94
	InvalidUpdateVersion         ErrorCode = 95
	DuplicateBrokerRegistration  ErrorCode = 101
	BrokerIdNotRegistered        ErrorCode = 102
	IneligibleReplica            ErrorCode = 107
	NewLeaderElected             ErrorCode = 108
	FencedMemberEpoch            ErrorCode = 110
	UnreleasedInstanceId         ErrorCode = 111
	UnsupportedAssignor          ErrorCode = 112
	StaleMemberEpoch             ErrorCode = 113
)

type errorInfo struct {
	name      string
	retriable bool
	text      string
}

var errorTable = map[ErrorCode]errorInfo{
	UnknownServerError:           {"UNKNOWN_SERVER_ERROR", false, "the server experienced an unexpected error"},
	None:                         {"NONE", false, ""},
	OffsetOutOfRange:             {"OFFSET_OUT_OF_RANGE", false, "the requested offset is outside the range the server holds"},
	CorruptMessage:               {"CORRUPT_MESSAGE", true, "a record failed its CRC check or is otherwise corrupt"},
	UnknownTopicOrPartition:      {"UNKNOWN_TOPIC_OR_PARTITION", true, "this server does not host this topic-partition"},
	LeaderNotAvailable:           {"LEADER_NOT_AVAILABLE", true, "there is no leader for this topic-partition (an election is under way)"},
	NotLeaderOrFollower:          {"NOT_LEADER_OR_FOLLOWER", true, "this server is not the leader or a follower of that topic-partition"},
	RequestTimedOut:              {"REQUEST_TIMED_OUT", true, "the request timed out; its outcome is unknown"},
	BrokerNotAvailable:           {"BROKER_NOT_AVAILABLE", false, "the broker is not available"},
	ReplicaNotAvailable:          {"REPLICA_NOT_AVAILABLE", true, "the replica is not available for the requested topic-partition"},
	MessageTooLarge:              {"MESSAGE_TOO_LARGE", false, "the request included a message larger than the server accepts"},
	StaleControllerEpoch:         {"STALE_CONTROLLER_EPOCH", false, "the request came from an older controller"},
	OffsetMetadataTooLarge:       {"OFFSET_METADATA_TOO_LARGE", false, "the metadata field of the offset commit is too large"},
	NetworkException:             {"NETWORK_EXCEPTION", true, "the server disconnected before a response was received"},
	CoordinatorLoadInProgress:    {"COORDINATOR_LOAD_IN_PROGRESS", true, "the coordinator is loading and cannot process requests yet"},
	CoordinatorNotAvailable:      {"COORDINATOR_NOT_AVAILABLE", true, "the coordinator is not available"},
	NotCoordinator:               {"NOT_COORDINATOR", true, "this is not the correct coordinator"},
	InvalidTopicException:        {"INVALID_TOPIC_EXCEPTION", false, "the request named an invalid topic"},
	RecordListTooLarge:           {"RECORD_LIST_TOO_LARGE", false, "the batch is larger than the configured segment size"},
	NotEnoughReplicas:            {"NOT_ENOUGH_REPLICAS", true, "fewer in-sync replicas than min.insync.replicas: nothing was written"},
	NotEnoughReplicasAfterAppend: {"NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "the records were written, but to fewer in-sync replicas than required"},
	InvalidRequiredAcks:          {"INVALID_REQUIRED_ACKS", false, "the produce request gave an invalid acks value"},
	IllegalGeneration:            {"ILLEGAL_GENERATION", false, "the group generation id is not valid"},
	InconsistentGroupProtocol:    {"INCONSISTENT_GROUP_PROTOCOL", false, "the member's protocols are incompatible with the group's"},
	InvalidGroupId:               {"INVALID_GROUP_ID", false, "the group id is invalid"},
	UnknownMemberId:              {"UNKNOWN_MEMBER_ID", false, "the coordinator is not aware of this member"},
	InvalidSessionTimeout:        {"INVALID_SESSION_TIMEOUT", false, "the session timeout is outside the range the broker allows"},
	RebalanceInProgress:          {"REBALANCE_IN_PROGRESS", false, "the group is rebalancing; the member must rejoin"},
	InvalidCommitOffsetSize:      {"INVALID_COMMIT_OFFSET_SIZE", false, "the committed offset data size is not valid"},
	UnsupportedVersion:           {"UNSUPPORTED_VERSION", false, "the version of the API is not supported"},
	TopicAlreadyExists:           {"TOPIC_ALREADY_EXISTS", false, "a topic with this name already exists"},
	InvalidPartitions:            {"INVALID_PARTITIONS", false, "the number of partitions is below 1"},
	InvalidReplicationFactor:     {"INVALID_REPLICATION_FACTOR", false, "the replication factor is below 1 or above the number of available brokers"},
	InvalidReplicaAssignment:     {"INVALID_REPLICA_ASSIGNMENT", false, "the replica assignment is invalid"},
	InvalidConfig:                {"INVALID_CONFIG", false, "the configuration is invalid"},
	NotController:                {"NOT_CONTROLLER", true, "this is not the active controller"},
	InvalidRequest:               {"INVALID_REQUEST", false, "the request is malformed"},
	OutOfOrderSequenceNumber:     {"OUT_OF_ORDER_SEQUENCE_NUMBER", false, "the broker received an out-of-order sequence number"},
	DuplicateSequenceNumber:      {"DUPLICATE_SEQUENCE_NUMBER", false, "the broker received a duplicate sequence number"},
	InvalidProducerEpoch:         {"INVALID_PRODUCER_EPOCH", false, "the producer's epoch is older than the broker's"},
	KafkaStorageError:            {"KAFKA_STORAGE_ERROR", true, "a disk error when accessing the log"},
	UnknownProducerId:            {"UNKNOWN_PRODUCER_ID", false, "the broker has no state for this producer id"},
	NonEmptyGroup:                {"NON_EMPTY_GROUP", false, "the group is not empty"},
	GroupIdNotFound:              {"GROUP_ID_NOT_FOUND", false, "the group id does not exist"},
	FetchSessionIdNotFound:       {"FETCH_SESSION_ID_NOT_FOUND", true, "the fetch session id was not found (evicted, or the broker restarted)"},
	InvalidFetchSessionEpoch:     {"INVALID_FETCH_SESSION_EPOCH", true, "the fetch session epoch is not the one the broker expects next"},
	FencedLeaderEpoch:            {"FENCED_LEADER_EPOCH", true, "the leader epoch in the request is older than the broker's"},
	UnknownLeaderEpoch:           {"UNKNOWN_LEADER_EPOCH", true, "the leader epoch in the request is newer than the broker's"},
	StaleBrokerEpoch:             {"STALE_BROKER_EPOCH", false, "the broker epoch has changed"},
	OffsetNotAvailable:           {"OFFSET_NOT_AVAILABLE", true, "the new leader's high-water mark has not caught up yet"},
	MemberIdRequired:             {"MEMBER_ID_REQUIRED", false, "the member needs a member id before joining the group"},
	PreferredLeaderNotAvailable:  {"PREFERRED_LEADER_NOT_AVAILABLE", true, "the preferred leader is not available"},
	GroupMaxSizeReached:          {"GROUP_MAX_SIZE_REACHED", false, "the consumer group has reached its maximum size"},
	FencedInstanceId:             {"FENCED_INSTANCE_ID", false, "another member with the same group.instance.id has registered"},
	EligibleLeadersNotAvailable:  {"ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "no eligible leader is available for the partition"},
	ElectionNotNeeded:            {"ELECTION_NOT_NEEDED", true, "no leader election is needed for the partition"},
	InvalidRecord:                {"INVALID_RECORD", false, "a record failed validation on the broker"},
	UnstableOffsetCommit:         {"UNSTABLE_OFFSET_COMMIT", true, "there are unstable offsets that need to be cleared"},
	ProducerFenced:               {"PRODUCER_FENCED", false, "a newer producer with the same transactional id fences this one"},
	InconsistentVoterSet:         {"INCONSISTENT_VOTER_SET", false, "the sender or recipient of a voter-only request is not an expected voter"},
	InvalidUpdateVersion:         {"INVALID_UPDATE_VERSION", false, "the update version (partition epoch) is invalid"},
	DuplicateBrokerRegistration:  {"DUPLICATE_BROKER_REGISTRATION", false, "this broker id is already in use"},
	BrokerIdNotRegistered:        {"BROKER_ID_NOT_REGISTERED", false, "the broker id is not registered"},
	IneligibleReplica:            {"INELIGIBLE_REPLICA", false, "the new ISR contains at least one ineligible replica"},
	NewLeaderElected:             {"NEW_LEADER_ELECTED", false, "the AlterPartition succeeded but the leader has changed"},
	FencedMemberEpoch:            {"FENCED_MEMBER_EPOCH", false, "the member epoch is fenced by the group coordinator"},
	UnreleasedInstanceId:         {"UNRELEASED_INSTANCE_ID", false, "the instance id is still used by another member"},
	UnsupportedAssignor:          {"UNSUPPORTED_ASSIGNOR", false, "the assignor is not supported by the consumer group"},
	StaleMemberEpoch:             {"STALE_MEMBER_EPOCH", false, "the member epoch is stale"},
}

// String returns Kafka's name of the code, such as NOT_LEADER_OR_FOLLOWER.
func (e ErrorCode) String() string {
	if i, ok := errorTable[e]; ok {
		return i.name
	}
	return "ERROR_" + strconv.Itoa(int(e))
}

// Retriable reports whether Kafka's clients retry a request that failed
// with this code.
func (e ErrorCode) Retriable() bool { return errorTable[e].retriable }

// Description says what the code means.
func (e ErrorCode) Description() string { return errorTable[e].text }

// Error makes a non-NONE code usable as a Go error.
func (e ErrorCode) Error() string {
	if d := e.Description(); d != "" {
		return e.String() + ": " + d
	}
	return e.String()
}

// Format prints the code's name for %s and %v, so that messages and traces
// read NOT_LEADER_OR_FOLLOWER rather than the long description; %+v adds
// the description.
// Numeric verbs (%d, %x) print the code's number.
func (e ErrorCode) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('+'):
		fmt.Fprint(f, e.Error())
	case verb == 's' || verb == 'v' || verb == 'q':
		fmt.Fprintf(f, fmt.FormatString(f, verb), e.String())
	default:
		fmt.Fprintf(f, fmt.FormatString(f, verb), int16(e))
	}
}

// Err returns nil for None and the code itself otherwise.
func (e ErrorCode) Err() error {
	if e == None {
		return nil
	}
	return e
}

// ParseErrorCode returns the code with Kafka's name, such as
// "NOT_ENOUGH_REPLICAS".
func ParseErrorCode(name string) (ErrorCode, bool) {
	for c, i := range errorTable {
		if i.name == name {
			return c, true
		}
	}
	return 0, false
}
