package scenarios

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// SweepOptions configure a sweep over seeds.
type SweepOptions struct {
	// First and Count: the seeds First, First+1, ..., First+Count-1.
	First uint64
	Count int
	// Shard and Shards split the seeds among machines: this sweep runs
	// the seeds whose position modulo Shards is Shard (0-based).
	Shard, Shards int
	// Parallel is how many simulations run at once, one per goroutine;
	// 0 means one per CPU.
	Parallel int
	// Determinism runs every seed twice and reports a seed whose two runs
	// differ in trace hash: the worst bug kafkasim can have.
	Determinism bool
	// Progress, if set, is told after each seed how many are done.
	Progress func(done, total int)
	// Replay makes the replay command of a seed; the default is
	// "kafkasim run <scenario> --seed <seed>".
	Replay func(seed uint64) string
}

// A SeedSummary is one seed's outcome: one line of a sweep's summary file.
// Summary files of shards merge by concatenation.
type SeedSummary struct {
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	OK       bool   `json:"ok"`
	Expected bool   `json:"expected"`
	// Unexpected says how the run missed its scenario's expectation.
	Unexpected string `json:"unexpected,omitempty"`
	Summary    string `json:"summary"`
	Replay     string `json:"replay"`
	TraceHash  string `json:"trace_hash,omitempty"`
	Steps      uint64 `json:"steps,omitempty"`
	// Findings counts the bad findings by name.
	Findings map[string]int `json:"findings,omitempty"`
	// Lost is the number of acknowledged or committed records lost.
	Lost int `json:"lost"`
	// LostBy splits Lost by what allowed the loss (a Kafka setting, or
	// "none: a broken guarantee").
	LostBy map[string]int `json:"lost_by,omitempty"`
	// OfflineSeconds is the time the user topics' partitions had no
	// serving leader, summed; UnderMinISRSeconds the time they were led
	// with an ISR below min.insync.replicas.
	OfflineSeconds     float64 `json:"offline_seconds"`
	UnderMinISRSeconds float64 `json:"under_min_isr_seconds,omitempty"`
	// StalledSeconds is the time their leaders held the high-water mark
	// below what every ISR member had (checker.Verdict.Stalled).
	StalledSeconds float64 `json:"stalled_seconds,omitempty"`
	// Truncated is the number of records truncated from replicas.
	Truncated int64 `json:"truncated"`
	// Coverage lists the interesting states the run reached.
	Coverage []string `json:"coverage,omitempty"`
	// Error is set when the run could not be set up, or (with the
	// determinism check) when two runs of the seed differed.
	Error string `json:"error,omitempty"`
	// WallSeconds is how long the run took.
	WallSeconds float64 `json:"wall_seconds"`
}

// Coverage returns the interesting states a run reached.
func (r *Result) Coverage() []string {
	var out []string
	for _, st := range States {
		for _, m := range st.Marks {
			if r.Marks[m] > 0 {
				out = append(out, st.Name)
				break
			}
		}
	}
	return out
}

// Lost counts the distinct records (partition and offset) the run lost,
// whatever allowed it: the verdict's.
func (r *Result) Lost() int { return r.Verdict.Lost }

// Summarize turns a run's result into its summary line.
func (r *Result) Summarize(wall time.Duration) SeedSummary {
	ok, why := r.Expected()
	sum := SeedSummary{Scenario: r.Scenario.Name, Seed: r.Scenario.Seed, OK: r.OK(), Expected: ok, Summary: r.Summary(),
		Replay: r.Replay, TraceHash: r.TraceHash, Steps: r.Steps, Lost: r.Lost(), Coverage: r.Coverage(), WallSeconds: wall.Seconds()}
	if !ok {
		sum.Unexpected = why
	}
	for _, f := range r.Bad() {
		if sum.Findings == nil {
			sum.Findings = map[string]int{}
		}
		sum.Findings[f.Name]++
	}
	sum.OfflineSeconds = r.Verdict.Unavailable.Seconds()
	sum.UnderMinISRSeconds = r.Verdict.UnderMinISR.Seconds()
	sum.StalledSeconds = r.Verdict.Stalled.Seconds()
	for _, a := range r.Verdict.LostBy {
		if sum.LostBy == nil {
			sum.LostBy = map[string]int{}
		}
		sum.LostBy[a.Setting] = a.Records
	}
	for _, n := range r.Truncations {
		sum.Truncated += n
	}
	return sum
}

