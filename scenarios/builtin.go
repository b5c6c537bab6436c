package scenarios

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// The built-in scenarios are plain scenario files, embedded: each is also
// an example of the format.
//
//go:embed builtin/*.json
var builtinFiles embed.FS

// Builtins returns the built-in scenarios, sorted by name.
func Builtins() []Scenario {
	entries, err := builtinFiles.ReadDir("builtin")
	if err != nil {
		panic(err) // embedded at build time
	}
	var out []Scenario
	for _, e := range entries {
		data, err := builtinFiles.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			panic(err)
		}
		s, err := Parse("builtin/"+e.Name(), data)
		if err != nil {
			panic(fmt.Sprintf("built-in scenario: %v", err)) // TestBuiltinsParse catches this
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Scenario) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// BuiltinNames returns the built-in scenarios' names, sorted.
func BuiltinNames() []string {
	var names []string
	for _, s := range Builtins() {
		names = append(names, s.Name)
	}
	return names
}

// Builtin returns the built-in scenario with the given name.
func Builtin(name string) (Scenario, error) {
	for _, s := range Builtins() {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("unknown scenario %q: the built-in scenarios are %s (kafkasim scenarios lists them), or give a scenario file ending in .json",
		name, strings.Join(BuiltinNames(), ", "))
}

// Load returns a built-in scenario by name, or reads a scenario file: an
// argument ending in .json or naming an existing file is a file.
func Load(nameOrFile string) (Scenario, error) {
	if strings.HasSuffix(nameOrFile, ".json") || strings.ContainsRune(nameOrFile, os.PathSeparator) {
		data, err := os.ReadFile(nameOrFile)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return Scenario{}, fmt.Errorf("scenario file %s does not exist", nameOrFile)
			}
			return Scenario{}, fmt.Errorf("cannot read scenario file: %w", err)
		}
		return Parse(nameOrFile, data)
	}
	return Builtin(nameOrFile)
}

// BuiltinSource returns a built-in scenario's file, as it is embedded: a
// starting point for a scenario of one's own.
func BuiltinSource(name string) ([]byte, error) {
	if _, err := Builtin(name); err != nil {
		return nil, err
	}
	entries, err := builtinFiles.ReadDir("builtin")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := builtinFiles.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			return nil, err
		}
		if s, err := Parse(e.Name(), data); err == nil && s.Name == name {
			return data, nil
		}
	}
	return nil, fmt.Errorf("built-in scenario %q has no file", name)
}
