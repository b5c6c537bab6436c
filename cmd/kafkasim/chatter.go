package main

import (
	"fmt"
	"io"
	"time"

	"github.com/kafkasim/kafkasim/internal/chatter"
)

func init() {
	commands["chatter"] = command{
		summary: "run the kernel-only workload (no Kafka): nodes exchanging messages under faults",
		run:     runChatter,
	}
}

func runChatter(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("chatter", "chatter [--seed N] [--nodes N] [--duration D] [--faults]", stderr)
	seed := fs.Uint64("seed", 1, "seed of the run")
	nodes := fs.Int("nodes", 5, "number of nodes (at least 2)")
	duration := fs.Duration("duration", 60*time.Second, "simulated time to run")
	faults := fs.Bool("faults", true, "inject crashes, power losses, pauses and partitions")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *nodes < 2 {
		return usageError("--nodes %d: give at least 2", *nodes)
	}
	if *duration <= 0 {
		return usageError("--duration %v: give a positive duration such as 60s", *duration)
	}
	res, err := chatter.Run(chatter.Config{Seed: *seed, Nodes: *nodes, Duration: *duration, Faults: *faults})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "chatter: %d nodes, %v simulated, seed %d\n", *nodes, *duration, *seed)
	fmt.Fprintf(stdout, "  events executed   %d\n", res.Steps)
	fmt.Fprintf(stdout, "  faults injected   %d\n", res.Faults)
	fmt.Fprintf(stdout, "  messages          sent %d, delivered %d, dropped %d, connection breaks %d\n",
		res.Net.Sent, res.Net.Delivered, res.Net.Dropped, res.Net.Breaks)
	fmt.Fprintf(stdout, "  trace hash        %s\n", res.Hash)
	fmt.Fprintf(stdout, "replay: kafkasim chatter --seed %d --nodes %d --duration %v --faults=%t\n", *seed, *nodes, *duration, *faults)
	return nil
}
