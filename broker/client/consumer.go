package client

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/fetchsession"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// fetch states of an assigned partition (Kafka's SubscriptionState).
type fetchState uint8

const (
	needsPosition   fetchState = iota // committed offset or reset to look up
	awaitPosition                     // that lookup is in flight
	needsValidation                   // KIP-320: the leader changed; check the position
	awaitValidation                   // that check is in flight
	fetching
)

type partState struct {
	state    fetchState
	position int64
	epoch    int32 // leader epoch of the last record consumed (KIP-320)
	leaderEp int32 // leader epoch the position was validated against
	buffered []history.Record
	fetching bool
	resetTo  string // pending reset policy (seek-to-beginning/end)
	hwm      int64  // high-water mark of the last fetch; -1 before one
	// backoff is when the partition may be fetched again after a failed
	// fetch (retry.backoff.ms).
	backoff time.Duration
}

func newPartState() *partState {
	return &partState{state: needsPosition, epoch: protocol.NoEpoch, leaderEp: protocol.NoEpoch, hwm: -1}
}

// Consumer is Kafka's classic consumer as a state machine: group
// membership (FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup; eager or cooperative rebalancing), manual assignment,
// fetching from leaders below the high-water mark, positions, seeks,
// auto.offset.reset, KIP-320 validation after leader changes, and offset
// commits (auto, sync, async). Every poll, commit, seek and assignment
// change is an operation in the history.
type Consumer struct {
	n   *sim.Node
	s   *sim.Sim
	cfg ConsumerConfig
	c   *conn
	rec *history.Recorder

	parts    map[model.TopicPartition]*partState
	topics   []string // subscription
	manual   bool
	protocol group.RebalanceProtocol

	coordinator int32
	findPending bool
	memberID    string
	generation  int32
	joining     bool
	needsRejoin bool
	// assignSnapshot is, on the member that computed the group's
	// assignment, the partition counts it was computed from.
	assignSnapshot map[string]int32
	// lastAssigned and lastGeneration are the last assignment received
	// and its generation, which an assignor such as sticky sends along
	// in its user data (nil before the first).
	lastAssigned   []model.TopicPartition
	lastGeneration int32
	lastPoll       time.Duration
	heartbeatT     sim.Timer
	autoCommitT    sim.Timer
	lastHeartbeat  time.Duration
	hbPending      bool
	fetchT         sim.Timer
	retryT         sim.Timer
	// sessions are the consumer's KIP-227 fetch sessions, by broker, and
	// fetching the brokers with a session's Fetch in flight; nil without
	// sessions.
	sessions map[int32]*fetchsession.Handler
	fetching map[int32]bool

	poll    *pollCall
	closed  bool
	process int
}

type pollCall struct {
	op    int64
	start map[model.TopicPartition]int64
	timer sim.Timer
	done  func([]history.PollPart)
}

// NewConsumer returns a consumer for node n; cfg must be valid.
func NewConsumer(n *sim.Node, env Env, cfg ConsumerConfig) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, fmt.Errorf("consumer %s: no history recorder in its environment", cfg.ClientID)
	}
	c := &Consumer{n: n, s: n.Sim(), cfg: cfg, rec: env.Recorder,
		c:     newConn(n, env, cfg.ClientID, consumerTag, cfg.RequestTimeout, cfg.RetryBackoff, cfg.MetadataMaxAge),
		parts: make(map[model.TopicPartition]*partState), coordinator: protocol.NoNode, generation: protocol.NoGeneration,
		process: incarnation(n)}
	if !env.NoFetchSessions {
		c.sessions, c.fetching = make(map[int32]*fetchsession.Handler), make(map[int32]bool)
	}
	a, _ := group.AssignorByName(cfg.Assignors[0])
	c.protocol = a.Protocol()
	return c, nil
}

func (c *Consumer) now() time.Duration { return c.s.Now() }

// Assignment returns the assigned partitions, sorted.
func (c *Consumer) Assignment() []model.TopicPartition {
	return slices.SortedFunc(maps.Keys(c.parts), model.TopicPartition.Compare)
}

