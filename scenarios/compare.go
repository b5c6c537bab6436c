package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/scenarios/fault"
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

// MetadataVariants run one schedule on KRaft and on ZooKeeper-mode Kafka
// (KRaft with the scenario's controllers, or DefaultControllers if it ran
// in ZooKeeper mode; ZooKeeper mode with the scenario's ensemble, or
// DefaultZooKeepers). Switches of one mode only are dropped from the other,
// and faults that name the other mode's nodes (c1.., z1..) make the
// variant fail to compile, naming them.
func MetadataVariants() []Variant {
	only := func(s *Scenario, keep func(cluster.Variant) bool) {
		p := Protocol{}
		for name, v := range s.Cluster.Protocol {
			if sw, ok := cluster.VariantByName(name); !ok || keep(sw) {
				p[name] = v
			}
		}
		s.Cluster.Protocol = p
	}
	return []Variant{
		{"kraft", func(s *Scenario) error {
			if s.Cluster.ZK() {
				s.Cluster.Controllers = nil
			}
			s.Cluster.Metadata, s.Cluster.ZooKeepers = string(cluster.KRaft), nil
			only(s, func(v cluster.Variant) bool { return v.Applies != cluster.AppliesZooKeeper })
			return nil
		}},
		{"zookeeper", func(s *Scenario) error {
			s.Cluster.Metadata, s.Cluster.Controllers = string(cluster.ZooKeeper), new(0)
			only(s, func(v cluster.Variant) bool { return v.Applies != "quorum" && v.Name != "elr" })
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

// Measures returns the comparison's rows, all read from each run's
// verdict: per partition of the scenario's topics, the time it had no
// leader, the time its ISR was below min.insync.replicas, the records lost
// (and what allowed it), the records truncated from replicas, the time to
// recover after the last fault, and the final log length; then the
// consumers' anomalies and the verdict.
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
		pv := func(r *Result) checker.PartitionVerdict { p, _ := r.PartitionVerdict(tp); return p }
		add(tp+" time unavailable (no leader)", func(r *Result) (string, bool) {
			d := pv(r).Unavailable
			return d.Round(time.Millisecond).String(), d > 0
		})
		add(tp+" time below min.insync.replicas", func(r *Result) (string, bool) {
			d := pv(r).UnderMinISR
			return d.Round(time.Millisecond).String(), d > 0
		})
		add(tp+" acknowledged or committed records lost", func(r *Result) (string, bool) {
			n := pv(r).Lost
			return fmt.Sprint(n), n > 0
		})
		add(tp+" records truncated from replicas", func(r *Result) (string, bool) {
			return fmt.Sprint(pv(r).Truncated), false
		})
		add(tp+" time to recover after the last fault", func(r *Result) (string, bool) {
			p := pv(r)
			if !p.Recovered {
				return "never", true
			}
			return p.Recovery.Round(time.Millisecond).String(), false
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
		for _, f := range r.Findings() {
			if f.Class != checker.Note && (strings.Contains(f.Name, "poll") || strings.HasPrefix(f.Name, "committed-offset") ||
				f.Name == "inconsistent-offsets" || f.Name == "G1a" || f.Name == "unsent-value") {
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

// FinalLength is the log end offset of the partition's final leader.
func (r *Result) FinalLength(tp string) (int64, bool) {
	for _, rs := range checker.FinalLogs(r.History) {
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
	// Invalid says why Kafka refuses this combination (empty if it ran).
	Invalid string
	Result  *Result

	schedule fault.Schedule
}

// Schedule is the fault schedule the matrix ran (the same in every row).
func (row MatrixRow) Schedule() fault.Schedule { return row.schedule }

// RestrictAxes keeps, of the axes named in spec ("acks=1,enable.idempotence=false"),
// only the values given.
func RestrictAxes(axes []Axis, spec string) ([]Axis, error) {
	out := slices.Clone(axes)
	for _, kv := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		i := slices.IndexFunc(out, func(a Axis) bool { return a.Name == k })
		if !ok || i < 0 {
			var names []string
			for _, a := range axes {
				names = append(names, a.Name)
			}
			return nil, fmt.Errorf("%q: give AXIS=VALUE pairs separated by commas; the axes are %s", kv, strings.Join(names, ", "))
		}
		if !slices.Contains(out[i].Values, v) {
			return nil, fmt.Errorf("%s=%q: accepted are %s", k, v, strings.Join(out[i].Values, ", "))
		}
		out[i].Values = []string{v}
	}
	return out, nil
}

// Matrix runs the plan's seed and schedule across every combination of
// the axes' values. A combination Kafka refuses is not run: its row says
// why. replay makes each configuration's replay command from its values.
func Matrix(p *Plan, axes []Axis, opts Options, replay func(values []string) string) ([]MatrixRow, error) {
	s := p.explicit()
	schedule := p.Schedule
	var rows []MatrixRow
	n := 1
	for _, a := range axes {
		n *= len(a.Values)
	}
	for i := range n {
		vs := s
		vs.Cluster.Topics = slices.Clone(s.Cluster.Topics)
		vs.Workload.Producers = slices.Clone(s.Workload.Producers)
		row := MatrixRow{schedule: schedule}
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
		if replay != nil {
			vopts.Replay = replay(row.Values)
		}
		res, err := vp.Run(vopts)
		if err != nil {
			return nil, fmt.Errorf("configuration %v: %w", row.Values, err)
		}
		row.Result = res
		rows = append(rows, row)
	}
	return rows, nil
}

// A MatrixSummary adds a matrix's verdicts up.
type MatrixSummary struct {
	Ran, Rejected int
	// Lossy counts configurations that lost records, Failed those whose
	// verdict is not OK; MostLost is the largest loss.
	Lossy, Failed, MostLost int
}

// NewMatrixSummary adds up the rows' verdicts.
func NewMatrixSummary(rows []MatrixRow) MatrixSummary {
	var m MatrixSummary
	for _, row := range rows {
		if row.Result == nil {
			m.Rejected++
			continue
		}
		m.Ran++
		v := row.Result.Verdict
		if v.Lost > 0 {
			m.Lossy++
			m.MostLost = max(m.MostLost, v.Lost)
		}
		if !v.OK {
			m.Failed++
		}
	}
	return m
}
