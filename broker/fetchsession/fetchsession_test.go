package fetchsession

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/protocol"
)

func tp(i int) protocol.TopicPartition {
	return protocol.TopicPartition{Topic: "t", Partition: int32(i)}
}

// leaderState is what a leader would answer for a partition.
type leaderState struct{ hwm, logStart int64 }

// lastRead is what serve last read of each session's partitions.
var lastRead = map[*Session]map[protocol.TopicPartition]leaderState{}

// serve answers m as a leader with state would, through cache, and
// returns the partitions the request stands for (the session's, for an
// incremental one). Like a broker it reads only an incremental request's
// marked partitions, having marked those whose state changed since the
// session's last read (a leader's change journal), and unmarks what it
// read with nothing more to tell.
func serve(cache *Cache, m *protocol.Fetch, state map[protocol.TopicPartition]leaderState, now time.Duration) (*protocol.FetchResponse, []protocol.FetchPartition) {
	x := cache.NewContext(m, now)
	if x != nil && x.Error != protocol.None {
		return &protocol.FetchResponse{CorrelationID: m.CorrelationID, Error: x.Error}, nil
	}
	read, all := m.Partitions, m.Partitions
	if x.Incremental() {
		all = x.All()
		for _, p := range all {
			if last, ok := lastRead[x.session][p.TP]; !ok || last != state[p.TP] {
				x.Touch(p.TP)
			}
		}
		read = x.Marked(nil)
	}
	resp := &protocol.FetchResponse{CorrelationID: m.CorrelationID}
	for _, p := range read {
		st := state[p.TP]
		resp.Partitions = append(resp.Partitions, protocol.FetchPartitionResponse{TP: p.TP, HighWatermark: st.hwm,
			LastStableOffset: st.hwm, LogStartOffset: st.logStart, DivergingEpoch: protocol.NoDivergence})
	}
	if !x.Stale() {
		if lastRead[x.session] == nil {
			lastRead[x.session] = map[protocol.TopicPartition]leaderState{}
		}
		for _, p := range read {
			lastRead[x.session][p.TP] = state[p.TP]
			x.Unmark(p.TP)
		}
	}
	x.Respond(resp)
	return resp, all
}

// TestSessionsKeepTheFetcherInformed: a fetcher and a leader talking
// through a session, with random partitions wanted, random changes of the
// leader's state, lost responses, restarts of the leader (its sessions
// gone) and a cache too small for every fetcher: the leader always reads
// exactly the partitions the fetcher wants, with the fetcher's latest
// parameters, and after every usable response the fetcher knows the
// leader's current state of each of them, though incremental responses
// leave out what did not change.
func TestSessionsKeepTheFetcherInformed(t *testing.T) {
	incrementalServed := 0
	rapid.Check(t, func(t *rapid.T) {
		const n = 6
		slots := rapid.IntRange(0, 2).Draw(t, "slots")
		cache := NewCache(slots, time.Minute, 0)
		h := NewHandler()
		other := NewHandler() // a second fetcher competing for the slots
		state := map[protocol.TopicPartition]leaderState{}
		known := map[protocol.TopicPartition]leaderState{}
		now := time.Duration(0)
		for step := range rapid.IntRange(1, 60).Draw(t, "steps") {
			now += time.Duration(rapid.IntRange(0, 90).Draw(t, "elapsed")) * time.Second
			for i := range n {
				if rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("change %d", i)) == 0 {
					st := state[tp(i)]
					st.hwm += int64(rapid.IntRange(0, 3).Draw(t, "hwm"))
					st.logStart += int64(rapid.IntRange(0, 1).Draw(t, "start"))
					state[tp(i)] = st
				}
			}
			switch rapid.IntRange(0, 9).Draw(t, "event") {
			case 0:
				cache = NewCache(slots, time.Minute, int32(step)<<8) // the leader restarted
			case 1:
				parts, s := other.Build([]protocol.FetchPartition{{TP: tp(0)}})
				resp, _ := serve(cache, &protocol.Fetch{ReplicaID: protocol.ConsumerReplicaID, Partitions: parts, Session: s}, state, now)
				other.Handle(resp)
			}
			var want []protocol.FetchPartition
			for i := range n {
				if rapid.Bool().Draw(t, fmt.Sprintf("want %d", i)) {
					want = append(want, protocol.FetchPartition{TP: tp(i), FetchOffset: int64(rapid.IntRange(0, 2).Draw(t, "offset"))})
				}
			}
			parts, s := h.Build(want)
			m := &protocol.Fetch{ReplicaID: 1, Partitions: parts, Session: s}
			resp, read := serve(cache, m, state, now)
			if rapid.IntRange(0, 9).Draw(t, "lost") == 0 {
				h.Fail()
				continue
			}
			if !h.Handle(resp) {
				require.Contains(t, []protocol.ErrorCode{protocol.FetchSessionIdNotFound, protocol.InvalidFetchSessionEpoch}, resp.Error)
				continue
			}
			require.True(t, slices.Equal(want, read), "the leader reads what the fetcher wants: %v, not %v", want, read)
			if s.Epoch > 0 {
				incrementalServed++
			}
			for _, pr := range resp.Partitions {
				known[pr.TP] = leaderState{hwm: pr.HighWatermark, logStart: pr.LogStartOffset}
			}
			for _, p := range want {
				require.Equal(t, state[p.TP], known[p.TP], "%s: the fetcher's view", p.TP)
			}
		}
	})
	assert.Positive(t, incrementalServed, "no incremental request was served")
}

