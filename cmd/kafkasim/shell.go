package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/shell"
)

func init() {
	commands["shell"] = command{
		summary: "Kafka's command-line tools against a simulated cluster (kafka-topics.sh, console producer and consumer, kafka-consumer-groups.sh, ...)",
		run:     shellCmd,
	}
}

func shellCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("shell", "[SCENARIO] [--seed N] [--script FILE [--rewrite]] < commands", stderr)
	seed := fs.Uint64("seed", 0, "the seed (default: the scenario's, 1 without one)")
	script := fs.String("script", "", "run a script and check each command's output against it (datadriven format); a difference prints the diff and exits 1")
	rewrite := fs.Bool("rewrite", false, "with --script, write the actual outputs into the script instead of checking them")
	sets := registerSet(fs)
	rest, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 1 {
		return usageError("shell takes at most one scenario (a built-in name or a file), got %d", len(rest))
	}
	sc := shell.DefaultScenario()
	if len(rest) == 1 {
		if sc, _, err = loadScenario(rest[0], sets); err != nil {
			return err
		}
	} else {
		for _, kv := range *sets {
			if sc, err = scenarios.Override(sc, kv); err != nil {
				return usageError("%v", err)
			}
		}
	}
	if *seed != 0 {
		sc.Seed = *seed
	}
	sh, err := shell.New(sc)
	if err != nil {
		return err
	}
	if *script != "" {
		data, err := os.ReadFile(*script)
		if err != nil {
			return usageError("%v", err)
		}
		out, err := sh.RunScript(*script, string(data), stdout)
		if *rewrite && out != "" {
			return os.WriteFile(*script, []byte(out), 0o644)
		}
		if errors.Is(err, shell.ErrMismatch) {
			return &exitError{code: 1, err: fmt.Errorf("%s: %w", *script, err)}
		}
		return err
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return sh.Serve(os.Stdin, stdout, false)
	}
	fmt.Fprintf(stdout, "kafkasim shell: scenario %s, seed %d, %d brokers. Type help for the tools, exit to leave; a console producer's records end with a line holding a single '.'.\n", sc.Name, sc.Seed, sc.Cluster.Brokers)
	return serveTerminal(sh, fd, stdout)
}

// serveTerminal runs an interactive session with golang.org/x/term's line
// editor: arrow keys, line history and Ctrl-D to leave.
func serveTerminal(sh *shell.Shell, fd int, stdout io.Writer) error {
	old, err := term.MakeRaw(fd)
	if err != nil {
		return sh.Serve(os.Stdin, stdout, true)
	}
	defer term.Restore(fd, old)
	t := term.NewTerminal(struct {
		io.Reader
		io.Writer
	}{os.Stdin, stdout}, shell.Prompt)
	read := func(prompt string) (string, error) {
		t.SetPrompt(prompt)
		return t.ReadLine()
	}
	return sh.ServeLines(read, t)
}
