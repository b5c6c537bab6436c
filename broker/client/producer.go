package client

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// SendResult is what a send's callback learns: the partition and offset
// (Offset -1 for acks=0), or the error and whether the outcome is unknown.
type SendResult struct {
	Op        int64 // the operation's id in the history
	Partition int32
	Offset    int64
	Error     protocol.ErrorCode
	Outcome   history.Outcome
}

type pending struct {
	op       int64
	topic    string
	key, val []byte
	headers  []model.RecordHeader
	at       time.Duration
	done     func(SendResult)
	expire   sim.Timer
}

type record struct {
	op       int64
	key, val []byte
	headers  []model.RecordHeader
	ts       int64
	done     func(SendResult)
}

// batch is a producer batch (Kafka's ProducerBatch).
type batch struct {
	tp       model.TopicPartition
	records  []record
	size     int
	created  time.Duration
	attempts int
	retryAt  time.Duration
	producer protocol.Producer
	inflight bool
	done     bool // completed or expired: late answers are ignored
	closed   bool // no more records may be added
	deadline sim.Timer
}

func (b *batch) count() int32 { return int32(len(b.records)) }

func (b *batch) lastSeq() int32 {
	if b.producer.BaseSequence == protocol.NoSequence {
		return protocol.NoSequence
	}
	return protocol.IncSequence(b.producer.BaseSequence, b.count()-1)
}

// sticky is the uniform sticky partitioner's state for one topic
// (KIP-480, KIP-794).
type sticky struct {
	partition int32 // -1: choose on the next record
	produced  int
}

// Producer is Kafka's producer as a state machine: the record accumulator
// (batch.size, linger.ms), the sender (max.in.flight.requests.per.connection,
// retries with exponential backoff, request.timeout.ms,
// delivery.timeout.ms, metadata refresh on stale-leader errors) and
// idempotence (InitProducerId, epochs, per-partition sequence numbers,
// KIP-360 epoch bumps). Every send is an operation in the history.
//
// A Producer runs inside a client process on its node (see
// ProducerProcess); it is not safe to use from outside the simulation's
// event loop.
type Producer struct {
	n   *sim.Node
	s   *sim.Sim
	cfg ProducerConfig
	c   *conn
	rec *history.Recorder

	producerID    int64
	epoch         int16
	pidPending    bool
	bumpRequested bool
	// rewrite are the partitions whose gap asked for the epoch bump: their
	// batches take new sequences from 0 under the new epoch. Other
	// partitions go stale: batches already sent keep their epoch and
	// sequence (a retry must still deduplicate), and new ones wait until
	// those are resolved, then start from 0 (KIP-360).
	rewrite map[model.TopicPartition]bool
	stale   map[model.TopicPartition]bool
	// unresolved holds, per partition, the sequence after the batches that
	// expired (delivery.timeout.ms) after they were sent: whether they
	// were written is unknown. Once none of the partition's batches under
	// the current epoch is pending, it is resolved if the last sequence
	// acknowledged comes right before the next one, and asks for an epoch
	// bump otherwise (Kafka's unresolved sequences).
	unresolved map[model.TopicPartition]int32
	nextSeq    map[model.TopicPartition]int32
	lastAcked  map[model.TopicPartition]int32

	queues   map[model.TopicPartition][]*batch
	inflight map[model.TopicPartition]int
	requests map[int32][]*batch // by correlation id of their Produce
	total    int                // batches in flight

	waiting  []*pending
	sticky   map[string]*sticky
	rr       map[string]int
	wake     sim.Timer
	wakeAt   time.Duration
	flushing bool
	process  int
	// txn is the transactional part, with transactional.id.
	txn *txnManager
}

