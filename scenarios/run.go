package scenarios

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// Options tune a run beyond what its scenario says.
type Options struct {
	// Replay is the one-line command that replays the run, printed with
	// every finding; empty: "kafkasim run <name> --seed <seed>".
	Replay string
	// UntilStep, when positive, stops the run after that many events:
	// replay up to the moment of a finding. The cluster's setup (before
	// Result.Ready) always completes.
	UntilStep uint64
	// Trace, when set, receives every readable trace record.
	Trace func(sim.Record)
	// NoTimeline skips recording the cluster's timeline (reports need it).
	NoTimeline bool
	// Drain bounds the final phase in which the cluster is healed and the
	// consumers read what is left; DefaultDrain when zero.
	Drain time.Duration
	// MaxHistoryOps bounds the history; MaxHistoryOps when zero.
	MaxHistoryOps int
}

// DefaultDrain is how long, at most, the final phase lets the cluster
// recover and the consumers catch up before the history is closed.
const DefaultDrain = 60 * time.Second

// MaxHistoryOps bounds a run's history: a run whose clients have recorded
// more operations stops at that deterministic point, and its verdict says
// so. Two million operations take about half a gigabyte with the checks;
// this is what keeps a run from ending out of memory.
const MaxHistoryOps = 2_000_000

// setupLimit bounds how long the cluster may take to elect a controller,
// register its brokers and create the scenario's topics.
const setupLimit = 60 * time.Second

// A Result is what a run produced and what the checkers made of it.
type Result struct {
	Scenario Scenario
	// Schedule is every fault of the run: the scenario's and the
	// nemesis's, sorted by time.
	Schedule fault.Schedule
	Replay   string
	// TraceHash is the run's trace hash; Steps the events it executed;
	// End the simulated time it ended at (after the final phase).
	TraceHash string
	Steps     uint64
	End       time.Duration
	// Ready is when the cluster had its controller, brokers and topics
	// and the clients started.
	Ready time.Duration
	// Stopped is the failure of an invariant that stopped the run early,
	// or nil.
	Stopped *sim.Failure
	History *history.History
	// Report is the checkers' verdict on the history; Live are the
	// findings the invariants made while the run went (including notes).
	Report   *checker.Report
	Live     []checker.Finding
	Timeline *model.Timeline
	Marks    map[string]uint64
	// Truncations counts the records brokers removed from their logs, by
	// reason; TruncatedIn by partition.
	Truncations map[string]int64
	TruncatedIn map[string]int64
	// Verdict is the run's answer, computed once from everything above:
	// every output renders it.
	Verdict *checker.Verdict
}

// Findings returns every finding of the run, live and from the history,
// sorted by time: the verdict's.
func (r *Result) Findings() []checker.Finding { return r.Verdict.Findings }

// Bad returns the findings of a bad class (data loss, consistency,
// invariant).
func (r *Result) Bad() []checker.Finding { return r.Verdict.Bad() }

// OK reports whether the run found no problem: the verdict's OK (nothing
// acknowledged lost, whatever the configuration allows; no anomaly; no
// broken invariant; linearizability not refuted nor unchecked).
func (r *Result) OK() bool { return r.Verdict.OK }

