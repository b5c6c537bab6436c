package group_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// fakeLog stands in for the broker's __consumer_offsets partitions: it
// keeps what was appended, and completes appends at once (auto) or when
// the script says (hold).
type fakeLog struct {
	hold      bool
	committed map[int32][]protocol.Records
	pending   []pendingAppend
	topics    map[string]int32
}

type pendingAppend struct {
	p    int32
	recs protocol.Records
	done func(protocol.ErrorCode)
}

func (l *fakeLog) Append(p int32, recs protocol.Records, done func(protocol.ErrorCode)) {
	if l.hold {
		l.pending = append(l.pending, pendingAppend{p, recs, done})
		return
	}
	l.committed[p] = append(l.committed[p], recs)
	done(protocol.None)
}

func (l *fakeLog) PartitionExists(tp model.TopicPartition) bool {
	n, ok := l.topics[tp.Topic]
	return ok && tp.Partition >= 0 && tp.Partition < n
}

func (l *fakeLog) records(p int32) protocol.Records {
	var out protocol.Records
	for _, r := range l.committed[p] {
		out = append(out, r...)
	}
	return out
}

// coordEnv runs one coordinator on node b1 of a simulation; clients are
// further nodes that never start: the harness hands requests to the
// coordinator directly and prints what it sends back.
type coordEnv struct {
	t       *testing.T
	s       *sim.Sim
	node    *sim.Node
	cfg     group.Config
	c       *group.Coordinator
	log     *fakeLog
	epoch   int32
	out     []string
	aliases map[string]string
	clients map[string]sim.NodeID
	names   map[sim.NodeID]string
	member  map[string]string // client → member id
	gen     map[string]int32  // client → generation
	joined  map[string]*protocol.JoinGroupResponse
	corr    int32
	group   string
}

func newCoordEnv(t *testing.T) *coordEnv {
	s := sim.New(sim.Config{Seed: 1})
	n, err := s.AddNode("b1", func(*sim.Node) any { return struct{}{} })
	require.NoError(t, err)
	require.NoError(t, n.Start())
	cfg := group.DefaultConfig()
	cfg.OffsetsTopicPartitions = 3
	e := &coordEnv{t: t, s: s, node: n, cfg: cfg, aliases: map[string]string{}, clients: map[string]sim.NodeID{},
		names: map[sim.NodeID]string{}, member: map[string]string{}, gen: map[string]int32{},
		joined: map[string]*protocol.JoinGroupResponse{}, group: "g",
		log: &fakeLog{committed: map[int32][]protocol.Records{}, topics: map[string]int32{}}}
	e.restart()
	return e
}

func (e *coordEnv) restart() {
	c, err := group.New(e.node, e.cfg, e.log, e.deliver)
	require.NoError(e.t, err)
	e.c = c
}

func (e *coordEnv) client(name string) sim.NodeID {
	if id, ok := e.clients[name]; ok {
		return id
	}
	n, err := e.s.AddNode(name, func(*sim.Node) any { return nil })
	require.NoError(e.t, err)
	e.clients[name], e.names[n.ID()] = n.ID(), name
	return n.ID()
}

func (e *coordEnv) alias(id string) string {
	if id == "" {
		return `""`
	}
	if a, ok := e.aliases[id]; ok {
		return a
	}
	a := "m" + strconv.Itoa(len(e.aliases)+1)
	e.aliases[id] = a
	return a
}

func (e *coordEnv) memberOf(alias string) string {
	for id, a := range e.aliases {
		if a == alias {
			return id
		}
	}
	return alias
}

func (e *coordEnv) printf(format string, args ...any) {
	e.out = append(e.out, fmt.Sprintf(format, args...))
}