// NewProducer returns a producer for node n. cfg must be valid.
func NewProducer(n *sim.Node, env Env, cfg ProducerConfig) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, fmt.Errorf("producer %s: no history recorder in its environment", cfg.ClientID)
	}
	p := &Producer{n: n, s: n.Sim(), cfg: cfg, rec: env.Recorder,
		c:          newConn(n, env, cfg.ClientID, producerTag, cfg.RequestTimeout, cfg.RetryBackoff, cfg.MetadataMaxAge),
		producerID: protocol.NoProducerID, epoch: protocol.NoProducerEpoch,
		nextSeq: make(map[model.TopicPartition]int32), lastAcked: make(map[model.TopicPartition]int32),
		rewrite: make(map[model.TopicPartition]bool), stale: make(map[model.TopicPartition]bool),
		unresolved: make(map[model.TopicPartition]int32),
		queues:     make(map[model.TopicPartition][]*batch), inflight: make(map[model.TopicPartition]int),
		requests: make(map[int32][]*batch), sticky: make(map[string]*sticky), rr: make(map[string]int), process: incarnation(n)}
	if cfg.TransactionalID != "" {
		p.txn = newTxnManager(p)
		// Sends are recorded as the transaction's operations by whoever
		// runs it, not one by one in the run's history.
		p.rec = history.NewRecorder(history.Header{})
	} else if cfg.EnableIdempotence {
		p.c.n.After(0, "producer.init", p.run)
	}
	return p, nil
}

// Config returns the producer's configuration.
func (p *Producer) Config() ProducerConfig { return p.cfg }

// ProducerID returns the producer id and epoch (NoProducerID before
// InitProducerId answered, and always without idempotence).
func (p *Producer) ProducerID() (int64, int16) { return p.producerID, p.epoch }

// Ready reports whether the producer knows the topic's partitions, so
// that a send is recorded with its partition at once.
func (p *Producer) Ready(topic string) bool {
	_, ok := p.c.partitions(topic)
	return ok
}

// Prepare asks for a topic's metadata ahead of the first send.
func (p *Producer) Prepare(topic string) {
	p.c.need(topic)
	p.c.refresh(nil)
}

// Pending returns the number of sends not yet completed.
func (p *Producer) Pending() int {
	n := len(p.waiting)
	for _, q := range p.queues {
		for _, b := range q {
			if !b.done {
				n += len(b.records)
			}
		}
	}
	return n
}

func (p *Producer) now() time.Duration { return p.s.Now() }

// Send sends one record, as KafkaProducer.send does, and records it in
// the history; done (optional) is told the outcome. A nil key is Kafka's
// null key.
func (p *Producer) Send(topic string, key, value []byte, done func(SendResult)) {
	p.SendRecord(ProducerRecord{Topic: topic, Key: key, Value: value}, done)
}

// A ProducerRecord is a record to send (Kafka's ProducerRecord): a topic,
// a key (nil is null), a value and headers.
type ProducerRecord struct {
	Topic   string
	Key     []byte
	Value   []byte
	Headers []model.RecordHeader
}

// SendRecord is Send for a record with headers.
func (p *Producer) SendRecord(r ProducerRecord, done func(SendResult)) {
	if p.txn != nil && p.txn.state != TxnInTransaction {
		// Kafka's send outside a transaction throws; inside an aborted
		// one it fails with the transaction's error.
		code := protocol.InvalidTxnState
		if p.txn.state == TxnAbortableError && p.txn.err != nil {
			code = p.txn.err.Code
		}
		if done != nil {
			done(SendResult{Op: -1, Partition: -1, Offset: -1, Error: code, Outcome: history.Fail})
		}
		return
	}
	topic := r.Topic
	w := &pending{topic: topic, key: r.Key, val: r.Value, headers: r.Headers, at: p.now(), done: done, op: -1}
	if _, ok := p.c.partitions(topic); ok && len(p.waiting) == 0 {
		p.accept(w)
		return
	}
	// Like send() blocking in waitOnMetadata, up to max.block.ms. The
	// caller's thread is blocked meanwhile, so a later send waits behind
	// an earlier one even when its topic's metadata is known: the
	// producer's sends keep their order.
	p.waiting = append(p.waiting, w)
	w.expire = p.n.After(p.cfg.MaxBlock, "producer.max-block", func() { p.expireWaiting(w) })
	p.c.need(topic)
	p.c.refresh(p.onMetadata)
}

func (p *Producer) onMetadata() {
	p.drainWaiting()
	if len(p.waiting) > 0 {
		p.n.After(p.cfg.RetryBackoff, "producer.metadata-wait", func() { p.c.refresh(p.onMetadata) })
	}
	p.schedule(p.now())
}