// Position returns the offset of the next record the consumer would read
// from a partition, if it knows it.
func (c *Consumer) Position(tp model.TopicPartition) (int64, bool) {
	p := c.parts[tp]
	if p == nil || p.state != fetching && p.state != needsValidation && p.state != awaitValidation {
		return -1, false
	}
	return p.position, true
}

// CurrentLag returns how far a partition's position is behind the
// high-water mark of its last fetch (KafkaConsumer.currentLag, KIP-695),
// when the consumer knows both. Records fetched but not yet returned by
// a poll count as lag.
func (c *Consumer) CurrentLag(tp model.TopicPartition) (int64, bool) {
	pos, ok := c.Position(tp)
	if !ok || c.parts[tp].hwm < 0 {
		return -1, false
	}
	return c.parts[tp].hwm - pos, true
}

// PartitionsFor looks up a topic's partitions (KafkaConsumer.partitionsFor)
// and calls done with them, refreshing metadata until the topic is known
// or default.api.timeout.ms passes (UNKNOWN_TOPIC_OR_PARTITION then).
func (c *Consumer) PartitionsFor(topic string, done func([]PartitionInfo, error)) {
	partitionsFor(c.c, topic, c.cfg.RetryBackoff, c.now()+c.cfg.DefaultAPITimeout, done)
}

// partitionsFor waits for a topic's metadata, as KafkaConsumer.partitionsFor
// and the admin client's lookups do: done gets the partitions once a
// metadata answer names them, or the topic's error at the deadline. done
// never runs before partitionsFor returns.
func partitionsFor(cn *conn, topic string, backoff, deadline time.Duration, done func([]PartitionInfo, error)) {
	cn.need(topic)
	finished := false
	var timer sim.Timer
	finish := func(ps []PartitionInfo, err error) {
		if !finished {
			finished = true
			cn.n.Cancel(timer)
			done(ps, err)
		}
	}
	timer = cn.n.After(max(deadline-cn.now(), 0), "client.partitions-for-timeout", func() {
		code := protocol.UnknownTopicOrPartition
		if e, ok := cn.topicErrs[topic]; ok {
			code = e
		}
		finish(nil, code)
	})
	var try func()
	try = func() {
		if finished {
			return
		}
		if ps, ok := cn.partitions(topic); ok && !cn.stale() {
			finish(slices.Clone(ps), nil)
			return
		}
		cn.refresh(func() {
			if ps, ok := cn.partitions(topic); ok {
				finish(slices.Clone(ps), nil)
			} else if !finished {
				cn.n.After(backoff, "client.partitions-for-retry", try)
			}
		})
	}
	cn.n.After(0, "client.partitions-for", try)
}

// Generation returns the member id and generation of the group membership.
func (c *Consumer) Generation() (string, int32) { return c.memberID, c.generation }

// Assign assigns partitions manually (KafkaConsumer.assign).
func (c *Consumer) Assign(tps []model.TopicPartition) error {
	if len(c.topics) > 0 {
		return fmt.Errorf("consumer %s: assign after subscribe; a consumer either subscribes or assigns (Kafka's IllegalStateException)", c.cfg.ClientID)
	}
	c.manual = true
	tps = slices.Clone(tps)
	slices.SortFunc(tps, model.TopicPartition.Compare)
	c.rec.Assign(c.now(), c.cfg.ClientID, c.process, tps)
	next := make(map[model.TopicPartition]*partState)
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil {
			next[tp] = p
		} else {
			next[tp] = newPartState()
		}
		c.c.need(tp.Topic)
	}
	c.parts = next
	c.kick()
	return nil
}

// Subscribe subscribes to topics through the consumer's group.
func (c *Consumer) Subscribe(topics []string) error {
	if c.cfg.GroupID == "" {
		return fmt.Errorf("consumer %s: subscribe needs a group.id (Kafka's InvalidGroupIdException)", c.cfg.ClientID)
	}
	if c.manual {
		return fmt.Errorf("consumer %s: subscribe after assign; a consumer either subscribes or assigns (Kafka's IllegalStateException)", c.cfg.ClientID)
	}
	c.topics = slices.Sorted(slices.Values(topics))
	c.rec.Subscribe(c.now(), c.cfg.ClientID, c.process, c.cfg.GroupID, c.topics)
	c.c.need(c.topics...)
	c.needsRejoin = true
	c.lastPoll = c.now()
	c.kick()
	return nil
}

