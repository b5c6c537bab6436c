package scenarios_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/checker"
)

// The verdict names DeleteRecords for the log start offsets the brokers
// report it moved: the two spell the reason alike.
func TestDeleteRecordsReasonIsTheVerdicts(t *testing.T) {
	assert.Equal(t, checker.ReasonDeleteRecords, broker.DeleteRecordsReason)
}
