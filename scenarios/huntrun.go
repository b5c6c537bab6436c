package scenarios

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kafkasim/kafkasim/checker"
)

// A Target is what a hunt looks for: a finding, and optionally what the
// verdict must say allowed the loss (so that a power loss without fsync
// does not count as finding a protocol bug).
type Target struct {
	// Finding is the finding's name, such as "lost-committed".
	Finding string
	// Allowance, when set, is what must have allowed at least one lost
	// record (checker.AllowVariant for a historical protocol variant).
	Allowance checker.Allowance
}

// Found reports whether a run produced what t looks for.
func (t Target) Found(res *Result) bool {
	if t.Finding == "" {
		return false
	}
	if !slices.ContainsFunc(res.Verdict.Findings, func(f checker.Finding) bool { return f.Name == t.Finding }) {
		return false
	}
	if t.Allowance == "" {
		return true
	}
	return slices.ContainsFunc(res.Verdict.LostBy, func(a checker.AllowanceCount) bool { return a.Allowance == t.Allowance })
}

// FalsePositive reports whether a run of a configuration that should lose
// nothing it does not allow found a problem no setting explains: a loss
// no setting allows, a broken invariant that stopped the run, or (when no
// allowed loss explains them) findings of a bad class.
func FalsePositive(res *Result) (bool, string) {
	v := res.Verdict
	if v.Stopped != "" {
		return true, "stopped: " + v.Stopped
	}
	allowed := false
	for _, a := range v.LostBy {
		if a.Allowance == checker.AllowNone {
			return true, fmt.Sprintf("%d records lost with no setting allowing it", a.Records)
		}
		allowed = true
	}
	if allowed {
		return false, ""
	}
	for _, f := range v.Bad() {
		if f.Name == string(checker.LinearizabilityUnchecked) {
			continue
		}
		return true, f.Name + ": " + f.Message
	}
	return false, ""
}

// HuntRunOptions configure a hunt over seeds.
type HuntRunOptions struct {
	HuntOptions
	// Name names the hunt in replay commands: a scenario or museum entry.
	Name string
	// First and Count: the seeds First .. First+Count-1.
	First uint64
	Count int
	// Shard and Shards split the seeds among machines (0-based shard).
	Shard, Shards int
	// Parallel is how many simulations run at once; 0: one per CPU.
	Parallel int
	// Target is what counts as a find; unset, any run that is not OK is
	// a find.
	Target Target
	// Progress, if set, is told after each seed how many are done.
	Progress func(done, total int)
	// Keep, if set, is given every seed's scenario and result and its
	// mutation number (0 for a fresh seed), from the worker goroutines one
	// at a time, for replay files.
	Keep func(s Scenario, res *Result, mutation int)
	// Mutants is how many of Count's runs go to coverage guidance:
	// mutants of the fresh seeds that reached the rarest marks and pairs
	// of states (see MutateHunt). Not with shards.
	Mutants int
	// Mutation, when positive, runs that mutation of every seed instead
	// of the seed itself: it replays a mutant.
	Mutation int
}

// A HuntSummary is one hunt seed's outcome: one line of a hunt's summary
// file. Summary files of shards merge by concatenation (see MergeHunts).
type HuntSummary struct {
	Hunt    string `json:"hunt"`
	Seed    uint64 `json:"seed"`
	Knobs   string `json:"knobs"`
	OK      bool   `json:"ok"`
	Found   bool   `json:"found"`
	Summary string `json:"summary"`
	// FalsePositive says what no setting explains, for a run that found
	// a problem the configuration does not allow.
	FalsePositive string `json:"false_positive,omitempty"`
	Replay        string `json:"replay"`
	TraceHash     string `json:"trace_hash,omitempty"`
	// Marks are the coverage marks the run reached, sorted.
	Marks []string `json:"marks,omitempty"`
	// States are the interesting states (States) the run reached.
	States []string `json:"states,omitempty"`
	// Mutation, for a mutant of coverage guidance, is its number: the
	// run is MutateHunt(seed, mutation).
	Mutation int    `json:"mutation,omitempty"`
	Error    string `json:"error,omitempty"`
}

// HuntReplay is the command that replays one hunt seed.
func HuntReplay(name string, seed uint64) string {
	return fmt.Sprintf("kafkasim hunt %s --first %d --seeds 1", name, seed)
}

