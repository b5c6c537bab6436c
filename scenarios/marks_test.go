package scenarios_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

func TestMarksRegistry(t *testing.T) {
	marks := scenarios.Marks()
	require.Greater(t, len(marks), 100)
	for i, m := range marks {
		if i > 0 {
			assert.Less(t, marks[i-1].Name, m.Name, "%s is registered twice, or out of order", m.Name)
		}
		assert.NotEmpty(t, m.Meaning, "%s: what does reaching it show?", m.Name)
		assert.NotContains(t, m.Meaning, "\n", "%s: its meaning is one line", m.Name)
		assert.NotContains(t, m.Name, "*", "%s", m.Name)
		assert.True(t, scenarios.KnownMark(m.Name))
	}
	assert.False(t, scenarios.KnownMark("controller.election.uncleen"))
	for _, st := range scenarios.States {
		assert.NotEmpty(t, st.Meaning, "state %s", st.Name)
		require.NotEmpty(t, st.Marks, "state %s", st.Name)
		for _, m := range st.Marks {
			assert.True(t, scenarios.KnownMark(m), "state %s counts mark %q, which is not registered", st.Name, m)
		}
	}
}

// TestEveryMarkIsRegistered reads the tree's source: every Mark call's
// name (a constant, or a constant prefix and an enumerated rest) is a
// registered mark, and every registered mark is fired somewhere.
func TestEveryMarkIsRegistered(t *testing.T) {
	var registered []string
	for _, m := range scenarios.Marks() {
		registered = append(registered, m.Name)
	}
	sites, problems := markSites(t, "..", nil)
	for _, p := range problems {
		t.Error(p)
	}
	require.Greater(t, len(sites), 100)
	fired := map[string]bool{}
	exact := map[string]bool{}
	for _, s := range sites {
		if !strings.Contains(s.pattern, "*") {
			exact[s.pattern] = true
		}
	}
	for _, s := range sites {
		re := s.regexp()
		var matched []string
		for _, name := range registered {
			// A family (a constant prefix and a rest computed at run
			// time) owns the names no call fires by their full name.
			if re.MatchString(name) && (s.pattern == name || !exact[name]) {
				matched = append(matched, name)
				fired[name] = true
			}
		}
		switch {
		case strings.HasPrefix(s.pattern, "*"):
			t.Errorf("%s: a mark whose name cannot be read from the source: name it with a constant, or a constant prefix", s.pos)
		case !strings.Contains(s.pattern, "*") && len(matched) == 0:
			t.Errorf("%s: mark %q is not registered: add it to the table of marks beside its package's code (a Marks variable)", s.pos, s.pattern)
		case len(matched) == 0:
			t.Errorf("%s: no registered mark matches %q: register the names it can take", s.pos, s.pattern)
		}
	}
	for _, name := range registered {
		assert.True(t, fired[name], "mark %q is registered, but no code fires it", name)
	}

	// The walk reads what it must.
	files := map[string]string{"bad/bad.go": `package bad
const prefix = "bad."
func (x *T) truncate(at int, mark string) { x.s.Mark(mark) }
func (x *T) f(code Code, pre bool) {
	x.s.Mark("bad.literal")
	x.s.Mark(prefix + "constant")
	x.truncate(3, "bad.through-a-parameter")
	x.s.Mark("bad.code." + code.String())
	kind := "vote"
	if pre {
		kind = "prevote"
	}
	x.s.Mark("bad." + kind)
	x.s.Mark(code.String())
}`}
	sites, problems = markSites(t, "", files)
	assert.Empty(t, problems)
	var patterns []string
	for _, s := range sites {
		patterns = append(patterns, s.pattern)
	}
	slices.Sort(patterns)
	assert.Equal(t, []string{"*", "bad.code.*", "bad.constant", "bad.literal", "bad.prevote", "bad.through-a-parameter", "bad.vote"}, patterns)
}

// A markSite is one name a Mark call can fire: a pattern in which * stands
// for what the source computes at run time.
type markSite struct {
	pos     token.Position
	pattern string
}

func (s markSite) regexp() *regexp.Regexp {
	parts := strings.Split(s.pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".+") + "$")
}

// markSinks are the functions whose one argument is a mark name: the
// kernel's Mark, and the checker's mark and marker, which call it.
var markSinks = []string{"Mark", "mark", "marker"}