// kick makes the consumer's background work run soon.
func (c *Consumer) kick() {
	if !c.s.Scheduled(c.fetchT) {
		c.fetchT = c.n.After(0, "consumer.tick", c.tick)
	}
}

// retryLater makes the background work run again after retry.backoff.ms,
// once however many requests failed meanwhile: a retry already scheduled
// covers them all, so that failures never start chains of retries of
// their own.
func (c *Consumer) retryLater() {
	if !c.s.Scheduled(c.retryT) {
		c.retryT = c.n.After(c.cfg.RetryBackoff, "consumer.retry", c.kick)
	}
}

// tick does what the consumer's poll and heartbeat thread do between
// calls: keep the group membership, positions and fetches going.
func (c *Consumer) tick() {
	if c.closed {
		return
	}
	if c.c.stale() {
		c.c.refresh(c.kick)
	}
	if len(c.topics) > 0 {
		c.checkAssignmentMetadata()
		c.ensureGroup()
	}
	c.updatePositions()
	c.sendFetches()
}

// Seek moves a partition's position (KafkaConsumer.seek).
func (c *Consumer) Seek(tp model.TopicPartition, offset int64) error {
	p := c.parts[tp]
	if p == nil {
		return fmt.Errorf("consumer %s: seek on %s, which is not assigned (assigned: %s)", c.cfg.ClientID, tp, tpNames(c.Assignment()))
	}
	if offset < 0 {
		return fmt.Errorf("consumer %s: seek offset %d is negative: give an offset of 0 or more", c.cfg.ClientID, offset)
	}
	c.setPosition(tp, p, offset, protocol.NoEpoch, "seek")
	return nil
}

// SeekToBeginning and SeekToEnd reset positions to the log start or the
// high-water mark.
func (c *Consumer) SeekToBeginning(tps ...model.TopicPartition) { c.seekTo(tps, ResetEarliest) }

// SeekToEnd resets positions to the high-water mark.
func (c *Consumer) SeekToEnd(tps ...model.TopicPartition) { c.seekTo(tps, ResetLatest) }

func (c *Consumer) seekTo(tps []model.TopicPartition, policy string) {
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil {
			p.state, p.resetTo, p.buffered = needsPosition, policy, nil
		}
	}
	c.kick()
}

func tpNames(tps []model.TopicPartition) string {
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return strings.Join(s, ", ")
}

func (c *Consumer) setPosition(tp model.TopicPartition, p *partState, offset int64, epoch int32, reason string) {
	p.position, p.epoch, p.buffered, p.state = offset, epoch, nil, fetching
	if info, ok := c.c.leader(tp); ok {
		p.leaderEp = info.LeaderEpoch
	}
	c.rec.Seek(c.now(), c.cfg.ClientID, c.process, history.Seek{Topic: tp.Topic, Partition: tp.Partition, Offset: offset, Reason: reason})
	if c.poll != nil {
		// A poll under way reads from the new position: the history's
		// poll starts where the seek left the partition, not where the
		// partition stood when the poll was called.
		if _, ok := c.poll.start[tp]; ok {
			c.poll.start[tp] = offset
		}
	}
	c.kick()
}

