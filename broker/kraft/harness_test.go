package kraft_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// cluster is a KRaft quorum in a simulation: voters c1..cN (node ids 1..N)
// and observers b1..bM (node ids 101..), each a process that embeds a
// kraft.Client, with invariant checks after every event.
type cluster struct {
	s       *sim.Sim
	net     *network.Network
	cfg     kraft.Config
	members []*member
	byID    map[int32]*member
	voters  map[int32]sim.NodeID

	// What the checks have learnt.
	leaders   map[int32]int32       // epoch → the node that led it
	committed map[int64]batchDigest // base offset → committed batch
	lastHWM   map[*proc]int64
	led       map[[2]int32]bool // (node, epoch) leaderships already checked for completeness
	deepEvery uint64
	// light skips the checks whose cost grows with the log (leader
	// completeness, log matching), for benchmarks.
	light bool
}

type batchDigest struct {
	epoch  int32
	end    int64
	digest uint64
}

type member struct {
	cl    *cluster
	name  string
	id    int32
	voter bool
	node  *sim.Node
}

// proc is the process of a member: a kraft.Client and a listener that
// records what it is told.
type proc struct {
	m        *member
	c        *kraft.Client
	commits  int64 // next offset the listener expects
	batches  int
	records  int
	changes  []string
	leaderID int32
	epoch    int32
	// commitsAtLeadership is where the listener stood when it was told
	// that its own node leads.
	commitsAtLeadership int64
}

func (p *proc) Receive(from sim.NodeID, m network.Message) {
	if !p.c.Receive(from, m) {
		p.m.cl.s.Fail("harness", fmt.Errorf("%s got a message that is not KRaft's: %s", p.m.name, m.Kind()))
	}
}

func (p *proc) Disconnected(peer sim.NodeID) { p.c.Disconnected(peer) }

func (p *proc) HandleCommit(b *kraft.Batch) {
	cl := p.m.cl
	if b.BaseOffset != p.commits {
		cl.s.Fail("listener-order", fmt.Errorf("%s was handed batch %d, expected offset %d", p.m.name, b.BaseOffset, p.commits))
		return
	}
	p.commits = b.EndOffset()
	p.batches++
	p.records += len(b.Records)
	d := batchDigest{b.Epoch, b.EndOffset(), b.Digest()}
	if old, ok := cl.committed[b.BaseOffset]; ok && old != d {
		cl.s.Fail("committed-changed", fmt.Errorf("%s committed %v at offset %d, where %v was committed before", p.m.name, b, b.BaseOffset, old))
		return
	}
	cl.committed[b.BaseOffset] = d
}

func (p *proc) HandleLeaderChange(leader, epoch int32) {
	p.leaderID, p.epoch = leader, epoch
	if leader == p.m.id {
		p.commitsAtLeadership = p.commits
	}
	p.changes = append(p.changes, fmt.Sprintf("%s@%d", p.m.cl.nameOf(leader), epoch))
}

// clusterConfig sets up a cluster.
type clusterConfig struct {
	seed      uint64
	voters    int
	observers int
	kraft     kraft.Config
	link      network.Link
	replay    string // the one-line command that replays the run, for failures
}

func defaultClusterConfig() clusterConfig {
	return clusterConfig{seed: 1, voters: 3, kraft: kraft.DefaultConfig(), link: network.DefaultConfig().Link}
}

func (cc clusterConfig) name() string {
	return fmt.Sprintf("'<test>' (seed %d, %d voters, %d observers)", cc.seed, cc.voters, cc.observers)
}