// markSites finds every Mark call in the non-test Go files under root (or
// in the given sources, by path) and the names each can fire. A call whose
// name is a parameter of its function is followed to that function's
// callers in the same package.
func markSites(t *testing.T, root string, sources map[string]string) (sites []markSite, problems []string) {
	fset := token.NewFileSet()
	type file struct {
		dir string
		f   *ast.File
	}
	var files []file
	add := func(path string, src any) {
		f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
		require.NoError(t, err)
		files = append(files, file{filepath.Dir(path), f})
	}
	if sources != nil {
		for _, path := range slices.Sorted(func(yield func(string) bool) {
			for p := range sources {
				if !yield(p) {
					return
				}
			}
		}) {
			add(path, sources[path])
		}
	} else {
		require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".") || n == "out") {
					return filepath.SkipDir
				}
				return nil
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				add(path, nil)
			}
			return nil
		}))
	}
	// String constants declared at the top level, by package directory.
	consts := map[string]map[string]string{}
	for _, f := range files {
		if consts[f.dir] == nil {
			consts[f.dir] = map[string]string{}
		}
		for _, d := range f.f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, s := range g.Specs {
					vs := s.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[f.dir][n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
	}
	type sink struct {
		dir, fn string // "" dir: everywhere
		arg, n  int    // which argument, of how many
	}
	sinks := map[sink]bool{}
	for _, name := range markSinks {
		sinks[sink{"", name, 0, 1}] = true
	}
	done := map[token.Pos]bool{}
	for changed := true; changed; {
		changed = false
		for _, f := range files {
			for _, d := range f.f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				ast.Inspect(fd.Body, func(n ast.Node) bool {
					call, ok := n.(*ast.CallExpr)
					if !ok || done[call.Pos()] {
						return true
					}
					var name string
					switch fn := call.Fun.(type) {
					case *ast.Ident:
						name = fn.Name
					case *ast.SelectorExpr:
						name = fn.Sel.Name
					default:
						return true
					}
					for s := range sinks {
						if s.fn != name || len(call.Args) != s.n || (s.dir != "" && s.dir != f.dir) {
							continue
						}
						done[call.Pos()], changed = true, true
						arg := call.Args[s.arg]
						if id, ok := arg.(*ast.Ident); ok {
							if i, n := paramIndex(fd, id.Name); i >= 0 {
								sinks[sink{f.dir, fd.Name.Name, i, n}] = true
								break
							}
						}
						for _, p := range evalString(arg, fd, consts[f.dir]) {
							sites = append(sites, markSite{fset.Position(arg.Pos()), p})
						}
						break
					}
					return true
				})
			}
		}
	}
	return sites, problems
}

// paramIndex returns the position of the named parameter of fd, and how
// many parameters fd has; -1 if it has none of that name.
func paramIndex(fd *ast.FuncDecl, name string) (int, int) {
	i, at := 0, -1
	for _, p := range fd.Type.Params.List {
		for _, n := range p.Names {
			if n.Name == name {
				at = i
			}
			i++
		}
		if len(p.Names) == 0 {
			i++
		}
	}
	return at, i
}

// evalString returns the strings e can be, with * for a part computed at
// run time: literals, constants and their sums, string conversions, and
// local variables assigned only such values.
func evalString(e ast.Expr, fd *ast.FuncDecl, consts map[string]string) []string {
	switch e := e.(type) {
	case *ast.BasicLit:
		if v, err := strconv.Unquote(e.Value); err == nil && e.Kind == token.STRING {
			return []string{v}
		}
	case *ast.ParenExpr:
		return evalString(e.X, fd, consts)
	case *ast.BinaryExpr:
		if e.Op == token.ADD {
			var out []string
			for _, x := range evalString(e.X, fd, consts) {
				for _, y := range evalString(e.Y, fd, consts) {
					out = append(out, x+y)
				}
			}
			return out
		}
	case *ast.CallExpr:
		if fn, ok := e.Fun.(*ast.Ident); ok && fn.Name == "string" && len(e.Args) == 1 {
			return evalString(e.Args[0], fd, consts)
		}
	case *ast.Ident:
		if v, ok := consts[e.Name]; ok {
			return []string{v}
		}
		var vals []string
		known := true
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			if as, ok := n.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
				for i, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == e.Name {
						lit, ok := as.Rhs[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							known = false
							continue
						}
						v, _ := strconv.Unquote(lit.Value)
						vals = append(vals, v)
					}
				}
			}
			return true
		})
		if known && len(vals) > 0 {
			return vals
		}
	}
	return []string{"*"}
}
