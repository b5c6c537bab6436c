package scenarios_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios"
)

// checks.linearizability_budget bounds the check in steps: a budget the
// run's history exhausts leaves it unchecked, which is not ok, on every
// run alike; a negative one is refused.
func TestLinearizabilityBudget(t *testing.T) {
	tiny := strings.Replace(small, `"name": "small",`, `"name": "small", "checks": {"linearizability_budget": 10},`, 1)
	for range 2 {
		res, err := scenarios.Run(parse(t, tiny), scenarios.Options{})
		require.NoError(t, err)
		l := res.Report.Linearizability
		require.Equal(t, checker.Unchecked, l.Result)
		assert.Equal(t, "unchecked (budget of 10 steps exhausted)", l.String())
		assert.False(t, res.OK())
		assert.Contains(t, res.Summary(), "linearizability-unchecked")
	}
	_, err := scenarios.Parse("test.json", []byte(strings.Replace(small, `"name": "small",`, `"name": "small", "checks": {"linearizability_budget": -1},`, 1)))
	assert.ErrorContains(t, err, "checks.linearizability_budget: -1 is out of range: give a whole number from 0 to")
}
