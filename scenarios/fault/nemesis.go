package fault

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// A Nemesis generates random fault schedules. Every knob is explicit and
// every draw comes from the random stream it is given, so one seed always
// gives one schedule.
type Nemesis struct {
	// Kinds are the faults to draw from, equally likely: those whose
	// Drawable is true (crash, power-loss, pause, disk-loss, partition,
	// isolate, cut, clock, all-brokers-down, delay, controller-partition).
	// Each is healed after its length, as its kind says: restart, resume,
	// heal, or a clock reset (a delay ends by itself).
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
	// KindLength, when set for a kind, is that kind's mean length instead
	// of Length (a controller-partition matters only once it outlasts
	// broker.session.timeout.ms).
	KindLength map[Kind]time.Duration
	// MaxFaulty is how many targets may be faulty at once (at least 1).
	MaxFaulty int
	// Tear makes power losses keep a torn prefix of unsynced writes.
	Tear bool
	// MaxSkew and MaxDriftPPM bound clock faults.
	MaxSkew     time.Duration
	MaxDriftPPM int64
	// DelayMessages are the Kafka APIs delay faults hold (Messages);
	// unset, DelayDrawn.
	DelayMessages []string
}

// Validate reports every problem with the knobs.
func (n Nemesis) Validate() error {
	var errs []error
	if len(n.Kinds) == 0 {
		errs = append(errs, errors.New("nemesis kinds: give at least one fault kind"))
	}
	for _, k := range n.Kinds {
		if !k.Drawable() {
			var ks []string
			for _, k := range Kinds {
				if k.Drawable() {
					ks = append(ks, string(k))
				}
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
	for _, k := range slices.Sorted(maps.Keys(n.KindLength)) {
		if n.KindLength[k] <= 0 {
			errs = append(errs, fmt.Errorf("nemesis length of %s %v must be positive", k, n.KindLength[k]))
		}
	}
	if n.MaxFaulty < 1 {
		errs = append(errs, fmt.Errorf("nemesis max faulty %d must be at least 1", n.MaxFaulty))
	}
	if n.MaxDriftPPM < 0 || n.MaxDriftPPM >= 500_000 {
		errs = append(errs, fmt.Errorf("nemesis max drift %d ppm is out of range: give 0 to 499999", n.MaxDriftPPM))
	}
	for _, m := range n.DelayMessages {
		if !slices.Contains(Messages, m) {
			errs = append(errs, fmt.Errorf("nemesis delay messages: unknown Kafka API %q: accepted are %s", m, strings.Join(Messages, ", ")))
		}
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
		k, _ := spec(n.Kinds[r.IntN(len(n.Kinds))])
		mean := n.Length
		if l, ok := n.KindLength[k.kind]; ok {
			mean = l
		}
		length := around(r, mean)
		heal := t + length
		count := 1 + r.IntN(min(n.MaxFaulty-faulty, len(free)))
		r.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
		victims := slices.Clone(free[:count])
		slices.Sort(victims)
		f, hurt, ok := k.draw(&draw{n: &n, r: r, victims: victims, length: length})
		if !ok {
			continue
		}
		add(t, f)
		if k.heal != nil {
			add(heal, k.heal(f))
		}
		for _, v := range hurt {
			busy[v] = heal
		}
	}
	return out.Sorted(), nil
}
