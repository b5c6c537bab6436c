package client_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// fakeBroker is a scripted broker: it answers Metadata from the test's
// leader table, InitProducerId with fresh ids, and Produce by appending
// to an in-memory log with Kafka's duplicate detection, unless the test's
// produce hook decides otherwise.
type fakeBroker struct {
	id    int32
	env   *fakeCluster
	coord *group.Coordinator
}

// groupLog is the fake broker's __consumer_offsets: appends commit at
// once, and are kept so that a coordinator can load them again.
type groupLog struct{ fc *fakeCluster }

func (l groupLog) Append(p int32, recs protocol.Records, done func(protocol.ErrorCode)) {
	l.fc.offsets = append(l.fc.offsets, recs...)
	done(protocol.None)
}

// offsetsLog returns everything written to __consumer_offsets.
func (fc *fakeCluster) offsetsLog() protocol.Records { return fc.offsets }

func (l groupLog) PartitionExists(tp model.TopicPartition) bool {
	n, ok := l.fc.topics[tp.Topic]
	return ok && tp.Partition < n
}

type fakeCluster struct {
	t        require.TestingT
	s        *sim.Sim
	net      *network.Network
	dir      *protocol.Directory
	rec      *history.Recorder
	leaders  map[model.TopicPartition]int32
	epochs   map[model.TopicPartition]int32
	topics   map[string]int32
	logs     map[model.TopicPartition][]protocol.Record
	produces []*protocol.Produce // every Produce received, in order
	nextPID  int64
	// producers is the fake's idempotent producer state per partition:
	// the epoch, last sequence and last five batches of each producer id.
	producers map[model.TopicPartition]map[int64]*fakeProducerState
	// faults are scripted misbehaviours of the produce path, consumed
	// in order as batches match them.
	faults []*produceFault
	// journal, when on, collects a line per produce event for scripts.
	journal   []string
	journalOn bool
	// truncated holds, per partition, where the previous leader epoch
	// ends on the current leader (set by tests that truncate a log).
	truncated map[model.TopicPartition]int64
	// hook, if set, sees every Produce first: it returns the error to
	// answer for a partition (None: append as usual), and whether to
	// answer at all.
	hook func(broker int32, tp model.TopicPartition, h protocol.BatchHeader) (protocol.ErrorCode, bool)
	// staleLeaders, when set for a partition, is the leader and epoch
	// Metadata answers give, whatever the partition's current leader:
	// metadata that lags behind a leader change.
	staleLeaders map[model.TopicPartition][2]int32
	// starting holds the brokers that accept connections but answer no
	// request, as a broker that restarted and has not opened its
	// listeners yet.
	starting map[int32]bool

	// The fake controller's state: brokers, every partition's replicas
	// and ISR, topic configs, and scripted faults of admin requests.
	brokers     int32
	offsets     protocol.Records // __consumer_offsets-0
	replicas    map[model.TopicPartition][]int32
	isr         map[model.TopicPartition][]int32
	configs     map[string]map[string]string
	adminFaults []*produceFault
	// raw, when set for a partition, is its log as batches exactly as
	// written (headers, markers, compacted shapes), served instead of logs.
	raw map[model.TopicPartition]protocol.Records
}

