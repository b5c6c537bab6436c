package props_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/props"
)

// TestTable checks every entry is complete: a role, a type, a line of
// documentation, values for a choice, and a default it accepts itself (the
// package's initialisation already panics on that).
func TestTable(t *testing.T) {
	for _, p := range props.Table() {
		assert.NotZero(t, p.Roles, p.Name)
		assert.NotZero(t, p.Type, p.Name)
		assert.NotEmpty(t, p.Doc, p.Name)
		if p.Type == props.Enum || p.Type == props.Version {
			assert.NotEmpty(t, p.Values, p.Name)
		}
		if strings.HasSuffix(p.Name, ".ms") {
			assert.Equal(t, props.Ms, p.Unit, "%s counts milliseconds", p.Name)
		}
		if strings.HasSuffix(p.Name, ".seconds") {
			assert.Equal(t, props.Seconds, p.Unit, "%s counts seconds", p.Name)
		}
		if strings.HasPrefix(p.Name, "controller.quorum.") {
			assert.True(t, p.Roles.Has(props.Broker|props.Controller|props.Quorum), "%s: brokers and controllers share the quorum's settings", p.Name)
		}
	}
	// The seven group.*/offsets.* properties are broker properties.
	broker := props.Names(props.Broker)
	for _, n := range []string{"offsets.topic.num.partitions", "offsets.topic.replication.factor", "offsets.commit.timeout.ms",
		"group.min.session.timeout.ms", "group.max.session.timeout.ms", "group.initial.rebalance.delay.ms", "group.max.size"} {
		assert.Contains(t, broker, n)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		check      func(v props.Value)
		err        string
	}{
		{"min.insync.replicas", "2", func(v props.Value) { assert.EqualValues(t, 2, v.Int()) }, ""},
		{"min.insync.replicas", " 2 ", func(v props.Value) { assert.EqualValues(t, 2, v.Int()) }, ""},
		{"min.insync.replicas", "0", nil, "invalid value 0 for configuration min.insync.replicas: value must be at least 1"},
		{"min.insync.replicas", "2147483648", nil, "value must be at most 2147483647"},
		{"min.insync.replicas", "two", nil, "invalid value two for configuration min.insync.replicas: expected a whole number from 1 to 2147483647"},
		{"offsets.topic.replication.factor", "32768", nil, "value must be at most 32767"},
		{"replica.lag.time.max.ms", "1500", func(v props.Value) { assert.Equal(t, 1500*time.Millisecond, v.Duration()) }, ""},
		{"replica.lag.time.max.ms", "9223372036855", nil, "value must be at most 9223372036854"},
		{"leader.imbalance.check.interval.seconds", "15", func(v props.Value) { assert.Equal(t, 15*time.Second, v.Duration()) }, ""},
		{"unclean.leader.election.enable", "TRUE", func(v props.Value) { assert.True(t, v.Bool()) }, ""},
		{"unclean.leader.election.enable", "yes", nil, "invalid value yes for configuration unclean.leader.election.enable: expected true or false"},
		{"acks", "-1", func(v props.Value) { assert.Equal(t, "-1", v.String()) }, ""},
		{"acks", "2", nil, "invalid value 2 for configuration acks: expected one of all, -1, 0, 1"},
		{"eligible.leader.replicas.version", "1", func(v props.Value) { assert.EqualValues(t, 1, v.Int()) }, ""},
		{"eligible.leader.replicas.version", "2", nil, "expected one of 0, 1"},
		{"partition.assignment.strategy", "range, ,roundrobin", func(v props.Value) { assert.Equal(t, []string{"range", "roundrobin"}, v.List()) }, ""},
		{"partitioner.class", "", func(v props.Value) { assert.Empty(t, v.String()) }, ""},
	} {
		p, ok := props.Lookup(tc.name)
		require.True(t, ok, tc.name)
		v, err := p.Parse(tc.text)
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, "%s=%q", tc.name, tc.text)
			var pe *props.Error
			assert.True(t, errors.As(err, &pe))
			continue
		}
		require.NoError(t, err, "%s=%q", tc.name, tc.text)
		tc.check(v)
	}
}

