package scenarios

import (
	"fmt"
	"slices"
	"time"
)

// MuseumOptions bound a run of the museum's track record.
type MuseumOptions struct {
	// Masters is how many master seeds each entry's hunt starts from:
	// master m hunts seeds m·10⁶+1, m·10⁶+2, ...
	Masters int
	// Budget is the most seeds a hunt from one master tries before it
	// gives up.
	Budget int
	// FalsePositiveSeeds is how many seeds of the same hunt run against
	// current Kafka (the entry's fix), counting false positives.
	FalsePositiveSeeds int
	// Parallel is how many simulations run at once; 0: one per CPU.
	Parallel int
	// Entries, if set, names the entries to run; unset: every runnable one.
	Entries []string
	// Progress, if set, is told about each entry as it starts.
	Progress func(entry string)
}

// A MuseumRow is one entry's track record.
type MuseumRow struct {
	Entry MuseumEntry
	// Scripted is whether the scripted scenario (seed 1) found the target;
	// false with ScriptedRun false when the entry has no scripted scenario.
	Scripted, ScriptedRun bool
	// SeedsToFind has, per master seed, the seeds the hunt ran up to and
	// including its first find; 0 when it found nothing within the budget.
	SeedsToFind []int
	// FalsePositives counts false-positive seeds of current Kafka under
	// the same hunt, out of FalsePositiveSeeds; FirstFalsePositive replays
	// the first one.
	FalsePositives, FalsePositiveSeeds int
	FirstFalsePositive                 string
	Wall                               time.Duration
	Err                                string
}

// Median is the median of SeedsToFind over the masters that found the
// bug, and Worst its largest; found counts those masters.
func (r MuseumRow) Median() (median, worst, found int) {
	var got []int
	for _, n := range r.SeedsToFind {
		if n > 0 {
			got = append(got, n)
		}
	}
	if len(got) == 0 {
		return 0, 0, 0
	}
	slices.Sort(got)
	return got[len(got)/2], got[len(got)-1], len(got)
}

// MasterSeedBase is the first hunt seed of master seed m, minus one.
func MasterSeedBase(m int) uint64 { return uint64(m) * 1_000_000 }

// RunMuseum measures the track record of the museum's runnable entries:
// the scripted scenario, the hunt's seeds to first find per master seed,
// and current Kafka's false positives under the same hunt.
func RunMuseum(opts MuseumOptions) []MuseumRow {
	var rows []MuseumRow
	for _, e := range Museum {
		if len(opts.Entries) > 0 && !slices.Contains(opts.Entries, e.Name) {
			continue
		}
		row := MuseumRow{Entry: e}
		if !e.Runnable() {
			rows = append(rows, row)
			continue
		}
		if opts.Progress != nil {
			opts.Progress(e.Name)
		}
		start := time.Now()
		if err := museumRow(&row, opts); err != nil {
			row.Err = err.Error()
		}
		row.Wall = time.Since(start)
		rows = append(rows, row)
	}
	return rows
}

func museumRow(row *MuseumRow, opts MuseumOptions) error {
	e := row.Entry
	if e.Scripted != "" {
		s, err := Builtin(e.Scripted)
		if err != nil {
			return err
		}
		res, err := Run(s, Options{NoTimeline: true})
		if err != nil {
			return err
		}
		row.ScriptedRun, row.Scripted = true, e.Target.Found(res)
	}
	base, err := e.HuntBase()
	if err != nil {
		return err
	}
	parallel := opts.Parallel
	if parallel <= 0 {
		parallel = 2
	}
	for m := 1; m <= opts.Masters; m++ {
		found := 0
		for done := 0; done < opts.Budget && found == 0; done += parallel {
			n := min(parallel, opts.Budget-done)
			sums, err := Hunt(base, HuntRunOptions{HuntOptions: e.Hunt, Name: e.Name, First: MasterSeedBase(m) + uint64(done) + 1, Count: n, Parallel: parallel, Target: e.Target})
			if err != nil {
				return err
			}
			for i, s := range sums {
				if s.Error != "" {
					return fmt.Errorf("seed %d: %s", s.Seed, s.Error)
				}
				if s.Found && found == 0 {
					found = done + i + 1
				}
			}
		}
		row.SeedsToFind = append(row.SeedsToFind, found)
	}
	if opts.FalsePositiveSeeds > 0 {
		cur, err := e.Current()
		if err != nil {
			return err
		}
		sums, err := Hunt(cur, HuntRunOptions{HuntOptions: e.Hunt, Name: e.Name + " --current", First: MasterSeedBase(1) + 1, Count: opts.FalsePositiveSeeds, Parallel: parallel})
		if err != nil {
			return err
		}
		row.FalsePositiveSeeds = len(sums)
		for _, s := range sums {
			if s.FalsePositive != "" || s.Error != "" {
				row.FalsePositives++
				if row.FirstFalsePositive == "" {
					row.FirstFalsePositive = s.Replay
				}
			}
		}
	}
	return nil
}
