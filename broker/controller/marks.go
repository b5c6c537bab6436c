package controller

import (
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/sim"
)

// Marks lists every coverage mark the controller fires, with what reaching
// it shows. A scenario may expect any of them (expect.marks); a test holds
// every Mark call of the controller to this table.
var Marks = func() []sim.MarkInfo {
	out := []sim.MarkInfo{
		{Name: "controller.alter-partition.rejected-stale-broker-epoch", Meaning: "the controller rejected an AlterPartition from a leader incarnation older than its registration"},
		{Name: "controller.create-partitions", Meaning: "the controller added partitions to an existing topic (CreatePartitions)"},
		{Name: "controller.controlled-shutdown", Meaning: "the controller moved a broker's leaderships away for its controlled shutdown"},
		{Name: "controller.controlled-shutdown.complete", Meaning: "the controller let a broker in controlled shutdown stop"},
		{Name: "controller.elr.added", Meaning: "a partition change put replicas that left the ISR into the ELR (KIP-966)"},
		{Name: "controller.elr.cleared-by-config", Meaning: "a change of min.insync.replicas cleared the ELRs (KIP-966)"},
		{Name: "controller.failover", Meaning: "a controller became active after another had led the quorum"},
		{Name: "controller.fence.session-expired", Meaning: "the controller fenced a broker whose session expired"},
		{Name: "controller.kip903.rejected", Meaning: "the controller refused an ISR member whose broker epoch is stale (KIP-903)"},
		{Name: "controller.kip903.unchecked", Meaning: "the controller admitted an ISR member with a stale broker epoch, the check being switched off"},
		{Name: "controller.leader-recovered", Meaning: "a leader elected uncleanly reported it RECOVERED (KIP-704)"},
		{Name: "controller.partition.offline", Meaning: "a partition change found no replica that may lead: the partition went offline"},
		{Name: "controller.registration.duplicate", Meaning: "the controller refused a registration while the broker's old incarnation still has a session"},
		{Name: "controller.registration.unclean-shutdown", Meaning: "a broker registered after an unclean shutdown and left every ISR and ELR (KIP-966)"},
		{Name: "controller.unfence", Meaning: "the controller unfenced a broker that caught up"},
		{Name: "controller.write.lost-leadership", Meaning: "the controller resigned while writing records, which will not commit in its epoch"},
	}
	// Every way a partition change elects a leader.
	for k := electedClean; k < electedNone; k++ {
		out = append(out, sim.MarkInfo{Name: "controller.election." + k.String(), Meaning: "the controller elected a leader: " + electionMeaning[k]})
	}
	// Every error validateAlterPartition answers, and an unknown partition.
	for _, code := range []protocol.ErrorCode{protocol.NotController, protocol.FencedLeaderEpoch, protocol.InvalidRequest,
		protocol.InvalidUpdateVersion, protocol.IneligibleReplica, protocol.UnknownTopicOrPartition} {
		out = append(out, sim.MarkInfo{Name: "controller.alter-partition.rejected-" + markName(code), Meaning: "the controller rejected an AlterPartition with " + code.String()})
	}
	return out
}()

// electionMeaning says what each kind of election is, for the marks.
var electionMeaning = [...]string{
	electedClean:           "clean, from the ISR",
	electedPreferred:       "the preferred replica, by a preferred election",
	electedELR:             "from the ELR, the ISR being empty (KIP-966)",
	electedLastKnownLeader: "the last known leader, the ISR and ELR being empty (KIP-966)",
	electedUnclean:         "unclean, a replica outside the ISR (unclean.leader.election.enable)",
}