// updatePositions looks up positions: committed offsets first (for a
// group), then auto.offset.reset; and validates positions after a leader
// change (KIP-320).
func (c *Consumer) updatePositions() {
	var committed []model.TopicPartition
	resets := map[int32][]model.TopicPartition{}
	validate := map[int32][]model.TopicPartition{}
	for _, tp := range c.Assignment() {
		p := c.parts[tp]
		info, ok := c.c.leader(tp)
		switch p.state {
		case needsPosition:
			if p.resetTo == "" && c.cfg.GroupID != "" {
				committed = append(committed, tp)
			} else if ok {
				resets[info.Leader] = append(resets[info.Leader], tp)
			}
		case fetching:
			if ok && p.leaderEp != protocol.NoEpoch && info.LeaderEpoch > p.leaderEp && p.epoch != protocol.NoEpoch {
				p.state = needsValidation
			}
			if ok && p.leaderEp == protocol.NoEpoch {
				p.leaderEp = info.LeaderEpoch
			}
		}
		if p.state == needsValidation && ok {
			validate[info.Leader] = append(validate[info.Leader], tp)
		}
	}
	if len(committed) > 0 {
		c.fetchCommitted(committed)
	}
	for _, b := range slices.Sorted(maps.Keys(resets)) {
		c.listOffsets(b, resets[b])
	}
	for _, b := range slices.Sorted(maps.Keys(validate)) {
		c.validatePositions(b, validate[b])
	}
}

func (c *Consumer) fetchCommitted(tps []model.TopicPartition) {
	if c.coordinator == protocol.NoNode {
		c.findCoordinator()
		return
	}
	for _, tp := range tps {
		c.parts[tp].state = awaitPosition
	}
	c.c.request(c.coordinator, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.OffsetFetch{CorrelationID: corr, GroupID: c.cfg.GroupID, Partitions: tps}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.OffsetFetchResponse)
		if code == protocol.None && resp != nil {
			code = resp.Error
		}
		for _, tp := range tps {
			if p := c.parts[tp]; p != nil && p.state == awaitPosition {
				p.state = needsPosition
			}
		}
		if code != protocol.None {
			c.coordinatorError(code)
			c.retryLater()
			return
		}
		for _, pr := range resp.Partitions {
			p := c.parts[pr.TP]
			if p == nil || p.state != needsPosition {
				continue
			}
			if pr.Offset >= 0 {
				c.setPosition(pr.TP, p, pr.Offset, pr.LeaderEpoch, "committed")
				if pr.LeaderEpoch != protocol.NoEpoch {
					p.state = needsValidation
				}
			} else {
				p.resetTo = c.cfg.AutoOffsetReset
			}
		}
		c.kick()
	})
}

func (c *Consumer) listOffsets(broker int32, tps []model.TopicPartition) {
	var req []protocol.ListOffsetsPartition
	var asked []model.TopicPartition
	for _, tp := range tps {
		p := c.parts[tp]
		policy := p.resetTo
		if policy == "" {
			policy = c.cfg.AutoOffsetReset
		}
		if policy == ResetNone {
			// Kafka's NoOffsetForPartitionException: the partition stays
			// without a position; the application must seek.
			c.s.Mark("consumer.no-offset-for-partition")
			continue
		}
		ts := protocol.LatestTimestamp
		if policy == ResetEarliest {
			ts = protocol.EarliestTimestamp
		}
		info, _ := c.c.leader(tp)
		req = append(req, protocol.ListOffsetsPartition{TP: tp, CurrentLeaderEpoch: info.LeaderEpoch, Timestamp: ts})
		asked = append(asked, tp)
		p.state = awaitPosition
	}
	if len(req) == 0 {
		return
	}
	c.c.request(broker, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.ListOffsets{CorrelationID: corr, ReplicaID: protocol.ConsumerReplicaID, Partitions: req,
			IsolationLevel: c.isolation()}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.ListOffsetsResponse)
		for _, tp := range asked {
			if p := c.parts[tp]; p != nil && p.state == awaitPosition {
				p.state = needsPosition
			}
		}
		if code != protocol.None || resp == nil {
			c.c.invalidate()
			c.retryLater()
			return
		}
		retry := false
		for i, pr := range resp.Partitions {
			p := c.parts[pr.TP]
			if p == nil || p.state != needsPosition {
				continue
			}
			if pr.Error != protocol.None {
				retry = true
				if metadataError(pr.Error) {
					c.c.invalidate()
				}
				continue
			}
			reason := "reset-latest"
			if req[i].Timestamp == protocol.EarliestTimestamp {
				reason = "reset-earliest"
			}
			if p.resetTo != "" && p.resetTo != c.cfg.AutoOffsetReset || p.resetTo != "" && !c.fromPolicy(p) {
				reason = map[string]string{ResetEarliest: "seek-to-beginning", ResetLatest: "seek-to-end"}[p.resetTo]
			}
			p.resetTo = ""
			c.setPosition(pr.TP, p, pr.Offset, protocol.NoEpoch, reason)
		}
		if retry {
			c.retryLater()
		}
		c.kick()
	})
}

