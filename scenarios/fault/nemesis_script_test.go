package fault_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// TestNemesisScripts pins what the nemesis draws from given knobs and
// seeds: its draws must consume randomness in the same order release after
// release, or every scenario with random faults changes its trace. Update
// with -rewrite only when a change of draws is intended.
//
//	generate seeds=1-3
//	{"kinds": ["crash", "clock"], "targets": ["b1", "b2"], "end": "30s", "interval": "3s", "length": "2s", "max_faulty": 1}
func TestNemesisScripts(t *testing.T) {
	datadriven.RunTest(t, "testdata/nemesis.txt", func(t *testing.T, d *datadriven.TestData) string {
		if d.Cmd != "generate" {
			d.Fatalf(t, "unknown command %q: accepted is generate", d.Cmd)
		}
		var knobs struct {
			Kinds       []fault.Kind   `json:"kinds"`
			Targets     []string       `json:"targets"`
			Start       fault.Duration `json:"start"`
			End         fault.Duration `json:"end"`
			Interval    fault.Duration `json:"interval"`
			Length      fault.Duration `json:"length"`
			MaxFaulty   int            `json:"max_faulty"`
			Tear        bool           `json:"tear"`
			MaxSkew     fault.Duration `json:"max_skew"`
			MaxDriftPPM int64          `json:"max_drift_ppm"`
		}
		if err := json.Unmarshal([]byte(d.Input), &knobs); err != nil {
			d.Fatalf(t, "knobs: %v", err)
		}
		n := fault.Nemesis{Kinds: knobs.Kinds, Targets: knobs.Targets, Start: time.Duration(knobs.Start), End: time.Duration(knobs.End),
			Interval: time.Duration(knobs.Interval), Length: time.Duration(knobs.Length), MaxFaulty: knobs.MaxFaulty, Tear: knobs.Tear,
			MaxSkew: time.Duration(knobs.MaxSkew), MaxDriftPPM: knobs.MaxDriftPPM}
		var first, last uint64 = 1, 1
		d.MaybeScanArgs(t, "seed", &first)
		last = first
		if d.HasArg("seeds") {
			var r string
			d.ScanArgs(t, "seeds", &r)
			if _, err := fmt.Sscanf(r, "%d-%d", &first, &last); err != nil {
				d.Fatalf(t, "seeds=%s: write a range such as 1-3", r)
			}
		}
		var b strings.Builder
		for seed := first; seed <= last; seed++ {
			s, err := n.Generate(sim.NewRand(seed, "nemesis"))
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			fmt.Fprintf(&b, "seed %d:\n", seed)
			for _, f := range s {
				fmt.Fprintf(&b, "  %s\n", f)
			}
		}
		return b.String()
	})
}
