package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/sim"
)

// BuggifyPoints is every BUGGIFY point, in the tables beside the code that
// has them: a scenario's buggify list names points from it.
var BuggifyPoints = slices.Clone(broker.Buggify)

// buggifyMarks are the marks BUGGIFY points fire: "buggify.<point>".
var buggifyMarks = func() []sim.MarkInfo {
	out := make([]sim.MarkInfo, len(BuggifyPoints))
	for i, p := range BuggifyPoints {
		out[i] = sim.MarkInfo{Name: "buggify." + p.Name, Meaning: "BUGGIFY forced: " + p.Forces}
	}
	return out
}()

// buggifySet turns a scenario's buggify list into the kernel's set (nil
// for none).
func buggifySet(points []string) map[string]bool {
	if len(points) == 0 {
		return nil
	}
	out := make(map[string]bool, len(points))
	for _, p := range points {
		out[p] = true
	}
	return out
}

// checkBuggify reports the names that are not BUGGIFY points.
func checkBuggify(points []string) error {
	for _, p := range points {
		if !slices.ContainsFunc(BuggifyPoints, func(b sim.BuggifyInfo) bool { return b.Name == p }) {
			var names []string
			for _, b := range BuggifyPoints {
				names = append(names, b.Name)
			}
			return fmt.Errorf("unknown point %q: accepted are %s", p, strings.Join(names, ", "))
		}
	}
	return nil
}

// BuggifyMarkdown renders BuggifyPoints as the README's table.
func BuggifyMarkdown() string {
	var b strings.Builder
	b.WriteString("| point | forces |\n|---|---|\n")
	for _, p := range BuggifyPoints {
		fmt.Fprintf(&b, "| `%s` | %s |\n", p.Name, p.Forces)
	}
	return b.String()
}
