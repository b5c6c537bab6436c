package checker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// acks1History: an acks=1 producer writes a@0 and b@1; the leader dies
// before a follower copies b, and the new leader writes c at offset 1,
// which the final log holds. With extra, a consumer also reads x at
// offset 0, a record nobody sent.
func acks1History(t *testing.T, extra bool) *history.History {
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	r := history.NewRecorder(history.Header{})
	send := func(at time.Duration, v string, offset int64) {
		id := r.InvokeSend(at, "producer-1", 0, history.Send{Topic: tp.Topic, Partition: tp.Partition, Value: model.Bytes(v), Acks: model.AcksLeader})
		r.SendOK(id, at+time.Millisecond, offset)
	}
	send(time.Second, "a", 0)
	send(2*time.Second, "b", 1)
	send(5*time.Second, "c", 1)
	if extra {
		id := r.InvokePoll(6*time.Second, "consumer-1", 0, "")
		r.PollOK(id, 6*time.Second+time.Millisecond, []history.PollPart{{Topic: tp.Topic, Partition: tp.Partition, Position: 0,
			Records: []history.Record{{Offset: 0, LeaderEpoch: -1, Value: model.Bytes("x")}}}})
	}
	h, err := r.History()
	require.NoError(t, err)
	h.Partitions = []history.PartitionState{{TP: tp, Metadata: model.PartitionMetadata{Replicas: []int32{1, 2}, ISR: []int32{2}, Leader: 2, LeaderEpoch: 1}}}
	h.Replicas = []history.ReplicaState{{TP: tp, Broker: 2, Online: true, Leader: true, LeaderEpoch: 1, HighWatermark: 2, LogEndOffset: 2,
		Records: []history.Record{{Offset: 0, LeaderEpoch: 0, Value: model.Bytes("a")}, {Offset: 1, LeaderEpoch: 1, Value: model.Bytes("c")}}}}
	return h
}

func acks1Verdict(t *testing.T, extra bool) *Verdict {
	h := acks1History(t, extra)
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	return NewVerdict(VerdictInput{Report: Check(h, Options{}), History: h, UserPartitions: []model.TopicPartition{tp},
		Settings: Settings{Topics: map[string]TopicSettings{"t": {MinInsyncReplicas: 1}}}})
}

// A refuted linearizability that only the loss acks=1 allowed explains is
// named so; one that an anomaly beyond the loss also breaks is not.
func TestVerdictNamesWhatExplainsANonlinearizableHistory(t *testing.T) {
	v := acks1Verdict(t, false)
	require.Equal(t, "illegal", v.Linearizability, "two acknowledged sends claim offset 1")
	require.Equal(t, 1, v.Lost)
	assert.Equal(t, []AllowanceCount{{Allowance: AllowAcks, Setting: string(AllowAcks), Records: 1}}, v.LinearizabilityExplainedBy)
	assert.Equal(t, "1 record lost (1 allowed by acks=1); not linearizable because of the 1 record acks=1 allowed to be lost", v.Summary())
	assert.False(t, v.OK)

	v = acks1Verdict(t, true)
	require.Equal(t, "illegal", v.Linearizability)
	assert.Empty(t, v.LinearizabilityExplainedBy, "x at offset 0 breaks linearizability whatever acks=1 allowed")
	assert.NotContains(t, v.Summary(), "because of")
	assert.Contains(t, v.Summary(), "nonlinearizable")
}
