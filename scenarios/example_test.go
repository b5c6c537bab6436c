package scenarios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kafkasim/kafkasim/scenarios"
)

// A scenario is plain data: load a built-in (or Parse a file), change what
// you want to ask about, run it, and read the verdict.
func Example() {
	s, err := scenarios.Builtin("acks1-leader-dies")
	if err != nil {
		panic(err)
	}
	res, err := scenarios.Run(s, scenarios.Options{NoTimeline: true})
	if err != nil {
		panic(err)
	}
	v := res.Verdict
	fmt.Println("lost:", v.Lost, "allowed by:", v.LostBy[0].Setting)
	fmt.Println("unavailable:", v.Unavailable.Round(time.Millisecond))

	// The same schedule with acks=all: the followers are still in the ISR,
	// so nothing acknowledged is lost.
	s, err = scenarios.Override(s, "workload.producers.0.config.acks=all")
	if err != nil {
		panic(err)
	}
	res, err = scenarios.Run(s, scenarios.Options{NoTimeline: true})
	if err != nil {
		panic(err)
	}
	fmt.Println("with acks=all:", res.Verdict.OK, res.Verdict.Lost)
	// Output:
	// lost: 42 allowed by: acks=1
	// unavailable: 7.202s
	// with acks=all: true 0
}

// A failing run is kept as a replay file: `kafkasim replay FILE` runs it
// again bit for bit, and `kafkasim shrink FILE` makes it minimal.
func ExampleNewReplayFile() {
	s, _ := scenarios.Builtin("unclean-election-loss")
	res, _ := scenarios.Run(s, scenarios.Options{NoTimeline: true})
	if !res.OK() {
		path := filepath.Join(os.TempDir(), "unclean-election-loss.replay.json")
		if err := scenarios.NewReplayFile(res, 0).Write(path); err != nil {
			panic(err)
		}
		fmt.Println(res.Verdict.Incidents[0].Headline[:60])
	}
	// Output:
	// orders-0 lost 997 acknowledged records consumers had already
}
