package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/model"
)

// A Variant is one configuration in a comparison: a name and how it changes
// the scenario.
type Variant struct {
	Name  string
	Apply func(*Scenario) error
}

// setTopicConfig sets a topic config on every topic of the scenario.
func setTopicConfig(s *Scenario, name, value string) {
	for i := range s.Cluster.Topics {
		t := &s.Cluster.Topics[i]
		t.Config = maps.Clone(t.Config)
		if t.Config == nil {
			t.Config = map[string]string{}
		}
		t.Config[name] = value
	}
}

// ElectionVariants are the leader-election configurations worth comparing on
// one schedule: clean election, unclean election, and clean election with
// KIP-966's Eligible Leader Replicas.
func ElectionVariants() []Variant {
	return []Variant{
		{"clean", func(s *Scenario) error {
			setTopicConfig(s, "unclean.leader.election.enable", "false")
			s.Cluster.Protocol = s.Cluster.Protocol.With("elr", "false")
			return nil
		}},
		{"unclean", func(s *Scenario) error {
			setTopicConfig(s, "unclean.leader.election.enable", "true")
			s.Cluster.Protocol = s.Cluster.Protocol.With("elr", "false")
			return nil
		}},
		{"elr", func(s *Scenario) error {
			setTopicConfig(s, "unclean.leader.election.enable", "false")
			s.Cluster.Protocol = s.Cluster.Protocol.With("elr", "true")
			return nil
		}},
	}
}

// A Comparison is one schedule run under several configurations.
type Comparison struct {
	// Scenario is the base scenario with its schedule made explicit.
	Scenario Scenario
	Variants []string
	Results  []*Result
}

// Compare runs the plan's scenario once per variant, on the plan's fault
// schedule (a nemesis is drawn once, from the scenario's seed): each
// variant changes the scenario, which is compiled again.
func Compare(p *Plan, variants []Variant, opts Options) (*Comparison, error) {
	s := p.explicit()
	c := &Comparison{Scenario: s}
	for _, v := range variants {
		vs := s
		vs.Cluster.Topics = slices.Clone(s.Cluster.Topics)
		vs.Workload.Producers = slices.Clone(s.Workload.Producers)
		if err := v.Apply(&vs); err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		vp, err := Compile(vs)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		vopts := opts
		if vopts.Replay == "" {
			vopts.Replay = fmt.Sprintf("kafkasim run %s --seed %d (variant %s)", s.Name, s.Seed, v.Name)
		}
		res, err := vp.Run(vopts)
		if err != nil {
			return nil, fmt.Errorf("variant %s: %w", v.Name, err)
		}
		c.Variants = append(c.Variants, v.Name)
		c.Results = append(c.Results, res)
	}
	return c, nil
}

// explicit returns the plan's scenario with its schedule made explicit:
// the nemesis's faults drawn, the nemesis gone.
func (p *Plan) explicit() Scenario {
	s := p.Scenario
	s.Faults, s.Nemesis = slices.Clone(p.Schedule), nil
	return s
}

// A Measure is one row of a comparison: a name and, per variant, its value
// and whether it is bad news.
type Measure struct {
	Name   string
	Values []string
	Bad    []bool
}

// Measures returns the comparison's rows: per partition of the scenario's
// topics, the time it was unavailable, the acknowledged or committed
// records lost, the records truncated from replicas, the time to recover
// after the last fault, and the final log length; then the consumers'
// anomalies and the verdict.
func (c *Comparison) Measures() []Measure {
	var out []Measure
	add := func(name string, f func(r *Result) (string, bool)) {
		m := Measure{Name: name}
		for _, r := range c.Results {
			v, bad := f(r)
			m.Values = append(m.Values, v)
			m.Bad = append(m.Bad, bad)
		}
		out = append(out, m)
	}
	for _, tp := range c.partitions() {
		add(tp+" time unavailable", func(r *Result) (string, bool) {
			d := r.Offline[tp]
			return d.Round(time.Millisecond).String(), d > 0
		})
		add(tp+" acknowledged or committed records lost", func(r *Result) (string, bool) {
			n := r.LostIn(tp)
			return fmt.Sprint(n), n > 0
		})
		add(tp+" records truncated from replicas", func(r *Result) (string, bool) {
			return fmt.Sprint(r.TruncatedIn[tp]), false
		})
		add(tp+" time to recover after the last fault", func(r *Result) (string, bool) {
			d, ok := r.RecoveryTime(tp)
			if !ok {
				return "never", true
			}
			return d.Round(time.Millisecond).String(), false
		})
		add(tp+" final log length", func(r *Result) (string, bool) {
			n, ok := r.FinalLength(tp)
			if !ok {
				return "-", false
			}
			return fmt.Sprint(n), false
		})
	}
	add("consumer anomalies", func(r *Result) (string, bool) {
		n := 0
		for _, f := range r.Bad() {
			if strings.Contains(f.Name, "poll") || f.Name == "committed-offset-regression" {
				n++
			}
		}
		return fmt.Sprint(n), n > 0
	})
	add("verdict", func(r *Result) (string, bool) { return r.Summary(), !r.OK() })
	return out
}