// fromPolicy reports whether a pending reset came from auto.offset.reset
// (rather than a seek to the beginning or end).
func (c *Consumer) fromPolicy(p *partState) bool { return p.resetTo == c.cfg.AutoOffsetReset }

// validatePositions asks the new leader where the epoch of the consumed
// position ends; a position past that end was truncated away (KIP-320).
func (c *Consumer) validatePositions(broker int32, tps []model.TopicPartition) {
	var req []protocol.OffsetForLeaderPartition
	for _, tp := range tps {
		p := c.parts[tp]
		info, _ := c.c.leader(tp)
		req = append(req, protocol.OffsetForLeaderPartition{TP: tp, CurrentLeaderEpoch: info.LeaderEpoch, LeaderEpoch: p.epoch})
		p.state = awaitValidation
	}
	c.c.request(broker, c.cfg.RequestTimeout, func(corr int32) network.Message {
		return &protocol.OffsetsForLeaderEpoch{CorrelationID: corr, Version: 4, ReplicaID: protocol.ConsumerReplicaID, Partitions: req}
	}, func(m network.Message, code protocol.ErrorCode) {
		resp, _ := m.(*protocol.OffsetsForLeaderEpochResponse)
		for _, tp := range tps {
			if p := c.parts[tp]; p != nil && p.state == awaitValidation {
				p.state = needsValidation
			}
		}
		if code != protocol.None || resp == nil {
			c.retryLater()
			return
		}
		for _, pr := range resp.Partitions {
			p := c.parts[pr.TP]
			if p == nil || p.state != needsValidation {
				continue
			}
			if pr.Error != protocol.None {
				if metadataError(pr.Error) {
					c.c.invalidate()
				}
				continue
			}
			info, _ := c.c.leader(pr.TP)
			if pr.EndOffset >= 0 && pr.EndOffset < p.position {
				c.s.Mark("consumer.truncation-detected")
				if c.cfg.AutoOffsetReset == ResetNone {
					// Kafka's LogTruncationException: the application must
					// seek; the consumer stops fetching the partition.
					p.state = needsPosition
					p.resetTo = ResetNone
					continue
				}
				c.setPosition(pr.TP, p, pr.EndOffset, pr.LeaderEpoch, "truncation")
				continue
			}
			p.state, p.leaderEp = fetching, info.LeaderEpoch
		}
		c.kick()
	})
}