func newFakeCluster(t require.TestingT, brokers int, topics map[string]int32) *fakeCluster {
	s := sim.New(sim.Config{Seed: 7})
	net, err := network.New(s, network.DefaultConfig())
	require.NoError(t, err)
	fc := &fakeCluster{t: t, s: s, net: net, dir: protocol.NewDirectory(), rec: history.NewRecorder(history.Header{Seed: 7}),
		leaders: map[model.TopicPartition]int32{}, epochs: map[model.TopicPartition]int32{}, topics: topics,
		logs: map[model.TopicPartition][]protocol.Record{}, nextPID: 1000,
		truncated: map[model.TopicPartition]int64{}, producers: map[model.TopicPartition]map[int64]*fakeProducerState{}}
	for i := 1; i <= brokers; i++ {
		id := int32(i)
		n, err := s.AddNode(fmt.Sprintf("b%d", i), func(n *sim.Node) any {
			b := &fakeBroker{id: id, env: fc}
			if id == 1 {
				// Broker 1 coordinates every group.
				cfg := group.DefaultConfig()
				cfg.OffsetsTopicPartitions = 1
				c, err := group.New(n, cfg, groupLog{fc}, func(to sim.NodeID, m network.Message) { fc.net.Send(n.ID(), to, m) })
				require.NoError(t, err)
				require.NoError(t, c.Elected(0, 1, nil))
				b.coord = c
			}
			return b
		})
		require.NoError(t, err)
		require.NoError(t, fc.dir.Add(id, n.ID()))
		require.NoError(t, n.Start())
	}
	fc.brokers = int32(brokers)
	fc.replicas, fc.isr, fc.configs = map[model.TopicPartition][]int32{}, map[model.TopicPartition][]int32{}, map[string]map[string]string{}
	for _, topic := range slices.Sorted(maps.Keys(topics)) {
		fc.place(topic, topics[topic], int16(brokers))
	}
	return fc
}

// place lays out a topic's partitions: partition p's replicas are rf
// brokers starting with broker 1 + p mod brokers, which leads, and all
// are in sync.
func (fc *fakeCluster) place(topic string, partitions int32, rf int16) {
	fc.topics[topic] = partitions
	for p := range partitions {
		tp := model.TopicPartition{Topic: topic, Partition: p}
		var reps []int32
		for i := range int32(rf) {
			reps = append(reps, 1+(p+i)%fc.brokers)
		}
		fc.replicas[tp], fc.isr[tp] = reps, slices.Clone(reps)
		fc.leaders[tp] = reps[0]
		fc.epochs[tp] = 1
	}
}

func (fc *fakeCluster) env() client.Env {
	var ids []int32
	ids = append(ids, fc.dir.IDs()...)
	return client.Env{Net: fc.net, Dir: fc.dir, Bootstrap: ids, Recorder: fc.rec}
}

// producer starts a producer node with the given properties.
func (fc *fakeCluster) producer(props map[string]string) *client.Producer {
	cfg, err := client.ParseProducerConfig(props)
	require.NoError(fc.t, err)
	var p *client.Producer
	n, err := fc.s.AddNode(cfg.ClientID, func(n *sim.Node) any {
		pr, err := client.NewProducer(n, fc.env(), cfg)
		require.NoError(fc.t, err)
		p = pr
		return &client.Process{Producer: pr}
	})
	require.NoError(fc.t, err)
	require.NoError(fc.t, n.Start())
	return p
}

