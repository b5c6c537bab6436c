package checker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// The same history gives the same verdict, finding for finding.
func TestCheckIsDeterministic(t *testing.T) {
	h := generate(seeded(3), genConfig{Partitions: 4, Producers: 3, Consumers: 2, Ops: 400, Unknown: 10, Fail: 10, Acks: model.AcksAll, Idempotent: true})
	parts := polled(h, 3)
	for _, p := range parts[:3] {
		p.Records = append(p.Records[:1], p.Records[2:]...)
	}
	a := checker.Check(h, checker.Options{})
	b := checker.Check(h, checker.Options{})
	require.False(t, a.OK())
	assert.Equal(t, a.Findings, b.Findings)
	assert.Equal(t, a.Linearizability.Partitions, b.Linearizability.Partitions)
	assert.Equal(t, a.Summary(), b.Summary())
}

// Porcupine's visualization is a whole page that shows the operations, and
// findings can be marked on it.
func TestVisualize(t *testing.T) {
	h, err := parseHistory(`
p1 send t-0 a -> 0 @0-10
p1 send t-0 b -> 1 @20-30
c1 poll t-0 pos=0 0:a 1:x @40-50
`)
	require.NoError(t, err)
	r := checker.Check(h, checker.Options{})
	require.Equal(t, checker.Illegal, r.Linearizability.Result)
	r.Linearizability.Annotate(r.Findings)
	var buf bytes.Buffer
	require.NoError(t, r.Linearizability.Visualize(&buf))
	page := buf.String()
	assert.True(t, strings.HasPrefix(strings.TrimSpace(page), "<!DOCTYPE html>") || strings.Contains(page, "<html"), "an HTML page")
	assert.Contains(t, page, "send(a)")
	assert.Contains(t, page, "poll(from 0)")
	assert.Contains(t, page, "inconsistent-offsets t-0 offset 1")
}

// Every finding names the seed, the simulated time and the replay command.
func TestFindingsNameTheRun(t *testing.T) {
	h, err := parseHistory(`
p1 send t-0 a -> 0 @0-10
c1 poll t-0 pos=0 0:x @40-50
`)
	require.NoError(t, err)
	h.Header.Seed, h.Header.Replay = 77, "kafkasim replay lost.jsonl"
	r := checker.Check(h, checker.Options{})
	require.NotEmpty(t, r.Findings)
	for _, f := range r.Findings {
		s := f.String()
		assert.Contains(t, s, "seed 77")
		assert.Contains(t, s, "at "+f.At.String())
		assert.Contains(t, s, "replay: kafkasim replay lost.jsonl")
		assert.Equal(t, s, f.Error())
	}
	assert.Contains(t, r.Summary(), "replay: kafkasim replay lost.jsonl")
	counts := checker.Summarize(r.Findings)
	require.NotEmpty(t, counts)
	assert.Equal(t, checker.DataLoss, counts[0].Class, "most serious first")
}
