package reports

import (
	"fmt"
	"testing"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/stretchr/testify/assert"
)

// The lanes of a one-minute run at 15,000 records/s (900,000 sends and 1,800 polls of 500 records) stay far
// below the report's 20 MB: the lanes show at most MaxOps operations, each with a short label.
func TestLanesOfAHeavyRunStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 900,000 operations")
	}
	h := &history.History{}
	id := int64(0)
	for i := range 900_000 {
		at := time.Duration(i) * time.Minute / 900_000
		h.Ops = append(h.Ops, history.Op{ID: id, Kind: history.KindSend, Client: fmt.Sprintf("producer-%d", i%3), Invoke: at, Complete: at + 3*time.Millisecond,
			Send: &history.Send{Topic: "orders", Partition: int32(i % 3), Value: model.Bytes(fmt.Sprintf("producer-%d:%d", i%3, i)), Offset: int64(i / 3)}})
		id++
		if i%500 == 0 {
			part := history.PollPart{Topic: "orders", Partition: int32(i % 3), Position: int64(i / 3)}
			for j := range 500 {
				part.Records = append(part.Records, history.Record{Offset: int64(i/3 + j), Value: model.Bytes(fmt.Sprintf("producer-0:%d", i+j))})
			}
			h.Ops = append(h.Ops, history.Op{ID: id, Kind: history.KindPoll, Client: fmt.Sprintf("consumer-%d", i%3), Invoke: at, Complete: at + 100*time.Millisecond,
				Poll: &history.Poll{Parts: []history.PollPart{part}}})
			id++
		}
	}
	js, shown, note := encodeLanes(lanes(h), time.Minute)
	assert.LessOrEqual(t, shown, MaxOps+len(h.Ops)/MaxOps)
	assert.Contains(t, note, "the lanes show")
	assert.Less(t, len(js), 15<<20, "the lanes' data alone is %d bytes", len(js))
}
