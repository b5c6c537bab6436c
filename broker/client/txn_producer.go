package client

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// TxnState is the transactional producer's state (Kafka's
// TransactionManager.State).
type TxnState int

// The states, with Kafka's names.
const (
	TxnUninitialized TxnState = iota
	TxnInitializing
	TxnReady
	TxnInTransaction
	TxnCommitting
	TxnAborting
	TxnAbortableError
	TxnFatalError
)

var txnStateNames = []string{"UNINITIALIZED", "INITIALIZING", "READY", "IN_TRANSACTION", "COMMITTING_TRANSACTION",
	"ABORTING_TRANSACTION", "ABORTABLE_ERROR", "FATAL_ERROR"}

func (s TxnState) String() string {
	if int(s) < len(txnStateNames) && s >= 0 {
		return txnStateNames[s]
	}
	return fmt.Sprintf("TxnState(%d)", int(s))
}

// A TxnError is a transactional call's failure: Kafka's error code and
// whether the producer can go on after aborting (abortable) or must be
// closed (fatal).
type TxnError struct {
	Code  protocol.ErrorCode
	Fatal bool
	Msg   string
}

func (e *TxnError) Error() string {
	kind := "abortable"
	if e.Fatal {
		kind = "fatal"
	}
	return fmt.Sprintf("%s (%s): %s", e.Code, kind, e.Msg)
}

// ErrTxnState is the error of a transactional call made in a state that
// does not allow it (Kafka's IllegalStateException).
var ErrTxnState = errors.New("invalid transactional state")

// txnManager is the transactional part of a producer (Kafka's
// TransactionManager): the coordinator, the state, the partitions added to
// the open transaction, and the error that ended it.
type txnManager struct {
	p           *Producer
	state       TxnState
	coordinator int32
	finding     bool
	added       map[model.TopicPartition]bool
	toAdd       map[model.TopicPartition]bool
	adding      bool
	offsetsSent bool
	err         *TxnError
	// ending is the commit or abort waiting for the transaction's batches.
	ending *txnEnd
	// version is the cluster's transaction.version, learnt with the
	// producer id: under 2 the leaders add partitions to the transaction
	// and the producer sends no AddPartitionsToTxn (KIP-890 part 2).
	version int8
}

type txnEnd struct {
	commit bool
	done   func(error)
}

func newTxnManager(p *Producer) *txnManager {
	return &txnManager{p: p, coordinator: protocol.NoNode, added: map[model.TopicPartition]bool{}, toAdd: map[model.TopicPartition]bool{}}
}

// TxnState returns the transactional producer's state; TxnUninitialized
// for a producer without transactional.id.
func (p *Producer) TxnState() TxnState {
	if p.txn == nil {
		return TxnUninitialized
	}
	return p.txn.state
}

func (p *Producer) txnCall(call string, allowed ...TxnState) error {
	if p.txn == nil {
		return fmt.Errorf("%w: %s needs transactional.id; producer %s has none", ErrTxnState, call, p.cfg.ClientID)
	}
	if p.txn.state == TxnFatalError {
		return fmt.Errorf("%w: %s: the producer hit a fatal error (%v) and must be closed", ErrTxnState, call, p.txn.err)
	}
	if !slices.Contains(allowed, p.txn.state) {
		return fmt.Errorf("%w: cannot call %s in state %s", ErrTxnState, call, p.txn.state)
	}
	return nil
}

// InitTransactions is KafkaProducer.initTransactions: it finds the
// transaction coordinator and gets the producer id and epoch for
// transactional.id, fencing any older instance (and aborting its open
// transaction). done gets nil once the producer is ready.
func (p *Producer) InitTransactions(done func(error)) error {
	if err := p.txnCall("initTransactions", TxnUninitialized); err != nil {
		return err
	}
	p.txn.state = TxnInitializing
	p.txn.initPID(done)
	return nil
}

// BeginTransaction is KafkaProducer.beginTransaction.
func (p *Producer) BeginTransaction() error {
	if err := p.txnCall("beginTransaction", TxnReady); err != nil {
		return err
	}
	t := p.txn
	t.state = TxnInTransaction
	t.err = nil
	t.offsetsSent = false
	clear(t.added)
	clear(t.toAdd)
	return nil
}