func (e *coordEnv) deliver(to sim.NodeID, m network.Message) {
	who := e.names[to]
	switch m := m.(type) {
	case *protocol.JoinGroupResponse:
		if m.Error == protocol.None || m.Error == protocol.MemberIdRequired {
			e.member[who] = m.MemberID
		}
		if m.Error != protocol.None {
			e.printf("%s <- JoinGroup %s member=%s", who, m.Error.String(), e.alias(m.MemberID))
			return
		}
		e.gen[who] = m.GenerationID
		e.joined[who] = m
		s := fmt.Sprintf("%s <- JoinGroup generation=%d protocol=%s leader=%s member=%s", who, m.GenerationID, m.ProtocolName, e.alias(m.Leader), e.alias(m.MemberID))
		if len(m.Members) > 0 {
			var ms []string
			for _, mem := range m.Members {
				sub, err := group.DecodeSubscription(mem.Metadata)
				require.NoError(e.t, err)
				ms = append(ms, fmt.Sprintf("%s%v", e.alias(mem.MemberID), sub.Topics))
			}
			s += " members=" + strings.Join(ms, ",")
		}
		if m.SkipAssignment {
			s += " skip-assignment"
		}
		e.printf("%s", s)
	case *protocol.SyncGroupResponse:
		if m.Error != protocol.None {
			e.printf("%s <- SyncGroup %s", who, m.Error.String())
			return
		}
		a, err := group.DecodeAssignment(m.Assignment)
		require.NoError(e.t, err)
		e.printf("%s <- SyncGroup assignment=%s", who, tpList(a.Partitions))
	case *protocol.HeartbeatResponse:
		e.printf("%s <- Heartbeat %s", who, m.Error.String())
	case *protocol.LeaveGroupResponse:
		s := fmt.Sprintf("%s <- LeaveGroup %s", who, m.Error.String())
		for _, mem := range m.Members {
			s += fmt.Sprintf(" %s:%s", e.alias(mem.MemberID), mem.Error.String())
		}
		e.printf("%s", s)
	case *protocol.OffsetCommitResponse:
		var parts []string
		for _, p := range m.Partitions {
			parts = append(parts, fmt.Sprintf("%s:%s", p.TP, p.Error.String()))
		}
		e.printf("%s <- OffsetCommit %s", who, strings.Join(parts, " "))
	case *protocol.OffsetFetchResponse:
		s := fmt.Sprintf("%s <- OffsetFetch", who)
		if m.Error != protocol.None {
			s += " " + m.Error.String()
		}
		for _, p := range m.Partitions {
			s += fmt.Sprintf(" %s=%d@e%d", p.TP, p.Offset, p.LeaderEpoch)
		}
		e.printf("%s", s)
	case *protocol.DescribeGroupsResponse:
		for _, g := range m.Groups {
			e.printf("%s <- DescribeGroups %s error=%s state=%s protocol=%s", who, g.GroupID, g.Error.String(), g.GroupState, g.ProtocolData)
			for _, mem := range g.Members {
				a, _ := group.DecodeAssignment(mem.Assignment)
				e.printf("  member %s client=%s host=%s assignment=%s", e.alias(mem.MemberID), mem.ClientID, mem.ClientHost, tpList(a.Partitions))
			}
		}
	case *protocol.ListGroupsResponse:
		s := fmt.Sprintf("%s <- ListGroups", who)
		for _, g := range m.Groups {
			s += fmt.Sprintf(" %s(%s)", g.GroupID, g.GroupState)
		}
		e.printf("%s", s)
	default:
		e.printf("%s <- %v", who, m)
	}
}

func tpList(tps []model.TopicPartition) string {
	if len(tps) == 0 {
		return "[]"
	}
	s := make([]string, len(tps))
	for i, tp := range tps {
		s[i] = tp.String()
	}
	return "[" + strings.Join(s, ",") + "]"
}

func parseTP(t *testing.T, s string) model.TopicPartition {
	i := strings.LastIndexByte(s, '-')
	require.Positive(t, i, "partition %q: want topic-partition", s)
	p, err := strconv.Atoi(s[i+1:])
	require.NoError(t, err)
	return model.TopicPartition{Topic: s[:i], Partition: int32(p)}
}

func arg(d *datadriven.TestData, key, def string) string {
	for _, a := range d.CmdArgs {
		if a.Key == key {
			if len(a.Vals) == 0 {
				return ""
			}
			return strings.Join(a.Vals, ",")
		}
	}
	return def
}

func dur(t *testing.T, s string) time.Duration {
	d, err := time.ParseDuration(s)
	require.NoError(t, err)
	return d
}

func (e *coordEnv) handle(client string, m network.Message) {
	require.True(e.t, e.c.Handle(e.client(client), m))
}

func (e *coordEnv) nextCorr() int32 { e.corr++; return e.corr }

