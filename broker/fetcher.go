package broker

import (
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/broker/fetchsession"
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
	tp         model.TopicPartition
	p          *partition // the broker's replica of tp
	epoch      int32      // the leader epoch the follower fetches in
	state      fetchState
	delayUntil time.Duration
	// removed is set when the partition leaves the fetcher (or is added
	// again, as a new fetchPart): a request in flight then finds tp's
	// current state, if any, by its key.
	removed bool
}

// sent is what the fetcher asked for one partition, to recognise a stale
// answer.
type sent struct {
	tp     model.TopicPartition
	fp     *fetchPart
	offset int64
	epoch  int32
}

// fetcher is a replica fetcher thread: it fetches every partition this
// broker follows on one source broker, one request at a time.
type fetcher struct {
	b        *Broker
	source   int32
	parts    []*fetchPart // sorted by partition
	inflight int32        // correlation id of the request in flight, 0 when idle
	// asked holds the partitions of the latest request, in its order
	// (sorted): an answer lists them in the same order, so that each is
	// found without a lookup by key.
	asked []sent
	// session is the fetcher's KIP-227 fetch session with the source,
	// nil without sessions.
	session *fetchsession.Handler
	timeout sim.Timer
	wake    sim.Timer
	wakeAt  time.Duration
	// ready is kick's scratch list of partitions ready to fetch, kept
	// between kicks so that a kick does not allocate one.
	ready []*fetchPart
	// changedScratch is kickChanged's scratch list.
	changedScratch []int
	// With a session, a Fetch of every partition (all fetching, none
	// backing off) is followed by one that rebuilds only the partitions
	// changed since: want is the latest such Fetch's partitions (parts'
	// order, and asked holds them), seen the broker's change count when
	// it was built, touched the partitions answered since, and regular
	// says whether want and asked still stand for every partition (no
	// partition added, removed, backing off or in another state since).
	want    []protocol.FetchPartition
	seen    uint64
	touched []model.TopicPartition
	regular bool
}

// setState moves fp to st; a state other than fetching makes the next
// Fetch a rebuilt one.
func (f *fetcher) setState(fp *fetchPart, st fetchState) {
	fp.state = st
	f.regular = false
}

func (b *Broker) fetcherFor(source int32) *fetcher {
	f, ok := b.fetchers[source]
	if !ok {
		f = &fetcher{b: b, source: source}
		if !b.cfg.NoFetchSessions {
			f.session = fetchsession.NewHandler()
		}
		b.fetchers[source] = f
	}
	return f
}

// find returns where tp is, or would be, in f.parts, and whether it is.
func (f *fetcher) find(tp model.TopicPartition) (int, bool) {
	return slices.BinarySearchFunc(f.parts, tp, func(fp *fetchPart, tp model.TopicPartition) int { return fp.tp.Compare(tp) })
}

// part returns tp's fetch state, if the fetcher holds tp.
func (f *fetcher) part(tp model.TopicPartition) (*fetchPart, bool) {
	if i, ok := f.find(tp); ok {
		return f.parts[i], true
	}
	return nil, false
}

func (f *fetcher) add(p *partition) {
	st := fetching
	switch f.b.cfg.Truncation {
	case TruncateWithEpochs, TruncateWithLegacyEpochs:
		st = truncating
	}
	fp := &fetchPart{tp: p.tp, p: p, epoch: p.leaderEpoch, state: st}
	if i, ok := f.find(p.tp); ok {
		f.parts[i].removed = true
		f.parts[i] = fp
	} else {
		f.parts = slices.Insert(f.parts, i, fp)
	}
	p.fetchingFrom = f.source
	f.regular = false
	f.kick()
}

func (f *fetcher) remove(tp model.TopicPartition) {
	f.regular = false
	if i, ok := f.find(tp); ok {
		f.parts[i].removed = true
		f.parts = slices.Delete(f.parts, i, i+1)
	}
}

