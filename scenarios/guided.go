package scenarios

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// Coverage guidance: part of a hunt's budget goes to mutants of the seeds
// that reached rare states. A mutant is its parent's scenario with one to
// three changes to the fault schedule — a fault added (with its heal), one
// dropped, one shifted, or one made longer (its heal moved later) — drawn
// from the stream named by the parent's seed and the mutation's number, so
// that (seed, mutation) names one scenario wherever it runs.

// The mutation operators, in the order a mutation draws them.
var mutationOps = []string{"add", "drop", "shift", "lengthen"}

// MutateHunt returns mutation number mutation (1 and up) of the hunt
// scenario of seed, with what the mutation did in one line.
func MutateHunt(base Scenario, seed uint64, mutation int, opts HuntOptions) (Scenario, HuntDraw, string, error) {
	s, d, err := HuntScenario(base, seed, opts)
	if err != nil {
		return s, d, "", err
	}
	if mutation < 1 {
		return s, d, "", nil
	}
	r := sim.NewRand(seed, fmt.Sprintf("hunt-mutation-%d", mutation))
	start := 5 * time.Second
	end := max(time.Duration(s.Workload.ProduceUntil), start+time.Second)
	sched := slices.Clone(s.Faults)
	var did []string
	for range 1 + r.IntN(3) {
		op := mutationOps[r.IntN(len(mutationOps))]
		switch op {
		case "add":
			var drawn []fault.Fault
			for _, f := range sched {
				if _, ok := fault.HealOf(f); ok {
					drawn = append(drawn, f)
				}
			}
			if len(drawn) == 0 {
				continue
			}
			f := drawn[r.IntN(len(drawn))]
			heal, _ := fault.HealOf(f)
			at := start + time.Duration(r.Int64N(int64(end-start)))
			length := logUniform(r, 500*time.Millisecond, 40*time.Second)
			f.At, heal.At = fault.Duration(at.Round(time.Millisecond)), fault.Duration((at + length).Round(time.Millisecond))
			sched = append(sched, f, heal)
			did = append(did, fmt.Sprintf("add %s at %v for %v", f.Kind, at.Round(time.Millisecond), length))
		case "drop":
			if len(sched) == 0 {
				continue
			}
			i := r.IntN(len(sched))
			did = append(did, fmt.Sprintf("drop %s at %v", sched[i].Kind, time.Duration(sched[i].At)))
			sched = slices.Delete(sched, i, i+1)
		case "shift":
			if len(sched) == 0 {
				continue
			}
			i := r.IntN(len(sched))
			by := time.Duration(r.Int64N(int64(10*time.Second))) - 5*time.Second
			at := max(time.Duration(sched[i].At)+by, time.Second).Round(time.Millisecond)
			did = append(did, fmt.Sprintf("shift %s from %v to %v", sched[i].Kind, time.Duration(sched[i].At), at))
			sched[i].At = fault.Duration(at)
		case "lengthen":
			var heals []int
			for i, f := range sched {
				if f.Kind == fault.Restart || f.Kind == fault.Resume || f.Kind == fault.Heal || (f.Kind == fault.Clock && f.Skew == 0 && f.Drift == 0) {
					heals = append(heals, i)
				}
			}
			if len(heals) == 0 {
				continue
			}
			i := heals[r.IntN(len(heals))]
			by := logUniform(r, 2*time.Second, 20*time.Second)
			did = append(did, fmt.Sprintf("lengthen: %s at %v moves %v later", sched[i].Kind, time.Duration(sched[i].At), by))
			sched[i].At += fault.Duration(by)
		}
	}
	last := time.Duration(0)
	for _, f := range sched {
		last = max(last, time.Duration(f.At))
	}
	if last >= time.Duration(*s.Duration) {
		d := fault.Duration(last + 5*time.Second)
		s.Duration = &d
	}
	s.Faults = fault.Schedule(sched).Sorted()
	what := strings.Join(did, "; ")
	if what == "" {
		what = "nothing to change"
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, d, what, fmt.Errorf("hunt seed %d mutation %d is invalid: %w", seed, mutation, err)
	}
	return s, d, what, nil
}

// HuntMutationReplay is the command that replays one mutant.
func HuntMutationReplay(name string, seed uint64, mutation int) string {
	return fmt.Sprintf("%s --mutation %d", HuntReplay(name, seed), mutation)
}

// rareParents ranks seeds by how rare the coverage they reached is: the
// sum over their marks, and their pairs of interesting states, of one
// over the number of seeds that reached it. Ties go to the lower seed.
func rareParents(sums []HuntSummary) []HuntSummary {
	count := map[string]int{}
	keys := func(s HuntSummary) []string {
		out := slices.Clone(s.Marks)
		for i, a := range s.States {
			for _, b := range s.States[i+1:] {
				out = append(out, a+"+"+b)
			}
		}
		return out
	}
	for _, s := range sums {
		for _, k := range keys(s) {
			count[k]++
		}
	}
	score := map[uint64]float64{}
	var ok []HuntSummary
	for _, s := range sums {
		if s.Error != "" {
			continue
		}
		for _, k := range keys(s) {
			score[s.Seed] += 1 / float64(count[k])
		}
		ok = append(ok, s)
	}
	slices.SortStableFunc(ok, func(a, b HuntSummary) int {
		return cmp.Or(cmp.Compare(score[b.Seed], score[a.Seed]), cmp.Compare(a.Seed, b.Seed))
	})
	return ok
}

// guidedPhase runs the mutants of a hunt: mutants of its best parents,
// round robin over the top quarter of the ranking (at least one), the
// mutation numbers counting up from 1 across the hunt.
func guidedPhase(base Scenario, fresh []HuntSummary, opts HuntRunOptions) []HuntSummary {
	ranked := rareParents(fresh)
	if len(ranked) == 0 || opts.Mutants == 0 {
		return nil
	}
	parents := ranked[:max(1, min(len(ranked), opts.Mutants/4+1, len(ranked)/4+1))]
	type job struct {
		seed     uint64
		mutation int
	}
	jobs := make([]job, opts.Mutants)
	idx := make([]uint64, opts.Mutants)
	for i := range jobs {
		jobs[i] = job{parents[i%len(parents)].Seed, i + 1}
		idx[i] = uint64(i)
	}
	return runSeeds(idx, max(opts.Parallel, 1), nil, func(i uint64) HuntSummary {
		j := jobs[i]
		s, d, what, err := MutateHunt(base, j.seed, j.mutation, opts.HuntOptions)
		s.Seed = j.seed
		o := opts
		o.Mutation = j.mutation
		sum := huntOne(s, d.String()+"; mutation: "+what, err, o)
		sum.Seed, sum.Mutation = j.seed, j.mutation
		sum.Replay = HuntMutationReplay(opts.Name, j.seed, j.mutation)
		return sum
	})
}
