package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/scenarios"
)

// kafkasim runs the command line in-process.
func kafkasim(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// historyFile writes a small history in which an acks=all write of value
// v3 is acknowledged at offset 2 and a later read of the partition skips
// it: a lost write, when lose is set.
func historyFile(t *testing.T, lose bool) string {
	t.Helper()
	rec := history.NewRecorder(history.Header{Seed: 9, Replay: "kafkasim run test --seed 9", Scenario: "test",
		Config: map[string]string{"acks": "all"}})
	at := func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
	var recs []history.Record
	for i := range 4 {
		v := fmt.Sprintf("v%d", i+1)
		id := rec.InvokeSend(at(10*i), "producer-1", 0, history.Send{Topic: "t", Partition: 0, Value: model.Bytes(v), Acks: model.AcksAll, Idempotent: true})
		rec.SendOK(id, at(10*i+5), int64(i))
		if !(lose && i == 2) {
			recs = append(recs, history.Record{Offset: int64(i), Value: model.Bytes(v)})
		} else {
			recs = append(recs, history.Record{Offset: int64(i), Value: model.Bytes("other")})
		}
	}
	id := rec.InvokePoll(at(100), "consumer-1", 0, "")
	rec.PollOK(id, at(110), []history.PollPart{{Topic: "t", Partition: 0, Position: 0, Records: recs}})
	h, err := rec.History()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "run.jsonl")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, history.WriteHistory(f, h))
	require.NoError(t, f.Close())
	return path
}

func TestCheckCommand(t *testing.T) {
	code, out, _ := kafkasim("check", historyFile(t, false))
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "5 operations: ok")

	code, out, errOut := kafkasim("check", historyFile(t, true))
	assert.Equal(t, 1, code, "an anomaly exits 1")
	assert.Contains(t, out, "seed 9")
	assert.Contains(t, out, "kafkasim run test --seed 9")
	assert.NotEmpty(t, errOut)

	// A budget the check exhausts leaves the history unchecked, which is
	// not ok; the budget counts work, so this is so on any machine.
	for range 2 {
		code, out, _ = kafkasim("check", "--budget", "5", historyFile(t, false))
		assert.Equal(t, 1, code, "an unchecked history exits 1: %s", out)
		assert.Contains(t, out, "linearizability-unchecked [incomplete]")
		assert.Contains(t, out, "unchecked (budget of 5 steps exhausted) for the log of t-0 (5 operations)")
		assert.Contains(t, out, "5 operations: 1 linearizability-unchecked")
	}
}

