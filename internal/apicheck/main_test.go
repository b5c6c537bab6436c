package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pkg type-checks a one-file package from source.
func pkg(t *testing.T, fset *token.FileSet, path, src string) *types.Package {
	f, err := parser.ParseFile(fset, path+".go", src, 0)
	require.NoError(t, err)
	p, err := (&types.Config{}).Check(path, fset, []*ast.File{f}, nil)
	require.NoError(t, err)
	return p
}

func TestCompareFlagsIncompatibleChanges(t *testing.T) {
	fset := token.NewFileSet()
	old := map[string]*types.Package{
		"m/a": pkg(t, fset, "m/a", "package a\nfunc F() {}\ntype T struct{ A int }\n"),
		"m/b": pkg(t, fset, "m/b", "package b\nconst C = 1\n"),
	}
	cur := map[string]*types.Package{
		"m/a": pkg(t, fset, "m/a", "package a\nfunc F(x int) {}\ntype T struct{ A int }\nfunc G() {}\n"),
		"m/c": pkg(t, fset, "m/c", "package c\n"),
	}
	text, incompatible := compare(old, cur)
	assert.Equal(t, 2, incompatible, "%s", text)
	assert.Contains(t, text, "m/a:\n  incompatible: F: changed from func() to func(int)\n  compatible:   G: added\n")
	assert.Contains(t, text, "m/b: removed (incompatible)\n")
	assert.Contains(t, text, "m/c: a new package (compatible)\n")

	text, incompatible = compare(cur, cur)
	assert.Zero(t, incompatible)
	assert.Contains(t, text, "m/a: no change\n")
}

func TestSnapshotRoundTrip(t *testing.T) {
	fset := token.NewFileSet()
	pkgs := map[string]*types.Package{
		"m/a": pkg(t, fset, "m/a", "package a\n// F does nothing.\nfunc F(s []string) error { return nil }\ntype T struct{ A int; b string }\nfunc (T) M() {}\n"),
	}
	path := filepath.Join(t.TempDir(), "api.zip")
	require.NoError(t, writeSnapshot(path, fset, pkgs, "v0.1.0"))
	back, from, err := readSnapshot(path, token.NewFileSet())
	require.NoError(t, err)
	assert.Contains(t, from, "(taken on v0.1.0)")
	text, incompatible := compare(back, pkgs)
	assert.Zero(t, incompatible, "%s", text)
	assert.Equal(t, "m/a: no change\n", text)
	_, _, err = readSnapshot(filepath.Join(t.TempDir(), "none.zip"), fset)
	assert.ErrorContains(t, err, "read the API snapshot")
}
