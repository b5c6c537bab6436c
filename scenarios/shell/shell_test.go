package shell_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/shell"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the scripts in testdata with the actual outputs")

// The scripts in testdata, checked as datadriven checks its files.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			sc := shell.DefaultScenario()
			if strings.HasPrefix(filepath.Base(file), "zk-") {
				// Scripts named zk-* run in ZooKeeper mode.
				sc.Cluster.Metadata, sc.Cluster.Controllers = "zookeeper", new(0)
			}
			sh, err := shell.New(sc)
			require.NoError(t, err)
			var diffs strings.Builder
			out, err := sh.RunScript(file, string(data), &diffs)
			if *rewrite {
				require.NoError(t, os.WriteFile(file, []byte(out), 0o644))
				return
			}
			require.NoError(t, err, "%s", diffs.String())
			assert.Equal(t, string(data), out)
		})
	}
}

// A session is its seed and its commands: the same commands give the
// same output, and another seed may place replicas differently.
func TestDeterministic(t *testing.T) {
	data, err := os.ReadFile("testdata/quickstart.txt")
	require.NoError(t, err)
	run := func() string {
		sh, err := shell.New(shell.DefaultScenario())
		require.NoError(t, err)
		out, _ := sh.RunScript("quickstart", string(data), &strings.Builder{})
		return out + sh.Sim().Trace().HashString()
	}
	assert.Equal(t, run(), run())
}

// A differing output is shown as a diff and reported as a mismatch.
func TestScriptMismatch(t *testing.T) {
	sh, err := shell.New(shell.DefaultScenario())
	require.NoError(t, err)
	var diffs strings.Builder
	_, err = sh.RunScript("x", "kafka-topics.sh --create --topic t\n----\nCreated topic u.\n", &diffs)
	require.ErrorIs(t, err, shell.ErrMismatch)
	assert.Contains(t, diffs.String(), "-Created topic u.")
	assert.Contains(t, diffs.String(), "+Created topic t.")
}

// Serve reads a console producer's records up to a '.' line.
func TestServe(t *testing.T) {
	sh, err := shell.New(shell.DefaultScenario())
	require.NoError(t, err)
	in := "kafka-topics.sh --create --topic t\nkafka-console-producer.sh --topic t\na\nb\n.\nkafka-console-consumer.sh --topic t --from-beginning\nexit\nkafka-topics.sh --list\n"
	var out strings.Builder
	require.NoError(t, sh.Serve(strings.NewReader(in), &out, false))
	assert.Equal(t, "Created topic t.\na\nb\nProcessed a total of 2 messages\n", out.String())
}

// Nothing typed crashes the shell.
func FuzzExec(f *testing.F) {
	for _, s := range []string{
		"kafka-topics.sh --create --topic t --partitions 2",
		"kafka-console-consumer.sh --topic t --offset 3 --partition 0 --max-messages 1",
		"kafka-consumer-groups.sh --group g --reset-offsets --shift-by -2 --topic t:0 --execute",
		"partition b1 | b2,b3", "cut b1->b2", "advance 1s", "crash leader(t-0)", "kafka-topics.sh --topic 'x",
		"kafka-leader-election.sh --election-type UNCLEAN --topic t --partition 9",
	} {
		f.Add(s)
	}
	sh, err := shell.New(shell.DefaultScenario())
	require.NoError(f, err)
	sh.NoFiles = true
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "advance") {
			return // advancing a day per input would make the fuzzer slow, not wiser
		}
		out, err := sh.Exec(line, []string{"k:v"})
		if err != nil {
			assert.NotContains(t, out, "internal error", "%q", line)
		}
	})
}

// save writes a scenario and a script that replay the session with the
// same outputs.
func TestSaveReplays(t *testing.T) {
	dir := t.TempDir()
	sh, err := shell.New(shell.DefaultScenario())
	require.NoError(t, err)
	in := "kafka-topics.sh --create --topic t --partitions 2\nkafka-console-producer.sh --topic t\na\nb\n.\ncrash b2\nadvance 12s\n" +
		"kafka-topics.sh --describe --topic t\ncheck\nreport " + filepath.Join(dir, "s.html") + "\nsave " + filepath.Join(dir, "s.json") + "\n"
	var out strings.Builder
	require.NoError(t, sh.Serve(strings.NewReader(in), &out, false))
	assert.Contains(t, out.String(), "verdict: ok")
	assert.FileExists(t, filepath.Join(dir, "s.html"))

	sc, err := scenarios.Load(filepath.Join(dir, "s.json"))
	require.NoError(t, err)
	script, err := os.ReadFile(filepath.Join(dir, "s.txt"))
	require.NoError(t, err)
	again, err := shell.New(sc)
	require.NoError(t, err)
	var diffs strings.Builder
	_, err = again.RunScript("s.txt", string(script), &diffs)
	require.NoError(t, err, diffs.String())
	assert.Equal(t, sh.Sim().Trace().HashString(), again.Sim().Trace().HashString())
}