// CommitTransaction is KafkaProducer.commitTransaction: once every send of
// the transaction is answered, EndTxn(commit). If a send failed, the
// transaction can only be aborted: done gets the abortable error.
func (p *Producer) CommitTransaction(done func(error)) error {
	if p.txn != nil && p.txn.state == TxnAbortableError {
		return fmt.Errorf("%w: cannot commit a transaction in an abortable error state (%v): abort it", ErrTxnState, p.txn.err)
	}
	if err := p.txnCall("commitTransaction", TxnInTransaction); err != nil {
		return err
	}
	p.txn.state = TxnCommitting
	p.txn.ending = &txnEnd{commit: true, done: done}
	p.Flush()
	p.txn.maybeEnd()
	return nil
}

// AbortTransaction is KafkaProducer.abortTransaction: sends not yet
// written fail, then EndTxn(abort).
func (p *Producer) AbortTransaction(done func(error)) error {
	if err := p.txnCall("abortTransaction", TxnInTransaction, TxnAbortableError); err != nil {
		return err
	}
	p.txn.state = TxnAborting
	p.txn.ending = &txnEnd{commit: false, done: done}
	p.failUnsent(protocol.TransactionAbortable)
	p.txn.maybeEnd()
	return nil
}

// ConsumerGroupMetadata is what sendOffsetsToTransaction needs of the
// consumer whose offsets it commits (Kafka's ConsumerGroupMetadata).
type ConsumerGroupMetadata struct {
	GroupID      string
	GenerationID int32
	MemberID     string
}

// GroupMetadata returns the consumer's group metadata.
func (c *Consumer) GroupMetadata() ConsumerGroupMetadata {
	return ConsumerGroupMetadata{GroupID: c.cfg.GroupID, GenerationID: c.generation, MemberID: c.memberID}
}

// SendOffsetsToTransaction is KafkaProducer.sendOffsetsToTransaction: the
// group's offsets commit with the transaction (AddOffsetsToTxn, then
// TxnOffsetCommit to the group coordinator).
func (p *Producer) SendOffsetsToTransaction(offsets map[model.TopicPartition]int64, md ConsumerGroupMetadata, done func(error)) error {
	if err := p.txnCall("sendOffsetsToTransaction", TxnInTransaction); err != nil {
		return err
	}
	t := p.txn
	tp := p.producerTxn()
	if t.version >= 2 {
		// Transaction version 2: no AddOffsetsToTxn; the group
		// coordinator adds its partition to the transaction when the
		// TxnOffsetCommit comes (KIP-890 part 2).
		p.s.Mark("client.txn.offsets-added-by-group-coordinator")
		t.offsetsSent = true
		t.txnOffsetCommit(tp, offsets, md, done)
		return nil
	}
	t.coordRequest(func(corr int32) network.Message {
		return &protocol.AddOffsetsToTxn{CorrelationID: corr, TxnProducer: tp, GroupID: md.GroupID}
	}, func(m network.Message) protocol.ErrorCode {
		r, _ := m.(*protocol.AddOffsetsToTxnResponse)
		if r == nil {
			return protocol.UnknownServerError
		}
		return r.Error
	}, func(code protocol.ErrorCode) {
		if code != protocol.None {
			done(t.fail(code, "AddOffsetsToTxn"))
			return
		}
		t.offsetsSent = true
		t.txnOffsetCommit(tp, offsets, md, done)
	})
	return nil
}