// drainWaiting accepts the waiting sends in their order, up to the first
// whose topic's metadata is still unknown.
func (p *Producer) drainWaiting() {
	n := 0
	for _, w := range p.waiting {
		if _, ok := p.c.partitions(w.topic); !ok {
			break
		}
		p.n.Cancel(w.expire)
		p.accept(w)
		n++
	}
	if n > 0 {
		p.waiting = slices.Delete(p.waiting, 0, n)
	}
}

func (p *Producer) expireWaiting(w *pending) {
	i := slices.Index(p.waiting, w)
	if i < 0 {
		return
	}
	p.waiting = slices.Delete(p.waiting, i, i+1)
	p.s.Mark("client.producer.max-block-expired")
	id := p.rec.InvokeSend(w.at, p.cfg.ClientID, p.process, p.sendOp(w.topic, -1, w))
	p.rec.Fail(id, p.now(), protocol.UnknownTopicOrPartition.String())
	if w.done != nil {
		w.done(SendResult{Op: id, Partition: -1, Offset: -1, Error: protocol.UnknownTopicOrPartition, Outcome: history.Fail})
	}
	if i == 0 && len(p.waiting) > 0 {
		// The sends behind it go on if their metadata is known.
		p.drainWaiting()
		p.schedule(p.now())
	}
}

func (p *Producer) sendOp(topic string, partition int32, w *pending) history.Send {
	return history.Send{Topic: topic, Partition: partition, Key: w.key, Value: w.val, Headers: w.headers,
		Acks: p.cfg.Acks, Idempotent: p.cfg.EnableIdempotence, Offset: -1}
}

// accept partitions a record, records the send and appends it to its batch.
func (p *Producer) accept(w *pending) {
	part := p.partition(w.topic, w.key)
	tp := model.TopicPartition{Topic: w.topic, Partition: part}
	w.op = p.rec.InvokeSend(w.at, p.cfg.ClientID, p.process, p.sendOp(w.topic, part, w))
	r := record{op: w.op, key: w.key, val: w.val, headers: w.headers, ts: w.at.Milliseconds(), done: w.done}
	size := recordSize(w.key, w.val)
	for _, h := range w.headers {
		size += varintSize(len(h.Key)) + len(h.Key) + varintSize(len(h.Value)) + len(h.Value)
	}
	q := p.queues[tp]
	var b *batch
	if k := len(q); k > 0 && !q[k-1].closed && !q[k-1].inflight && q[k-1].attempts == 0 &&
		(q[k-1].size+size <= p.cfg.BatchSize) {
		b = q[k-1]
	} else {
		if k > 0 {
			q[k-1].closed = true
		}
		b = &batch{tp: tp, created: p.now(), size: protocol.BatchHeaderSize, producer: protocol.NoProducer}
		b.deadline = p.n.After(p.cfg.DeliveryTimeout, "producer.delivery-timeout", func() { p.expireBatch(b) })
		p.queues[tp] = append(q, b)
	}
	b.records = append(b.records, r)
	b.size += size
	if p.txn != nil {
		// Kafka's client adds a partition to the transaction when a record
		// for it is appended, not when its batch is sent.
		p.txn.partitionReady(tp)
	}
	if b.size >= p.cfg.BatchSize {
		b.closed = true
	}
	if st := p.sticky[w.topic]; st != nil && st.partition == part && (w.key == nil || p.cfg.PartitionerIgnoreKeys) {
		st.produced += size
		// KIP-794: switch after batch.size bytes, once the batch is no
		// longer open for more (KAFKA-14156), or after twice that anyway.
		if (st.produced >= p.cfg.BatchSize && b.closed) || st.produced >= 2*p.cfg.BatchSize {
			st.partition = -1
			p.s.Mark("client.producer.sticky-switch")
		}
	}
	p.schedule(p.now())
}

// recordSize is the size of a record in Kafka's record format, about.
func recordSize(key, val []byte) int {
	return 1 + 1 + 1 + 1 + varintSize(len(key)) + len(key) + varintSize(len(val)) + len(val) + 1
}

func varintSize(n int) int {
	s := 1
	for v := uint64(n) << 1; v >= 0x80; v >>= 7 {
		s++
	}
	return s
}

