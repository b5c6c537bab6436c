package group_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/model"
)

func tps(s ...string) []model.TopicPartition {
	var out []model.TopicPartition
	for _, x := range s {
		var topic string
		var p int32
		_, err := fmt.Sscanf(x, "%2s%d", &topic, &p)
		if err != nil {
			panic(err)
		}
		out = append(out, model.TopicPartition{Topic: topic, Partition: p})
	}
	return out
}

// The examples of Kafka's RangeAssignor and RoundRobinAssignor
// documentation: consumers C0 and C1, topics t0 and t1 of 3 partitions each.
func TestKafkaDocumentedExamples(t *testing.T) {
	parts := map[string]int32{"t0": 3, "t1": 3}
	members := []group.Member{{ID: "C1", Topics: []string{"t0", "t1"}}, {ID: "C0", Topics: []string{"t0", "t1"}}}
	assert.Equal(t, map[string][]model.TopicPartition{
		"C0": tps("t00", "t01", "t10", "t11"),
		"C1": tps("t02", "t12"),
	}, group.Range{}.Assign(parts, members))
	assert.Equal(t, map[string][]model.TopicPartition{
		"C0": tps("t00", "t02", "t11"),
		"C1": tps("t01", "t10", "t12"),
	}, group.RoundRobin{}.Assign(parts, members))
}

func TestRoundRobinSkipsMembersNotSubscribed(t *testing.T) {
	parts := map[string]int32{"t0": 1, "t1": 2, "t2": 3}
	members := []group.Member{
		{ID: "C0", Topics: []string{"t0"}},
		{ID: "C1", Topics: []string{"t0", "t1"}},
		{ID: "C2", Topics: []string{"t0", "t1", "t2"}},
	}
	// Kafka's RoundRobinAssignor documentation example for unequal subscriptions.
	assert.Equal(t, map[string][]model.TopicPartition{
		"C0": tps("t00"),
		"C1": tps("t10"),
		"C2": tps("t11", "t20", "t21", "t22"),
	}, group.RoundRobin{}.Assign(parts, members))
}

func TestStaticMembersSortByInstanceID(t *testing.T) {
	parts := map[string]int32{"t0": 2}
	members := []group.Member{
		{ID: "a-new-id", InstanceID: "z", Topics: []string{"t0"}},
		{ID: "b-id", InstanceID: "y", Topics: []string{"t0"}},
	}
	got := group.Range{}.Assign(parts, members)
	assert.Equal(t, tps("t00"), got["b-id"], "instance y sorts before instance z")
}

func TestAssignorByName(t *testing.T) {
	for _, name := range []string{"range", "roundrobin", "cooperative-sticky", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"} {
		a, err := group.AssignorByName(name)
		require.NoError(t, err)
		assert.NotNil(t, a)
	}
	_, err := group.AssignorByName("sticky-ish")
	assert.ErrorContains(t, err, `unknown partition assignor "sticky-ish": accepted are range, roundrobin, sticky, cooperative-sticky`)
}

// drawGroup draws topics and members; identical makes every member
// subscribe to every topic.
func drawGroup(t *rapid.T, identical bool) (map[string]int32, []group.Member) {
	parts := map[string]int32{}
	topics := rapid.IntRange(1, 4).Draw(t, "topics")
	var names []string
	for i := range topics {
		name := fmt.Sprintf("t%d", i)
		names = append(names, name)
		parts[name] = int32(rapid.IntRange(1, 12).Draw(t, "partitions"))
	}
	n := rapid.IntRange(1, 8).Draw(t, "members")
	var members []group.Member
	for i := range n {
		subs := names
		if !identical {
			subs = rapid.SliceOfNDistinct(rapid.SampledFrom(names), 1, len(names), rapid.ID[string]).Draw(t, "subs")
		}
		members = append(members, group.Member{ID: fmt.Sprintf("m%d", i), Topics: subs, Generation: 1})
	}
	return parts, members
}

