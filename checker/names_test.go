package checker_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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

// TestFindingsAreNamedByConstants reads the checkers' source: every
// finding is named with a registered constant, never a string literal (a
// literal converts silently to FindingName, so only this test catches a
// typo in one), and every registered name is given by some checker.
func TestFindingsAreNamedByConstants(t *testing.T) {
	fset := token.NewFileSet()
	consts := registeredConstants(t, fset)
	require.Len(t, consts, len(checker.Registry), "each registered name has one constant in names.go")
	paths, err := filepath.Glob("*.go")
	require.NoError(t, err)
	var files []*ast.File
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") || p == "names.go" {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, f)
	}
	problems, used := namingProblems(fset, files, consts)
	for _, p := range problems {
		t.Error(p)
	}
	for name, value := range consts {
		assert.True(t, used[name], "the registry lists %s (%q), which no checker produces", name, value)
	}

	// The rules catch what they are for.
	bad, err := parser.ParseFile(fset, "bad.go", `package checker
func f(fs []Finding) {
	fs = append(fs, Finding{Name: "lost-writes"})
	fs[0].Name = "G1a"
	add := func(name FindingName, msg string) {}
	add("poll-skipp", "")
	var n FindingName = "duplicate"
	_ = n
}`, 0)
	require.NoError(t, err)
	problems, _ = namingProblems(fset, []*ast.File{bad}, consts)
	assert.Len(t, problems, 5, "%s", strings.Join(problems, "\n"))
}

// registeredConstants returns the FindingName constants names.go declares,
// by identifier.
func registeredConstants(t *testing.T, fset *token.FileSet) map[string]string {
	f, err := parser.ParseFile(fset, "names.go", nil, parser.SkipObjectResolution)
	require.NoError(t, err)
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "FindingName" {
				continue
			}
			for i, n := range vs.Names {
				lit := vs.Values[i].(*ast.BasicLit)
				v, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out[n.Name] = v
			}
		}
	}
	return out
}

// namingProblems finds the places where source names a finding with a
// string literal: a Finding's Name, an assignment to a Name field, an
// argument passed for a FindingName parameter, or any literal that spells a
// registered name. It also returns which constants the source refers to.
func namingProblems(fset *token.FileSet, files []*ast.File, consts map[string]string) (problems []string, used map[string]bool) {
	used = map[string]bool{}
	values := map[string]bool{}
	for _, v := range consts {
		values[v] = true
	}
	bad := func(n ast.Node, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s: ", fset.Position(n.Pos()))+fmt.Sprintf(format, args...))
	}
	// byConstant reports whether e is string(x) for an identifier x: a
	// FindingName constant or variable converted to the field's string.
	byConstant := func(e ast.Expr) bool {
		c, ok := e.(*ast.CallExpr)
		if !ok || len(c.Args) != 1 {
			return false
		}
		fn, ok := c.Fun.(*ast.Ident)
		_, arg := c.Args[0].(*ast.Ident)
		return ok && fn.Name == "string" && arg
	}
	isFindingName := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == "FindingName" }
	// Functions (declared or assigned literals) with FindingName
	// parameters, by name: which argument positions take a name.
	takes := map[string][]int{}
	params := func(name string, ft *ast.FuncType) {
		i := 0
		for _, p := range ft.Params.List {
			n := max(len(p.Names), 1)
			if isFindingName(p.Type) {
				for k := range n {
					takes[name] = append(takes[name], i+k)
				}
			}
			i += n
		}
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				params(n.Name.Name, n.Type)
			case *ast.AssignStmt:
				for i, r := range n.Rhs {
					if fl, ok := r.(*ast.FuncLit); ok && i < len(n.Lhs) {
						if id, ok := n.Lhs[i].(*ast.Ident); ok {
							params(id.Name, fl.Type)
						}
					}
				}
			}
			return true
		})
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				if _, ok := consts[n.Name]; ok {
					used[n.Name] = true
				}
			case *ast.BasicLit:
				if v, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && values[v] {
					bad(n, "the literal %s spells a finding name: use its constant", n.Value)
				}
			case *ast.CompositeLit:
				if id, ok := n.Type.(*ast.Ident); ok && id.Name == "Finding" {
					for _, el := range n.Elts {
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" && !byConstant(kv.Value) {
								bad(kv, "name the finding with string(<FindingName constant>)")
							}
						}
					}
				}
			case *ast.AssignStmt:
				for i, l := range n.Lhs {
					if s, ok := l.(*ast.SelectorExpr); ok && s.Sel.Name == "Name" && i < len(n.Rhs) && !byConstant(n.Rhs[i]) {
						bad(n, "name the finding with string(<FindingName constant>)")
					}
				}
			case *ast.CallExpr:
				var name string
				switch fn := n.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				}
				for _, i := range takes[name] {
					if i < len(n.Args) {
						if _, lit := n.Args[i].(*ast.BasicLit); lit {
							bad(n.Args[i], "%s takes a FindingName: pass a registered constant, not a literal", name)
						}
					}
				}
			}
			return true
		})
	}
	return problems, used
}