// partition chooses a record's partition as Kafka's built-in partitioner
// (or the round-robin one) does.
func (p *Producer) partition(topic string, key []byte) int32 {
	parts, _ := p.c.partitions(topic)
	n := len(parts)
	if p.cfg.Partitioner == RoundRobinPartitioner {
		avail := available(parts)
		i := p.rr[topic]
		p.rr[topic]++
		if len(avail) > 0 {
			return avail[i%len(avail)]
		}
		return int32(i % n)
	}
	if key != nil && !p.cfg.PartitionerIgnoreKeys {
		return KeyPartition(key, n)
	}
	st := p.sticky[topic]
	if st == nil {
		st = &sticky{partition: -1}
		p.sticky[topic] = st
	}
	if st.partition < 0 || int(st.partition) >= n {
		st.partition, st.produced = p.nextSticky(topic, parts), 0
	}
	return st.partition
}

func available(parts []PartitionInfo) []int32 {
	var out []int32
	for i, pi := range parts {
		if pi.Leader != protocol.NoNode {
			out = append(out, int32(i))
		}
	}
	return out
}

// nextSticky picks the next sticky partition: uniformly among the
// partitions with a leader, or, with adaptive partitioning, with weights
// that favour partitions with fewer batches queued (KIP-794).
func (p *Producer) nextSticky(topic string, parts []PartitionInfo) int32 {
	cands := available(parts)
	if len(cands) == 0 {
		for i := range parts {
			cands = append(cands, int32(i))
		}
	}
	r := p.n.Rand()
	if !p.cfg.AdaptivePartitioning || len(cands) == 1 {
		return cands[r.IntN(len(cands))]
	}
	queued := make([]int, len(cands))
	maxQ, differ := 0, false
	for i, c := range cands {
		queued[i] = len(p.queues[model.TopicPartition{Topic: topic, Partition: c}])
		maxQ = max(maxQ, queued[i])
		differ = differ || queued[i] != queued[0]
	}
	if !differ {
		return cands[r.IntN(len(cands))]
	}
	total := 0
	for _, q := range queued {
		total += maxQ + 1 - q
	}
	x := r.IntN(total)
	for i, q := range queued {
		if x -= maxQ + 1 - q; x < 0 {
			p.s.Mark("client.producer.adaptive-choice")
			return cands[i]
		}
	}
	return cands[len(cands)-1]
}

// schedule makes the sender run at t (or earlier, if already due earlier).
func (p *Producer) schedule(t time.Duration) {
	if p.s.Scheduled(p.wake) && p.wakeAt <= t {
		return
	}
	p.n.Cancel(p.wake)
	p.wakeAt = t
	p.wake = p.n.After(max(t-p.now(), 0), "producer.sender", p.run)
}

// Flush makes every queued batch ready at once (KafkaProducer.flush).
func (p *Producer) Flush() {
	p.flushing = true
	p.schedule(p.now())
}

func (p *Producer) ready(b *batch) bool {
	now := p.now()
	if b.attempts > 0 {
		return now >= b.retryAt
	}
	return b.closed || p.flushing || now-b.created >= p.cfg.Linger
}