func TestUnknownListsTheRole(t *testing.T) {
	_, err := props.Parse(props.Topic, "max.message.bytes", "1")
	assert.EqualError(t, err, `unknown configuration "max.message.bytes": kafkasim's topic configurations are cleanup.policy, compression.type, delete.retention.ms, min.cleanable.dirty.ratio, min.compaction.lag.ms, min.insync.replicas, retention.bytes, retention.ms, segment.bytes, segment.ms, unclean.leader.election.enable`)
	_, err = props.Parse(props.Topic, "replica.lag.time.max.ms", "1")
	assert.ErrorContains(t, err, "unknown configuration", "a broker property is no topic config")
	var pe *props.Error
	require.ErrorAs(t, err, &pe)
	assert.True(t, pe.Unknown)
}

// TestParseProperty: a whole number in range parses to itself, one out of
// range is refused with the bound it crossed.
func TestParseProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		table := props.Table()
		p := table[rapid.IntRange(0, len(table)-1).Draw(t, "prop")]
		if p.Type != props.Int && p.Type != props.Long && p.Type != props.Short {
			return
		}
		n := rapid.Int64().Draw(t, "n")
		v, err := p.Parse(strings.Repeat(" ", rapid.IntRange(0, 2).Draw(t, "pad")) + strconv.FormatInt(n, 10))
		min, max := p.Bounds()
		if float64(n) < min || float64(n) > max {
			if err == nil {
				t.Fatalf("%s=%d parsed, but its range is %v..%v", p.Name, n, min, max)
			}
			return
		}
		if err != nil || v.Int() != n {
			t.Fatalf("%s=%d: %v, %d", p.Name, n, err, v.Int())
		}
	})
}

type cfg struct {
	N     int
	D     time.Duration
	B     bool
	S     string
	Items []string
}

func TestBind(t *testing.T) {
	s := props.Bind(props.Consumer,
		props.Num("max.poll.records", func(c *cfg) *int { return &c.N }),
		props.Dur("session.timeout.ms", func(c *cfg) *time.Duration { return &c.D }),
		props.Flag("enable.auto.commit", func(c *cfg) *bool { return &c.B }),
		props.Text("auto.offset.reset", func(c *cfg) *string { return &c.S }),
		props.Items("partition.assignment.strategy", func(c *cfg) *[]string { return &c.Items }),
	)
	var c cfg
	require.NoError(t, s.Apply(&c, map[string]string{"max.poll.records": "7", "session.timeout.ms": "1500",
		"enable.auto.commit": "false", "auto.offset.reset": "earliest", "partition.assignment.strategy": "range"}))
	assert.Equal(t, cfg{N: 7, D: 1500 * time.Millisecond, S: "earliest", Items: []string{"range"}}, c)
	err := s.Apply(&c, map[string]string{"max.poll.records": "0", "nope": "1"})
	assert.ErrorContains(t, err, "value must be at least 1")
	assert.ErrorContains(t, err, `unknown configuration "nope"`)

	c = cfg{N: 0, D: -time.Second, S: "middle"}
	err = s.Validate(&c)
	assert.ErrorContains(t, err, "invalid value 0 for configuration max.poll.records: value must be at least 1")
	assert.ErrorContains(t, err, "invalid value -1000 for configuration session.timeout.ms: value must be at least 0")
	assert.ErrorContains(t, err, "invalid value middle for configuration auto.offset.reset")
	assert.ErrorContains(t, s.Check(), "without a setter: [auto.commit.interval.ms, client.id,", "a partial binding does not cover its role")

	assert.Panics(t, func() { props.Bind(props.Broker, props.Num("acks", func(c *cfg) *int { return &c.N })) }, "acks is no broker property")
	assert.Panics(t, func() { props.Bind(props.Producer, props.Num("acks", func(c *cfg) *int { return &c.N })) }, "acks is no number")
	assert.Panics(t, func() {
		props.Bind(props.Producer, props.Dur("batch.size", func(c *cfg) *time.Duration { return &c.D }))
	}, "batch.size is no duration")
	assert.Panics(t, func() {
		props.Bind(props.Producer, props.Num("retries", func(c *cfg) *int { return &c.N }), props.Num("retries", func(c *cfg) *int { return &c.N }))
	}, "bound twice")
	assert.Panics(t, func() { props.Bind(props.Producer, props.Num("no.such", func(c *cfg) *int { return &c.N })) })
}

func TestMarkdown(t *testing.T) {
	md := props.Markdown(props.Table())
	assert.Contains(t, md, "| `min.insync.replicas` | broker, controller, topic | int | `1` | a whole number from 1 to 2147483647 |")
	assert.Contains(t, md, "| `controller.quorum.fetch.timeout.ms` | broker, controller (metadata quorum) | int (ms) | `2000` |")
	assert.Equal(t, len(props.Table())+2, strings.Count(md, "\n"))
}