// Hunt runs base blind over seeds, each with its own knobs, and returns
// each seed's summary in seed order.
func Hunt(base Scenario, opts HuntRunOptions) ([]HuntSummary, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("hunt: %d seeds: give at least 1", opts.Count)
	}
	if opts.Shards == 0 {
		opts.Shards = 1
	}
	if opts.Shards < 1 || opts.Shard < 0 || opts.Shard >= opts.Shards {
		return nil, fmt.Errorf("hunt: shard %d/%d: give i/n with 0 <= i < n", opts.Shard, opts.Shards)
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.Name == "" {
		opts.Name = base.Name
	}
	if opts.Mutants < 0 || opts.Mutants >= opts.Count || (opts.Mutants > 0 && opts.Shards > 1) {
		return nil, fmt.Errorf("hunt: %d mutants of %d seeds in %d shards: give fewer mutants than seeds, and no shards with mutants", opts.Mutants, opts.Count, opts.Shards)
	}
	var seeds []uint64
	for i := range opts.Count - opts.Mutants {
		if i%opts.Shards == opts.Shard {
			seeds = append(seeds, opts.First+uint64(i))
		}
	}
	fresh := runSeeds(seeds, opts.Parallel, opts.Progress, func(seed uint64) HuntSummary {
		if opts.Mutation > 0 {
			s, d, what, err := MutateHunt(base, seed, opts.Mutation, opts.HuntOptions)
			s.Seed = seed
			sum := huntOne(s, d.String()+"; mutation: "+what, err, opts)
			sum.Mutation, sum.Replay = opts.Mutation, HuntMutationReplay(opts.Name, seed, opts.Mutation)
			return sum
		}
		s, d, err := HuntScenario(base, seed, opts.HuntOptions)
		return huntOne(s, d.String(), err, opts)
	})
	return append(fresh, guidedPhase(base, fresh, opts)...), nil
}

// keepMu serializes HuntRunOptions.Keep.
var keepMu sync.Mutex

// huntOne runs one hunt scenario and summarizes it.
func huntOne(s Scenario, knobs string, err error, opts HuntRunOptions) (sum HuntSummary) {
	sum = HuntSummary{Hunt: opts.Name, Seed: s.Seed, Knobs: knobs, Replay: HuntReplay(opts.Name, s.Seed)}
	if err != nil {
		sum.Error = err.Error()
		return sum
	}
	// A seed that crashes the simulator is a find too: the hunt records
	// it, with its replay command, and goes on.
	defer func() {
		if p := recover(); p != nil {
			sum.OK, sum.Found = false, false
			sum.Error = fmt.Sprintf("panic: %v", p)
		}
	}()
	res, err := Run(s, Options{Replay: sum.Replay, NoTimeline: true})
	if err != nil {
		sum.Error = err.Error()
		return sum
	}
	sum.OK, sum.Summary, sum.TraceHash = res.OK(), res.Summary(), res.TraceHash
	if opts.Target.Finding == "" {
		sum.Found = !res.OK()
	} else {
		sum.Found = opts.Target.Found(res)
	}
	if fp, why := FalsePositive(res); fp {
		sum.FalsePositive = why
	}
	sum.States = res.Coverage()
	for _, m := range slices.Sorted(maps.Keys(res.Marks)) {
		if res.Marks[m] > 0 {
			sum.Marks = append(sum.Marks, m)
		}
	}
	if opts.Keep != nil {
		keepMu.Lock()
		opts.Keep(s, res, opts.Mutation)
		keepMu.Unlock()
	}
	return sum
}