func TestReportCommand(t *testing.T) {
	path := historyFile(t, true)
	out := filepath.Join(filepath.Dir(path), "custom.html")
	code, stdout, _ := kafkasim("report", "--out", out, path)
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "report: "+out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(b), `class="verdict bad"`))
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"type":"header","format":"kafkasim-history","version":0}`+"\n"), 0o644))
	badController := filepath.Join(dir, "bad-controller.json")
	require.NoError(t, os.WriteFile(badController, []byte(`{"name": "c", "cluster": {"controller_config": {"unclean.leader.election.enable": "maybe"}}}`), 0o644))
	zeroBrokers := filepath.Join(dir, "zero-brokers.json")
	require.NoError(t, os.WriteFile(zeroBrokers, []byte(`{"name": "z", "cluster": {"brokers": 0}}`), 0o644))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "Usage: kafkasim <subcommand>"},
		{[]string{"frobnicate"}, `unknown subcommand "frobnicate"; accepted:`},
		{[]string{"check"}, "give the history file, such as run.jsonl"},
		{[]string{"run"}, "give the scenario, such as a built-in"},
		{[]string{"run", "nope"}, `unknown scenario "nope": the built-in scenarios are`},
		{[]string{"run", "unclean-election-loss", "--seed", "x"}, "invalid value \"x\" for flag -seed"},
		{[]string{"replay", filepath.Join(dir, "missing.json")}, "cannot read replay file"},
		{[]string{"scenarios", "extra"}, `unexpected argument "extra"`},
		{[]string{"check", "a", "b"}, "give one history file, not 2 arguments"},
		{[]string{"check", filepath.Join(dir, "missing.jsonl")}, "does not exist"},
		{[]string{"check", bad}, "is not a valid history"},
		{[]string{"check", "--budget", "-1", bad}, "--budget -1: give a positive number of steps"},
		{[]string{"check", "--budget", "10s", bad}, `invalid value "10s" for flag -budget`},
		{[]string{"check", "--bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"run", badController}, "cluster.controller_config: invalid value maybe for configuration unclean.leader.election.enable: expected true or false"},
		{[]string{"run", zeroBrokers}, "cluster.brokers: 0 is out of range: give a whole number from 1 to 64"},
		{[]string{"config", "extra"}, `unexpected argument "extra"`},
		{[]string{"report", "--out", filepath.Join(dir, "no", "such", "dir.html"), historyFile(t, false)}, "write report"},
	} {
		code, _, errOut := kafkasim(tc.args...)
		assert.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		assert.Contains(t, errOut, tc.want, tc.args)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		assert.False(t, strings.HasSuffix(e.Name(), ".html") || strings.HasSuffix(e.Name(), ".tmp"), "left behind %s", e.Name())
	}
}

func TestHelp(t *testing.T) {
	code, _, errOut := kafkasim("--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "check")
	code, _, errOut = kafkasim("check", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "Usage: kafkasim check")
}

func TestRunAndReplayCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.html")
	code, stdout, errOut := kafkasim("run", "unclean-election-loss", "--out", out, "--history", filepath.Join(dir, "demo.jsonl"), "--expect")
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "expectation met")
	assert.Contains(t, stdout, "report: "+out)
	assert.Contains(t, stdout, "replay: kafkasim run unclean-election-loss --seed 1")
	replayFile := filepath.Join(dir, "demo.replay.json")
	for _, f := range []string{out, replayFile, filepath.Join(dir, "demo.jsonl")} {
		_, err := os.Stat(f)
		assert.NoError(t, err)
	}
	code, _, _ = kafkasim("run", "unclean-election-loss", "--no-report", "--save", filepath.Join(dir, "x.json"))
	assert.Equal(t, 1, code, "without --expect, a run that finds a loss exits 1")

	code, stdout, errOut = kafkasim("replay", replayFile, "--no-report", "--expect")
	assert.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "replay: kafkasim replay "+replayFile)

	code, stdout, _ = kafkasim("check", filepath.Join(dir, "demo.jsonl"))
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "lost-committed")
}

func TestScenariosCommand(t *testing.T) {
	code, stdout, _ := kafkasim("scenarios")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "unclean-election-loss\n")
	assert.Contains(t, stdout, "shows: ")
	code, stdout, _ = kafkasim("scenarios", "--names")
	assert.Equal(t, 0, code)
	assert.Equal(t, strings.Join(scenarios.BuiltinNames(), "\n")+"\n", stdout)
	code, stdout, _ = kafkasim("scenarios", "--marks")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "controller.election.unclean\n    the controller elected a leader: unclean")
}

func TestConfigCommand(t *testing.T) {
	code, stdout, _ := kafkasim("config")
	assert.Equal(t, 0, code)
	assert.Equal(t, scenarios.Reference(), stdout)
	assert.Contains(t, stdout, "| `group.max.size` | broker |")
	assert.Contains(t, stdout, "| `no_check_quorum` | `check-quorum` |")
}

func TestCompareAndMatrixCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cmp.html")
	code, stdout, errOut := kafkasim("compare", "unclean-election-loss", "--out", out)
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "clean")
	assert.Contains(t, stdout, "acknowledged or committed records lost")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "clean vs unclean election")
	code, _, errOut = kafkasim("compare")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "give the scenario")
}

func TestSweepCommand(t *testing.T) {
	dir := t.TempDir()
	code, stdout, errOut := kafkasim("sweep", "standard", "--seeds", "3", "--quiet", "--summary", filepath.Join(dir, "s.jsonl"), "--out", filepath.Join(dir, "s.html"))
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "standard: 3 seeds")
	assert.Contains(t, stdout, "coverage")
	for _, bad := range [][]string{
		{"sweep", "standard", "--shard", "3/2"},
		{"sweep", "standard", "--seeds", "0"},
		{"sweep", "standard", "--shard", "x"},
	} {
		code, _, errOut := kafkasim(bad...)
		assert.Equal(t, 2, code, "%v: %s", bad, errOut)
	}

	// --expect holds every seed to the scenario's expectation.
	code, stdout, errOut = kafkasim("sweep", "unclean-election-loss", "--seeds", "2", "--quiet", "--expect",
		"--summary", filepath.Join(dir, "u.jsonl"), "--out", filepath.Join(dir, "u.html"))
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "expectation met on all 2 seeds")
	s, err := scenarios.Builtin("unclean-election-loss")
	require.NoError(t, err)
	s.Expect = scenarios.Expect{Absent: []string{"lost-committed"}}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	file := filepath.Join(dir, "unmet.json")
	require.NoError(t, os.WriteFile(file, b, 0o644))
	code, _, errOut = kafkasim("sweep", file, "--seeds", "2", "--quiet", "--expect",
		"--summary", filepath.Join(dir, "m.jsonl"), "--out", filepath.Join(dir, "m.html"))
	assert.Equal(t, 1, code, errOut)
	assert.Contains(t, errOut, "2 of 2 seeds did not show what unclean-election-loss expects:\n  seed 1: expected no lost-committed")
	assert.Contains(t, errOut, "replay: kafkasim run "+file+" --seed 1")
}

func TestShrinkCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "min.replay.json")
	script := filepath.Join(dir, "regression")
	code, stdout, errOut := kafkasim("shrink", "unclean-election-loss", "--keep", "lost-committed", "--out", out, "--script", script)
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "5 faults shrunk to")
	b, err := os.ReadFile(script)
	require.NoError(t, err)
	assert.Contains(t, string(b), "lost-committed [data-loss] orders-0")
	code, _, errOut = kafkasim("shrink", "standard", "--seed", "1")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "nothing to shrink")
}

// A Jepsen Kafka-workload history.edn: check and report read it, and judge
// it as they judge kafkasim's own.
func TestCheckJepsenHistory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(s), 0o644))
		return path
	}
	good := write("good.edn", `{:index 0, :time 1000, :type :invoke, :process 0, :f :send, :value [[:send 5 1]]}
{:index 1, :time 2000, :type :ok, :process 0, :f :send, :value [[:send 5 [0 1]]]}
{:index 2, :time 3000, :type :invoke, :process 1, :f :poll, :value [[:poll]]}
{:index 3, :time 4000, :type :info, :process :nemesis, :f :start-partition, :value nil}
{:index 4, :time 5000, :type :ok, :process 1, :f :poll, :value [[:poll {5 [[0 1]]}]]}
`)
	code, out, errOut := kafkasim("check", good)
	assert.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "2 operations: ok")

	// The same history without its read of offset 0, but with a read of
	// offset 1: Jepsen's lost write.
	lost := write("lost.edn", `{:type :invoke, :process 0, :f :send, :value [[:send 5 1] [:send 5 2]]}
{:type :ok, :process 0, :f :send, :value [[:send 5 [0 1]] [:send 5 [1 2]]]}
{:type :invoke, :process 1, :f :poll, :value [[:poll]]}
{:type :ok, :process 1, :f :poll, :value [[:poll {5 [[1 2]]}]]}
`)
	code, out, _ = kafkasim("check", "--no-linearizability", lost)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "lost-write [data-loss] 5-0 offset 0")
	code, out, _ = kafkasim("report", "--out", filepath.Join(dir, "lost.html"), lost)
	assert.Equal(t, 1, code, out)
	assert.FileExists(t, filepath.Join(dir, "lost.html"))

	// --acks 1 makes the loss one acks=1 allows.
	code, out, _ = kafkasim("check", "--no-linearizability", "--acks", "1", lost)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "lost-write [expected]")

	// Malformed: exit 2, naming the line and what was expected.
	bad := write("bad.edn", "{:type :invoke, :process 0, :f :send, :value [[:send 5 1]]}\n{:type :ok :process 0 :f :send :value [[:send 5 [0 1]]}\n")
	code, _, errOut = kafkasim("check", bad)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "history line 2: malformed EDN: unexpected '}' in a vector: expected ']'")
	wrongF := write("wrong.edn", "{:type :invoke, :process 0, :f :read, :value nil}\n")
	code, _, errOut = kafkasim("check", wrongF)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "history line 1: unknown :f :read")
	code, _, errOut = kafkasim("check", "--acks", "0", good)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--acks 0: give all or 1")

	// Read skew: op 5 polled x before op 3's write there and y after it.
	// Only --rw-deps draws the anti-dependency that closes the cycle.
	skew := write("skew.edn", `{:process 0, :type :invoke, :f :send, :value [[:send :x :a]]}
{:process 0, :type :ok, :f :send, :value [[:send :x [0 :a]]]}
{:process 1, :type :invoke, :f :txn, :value [[:send :x :b] [:send :y :c]]}
{:process 1, :type :ok, :f :txn, :value [[:send :x [1 :b]] [:send :y [0 :c]]]}
{:process 2, :type :invoke, :f :txn, :value [[:poll]]}
{:process 2, :type :ok, :f :txn, :value [[:poll {:x [[0 :a]], :y [[0 :c]]}]]}
`)
	code, out, _ = kafkasim("check", "--no-linearizability", skew)
	assert.NotContains(t, out, "G-single")
	code, out, _ = kafkasim("check", "--no-linearizability", "--rw-deps", skew)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "G-single [consistency] x-0")
	code, out, _ = kafkasim("report", "--rw-deps", "--out", filepath.Join(dir, "skew.html"), skew)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "G-single")

	// Nothing to check: not ok.
	empty := write("empty.edn", "{:type :invoke, :process 0, :f :assign, :value [:x]}\n{:type :ok, :process 0, :f :assign, :value [:x]}\n")
	code, _, errOut = kafkasim("check", empty)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "no send and no poll: nothing to check")
}
