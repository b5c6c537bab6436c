package txn

import "github.com/kafkasim/kafkasim/sim"

// Marks lists every coverage mark the transaction coordinator fires, with
// what reaching it shows.
var Marks = []sim.MarkInfo{
	{Name: "txn.empty-abort", Meaning: "under transactions version 2 a producer aborted a transaction no leader had added a partition to: the epoch is bumped with nothing to mark"},
	{Name: "txn.end-invalid-state", Meaning: "an EndTxn came for a transaction in a state that cannot end that way: INVALID_TXN_STATE"},
	{Name: "txn.end-retry-answered", Meaning: "a retried EndTxn after the epoch bump (transactions version 2) was answered from the outcome"},
	{Name: "txn.failover-completes-prepared", Meaning: "a new coordinator loaded a prepared transaction and sent its markers again"},
	{Name: "txn.id-expired", Meaning: "a transactional id idle longer than transactional.id.expiration.ms went to Dead: a tombstone in __transaction_state, then out of the coordinator"},
	{Name: "txn.init-fences-ongoing", Meaning: "an InitProducerId for a transactional id with an open transaction fenced the old producer and aborted it"},
	{Name: "txn.load-skips-expired", Meaning: "a coordinator loading __transaction_state found an expired transactional id's tombstone and left the id out"},
	{Name: "txn.marker-refused", Meaning: "a leader refused a marker for good (the producer or coordinator epoch moved on)"},
	{Name: "txn.timeout-abort", Meaning: "the coordinator aborted a transaction open longer than transaction.timeout.ms"},
	{Name: "txn.write-lost-coordinator", Meaning: "a transaction state write completed after the coordinator lost its partition"},
}