// Sweep runs a scenario over many seeds in parallel and returns each seed's
// summary, in seed order.
func Sweep(s Scenario, opts SweepOptions) ([]SeedSummary, error) {
	if opts.Count < 1 {
		return nil, fmt.Errorf("sweep: %d seeds: give at least 1", opts.Count)
	}
	if opts.Shards == 0 {
		opts.Shards = 1
	}
	if opts.Shards < 1 || opts.Shard < 0 || opts.Shard >= opts.Shards {
		return nil, fmt.Errorf("sweep: shard %d/%d: give i/n with 0 <= i < n", opts.Shard, opts.Shards)
	}
	if opts.Parallel <= 0 {
		opts.Parallel = runtime.NumCPU()
	}
	if opts.Replay == nil {
		opts.Replay = func(seed uint64) string { return fmt.Sprintf("kafkasim run %s --seed %d", s.Name, seed) }
	}
	s = s.Defaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	var seeds []uint64
	for i := range opts.Count {
		if i%opts.Shards == opts.Shard {
			seeds = append(seeds, opts.First+uint64(i))
		}
	}
	out := make([]SeedSummary, len(seeds))
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(opts.Parallel, len(seeds)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				out[i] = sweepOne(s, seeds[i], opts)
				mu.Lock()
				done++
				if opts.Progress != nil {
					opts.Progress(done, len(seeds))
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
	return out, nil
}

func sweepOne(s Scenario, seed uint64, opts SweepOptions) SeedSummary {
	s.Seed = seed
	start := time.Now()
	run := Options{Replay: opts.Replay(seed), NoTimeline: true}
	res, err := Run(s, run)
	if err != nil {
		return SeedSummary{Scenario: s.Name, Seed: seed, Summary: "error", Replay: run.Replay, Error: err.Error()}
	}
	sum := res.Summarize(time.Since(start))
	if opts.Determinism {
		again, err := Run(s, run)
		switch {
		case err != nil:
			sum.Error = "the second run failed: " + err.Error()
		case again.TraceHash != res.TraceHash || again.Steps != res.Steps:
			sum.OK = false
			sum.Error = fmt.Sprintf("nondeterminism: two runs of seed %d gave trace hashes %s (%d steps) and %s (%d steps)",
				seed, res.TraceHash, res.Steps, again.TraceHash, again.Steps)
		}
	}
	return sum
}

// WriteSummaries writes seed summaries as JSON Lines.
func WriteSummaries(w io.Writer, sums []SeedSummary) error { return writeJSONLines(w, sums) }

// ReadSummaries reads summary files' lines (concatenated shards are fine),
// with an error naming the line that is not a seed summary.
func ReadSummaries(r io.Reader) ([]SeedSummary, error) {
	out, err := readJSONLines(r, "seed summary", "seed summaries", func(s SeedSummary) error {
		if s.Scenario == "" {
			return errors.New("it names no scenario")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b SeedSummary) int {
		return cmpOr(strings.Compare(a.Scenario, b.Scenario), compareSeeds(a.Seed, b.Seed))
	})
	return out, nil
}

// writeJSONLines writes one JSON value per line.
func writeJSONLines[T any](w io.Writer, vs []T) error {
	enc := json.NewEncoder(w)
	for _, v := range vs {
		if err := enc.Encode(v); err != nil {
			return err
		}
	}
	return nil
}

// readJSONLines reads one what (whats in the plural) per non-empty line, refusing unknown fields
// and values valid rejects, with an error naming the line; no value at all
// is an error too.
func readJSONLines[T any](r io.Reader, what, whats string, valid func(T) error) ([]T, error) {
	var out []T
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var v T
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d is not a %s: %v", line, what, err)
		}
		if err := valid(v); err != nil {
			return nil, fmt.Errorf("line %d is not a %s: %v", line, what, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no %s found", whats)
	}
	return out, nil
}

func compareSeeds(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpOr(vals ...int) int {
	for _, v := range vals {
		if v != 0 {
			return v
		}
	}
	return 0
}

// Tally is a sweep's totals.
type Tally struct {
	Seeds    int
	OK       int
	Outcomes map[string]int // "ok", finding names, "error", "nondeterminism"
	Coverage map[string]int // runs reaching each interesting state (every state listed, even at 0)
	Failing  []SeedSummary  // seeds that found a problem or failed
}

// TallySummaries adds a sweep's summaries up.
func TallySummaries(sums []SeedSummary) Tally {
	t := Tally{Seeds: len(sums), Outcomes: map[string]int{}, Coverage: map[string]int{}}
	for _, st := range States {
		t.Coverage[st.Name] = 0
	}
	for _, s := range sums {
		for _, c := range s.Coverage {
			t.Coverage[c]++
		}
		switch {
		case strings.HasPrefix(s.Error, "nondeterminism"):
			t.Outcomes["nondeterminism"]++
		case s.Error != "":
			t.Outcomes["error"]++
		case s.OK:
			t.Outcomes["ok"]++
			t.OK++
		default:
			for _, name := range slices.Sorted(maps.Keys(s.Findings)) {
				t.Outcomes[name]++
			}
		}
		if !s.OK || s.Error != "" {
			t.Failing = append(t.Failing, s)
		}
	}
	return t
}
