// Command apicheck guards the exported Go API of the packages users build
// their tests on — scenarios, checker, and model with its sub-packages —
// with golang.org/x/exp/apidiff: it lists every change against a baseline
// and fails on an incompatible one.
//
// The baseline is api.zip beside this file: the packages' export data, and
// a line saying what it was taken from. `make api-snapshot` (apicheck
// -write) writes it: when a release is tagged, so that it holds the last
// release's API, and in a change that breaks the API on purpose, so that
// the break shows in review as a change of the snapshot. A committed
// snapshot works on any clone — shallow, without tags, offline — where a
// tag or a merge-base may be missing, and on main a merge-base is the
// commit itself. To compare against any git ref instead (the last release
// tag, a branch point), give -base:
//
//	go run ./internal/apicheck                  # against api.zip (make api)
//	go run ./internal/apicheck -write           # take a new snapshot (make api-snapshot)
//	go run ./internal/apicheck -base v0.3.0     # against a tag's tree (its module's dependencies must be available)
//
// Run it from the module's root. Exit status: 0 compatible, 1 incompatible,
// 2 when the packages or the baseline cannot be read.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/exp/apidiff"
	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"
)

// guarded are the package patterns whose exported API is kept compatible.
var guarded = []string{"./scenarios", "./checker", "./model/..."}

// snapshotPath is where the committed baseline lives, from the module root.
const snapshotPath = "internal/apicheck/api.zip"

func main() {
	write := flag.Bool("write", false, "write the current API as the baseline snapshot "+snapshotPath)
	base := flag.String("base", "", "compare against this git ref's tree (a tag, a branch, a commit) instead of the snapshot")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: apicheck [-write | -base REF]\n\n"+
			"Compares the exported API of scenarios, checker and model/... with the snapshot %s\n"+
			"(or a git ref's tree) and fails on an incompatible change.\n\n", snapshotPath)
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 || (*write && *base != "") {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(*write, *base, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apicheck:", err)
	}
	os.Exit(code)
}

func run(write bool, base string, out io.Writer) (int, error) {
	fset := token.NewFileSet()
	cur, err := load(fset, ".")
	if err != nil {
		return 2, err
	}
	if write {
		if err := writeSnapshot(snapshotPath, fset, cur, describeHead()); err != nil {
			return 2, err
		}
		fmt.Fprintf(out, "apicheck: wrote the API of %s to %s\n", strings.Join(slices.Sorted(maps.Keys(cur)), ", "), snapshotPath)
		return 0, nil
	}
	var old map[string]*types.Package
	var from string
	if base != "" {
		dir, err := os.MkdirTemp("", "apicheck-")
		if err != nil {
			return 2, err
		}
		defer os.RemoveAll(dir)
		if err := extract(base, dir); err != nil {
			return 2, err
		}
		if old, err = load(fset, dir); err != nil {
			return 2, fmt.Errorf("the tree of %s: %w", base, err)
		}
		from = base
	} else {
		if old, from, err = readSnapshot(snapshotPath, fset); err != nil {
			return 2, fmt.Errorf("%w (make api-snapshot writes it)", err)
		}
	}
	text, incompatible := compare(old, cur)
	fmt.Fprintf(out, "apicheck: the API of scenarios, checker and model against %s\n%s", from, text)
	if incompatible > 0 {
		fmt.Fprintf(out, "apicheck: %d incompatible change(s). If the break is intended, write the new API with `make api-snapshot`\n"+
			"and commit %s with the change, so that review sees it; otherwise keep the old API.\n", incompatible, snapshotPath)
		return 1, nil
	}
	return 0, nil
}

// load type-checks the guarded packages of the module in dir.
func load(fset *token.FileSet, dir string) (map[string]*types.Package, error) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes, Dir: dir, Fset: fset}
	pkgs, err := packages.Load(cfg, guarded...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*types.Package, len(pkgs))
	var errs []error
	for _, p := range pkgs {
		for _, e := range p.Errors {
			errs = append(errs, e)
		}
		if p.Types != nil {
			out[p.PkgPath] = p.Types
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no packages match %s in %s", strings.Join(guarded, " "), dir)
	}
	return out, nil
}

