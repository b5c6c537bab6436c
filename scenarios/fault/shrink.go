package fault

import "slices"

// Shrink returns a minimal schedule that still fails. First, Zeller's
// delta debugging (ddmin) over the faults makes it 1-minimal: removing any
// single fault from it makes fails return false; that needs O(n²) calls
// of fails in the worst case and far fewer usually. Then each fault is
// made as simple as its kind allows while the schedule still fails (fewer
// nodes, fewer partition groups, no torn writes, a crash rather than a
// power loss of every broker, a skew or a drift rather than both), and if
// that changed anything, the faults are reduced again. fails must be
// deterministic, and fails(s) must be true.
func Shrink(s Schedule, fails func(Schedule) bool) Schedule {
	cur := ddmin(slices.Clone(s), fails)
	for simplify(cur, fails) {
		cur = ddmin(cur, fails)
	}
	return cur
}

// ddmin removes faults while the schedule still fails, until no single
// fault can go.
func ddmin(cur Schedule, fails func(Schedule) bool) Schedule {
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

// simplify replaces, in place, each fault by the first simpler variant its
// kind offers that still fails, as long as one does, and reports whether
// it replaced any. Every variant does strictly less than its fault, so
// this ends.
func simplify(cur Schedule, fails func(Schedule) bool) bool {
	changed := false
	for i := range cur {
		k, ok := spec(cur[i].Kind)
		if !ok || k.simpler == nil {
			continue
		}
		for again := true; again; {
			again = false
			for _, v := range k.simpler(cur[i]) {
				try := slices.Clone(cur)
				try[i] = v
				if fails(try) {
					cur[i], again, changed = v, true, true
					break
				}
			}
		}
	}
	return changed
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