// checkValid asserts the assignment's basic contract: every partition of a
// subscribed topic goes to exactly one subscribed member (complete says
// whether partitions may be withheld, as the cooperative protocol does).
func checkValid(t *rapid.T, parts map[string]int32, members []group.Member, a map[string][]model.TopicPartition, complete bool) {
	seen := map[model.TopicPartition]string{}
	byID := map[string]group.Member{}
	for _, m := range members {
		byID[m.ID] = m
	}
	for _, id := range slices.Sorted(maps.Keys(a)) {
		m, ok := byID[id]
		if !ok {
			t.Fatalf("assignment names unknown member %s", id)
		}
		for _, tp := range a[id] {
			if prev, dup := seen[tp]; dup {
				t.Fatalf("%s assigned to %s and %s", tp, prev, id)
			}
			seen[tp] = id
			if !slices.Contains(m.Topics, tp.Topic) {
				t.Fatalf("%s assigned to %s, which does not subscribe to %s", tp, id, tp.Topic)
			}
			if tp.Partition < 0 || tp.Partition >= parts[tp.Topic] {
				t.Fatalf("%s does not exist", tp)
			}
		}
	}
	if !complete {
		return
	}
	for topic, n := range parts {
		subscribed := slices.ContainsFunc(members, func(m group.Member) bool { return slices.Contains(m.Topics, topic) })
		for p := range n {
			tp := model.TopicPartition{Topic: topic, Partition: p}
			if _, ok := seen[tp]; subscribed && !ok {
				t.Fatalf("%s is not assigned", tp)
			}
		}
	}
}

func spread(a map[string][]model.TopicPartition) int {
	lo, hi := -1, 0
	for _, tps := range a {
		if lo < 0 || len(tps) < lo {
			lo = len(tps)
		}
		hi = max(hi, len(tps))
	}
	return hi - lo
}

func TestEagerAssignorsAreCompleteAndExclusive(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		identical := rapid.Bool().Draw(t, "identical")
		parts, members := drawGroup(t, identical)
		for _, a := range []group.Assignor{group.Range{}, group.RoundRobin{}} {
			got := a.Assign(parts, members)
			checkValid(t, parts, members, got, true)
			if identical && a.Name() == "roundrobin" && spread(got) > 1 {
				t.Fatalf("roundrobin unbalanced: %v", got)
			}
		}
	})
}

// rebalance runs the cooperative protocol to completion: assign, members
// revoke what they lost, assign again, as long as a round withheld
// partitions (at most rounds follow-ups); it returns the first and the
// last round.
func rebalance(parts map[string]int32, members []group.Member, rounds int) (first, last map[string][]model.TopicPartition) {
	a := group.CooperativeSticky{}
	first = a.Assign(parts, members)
	last = first
	next := slices.Clone(members)
	for range rounds {
		for i := range next {
			// A member keeps the intersection of what it owned and what it got.
			next[i].Owned = last[next[i].ID]
			next[i].Generation++
		}
		last = a.Assign(parts, next)
		if complete(parts, members, last) {
			break
		}
	}
	return first, last
}

func complete(parts map[string]int32, members []group.Member, a map[string][]model.TopicPartition) bool {
	n := 0
	for _, tps := range a {
		n += len(tps)
	}
	want := 0
	for topic, p := range parts {
		if slices.ContainsFunc(members, func(m group.Member) bool { return slices.Contains(m.Topics, topic) }) {
			want += int(p)
		}
	}
	return n == want
}

func TestCooperativeStickyIsBalancedStickyAndCooperative(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		identical := rapid.Bool().Draw(t, "identical")
		parts, members := drawGroup(t, identical)
		// Start from a valid previous assignment, then let members come and go.
		prev := group.RoundRobin{}.Assign(parts, members)
		for i := range members {
			members[i].Owned = prev[members[i].ID]
		}
		if len(members) > 1 && rapid.Bool().Draw(t, "one leaves") {
			members = members[1:]
		}
		if rapid.Bool().Draw(t, "one joins") {
			members = append(members, group.Member{ID: "joiner", Topics: members[0].Topics, Generation: 1})
		}
		// With identical subscriptions one follow-up rebalance settles the
		// group; otherwise balancing may revoke again, a few times at most.
		rounds := 1
		if !identical {
			rounds = 4
		}
		first, second := rebalance(parts, members, rounds)
		checkValid(t, parts, members, first, false)
		checkValid(t, parts, members, second, true)
		// Cooperative: nothing moves straight from one owner to another.
		for _, m := range members {
			for _, tp := range first[m.ID] {
				for _, o := range members {
					if o.ID != m.ID && slices.Contains(o.Owned, tp) && slices.Contains(o.Topics, tp.Topic) {
						t.Fatalf("%s handed from %s to %s without a revocation", tp, o.ID, m.ID)
					}
				}
			}
		}
		if identical {
			if spread(second) > 1 {
				t.Fatalf("unbalanced after the follow-up rebalance: %v", second)
			}
			// Sticky: each member keeps what it owned, up to its fair share.
			total := 0
			for _, n := range parts {
				total += int(n)
			}
			quota := total / len(members)
			for _, m := range members {
				kept := 0
				for _, tp := range second[m.ID] {
					if slices.Contains(m.Owned, tp) {
						kept++
					}
				}
				if kept < min(len(m.Owned), quota) {
					t.Fatalf("%s kept %d of its %d partitions; its quota is %d", m.ID, kept, len(m.Owned), quota)
				}
			}
		}
	})
}

