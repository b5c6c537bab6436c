package fault

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A Nemesis generates random fault schedules. Every knob is explicit and
// every draw comes from the random stream it is given, so one seed always
// gives one schedule.
type Nemesis struct {
	// Kinds are the faults to draw from, equally likely. Accepted: crash,
	// power-loss, pause, disk-loss, isolate, partition, cut, clock,
	// all-brokers-down. Each is healed after its length: restart, resume,
	// heal, or a clock reset.
	Kinds []Kind
	// Targets are the nodes the nemesis may hurt, by name.
	Targets []string
	// Start and End bound when faults may begin; every fault is healed by
	// End plus its length.
	Start, End time.Duration
	// Interval is the mean time between the starts of two faults.
	Interval time.Duration
	// Length is the mean time a fault lasts before it is healed.
	Length time.Duration
	// MaxFaulty is how many targets may be faulty at once (at least 1).
	MaxFaulty int
	// Tear makes power losses keep a torn prefix of unsynced writes.
	Tear bool
	// MaxSkew and MaxDriftPPM bound clock faults.
	MaxSkew     time.Duration
	MaxDriftPPM int64
}

// nemesisKinds are the kinds a nemesis can draw.
var nemesisKinds = []Kind{Crash, PowerLoss, Pause, DiskLoss, Isolate, Partition, Cut, Clock, AllBrokers}

// Validate reports every problem with the knobs.
func (n Nemesis) Validate() error {
	var errs []error
	if len(n.Kinds) == 0 {
		errs = append(errs, errors.New("nemesis kinds: give at least one fault kind"))
	}
	for _, k := range n.Kinds {
		if !slices.Contains(nemesisKinds, k) {
			var ks []string
			for _, k := range nemesisKinds {
				ks = append(ks, string(k))
			}
			errs = append(errs, fmt.Errorf("nemesis kinds: %q cannot be drawn at random: accepted are %s", k, strings.Join(ks, ", ")))
		}
	}
	if len(n.Targets) == 0 {
		errs = append(errs, errors.New("nemesis targets: give at least one node to hurt"))
	}
	if n.Start < 0 || n.End <= n.Start {
		errs = append(errs, fmt.Errorf("nemesis window [%v, %v) is empty or negative: give 0 <= start < end", n.Start, n.End))
	}
	if n.Interval <= 0 {
		errs = append(errs, fmt.Errorf("nemesis interval %v must be positive", n.Interval))
	}
	if n.Length <= 0 {
		errs = append(errs, fmt.Errorf("nemesis length %v must be positive", n.Length))
	}
	if n.MaxFaulty < 1 {
		errs = append(errs, fmt.Errorf("nemesis max faulty %d must be at least 1", n.MaxFaulty))
	}
	if n.MaxDriftPPM < 0 || n.MaxDriftPPM >= 500_000 {
		errs = append(errs, fmt.Errorf("nemesis max drift %d ppm is out of range: give 0 to 499999", n.MaxDriftPPM))
	}
	if n.MaxSkew < 0 {
		errs = append(errs, fmt.Errorf("nemesis max skew %v is negative", n.MaxSkew))
	}
	return errors.Join(errs...)
}

// around draws a duration in [mean/2, 3·mean/2), rounded to milliseconds.
func around(r *rand.Rand, mean time.Duration) time.Duration {
	d := mean/2 + time.Duration(r.Int64N(int64(mean)))
	return max(d.Round(time.Millisecond), time.Millisecond)
}