// run is the sender loop (Kafka's Sender.runOnce).
func (p *Producer) run() {
	if p.cfg.EnableIdempotence && p.producerID == protocol.NoProducerID {
		if p.txn == nil {
			p.initProducerID()
		}
		return
	}
	if p.txn != nil {
		p.txn.maybeEnd()
	}
	p.resolveSequences()
	if p.bumpRequested && p.total == 0 && p.txn == nil {
		p.bumpEpoch()
	}
	next := time.Duration(-1)
	due := func(t time.Duration) {
		if next < 0 || t < next {
			next = t
		}
	}
	byBroker := make(map[int32][]*batch)
	needMeta := p.c.stale() && (len(p.queues) > 0 || len(p.waiting) > 0)
	for _, tp := range slices.SortedFunc(maps.Keys(p.queues), model.TopicPartition.Compare) {
		q := p.queues[tp]
		if len(q) == 0 {
			delete(p.queues, tp)
			continue
		}
		// The first batch not in flight is next; batches before it in
		// flight hold it back only when order is kept by sending one at a
		// time (max.in.flight.requests.per.connection=1).
		i := slices.IndexFunc(q, func(b *batch) bool { return !b.inflight })
		if i < 0 || (i > 0 && p.cfg.MaxInFlight == 1) {
			continue
		}
		b := q[i]
		if !p.ready(b) {
			if b.attempts > 0 {
				due(b.retryAt)
			} else {
				due(b.created + p.cfg.Linger)
			}
			continue
		}
		if b.attempts > 0 && p.cfg.EnableIdempotence && p.inflight[tp] > 0 {
			continue // a retry waits until the batches before it are resolved
		}
		if p.rewrite[tp] {
			continue // waits for the epoch bump it asked for
		}
		if _, ok := p.unresolved[tp]; ok && b.producer.BaseSequence == protocol.NoSequence {
			continue // new sequences wait until the expired ones are resolved
		}
		if p.stale[tp] && b.producer.BaseSequence == protocol.NoSequence {
			if slices.ContainsFunc(q, p.oldEpoch) {
				continue // new sequences wait until the old epoch's batches are resolved
			}
			p.restartSequences(tp)
		}
		if p.cfg.MaxInFlight == 1 && p.inflight[tp] > 0 {
			continue // max.in.flight=1 keeps order by muting the partition
		}
		if p.txn != nil && !p.txn.partitionReady(tp) {
			continue // waits for AddPartitionsToTxn
		}
		info, ok := p.c.leader(tp)
		if !ok {
			needMeta = true
			continue
		}
		byBroker[info.Leader] = append(byBroker[info.Leader], b)
	}
	for _, broker := range slices.Sorted(maps.Keys(byBroker)) {
		if p.c.inFlight(broker) >= p.cfg.MaxInFlight {
			continue
		}
		var batches []*batch
		size := 0
		for _, b := range byBroker[broker] {
			if len(batches) > 0 && size+b.size > p.cfg.MaxRequestSize {
				break
			}
			size += b.size
			batches = append(batches, b)
		}
		p.sendBatches(broker, batches)
	}
	p.flushing = false
	if needMeta {
		p.c.refresh(func() { p.schedule(p.now()) })
	}
	if next >= 0 {
		p.schedule(next)
	}
}

func (p *Producer) initProducerID() {
	if p.pidPending {
		return
	}
	broker := p.c.anyBroker()
	if broker == protocol.NoNode {
		return
	}
	p.pidPending = true
	p.c.request(broker, p.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.InitProducerId{CorrelationID: corr, ClientID: p.cfg.ClientID, TransactionTimeoutMs: 60000,
			ProducerID: protocol.NoProducerID, ProducerEpoch: protocol.NoProducerEpoch}
	}, func(m network.Message, code protocol.ErrorCode) {
		p.pidPending = false
		resp, _ := m.(*protocol.InitProducerIdResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		if code != protocol.None {
			p.n.After(p.cfg.RetryBackoff, "producer.init-retry", p.run)
			return
		}
		p.producerID, p.epoch = resp.ProducerID, resp.ProducerEpoch
		p.s.Trace().Emitf(p.n, "producer.init", uint64(p.producerID), "producer id %d epoch %d", p.producerID, p.epoch)
		p.schedule(p.now())
	})
}

// requestBump asks for a new epoch because of a gap in tp's sequences.
func (p *Producer) requestBump(tp model.TopicPartition) {
	p.bumpRequested = true
	p.rewrite[tp] = true
}

// bumpEpoch bumps the idempotent producer's epoch locally (KIP-360): the
// partitions that asked for it restart their sequences at 0, their queued
// batches taking new sequences when they are sent again; every other
// partition goes stale (see rewrite). At the epoch's limit a new producer
// id is fetched instead, and every partition starts over.
func (p *Producer) bumpEpoch() {
	p.bumpRequested = false
	p.s.Mark("client.producer.epoch-bump")
	if p.epoch == 1<<15-1 {
		p.producerID, p.epoch = protocol.NoProducerID, protocol.NoProducerEpoch
		for tp := range p.nextSeq {
			p.rewrite[tp] = true
		}
		for tp := range p.queues {
			p.rewrite[tp] = true
		}
	} else {
		p.epoch++
	}
	for tp := range p.nextSeq {
		if !p.rewrite[tp] {
			p.stale[tp] = true
		}
	}
	for _, tp := range slices.SortedFunc(maps.Keys(p.rewrite), model.TopicPartition.Compare) {
		p.restartSequences(tp)
		for _, b := range p.queues[tp] {
			b.producer = protocol.NoProducer
		}
	}
	clear(p.rewrite)
	p.s.Trace().Emitf(p.n, "producer.epoch-bump", uint64(p.epoch), "producer %d now at epoch %d", p.producerID, p.epoch)
	if p.producerID == protocol.NoProducerID {
		p.initProducerID()
	}
}