// TestIncrementalRequestsListOnlyChanges: the second request of a session
// lists only the changed and added partitions and forgets the dropped
// ones; the response leaves out the partitions with nothing new.
func TestIncrementalRequestsListOnlyChanges(t *testing.T) {
	cache := NewCache(10, time.Minute, 0)
	h := NewHandler()
	state := map[protocol.TopicPartition]leaderState{tp(0): {5, 0}, tp(1): {7, 0}, tp(2): {9, 0}}
	want := []protocol.FetchPartition{{TP: tp(0), FetchOffset: 5}, {TP: tp(1), FetchOffset: 7}, {TP: tp(2), FetchOffset: 9}}
	parts, s := h.Build(want)
	assert.Equal(t, protocol.FetchSession{ID: 0, Epoch: protocol.InitialSessionEpoch}, *s)
	assert.Len(t, parts, 3)
	resp, _ := serve(cache, &protocol.Fetch{ReplicaID: 1, Partitions: parts, Session: s}, state, 0)
	require.True(t, h.Handle(resp))
	assert.Len(t, resp.Partitions, 3, "a full response lists every partition")
	assert.NotZero(t, resp.SessionID)
	assert.Equal(t, resp.SessionID, h.SessionID())

	state[tp(1)] = leaderState{8, 0}
	want = []protocol.FetchPartition{{TP: tp(0), FetchOffset: 6}, {TP: tp(1), FetchOffset: 7}, {TP: tp(3)}}
	parts, s = h.Build(want)
	assert.Equal(t, []protocol.FetchPartition{{TP: tp(0), FetchOffset: 6}, {TP: tp(3)}}, parts)
	assert.Equal(t, protocol.FetchSession{ID: resp.SessionID, Epoch: 1, Forgotten: []protocol.TopicPartition{tp(2)}}, *s)
	resp, read := serve(cache, &protocol.Fetch{ReplicaID: 1, Partitions: parts, Session: s}, state, time.Second)
	require.True(t, h.Handle(resp))
	assert.Equal(t, want, read)
	var listed []protocol.TopicPartition
	for _, pr := range resp.Partitions {
		listed = append(listed, pr.TP)
	}
	assert.Equal(t, []protocol.TopicPartition{tp(1), tp(3)}, listed, "the changed high-water mark and the new partition")

	// The same epoch again: INVALID_FETCH_SESSION_EPOCH, then a full
	// request that replaces the session.
	resp, _ = serve(cache, &protocol.Fetch{ReplicaID: 1, Partitions: parts, Session: s}, state, 2*time.Second)
	assert.Equal(t, protocol.InvalidFetchSessionEpoch, resp.Error)
	h.inflight = s.Epoch
	assert.False(t, h.Handle(resp))
	parts, s = h.Build(want)
	assert.Equal(t, protocol.InitialSessionEpoch, s.Epoch)
	assert.Equal(t, want, parts)

	// A restarted leader: FETCH_SESSION_ID_NOT_FOUND, then a new session.
	cache = NewCache(10, time.Minute, 1<<24)
	resp, _ = serve(cache, &protocol.Fetch{ReplicaID: 1, Partitions: want, Session: &protocol.FetchSession{ID: 1, Epoch: 3}}, state, 0)
	assert.Equal(t, protocol.FetchSessionIdNotFound, resp.Error)
}

