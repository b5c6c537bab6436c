package scenarios

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
)

// verdictOf computes a finished run's verdict: the one place a run's answer
// is made.
func verdictOf(res *Result, watch *checker.Watch, live []checker.Finding) *checker.Verdict {
	s := res.Scenario
	var lastFault time.Duration
	for _, f := range res.Schedule {
		lastFault = max(lastFault, f.Time())
	}
	var stopped error
	if res.Stopped != nil {
		stopped = res.Stopped
	}
	replay := res.Replay
	return checker.NewVerdict(checker.VerdictInput{
		Run:            checker.Run{Seed: s.Seed, Replay: replay},
		Report:         res.Report,
		Live:           live,
		Stopped:        stopped,
		Watch:          watch,
		From:           res.Ready,
		To:             min(time.Duration(s.Duration), res.End),
		LastFault:      lastFault,
		Settings:       settingsOf(s),
		UserPartitions: userPartitions(s),
		History:        res.History,
		ReplayUntilStep: func(step uint64) string {
			return fmt.Sprintf("%s --until-step %d", replay, step)
		},
	})
}

// userPartitions lists the partitions of the scenario's own topics.
func userPartitions(s Scenario) []model.TopicPartition {
	var out []model.TopicPartition
	for _, t := range s.Cluster.Topics {
		for p := range t.Partitions {
			out = append(out, model.TopicPartition{Topic: t.Name, Partition: int32(p)})
		}
	}
	return out
}

// settingsOf reads what decides what the scenario's topics can lose.
func settingsOf(s Scenario) checker.Settings {
	set := checker.Settings{Topics: map[string]checker.TopicSettings{}}
	cluster := checker.TopicSettings{MinInsyncReplicas: 1}
	if v, err := strconv.Atoi(s.Cluster.BrokerConfig["min.insync.replicas"]); err == nil {
		cluster.MinInsyncReplicas = v
	}
	if v, err := strconv.Atoi(s.Cluster.ControllerConfig["min.insync.replicas"]); err == nil {
		cluster.MinInsyncReplicas = v
	}
	cluster.Unclean = s.Cluster.ControllerConfig["unclean.leader.election.enable"] == "true"
	for _, t := range s.Cluster.Topics {
		ts := cluster
		if v, err := strconv.Atoi(t.Config["min.insync.replicas"]); err == nil {
			ts.MinInsyncReplicas = v
		}
		if v, ok := t.Config["unclean.leader.election.enable"]; ok {
			ts.Unclean = v == "true"
		}
		ts.MinInsyncReplicas = min(ts.MinInsyncReplicas, t.ReplicationFactor)
		set.Topics[t.Name] = ts
	}
	for _, k := range []string{"log.flush.interval.messages", "log.flush.interval.ms"} {
		if v, err := strconv.ParseInt(s.Cluster.BrokerConfig[k], 10, 64); err == nil && v > 0 {
			set.Fsync = true
		}
	}
	set.Variants = lossVariants(s)
	return set
}

// VariantNames names the historical protocol variants a scenario chose, and
// ELR when on (empty: current Kafka's defaults).
func VariantNames(s Scenario) []string {
	var out []string
	p := s.Cluster.Protocol
	if p.EligibleLeaderReplicas {
		out = append(out, "eligible leader replicas (KIP-966)")
	}
	if p.NoPreVote {
		out = append(out, "no KRaft pre-vote (before KIP-996)")
	}
	return append(out, lossVariants(s)...)
}

// lossVariants names the variants that bring back a way to lose data.
func lossVariants(s Scenario) []string {
	var set struct{ Variants []string }
	p := s.Cluster.Protocol
	if p.Truncation != "" && p.Truncation != "fetch" {
		set.Variants = append(set.Variants, "truncation="+p.Truncation)
	}
	if p.NoBrokerEpochCheck {
		set.Variants = append(set.Variants, "no KIP-903 broker epoch check")
	}
	if p.LegacyHighWatermark {
		set.Variants = append(set.Variants, "legacy high-water mark (before KAFKA-15583)")
	}
	if p.LegacyProducerChecks {
		set.Variants = append(set.Variants, "legacy producer checks")
	}
	return set.Variants
}

// minISRFunc gives a partition's effective min.insync.replicas (the topic's,
// else the cluster's, at most its replica count), for the watch's
// under-min-ISR time. Internal topics use the cluster default.
func minISRFunc(s Scenario) func(tp model.TopicPartition, replicas int) int {
	set := settingsOf(s)
	def := 1
	if v, err := strconv.Atoi(s.Cluster.BrokerConfig["min.insync.replicas"]); err == nil {
		def = v
	}
	return func(tp model.TopicPartition, replicas int) int {
		n := def
		if ts, ok := set.Topics[tp.Topic]; ok {
			n = ts.MinInsyncReplicas
		}
		return max(1, min(n, replicas))
	}
}

// PartitionVerdict returns the verdict on one partition ("orders-0"), and
// false if the run has none for it.
func (r *Result) PartitionVerdict(tp string) (checker.PartitionVerdict, bool) {
	for _, p := range r.Verdict.Partitions {
		if p.TP.String() == tp {
			return p, true
		}
	}
	return checker.PartitionVerdict{}, false
}

// ExplainUnclean tells each incident whose loss an unclean election allowed
// what clean election would have cost on the same schedule: it runs the
// schedule once more with unclean.leader.election.enable=false (and ELR
// off). compare is the command that shows both side by side. It does
// nothing when no loss came from an unclean election.
func ExplainUnclean(res *Result, opts Options, compare string) error {
	v := res.Verdict
	if !slices.ContainsFunc(v.Incidents, func(inc checker.Incident) bool { return inc.Allowance == checker.AllowUnclean }) {
		return nil
	}
	s := res.Scenario
	s.Faults, s.Nemesis = res.Schedule, nil
	s.Cluster.Topics = slices.Clone(s.Cluster.Topics)
	if err := ElectionVariants()[0].Apply(&s); err != nil {
		return err
	}
	opts.NoTimeline, opts.Trace = true, nil
	opts.Replay = compare
	clean, err := Run(s, opts)
	if err != nil {
		return err
	}
	for i := range v.Incidents {
		inc := &v.Incidents[i]
		if inc.Allowance != checker.AllowUnclean {
			continue
		}
		mine, _ := res.PartitionVerdict(inc.TP.String())
		other, _ := clean.PartitionVerdict(inc.TP.String())
		switch {
		case other.Lost == 0:
			inc.WhatIf = fmt.Sprintf("clean election would have kept them and left %s without a leader %v instead of %v: %s",
				inc.TP, other.Unavailable.Round(time.Millisecond), mine.Unavailable.Round(time.Millisecond), compare)
		default:
			inc.WhatIf = fmt.Sprintf("clean election would have lost %d records of %s too (without a leader %v instead of %v): %s",
				other.Lost, inc.TP, other.Unavailable.Round(time.Millisecond), mine.Unavailable.Round(time.Millisecond), compare)
		}
	}
	return nil
}