// restartSequences starts tp's sequences over at 0 under the current epoch.
func (p *Producer) restartSequences(tp model.TopicPartition) {
	delete(p.nextSeq, tp)
	delete(p.lastAcked, tp)
	delete(p.stale, tp)
	delete(p.unresolved, tp)
}

// markUnresolved notes that b, sent under the current epoch, expired
// before its outcome was known.
func (p *Producer) markUnresolved(b *batch) {
	if b.producer.BaseSequence == protocol.NoSequence || b.producer.ID != p.producerID || b.producer.Epoch != p.epoch {
		// Not sent under the current epoch: the partition starts over
		// from 0 anyway once its older batches are resolved.
		return
	}
	next := protocol.IncSequence(b.lastSeq(), 1)
	if cur, ok := p.unresolved[b.tp]; !ok || next > cur {
		p.unresolved[b.tp] = next
	}
}

// resolveSequences settles the partitions with expired batches whose
// batches under the current epoch are all resolved: if every sequence
// before the next one was acknowledged, later batches landed after the
// expired ones and there is no gap; otherwise the partition needs a new
// epoch (Kafka's TransactionManager.maybeResolveSequences).
func (p *Producer) resolveSequences() {
	for _, tp := range slices.SortedFunc(maps.Keys(p.unresolved), model.TopicPartition.Compare) {
		if slices.ContainsFunc(p.queues[tp], func(b *batch) bool {
			return !b.done && b.producer.BaseSequence != protocol.NoSequence && b.producer.ID == p.producerID && b.producer.Epoch == p.epoch
		}) {
			continue
		}
		delete(p.unresolved, tp)
		if p.nextSeq[tp] == p.nextAfterAcked(tp) {
			p.s.Mark("client.producer.sequence-resolved")
			continue
		}
		p.requestBump(tp)
	}
}

// oldEpoch reports whether b was sent under an earlier producer id or
// epoch and is not resolved yet.
func (p *Producer) oldEpoch(b *batch) bool {
	return b.producer.BaseSequence != protocol.NoSequence && (b.producer.Epoch != p.epoch || b.producer.ID != p.producerID)
}

func (p *Producer) sendBatches(broker int32, batches []*batch) {
	req := &protocol.Produce{ClientID: p.cfg.ClientID, Acks: int16(p.cfg.Acks), Timeout: p.cfg.RequestTimeout}
	if p.txn != nil {
		req.TransactionalID = p.cfg.TransactionalID
	}
	for _, b := range batches {
		if p.cfg.EnableIdempotence && b.producer.BaseSequence == protocol.NoSequence {
			seq := p.nextSeq[b.tp]
			b.producer = protocol.Producer{ID: p.producerID, Epoch: p.epoch, BaseSequence: seq}
			p.nextSeq[b.tp] = protocol.IncSequence(seq, b.count())
		}
		b.closed = true
		b.attempts++
		recs := make([]protocol.Record, len(b.records))
		for i, r := range b.records {
			recs[i] = protocol.Record{Timestamp: r.ts, Key: r.key, Value: r.val, Headers: protocol.RecordHeaders(r.headers)}
		}
		encode := protocol.AppendBatchWith(nil, 0, protocol.NoPartitionLeaderEpoch, b.producer, p.codec(), recs)
		if p.txn != nil {
			encode = protocol.AppendTxnBatch(nil, b.producer, recs)
		}
		req.Partitions = append(req.Partitions, protocol.ProducePartition{TP: b.tp, Records: encode})
		if b.attempts > 1 {
			p.s.Mark("client.producer.retry")
		}
	}
	if p.cfg.Acks == model.AcksNone {
		// No response will come: the send is done once it is on the wire.
		p.c.send(broker, func(corr int32) network.Message { req.CorrelationID = corr; return req })
		for _, b := range batches {
			p.dequeue(b)
			p.complete(b, protocol.None, -1)
		}
		return
	}
	for _, b := range batches {
		b.inflight = true
		p.inflight[b.tp]++
		p.total++
	}
	p.c.request(broker, p.cfg.RequestTimeout, func(corr int32) network.Message {
		req.CorrelationID = corr
		return req
	}, func(m network.Message, code protocol.ErrorCode) { p.onProduce(batches, m, code) })
}