// TestEviction: a full cache makes room for a follower's session by
// evicting a consumer's; a consumer's session takes the place of a stale
// one or of an older, smaller one, and of nothing else.
func TestEviction(t *testing.T) {
	full := func(replica int32, n int) *protocol.Fetch {
		m := &protocol.Fetch{ReplicaID: replica, Session: &protocol.FetchSession{}}
		for i := range n {
			m.Partitions = append(m.Partitions, protocol.FetchPartition{TP: tp(i)})
		}
		return m
	}
	cache := NewCache(1, time.Minute, 0)
	consumer := cache.NewContext(full(protocol.ConsumerReplicaID, 2), 0)
	require.NotZero(t, consumer.SessionID())
	assert.Zero(t, cache.NewContext(full(protocol.ConsumerReplicaID, 1), time.Second).SessionID(), "a smaller consumer session waits")
	assert.Zero(t, cache.NewContext(full(protocol.ConsumerReplicaID, 3), time.Second).SessionID(), "a young session stays")
	assert.NotZero(t, cache.NewContext(full(protocol.ConsumerReplicaID, 3), 2*time.Minute).SessionID(), "an older, smaller one goes")
	follower := cache.NewContext(full(1, 1), 2*time.Minute+time.Second)
	assert.NotZero(t, follower.SessionID(), "a follower's session evicts a consumer's")
	assert.Zero(t, cache.NewContext(full(protocol.ConsumerReplicaID, 5), 3*time.Minute).SessionID(), "a consumer's never evicts a follower's in use")
	assert.NotZero(t, cache.NewContext(full(protocol.ConsumerReplicaID, 1), 5*time.Minute).SessionID(), "a stale one goes")
	assert.Equal(t, 1, cache.Len())

	none := NewCache(0, time.Minute, 0)
	x := none.NewContext(full(1, 2), 0)
	assert.Zero(t, x.SessionID(), "no slots: served in full without a session")
	assert.False(t, x.Incremental())
	assert.True(t, slices.Equal(full(1, 2).Partitions, x.Partitions))
}

// TestBuildChangedEqualsBuild: a fetcher that knows which of its
// partitions may have changed builds the same incremental request as one
// that compares them all, and the session holds the same partitions after
// the answer.
func TestBuildChangedEqualsBuild(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		const n = 5
		cache := NewCache(10, time.Minute, 0)
		all, some := NewHandler(), NewHandler()
		want := make([]protocol.FetchPartition, n)
		for i := range want {
			want[i] = protocol.FetchPartition{TP: tp(i)}
		}
		state := map[protocol.TopicPartition]leaderState{}
		for range rapid.IntRange(1, 20).Draw(t, "requests") {
			var changed []int
			for i := range want {
				if rapid.Bool().Draw(t, fmt.Sprintf("change %d", i)) {
					want[i].FetchOffset += int64(rapid.IntRange(0, 2).Draw(t, "by"))
					changed = append(changed, i)
				}
			}
			p1, s1 := all.Build(slices.Clone(want))
			if some.Incremental(n) {
				p2, s2 := some.BuildChanged(want, changed)
				require.Equal(t, p1, p2)
				require.Equal(t, s1.Epoch, s2.Epoch)
			} else {
				some.Build(slices.Clone(want))
			}
			resp, _ := serve(cache, &protocol.Fetch{ReplicaID: 1, Partitions: p1, Session: s1}, state, 0)
			require.True(t, all.Handle(resp))
			require.True(t, some.Handle(resp))
			require.Equal(t, all.parts, some.parts)
		}
	})
}
