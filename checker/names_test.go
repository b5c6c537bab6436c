package checker_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
)

// TestFindingNamesMatchTheSource keeps the list honest: every name the
// checkers' source gives a finding is listed, and every listed name is
// given somewhere.
func TestFindingNamesMatchTheSource(t *testing.T) {
	assert.True(t, slices.IsSorted(checker.FindingNames), "keep FindingNames sorted: KnownFinding searches it")
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	named := regexp.MustCompile(`(\bbad|\badd|Name:|name :?=|Name =|name =) *\(?"([A-Za-z0-9-]+)"`)
	inSource := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "names.go" {
			continue
		}
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range named.FindAllStringSubmatch(string(b), -1) {
			inSource[m[2]] = true
		}
	}
	require.NotEmpty(t, inSource)
	delete(inSource, checker.CheckName) // the invariant checker's own name
	for name := range inSource {
		assert.True(t, checker.KnownFinding(name), "the source names a finding %q that FindingNames does not list", name)
	}
	for _, name := range checker.FindingNames {
		assert.True(t, inSource[name], "FindingNames lists %q, which no checker produces", name)
	}
	assert.False(t, checker.KnownFinding("lost-writes"))
}
