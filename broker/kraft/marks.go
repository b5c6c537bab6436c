package kraft

import "github.com/kafkasim/kafkasim/sim"

// Marks lists every coverage mark the KRaft quorum client fires, with what
// reaching it shows. A scenario may expect any of them (expect.marks); a
// test holds every Mark call of the quorum to this table.
var Marks = func() []sim.MarkInfo {
	out := []sim.MarkInfo{
		{Name: "kraft.append.backlog-full", Meaning: "the leader refused an append: too many records wait to commit"},
		{Name: "kraft.election.backoff", Meaning: "a candidate lost its election and waits before standing again"},
		{Name: "kraft.election.lost", Meaning: "a candidate's vote was rejected by enough voters to lose"},
		{Name: "kraft.election.started", Meaning: "a replica stood for election in a new epoch"},
		{Name: "kraft.election.timed-out", Meaning: "an election ended without a winner before its deadline"},
		{Name: "kraft.end-quorum-epoch.received", Meaning: "a follower heard that its leader resigned and stands after a wait (EndQuorumEpoch)"},
		{Name: "kraft.fatal.storage-error", Meaning: "a quorum replica stopped on a storage error"},
		{Name: "kraft.fetch.diverging-epoch", Meaning: "the leader answered a fetch with a diverging epoch: the follower must truncate"},
		{Name: "kraft.fetch.fenced-leader-epoch", Meaning: "the leader fenced a fetch from an older epoch"},
		{Name: "kraft.fetch.not-leader", Meaning: "a replica that does not lead answered a fetch with NOT_LEADER_OR_FOLLOWER"},
		{Name: "kraft.fetch.unknown-leader-epoch", Meaning: "a fetch came from an epoch newer than the replica knows"},
		{Name: "kraft.follower.fetch-timeout", Meaning: "a follower heard nothing from its leader in fetch.timeout.ms and starts an election"},
		{Name: "kraft.hwm.held-for-own-epoch", Meaning: "the leader held its high-water mark until a record of its own epoch committed"},
		{Name: "kraft.hwm.majority-behind", Meaning: "a majority reported less than the high-water mark (a voter lost flushed data); it never moves back"},
		{Name: "kraft.leader.elected", Meaning: "a replica won its election and leads"},
		{Name: "kraft.leader.pending-dropped", Meaning: "a leader stepped down with records not yet appended, which are dropped"},
		{Name: "kraft.leader.resigned.check-quorum", Meaning: "a leader heard from no majority in time and resigned (check-quorum)"},
		{Name: "kraft.leader.resigned.graceful", Meaning: "a leader resigned on request (a shutdown)"},
		{Name: "kraft.prevote.lost", Meaning: "a prospective replica did not win its pre-vote and goes back (KIP-996)"},
		{Name: "kraft.prevote.rejected.leader-alive", Meaning: "a follower rejected a pre-vote: it still hears from its leader (KIP-996)"},
		{Name: "kraft.prevote.started", Meaning: "a replica asked for pre-votes before standing (KIP-996)"},
		{Name: "kraft.prevote.won", Meaning: "a prospective replica won its pre-vote and stands for election (KIP-996)"},
		{Name: "kraft.recovery.leader-resumed", Meaning: "a leader came back from a restart still leading its epoch (before KAFKA-10527)"},
		{Name: "kraft.recovery.quorum-state-cleared", Meaning: "an unreadable quorum-state file was cleared at startup"},
		{Name: "kraft.recovery.resigned", Meaning: "a leader came back from a restart resigned in its epoch"},
		{Name: "kraft.recovery.state-behind-log", Meaning: "the quorum state's epoch was behind its log's at startup"},
		{Name: "kraft.recovery.torn-tail", Meaning: "recovery of the metadata log cut a torn tail"},
		{Name: "kraft.request.timed-out", Meaning: "a quorum request got no answer in time"},
		{Name: "kraft.truncate.diverging-epoch", Meaning: "a follower truncated its metadata log where it diverges from the leader's"},
	}
	// How a voter answers a vote or pre-vote request, and why.
	for _, kind := range []string{"vote", "prevote"} {
		out = append(out,
			sim.MarkInfo{Name: "kraft." + kind + ".granted", Meaning: "a voter granted a " + kind},
			sim.MarkInfo{Name: "kraft." + kind + ".granted.longer-log", Meaning: "a voter granted a " + kind + " to a replica with a longer log"},
			sim.MarkInfo{Name: "kraft." + kind + ".rejected.log-behind", Meaning: "a voter rejected a " + kind + ": the candidate's log is behind its own"},
			sim.MarkInfo{Name: "kraft." + kind + ".rejected.already-voted", Meaning: "a voter rejected a " + kind + ": it voted for another in the epoch"},
		)
	}
	out = append(out,
		sim.MarkInfo{Name: "kraft.vote.rejected", Meaning: "a voter rejected a vote for another reason"},
		sim.MarkInfo{Name: "kraft.prevote.rejected", Meaning: "a pre-vote was rejected: by a voter for another reason, or as the prospective replica heard it"},
	)
	return out
}()