func (b *fakeBroker) Receive(from sim.NodeID, m network.Message) {
	fc := b.env
	if fc.starting[b.id] {
		return
	}
	reply := func(r network.Message) { fc.net.Send(fc.node(b.id), from, r) }
	if b.coord != nil && b.coord.Handle(from, m) {
		return
	}
	if b.admin(from, m) {
		return
	}
	switch m := m.(type) {
	case *protocol.FindCoordinator:
		reply(&protocol.FindCoordinatorResponse{CorrelationID: m.CorrelationID, NodeID: 1})
	case *protocol.ListOffsets:
		resp := &protocol.ListOffsetsResponse{CorrelationID: m.CorrelationID}
		for _, p := range m.Partitions {
			off := int64(len(fc.logs[p.TP]))
			if p.Timestamp == protocol.EarliestTimestamp {
				off = 0
			}
			pr := protocol.ListOffsetsPartitionResponse{TP: p.TP, Offset: off, LeaderEpoch: fc.epochs[p.TP]}
			if fc.leaders[p.TP] != b.id {
				pr = protocol.ListOffsetsPartitionResponse{TP: p.TP, Error: protocol.NotLeaderOrFollower, Offset: -1, LeaderEpoch: -1}
			}
			resp.Partitions = append(resp.Partitions, pr)
		}
		reply(resp)
	case *protocol.OffsetsForLeaderEpoch:
		resp := &protocol.OffsetsForLeaderEpochResponse{CorrelationID: m.CorrelationID}
		for _, p := range m.Partitions {
			end := int64(len(fc.logs[p.TP]))
			if e, ok := fc.truncated[p.TP]; ok && p.LeaderEpoch < fc.epochs[p.TP] {
				end = e // where the older epoch ended on the new leader
			}
			resp.Partitions = append(resp.Partitions, protocol.EpochEndOffsetResponse{TP: p.TP, LeaderEpoch: p.LeaderEpoch, EndOffset: end})
		}
		reply(resp)
	case *protocol.Fetch:
		resp := &protocol.FetchResponse{CorrelationID: m.CorrelationID}
		for _, p := range m.Partitions {
			log := fc.logs[p.TP]
			pr := protocol.FetchPartitionResponse{TP: p.TP, HighWatermark: int64(len(log))}
			if raw, ok := fc.raw[p.TP]; ok {
				pr.HighWatermark = 0
				require.NoError(fc.t, raw.Batches(func(h protocol.BatchHeader, b []byte) bool {
					pr.HighWatermark = h.NextOffset()
					if h.NextOffset() > p.FetchOffset {
						pr.Records = append(pr.Records, b...)
					}
					return true
				}))
				resp.Partitions = append(resp.Partitions, pr)
				continue
			}
			switch {
			case fc.leaders[p.TP] != b.id:
				pr.Error = protocol.NotLeaderOrFollower
			case p.FetchOffset > int64(len(log)):
				pr.Error = protocol.OffsetOutOfRange
			case p.FetchOffset < int64(len(log)):
				recs := log[p.FetchOffset:]
				pr.Records = protocol.AppendBatch(nil, p.FetchOffset, fc.epochs[p.TP], protocol.NoProducer, recs)
			}
			resp.Partitions = append(resp.Partitions, pr)
		}
		reply(resp)
	case *protocol.Metadata:
		resp := &protocol.MetadataResponse{CorrelationID: m.CorrelationID, Brokers: fc.dir.IDs(), ControllerID: 1}
		for _, topic := range m.Topics {
			tm := protocol.TopicMetadata{Name: topic}
			n, ok := fc.topics[topic]
			if !ok {
				tm.Error = protocol.UnknownTopicOrPartition
			}
			for p := range n {
				tp := model.TopicPartition{Topic: topic, Partition: p}
				leader, epoch := fc.leaders[tp], fc.epochs[tp]
				if stale, ok := fc.staleLeaders[tp]; ok {
					leader, epoch = stale[0], stale[1]
				}
				tm.Partitions = append(tm.Partitions, protocol.PartitionMetadata{Partition: p, Leader: leader, LeaderEpoch: epoch})
			}
			resp.Topics = append(resp.Topics, tm)
		}
		reply(resp)
	case *protocol.InitProducerId:
		fc.nextPID++
		reply(&protocol.InitProducerIdResponse{CorrelationID: m.CorrelationID, ProducerID: fc.nextPID})
	case *protocol.Produce:
		fc.produces = append(fc.produces, m)
		resp := &protocol.ProduceResponse{CorrelationID: m.CorrelationID}
		answer := true
		client := fc.s.NodeByID(from).Name()
		for _, part := range m.Partitions {
			pr := protocol.ProducePartitionResponse{TP: part.TP, BaseOffset: -1}
			require.NoError(fc.t, part.Records.Batches(func(h protocol.BatchHeader, raw []byte) bool {
				what := fmt.Sprintf("b%d <- %s Produce#%d %s %s", b.id, client, m.CorrelationID, part.TP, batchString(h, raw))
				code := protocol.None
				if fc.leaders[part.TP] != b.id {
					code = protocol.NotLeaderOrFollower
				}
				if fc.hook != nil && code == protocol.None {
					var ok bool
					code, ok = fc.hook(b.id, part.TP, h)
					answer = answer && ok
				}
				if f := fc.fault(b.id, part.TP); f != nil && code == protocol.None {
					switch f.kind {
					case "error":
						code = f.code
					case "lose-request":
						fc.note("%s: lost on the way", what)
						answer = false
						return true
					case "lose-ack":
						answer = false
						defer fc.note("%s: answer lost", what)
					}
				}
				if code == protocol.None {
					var dup bool
					pr.BaseOffset, code, dup = fc.append(part.TP, h, raw)
					switch {
					case code != protocol.None:
					case dup:
						fc.note("%s: duplicate of offset %d", what, pr.BaseOffset)
					default:
						fc.note("%s: appended at %d", what, pr.BaseOffset)
					}
				}
				if code != protocol.None {
					pr.Error, pr.BaseOffset = code, -1
					fc.note("%s: %s", what, code.String())
				}
				return true
			}))
			resp.Partitions = append(resp.Partitions, pr)
		}
		if answer && m.Acks != protocol.AcksNone {
			reply(resp)
		}
	}
}

