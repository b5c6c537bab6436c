package main

import (
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/kafkasim/kafkasim/scenarios"
)

func init() {
	commands["version"] = command{
		summary: "print kafkasim's version, the commit it was built from, and its replay format version",
		run:     runVersion,
	}
}

func runVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, versionLine())
	return nil
}

// versionLine says which kafkasim this is: the module version (a tag, or
// (devel) for a build from a checkout), the VCS revision and whether the
// tree was modified, the Go version, and the replay version, which decides
// which replay files it accepts.
func versionLine() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "kafkasim (no build information) replay-version " + scenarios.Version
	}
	parts := []string{"kafkasim", info.Main.Version}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		r := "commit " + rev[:min(12, len(rev))]
		if settings["vcs.modified"] == "true" {
			r += " (modified)"
		}
		parts = append(parts, r)
	}
	parts = append(parts, info.GoVersion, "replay-version "+scenarios.Version)
	return strings.Join(parts, " ")
}

// setFlag collects repeated --set KEY=VALUE flags.
type setFlag []string

func (s *setFlag) String() string     { return strings.Join(*s, " ") }
func (s *setFlag) Set(v string) error { *s = append(*s, v); return nil }

// registerSet adds --set to a subcommand that loads a scenario.
func registerSet(fs *flag.FlagSet) *setFlag {
	var sets setFlag
	fs.Var(&sets, "set", "override one field of the scenario, KEY=VALUE, as if the file said so (repeatable), e.g. --set cluster.topics.orders.config.min.insync.replicas=2")
	return &sets
}

// scenarioFlags are the flags of a command that runs one scenario named
// on its command line: --seed and --set.
type scenarioFlags struct {
	fs   *flag.FlagSet
	seed *uint64
	sets *setFlag
}

// addScenarioFlags adds --seed and --set to fs.
func addScenarioFlags(fs *flag.FlagSet) scenarioFlags {
	return scenarioFlags{fs: fs, seed: fs.Uint64("seed", 0, "seed of the run (default: the scenario's)"), sets: registerSet(fs)}
}

// scenario parses the command line, whose one argument names the scenario
// (example says what such a name looks like), and loads it with the --set
// overrides and --seed, when given; name is the scenario as the user named
// it, setArgs what a replay command must repeat.
func (f scenarioFlags) scenario(args []string, example string) (s scenarios.Scenario, name, setArgs string, err error) {
	if name, err = oneArg(f.fs, args, "scenario", example); err != nil {
		return s, "", "", err
	}
	if s, setArgs, err = loadScenario(name, f.sets); err != nil {
		return s, "", "", err
	}
	if isSet(f.fs, "seed") {
		s.Seed = *f.seed
	}
	return s, name, setArgs, nil
}

// loadScenario loads a scenario by name or file and applies the --set
// overrides; replayArgs is what a replay command must repeat.
func loadScenario(name string, sets *setFlag) (s scenarios.Scenario, replayArgs string, err error) {
	s, err = scenarios.Load(name)
	if err != nil {
		return s, "", usageError("%v", err)
	}
	for _, kv := range *sets {
		if s, err = scenarios.Override(s, kv); err != nil {
			return s, "", usageError("%v", err)
		}
		replayArgs += " --set " + shellQuote(kv)
	}
	return s, replayArgs, nil
}

// shellQuote quotes a word for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-=/:,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