// partitions lists the user topics' partitions, sorted.
func (c *Comparison) partitions() []string {
	var out []string
	for _, t := range c.Scenario.Cluster.Topics {
		for p := range *t.Partitions {
			out = append(out, fmt.Sprintf("%s-%d", t.Name, p))
		}
	}
	return out
}

// LostIn counts the acknowledged or committed records of one partition
// that the run's bad findings say were lost.
func (r *Result) LostIn(tp string) int {
	n := 0
	for _, f := range r.Bad() {
		if (f.Name == "lost-write" || f.Name == "lost-committed") && f.TP.String() == tp {
			n = max(n, spanOf(f.Offsets))
		}
	}
	return n
}

// RecoveryTime is how long after the scenario's last fault every replica
// of the partition was back and one of them led it; false if that never
// happened before the run ended.
func (r *Result) RecoveryTime(tp string) (time.Duration, bool) {
	var last time.Duration
	for _, f := range r.Schedule {
		last = max(last, f.Time())
	}
	for _, p := range r.Timeline.Partitions {
		if p.TP.String() != tp {
			continue
		}
		for _, s := range p.Samples {
			if s.At < last || !led(s) {
				continue
			}
			all := true
			for _, rs := range s.Replicas {
				all = all && rs.Online
			}
			if all {
				return s.At - last, true
			}
		}
		// Already led and whole before the last fault, and it changed
		// nothing since.
		if n := len(p.Samples); n > 0 && p.Samples[n-1].At < last && led(p.Samples[n-1]) {
			return 0, true
		}
	}
	return 0, false
}

// FinalLength is the log end offset of the partition's final leader.
func (r *Result) FinalLength(tp string) (int64, bool) {
	for _, rs := range model.FinalLogs(r.History) {
		if rs.TP.String() == tp {
			return rs.LogEndOffset, true
		}
	}
	return 0, false
}

// An Axis is one configuration knob of a matrix, with the values to try.
type Axis struct {
	Name   string
	Values []string
	Apply  func(s *Scenario, value string)
}

// setProducerConfig sets a producer property on every producer group.
func setProducerConfig(s *Scenario, name, value string) {
	for i := range s.Workload.Producers {
		p := &s.Workload.Producers[i]
		p.Config = maps.Clone(p.Config)
		if p.Config == nil {
			p.Config = map[string]string{}
		}
		p.Config[name] = value
	}
}

// MatrixAxes are the knobs that decide what a Kafka configuration can lose.
func MatrixAxes() []Axis {
	return []Axis{
		{"acks", []string{"1", "all"}, func(s *Scenario, v string) { setProducerConfig(s, "acks", v) }},
		{"min.insync.replicas", []string{"1", "2"}, func(s *Scenario, v string) { setTopicConfig(s, "min.insync.replicas", v) }},
		{"unclean.leader.election.enable", []string{"false", "true"}, func(s *Scenario, v string) { setTopicConfig(s, "unclean.leader.election.enable", v) }},
		{"eligible.leader.replicas", []string{"off", "on"}, func(s *Scenario, v string) {
			s.Cluster.Protocol = s.Cluster.Protocol.With("elr", fmt.Sprint(v == "on"))
		}},
		{"log.flush.interval.messages", []string{"never", "1"}, func(s *Scenario, v string) {
			s.Cluster.BrokerConfig = maps.Clone(s.Cluster.BrokerConfig)
			if s.Cluster.BrokerConfig == nil {
				s.Cluster.BrokerConfig = map[string]string{}
			}
			if v == "never" {
				delete(s.Cluster.BrokerConfig, "log.flush.interval.messages")
			} else {
				s.Cluster.BrokerConfig["log.flush.interval.messages"] = v
			}
		}},
		{"enable.idempotence", []string{"false", "true"}, func(s *Scenario, v string) { setProducerConfig(s, "enable.idempotence", v) }},
	}
}

// A MatrixRow is one configuration of a matrix and what it showed.
type MatrixRow struct {
	Values []string // one per axis
	// Invalid says why Kafka refuses this combination (empty if it runs).
	Invalid string
	Result  *Result
}

// Matrix runs the plan's seed and schedule across every combination of
// the axes' values; a combination that does not compile is a row with the
// reason.
func Matrix(p *Plan, axes []Axis, opts Options) ([]MatrixRow, error) {
	s := p.explicit()
	var rows []MatrixRow
	n := 1
	for _, a := range axes {
		n *= len(a.Values)
	}
	for i := range n {
		vs := s
		vs.Cluster.Topics = slices.Clone(s.Cluster.Topics)
		vs.Workload.Producers = slices.Clone(s.Workload.Producers)
		row := MatrixRow{}
		k := i
		for _, a := range axes {
			v := a.Values[k%len(a.Values)]
			k /= len(a.Values)
			a.Apply(&vs, v)
			row.Values = append(row.Values, v)
		}
		vp, err := Compile(vs)
		if err != nil {
			row.Invalid = err.Error()
			rows = append(rows, row)
			continue
		}
		vopts := opts
		vopts.NoTimeline = true
		if vopts.Replay == "" {
			vopts.Replay = fmt.Sprintf("kafkasim matrix %s --seed %d (row %d)", s.Name, s.Seed, i+1)
		}
		res, err := vp.Run(vopts)
		if err != nil {
			row.Invalid = err.Error()
		}
		row.Result = res
		rows = append(rows, row)
	}
	return rows, nil
}
