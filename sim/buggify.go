package sim

import "time"

// BuggifyInfo documents one BUGGIFY point: a place where the code may take
// a rare but legal path, and the behaviour it forces. Every package with
// points keeps a table of them beside its code (a Buggify variable).
type BuggifyInfo struct {
	Name   string // such as "broker.fetch.slow"
	Forces string // the behaviour it forces, in one line
}

// Buggify reports whether the run takes the named point's rare path now.
// Only the points Config.Buggify enables ever fire, each about one time in
// four, drawn from the point's own stream ("buggify/<point>"): a run that
// enables none draws nothing, so its trace is what it was without BUGGIFY.
// A firing counts the mark "buggify.<point>".
func (s *Sim) Buggify(point string) bool {
	if !s.cfg.Buggify[point] {
		return false
	}
	if s.Rand("buggify/"+point).IntN(4) != 0 {
		return false
	}
	s.Mark("buggify." + point)
	return true
}

// BuggifyDelay draws a delay in [lo, hi) for a point that fired, from the
// point's stream, rounded to milliseconds.
func (s *Sim) BuggifyDelay(point string, lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(s.Rand("buggify/"+point).Int64N(int64(hi-lo)))).Round(time.Millisecond)
}
