package checker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
)

// cycleNames are the findings of the transaction cycle check.
var cycleNames = []string{string(checker.G0), string(checker.G1c), string(checker.GSingle), string(checker.G2)}

// TestTxnCycleScripts runs testdata/cycles: hand-written histories, as
// Jepsen writes them, that must or must not make dependency cycles. A case
// reads
//
//	cycles [ww-deps] [rw-deps]
//	{... the history ...}
//
// and prints every cycle found, or "no cycle".
func TestTxnCycleScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/cycles", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "cycles" {
				return fmt.Sprintf("error: unknown verb %q\n", d.Cmd)
			}
			h, err := history.ReadJepsenHistory(strings.NewReader(d.Input), history.JepsenOptions{})
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			deps := checker.Deps{WW: d.HasArg("ww-deps"), RW: d.HasArg("rw-deps")}
			var b strings.Builder
			for _, f := range checker.TxnCycles(h, checker.Run{}, deps) {
				if slices.Contains(cycleNames, f.Name) {
					fmt.Fprintf(&b, "%s (ops %v)\n", f.Short(), f.Ops)
				}
			}
			if b.Len() == 0 {
				return "no cycle\n"
			}
			return b.String()
		})
	})
}
