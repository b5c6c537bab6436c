package detlint_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/internal/detlint"
)

// TestSimulatedCodeIsDeterministic fails when code that runs inside a
// simulation uses goroutines, channels, sync, wall-clock time or global
// randomness.
func TestSimulatedCodeIsDeterministic(t *testing.T) {
	// The checker's invariants and timeline sampling run inside simulations
	// too; the rest of checker (porcupine's wall-clock budget) does not.
	findings, err := detlint.Check("../../sim", "../../network", "../../broker",
		"../../checker/invariants.go", "../../model/timeline.go", "../../scenarios/fault")
	require.NoError(t, err)
	for _, f := range findings {
		t.Errorf("%s", f)
	}
}

func TestGuardCatchesEveryForbiddenConstruct(t *testing.T) {
	findings, err := detlint.Check("testdata/bad")
	require.NoError(t, err)
	var what []string
	for _, f := range findings {
		what = append(what, f.What)
	}
	assert.Equal(t, []string{
		`import "math/rand"`, `import "sync"`,
		"go statement", "channel type", "channel send", "channel receive", "select statement",
		"time.Now", "time.Sleep",
	}, what)
}