// fakeProducerState is what a partition leader keeps per idempotent
// producer: its epoch, last sequence and last five batches (KIP-98).
type fakeProducerState struct {
	epoch   int16
	lastSeq int32
	batches []fakeBatch
}

type fakeBatch struct {
	first, last int32
	offset      int64
}

// produceFault is a scripted misbehaviour of the produce path: answer
// an error instead of appending ("error"), append but lose the answer
// ("lose-ack"), or lose the request ("lose-request"), for the next
// times batches to a partition (any, if tp is unset) on a broker (any,
// if 0).
type produceFault struct {
	kind   string
	code   protocol.ErrorCode
	broker int32
	tp     model.TopicPartition
	times  int
}

func (fc *fakeCluster) fault(broker int32, tp model.TopicPartition) *produceFault {
	for i, f := range fc.faults {
		if (f.broker == 0 || f.broker == broker) && (f.tp.Topic == "" || f.tp == tp) {
			f.times--
			if f.times <= 0 {
				fc.faults = append(fc.faults[:i], fc.faults[i+1:]...)
			}
			return f
		}
	}
	return nil
}

func (fc *fakeCluster) note(format string, args ...any) {
	if fc.journalOn {
		fc.journal = append(fc.journal, fmt.Sprintf(format, args...))
	}
}

// batchString shows a batch as a script reads it: its producer id,
// epoch and sequences, and its values.
func batchString(h protocol.BatchHeader, raw []byte) string {
	var vals []string
	_ = protocol.DecodeRecords(raw, h, func(r protocol.Record) bool {
		vals = append(vals, string(r.Value))
		return true
	})
	if !h.HasProducer() {
		return fmt.Sprintf("[%s]", strings.Join(vals, " "))
	}
	return fmt.Sprintf("pid=%d epoch=%d seq=%d..%d [%s]", h.ProducerID, h.ProducerEpoch, h.BaseSequence, h.LastSequence(), strings.Join(vals, " "))
}

func (fc *fakeCluster) node(id int32) sim.NodeID {
	n, _ := fc.dir.Node(id)
	return n
}