func (p *Producer) dequeue(b *batch) {
	q := p.queues[b.tp]
	if i := slices.Index(q, b); i >= 0 {
		p.queues[b.tp] = slices.Delete(q, i, i+1)
	}
	if len(p.queues[b.tp]) == 0 {
		delete(p.queues, b.tp)
	}
}

func (p *Producer) onProduce(batches []*batch, m network.Message, code protocol.ErrorCode) {
	resp, _ := m.(*protocol.ProduceResponse)
	for _, b := range batches {
		b.inflight = false
		p.inflight[b.tp]--
		p.total--
		pc, base := code, int64(-1)
		if code == protocol.None {
			pc = protocol.UnknownServerError
			if resp != nil {
				for _, pr := range resp.Partitions {
					if pr.TP == b.tp {
						pc, base = pr.Error, pr.BaseOffset
					}
				}
			}
		}
		p.handle(b, pc, base)
	}
	p.schedule(p.now())
}

// handle acts on one batch's outcome (Kafka's Sender.completeBatch).
func (p *Producer) handle(b *batch, code protocol.ErrorCode, base int64) {
	if code == protocol.None && p.cfg.EnableIdempotence && b.producer.Epoch == p.epoch && b.producer.ID == p.producerID {
		// The highest sequence acknowledged: a retry of an earlier batch
		// answered later (a duplicate) does not move it back.
		if last, ok := p.lastAcked[b.tp]; !ok || b.lastSeq() > last {
			p.lastAcked[b.tp] = b.lastSeq()
		}
	}
	if b.done {
		// Expired while in flight: its outcome stays unknown, and it is
		// never sent again.
		p.dequeue(b)
		return
	}
	if code == protocol.None {
		p.dequeue(b)
		p.complete(b, protocol.None, base)
		return
	}
	if metadataError(code) {
		p.c.invalidate()
	}
	if p.canRetry(b, code) {
		b.retryAt = p.now() + p.backoff(b.attempts)
		p.s.Trace().Emitf(p.n, "producer.retry", uint64(code), "%s: %s, attempt %d", b.tp, code, b.attempts)
		p.schedule(b.retryAt)
		return
	}
	if p.txn != nil {
		p.txn.batchFailed(code)
	} else if p.cfg.EnableIdempotence {
		// A batch that failed for good leaves a gap in the sequence: the
		// next batches need a new epoch.
		p.requestBump(b.tp)
	}
	p.dequeue(b)
	p.complete(b, code, -1)
}

func (p *Producer) canRetry(b *batch, code protocol.ErrorCode) bool {
	if b.attempts > p.cfg.Retries || p.now()-b.created >= p.cfg.DeliveryTimeout {
		return false
	}
	if !p.cfg.EnableIdempotence {
		return code.Retriable()
	}
	switch code {
	case protocol.OutOfOrderSequenceNumber, protocol.UnknownProducerId:
		if b.producer.Epoch != p.epoch || b.producer.ID != p.producerID {
			// Sent under an older epoch, and the broker has no state for
			// it: the partition starts over under the current epoch.
			p.restartSequences(b.tp)
			for _, o := range p.queues[b.tp] {
				if !o.inflight {
					o.producer = protocol.NoProducer
				}
			}
			b.producer = protocol.NoProducer
			return true
		}
		if code == protocol.OutOfOrderSequenceNumber {
			u, unresolved := p.unresolved[b.tp]
			if !unresolved && b.producer.BaseSequence != p.nextAfterAcked(b.tp) {
				// Not the next batch: either an earlier one is pending (in
				// flight, or waiting to be sent again) and the gap may
				// close, or later batches were acknowledged and pushed this
				// one, whose first copy landed, out of the leader's window
				// of five batches. Kafka retries it without a bump, until
				// it succeeds or delivery.timeout.ms fails it; a bump would
				// rewrite it and write it twice.
				p.s.Mark("client.producer.out-of-order-not-next")
				return true
			}
			if unresolved && b.producer.BaseSequence != u {
				// Not the batch right after the expired ones: retry
				// without a bump and see whether the sequences resolve.
				return true
			}
		}
		// A real gap, or the broker lost our state: bump the epoch and
		// resend from sequence 0 (KIP-360).
		p.s.Mark("client.producer." + code.String())
		p.requestBump(b.tp)
		b.producer = protocol.NoProducer
		return true
	case protocol.InvalidProducerEpoch:
		if b.producer.Epoch < p.epoch {
			b.producer = protocol.NoProducer
			return true
		}
		return false
	}
	return code.Retriable()
}