// compare reports the changes from old to cur, package by package, and
// counts the incompatible ones. A package that appears is compatible; one
// that disappears is not.
func compare(old, cur map[string]*types.Package) (string, int) {
	var b strings.Builder
	incompatible := 0
	paths := slices.Sorted(maps.Keys(old))
	for p := range cur {
		if _, ok := old[p]; !ok {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	for _, path := range paths {
		o, n := old[path], cur[path]
		switch {
		case o == nil:
			fmt.Fprintf(&b, "%s: a new package (compatible)\n", path)
		case n == nil:
			fmt.Fprintf(&b, "%s: removed (incompatible)\n", path)
			incompatible++
		default:
			r := apidiff.Changes(o, n)
			if len(r.Changes) == 0 {
				fmt.Fprintf(&b, "%s: no change\n", path)
				continue
			}
			fmt.Fprintf(&b, "%s:\n", path)
			for _, c := range r.Changes {
				if !c.Compatible {
					incompatible++
					fmt.Fprintf(&b, "  incompatible: %s\n", c.Message)
				}
			}
			for _, c := range r.Changes {
				if c.Compatible {
					fmt.Fprintf(&b, "  compatible:   %s\n", c.Message)
				}
			}
		}
	}
	return b.String(), incompatible
}

// The snapshot is a zip archive: an entry "baseline" saying what it was
// taken from, and one entry per package, named by its path and ".x",
// holding its export data (which includes what it needs of its
// dependencies, so each package reads alone).
const baselineEntry = "baseline"

func writeSnapshot(path string, fset *token.FileSet, pkgs map[string]*types.Package, from string) error {
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	add := func(name string, write func(io.Writer) error) error {
		// The zero modification time keeps the archive the same for the same API.
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			return err
		}
		return write(w)
	}
	if err := add(baselineEntry, func(w io.Writer) error { _, err := io.WriteString(w, from); return err }); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(pkgs)) {
		if err := add(p+".x", func(w io.Writer) error { return gcexportdata.Write(w, fset, pkgs[p]) }); err != nil {
			return fmt.Errorf("export data of %s: %w", p, err)
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func readSnapshot(path string, fset *token.FileSet) (map[string]*types.Package, string, error) {
	z, err := zip.OpenReader(path)
	if err != nil {
		return nil, "", fmt.Errorf("read the API snapshot: %w", err)
	}
	defer z.Close()
	out := map[string]*types.Package{}
	from := "the snapshot " + path
	for _, e := range z.File {
		r, err := e.Open()
		if err != nil {
			return nil, "", err
		}
		data, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			return nil, "", err
		}
		if e.Name == baselineEntry {
			from = fmt.Sprintf("the snapshot %s (taken on %s)", path, strings.TrimSpace(string(data)))
			continue
		}
		pkgPath, ok := strings.CutSuffix(e.Name, ".x")
		if !ok {
			return nil, "", fmt.Errorf("%s: unexpected entry %q: a snapshot holds %q and <package path>.x entries", path, e.Name, baselineEntry)
		}
		p, err := gcexportdata.Read(bytes.NewReader(data), fset, map[string]*types.Package{}, pkgPath)
		if err != nil {
			return nil, "", fmt.Errorf("%s: package %s: %w", path, pkgPath, err)
		}
		out[pkgPath] = p
	}
	return out, from, nil
}

// describeHead names the commit the snapshot is taken on: its tag if it
// has one, or its abbreviated hash. (The snapshot itself is committed
// after it, often with the changes it records.)
func describeHead() string {
	out, err := exec.Command("git", "describe", "--tags", "--always").Output()
	if err != nil {
		return "an unknown commit (git describe failed)"
	}
	return strings.TrimSpace(string(out))
}

// extract writes the tree of a git ref into dir.
func extract(ref, dir string) error {
	cmd := exec.Command("git", "archive", "--format=tar", ref)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	data, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git archive %s: %v: %s", ref, err, strings.TrimSpace(stderr.String()))
	}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(target, filepath.Clean(dir)+string(os.PathSeparator)) {
			return fmt.Errorf("git archive %s: entry %q leaves the tree", ref, h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, b, 0o644); err != nil {
				return err
			}
		}
	}
}