// sendFetches sends one Fetch per leader for the partitions that have a
// position, nothing buffered, no fetch in flight and no backoff after a
// failed one.
func (c *Consumer) sendFetches() {
	by := map[int32][]protocol.FetchPartition{}
	var wake time.Duration
	for _, tp := range c.Assignment() {
		p := c.parts[tp]
		if p.state != fetching || p.fetching || len(p.buffered) > 0 {
			continue
		}
		if p.backoff > c.now() {
			if wake == 0 || p.backoff < wake {
				wake = p.backoff
			}
			continue
		}
		info, ok := c.c.leader(tp)
		if !ok {
			c.c.refresh(c.kick)
			continue
		}
		if c.fetching[info.Leader] {
			// A session has one Fetch in flight (Kafka's consumer sends
			// none to a broker with one pending).
			continue
		}
		by[info.Leader] = append(by[info.Leader], protocol.FetchPartition{TP: tp, CurrentLeaderEpoch: info.LeaderEpoch,
			FetchOffset: p.position, LastFetchedEpoch: protocol.NoEpoch, LogStartOffset: -1, MaxBytes: int32(c.cfg.MaxPartitionFetchBytes)})
	}
	for _, b := range slices.Sorted(maps.Keys(by)) {
		parts := by[b]
		for _, fp := range parts {
			c.parts[fp.TP].fetching = true
		}
		var h *fetchsession.Handler
		if c.sessions != nil {
			if h = c.sessions[b]; h == nil {
				h = fetchsession.NewHandler()
				c.sessions[b] = h
			}
			c.fetching[b] = true
		}
		c.c.request(b, c.cfg.RequestTimeout+c.cfg.FetchMaxWait, func(corr int32) network.Message {
			m := &protocol.Fetch{CorrelationID: corr, ReplicaID: protocol.ConsumerReplicaID, ReplicaEpoch: protocol.NoBrokerEpoch,
				MaxWait: c.cfg.FetchMaxWait, MinBytes: int32(c.cfg.FetchMinBytes), MaxBytes: int32(c.cfg.FetchMaxBytes), Partitions: parts,
				IsolationLevel: c.isolation()}
			if h != nil {
				m.Partitions, m.Session = h.Build(parts)
			}
			return m
		}, func(m network.Message, code protocol.ErrorCode) {
			if h != nil {
				c.fetching[b] = false
				if resp, ok := m.(*protocol.FetchResponse); code != protocol.None || !ok {
					h.Fail()
				} else if !h.Handle(resp) {
					// A session error: the next Fetch is a full one.
					m = &protocol.FetchResponse{CorrelationID: resp.CorrelationID}
				}
			}
			c.onFetch(parts, m, code)
		})
	}
	if wake > 0 && !c.s.Scheduled(c.retryT) {
		c.retryT = c.n.After(wake-c.now(), "consumer.retry", c.kick)
	}
}

