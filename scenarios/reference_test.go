package scenarios_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's configuration reference from the tables")

const (
	readmeBegin = "<!-- BEGIN kafkasim config: generated from the code's tables; go test ./scenarios -run TestReadmeConfig -update-readme rewrites it -->\n"
	readmeEnd   = "<!-- END kafkasim config -->\n"
)

// TestReadmeConfig holds the README's configuration reference to what the
// property, variant and bounds tables say (kafkasim config prints it).
func TestReadmeConfig(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	readme := string(data)
	before, rest, ok := strings.Cut(readme, readmeBegin)
	require.True(t, ok, "the README has no %q marker", readmeBegin)
	block, after, ok := strings.Cut(rest, readmeEnd)
	require.True(t, ok, "the README has no %q marker", readmeEnd)
	want := scenarios.Reference()
	if *updateReadme {
		require.NoError(t, os.WriteFile("../README.md", []byte(before+readmeBegin+want+readmeEnd+after), 0o644))
		return
	}
	require.Equal(t, want, block, "the README's configuration reference is stale: go test ./scenarios -run TestReadmeConfig -update-readme")
}