func (t *txnManager) txnOffsetCommit(tp protocol.TxnProducer, offsets map[model.TopicPartition]int64, md ConsumerGroupMetadata, done func(error)) {
	p := t.p
	req := func(corr int32) *protocol.TxnOffsetCommit {
		m := &protocol.TxnOffsetCommit{CorrelationID: corr, TxnProducer: tp, GroupID: md.GroupID, GenerationID: md.GenerationID, MemberID: md.MemberID}
		for _, k := range slices.SortedFunc(maps.Keys(offsets), model.TopicPartition.Compare) {
			m.Partitions = append(m.Partitions, protocol.OffsetCommitPartition{TP: k, Offset: offsets[k], LeaderEpoch: protocol.NoEpoch})
		}
		return m
	}
	var attempt func()
	attempt = func() {
		p.findGroupCoordinator(md.GroupID, func(broker int32, code protocol.ErrorCode) {
			if code != protocol.None {
				p.n.After(p.cfg.RetryBackoff, "producer.txn-offsets-retry", attempt)
				return
			}
			p.c.request(broker, p.cfg.RequestTimeout, func(corr int32) network.Message { return req(corr) }, func(m network.Message, code protocol.ErrorCode) {
				if r, ok := m.(*protocol.TxnOffsetCommitResponse); ok && code == protocol.None {
					for _, pe := range r.Partitions {
						if pe.Error != protocol.None {
							code = pe.Error
						}
					}
				}
				switch {
				case code == protocol.None:
					done(nil)
				case code.Retriable() || code == protocol.NotCoordinator || code == protocol.RequestTimedOut:
					p.n.After(p.cfg.RetryBackoff, "producer.txn-offsets-retry", attempt)
				default:
					done(t.fail(code, "TxnOffsetCommit"))
				}
			})
		})
	}
	attempt()
}

// findGroupCoordinator asks any broker for a group's coordinator.
func (p *Producer) findGroupCoordinator(group string, done func(int32, protocol.ErrorCode)) {
	broker := p.c.anyBroker()
	if broker == protocol.NoNode {
		p.n.After(p.cfg.RetryBackoff, "producer.find-coordinator-retry", func() { done(protocol.NoNode, protocol.CoordinatorNotAvailable) })
		return
	}
	p.c.request(broker, p.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.FindCoordinator{CorrelationID: corr, Key: group, KeyType: protocol.CoordinatorGroup}
	}, func(m network.Message, code protocol.ErrorCode) {
		r, _ := m.(*protocol.FindCoordinatorResponse)
		if code == protocol.None && r != nil {
			code = r.Error
		}
		if code != protocol.None {
			done(protocol.NoNode, code)
			return
		}
		done(r.NodeID, protocol.None)
	})
}

func (p *Producer) producerTxn() protocol.TxnProducer {
	return protocol.TxnProducer{TransactionalID: p.cfg.TransactionalID, ProducerID: p.producerID, ProducerEpoch: p.epoch}
}

// fail classifies an error as Kafka's client does: fenced and protocol
// errors are fatal, the rest abort the transaction.
func (t *txnManager) fail(code protocol.ErrorCode, what string) *TxnError {
	fatal := false
	switch code {
	case protocol.ProducerFenced, protocol.TransactionCoordinatorFenced, protocol.UnsupportedVersion, protocol.InvalidTxnState,
		protocol.InvalidProducerIdMapping, protocol.InvalidTransactionTimeout:
		fatal = true
	}
	e := &TxnError{Code: code, Fatal: fatal, Msg: what + " failed"}
	if t.err == nil || (fatal && !t.err.Fatal) {
		t.err = e
	}
	switch {
	case fatal:
		t.p.s.Mark("client.txn.fatal-error")
		t.state = TxnFatalError
	case t.state == TxnInTransaction || t.state == TxnCommitting:
		t.p.s.Mark("client.txn.abortable-error")
		t.state = TxnAbortableError
	}
	return e
}

// coordRequest sends a request to the transaction coordinator, finding it
// first, and retries on the errors Kafka's client retries (coordinator
// moved or loading, CONCURRENT_TRANSACTIONS, timeouts).
func (t *txnManager) coordRequest(build func(corr int32) network.Message, codeOf func(network.Message) protocol.ErrorCode, done func(protocol.ErrorCode)) {
	p := t.p
	var attempt func()
	retry := func() { p.n.After(p.cfg.RetryBackoff, "producer.txn-retry", attempt) }
	attempt = func() {
		if t.coordinator == protocol.NoNode {
			t.findCoordinator(func(code protocol.ErrorCode) {
				if code != protocol.None {
					retry()
					return
				}
				attempt()
			})
			return
		}
		p.c.request(t.coordinator, p.cfg.RequestTimeout, build, func(m network.Message, code protocol.ErrorCode) {
			if code == protocol.None {
				code = codeOf(m)
			}
			switch code {
			case protocol.NotCoordinator, protocol.CoordinatorNotAvailable, protocol.NetworkException, protocol.RequestTimedOut:
				t.coordinator = protocol.NoNode
				retry()
			case protocol.CoordinatorLoadInProgress, protocol.ConcurrentTransactions:
				p.s.Mark("client.txn.retry-" + code.String())
				retry()
			default:
				done(code)
			}
		})
	}
	attempt()
}