// nextAfterAcked returns the sequence after the last one acknowledged on
// tp under the current epoch (0 when none was).
func (p *Producer) nextAfterAcked(tp model.TopicPartition) int32 {
	last, ok := p.lastAcked[tp]
	if !ok {
		last = protocol.NoSequence
	}
	return protocol.IncSequence(last, 1)
}

// backoff is KIP-580's exponential backoff with ±20% jitter.
func (p *Producer) backoff(attempts int) time.Duration {
	d := p.cfg.RetryBackoff
	for i := 1; i < attempts && d < p.cfg.RetryBackoffMax; i++ {
		d *= 2
	}
	d = min(d, max(p.cfg.RetryBackoffMax, p.cfg.RetryBackoff))
	if d <= 0 {
		return 0
	}
	j := time.Duration(p.n.Rand().Int64N(int64(d)*2/5+1)) - d/5
	return max(d+j, 0)
}

// expireBatch fails a batch whose delivery.timeout.ms passed.
func (p *Producer) expireBatch(b *batch) {
	if b.done {
		return
	}
	p.s.Mark("client.producer.delivery-timeout")
	if b.attempts > 0 && p.cfg.EnableIdempotence {
		p.markUnresolved(b) // its sequence may or may not be written
	}
	if !b.inflight {
		p.dequeue(b)
	}
	b.done = true
	p.n.Cancel(b.deadline)
	now := p.now()
	for _, r := range b.records {
		res := SendResult{Op: r.op, Partition: b.tp.Partition, Offset: -1, Error: protocol.RequestTimedOut}
		if b.attempts > 0 {
			p.rec.Unknown(r.op, now, protocol.RequestTimedOut.String())
			res.Outcome = history.Unknown
		} else {
			p.rec.Fail(r.op, now, protocol.RequestTimedOut.String())
			res.Outcome = history.Fail
		}
		if r.done != nil {
			r.done(res)
		}
	}
	if p.txn != nil {
		p.txn.batchFailed(protocol.RequestTimedOut)
	}
	p.schedule(now)
}

func (p *Producer) complete(b *batch, code protocol.ErrorCode, base int64) {
	b.done = true
	p.n.Cancel(b.deadline)
	now := p.now()
	for i, r := range b.records {
		res := SendResult{Op: r.op, Partition: b.tp.Partition, Offset: -1, Error: code}
		switch {
		case code == protocol.None:
			off := int64(-1)
			if base >= 0 {
				off = base + int64(i)
			}
			res.Offset, res.Outcome = off, history.OK
			if off < 0 && p.cfg.Acks != model.AcksNone {
				p.rec.Unknown(r.op, now, "")
				res.Outcome = history.Unknown
			} else {
				p.rec.SendOK(r.op, now, off)
			}
		default:
			p.rec.Fail(r.op, now, code.String())
			res.Outcome = history.Fail
		}
		if r.done != nil {
			r.done(res)
		}
	}
}

// Receive handles responses.
func (p *Producer) Receive(from sim.NodeID, m network.Message) { p.c.receive(from, m) }

// Disconnected fails the requests in flight to a broker.
func (p *Producer) Disconnected(peer sim.NodeID) {
	p.c.disconnected(peer)
	p.c.invalidate()
}