func newCluster(cc clusterConfig) (*cluster, error) {
	if cc.replay == "" {
		cc.replay = "go test ./broker/kraft -run " + cc.name()
	}
	s := sim.New(sim.Config{Seed: cc.seed, Replay: cc.replay})
	ncfg := network.DefaultConfig()
	ncfg.Link = cc.link
	net, err := network.New(s, ncfg)
	if err != nil {
		return nil, err
	}
	cl := &cluster{
		s: s, net: net, cfg: cc.kraft,
		byID: make(map[int32]*member), voters: make(map[int32]sim.NodeID),
		leaders: make(map[int32]int32), committed: make(map[int64]batchDigest),
		lastHWM: make(map[*proc]int64), led: make(map[[2]int32]bool), deepEvery: 500,
	}
	add := func(name string, id int32, voter bool) error {
		m := &member{cl: cl, name: name, id: id, voter: voter}
		n, err := s.AddNode(name, m.boot)
		if err != nil {
			return err
		}
		m.node = n
		cl.members = append(cl.members, m)
		cl.byID[id] = m
		if voter {
			cl.voters[id] = n.ID()
		}
		return nil
	}
	for i := 1; i <= cc.voters; i++ {
		if err := add(fmt.Sprintf("c%d", i), int32(i), true); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= cc.observers; i++ {
		if err := add(fmt.Sprintf("b%d", i), int32(100+i), false); err != nil {
			return nil, err
		}
	}
	s.AddCheck("kraft-invariants", cl.check)
	for _, m := range cl.members {
		if err := m.node.Start(); err != nil {
			return nil, err
		}
	}
	return cl, s.Err()
}

func (m *member) boot(n *sim.Node) any {
	p := &proc{m: m, leaderID: kraft.NoLeader}
	c, err := kraft.New(m.cl.cfg, kraft.Setup{
		Node: n, ID: m.id, Voters: m.cl.voters, Listener: p,
		Send: func(to sim.NodeID, msg network.Message) { m.cl.net.Send(n.ID(), to, msg) },
	})
	if err != nil {
		n.Sim().Fail("boot", err)
		return nil
	}
	p.c = c
	return p
}

// proc returns the member's running process, or nil.
func (m *member) proc() *proc {
	p, _ := m.node.Process().(*proc)
	return p
}

func (cl *cluster) member(name string) (*member, error) {
	for _, m := range cl.members {
		if m.name == name {
			return m, nil
		}
	}
	names := make([]string, len(cl.members))
	for i, m := range cl.members {
		names[i] = m.name
	}
	return nil, fmt.Errorf("unknown node %q: the cluster has %s", name, strings.Join(names, ", "))
}

func (cl *cluster) nameOf(id int32) string {
	if m, ok := cl.byID[id]; ok {
		return m.name
	}
	if id == kraft.NoLeader {
		return "-"
	}
	return fmt.Sprint(id)
}

// procs returns the running processes, in member order.
func (cl *cluster) procs() []*proc {
	var out []*proc
	for _, m := range cl.members {
		if p := m.proc(); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// leader returns the running leader of the highest epoch, or nil.
func (cl *cluster) leader() *proc {
	var best *proc
	for _, p := range cl.procs() {
		if p.c.Role() == kraft.Leader && (best == nil || p.c.Epoch() > best.c.Epoch()) {
			best = p
		}
	}
	return best
}

// stable reports whether a leader is up and every running voter follows it
// in its epoch.
func (cl *cluster) stable() bool {
	l := cl.leader()
	if l == nil || l.c.HighWatermark() < 0 {
		return false
	}
	for _, p := range cl.procs() {
		if p.c.Epoch() != l.c.Epoch() || p.c.Leader() != l.c.ID() {
			return false
		}
	}
	return true
}

// check runs after every event: election safety, the high-water mark never
// ahead of the log nor going back, leader completeness for every new
// leader, and, every few hundred events, log matching.
func (cl *cluster) check() error {
	for _, p := range cl.procs() {
		c := p.c
		if c.Role() == kraft.Leader {
			if other, ok := cl.leaders[c.Epoch()]; ok && other != c.ID() {
				return fmt.Errorf("election safety: %s and %s both lead epoch %d", cl.nameOf(other), p.m.name, c.Epoch())
			}
			cl.leaders[c.Epoch()] = c.ID()
			key := [2]int32{c.ID(), c.Epoch()}
			if !cl.led[key] && !cl.light {
				cl.led[key] = true
				if err := cl.complete(p); err != nil {
					return err
				}
			}
		}
		hw := c.HighWatermark()
		if hw > c.EndOffset() {
			return fmt.Errorf("%s: high-water mark %d is past its log end offset %d", p.m.name, hw, c.EndOffset())
		}
		// A new leader forgets the high-water mark (-1) until it commits in
		// its epoch; a known one never goes back within an incarnation.
		if last, ok := cl.lastHWM[p]; ok && hw >= 0 && hw < last {
			return fmt.Errorf("%s: high-water mark went back from %d to %d", p.m.name, last, hw)
		}
		if hw >= 0 {
			cl.lastHWM[p] = hw
		}
	}
	if !cl.light && cl.s.Steps()%cl.deepEvery == 0 {
		return cl.deepCheck()
	}
	return nil
}

// complete checks leader completeness: a new leader holds every committed
// batch.
func (cl *cluster) complete(p *proc) error {
	log := p.c.Log()
	for _, base := range slices.Sorted(maps.Keys(cl.committed)) {
		want := cl.committed[base]
		b := log.BatchAt(base)
		if b == nil || b.BaseOffset != base || b.Digest() != want.digest {
			return fmt.Errorf("leader completeness: %s leads epoch %d without committed batch %d@e%d (it holds %v)", p.m.name, p.c.Epoch(), base, want.epoch, b)
		}
	}
	return nil
}

// deepCheck checks log matching between every two running replicas (if two
// logs hold a batch of the same epoch at the same offset, they agree on
// everything up to it) and that every running replica's committed prefix
// is the committed log.
func (cl *cluster) deepCheck() error {
	ps := cl.procs()
	for i, p := range ps {
		lp := p.c.Log().Batches()
		for _, b := range lp {
			if b.EndOffset() > p.c.HighWatermark() {
				break
			}
			if want, ok := cl.committed[b.BaseOffset]; ok && want.digest != b.Digest() {
				return fmt.Errorf("%s holds %v below its high-water mark, where %d@e%d was committed", p.m.name, b, b.BaseOffset, want.epoch)
			}
		}
		for _, q := range ps[i+1:] {
			lq := q.c.Log().Batches()
			match := -1
			for k := 0; k < len(lp) && k < len(lq); k++ {
				if lp[k].BaseOffset == lq[k].BaseOffset && lp[k].Epoch == lq[k].Epoch {
					match = k
				}
			}
			for k := 0; k <= match; k++ {
				if lp[k].Digest() != lq[k].Digest() {
					return fmt.Errorf("log matching: %s and %s agree on epoch %d at offset %d but differ at offset %d (%v vs %v)",
						p.m.name, q.m.name, lp[match].Epoch, lp[match].BaseOffset, lp[k].BaseOffset, lp[k], lq[k])
				}
			}
		}
	}
	return nil
}

// appendTo appends n records to the current leader.
func (cl *cluster) append(records ...string) (int64, error) {
	l := cl.leader()
	if l == nil {
		return -1, fmt.Errorf("no leader to append to")
	}
	recs := make([][]byte, len(records))
	for i, r := range records {
		recs[i] = []byte(r)
	}
	return l.c.Append(recs)
}

// runUntil runs until cond holds or d passes, and reports whether it held.
func (cl *cluster) runUntil(d time.Duration, cond func() bool) (bool, error) {
	return cl.s.RunUntilTrue(cl.s.Now()+d, cond)
}

// caughtUp reports whether the quorum is stable and every running replica
// holds, has committed and has handed its listener the leader's whole log.
func (cl *cluster) caughtUp() bool {
	if !cl.stable() {
		return false
	}
	l := cl.leader()
	end := l.c.EndOffset()
	if l.c.HighWatermark() != end || l.c.Lingering() > 0 {
		return false
	}
	for _, p := range cl.procs() {
		if p.c.EndOffset() != end || p.c.HighWatermark() != end || p.commits != end {
			return false
		}
	}
	return true
}