// kick sends the next request if none is in flight: OffsetsForLeaderEpoch
// for partitions that must truncate first, ListOffsets for partitions out
// of range, else one Fetch for every partition ready to fetch.
func (f *fetcher) kick() {
	if f.inflight != 0 || len(f.parts) == 0 {
		return
	}
	b := f.b
	if f.regular && !b.cfg.FetchSessionFullReads && f.kickChanged() {
		return
	}
	f.regular = false
	now := b.n.Now()
	// A nested kick (a failed send backs off and kicks) takes a list of
	// its own.
	ready := f.ready[:0]
	f.ready = nil
	defer func() { f.ready = ready[:0] }()
	earliest := time.Duration(0)
	for _, fp := range f.parts {
		if fp.state == fenced {
			continue
		}
		if fp.delayUntil > now {
			if earliest == 0 || fp.delayUntil < earliest {
				earliest = fp.delayUntil
			}
			continue
		}
		ready = append(ready, fp)
	}
	if len(ready) == 0 {
		if earliest > 0 && (!b.s.Scheduled(f.wake) || earliest < f.wakeAt) {
			b.n.Cancel(f.wake)
			f.wakeAt = earliest
			f.wake = b.n.After(earliest-now, "broker.fetcher.backoff", f.kick)
		}
		return
	}
	f.asked = f.asked[:0]
	corr := b.nextCorrelation()
	f.regular = false
	if tps := f.inState(ready, truncating); len(tps) > 0 {
		req := &protocol.OffsetsForLeaderEpoch{CorrelationID: corr, Version: 3, ReplicaID: b.id}
		if b.cfg.Truncation == TruncateWithLegacyEpochs {
			req.Version = 0
		}
		for _, fp := range tps {
			p := fp.p
			latest := p.log.LatestEpoch()
			if latest == protocol.NoEpoch {
				// No epochs to ask about: truncate to the high-water mark.
				p.truncate(p.log.HighWatermark(), "high-watermark", "broker.truncate.high-watermark")
				f.setState(fp, fetching)
				continue
			}
			cur := fp.epoch
			if req.Version == 0 || b.cfg.NoFetchLeaderEpoch {
				cur = protocol.NoEpoch
			}
			req.Partitions = append(req.Partitions, protocol.OffsetForLeaderPartition{TP: fp.tp, CurrentLeaderEpoch: cur, LeaderEpoch: latest})
			f.ask(fp)
		}
		if len(req.Partitions) > 0 {
			f.send(corr, req)
			return
		}
		corr = b.nextCorrelation()
	}
	if tps := f.inState(ready, outOfRange); len(tps) > 0 {
		req := &protocol.ListOffsets{CorrelationID: corr, ReplicaID: b.id}
		for _, fp := range tps {
			req.Partitions = append(req.Partitions, protocol.ListOffsetsPartition{TP: fp.tp, CurrentLeaderEpoch: b.requestEpoch(fp), Timestamp: protocol.LatestTimestamp})
			f.ask(fp)
		}
		f.send(corr, req)
		return
	}
	buf := &fetchBuf{}
	buf.req = protocol.Fetch{CorrelationID: corr, ReplicaID: b.id, ReplicaEpoch: b.epoch, MaxWait: b.cfg.ReplicaFetchWaitMax,
		MinBytes: b.cfg.ReplicaFetchMinBytes, MaxBytes: b.cfg.ReplicaFetchResponseMaxBytes, Partitions: buf.parts[:0]}
	req := &buf.req
	for _, fp := range ready {
		if fp.state != fetching {
			continue
		}
		p := fp.p
		last := protocol.NoEpoch
		if b.cfg.Truncation == TruncateOnFetch {
			last = p.log.LatestEpoch()
		}
		req.Partitions = append(req.Partitions, protocol.FetchPartition{TP: fp.tp, CurrentLeaderEpoch: b.requestEpoch(fp), FetchOffset: p.log.EndOffset(),
			LastFetchedEpoch: last, LogStartOffset: p.log.StartOffset(), MaxBytes: b.cfg.ReplicaFetchMaxBytes})
		f.ask(fp)
	}
	if len(req.Partitions) == 0 {
		return
	}
	if f.session != nil {
		if len(req.Partitions) == len(f.parts) {
			// Every partition is asked: the next Fetch may rebuild only
			// what changes.
			f.want = append(f.want[:0], req.Partitions...)
			f.seen, f.touched, f.regular = b.changes, f.touched[:0], true
		}
		req.Partitions, req.Session = f.session.Build(req.Partitions)
	}
	f.send(corr, req)
}

