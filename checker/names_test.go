package checker_test

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
)

func TestRegistryIsComplete(t *testing.T) {
	require.NotEmpty(t, checker.Registry)
	assert.True(t, slices.IsSorted(checker.FindingNames), "FindingNames is sorted: KnownFinding searches it")
	assert.Len(t, checker.FindingNames, len(checker.Registry))
	for i, f := range checker.Registry {
		assert.Equal(t, string(f.Name), checker.FindingNames[i])
		if i > 0 {
			assert.NotEqual(t, checker.Registry[i-1].Name, f.Name, "%s is registered twice", f.Name)
		}
		assert.NotEmpty(t, f.Classes, "%s: which classes can it take?", f.Name)
		assert.True(t, slices.IsSorted(f.Classes), "%s: list its classes most serious first", f.Name)
		assert.Equal(t, len(f.Classes), len(slices.Compact(slices.Clone(f.Classes))), "%s: a class is listed twice", f.Name)
		assert.NotEmpty(t, f.Meaning, "%s: what does it mean?", f.Name)
		assert.NotContains(t, f.Meaning, "\n", "%s: its meaning is one line", f.Name)
		assert.NotContains(t, f.Meaning, "|", "%s: its meaning is a Markdown table cell", f.Name)
		info, ok := checker.Info(string(f.Name))
		assert.True(t, ok)
		assert.Equal(t, f, info)
	}
	assert.True(t, checker.KnownFinding("lost-write"))
	assert.False(t, checker.KnownFinding("lost-writes"))
	_, ok := checker.Info("")
	assert.False(t, ok)
}

// TestReadmeListsTheRegistry: the README's list of findings, between its
// marker comments, is the registry's. `go test ./checker -run Readme
// -rewrite` writes it.
func TestReadmeListsTheRegistry(t *testing.T) {
	const begin, end = "<!-- findings:begin (generated from checker.Registry) -->\n", "<!-- findings:end -->\n"
	const path = "../README.md"
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	readme := string(b)
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	require.True(t, i >= 0 && j > i, "the README marks its list of findings with %q and %q", begin, end)
	want := checker.FindingsMarkdown()
	got := readme[i+len(begin) : j]
	if rw := flag.Lookup("rewrite"); rw != nil && rw.Value.String() == "true" && got != want {
		require.NoError(t, os.WriteFile(path, []byte(readme[:i+len(begin)]+want+readme[j:]), 0o644))
		return
	}
	assert.Equal(t, want, got, "the README's list of findings is stale: go test ./checker -run Readme -rewrite")
}

// requireRegistered fails unless every finding carries a registered name
// and one of the classes the registry gives it.
func requireRegistered(t interface{ Fatalf(string, ...any) }, fs []checker.Finding) {
	for _, f := range fs {
		info, ok := checker.Info(f.Name)
		if !ok {
			t.Fatalf("finding %q is not in checker.Registry: %s", f.Name, f.String())
		}
		if !slices.Contains(info.Classes, f.Class) {
			t.Fatalf("finding %s has class %s, which checker.Registry does not give it (%v): %s", f.Name, f.Class, info.Classes, f.String())
		}
	}
}
