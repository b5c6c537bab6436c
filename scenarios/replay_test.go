package scenarios_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

func TestReplayReproducesTheRun(t *testing.T) {
	s := parse(t, small)
	s.Nemesis = &scenarios.Nemesis{Kinds: []fault.Kind{fault.Crash, fault.Pause}, Interval: fault.Duration(3 * time.Second), Length: fault.Duration(2 * time.Second)}
	s = s.Defaults()
	res, err := scenarios.Run(s, scenarios.Options{})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "run.replay.json")
	f := scenarios.NewReplayFile(res, 0)
	assert.Nil(t, f.Scenario.Nemesis, "the nemesis's faults are written out")
	assert.Greater(t, len(f.Scenario.Faults), len(s.Faults))
	require.NoError(t, f.Write(path))

	g, err := scenarios.ReadReplayFile(path)
	require.NoError(t, err)
	again, err := scenarios.Replay(g, scenarios.Options{})
	require.NoError(t, err)
	assert.Equal(t, res.TraceHash, again.TraceHash)

	g.TraceHash = "0000000000000000"
	_, err = scenarios.Replay(g, scenarios.Options{})
	assert.ErrorContains(t, err, "the replay diverged")
}

func TestReplayFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	res, err := scenarios.Run(parse(t, small), scenarios.Options{UntilStep: 3000})
	require.NoError(t, err)
	good := filepath.Join(dir, "good.json")
	require.NoError(t, scenarios.NewReplayFile(res, 3000).Write(good))
	data, err := os.ReadFile(good)
	require.NoError(t, err)

	other := scenarios.NewReplayFile(res, 3000)
	other.Version = "0.0.1"
	old := filepath.Join(dir, "old.json")
	require.NoError(t, other.Write(old))
	_, err = scenarios.ReadReplayFile(old)
	assert.ErrorIs(t, err, scenarios.ErrOtherVersion)
	assert.ErrorContains(t, err, "written by kafkasim 0.0.1")

	// An edited file is not a determinism bug: its digest says so.
	edited := write("edited.json", strings.Replace(string(data), `"steps": `, `"steps": 1`, 1))
	_, err = scenarios.ReadReplayFile(edited)
	assert.ErrorIs(t, err, scenarios.ErrEdited)
	versionEdited := write("version-edited.json", strings.Replace(string(data), `"version": "`+scenarios.Version+`"`, `"version": "0.0.1"`, 1))
	_, err = scenarios.ReadReplayFile(versionEdited)
	assert.ErrorIs(t, err, scenarios.ErrEdited)
	// Reformatting is not editing.
	reformatted := write("reformatted.json", strings.ReplaceAll(string(data), "\n  ", "\n\t"))
	_, err = scenarios.ReadReplayFile(reformatted)
	assert.NoError(t, err)

	_, err = scenarios.ReadReplayFile(write("other.json", `{"format": "kafkasim-history"}`))
	assert.ErrorContains(t, err, `format "kafkasim-history" is not a replay file's`)
	_, err = scenarios.ReadReplayFile(write("junk.json", `{"format": `))
	assert.ErrorContains(t, err, "not a replay file")
	_, err = scenarios.ReadReplayFile(filepath.Join(dir, "missing.json"))
	assert.ErrorContains(t, err, "cannot read replay file")

	g, err := scenarios.ReadReplayFile(good)
	require.NoError(t, err)
	again, err := scenarios.Replay(g, scenarios.Options{})
	require.NoError(t, err, "a replay up to a step reproduces that prefix")
	assert.EqualValues(t, 3000, again.Steps)
}

// FuzzReadReplayFile feeds arbitrary bytes to the replay file reader: it
// never panics, and a file it accepts writes back to a file it accepts
// with the same scenario.
func FuzzReadReplayFile(f *testing.F) {
	res, err := scenarios.Run(parseFuzzSeed(f), scenarios.Options{UntilStep: 500})
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := scenarios.NewReplayFile(res, 500).Write(good); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte(`{"format": "kafkasim-replay"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "f.json")
		require.NoError(t, os.WriteFile(path, data, 0o644))
		rf, err := scenarios.ReadReplayFile(path)
		if err != nil {
			return
		}
		again := filepath.Join(t.TempDir(), "again.json")
		require.NoError(t, rf.Write(again))
		back, err := scenarios.ReadReplayFile(again)
		require.NoError(t, err)
		assert.Equal(t, rf.Scenario.Name, back.Scenario.Name)
		assert.Equal(t, rf.TraceHash, back.TraceHash)
	})
}

func parseFuzzSeed(f *testing.F) scenarios.Scenario {
	s, err := scenarios.Parse("small", []byte(small))
	if err != nil {
		f.Fatal(err)
	}
	return s
}
