// Package detlint is kafkasim's determinism guard. It reads the Go source of
// the packages that run inside a simulation (sim, network, broker) and
// reports every construct that could make two runs of one seed differ:
// goroutines, channels and select, the sync packages, wall-clock time, and
// global or cryptographic randomness. `make lint` and `make test` run it.
package detlint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A Finding is one forbidden construct.
type Finding struct {
	Pos    token.Position
	What   string
	Reason string
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s (%s)", f.Pos, f.What, f.Reason) }

// forbiddenImports are packages simulated code must not import.
var forbiddenImports = map[string]string{
	"sync":        "simulations run on one goroutine; nothing needs locking",
	"sync/atomic": "simulations run on one goroutine; nothing needs atomics",
	"math/rand":   "global randomness; use the kernel's seeded streams (sim.Sim.Rand, sim.Node.Rand)",
	"crypto/rand": "unseeded randomness; use the kernel's seeded streams",
	"os/signal":   "real signals; simulated code has none",
}

// forbiddenTime are functions of package time that read or wait on the wall
// clock. Durations and formatting remain allowed.
var forbiddenTime = map[string]bool{
	"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true,
	"Tick": true, "NewTicker": true, "NewTimer": true,
}

// Check parses every non-test Go file under the given directories (or the
// given files) and returns the findings, sorted by position.
func Check(paths ...string) ([]Finding, error) {
	var out []Finding
	fset := token.NewFileSet()
	for _, dir := range paths {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" && path != dir {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			out = append(out, checkFile(fset, f)...)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b Finding) int {
		if c := strings.Compare(a.Pos.Filename, b.Pos.Filename); c != 0 {
			return c
		}
		return a.Pos.Offset - b.Pos.Offset
	})
	return out, nil
}

func checkFile(fset *token.FileSet, f *ast.File) []Finding {
	var out []Finding
	add := func(n ast.Node, what, why string) {
		out = append(out, Finding{Pos: fset.Position(n.Pos()), What: what, Reason: why})
	}
	timeName := ""
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if why, bad := forbiddenImports[path]; bad {
			add(imp, "import "+strconv.Quote(path), why)
		}
		if path == "time" {
			timeName = "time"
			if imp.Name != nil {
				timeName = imp.Name.Name
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.GoStmt:
			add(x, "go statement", "simulations run on one goroutine; schedule an event instead")
		case *ast.ChanType:
			add(x, "channel type", "channels imply concurrency; deliver messages through the kernel")
		case *ast.SendStmt:
			add(x, "channel send", "channels imply concurrency")
		case *ast.SelectStmt:
			add(x, "select statement", "channels imply concurrency")
		case *ast.UnaryExpr:
			if x.Op == token.ARROW {
				add(x, "channel receive", "channels imply concurrency")
			}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && timeName != "" && id.Name == timeName && forbiddenTime[x.Sel.Name] {
				add(x, "time."+x.Sel.Name, "wall-clock time; use the node's or the kernel's virtual clock")
			}
		}
		return true
	})
	return out
}