// Expected reports whether the run showed what its scenario expects, and
// if not, why. A scenario that expects findings names them; they may be of
// any class (an acks=1 loss is "expected" for that configuration, and still
// what the scenario sets out to show). A scenario that expects nothing must
// end with no finding of a bad class.
func (r *Result) Expected() (bool, string) {
	if ok, why := r.marksReached(); !ok {
		return false, why
	}
	bad := r.Bad()
	want := r.Scenario.Expect.Findings
	if len(want) == 0 {
		for _, a := range r.Scenario.Expect.Absent {
			for _, f := range r.Findings() {
				if f.Name == a {
					return false, fmt.Sprintf("expected no %s, but the run produced it", a)
				}
			}
		}
		if r.Stopped != nil {
			return false, "expected no problem, but an invariant stopped the run: " + r.Stopped.Error()
		}
		if len(bad) == 0 {
			if r.Verdict.Lost > 0 {
				return true, fmt.Sprintf("no broken guarantee, as expected; what the configuration allows: %s", r.Summary())
			}
			return true, "no problem found, as expected"
		}
		return false, fmt.Sprintf("expected no problem, found %s", summarize(bad))
	}
	names := map[string]bool{}
	for _, f := range r.Findings() {
		names[f.Name] = true
	}
	for _, a := range r.Scenario.Expect.Absent {
		if names[a] {
			return false, fmt.Sprintf("expected no %s, but the run produced it (found: %s)", a, summarize(r.Findings()))
		}
	}
	var missing []string
	for _, w := range want {
		if !names[w] {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return false, fmt.Sprintf("expected %v, but %v was not found (found: %s)", want, missing, summarize(r.Findings()))
	}
	return true, fmt.Sprintf("found %v, as expected", want)
}

// marksReached checks the expected coverage marks.
func (r *Result) marksReached() (bool, string) {
	var short []string
	for _, mark := range slices.Sorted(maps.Keys(r.Scenario.Expect.Marks)) {
		if want, got := r.Scenario.Expect.Marks[mark], r.Marks[mark]; got < want {
			short = append(short, fmt.Sprintf("%s %d times (wanted at least %d)", mark, got, want))
		}
	}
	if len(short) == 0 {
		return true, ""
	}
	return false, fmt.Sprintf("the run did not reach what the scenario is about: it reached %s; the report's coverage table lists every mark it reached",
		strings.Join(short, ", "))
}

// Summary is the run's outcome in one line: the verdict's.
func (r *Result) Summary() string { return r.Verdict.Summary() }

func summarize(fs []checker.Finding) string {
	if len(fs) == 0 {
		return "nothing"
	}
	counts := map[string]int{}
	var order []string
	for _, f := range fs {
		if counts[f.Name] == 0 {
			order = append(order, f.Name)
		}
		counts[f.Name]++
	}
	out := ""
	for i, n := range order {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%d %s", counts[n], n)
	}
	return out
}

// tee forwards the brokers' observations to the invariants and the watch,
// and counts truncations by reason.
type tee struct {
	inv   *checker.Invariants
	watch *checker.Watch
	count map[string]int64
	byTP  map[string]int64
}

func (t *tee) Acked(tp model.TopicPartition, leader, epoch int32, first, last int64, isr []int32) {
	t.inv.Acked(tp, leader, epoch, first, last, isr)
}

func (t *tee) Truncated(tp model.TopicPartition, broker int32, from, to int64, reason string) {
	t.inv.Truncated(tp, broker, from, to, reason)
	t.watch.Truncated(tp, broker, from, to, reason)
	if to > from {
		t.count[reason] += to - from
		t.byTP[tp.String()] += to - from
	}
}

func (t *tee) LogStartMoved(tp model.TopicPartition, broker int32, from, to int64, reason string) {
	t.watch.LogStartMoved(tp, broker, from, to, reason)
}

// run is one run under way.
type run struct {
	s       Scenario
	plan    *Plan
	opts    Options
	sim     *sim.Sim
	net     *network.Network
	cl      *cluster.Cluster
	inv     *checker.Invariants
	watch   *checker.Watch
	rec     *history.Recorder
	tl      *model.TimelineRecorder
	obs     *tee
	prods   []*client.ProducerDriver
	cons    []*client.ConsumerDriver
	clients []*sim.Node
}

// Run compiles a scenario and runs its plan (Plan.Run). The error is for a
// scenario that does not compile or a run that could not be set up;
// problems the run finds are in the Result.
func Run(s Scenario, opts Options) (*Result, error) {
	p, err := Compile(s)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return p.Run(opts)
}

// Run runs the plan and checks it. The error is for a run that could not
// be set up (a cluster that never became ready); problems the run finds
// are in the Result.
func (p *Plan) Run(opts Options) (*Result, error) {
	s := p.Scenario
	if opts.Replay == "" {
		opts.Replay = fmt.Sprintf("kafkasim run %s --seed %d", s.Name, s.Seed)
	}
	if opts.Drain <= 0 {
		opts.Drain = DefaultDrain
	}
	if opts.MaxHistoryOps <= 0 {
		opts.MaxHistoryOps = MaxHistoryOps
	}
	r := &run{s: s, plan: p, opts: opts}
	schedule := p.Schedule
	if err := r.build(); err != nil {
		return nil, fmt.Errorf("scenario %s (seed %d): %w", s.Name, s.Seed, err)
	}
	res := &Result{Scenario: s, Schedule: schedule, Replay: opts.Replay, Truncations: r.obs.count, TruncatedIn: r.obs.byTP}
	if err := r.setup(); err != nil {
		return nil, fmt.Errorf("scenario %s (seed %d): %w; replay: %s", s.Name, s.Seed, err, opts.Replay)
	}
	res.Ready = r.sim.Now()
	r.startClients()
	for _, f := range schedule {
		r.sim.At(f.Time(), "fault."+string(f.Kind), func() {
			r.tl.Event(model.Event{At: r.sim.Now(), Step: r.sim.Steps(), Kind: string(f.Kind), Text: f.String()})
			fault.Apply(runTarget{Cluster: r.cl, r: r}, f)
		})
	}
	err := r.runUntil(time.Duration(*s.Duration))
	if err == nil {
		err = r.finalPhase()
	}
	var failure *sim.Failure
	if errors.As(err, &failure) {
		res.Stopped = failure
	} else if err != nil && !errors.Is(err, errStepLimit) {
		return nil, err
	}
	return r.finish(res)
}

var errStepLimit = errors.New("step limit reached")

// runUntil runs to time t, or to the step limit.
func (r *run) runUntil(t time.Duration) error {
	if r.opts.UntilStep == 0 {
		return r.sim.RunUntil(t)
	}
	for r.sim.Now() < t && r.sim.Err() == nil {
		if r.sim.Steps() >= r.opts.UntilStep {
			return errStepLimit
		}
		if !r.sim.Step() {
			break
		}
	}
	if err := r.sim.Err(); err != nil {
		return err
	}
	return r.sim.RunUntil(min(t, r.sim.Now()))
}

// build creates the simulation, the network and the cluster.
func (r *run) build() error {
	s, p := r.s, r.plan
	r.sim = sim.New(sim.Config{Seed: s.Seed, Writeback: p.Config.OSWriteback, Replay: r.opts.Replay, Buggify: buggifySet(s.Buggify)})
	if r.opts.Trace != nil {
		r.sim.Trace().SetSink(r.opts.Trace)
	}
	net, err := network.New(r.sim, p.Network)
	if err != nil {
		return err
	}
	r.net = net
	run := checker.Run{Seed: s.Seed, Replay: r.opts.Replay}
	r.inv = checker.NewInvariants(checker.InvariantConfig{Run: run, Continue: s.Checks.ContinueAfterInvariant,
		Variants: lossVariants(s.Cluster.Protocol)})
	r.watch = checker.NewWatch(minISRFunc(p.Config))
	r.obs = &tee{inv: r.inv, watch: r.watch, count: map[string]int64{}, byTP: map[string]int64{}}
	cfg := p.Cluster
	cfg.Observer = r.obs
	cl, err := cluster.New(r.sim, net, cfg)
	if err != nil {
		return err
	}
	r.cl = cl
	brokerOf := map[*sim.Node]int32{}
	for _, id := range cl.BrokerIDs() {
		brokerOf[cl.Node(id)] = id
	}
	r.sim.OnNode(func(n *sim.Node, ev sim.NodeEvent) {
		if id, ok := brokerOf[n]; ok && ev == sim.NodePowerLost {
			r.inv.PowerLost(id)
			r.watch.PowerLost(id)
		}
	})
	config := p.Config
	header := history.Header{Seed: s.Seed, Replay: r.opts.Replay, Scenario: s.Name, Config: maps.Clone(p.Header), Run: &config}
	r.rec = history.NewRecorder(header)
	return nil
}

// setup starts the cluster and creates the topics, then starts watching it.
func (r *run) setup() error {
	if err := r.cl.Start(); err != nil {
		return err
	}
	view := r.cl.View()
	r.inv.Register(r.sim, view)
	r.watch.Register(r.sim, view)
	r.tl = model.NewTimelineRecorder(view)
	if !r.opts.NoTimeline {
		r.sim.AddCheck("timeline", func() error {
			r.tl.Sample(r.sim.Now(), r.sim.Steps())
			return nil
		})
	}
	r.watchStates()
	if r.plan.Cluster.ZK() {
		zk := r.cl.NewZKChecker(r.inv)
		r.sim.AddCheck("zookeeper", func() error {
			if err := zk.Check(); err != nil {
				return err
			}
			return r.inv.Stop()
		})
		if !r.opts.NoTimeline {
			r.watchZooKeeper()
		}
	}
	r.sim.AddCheck("budget", func() error {
		if n := r.rec.Len(); n > r.opts.MaxHistoryOps {
			return fmt.Errorf("the history reached its budget of %d operations (at %v of simulated time): the run stopped there to stay within memory; shorten duration or lower the producers' rate", r.opts.MaxHistoryOps, r.sim.Now())
		}
		return nil
	})
	if err := r.cl.WaitReady(setupLimit); err != nil {
		return fmt.Errorf("the cluster did not become ready: %w", err)
	}
	for _, t := range r.s.Cluster.Topics {
		err := r.cl.CreateTopic(cluster.Topic{Name: t.Name, Partitions: *t.Partitions, ReplicationFactor: *t.ReplicationFactor, Configs: t.Config}, setupLimit)
		if err != nil {
			return fmt.Errorf("create topic %s: %w", t.Name, err)
		}
	}
	return nil
}

// watchStates marks the interesting states the kernel alone can see: every
// broker down at once.
func (r *run) watchStates() {
	var brokers []*sim.Node
	for _, id := range r.cl.BrokerIDs() {
		brokers = append(brokers, r.cl.Node(id))
	}
	allDown := false
	r.sim.AddCheck("scenario-states", func() error {
		down := true
		for _, n := range brokers {
			if n.State() != sim.Down {
				down = false
				break
			}
		}
		if down && !allDown {
			r.sim.Mark("scenario.all-brokers-down")
		}
		allDown = down
		return nil
	})
}

// watchZooKeeper adds a ZooKeeper-mode run's moments to the timeline, for
// the report's ZooKeeper lanes: the ensemble's leader, the active
// controller and its epoch, and each broker's new sessions.
func (r *run) watchZooKeeper() {
	leader, controller := "", ""
	sessions := map[int32]int64{}
	r.sim.AddCheck("zookeeper-timeline", func() error {
		event := func(kind, text string) {
			r.tl.Event(model.Event{At: r.sim.Now(), Step: r.sim.Steps(), Kind: kind, Text: text})
		}
		l := "no ZooKeeper leader"
		if n := r.cl.ZKLeader(); n != nil {
			l = "ZooKeeper leader " + n.Name()
		}
		if l != leader {
			leader = l
			event("zk.leader", l)
		}
		ctl := "no active controller"
		if b := r.cl.ZKController(); b != nil {
			epoch, _ := b.ZKControllerEpoch()
			ctl = fmt.Sprintf("/controller: broker %s, controller epoch %d", b.Node().Name(), epoch)
		}
		if ctl != controller {
			controller = ctl
			event("zk.controller", ctl)
		}
		for _, id := range r.cl.BrokerIDs() {
			b := r.cl.Broker(id)
			if b == nil || b.ZooKeeper() == nil {
				continue
			}
			if sid := b.ZooKeeper().SessionID(); sid != 0 && sid != sessions[id] {
				sessions[id] = sid
				event("zk.session", fmt.Sprintf("broker %s: ZooKeeper session %x", b.Node().Name(), sid))
			}
		}
		return nil
	})
}

// markRebalancesDuringPartitions marks a consumer-group rebalance that
// happened while the network was partitioned.
func (r *run) markRebalancesDuringPartitions(schedule fault.Schedule, h *history.History) {
	type span struct{ from, to time.Duration }
	var spans []span
	open := time.Duration(-1)
	for _, f := range schedule {
		switch f.Kind {
		case fault.Partition, fault.Isolate, fault.Bridge, fault.Ring, fault.Cut:
			if open < 0 {
				open = f.Time()
			}
		case fault.Heal:
			if open >= 0 {
				spans = append(spans, span{open, f.Time()})
				open = -1
			}
		}
	}
	if open >= 0 {
		spans = append(spans, span{open, time.Duration(*r.s.Duration)})
	}
	for _, op := range h.Ops {
		if op.Kind != history.KindRebalance {
			continue
		}
		for _, sp := range spans {
			if op.Invoke >= sp.from && op.Invoke <= sp.to {
				r.sim.Mark("scenario.rebalance-during-partition")
			}
		}
	}
}

// startClients adds and starts the producer and consumer nodes.
func (r *run) startClients() {
	env := client.Env{Net: r.net, Dir: r.cl.Directory(), Bootstrap: r.cl.BrokerIDs(), Recorder: r.rec,
		NoFetchSessions: r.cl.Config().Broker.NoFetchSessions}
	names := r.s.ProducerNames()
	for i, w := range r.plan.Producers {
		d, err := client.NewProducerDriver(env, w)
		if err != nil {
			panic(fmt.Sprintf("scenario %s: producer driver: %v (Compile should have refused it)", r.s.Name, err))
		}
		r.prods = append(r.prods, d)
		r.addClient(names[i], d.Boot)
	}
	names = r.s.ConsumerNames()
	for i, w := range r.plan.Consumers {
		d, err := client.NewConsumerDriver(env, w)
		if err != nil {
			panic(fmt.Sprintf("scenario %s: consumer driver: %v (Compile should have refused it)", r.s.Name, err))
		}
		r.cons = append(r.cons, d)
		r.addClient(names[i], d.Boot)
	}
	names = r.s.TxnNames()
	for i, w := range r.plan.Txns {
		d, err := client.NewTxnDriver(env, w)
		if err != nil {
			panic(fmt.Sprintf("scenario %s: transactional driver: %v (Compile should have refused it)", r.s.Name, err))
		}
		r.addClient(names[i], d.Boot)
	}
}

func (r *run) addClient(name string, boot sim.Boot) {
	n, err := r.sim.AddNode(name, boot)
	if err != nil {
		panic(fmt.Sprintf("scenario %s: %v", r.s.Name, err))
	}
	r.clients = append(r.clients, n)
	_ = n.Start()
}

// finalPhase heals the cluster — network, paused and stopped nodes — and
// lets it recover and the consumers read what is left, so that the final
// state shows what survived.
func (r *run) finalPhase() error {
	r.tl.Event(model.Event{At: r.sim.Now(), Step: r.sim.Steps(), Kind: "final", Text: "final phase: heal, restart, drain"})
	r.net.Heal()
	for _, n := range r.sim.Nodes() {
		switch n.State() {
		case sim.Paused:
			_ = n.Resume()
		case sim.Down:
			if n.Name() != cluster.AdminNode {
				_ = n.Restart()
			}
		}
	}
	deadline := r.sim.Now() + r.opts.Drain
	view := r.cl.View()
	// Whether the replicas converged changes only when the view does.
	var seen uint64
	checked, ok := false, false
	_, err := r.sim.RunUntilTrue(deadline, func() bool {
		if r.opts.UntilStep > 0 && r.sim.Steps() >= r.opts.UntilStep {
			return true // replaying up to a step inside the final phase
		}
		if v := view.Version(); !checked || v != seen {
			seen, checked, ok = v, true, converged(view)
		}
		if !ok || !r.cl.Ready() {
			return false
		}
		for _, p := range r.prods {
			if !p.Drained() {
				return false
			}
		}
		for _, c := range r.cons {
			if !c.Drained() {
				return false
			}
		}
		return true
	})
	return err
}

// converged reports whether every partition has a serving leader and every
// assigned replica is online and caught up with it: log end offset and
// high-water mark equal to the leader's. The final state is judged once the
// cluster got there (or the drain time ran out).
func converged(view model.ClusterView) bool {
	for _, tp := range view.Partitions() {
		md, ok := view.Metadata(tp)
		if !ok || md.Leader == model.NoLeader {
			return false
		}
		reps := view.Replicas(tp)
		var leo, hwm int64 = -1, -1
		for _, r := range reps {
			if r.Broker() == md.Leader {
				if !r.Online() || !r.IsLeader() || r.LeaderEpoch() != md.LeaderEpoch {
					return false
				}
				leo, hwm = r.LogEndOffset(), r.HighWatermark()
			}
		}
		if leo < 0 || hwm != leo {
			return false
		}
		for _, r := range reps {
			if !r.Online() || r.LogEndOffset() != leo || r.HighWatermark() != hwm {
				return false
			}
		}
	}
	return true
}

// finish closes the history and checks it.
func (r *run) finish(res *Result) (*Result, error) {
	end := r.sim.Now()
	var view model.ClusterView
	if res.Stopped == nil {
		view = r.cl.View()
	}
	r.rec.Close(end, view)
	h, err := r.rec.History()
	if err != nil {
		return nil, fmt.Errorf("scenario %s (seed %d): the history is inconsistent: %w", r.s.Name, r.s.Seed, err)
	}
	if res.Stopped == nil {
		r.inv.Final()
	}
	res.History = h
	r.markRebalancesDuringPartitions(res.Schedule, h)
	res.Report = checker.Check(h, checker.Options{Run: checker.Run{Seed: r.s.Seed, Replay: r.opts.Replay},
		Budget: r.s.Checks.LinearizabilityBudget, SkipLinearizability: r.s.Checks.NoLinearizability,
		WWDeps: r.s.Checks.WWDeps, RWDeps: r.s.Checks.RWDeps})
	res.Live = r.inv.Findings()
	res.TraceHash = r.sim.Trace().HashString()
	res.Steps = r.sim.Steps()
	res.End = end
	res.Marks = r.sim.Marks()
	res.Timeline = r.tl.Timeline()
	res.Verdict = verdictOf(res, r.plan, r.watch, r.inv.Findings())
	return res, nil
}