// Generate draws a schedule. The result is sorted by time and never has
// more than MaxFaulty targets faulty at once (all-brokers-down excepted,
// which hurts every broker by design).
func (n Nemesis) Generate(r *rand.Rand) (Schedule, error) {
	if err := n.Validate(); err != nil {
		return nil, err
	}
	busy := make(map[string]time.Duration) // target → when it is healthy again
	var out Schedule
	add := func(at time.Duration, f Fault) {
		f.At = Duration(at)
		out = append(out, f)
	}
	for t := n.Start + around(r, n.Interval); t < n.End; t += around(r, n.Interval) {
		var free []string
		for _, name := range n.Targets {
			if busy[name] <= t {
				free = append(free, name)
			}
		}
		faulty := len(n.Targets) - len(free)
		if faulty >= n.MaxFaulty || len(free) == 0 {
			continue
		}
		kind := n.Kinds[r.IntN(len(n.Kinds))]
		length := around(r, n.Length)
		heal := t + length
		count := 1 + r.IntN(min(n.MaxFaulty-faulty, len(free)))
		r.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
		victims := slices.Clone(free[:count])
		slices.Sort(victims)
		switch kind {
		case Crash, Pause, DiskLoss:
			undo := map[Kind]Kind{Crash: Restart, Pause: Resume, DiskLoss: Restart}[kind]
			add(t, Fault{Kind: kind, Nodes: victims})
			add(heal, Fault{Kind: undo, Nodes: victims})
		case PowerLoss:
			add(t, Fault{Kind: PowerLoss, Nodes: victims, Tear: n.Tear})
			add(heal, Fault{Kind: Restart, Nodes: victims})
		case Isolate:
			add(t, Fault{Kind: Isolate, Nodes: victims})
			add(heal, Fault{Kind: Heal})
		case Partition:
			rest := slices.DeleteFunc(slices.Clone(n.Targets), func(s string) bool { return slices.Contains(victims, s) })
			if len(rest) == 0 {
				continue
			}
			add(t, Fault{Kind: Partition, Groups: [][]string{victims, rest}})
			add(heal, Fault{Kind: Heal})
		case Cut:
			victims = victims[:1]
			others := slices.DeleteFunc(slices.Clone(n.Targets), func(s string) bool { return s == victims[0] })
			if len(others) == 0 {
				continue
			}
			to := others[r.IntN(len(others))]
			if r.IntN(2) == 0 {
				add(t, Fault{Kind: Cut, From: victims[0], To: to})
			} else {
				add(t, Fault{Kind: Cut, From: to, To: victims[0]})
			}
			add(heal, Fault{Kind: Heal})
		case Clock:
			var skew time.Duration
			if n.MaxSkew > 0 {
				skew = time.Duration(r.Int64N(int64(2*n.MaxSkew))) - n.MaxSkew
			}
			var drift int64
			if n.MaxDriftPPM > 0 {
				drift = r.Int64N(2*n.MaxDriftPPM) - n.MaxDriftPPM
			}
			add(t, Fault{Kind: Clock, Nodes: victims, Skew: Duration(skew.Round(time.Millisecond)), Drift: drift})
			add(heal, Fault{Kind: Clock, Nodes: victims})
		case AllBrokers:
			victims = slices.Clone(n.Targets)
			add(t, Fault{Kind: AllBrokers, Power: r.IntN(2) == 0, Tear: n.Tear})
			add(heal, Fault{Kind: Restart, Nodes: []string{SelBrokers}})
		}
		for _, v := range victims {
			busy[v] = heal
		}
	}
	return out.Sorted(), nil
}

// Shrink returns a 1-minimal sub-schedule that still fails: removing any
// single fault from it makes fails return false. It is Zeller's delta
// debugging (ddmin) over the faults, so it needs O(n²) calls of fails in the
// worst case and far fewer usually. fails must be deterministic, and
// fails(s) must be true.
func Shrink(s Schedule, fails func(Schedule) bool) Schedule {
	cur := slices.Clone(s)
	for n := 2; len(cur) >= 2; {
		chunks := split(cur, n)
		reduced := false
		for _, c := range chunks { // try a subset alone
			if len(c) < len(cur) && fails(c) {
				cur, n, reduced = c, 2, true
				break
			}
		}
		if !reduced {
			for i := range chunks { // try removing one subset
				rest := complement(chunks, i)
				if len(rest) < len(cur) && fails(rest) {
					cur, n, reduced = rest, max(n-1, 2), true
					break
				}
			}
		}
		if !reduced {
			if n >= len(cur) {
				break
			}
			n = min(2*n, len(cur))
		}
	}
	if len(cur) == 1 && fails(nil) {
		return nil
	}
	return cur
}

func split(s Schedule, n int) []Schedule {
	out := make([]Schedule, 0, n)
	for i := range n {
		lo, hi := i*len(s)/n, (i+1)*len(s)/n
		if hi > lo {
			out = append(out, slices.Clone(s[lo:hi]))
		}
	}
	return out
}

func complement(chunks []Schedule, skip int) Schedule {
	var out Schedule
	for i, c := range chunks {
		if i != skip {
			out = append(out, c...)
		}
	}
	return out
}