// kickChanged sends the Fetch that follows a Fetch of every partition
// while none was added, removed, backs off or left the fetching state: it
// rebuilds only the partitions the broker changed or a response answered
// since, and the session lists only those that differ. It reports false
// (nothing sent) when it cannot tell what changed.
func (f *fetcher) kickChanged() bool {
	b := f.b
	changed, ok := b.changedSince(f.seen)
	if !ok || !f.session.Incremental(len(f.parts)) || len(f.want) != len(f.parts) || len(f.asked) != len(f.parts) {
		return false
	}
	idx := f.changedScratch[:0]
	for _, list := range [2][]model.TopicPartition{changed, f.touched} {
		for _, tp := range list {
			if i, ok := f.find(tp); ok {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	f.changedScratch = idx[:0]
	last := b.cfg.Truncation == TruncateOnFetch
	for _, i := range idx {
		fp := f.parts[i]
		p := fp.p
		w := &f.want[i]
		w.FetchOffset, w.LogStartOffset, w.CurrentLeaderEpoch = p.log.EndOffset(), p.log.StartOffset(), b.requestEpoch(fp)
		if last {
			w.LastFetchedEpoch = p.log.LatestEpoch()
		}
		f.asked[i] = sent{tp: fp.tp, fp: fp, offset: w.FetchOffset, epoch: fp.epoch}
	}
	f.seen, f.touched = b.changes, f.touched[:0]
	corr := b.nextCorrelation()
	req := &protocol.Fetch{CorrelationID: corr, ReplicaID: b.id, ReplicaEpoch: b.epoch, MaxWait: b.cfg.ReplicaFetchWaitMax,
		MinBytes: b.cfg.ReplicaFetchMinBytes, MaxBytes: b.cfg.ReplicaFetchResponseMaxBytes}
	req.Partitions, req.Session = f.session.BuildChanged(f.want, idx)
	f.send(corr, req)
	return true
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

func (f *fetcher) inState(fps []*fetchPart, st fetchState) []*fetchPart {
	var out []*fetchPart
	for _, fp := range fps {
		if fp.state == st {
			out = append(out, fp)
		}
	}
	return out
}

// ask records that the request being built asks for fp from the log end.
func (f *fetcher) ask(fp *fetchPart) {
	f.asked = append(f.asked, sent{tp: fp.tp, fp: fp, offset: fp.p.log.EndOffset(), epoch: fp.epoch})
}

func (f *fetcher) send(corr int32, m protocol.Request) {
	b := f.b
	if !b.send(f.source, m) {
		f.failSession(m)
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
	if f.session != nil {
		f.session.Fail()
	}
	f.backoffAll()
}

// failSession gives up on a Fetch's session request that was never sent.
func (f *fetcher) failSession(m protocol.Request) {
	if fm, ok := m.(*protocol.Fetch); ok && fm.Session != nil {
		f.session.Fail()
	}
}

func (f *fetcher) backoffAll() {
	f.regular = false
	until := f.b.n.Now() + f.b.cfg.ReplicaFetchBackoff
	for _, fp := range f.parts {
		fp.delayUntil = max(fp.delayUntil, until)
	}
	f.kick()
}

func (f *fetcher) delay(tp model.TopicPartition) {
	if fp, ok := f.part(tp); ok {
		fp.delayUntil = f.b.n.Now() + f.b.cfg.ReplicaFetchBackoff
		f.regular = false
	}
}

// current returns the partition and its fetch state if the answer for tp
// still applies: the partition is still fetched here, in the same epoch,
// from the same log end offset.
//
// i is tp's place in the answer, where the request asked for it.
func (f *fetcher) current(i int, tp model.TopicPartition) (*partition, *fetchPart, bool) {
	if i >= len(f.asked) || f.asked[i].tp != tp {
		// An incremental answer lists only some partitions: asked is
		// sorted.
		var ok bool
		if i, ok = slices.BinarySearchFunc(f.asked, tp, func(s sent, tp model.TopicPartition) int { return s.tp.Compare(tp) }); !ok {
			return nil, nil, false
		}
	}
	asked := &f.asked[i]
	fp := asked.fp
	if fp.removed {
		var ok bool
		if fp, ok = f.part(tp); !ok {
			return nil, nil, false
		}
	}
	// A fetched partition's replica is the broker's: a replica leaves
	// the broker's table only after it stopped fetching.
	p := fp.p
	if p.log == nil || p.isLeader || fp.epoch != asked.epoch || p.log.EndOffset() != asked.offset {
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
	if f.session != nil && !f.session.Handle(m) && (m.Error == protocol.FetchSessionIdNotFound || m.Error == protocol.InvalidFetchSessionEpoch) {
		// The next request is a full one that opens a new session: at once.
		f.kick()
		return
	}
	if m.Error != protocol.None {
		f.backoffAll()
		return
	}
	now := b.n.Now()
	for i, pr := range m.Partitions {
		f.touched = append(f.touched, pr.TP)
		p, fp, ok := f.current(i, pr.TP)
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
			f.setState(fp, outOfRange)
		case protocol.FencedLeaderEpoch:
			f.setState(fp, fenced)
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
	for i, pr := range m.Partitions {
		p, fp, ok := f.current(i, pr.TP)
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
				f.setState(fp, fetching)
				continue
			}
			if f.truncateToLeader(p, fp, pr.LeaderEpoch, pr.EndOffset, "offsets-for-leader-epoch", "broker.truncate.offsets-for-leader-epoch") {
				f.setState(fp, fetching)
			}
		case protocol.FencedLeaderEpoch:
			f.setState(fp, fenced)
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
	for i, pr := range m.Partitions {
		p, fp, ok := f.current(i, pr.TP)
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
			f.setState(fp, fetching)
		case protocol.FencedLeaderEpoch:
			f.setState(fp, fenced)
		default:
			f.delay(pr.TP)
		}
	}
	f.kick()
}
