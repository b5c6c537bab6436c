package kraft_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/kraft"
)

// TestSetters proves the quorum's setters and the property table agree,
// and that the defaults are Kafka's.
func TestSetters(t *testing.T) {
	require.NoError(t, kraft.Setters.Check())
	require.NoError(t, kraft.Setters.Defaults(kraft.DefaultConfig()))
}
