package broker

import "github.com/kafkasim/kafkasim/sim"

// Buggify is the table of the broker's BUGGIFY points: rare but legal
// paths a hunt may force (see sim.Buggify).
var Buggify = []sim.BuggifyInfo{
	{Name: "broker.fetch.slow", Forces: "a Fetch waits 0.5 to 5 s before the broker handles it, as behind a slow request queue (past replica.fetch.wait.max.ms, sometimes past the follower's request timeout)"},
	{Name: "broker.heartbeat.lost", Forces: "a broker heartbeat to the controller is not sent, as if lost; the next goes at the usual interval"},
	{Name: "broker.alter-partition.slow", Forces: "an AlterPartition waits 0.5 to 5 s before it is sent, so ISR changes reach the controller late"},
	{Name: "broker.offsets-for-leader-epoch.slow", Forces: "an OffsetsForLeaderEpoch answer waits 0.5 to 5 s before it is sent, so it arrives stale, after more leader changes (the window of KAFKA-6361)"},
}
