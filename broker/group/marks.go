package group

import "github.com/kafkasim/kafkasim/sim"

// Marks lists every coverage mark the group coordinator fires, with what
// reaching it shows. A scenario may expect any of them (expect.marks); a
// test holds every Mark call of the coordinator to this table.
var Marks = []sim.MarkInfo{
	{Name: "group.commit.append-failed", Meaning: "an offset commit could not be written to __consumer_offsets"},
	{Name: "group.coordinator.loaded", Meaning: "a coordinator loaded its groups and offsets from __consumer_offsets (a failover)"},
	{Name: "group.generation", Meaning: "a group completed a join: a new generation"},
	{Name: "group.join.fenced-instance", Meaning: "a join with a static member's instance id but another member id was fenced (KIP-345)"},
	{Name: "group.join.member-dropped", Meaning: "a rebalance completed without members that did not rejoin in time"},
	{Name: "group.join.member-id-required", Meaning: "a new member was given a member id and asked to join again with it (KIP-394)"},
	{Name: "group.join.static-replace", Meaning: "a static member rejoined with a new member id and took its old place (KIP-345)"},
	{Name: "group.leave", Meaning: "a member left its group"},
	{Name: "group.pending-member-expired", Meaning: "a member given an id never joined with it and expired (KIP-394)"},
	{Name: "group.rebalance.during-sync", Meaning: "a rebalance began while the group waited for its leader's assignment"},
	{Name: "group.session-timeout", Meaning: "a member's session expired and it was removed"},
	{Name: "group.txn-commit.fenced-member", Meaning: "a TxnOffsetCommit from a member of an older generation was refused (KIP-447)"},
	{Name: "group.txn-commit.verification-refused", Meaning: "the transaction coordinator refused a TxnOffsetCommit's partition when the group coordinator verified or added it (KIP-890)"},
	{Name: "group.txn-offsets-aborted", Meaning: "a transaction's offsets were dropped at its abort marker"},
	{Name: "group.txn-offsets-committed", Meaning: "a transaction's offsets became the group's at its commit marker"},
	{Name: "group.sync.store-failed", Meaning: "the leader's assignment could not be stored: the members are told to rejoin"},
}
