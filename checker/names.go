package checker

import "slices"

// FindingNames lists, sorted, the name of every finding the checkers may
// produce: scenarios name them in their expectations, and a name outside
// this list is a typo.
var FindingNames = []string{
	"G1a",
	"ack-after-member-lost-data",
	"ack-by-non-leader",
	"acked-not-replicated",
	"committed-offset-inconsistent",
	"committed-offset-regression",
	"committed-prefix-mismatch",
	"duplicate",
	"duplicate-leader",
	"epoch-regression",
	"hwm-above-isr-leo",
	"hwm-above-leo",
	"inconsistent-offsets",
	"int-nonmonotonic-poll",
	"int-poll-skip",
	"isr-member-lost-data",
	"isr-not-subset",
	"leader-not-in-isr",
	"linearizability-unchecked",
	"lost-committed",
	"lost-write",
	"nonlinearizable",
	"nonmonotonic-poll",
	"nonmonotonic-send",
	"partition-epoch-stale",
	"poll-skip",
	"replica-divergence",
	"unseen",
	"unsent-value",
}

// KnownFinding reports whether name is the name of a finding.
func KnownFinding(name string) bool {
	_, ok := slices.BinarySearch(FindingNames, name)
	return ok
}
