package isr

import "strconv"

// Eligibility says whether a follower may be in the ISR and, if not, why
// (Kafka's isReplicaIsrEligible).
type Eligibility uint8

// The eligibility verdicts.
const (
	// Eligible: registered, unfenced, not shutting down, and fetching with
	// its registration's broker epoch (or without one).
	Eligible Eligibility = iota
	// NotAFollower: the replica is not a follower of this leader.
	NotAFollower
	// Unregistered: the metadata has no registration for the broker.
	Unregistered
	// Fenced: the controller fenced the broker (KIP-841).
	Fenced
	// ShuttingDown: the broker is in controlled shutdown (KIP-841).
	ShuttingDown
	// NotFetched: the follower has not fetched from this leader, so its
	// broker epoch is not known (KIP-903).
	NotFetched
	// StaleBrokerEpoch: the follower's last fetch carried a broker epoch
	// other than its registration's: it registered again since (KIP-903).
	StaleBrokerEpoch
)

var eligibilityNames = []string{"eligible", "not a follower", "unregistered", "fenced", "shutting down",
	"not fetched", "stale broker epoch"}

func (e Eligibility) String() string {
	if int(e) < len(eligibilityNames) {
		return eligibilityNames[e]
	}
	return "Eligibility(" + strconv.Itoa(int(e)) + ")"
}

// Join says whether a follower may join the ISR now and, if not, what
// holds it back (Kafka's canAddReplicaToIsr and isFollowerInSync).
type Join uint8

// The join verdicts.
const (
	// MayJoin: the leader should propose adding the follower.
	MayJoin Join = iota
	// NotAFollowerToJoin: the replica is not a follower of this leader.
	NotAFollowerToJoin
	// ChangePending: an ISR change is in flight; the leader waits for its
	// answer.
	ChangePending
	// InISR: the follower is in the committed ISR already.
	InISR
	// Ineligible: see Tracker.Eligibility.
	Ineligible
	// BelowHighWatermark: the follower's log end offset is below the
	// leader's high-water mark.
	BelowHighWatermark
	// BelowEpochStart: the follower has not fetched up to the start offset
	// of the current leader epoch.
	BelowEpochStart
)

var joinNames = []string{"may join", "not a follower", "change pending", "in ISR", "ineligible",
	"below high-water mark", "below epoch start"}

func (j Join) String() string {
	if int(j) < len(joinNames) {
		return joinNames[j]
	}
	return "Join(" + strconv.Itoa(int(j)) + ")"
}
