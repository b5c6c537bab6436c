package checker

// Marks lists the coverage marks the invariants fire, when the kernel
// counts marks: the legal but dangerous states they let pass, so that a
// scenario can assert that it reached them (expect.marks). A test holds
// every mark the checker fires to this table.
var Marks = []struct {
	Name    string // such as "checker.unclean-election"
	Meaning string // what reaching it shows, in one line
}{
	{"checker.ack-after-member-lost-data", "an acks=all write was acknowledged counting an ISR member that restarted without it (ack-after-member-lost-data)"},
	{"checker.committed-rewritten-after-restart", "a committed offset was rewritten in a later epoch after a restart lost it: Kafka allows it, the final check reports the loss"},
	{"checker.isr-member-lost-data", "an ISR member restarted below the leader's high-water mark and stayed in the ISR (isr-member-lost-data)"},
	{"checker.stale-log-after-power-loss", "a broker's log came back from a power loss older than it was, before its truncation reached the disk"},
	{"checker.unclean-election", "the invariants saw a partition elect a leader uncleanly"},
}
