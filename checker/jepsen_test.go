package checker_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/assert"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
)

// jepsenNames are the findings Jepsen's Kafka checker also reports, under
// the same names; "invalid" stands for Jepsen's verdict on an empty
// history.
var jepsenNames = []string{"G0", "G1a", "G1c", "duplicate", "inconsistent-offsets", "int-nonmonotonic-poll", "int-nonmonotonic-send",
	"int-poll-skip", "int-send-skip", "invalid", "lost-write", "nonmonotonic-poll", "nonmonotonic-send", "poll-skip", "precommitted-read", "unseen"}

// TestJepsenKafkaTests runs testdata/jepsen: the histories of Jepsen's own
// tests of its Kafka checker (jepsen/test/jepsen/tests/kafka_test.clj),
// as EDN, each with the anomalies Jepsen's test expects. A case reads
//
//	jepsen name=<the Jepsen test and its part> [checks=(<names>)] [ww-deps] [differs=<why>]
//	expect <name> <details>       one line per anomaly Jepsen's test expects
//	{... the history, as Jepsen writes it ...}
//
// ww-deps turns on write-write dependencies, as Jepsen's :ww-deps option.
// checks lists the anomaly names the Jepsen test asserts (all of
// jepsenNames when it asserts that there is no error at all). The case
// agrees when kafkasim's findings of those names carry the same details:
// the values of lost-write, duplicate and G1a; the offsets of
// inconsistent-offsets; the reporting operation (and skipped values) of
// the poll and send checks. A case that disagrees fails unless it says
// why with differs. The output ends with every finding kafkasim made.
func TestJepsenKafkaTests(t *testing.T) {
	cases, agree := 0, 0
	datadriven.Walk(t, "testdata/jepsen", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "jepsen" {
				return fmt.Sprintf("error: unknown verb %q\n", d.Cmd)
			}
			var expect []string
			var edn strings.Builder
			for _, line := range strings.Split(d.Input, "\n") {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "expect "); ok {
					expect = append(expect, strings.Join(strings.Fields(rest), " "))
					continue
				}
				edn.WriteString(line + "\n")
			}
			h, err := history.ReadJepsenHistory(strings.NewReader(edn.String()), history.JepsenOptions{})
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			checks := jepsenNames
			for _, a := range d.CmdArgs {
				if a.Key == "checks" {
					checks = a.Vals
				}
			}
			for _, c := range checks {
				if !slices.Contains(jepsenNames, c) {
					t.Fatalf("%s: checks names %q, which Jepsen's checker does not report", d.Pos, c)
				}
			}
			_, wwDeps := d.Arg("ww-deps")
			r := checker.Check(h, checker.Options{Budget: checker.DefaultBudget, SkipLinearizability: true, WWDeps: wwDeps})
			got := jepsenTokens(h, r.Findings, checks)
			slices.Sort(expect)
			var b strings.Builder
			fmt.Fprintf(&b, "jepsen:   %s\n", orNone(expect))
			fmt.Fprintf(&b, "kafkasim: %s\n", orNone(got))
			cases++
			same := slices.Equal(expect, got)
			switch why := argValue(d, "differs"); {
			case same:
				agree++
				b.WriteString("agrees\n")
			case why != "":
				fmt.Fprintf(&b, "differs: %s\n", why)
			default:
				t.Errorf("%s: %s: kafkasim disagrees with Jepsen (mark the case differs=... if deliberate)\n  jepsen:   %s\n  kafkasim: %s",
					d.Pos, argValue(d, "name"), orNone(expect), orNone(got))
				b.WriteString("DISAGREES\n")
			}
			for _, f := range r.Findings {
				fmt.Fprintf(&b, "  %s (ops %v)\n", f.Short(), f.Ops)
			}
			return b.String()
		})
	})
	t.Logf("Jepsen's Kafka checker tests: %d of %d cases agree", agree, cases)
	assert.Positive(t, cases)
}

func argValue(d *datadriven.TestData, key string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			return strings.Join(a.Vals, " ")
		}
	}
	return ""
}

func orNone(ts []string) string {
	if len(ts) == 0 {
		return "(none)"
	}
	return strings.Join(ts, "; ")
}

// jepsenTokens renders kafkasim's findings of the checked names as the
// details Jepsen's tests compare, sorted.
func jepsenTokens(h *history.History, fs []checker.Finding, checks []string) []string {
	var out []string
	if slices.Contains(checks, "invalid") && checker.Empty(h) {
		out = append(out, "invalid")
	}
	for _, f := range fs {
		if !slices.Contains(checks, f.Name) {
			continue
		}
		switch f.Name {
		case "lost-write", "duplicate", "G1a":
			for _, v := range f.Values {
				out = append(out, f.Name+" "+v.String())
			}
		case "inconsistent-offsets":
			for _, o := range f.Offsets {
				out = append(out, fmt.Sprintf("%s @%d", f.Name, o))
			}
		case "unseen":
			out = append(out, f.Name)
		default:
			tok := fmt.Sprintf("%s op %d", f.Name, slices.Max(f.Ops))
			if strings.HasSuffix(f.Name, "skip") {
				for _, v := range f.Values {
					tok += " " + v.String()
				}
			}
			out = append(out, tok)
		}
	}
	slices.Sort(out)
	return out
}
