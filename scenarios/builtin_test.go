package scenarios_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios"
)

// TestBuiltinsShowWhatTheySay runs every built-in scenario and asserts it
// shows what it claims: a scenario that expects a loss must find it, one
// that expects none must find nothing bad.
func TestBuiltinsShowWhatTheySay(t *testing.T) {
	for _, s := range scenarios.Builtins() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			require.NotEmpty(t, s.Description, "every built-in scenario says what it does")
			require.NotEmpty(t, s.Shows, "and what it shows")
			res, err := scenarios.Run(s, scenarios.Options{})
			require.NoError(t, err)
			ok, why := res.Expected()
			assert.True(t, ok, "%s: %s; replay: %s", s.Name, why, res.Replay)
			for _, f := range res.Findings() {
				info, known := checker.Info(f.Name)
				if assert.True(t, known, "finding %s is not in checker.Registry", f.Name) {
					assert.Contains(t, info.Classes, f.Class, "checker.Registry does not give %s the class %s", f.Name, f.Class)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	s, err := scenarios.Load("unclean-election-loss")
	require.NoError(t, err)
	assert.Equal(t, "unclean-election-loss", s.Name)
	_, err = scenarios.Load("no-such-scenario")
	assert.ErrorContains(t, err, `unknown scenario "no-such-scenario": the built-in scenarios are`)
	_, err = scenarios.Load("missing.json")
	assert.ErrorContains(t, err, "scenario file missing.json does not exist")
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"name": "mine", "cluster": {"topics": [{"name": "t"}]}}`), 0o644))
	s, err = scenarios.Load(file)
	require.NoError(t, err)
	assert.Equal(t, "mine", s.Name)
}
