package fault_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// adder is a target that records the partition increases it is asked for.
type adder struct {
	fault.StaticTarget
	asked []string
}

func (a *adder) AddPartitions(topic string, count int) error {
	a.asked = append(a.asked, topic+":"+string(rune('0'+count)))
	return nil
}

// add-partitions is an operator's action timed by the schedule: a target
// that can add partitions is asked, one that cannot skips it; the text
// form names the topic and the count.
func TestAddPartitions(t *testing.T) {
	withTopics := names
	withTopics.Topics = map[string]int{"orders": 3}
	s, err := fault.Parse("add.json", []byte(`[{"at": "2s", "kind": "add-partitions", "topic": "orders", "partitions": 6}]`), withTopics, time.Minute)
	require.NoError(t, err)
	assert.Equal(t, "2s add-partitions orders to 6 partitions", s.String())

	sm, _, target := cluster(t, 1)
	a := &adder{StaticTarget: target}
	s.Install(a)
	require.NoError(t, sm.RunFor(3*time.Second))
	assert.Equal(t, []string{"orders:6"}, a.asked)

	sm, _, target = cluster(t, 1)
	var rec sim.Recorder
	sm.Trace().SetSink(rec.Record)
	s.Install(target)
	require.NoError(t, sm.RunFor(3*time.Second))
	assert.Contains(t, rec.Records[len(rec.Records)-1].Detail, "this target cannot add partitions")
	assert.False(t, fault.AddPartitions.Drawable(), "the nemesis never draws an operator's action")
}