func TestCooperativeStickyConflictingClaims(t *testing.T) {
	parts := map[string]int32{"t0": 2}
	members := []group.Member{
		{ID: "a", Topics: []string{"t0"}, Owned: tps("t00"), Generation: 5},
		{ID: "b", Topics: []string{"t0"}, Owned: tps("t00", "t01"), Generation: 4}, // stale claim on t00
	}
	got := group.CooperativeSticky{}.Assign(parts, members)
	assert.Equal(t, tps("t00"), got["a"], "the newer generation's claim wins")
	assert.Equal(t, tps("t01"), got["b"])
}

// Before KAFKA-12984's fix every claim counted: the member that rejoined
// with an older generation's partition keeps it next to its current owner,
// and the partition no member had room for stays unassigned.
func TestCooperativeStickyTrustClaimsKeepsBothClaims(t *testing.T) {
	parts := map[string]int32{"t0": 2}
	members := []group.Member{
		{ID: "a", Topics: []string{"t0"}, Owned: tps("t00"), Generation: -1}, // rejoined after losing its member id
		{ID: "b", Topics: []string{"t0"}, Owned: tps("t00", "t01"), Generation: 4},
	}
	got := group.CooperativeSticky{TrustClaims: true}.Assign(parts, members)
	assert.Equal(t, tps("t00"), got["a"])
	assert.Equal(t, tps("t00"), got["b"], "t00 goes to both claimants")
	fixed := group.CooperativeSticky{}.Assign(parts, members)
	assert.Empty(t, fixed["a"], "the fix gives t00 to the newer generation's claim; t01 moves to a in the follow-up round")
	assert.Equal(t, tps("t00"), fixed["b"])
}

// With trusted claims the assignor never fails, whatever the members claim.
func TestCooperativeStickyTrustClaimsAnyClaims(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		parts := map[string]int32{"t0": rapid.Int32Range(1, 6).Draw(t, "t0"), "t1": rapid.Int32Range(0, 4).Draw(t, "t1")}
		n := rapid.IntRange(1, 5).Draw(t, "members")
		var members []group.Member
		for i := range n {
			m := group.Member{ID: fmt.Sprintf("m%d", i), Generation: rapid.Int32Range(-1, 3).Draw(t, "gen")}
			m.Topics = rapid.SliceOfNDistinct(rapid.SampledFrom([]string{"t0", "t1"}), 1, 2, rapid.ID[string]).Draw(t, "topics")
			for _, tp := range rapid.SliceOfN(rapid.Int32Range(0, 6), 0, 4).Draw(t, "owned") {
				m.Owned = append(m.Owned, model.TopicPartition{Topic: "t0", Partition: tp})
			}
			members = append(members, m)
		}
		got := group.CooperativeSticky{TrustClaims: true}.Assign(parts, members)
		for id, tps := range got {
			for _, tp := range tps {
				i := slices.IndexFunc(members, func(m group.Member) bool { return m.ID == id })
				require.True(t, tp.Partition < parts[tp.Topic], "%s got %s, which does not exist", id, tp)
				require.True(t, slices.Contains(members[i].Topics, tp.Topic) || slices.Contains(members[i].Owned, tp),
					"%s got %s of a topic it neither subscribes to nor claims", id, tp)
			}
		}
	})
}

