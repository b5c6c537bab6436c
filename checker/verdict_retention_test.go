package checker

import (
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/stretchr/testify/assert"
)

// A retention skip is allowed by DeleteRecords when a leader's DeleteRecords
// deleted the skipped offset, and by retention.ms/retention.bytes when
// retention did, even on a topic with retention configured.
func TestRetentionSkipNamesWhatDeletedTheRecords(t *testing.T) {
	tp := model.TopicPartition{Topic: "t", Partition: 0}
	s := Settings{Topics: map[string]TopicSettings{"t": {RetentionMs: 600_000, RetentionBytes: -1, Deletes: true}}}
	f := Finding{Name: string(RetentionSkip), Class: DataLoss, TP: tp, Offsets: []int64{5, 7}, At: 10 * time.Second}
	byRetention := Event{At: time.Second, Kind: EventLogStart, TP: tp, Broker: 1, From: 0, To: 4, Reason: "retention.ms"}
	byDelete := Event{At: 2 * time.Second, Kind: EventLogStart, TP: tp, Broker: 1, From: 4, To: 9, Reason: ReasonDeleteRecords}
	follower := Event{At: 3 * time.Second, Kind: EventLogStart, TP: tp, Broker: 2, From: 0, To: 9, Reason: "leader-log-start-offset"}

	a, setting, i := explainLoss(f, []Event{byRetention, byDelete, follower}, s)
	assert.Equal(t, AllowRetention, a)
	assert.Equal(t, deleteRecordsSetting, setting)
	assert.Equal(t, 1, i, "the DeleteRecords event explains the loss, not the follower's move that followed it")

	byRetention.To = 9
	a, setting, _ = explainLoss(f, []Event{byRetention}, s)
	assert.Equal(t, AllowRetention, a)
	assert.Equal(t, "retention.ms=600000", setting)
}
