package checker

import "github.com/kafkasim/kafkasim/model/history"

// CheckLogs runs the log checker alone on every partition log of h and
// reports whether they are all linearizable.
func CheckLogs(h *history.History) bool {
	ok := true
	for _, p := range collectLogs(h) {
		ok = p.check(h).ok && ok
	}
	return ok
}