// The eager sticky assignor reads what a member owned from its user data,
// whatever the subscription's owned partitions say; the cooperative one
// reads the subscription's (Kafka's StickyAssignorTest and
// CooperativeStickyAssignorTest testMemberDataWithInconsistentData,
// testMemberDataWillHonorUserData).
func TestStickyUserData(t *testing.T) {
	owned := tps("t01", "t03", "u00")
	data := group.Sticky{}.UserData(owned, 7)
	sub := group.Subscription{Topics: []string{"t0"}, UserData: data, Owned: tps("t00"), Generation: 9}
	wire, err := group.DecodeSubscription(group.EncodeSubscription(sub))
	require.NoError(t, err)

	m := group.MemberOf(group.Sticky{}, "m1", "i1", wire)
	assert.Equal(t, group.Member{ID: "m1", InstanceID: "i1", Topics: []string{"t0"}, Owned: owned, Generation: 7}, m)
	m = group.MemberOf(group.CooperativeSticky{}, "m1", "", wire)
	assert.Equal(t, tps("t00"), m.Owned)
	assert.Equal(t, int32(9), m.Generation)

	// Version 0 of the user data has no generation.
	v0 := data[:len(data)-4]
	got, gen := group.Sticky{}.OwnedFromUserData(v0)
	assert.Equal(t, owned, got)
	assert.Equal(t, int32(-1), gen)
	// No user data, or user data that cannot be read: nothing owned.
	for _, bad := range [][]byte{nil, {0, 0, 0, 9}, data[:5]} {
		got, gen := group.Sticky{}.OwnedFromUserData(bad)
		assert.Empty(t, got)
		assert.Equal(t, int32(-1), gen)
	}
}

// requireValid fails unless every partition of a subscribed topic goes to
// exactly one member that subscribes to it (complete: none withheld).
func requireValid(t *testing.T, parts map[string]int32, members []group.Member, a map[string][]model.TopicPartition, complete bool) {
	t.Helper()
	seen := map[model.TopicPartition]bool{}
	for _, m := range members {
		for _, tp := range a[m.ID] {
			require.False(t, seen[tp], "%s assigned twice: %v", tp, a)
			seen[tp] = true
			require.Contains(t, m.Topics, tp.Topic, "%s went to %s, which does not subscribe to %s: %v", tp, m.ID, tp.Topic, a)
		}
	}
	if !complete {
		return
	}
	for topic, n := range parts {
		if !slices.ContainsFunc(members, func(m group.Member) bool { return slices.Contains(m.Topics, topic) }) {
			continue
		}
		for p := range n {
			require.True(t, seen[model.TopicPartition{Topic: topic, Partition: p}], "%s-%d unassigned: %v", topic, p, a)
		}
	}
}

// A member of an older generation that claims a partition of a topic it
// no longer subscribes to never gets it back. Kafka's sticky assignor
// does hand it back when the partition's owner is the more loaded (its
// general algorithm returns partitions to their previous owner without
// checking the subscription): here its StickyAssignor gives m4 t1-1 and
// its CooperativeStickyAssignor too, since m4 claimed it.
func TestStickyNeverReturnsAPartitionToAnUnsubscribedClaimant(t *testing.T) {
	parts := map[string]int32{"t0": 6, "t1": 4, "t2": 7}
	members := []group.Member{
		{ID: "m2", Topics: []string{"t1", "t2", "t0"}, Owned: tps("t00", "t04", "t12", "t22", "t25"), Generation: 3},
		{ID: "m3", Topics: []string{"t1", "t2", "t0"}, Owned: tps("t03", "t11", "t20", "t23", "t26"), Generation: 3},
		{ID: "m4", Topics: []string{"t2"}, Owned: tps("t21", "t24", "t11"), Generation: 2},
	}
	requireValid(t, parts, members, group.Sticky{}.Assign(parts, members), true)
	requireValid(t, parts, members, group.CooperativeSticky{}.Assign(parts, members), false)
}

// When the older claimant takes no part in balancing (it holds all it
// can of topics only it subscribes to), Kafka's sticky assignor fails
// with a NullPointerException; kafkasim assigns.
func TestStickyOlderClaimantOutsideBalancing(t *testing.T) {
	parts := map[string]int32{"t0": 6, "t1": 8}
	members := []group.Member{
		{ID: "m0", Topics: []string{"t1"}, Owned: tps("t10", "t11", "t12", "t13", "t14", "t15", "t16", "t17"), Generation: 5},
		{ID: "n0", Topics: []string{"t0", "gone"}, Owned: tps("t10"), Generation: 3},
		{ID: "n1", Topics: []string{"t1"}, Generation: -1},
	}
	a := group.Sticky{}.Assign(parts, members)
	requireValid(t, parts, members, a, true)
	assert.Len(t, a["m0"], 4)
	assert.Len(t, a["n1"], 4)
}