// runSeeds runs one function per seed on parallel goroutines and returns
// the results in the seeds' order.
func runSeeds[T any](seeds []uint64, parallel int, progress func(done, total int), one func(seed uint64) T) []T {
	out := make([]T, len(seeds))
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, len(seeds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = one(seeds[i])
				mu.Lock()
				done++
				if progress != nil {
					progress(done, len(seeds))
				}
				mu.Unlock()
			}
		}()
	}
	for i := range seeds {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// WriteHuntSummaries writes hunt summaries as JSON Lines.
func WriteHuntSummaries(w io.Writer, sums []HuntSummary) error { return writeJSONLines(w, sums) }

// ReadHuntSummaries reads hunt summary files' lines (concatenated shards
// are fine), sorted by hunt and seed, with an error naming the line that
// is not a hunt summary.
func ReadHuntSummaries(r io.Reader) ([]HuntSummary, error) {
	out, err := readJSONLines(r, "hunt summary", "hunt summaries", func(s HuntSummary) error {
		if s.Hunt == "" {
			return errors.New("it names no hunt")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b HuntSummary) int {
		return cmpOr(strings.Compare(a.Hunt, b.Hunt), compareSeeds(a.Seed, b.Seed), a.Mutation-b.Mutation)
	})
	return out, nil
}

// A HuntReport is a hunt's totals: what it found, its false positives,
// and the coverage marks its seeds reached.
type HuntReport struct {
	Seeds int
	// Found lists the seeds that found the target, in seed order.
	Found []uint64
	// FalsePositives are the seeds whose problem no setting explains.
	FalsePositives []HuntSummary
	Errors         []HuntSummary
	// Marks counts the seeds reaching each registered mark (every mark
	// listed, at 0 when never reached).
	Marks map[string]int
	// Pairs counts the seeds reaching each pair of interesting states
	// ("a+b", both reached in one run), only pairs reached.
	Pairs map[string]int
	// Mutants is how many of the seeds were mutants.
	Mutants int
	Wall    time.Duration
}

// NewHuntReport adds a hunt's summaries up.
func NewHuntReport(sums []HuntSummary) HuntReport {
	rep := HuntReport{Seeds: len(sums), Marks: map[string]int{}, Pairs: map[string]int{}}
	for _, m := range Marks() {
		rep.Marks[m.Name] = 0
	}
	for _, s := range sums {
		if s.Found {
			rep.Found = append(rep.Found, s.Seed)
		}
		if s.FalsePositive != "" {
			rep.FalsePositives = append(rep.FalsePositives, s)
		}
		if s.Error != "" {
			rep.Errors = append(rep.Errors, s)
		}
		for _, m := range s.Marks {
			rep.Marks[m]++
		}
		for i, a := range s.States {
			for _, b := range s.States[i+1:] {
				rep.Pairs[a+"+"+b]++
			}
		}
		if s.Mutation > 0 {
			rep.Mutants++
		}
	}
	return rep
}

// Write prints the report: finds, false positives, errors, and coverage
// (marks by how many seeds reached them, and the marks never reached).
func (rep HuntReport) Write(w io.Writer, name string) {
	fmt.Fprintf(w, "hunt %s: %d seeds, %d found", name, rep.Seeds, len(rep.Found))
	if len(rep.Found) > 0 {
		fmt.Fprintf(w, " (first: seed %d)", rep.Found[0])
	}
	fmt.Fprintf(w, ", %d false positives, %d errors", len(rep.FalsePositives), len(rep.Errors))
	if rep.Mutants > 0 {
		fmt.Fprintf(w, "; %d of the seeds were mutants of rare-coverage seeds", rep.Mutants)
	}
	fmt.Fprintln(w)
	for _, s := range rep.FalsePositives {
		fmt.Fprintf(w, "  false positive: seed %d: %s\n    knobs: %s\n    replay: %s\n", s.Seed, s.FalsePositive, s.Knobs, s.Replay)
	}
	for _, s := range rep.Errors {
		fmt.Fprintf(w, "  error: seed %d: %s\n", s.Seed, s.Error)
	}
	reached := slices.SortedFunc(maps.Keys(rep.Marks), func(a, b string) int {
		return cmpOr(rep.Marks[b]-rep.Marks[a], strings.Compare(a, b))
	})
	var never []string
	fmt.Fprintln(w, "coverage (seeds reaching each mark):")
	for _, m := range reached {
		if rep.Marks[m] == 0 {
			never = append(never, m)
			continue
		}
		fmt.Fprintf(w, "  %6d  %s\n", rep.Marks[m], m)
	}
	fmt.Fprintf(w, "never reached (%d): %s\n", len(never), strings.Join(never, ", "))
	fmt.Fprintln(w, "pairs of interesting states (seeds reaching both):")
	for _, p := range slices.Sorted(maps.Keys(rep.Pairs)) {
		fmt.Fprintf(w, "  %6d  %s\n", rep.Pairs[p], p)
	}
}

// MergeHunts combines the summaries of a hunt's shards (read with
// ReadHuntSummaries, in any order) into the whole hunt's, sorted by hunt
// and seed; a seed that two shards both ran is an error.
func MergeHunts(parts ...[]HuntSummary) ([]HuntSummary, error) {
	var all []HuntSummary
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.SortStableFunc(all, func(a, b HuntSummary) int {
		return cmpOr(strings.Compare(a.Hunt, b.Hunt), compareSeeds(a.Seed, b.Seed), a.Mutation-b.Mutation)
	})
	for i := 1; i < len(all); i++ {
		if all[i].Hunt == all[i-1].Hunt && all[i].Seed == all[i-1].Seed && all[i].Mutation == all[i-1].Mutation {
			return nil, fmt.Errorf("hunt %s seed %d appears twice: merge each shard's summary once", all[i].Hunt, all[i].Seed)
		}
	}
	return all, nil
}