func (c *Consumer) onFetch(parts []protocol.FetchPartition, m network.Message, code protocol.ErrorCode) {
	resp, _ := m.(*protocol.FetchResponse)
	for _, fp := range parts {
		if p := c.parts[fp.TP]; p != nil {
			p.fetching = false
		}
	}
	if code != protocol.None || resp == nil {
		c.c.invalidate()
		for _, fp := range parts {
			if p := c.parts[fp.TP]; p != nil {
				p.backoff = c.now() + c.cfg.RetryBackoff
			}
		}
		c.retryLater()
		return
	}
	backoff := false
	for _, pr := range resp.Partitions {
		p := c.parts[pr.TP]
		var asked protocol.FetchPartition
		for _, fp := range parts {
			if fp.TP == pr.TP {
				asked = fp
			}
		}
		if p == nil || p.state != fetching || p.position != asked.FetchOffset {
			continue // reassigned or moved meanwhile: drop the data
		}
		switch pr.Error {
		case protocol.None:
			p.hwm = pr.HighWatermark
		case protocol.OffsetOutOfRange:
			c.s.Mark("consumer.offset-out-of-range")
			if c.cfg.AutoOffsetReset == ResetNone {
				p.state, p.resetTo = needsPosition, ResetNone
			} else {
				p.state, p.resetTo = needsPosition, c.cfg.AutoOffsetReset
			}
			continue
		default:
			if metadataError(pr.Error) {
				c.c.invalidate()
			}
			p.backoff = c.now() + c.cfg.RetryBackoff
			backoff = true
			continue
		}
		// skip is the offset after the last whole batch below the
		// high-water mark: where the position moves when the response
		// holds no data records at or after it (a transaction marker, a
		// batch compaction emptied, or offsets compaction removed), as
		// Kafka's consumer moves to the next fetch offset.
		skip, skipEpoch := p.position, p.epoch
		buffered := len(p.buffered)
		aborted := c.abortFilter(pr)
		_ = pr.Records.Batches(func(h protocol.BatchHeader, b []byte) bool {
			if h.LastOffset() < pr.HighWatermark && h.NextOffset() > skip {
				skip, skipEpoch = h.NextOffset(), h.PartitionLeaderEpoch
			}
			if aborted != nil && aborted.Skip(h, b) && !h.IsControl() {
				c.s.Mark("consumer.aborted-batch-skipped")
				return true
			}
			if h.IsControl() {
				// Transaction markers are never returned as data.
				c.s.Mark("consumer.control-batch-skipped")
				return true
			}
			_ = protocol.DecodeRecords(b, h, func(r protocol.Record) bool {
				if r.Offset >= p.position && r.Offset < pr.HighWatermark {
					p.buffered = append(p.buffered, history.Record{Offset: r.Offset, LeaderEpoch: h.PartitionLeaderEpoch,
						Key: model.Bytes(clone(r.Key)), Value: model.Bytes(clone(r.Value)), Headers: protocol.ModelHeaders(r.Headers)})
				}
				return true
			})
			return true
		})
		if len(p.buffered) == buffered && skip > p.position {
			c.s.Mark("consumer.position-skipped-offsets")
			p.position, p.epoch = skip, skipEpoch
		}
	}
	if backoff {
		c.retryLater()
	}
	c.maybeCompletePoll()
	c.kick()
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// Poll is KafkaConsumer.poll(timeout): it returns the buffered records
// (up to max.poll.records), waiting up to timeout for some. done gets what
// each partition returned. A poll is one operation in the history.
func (c *Consumer) Poll(timeout time.Duration, done func([]history.PollPart)) error {
	if c.closed {
		return fmt.Errorf("consumer %s: poll after close (Kafka's IllegalStateException: this consumer has already been closed)", c.cfg.ClientID)
	}
	if c.poll != nil {
		return fmt.Errorf("consumer %s: poll while another poll is running; a consumer is used by one thread at a time", c.cfg.ClientID)
	}
	c.lastPoll = c.now()
	c.maybeAutoCommit()
	pc := &pollCall{op: c.rec.InvokePoll(c.now(), c.cfg.ClientID, c.process, c.cfg.GroupID), start: map[model.TopicPartition]int64{}, done: done}
	for tp, p := range c.parts {
		if pos, ok := c.Position(tp); ok {
			pc.start[tp] = pos
		} else {
			pc.start[tp] = -1
			_ = p
		}
	}
	c.poll = pc
	pc.timer = c.n.After(timeout, "consumer.poll-timeout", func() { c.completePoll(true) })
	c.kick()
	c.maybeCompletePoll()
	return nil
}

func (c *Consumer) maybeCompletePoll() {
	if c.poll == nil {
		return
	}
	for _, p := range c.parts {
		if len(p.buffered) > 0 && p.state == fetching {
			c.completePoll(false)
			return
		}
	}
}

func (c *Consumer) completePoll(timedOut bool) {
	pc := c.poll
	if pc == nil {
		return
	}
	c.poll = nil
	c.n.Cancel(pc.timer)
	var out []history.PollPart
	budget := c.cfg.MaxPollRecords
	for _, tp := range c.Assignment() {
		p := c.parts[tp]
		part := history.PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: -1}
		if pos, ok := pc.start[tp]; ok {
			part.Position = pos
		}
		if p.state == fetching && len(p.buffered) > 0 && budget > 0 {
			k := min(budget, len(p.buffered))
			part.Records = slices.Clone(p.buffered[:k])
			p.buffered = p.buffered[k:]
			last := part.Records[k-1]
			p.position, p.epoch = last.Offset+1, last.LeaderEpoch
			budget -= k
			if part.Position < 0 {
				part.Position = part.Records[0].Offset
			}
		}
		if len(part.Records) > 0 {
			out = append(out, part)
		}
	}
	c.rec.PollOK(pc.op, c.now(), out)
	if pc.done != nil {
		pc.done(out)
	}
	c.kick()
}

// Receive handles responses.
func (c *Consumer) Receive(from sim.NodeID, m network.Message) { c.c.receive(from, m) }

// Disconnected fails the requests in flight to a broker.
func (c *Consumer) Disconnected(peer sim.NodeID) {
	c.c.disconnected(peer)
	if id, ok := c.c.env.Dir.ID(peer); ok && id == c.coordinator {
		c.coordinator = protocol.NoNode
	}
}
