package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kafkasim shell --script checks a script: 0 when every output matches,
// 1 and a diff when one differs; --rewrite fills the outputs in.
func TestShellScript(t *testing.T) {
	code, out, errOut := kafkasim("shell", "--script", "../../scenarios/shell/testdata/errors.txt")
	assert.Equal(t, 0, code, "%s%s", out, errOut)

	file := filepath.Join(t.TempDir(), "s.txt")
	require.NoError(t, os.WriteFile(file, []byte("kafka-topics.sh --create --topic t --partitions 2\n----\nCreated topic u.\n"), 0o644))
	code, out, errOut = kafkasim("shell", "--script", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "+Created topic t.")
	assert.Contains(t, errOut, "differs")

	code, _, errOut = kafkasim("shell", "--script", file, "--rewrite")
	require.Equal(t, 0, code, errOut)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "kafka-topics.sh --create --topic t --partitions 2\n----\nCreated topic t.\n", string(data))
	code, _, _ = kafkasim("shell", "--script", file)
	assert.Equal(t, 0, code)
}

// A built-in scenario's cluster and topics, with another seed.
func TestShellScenario(t *testing.T) {
	file := filepath.Join(t.TempDir(), "s.txt")
	require.NoError(t, os.WriteFile(file, []byte("kafka-topics.sh --list\n----\n"), 0o644))
	code, _, errOut := kafkasim("shell", "acks-all-one-broker-down", "--seed", "7", "--script", file, "--rewrite")
	require.Equal(t, 0, code, errOut)
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Regexp(t, `----\n\S+\n`, string(data), "the scenario's topics are listed")

	code, _, errOut = kafkasim("shell", "a", "b")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "at most one scenario")
}
