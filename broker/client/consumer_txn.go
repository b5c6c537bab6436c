package client

import "github.com/kafkasim/kafkasim/broker/protocol"

// isolation returns the Fetch isolation level of isolation.level.
func (c *Consumer) isolation() int8 {
	if c.cfg.IsolationLevel == ReadCommitted {
		return protocol.ReadCommitted
	}
	return protocol.ReadUncommitted
}

// abortFilter returns, for a read_committed consumer, the filter of a
// partition's fetched batches built from the response's aborted
// transactions; nil for read_uncommitted.
func (c *Consumer) abortFilter(pr protocol.FetchPartitionResponse) *protocol.AbortFilter {
	if c.cfg.IsolationLevel != ReadCommitted {
		return nil
	}
	return protocol.NewAbortFilter(pr.AbortedTransactions)
}