func (e *coordEnv) run(t *testing.T, d *datadriven.TestData) string {
	e.out = nil
	client := arg(d, "client", "")
	grp := arg(d, "group", e.group)
	switch d.Cmd {
	case "topics":
		for _, a := range d.CmdArgs {
			n, err := strconv.Atoi(a.Vals[0])
			require.NoError(t, err)
			e.log.topics[a.Key] = int32(n)
		}
	case "elect":
		e.epoch++
		for p := range e.cfg.OffsetsTopicPartitions {
			require.NoError(t, e.c.Elected(p, e.epoch, e.log.records(p)))
		}
		for _, id := range e.c.GroupIDs() {
			g := e.c.Group(id)
			e.printf("loaded %s: %s generation=%d members=%d offsets=%d", id, g.State(), g.Generation(), len(g.Members()), len(g.Offsets()))
		}
	case "failover":
		// The broker leading __consumer_offsets lost leadership (its
		// groups and timers are dropped); another broker (a fresh
		// coordinator) loads the partitions from the replicated log.
		for p := range e.cfg.OffsetsTopicPartitions {
			e.c.Resigned(p)
		}
		e.restart()
		return e.run(t, &datadriven.TestData{Cmd: "elect"})
	case "resign":
		for p := range e.cfg.OffsetsTopicPartitions {
			e.c.Resigned(p)
		}
	case "hold":
		e.log.hold = true
	case "release":
		e.log.hold = false
		code := protocol.None
		if s := arg(d, "error", ""); s != "" {
			c, ok := protocol.ParseErrorCode(s)
			require.True(t, ok, s)
			code = c
		}
		pend := e.log.pending
		e.log.pending = nil
		for _, a := range pend {
			if code == protocol.None {
				e.log.committed[a.p] = append(e.log.committed[a.p], a.recs)
			}
			a.done(code)
		}
	case "join":
		member := e.member[client]
		gen := e.gen[client]
		if arg(d, "member", "") == "none" {
			// A restarted consumer: no member id, no generation.
			member, gen = "", protocol.NoGeneration
		}
		var protos []protocol.GroupProtocol
		topics := strings.Split(arg(d, "topics", "t"), ",")
		owned := []model.TopicPartition{}
		if o := arg(d, "owned", ""); o != "" {
			for _, s := range strings.Split(o, ",") {
				owned = append(owned, parseTP(t, s))
			}
		}
		for _, name := range strings.Split(arg(d, "protocols", "range"), ",") {
			protos = append(protos, protocol.GroupProtocol{Name: name, Metadata: group.EncodeSubscription(group.Subscription{Topics: topics, Owned: owned, Generation: gen})})
		}
		e.handle(client, &protocol.JoinGroup{CorrelationID: e.nextCorr(), ClientID: client, ClientHost: "/10.0.0." + client[1:], GroupID: grp,
			SessionTimeout: dur(t, arg(d, "session", "45s")), RebalanceTimeout: dur(t, arg(d, "rebalance", "5m")),
			MemberID: member, GroupInstanceID: arg(d, "instance", ""), ProtocolType: group.ConsumerProtocolType, Protocols: protos})
	case "sync":
		req := &protocol.SyncGroup{CorrelationID: e.nextCorr(), GroupID: grp, GenerationID: e.genArg(t, d, client), MemberID: e.member[client]}
		if jr := e.joined[client]; jr != nil && len(jr.Members) > 0 && arg(d, "assign", "auto") == "auto" {
			req.Assignments = e.assign(t, jr)
		} else if a := arg(d, "assign", ""); a != "" && a != "auto" {
			for _, one := range strings.Split(d.Input, "\n") {
				if one == "" {
					continue
				}
				who, parts, _ := strings.Cut(one, ":")
				var tps []model.TopicPartition
				for _, s := range strings.Fields(parts) {
					tps = append(tps, parseTP(t, s))
				}
				req.Assignments = append(req.Assignments, protocol.SyncAssignment{MemberID: e.memberOf(who), Assignment: group.EncodeAssignment(group.Assignment{Partitions: tps})})
			}
		}
		e.handle(client, req)
	case "heartbeat":
		member := e.member[client]
		if a := arg(d, "member", ""); a != "" {
			member = e.memberOf(a)
		}
		e.handle(client, &protocol.Heartbeat{CorrelationID: e.nextCorr(), GroupID: grp, GenerationID: e.genArg(t, d, client), MemberID: member, GroupInstanceID: arg(d, "instance", "")})
	case "leave":
		e.handle(client, &protocol.LeaveGroup{CorrelationID: e.nextCorr(), GroupID: grp, Members: []protocol.MemberIdentity{{MemberID: e.member[client], Reason: "test"}}})
	case "commit":
		req := &protocol.OffsetCommit{CorrelationID: e.nextCorr(), GroupID: grp, GenerationID: e.genArg(t, d, client), MemberID: e.member[client]}
		if arg(d, "simple", "no") == "yes" {
			req.GenerationID, req.MemberID = protocol.NoGeneration, ""
		}
		for _, s := range strings.Split(arg(d, "offsets", ""), ",") {
			tp, off, _ := strings.Cut(s, "=")
			o, err := strconv.ParseInt(off, 10, 64)
			require.NoError(t, err)
			req.Partitions = append(req.Partitions, protocol.OffsetCommitPartition{TP: parseTP(t, tp), Offset: o, LeaderEpoch: 0})
		}
		e.handle(client, req)
	case "fetch-offsets":
		req := &protocol.OffsetFetch{CorrelationID: e.nextCorr(), GroupID: grp}
		if ps := arg(d, "partitions", ""); ps != "" {
			for _, s := range strings.Split(ps, ",") {
				req.Partitions = append(req.Partitions, parseTP(t, s))
			}
		}
		e.handle(orDefault(client, "admin"), req)
	case "describe":
		e.handle(orDefault(client, "admin"), &protocol.DescribeGroups{CorrelationID: e.nextCorr(), Groups: []string{grp}})
	case "list":
		e.handle(orDefault(client, "admin"), &protocol.ListGroups{CorrelationID: e.nextCorr()})
	case "tick":
		require.NoError(t, e.s.RunFor(dur(t, d.CmdArgs[0].Key)))
	case "state":
		g := e.c.Group(grp)
		if g == nil {
			return "no group " + grp
		}
		var ms []string
		for _, id := range g.Members() {
			ms = append(ms, e.alias(id))
		}
		e.printf("%s: %s generation=%d leader=%s members=%v", grp, g.State(), g.Generation(), e.alias(g.Leader()), ms)
	case "log":
		for p := range e.cfg.OffsetsTopicPartitions {
			require.NoError(t, group.DecodeRecords(e.log.records(p), func(r group.LogRecord) {
				switch {
				case r.IsGroup && r.Group != nil:
					var ms []string
					for _, m := range r.Group.Members {
						a, _ := group.DecodeAssignment(m.Assignment)
						ms = append(ms, e.alias(m.MemberID)+"="+tpList(a.Partitions))
					}
					e.printf("p%d group %s generation=%d protocol=%s leader=%s members=%v", p, r.GroupID, r.Group.Generation, r.Group.Protocol, e.alias(r.Group.Leader), ms)
				case r.IsGroup:
					e.printf("p%d group %s tombstone", p, r.GroupID)
				case r.Offset != nil:
					e.printf("p%d offset %s %s=%d@e%d", p, r.GroupID, r.TP, r.Offset.Offset, r.Offset.LeaderEpoch)
				}
			}))
		}
	default:
		t.Fatalf("unknown command %q: accepted are topics, elect, failover, resign, hold, release, join, sync, heartbeat, leave, commit, fetch-offsets, describe, list, tick, state, log", d.Cmd)
	}
	if len(e.out) == 0 {
		return "ok"
	}
	return strings.Join(e.out, "\n")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (e *coordEnv) genArg(t *testing.T, d *datadriven.TestData, client string) int32 {
	if g := arg(d, "gen", ""); g != "" {
		n, err := strconv.Atoi(g)
		require.NoError(t, err)
		return int32(n)
	}
	return e.gen[client]
}

// assign runs the chosen assignor over the leader's view of the members.
func (e *coordEnv) assign(t *testing.T, jr *protocol.JoinGroupResponse) []protocol.SyncAssignment {
	a, err := group.AssignorByName(jr.ProtocolName)
	require.NoError(t, err)
	var members []group.Member
	for _, m := range jr.Members {
		sub, err := group.DecodeSubscription(m.Metadata)
		require.NoError(t, err)
		members = append(members, group.Member{ID: m.MemberID, InstanceID: m.GroupInstanceID, Topics: sub.Topics, Owned: sub.Owned, Generation: sub.Generation})
	}
	out := a.Assign(e.log.topics, members)
	var res []protocol.SyncAssignment
	for _, id := range slices.Sorted(maps.Keys(out)) {
		res = append(res, protocol.SyncAssignment{MemberID: id, Assignment: group.EncodeAssignment(group.Assignment{Partitions: out[id]})})
	}
	return res
}

func TestCoordinatorScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/coordinator", func(t *testing.T, path string) {
		e := newCoordEnv(t)
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string { return e.run(t, d) })
	})
}