func (t *txnManager) findCoordinator(done func(protocol.ErrorCode)) {
	p := t.p
	if t.finding {
		p.n.After(p.cfg.RetryBackoff, "producer.txn-find-wait", func() { done(protocol.CoordinatorNotAvailable) })
		return
	}
	broker := p.c.anyBroker()
	if broker == protocol.NoNode {
		done(protocol.CoordinatorNotAvailable)
		return
	}
	t.finding = true
	p.c.request(broker, p.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.FindCoordinator{CorrelationID: corr, Key: p.cfg.TransactionalID, KeyType: protocol.CoordinatorTransaction}
	}, func(m network.Message, code protocol.ErrorCode) {
		t.finding = false
		r, _ := m.(*protocol.FindCoordinatorResponse)
		if code == protocol.None && r != nil {
			code = r.Error
		}
		if code == protocol.None {
			t.coordinator = r.NodeID
		}
		done(code)
	})
}

// initPID sends InitProducerId for transactional.id: on a first call
// without a producer id, after an abortable error with the current one
// (KIP-360), so that the coordinator bumps the epoch.
func (t *txnManager) initPID(done func(error)) {
	p := t.p
	cur := protocol.TxnProducer{ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
	if p.producerID != protocol.NoProducerID {
		cur.ProducerID, cur.ProducerEpoch = p.producerID, p.epoch
	}
	var resp *protocol.InitProducerIdResponse
	t.coordRequest(func(corr int32) network.Message {
		return &protocol.InitProducerId{CorrelationID: corr, ClientID: p.cfg.ClientID, TransactionalID: p.cfg.TransactionalID,
			TransactionTimeoutMs: int32(p.cfg.TransactionTimeout.Milliseconds()), ProducerID: cur.ProducerID, ProducerEpoch: cur.ProducerEpoch}
	}, func(m network.Message) protocol.ErrorCode {
		resp, _ = m.(*protocol.InitProducerIdResponse)
		if resp == nil {
			return protocol.UnknownServerError
		}
		return resp.Error
	}, func(code protocol.ErrorCode) {
		if code != protocol.None {
			err := t.fail(code, "InitProducerId")
			t.state = TxnFatalError
			done(err)
			return
		}
		p.setProducer(resp.ProducerID, resp.ProducerEpoch)
		t.version = resp.TransactionVersion
		p.s.Trace().Emitf(p.n, "producer.txn-init", uint64(p.producerID), "transactional id %s: producer id %d epoch %d", p.cfg.TransactionalID, p.producerID, p.epoch)
		t.state = TxnReady
		done(nil)
		p.schedule(p.now())
	})
}

// setProducer takes a new producer id or epoch: every partition's
// sequence starts over.
func (p *Producer) setProducer(id int64, epoch int16) {
	p.producerID, p.epoch = id, epoch
	clear(p.nextSeq)
	clear(p.lastAcked)
	clear(p.stale)
	clear(p.unresolved)
	clear(p.rewrite)
	p.bumpRequested = false
}

// partitionReady reports whether a batch for tp may be sent: the
// partition was added to the transaction. Otherwise it asks for it; under
// transaction version 2 the partition's leader adds it when the batch
// comes, so it counts as added once the producer sends to it.
func (t *txnManager) partitionReady(tp model.TopicPartition) bool {
	if t.added[tp] {
		return true
	}
	if t.state != TxnInTransaction && t.state != TxnCommitting {
		return false
	}
	if t.version >= 2 {
		t.p.s.Mark("client.txn.partition-added-by-leader")
		t.added[tp] = true
		return true
	}
	t.toAdd[tp] = true
	t.addPartitions()
	return false
}

func (t *txnManager) addPartitions() {
	if t.adding || len(t.toAdd) == 0 {
		return
	}
	p := t.p
	tps := slices.SortedFunc(maps.Keys(t.toAdd), model.TopicPartition.Compare)
	t.adding = true
	tp := p.producerTxn()
	var resp *protocol.AddPartitionsToTxnResponse
	t.coordRequest(func(corr int32) network.Message {
		return &protocol.AddPartitionsToTxn{CorrelationID: corr, TxnProducer: tp, Partitions: tps}
	}, func(m network.Message) protocol.ErrorCode {
		resp, _ = m.(*protocol.AddPartitionsToTxnResponse)
		if resp == nil {
			return protocol.UnknownServerError
		}
		code := resp.Error
		for _, pe := range resp.Partitions {
			if pe.Error != protocol.None {
				code = pe.Error
			}
		}
		return code
	}, func(code protocol.ErrorCode) {
		t.adding = false
		if code != protocol.None {
			t.fail(code, "AddPartitionsToTxn")
			p.failUnsent(code)
			t.maybeEnd()
			return
		}
		for _, x := range tps {
			t.added[x] = true
			delete(t.toAdd, x)
		}
		p.schedule(p.now())
		t.addPartitions()
	})
}

// batchFailed is told of a transactional batch that failed for good: the
// transaction can only abort.
func (t *txnManager) batchFailed(code protocol.ErrorCode) {
	if code == protocol.ProducerFenced {
		t.fail(code, "Produce")
		return
	}
	if t.state == TxnInTransaction || t.state == TxnCommitting {
		t.p.s.Mark("client.txn.abortable-error")
		t.state = TxnAbortableError
		if t.err == nil {
			t.err = &TxnError{Code: code, Msg: "a send of the transaction failed"}
		}
	}
}

// failUnsent fails the transaction's batches that were never sent.
func (p *Producer) failUnsent(code protocol.ErrorCode) {
	for _, tp := range slices.SortedFunc(maps.Keys(p.queues), model.TopicPartition.Compare) {
		for _, b := range slices.Clone(p.queues[tp]) {
			if !b.inflight && b.attempts == 0 && !b.done {
				p.dequeue(b)
				p.complete(b, code, -1)
			}
		}
	}
	for _, w := range p.waiting {
		p.n.Cancel(w.expire)
		if w.done != nil {
			w.done(SendResult{Op: -1, Partition: -1, Offset: -1, Error: code, Outcome: history.Fail})
		}
	}
	p.waiting = nil
}

// maybeEnd sends EndTxn once the transaction's batches are all answered.
func (t *txnManager) maybeEnd() {
	p := t.p
	e := t.ending
	if e == nil || p.Pending() > 0 || t.adding {
		return
	}
	if e.commit && t.state == TxnAbortableError {
		t.ending = nil
		p.s.Mark("client.txn.commit-refused")
		e.done(t.err)
		return
	}
	if t.state == TxnFatalError {
		t.ending = nil
		e.done(t.err)
		return
	}
	t.ending = nil
	if len(t.added) == 0 && !t.offsetsSent {
		// Nothing was written: the transaction ends on the client.
		t.finish(e)
		return
	}
	tp := p.producerTxn()
	var resp *protocol.EndTxnResponse
	t.coordRequest(func(corr int32) network.Message {
		return &protocol.EndTxn{CorrelationID: corr, TxnProducer: tp, Committed: e.commit}
	}, func(m network.Message) protocol.ErrorCode {
		resp, _ = m.(*protocol.EndTxnResponse)
		if resp == nil {
			return protocol.UnknownServerError
		}
		return resp.Error
	}, func(code protocol.ErrorCode) {
		if code != protocol.None {
			err := t.fail(code, "EndTxn")
			if !err.Fatal {
				t.state = TxnAbortableError
			}
			e.done(err)
			return
		}
		if resp.ProducerID != protocol.NoProducerID && (resp.ProducerID != p.producerID || resp.ProducerEpoch != p.epoch) {
			// Transactions version 2: the epoch bumped with the end.
			p.setProducer(resp.ProducerID, resp.ProducerEpoch)
		}
		t.finish(e)
	})
}

// finish completes a commit or abort. After an abort caused by an error
// under transactions version 1 the producer asks for a new epoch
// (KIP-360), so that sequences start over.
func (t *txnManager) finish(e *txnEnd) {
	hadErr := t.err != nil
	t.err = nil
	clear(t.added)
	if !e.commit && hadErr {
		t.state = TxnInitializing
		t.initPID(func(err error) { e.done(err) })
		return
	}
	t.state = TxnReady
	e.done(nil)
}
