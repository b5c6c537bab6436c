package checker_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// ownersHistory: consumer-1 owns orders-0 in generation 1; consumer-2
// joins at 10 s in generation 2 with orders-0 too, and consumer-1's
// generation is gen1 then (a zombie) or 2; consumer-1 polls at 20 s
// unless it died.
func ownersHistory(t *testing.T, gen1 int32, alive bool) []checker.Finding {
	r := history.NewRecorder(history.Header{})
	tp := model.TopicPartition{Topic: "orders", Partition: 0}
	r.Rebalance(time.Second, "consumer-1", 0, history.Membership{Group: "g", Member: "m1", Generation: 1, Assigned: []model.TopicPartition{tp}})
	if gen1 != 1 {
		r.Rebalance(9*time.Second, "consumer-1", 0, history.Membership{Group: "g", Member: "m1", Generation: gen1})
	}
	r.Rebalance(10*time.Second, "consumer-2", 0, history.Membership{Group: "g", Member: "m2", Generation: 2, Assigned: []model.TopicPartition{tp}})
	if alive {
		r.PollOK(r.InvokePoll(20*time.Second, "consumer-1", 0, "g"), 20*time.Second, nil)
	}
	h, err := r.History()
	require.NoError(t, err)
	var out []checker.Finding
	for _, f := range checker.Anomalies(h, checker.Run{}) {
		if f.Name == string(checker.PartitionOwnedTwice) {
			out = append(out, f)
		}
	}
	return out
}

func TestPartitionOwnedTwice(t *testing.T) {
	fs := ownersHistory(t, 2, true)
	require.Len(t, fs, 1, "both own orders-0 in generation 2")
	assert.Contains(t, fs[0].Message, "generation 2")
	assert.Empty(t, ownersHistory(t, 1, true), "a zombie of generation 1 next to the owner of generation 2 is Kafka's window, not a double assignment")
	assert.Empty(t, ownersHistory(t, 2, false), "an owner that records nothing after the overlap began had died")
}
