package scenarios_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

// TestReadmeScenarios parses every JSON block of the README as a scenario
// and runs it: an example users copy must be valid and show what it says it
// expects.
func TestReadmeScenarios(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(readme, -1)
	require.NotEmpty(t, blocks, "the README shows the scenario format")
	for i, b := range blocks {
		s, err := scenarios.Parse("README.md block "+string(rune('1'+i)), b[1])
		require.NoError(t, err)
		res, err := scenarios.Run(s, scenarios.Options{})
		require.NoError(t, err)
		ok, why := res.Expected()
		assert.True(t, ok, "README scenario %s: %s (replay: %s)", s.Name, why, res.Replay)
	}
}

// TestReadmeGoExample: the README's Go example is the source of a test of
// this package, verbatim, so it compiles and passes.
func TestReadmeGoExample(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	src, err := os.ReadFile("readme_example_test.go")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllSubmatch(readme, -1)
	require.NotEmpty(t, blocks)
	for _, b := range blocks {
		assert.Contains(t, string(src), string(b[1]), "README's Go example differs from readme_example_test.go")
	}
}
