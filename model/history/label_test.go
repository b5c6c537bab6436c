package history_test

import (
	"fmt"
	"testing"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/stretchr/testify/assert"
)

// A poll's tooltip names partitions and offset ranges, never every record: a label's length does not grow
// with the records a poll returned.
func TestOpLabelOfAPollStaysShort(t *testing.T) {
	part := history.PollPart{Topic: "orders", Partition: 2, Position: 1000}
	for i := range 5000 {
		part.Records = append(part.Records, history.Record{Offset: int64(1000 + i), Value: model.Bytes(fmt.Sprintf("producer-1:%d", i))})
	}
	op := &history.Op{ID: 7, Kind: history.KindPoll, Client: "consumer-1", Poll: &history.Poll{Parts: []history.PollPart{part, {Topic: "orders", Partition: 0, Position: 3}}}}
	assert.Equal(t, "op 7 orders-2@1000: 5000 records, offsets 1000..5999 orders-0@3: none", op.Label())
	send := &history.Op{ID: 8, Kind: history.KindSend, Outcome: history.Unknown, Error: "REQUEST_TIMED_OUT",
		Send: &history.Send{Topic: "orders", Partition: 1, Key: model.Bytes("k"), Value: model.Bytes("v"), Offset: -1}}
	assert.Equal(t, "op 8 orders-1 value=v key=k REQUEST_TIMED_OUT", send.Label())
}
