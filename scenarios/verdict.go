package scenarios

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// verdictOf computes a finished run's verdict: the one place a run's answer
// is made.
func verdictOf(res *Result, p *Plan, watch *checker.Watch, live []checker.Finding) *checker.Verdict {
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
		To:             min(time.Duration(*s.Duration), res.End),
		LastFault:      lastFault,
		Settings:       settingsOf(p.Config, s.Cluster.Protocol),
		UserPartitions: userPartitions(s, res.Schedule),
		History:        res.History,
		ReplayUntilStep: func(step uint64) string {
			return fmt.Sprintf("%s --until-step %d", replay, step)
		},
	})
}

// userPartitions lists the partitions of the scenario's own topics, those
// the schedule adds included.
func userPartitions(s Scenario, schedule fault.Schedule) []model.TopicPartition {
	var out []model.TopicPartition
	counts := partitionCounts(s, schedule)
	for _, t := range s.Cluster.Topics {
		for p := range counts[t.Name] {
			out = append(out, model.TopicPartition{Topic: t.Name, Partition: int32(p)})
		}
	}
	return out
}

// settingsOf reads, from the run's typed configuration, what decides what
// the scenario's topics can lose.
func settingsOf(rc model.RunConfig, p Protocol) checker.Settings {
	set := checker.Settings{Topics: map[string]checker.TopicSettings{},
		Fsync: rc.FlushIntervalMessages > 0 || rc.FlushInterval > 0}
	for _, t := range rc.Topics {
		set.Topics[t.Name] = checker.TopicSettings{MinInsyncReplicas: t.MinInsyncReplicas, Unclean: t.UncleanLeaderElection,
			RetentionMs: t.RetentionMs, RetentionBytes: t.RetentionBytes, Deletes: t.Deletes()}
	}
	set.Variants = lossVariants(p)
	return set
}

// lossVariants names the historical protocol variants a run chose that
// may lose records: the switches set away from current Kafka's default
// that undo a KIP or a fix, but for the consumers' (which lose no record).
func lossVariants(p Protocol) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(p)) {
		v, ok := cluster.VariantByName(name)
		if ok && v.Undoes != "" && v.Applies != cluster.AppliesConsumer && p[name] != v.Default {
			out = append(out, name+"="+p[name])
		}
	}
	return out
}

// minISRFunc gives a partition's effective min.insync.replicas (its
// topic's, else the cluster default, at most its replica count), for the
// watch's time below min ISR.
func minISRFunc(rc model.RunConfig) func(tp model.TopicPartition, replicas int) int {
	return func(tp model.TopicPartition, replicas int) int {
		n := rc.Topic(tp.Topic).MinInsyncReplicas
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
