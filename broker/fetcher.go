package broker

import (
	"maps"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// fetchState is where a followed partition stands in its fetcher.
type fetchState uint8

const (
	fetching   fetchState = iota
	truncating            // waits for an OffsetsForLeaderEpoch answer (2.0–2.6 and 0.11–1.x modes)
	outOfRange            // asks the leader for its log end offset (ListOffsets)
	fenced                // the leader said FENCED_LEADER_EPOCH: wait for new metadata
)

type fetchPart struct {
	epoch      int32 // the leader epoch the follower fetches in
	state      fetchState
	delayUntil time.Duration
}

// sent is what the fetcher asked for one partition, to recognise a stale
// answer.
type sent struct {
	offset int64
	epoch  int32
}

// fetcher is a replica fetcher thread: it fetches every partition this
// broker follows on one source broker, one request at a time.
type fetcher struct {
	b        *Broker
	source   int32
	parts    map[model.TopicPartition]*fetchPart
	sorted   []model.TopicPartition // parts' keys, sorted; nil when parts changed
	inflight int32                  // correlation id of the request in flight, 0 when idle
	asked    map[model.TopicPartition]sent
	timeout  sim.Timer
	wake     sim.Timer
	wakeAt   time.Duration
	// ready is kick's scratch list of partitions ready to fetch, kept
	// between kicks so that a kick does not allocate one.
	ready []model.TopicPartition
}

func (b *Broker) fetcherFor(source int32) *fetcher {
	f, ok := b.fetchers[source]
	if !ok {
		f = &fetcher{b: b, source: source, parts: make(map[model.TopicPartition]*fetchPart), asked: make(map[model.TopicPartition]sent)}
		b.fetchers[source] = f
	}
	return f
}

func (f *fetcher) add(p *partition) {
	st := fetching
	switch f.b.cfg.Truncation {
	case TruncateWithEpochs, TruncateWithLegacyEpochs:
		st = truncating
	}
	if _, ok := f.parts[p.tp]; !ok {
		f.sorted = nil
	}
	f.parts[p.tp] = &fetchPart{epoch: p.leaderEpoch, state: st}
	p.fetchingFrom = f.source
	f.kick()
}

func (f *fetcher) remove(tp model.TopicPartition) {
	delete(f.parts, tp)
	f.sorted = nil
}

// sortedParts returns the fetched partitions, sorted; the slice is the
// fetcher's own cache.
func (f *fetcher) sortedParts() []model.TopicPartition {
	if f.sorted == nil {
		f.sorted = slices.SortedFunc(maps.Keys(f.parts), model.TopicPartition.Compare)
	}
	return f.sorted
}

// kick sends the next request if none is in flight: OffsetsForLeaderEpoch
// for partitions that must truncate first, ListOffsets for partitions out
// of range, else one Fetch for every partition ready to fetch.
func (f *fetcher) kick() {
	if f.inflight != 0 || len(f.parts) == 0 {
		return
	}
	b := f.b
	now := b.n.Now()
	// A nested kick (a failed send backs off and kicks) takes a list of
	// its own.
	ready := f.ready[:0]
	f.ready = nil
	defer func() { f.ready = ready[:0] }()
	earliest := time.Duration(0)
	for _, tp := range f.sortedParts() {
		fp := f.parts[tp]
		if fp.state == fenced {
			continue
		}
		if fp.delayUntil > now {
			if earliest == 0 || fp.delayUntil < earliest {
				earliest = fp.delayUntil
			}
			continue
		}
		ready = append(ready, tp)
	}
	if len(ready) == 0 {
		if earliest > 0 && (!b.s.Scheduled(f.wake) || earliest < f.wakeAt) {
			b.n.Cancel(f.wake)
			f.wakeAt = earliest
			f.wake = b.n.After(earliest-now, "broker.fetcher.backoff", f.kick)
		}
		return
	}
	clear(f.asked)
	corr := b.nextCorrelation()
	if tps := f.inState(ready, truncating); len(tps) > 0 {
		req := &protocol.OffsetsForLeaderEpoch{CorrelationID: corr, Version: 3, ReplicaID: b.id}
		if b.cfg.Truncation == TruncateWithLegacyEpochs {
			req.Version = 0
		}
		for _, tp := range tps {
			p := b.partitions[tp]
			fp := f.parts[tp]
			latest := p.log.LatestEpoch()
			if latest == protocol.NoEpoch {
				// No epochs to ask about: truncate to the high-water mark.
				p.truncate(p.log.HighWatermark(), "high-watermark", "broker.truncate.high-watermark")
				fp.state = fetching
				continue
			}
			cur := fp.epoch
			if req.Version == 0 || b.cfg.NoFetchLeaderEpoch {
				cur = protocol.NoEpoch
			}
			req.Partitions = append(req.Partitions, protocol.OffsetForLeaderPartition{TP: tp, CurrentLeaderEpoch: cur, LeaderEpoch: latest})
			f.asked[tp] = sent{offset: p.log.EndOffset(), epoch: fp.epoch}
		}
		if len(req.Partitions) > 0 {
			f.send(corr, req)
			return
		}
		corr = b.nextCorrelation()
	}
	if tps := f.inState(ready, outOfRange); len(tps) > 0 {
		req := &protocol.ListOffsets{CorrelationID: corr, ReplicaID: b.id}
		for _, tp := range tps {
			p := b.partitions[tp]
			fp := f.parts[tp]
			req.Partitions = append(req.Partitions, protocol.ListOffsetsPartition{TP: tp, CurrentLeaderEpoch: b.requestEpoch(fp), Timestamp: protocol.LatestTimestamp})
			f.asked[tp] = sent{offset: p.log.EndOffset(), epoch: fp.epoch}
		}
		f.send(corr, req)
		return
	}
	buf := &fetchBuf{}
	buf.req = protocol.Fetch{CorrelationID: corr, ReplicaID: b.id, ReplicaEpoch: b.epoch, MaxWait: b.cfg.ReplicaFetchWaitMax,
		MinBytes: b.cfg.ReplicaFetchMinBytes, MaxBytes: b.cfg.ReplicaFetchResponseMaxBytes, Partitions: buf.parts[:0]}
	req := &buf.req
	for _, tp := range ready {
		fp := f.parts[tp]
		if fp.state != fetching {
			continue
		}
		p := b.partitions[tp]
		last := protocol.NoEpoch
		if b.cfg.Truncation == TruncateOnFetch {
			last = p.log.LatestEpoch()
		}
		req.Partitions = append(req.Partitions, protocol.FetchPartition{TP: tp, CurrentLeaderEpoch: b.requestEpoch(fp), FetchOffset: p.log.EndOffset(),
			LastFetchedEpoch: last, LogStartOffset: p.log.StartOffset(), MaxBytes: b.cfg.ReplicaFetchMaxBytes})
		f.asked[tp] = sent{offset: p.log.EndOffset(), epoch: fp.epoch}
	}
	if len(req.Partitions) == 0 {
		return
	}
	f.send(corr, req)
}

// requestEpoch is the current leader epoch a follower's request carries:
// none before KIP-320.
func (b *Broker) requestEpoch(fp *fetchPart) int32 {
	if b.cfg.NoFetchLeaderEpoch {
		return protocol.NoEpoch
	}
	return fp.epoch
}

// fetchBuf holds a follower's Fetch and the partitions of a small one in
// one allocation.
type fetchBuf struct {
	req   protocol.Fetch
	parts [2]protocol.FetchPartition
}

func (f *fetcher) inState(tps []model.TopicPartition, st fetchState) []model.TopicPartition {
	var out []model.TopicPartition
	for _, tp := range tps {
		if f.parts[tp].state == st {
			out = append(out, tp)
		}
	}
	return out
}

func (f *fetcher) send(corr int32, m protocol.Request) {
	b := f.b
	if !b.send(f.source, m) {
		f.backoffAll()
		return
	}
	f.inflight = corr
	timeout := b.cfg.ReplicaSocketTimeout
	if _, isFetch := m.(*protocol.Fetch); isFetch {
		timeout += b.cfg.ReplicaFetchWaitMax
	}
	f.timeout = b.n.AfterFunc(timeout, "broker.fetcher.timeout", fireFetcherTimeout, f)
}

// fireFetcherTimeout gives up on a fetcher's request in flight (a function,
// not a closure per request).
func fireFetcherTimeout(a any) { a.(*fetcher).failInflight("timed out") }

// accept checks that a response answers the request in flight.
func (f *fetcher) accept(corr int32) bool {
	if f.inflight == 0 || corr != f.inflight {
		return false
	}
	f.inflight = 0
	f.b.n.Cancel(f.timeout)
	return true
}

// failInflight gives up on the request in flight (disconnect, timeout):
// its partitions back off for replica.fetch.backoff.ms.
func (f *fetcher) failInflight(reason string) {
	if f.inflight == 0 {
		return
	}
	f.b.s.Trace().Emitf(f.b.n, "broker.fetcher.failed", uint64(f.source), "request to %d %s", f.source, reason)
	f.inflight = 0
	f.b.n.Cancel(f.timeout)
	f.backoffAll()
}

func (f *fetcher) backoffAll() {
	until := f.b.n.Now() + f.b.cfg.ReplicaFetchBackoff
	for _, fp := range f.parts {
		fp.delayUntil = max(fp.delayUntil, until)
	}
	f.kick()
}

func (f *fetcher) delay(tp model.TopicPartition) {
	if fp, ok := f.parts[tp]; ok {
		fp.delayUntil = f.b.n.Now() + f.b.cfg.ReplicaFetchBackoff
	}
}

// current returns the partition and its fetch state if the answer for tp
// still applies: the partition is still fetched here, in the same epoch,
// from the same log end offset.
func (f *fetcher) current(tp model.TopicPartition) (*partition, *fetchPart, bool) {
	fp, ok := f.parts[tp]
	asked, ok2 := f.asked[tp]
	p := f.b.partitions[tp]
	if !ok || !ok2 || p == nil || p.log == nil || p.isLeader || fp.epoch != asked.epoch || p.log.EndOffset() != asked.offset {
		return nil, nil, false
	}
	return p, fp, true
}

func (b *Broker) fetcherOf(from sim.NodeID) *fetcher {
	id, ok := b.dir.ID(from)
	if !ok {
		return nil
	}
	return b.fetchers[id]
}

func (b *Broker) onFetchResponse(from sim.NodeID, m *protocol.FetchResponse) {
	f := b.fetcherOf(from)
	if f == nil || !f.accept(m.CorrelationID) {
		return
	}
	if m.Error != protocol.None {
		f.backoffAll()
		return
	}
	now := b.n.Now()
	for _, pr := range m.Partitions {
		p, fp, ok := f.current(pr.TP)
		if !ok {
			continue
		}
		switch pr.Error {
		case protocol.None:
			if pr.DivergingEpoch.Diverged() {
				f.truncateToLeader(p, fp, pr.DivergingEpoch.Epoch, pr.DivergingEpoch.EndOffset, "diverging-epoch", "broker.truncate.diverging-epoch")
				continue
			}
			oldEnd, oldHWM := p.log.EndOffset(), p.log.HighWatermark()
			if len(pr.Records) > 0 {
				n, err := p.log.AppendAsFollower(pr.Records, now)
				if err != nil {
					b.s.Mark("broker.fetch.append-failed")
					p.emit("broker.follower.append-failed", 0, "%v", err)
					f.delay(pr.TP)
					continue
				}
				if n > 0 && !p.traced("broker.follower.append", sim.Digest(uint64(oldEnd), uint64(p.log.EndOffset()))) {
					p.emit("broker.follower.append", sim.Digest(uint64(oldEnd), uint64(p.log.EndOffset())),
						"appended [%d, %d)", oldEnd, p.log.EndOffset())
				}
			}
			p.log.SetHighWatermark(pr.HighWatermark)
			moved := p.followLogStart(pr.LogStartOffset)
			if moved || p.log.EndOffset() != oldEnd || p.log.HighWatermark() != oldHWM {
				p.changed()
			}
		case protocol.OffsetOutOfRange:
			b.s.Mark("broker.fetch.offset-out-of-range")
			if pr.LogStartOffset > p.log.EndOffset() {
				// The leader no longer holds what follows this log: start
				// again at the leader's log start offset.
				p.startAt(pr.LogStartOffset)
				continue
			}
			fp.state = outOfRange
		case protocol.FencedLeaderEpoch:
			fp.state = fenced
		default:
			f.delay(pr.TP)
		}
	}
	f.kick()
}

// truncateToLeader applies the leader's answer about where an epoch ends
// (KIP-279's rule, Kafka's getOffsetTruncationState) and reports whether
// truncation is complete.
func (f *fetcher) truncateToLeader(p *partition, fp *fetchPart, leaderEpoch int32, leaderEnd int64, reason, mark string) bool {
	leo := p.log.EndOffset()
	target, done := leo, true
	switch {
	case leaderEnd == protocol.NoOffset:
		// The leader could not say: keep the log as it is.
	case leaderEpoch == protocol.NoEpoch:
		target = min(leaderEnd, leo)
	default:
		fe, fend := p.log.EndOffsetForEpoch(leaderEpoch)
		switch {
		case fend == protocol.NoOffset:
			target = min(leaderEnd, leo)
		case fe != leaderEpoch:
			// The follower does not know the leader's epoch: cut to where
			// its own epoch below ends and ask again.
			target, done = min(fend, leo), false
		default:
			target = min(fend, leaderEnd, leo)
		}
	}
	p.truncate(target, reason, mark)
	if !done && target >= leo {
		done = true // no progress possible: stop walking back
	}
	return done
}

func (b *Broker) onOffsetsForLeaderEpochResponse(from sim.NodeID, m *protocol.OffsetsForLeaderEpochResponse) {
	f := b.fetcherOf(from)
	if f == nil || !f.accept(m.CorrelationID) {
		return
	}
	for _, pr := range m.Partitions {
		p, fp, ok := f.current(pr.TP)
		if !ok || fp.state != truncating {
			continue
		}
		switch pr.Error {
		case protocol.None:
			if b.cfg.Truncation == TruncateWithLegacyEpochs {
				// Kafka 0.11–1.x: no epoch in the answer; an unknown end
				// offset falls back to the high-water mark.
				target := min(pr.EndOffset, p.log.EndOffset())
				if pr.EndOffset == protocol.NoOffset {
					target = p.log.HighWatermark()
				}
				p.truncate(target, "offsets-for-leader-epoch", "broker.truncate.legacy-offsets-for-leader-epoch")
				fp.state = fetching
				continue
			}
			if f.truncateToLeader(p, fp, pr.LeaderEpoch, pr.EndOffset, "offsets-for-leader-epoch", "broker.truncate.offsets-for-leader-epoch") {
				fp.state = fetching
			}
		case protocol.FencedLeaderEpoch:
			fp.state = fenced
		default:
			f.delay(pr.TP)
		}
	}
	f.kick()
}

func (b *Broker) onListOffsetsResponse(from sim.NodeID, m *protocol.ListOffsetsResponse) {
	f := b.fetcherOf(from)
	if f == nil || !f.accept(m.CorrelationID) {
		return
	}
	for _, pr := range m.Partitions {
		p, fp, ok := f.current(pr.TP)
		if !ok || fp.state != outOfRange {
			continue
		}
		switch pr.Error {
		case protocol.None:
			// The leader's log is shorter: cut ours to its end (Kafka's
			// fetchOffsetAndTruncate; divergence below it is not repaired).
			if pr.Offset < p.log.EndOffset() {
				p.truncate(pr.Offset, "out-of-range", "broker.truncate.out-of-range")
			}
			fp.state = fetching
		case protocol.FencedLeaderEpoch:
			fp.state = fenced
		default:
			f.delay(pr.TP)
		}
	}
	f.kick()
}
