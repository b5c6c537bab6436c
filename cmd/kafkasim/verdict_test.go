package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
)

// TestOneVerdictEverywhere renders one run's verdict through every output
// (the run's summary and report, a sweep's summary line and report,
// compare, matrix) and checks that every number agrees: the records lost
// and the time without a leader are computed once.
func TestOneVerdictEverywhere(t *testing.T) {
	dir := t.TempDir()
	s, err := scenarios.Builtin("unclean-election-loss")
	require.NoError(t, err)
	res, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	v := res.Verdict
	require.Equal(t, 997, v.Lost, "the demo's loss")
	require.Positive(t, v.Unavailable)
	lost := "997"
	offline := v.Unavailable.Round(1e6).String()

	// run: the CLI summary, the exit code and the report.
	code, out, _ := kafkasim("run", "unclean-election-loss", "--out", filepath.Join(dir, "run.html"))
	assert.Equal(t, 1, code, "a loss is exit 1, whatever allowed it")
	assert.Contains(t, out, "verdict: "+v.Summary())
	assert.Contains(t, out, "orders-0: no leader for "+offline)
	assert.Contains(t, out, "orders-0 lost "+lost+" acknowledged records")
	assert.Regexp(t, `clean election would have kept them and left orders-0 without a leader 15\.\d+s instead of `+regexp.QuoteMeta(offline)+
		`: kafkasim compare unclean-election-loss --seed 1`, out)
	page := read(t, filepath.Join(dir, "run.html"))
	assert.Contains(t, page, "<td>records lost</td><td class=\"num\">"+lost+"</td>")
	assert.Contains(t, page, "<td>time without a leader (user partitions, summed)</td><td class=\"num\">"+offline+"</td>")
	assert.Contains(t, page, "orders-0 lost "+lost+" acknowledged records")
	assert.Contains(t, page, "allowed by unclean.leader.election.enable=true")

	// sweep: the summary line and the report's headline.
	code, _, _ = kafkasim("sweep", "unclean-election-loss", "--seeds", "1", "--quiet",
		"--summary", filepath.Join(dir, "sweep.jsonl"), "--out", filepath.Join(dir, "sweep.html"))
	assert.Equal(t, 1, code)
	f, err := os.Open(filepath.Join(dir, "sweep.jsonl"))
	require.NoError(t, err)
	sums, err := scenarios.ReadSummaries(f)
	f.Close()
	require.NoError(t, err)
	require.Len(t, sums, 1)
	assert.Equal(t, v.Lost, sums[0].Lost, "sweeps count each lost record once")
	assert.InDelta(t, v.Unavailable.Seconds(), sums[0].OfflineSeconds, 1e-9, "sweeps run without the timeline, and still measure unavailability")
	assert.Equal(t, v.Summary(), sums[0].Summary)
	assert.Contains(t, read(t, filepath.Join(dir, "sweep.html")), "✘ 1 of 1 seeds found a problem")

	// compare: the unclean column of the loss and unavailability rows.
	code, out, _ = kafkasim("compare", "unclean-election-loss", "--out", filepath.Join(dir, "compare.html"))
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, regexp.MustCompile(`orders-0 acknowledged or committed records lost\s+0\s+`+lost+`\s`), out)
	assert.Regexp(t, regexp.MustCompile(`orders-0 time unavailable \(no leader\)\s+\S+\s+`+regexp.QuoteMeta(offline)+`\s`), out)

	// matrix: the cell of the scenario's own configuration.
	code, out, _ = kafkasim("matrix", "unclean-election-loss", "--only",
		"acks=all,min.insync.replicas=1,eligible.leader.replicas=off,log.flush.interval.messages=never,enable.idempotence=true",
		"--out", filepath.Join(dir, "matrix.html"))
	assert.Equal(t, 1, code, "a matrix in which a configuration lost records exits 1")
	for _, l := range strings.Split(out, "\n") {
		assert.LessOrEqual(t, len([]rune(l)), 120, "matrix output fits 120 columns: %q", l)
	}
	assert.Regexp(t, regexp.MustCompile(`all\s+1\s+true\s+off\s+never\s+true\s+`+lost+`\s+`+regexp.QuoteMeta(offline)+`\s`), out)
	mpage := read(t, filepath.Join(dir, "matrix.html"))
	assert.Contains(t, mpage, `class="verdict bad"`)
	assert.Contains(t, mpage, "<strong>lost "+lost+"</strong><br><span class=\"allowed\">loss allowed by unclean.leader.election.enable=true</span>\n<br>no leader "+offline)
	assert.Contains(t, mpage, "✘ 1 of 2 configurations lost records")
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// TestOutputsCheckedBeforeTheRun: an output path that cannot be written is
// a usage error before any simulation, and an edited replay file is told
// apart from a determinism bug.
func TestOutputsCheckedBeforeTheRun(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := kafkasim("run", "unclean-election-loss", "--out", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "is a directory")
	code, _, errOut = kafkasim("run", "unclean-election-loss", "--no-report", "--history", dir)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "is a directory")
	code, _, errOut = kafkasim("sweep", "standard", "--first", "18446744073709551615", "--seeds", "2")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "the largest seed")
	code, _, errOut = kafkasim("shrink", "unclean-election-loss", "--keep", "lost-writes")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown finding "lost-writes"`)

	save := filepath.Join(dir, "r.replay.json")
	code, _, _ = kafkasim("run", "acks1-leader-dies", "--no-report", "--save", save)
	require.Equal(t, 1, code)
	data, err := os.ReadFile(save)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(save, []byte(strings.Replace(string(data), `"rate": 20,`, `"rate": 21,`, 1)), 0o644))
	code, _, errOut = kafkasim("replay", save, "--no-report")
	assert.Equal(t, 2, code, errOut)
	assert.Contains(t, errOut, "changed after kafkasim wrote it")
	assert.NotContains(t, errOut, "determinism bug")
}

// TestVersionShowAndSet: kafkasim version names the replay version;
// scenarios show prints a built-in's file, which parses back to the
// built-in; --set overrides a field with a file's validation, and the
// printed replay command repeats it.
func TestVersionShowAndSet(t *testing.T) {
	code, out, _ := kafkasim("version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "replay-version "+scenarios.Version)

	code, out, _ = kafkasim("scenarios", "show", "acks1-leader-dies")
	require.Equal(t, 0, code)
	s, err := scenarios.Parse("shown.json", []byte(out))
	require.NoError(t, err)
	b, err := scenarios.Builtin("acks1-leader-dies")
	require.NoError(t, err)
	assert.Equal(t, b, s)
	code, _, errOut := kafkasim("scenarios", "show", "nope")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unknown scenario "nope"`)

	dir := t.TempDir()
	code, out, _ = kafkasim("run", "acks1-leader-dies", "--no-report", "--save", filepath.Join(dir, "r.json"),
		"--set", "workload.producers.0.config.acks=all")
	assert.Equal(t, 0, code, "with acks=all the same schedule loses nothing: %s", out)
	assert.Contains(t, out, "replay: kafkasim run acks1-leader-dies --seed 1 --set workload.producers.0.config.acks=all")
	code, _, errOut = kafkasim("run", "acks1-leader-dies", "--no-report", "--set", "workload.producers.0.config.acks=2")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "acks")
}
