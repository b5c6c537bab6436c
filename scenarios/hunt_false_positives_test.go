package scenarios

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hunt seeds that were once false positives, written out as scenarios:
// in most, a power loss without fsync lost or rewrote committed records,
// which Kafka's configuration allows, yet an invariant stopped the run
// before the verdict could say so, or the final check took the replicas'
// disagreement for a broken guarantee; in standard-653-buggify, an
// idempotent producer's epoch bump after a gap (KIP-360) wrote a batch
// twice, as Kafka's producer does, and the checker took it for a broken
// guarantee; in standard-216-buggify, a broker restarted with a previous
// incarnation's checkpointed high-water mark; in standard-35-buggify, the
// quorum check took a voter that granted a pre-vote after a fetch timeout
// for a healthy one. Each must now run to its
// end, meet its expectation (the loss, allowed; the note's mark; the
// duplicate, expected) and not be a false positive.
func TestHuntFalsePositivesStayFixed(t *testing.T) {
	if testing.Short() {
		t.Skip("runs seven hunt seeds")
	}
	files, err := filepath.Glob("testdata/hunt-false-positives/*.json")
	require.NoError(t, err)
	require.Len(t, files, 7)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s, err := Load(f)
			require.NoError(t, err)
			res, err := Run(s, Options{NoTimeline: true})
			require.NoError(t, err)
			assert.Nil(t, res.Stopped, "no invariant stops the run")
			fp, why := FalsePositive(res)
			assert.False(t, fp, why)
			ok, msg := res.Expected()
			assert.True(t, ok, msg)
		})
	}
}