// append writes a batch as a partition leader does for producers:
// without a producer id it appends; with one it checks the epoch and
// sequence against the producer's state and answers a duplicate of one of
// its last five batches with the original offset, writing nothing
// (dup). A producer it has no state for must start at sequence 0, or
// gets UNKNOWN_PRODUCER_ID, as brokers before KIP-360 answered.
func (fc *fakeCluster) append(tp model.TopicPartition, h protocol.BatchHeader, raw []byte) (base int64, code protocol.ErrorCode, dup bool) {
	var st *fakeProducerState
	if h.HasProducer() {
		if fc.producers[tp] == nil {
			fc.producers[tp] = map[int64]*fakeProducerState{}
		}
		st = fc.producers[tp][h.ProducerID]
		switch {
		case st == nil && h.BaseSequence != 0:
			return -1, protocol.UnknownProducerId, false
		case st == nil:
			st = &fakeProducerState{epoch: h.ProducerEpoch, lastSeq: -1}
			fc.producers[tp][h.ProducerID] = st
		case h.ProducerEpoch < st.epoch:
			return -1, protocol.InvalidProducerEpoch, false
		case h.ProducerEpoch > st.epoch:
			if h.BaseSequence != 0 {
				return -1, protocol.OutOfOrderSequenceNumber, false
			}
			st.epoch, st.lastSeq, st.batches = h.ProducerEpoch, -1, nil
		default:
			for _, b := range st.batches {
				if b.first == h.BaseSequence && b.last == h.LastSequence() {
					return b.offset, protocol.None, true
				}
			}
			if h.BaseSequence != protocol.IncSequence(st.lastSeq, 1) {
				return -1, protocol.OutOfOrderSequenceNumber, false
			}
		}
	}
	base = int64(len(fc.logs[tp]))
	require.NoError(fc.t, protocol.DecodeRecords(raw, h, func(r protocol.Record) bool {
		r.Offset = int64(len(fc.logs[tp]))
		fc.logs[tp] = append(fc.logs[tp], r)
		return true
	}))
	if st != nil {
		st.lastSeq = h.LastSequence()
		st.batches = append(st.batches, fakeBatch{h.BaseSequence, h.LastSequence(), base})
		if len(st.batches) > 5 {
			st.batches = st.batches[1:]
		}
	}
	return base, protocol.None, false
}

func (fc *fakeCluster) values(tp model.TopicPartition) []string {
	var out []string
	for _, r := range fc.logs[tp] {
		out = append(out, string(r.Value))
	}
	return out
}

// run runs the simulation for d. The event at the end keeps the run from
// going past it: Sim.RunUntil executes the first live event after a
// crashed node's discarded one even when it is due after the limit.
func (fc *fakeCluster) run(d time.Duration) {
	end := fc.s.Now() + d
	fc.s.At(end, "test.until", func() {})
	require.NoError(fc.t, fc.s.RunUntil(end))
}

// runUntil runs until cond holds, at most for d, and requires that it
// held.
func (fc *fakeCluster) runUntil(d time.Duration, cond func() bool, msg string) {
	end := fc.s.Now() + d
	fc.s.At(end, "test.until", func() {})
	ok, err := fc.s.RunUntilTrue(end, cond)
	require.NoError(fc.t, err)
	require.True(fc.t, ok, "%s within %v", msg, d)
}

func (fc *fakeCluster) history() *history.History {
	h, err := fc.rec.History()
	require.NoError(fc.t, err)
	return h
}

// consumer starts a consumer node that subscribes (or, with no topics,
// does nothing) and polls every 100 ms.
func (fc *fakeCluster) consumer(props map[string]string, topics ...string) (*client.Consumer, *sim.Node) {
	cfg, err := client.ParseConsumerConfig(props)
	require.NoError(fc.t, err)
	var c *client.Consumer
	n, err := fc.s.AddNode(cfg.ClientID, func(n *sim.Node) any {
		cs, err := client.NewConsumer(n, fc.env(), cfg)
		require.NoError(fc.t, err)
		c = cs
		if len(topics) > 0 {
			require.NoError(fc.t, cs.Subscribe(topics))
		}
		var loop func()
		loop = func() {
			_ = cs.Poll(50*time.Millisecond, func([]history.PollPart) { n.After(100*time.Millisecond, "test.poll", loop) })
		}
		n.After(0, "test.poll", loop)
		return &client.Process{Consumer: cs}
	})
	require.NoError(fc.t, err)
	require.NoError(fc.t, n.Start())
	return c, n
}

// write appends records to a partition's log directly.
func (fc *fakeCluster) write(tp model.TopicPartition, values ...string) {
	for _, v := range values {
		fc.logs[tp] = append(fc.logs[tp], protocol.Record{Offset: int64(len(fc.logs[tp])), Value: []byte(v)})
	}
}
