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
	}
	want := `
GROUP  TOPIC PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG             CONSUMER-ID HOST CLIENT-ID
orders t     0          5               9               4               c1-abc      /c1  c1
orders t     1          -               3               -               -           -    -
`
	assert.Equal(t, want, client.FormatGroupDescription("orders", true, rows))
	assert.Contains(t, client.FormatGroupDescription("orders", false, nil), "Consumer group 'orders' has no active members.")
	assert.Equal(t, int64(0), client.GroupOffsetRow{CurrentOffset: 10, LogEndOffset: 8}.Lag(), "a committed offset past the end is no negative lag")
}
