package scenarios

import (
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/scenarios/fault"
	"github.com/kafkasim/kafkasim/sim"
)

// A hunt runs a scenario blind: it drops the scenario's own faults and
// nemesis, and every seed draws its own knobs (swarm testing) — which
// fault kinds are on and how often each is drawn, how long faults last,
// how many nodes they hurt at once, whether they target nodes by name or
// by role, partitions that keep clients with a zombie leader, the
// network's loss, duplication and reordering, clock skew, and the
// timeouts faults are measured against. Everything comes from the seed
// through sim's named streams, so HuntScenario(base, seed) is the same
// scenario every time: a hunt seed replays bit for bit.

// A HuntKnob documents one knob a hunt draws per seed, and its range.
type HuntKnob struct {
	Name  string
	Range string
}

// HuntKnobs lists the knobs a hunt draws for every seed, in the order it
// draws them, with their ranges: the README's table of hunt knobs is
// checked against it.
var HuntKnobs = []HuntKnob{
	{"kinds", "each drawable fault kind on with probability 1/2 (at least one): crash, power-loss, pause, disk-loss (off unless --disk-loss), partition, isolate, cut, clock, all-brokers-down (with or without power loss); delay (a Produce, EndTxn, FetchResponse, WriteTxnMarkers or AddPartitionsToTxn to or from a target held for the fault's length) and controller-partition (targets cut off from the controllers only, still reaching every other node: a fenced broker fetching on stale metadata, KAFKA-6880) only when a museum entry's kinds name them"},
	{"weights", "each kind on is drawn 1 to 4 times as often as the rarest"},
	{"length", "mean fault length, log-uniform from 0.5 s to 40 s (well below to well above broker.session.timeout.ms 9 s, replica.lag.time.max.ms and session.timeout.ms); each fault lasts 0.5 to 1.5 times the mean; controller-partition faults, when on, have their own mean, log-uniform from the drawn broker.session.timeout.ms to 60 s (a zombie matters once it is fenced), from their own stream"},
	{"interval", "mean time between fault starts, log-uniform from 1 s to 15 s"},
	{"max_faulty", "targets faulty at once: 1 to the number of brokers"},
	{"targets", "by name (b1..bN, and z1..zN in ZooKeeper mode) with probability 1/2, else by role: leader(t-p) and follower(t-p) of every user partition, the active controller, the consumer group's coordinator (and in ZooKeeper mode the ensemble, zookeepers, and its leader, zookeeper-leader)"},
	{"zombie_partitions", "0 to 3 partitions that cut a partition's leader off from everyone but some clients (a zombie leader keeping its producers), each 2 s to 30 s"},
	{"replica.lag.time.max.ms", "log-uniform from 2 s to 30 s"},
	{"broker.session.timeout.ms", "log-uniform from 3 s to 18 s"},
	{"session.timeout.ms", "each consumer group's, log-uniform from 6 s to 45 s"},
	{"network", "with probability 1/3: latency 1 to 50 ms with jitter up to as much again; with --below-tcp also message loss up to 5%, duplication up to 5% and reordering up to 10% (delays up to 50 ms) on connections that stay up"},
	{"clock", "max skew up to 10 s and max drift up to 1000 ppm, for clock faults"},
	{"tear", "power losses keep a torn prefix of unsynced writes with probability 1/2"},
	{"rate", "each producer group's rate times 0.5 to 2"},
	{"buggify", "with --buggify, each BUGGIFY point on with probability 1/2"},
	{"leader.imbalance.check.interval.seconds", "log-uniform from 2 s to the scenario's own value (300 s by default): how soon the preferred leader takes a partition back, a second leader change right after a failover (KAFKA-6361); drawn from its own stream, so the knobs above draw as before"},
	{"acks", "with --workload, in half the seeds each producer's acks: all (1/2), 1 (1/4) or 0 (1/4), for producers whose scenario leaves acks unset or all and sets neither enable.idempotence nor transactional.id; the losses acks=1 and acks=0 allow are the verdict's acks=1 allowance; from its own stream"},
	{"enable.idempotence", "with --workload, in half the seeds each acks=all producer's enable.idempotence, true or false (idempotence needs acks=all: the others have it off), where the scenario does not set it; from its own stream"},
	{"txn_delays", "when a hunt's delay messages name both EndTxn and Produce, 1 to 3 times a transactional producer's next EndTxn held 1 to 2.5 times its request.timeout.ms (its retry overtakes it), and 0.5 s to 2 s later its next two Produces, each held 0.25 to 1.5 times its request.timeout.ms (all uniform): a late EndTxn and the next transaction's late records (KAFKA-17754); from its own stream"},
	{"consumers leaving and joining", "with --workload, in half the seeds 1 to 3 times a consumer leaves (its process dies: no LeaveGroup, the coordinator evicts it after session.timeout.ms) and joins again as a new member 1 s to 40 s later; from its own stream"},
	{"consumers leaving gracefully", "with --workload, in half the seeds 1 to 3 times a consumer closes as its application shuts down (the leave fault: a final commit with enable.auto.commit, LeaveGroup, so the group rebalances at once) and joins again as a new member 1 s to 40 s later, unless it is away for the knob above then; from its own stream, so the knobs above draw as before"},
}

// HuntOptions tune how a hunt draws its knobs.
type HuntOptions struct {
	// DiskLoss lets the hunt draw disk-loss faults. A broker that comes
	// back with an empty disk under its old id is outside Kafka's fault
	// model (before KIP-853's directory ids), so it is off by default.
	DiskLoss bool
	// BelowTCP lets the network lose, duplicate and reorder messages on
	// connections that stay up. Kafka relies on TCP delivering a
	// connection's requests once and in order, so this is outside its
	// fault model too (and a lost request with no retry can stall the
	// cluster's setup): off by default.
	BelowTCP bool
	// Kinds, when set, are the fault kinds the hunt draws its subsets
	// from (a museum entry's hunt narrows them to the fault family its
	// bug lives in, never to a schedule); unset: every drawable kind.
	Kinds []fault.Kind
	// Buggify lets each seed enable a random subset of the BUGGIFY points
	// (each with probability 1/2).
	Buggify bool
	// DelayMessages, when set, are the Kafka APIs the hunt's delay faults
	// hold (a museum entry's hunt narrows them to the requests its bug
	// turns on); unset: fault.DelayDrawn.
	DelayMessages []string
	// Workload lets each seed draw the workload's knobs too: each
	// producer's acks and enable.idempotence, and consumers that leave and
	// join their group. Off, a seed draws what it drew before they
	// existed, and replays as it did.
	Workload bool
	// ContinueAfterInvariant records a broken cluster invariant as a
	// finding and lets the run go on (Checks.ContinueAfterInvariant): for
	// a museum entry whose variant breaks an invariant on its way to the
	// loss, as its scripted scenarios do, so that the verdict can say the
	// variant allowed the loss instead of the run stopping short of it.
	ContinueAfterInvariant bool
}

// A HuntDraw is what one hunt seed drew, for reports and replay.
type HuntDraw struct {
	Seed      uint64
	Kinds     map[fault.Kind]int // kind → weight
	Length    time.Duration
	Interval  time.Duration
	MaxFaulty int
	ByRole    bool
	Zombies   int
	Network   bool
	Buggify   []string
	// Acks lists each producer's acks and idempotence ("all", "all
	// non-idempotent", "1", "0"), when the seed drew them; Leaves counts
	// the consumers' leave-and-join cycles.
	Acks   []string
	Leaves int
	// GracefulLeaves counts the consumers' graceful leave-and-join
	// cycles (the leave fault).
	GracefulLeaves int
	// TxnDelays counts the late EndTxn with late Produces behind it the
	// seed drew.
	TxnDelays int
	// ControllerPartitionLength is the mean length of the seed's
	// controller-partition faults, when it draws them.
	ControllerPartitionLength time.Duration
}

// String is the draw in one line.
func (d HuntDraw) String() string {
	var ks []string
	for _, k := range slices.Sorted(maps.Keys(d.Kinds)) {
		ks = append(ks, fmt.Sprintf("%s×%d", k, d.Kinds[k]))
	}
	target := "name"
	if d.ByRole {
		target = "role"
	}
	out := fmt.Sprintf("kinds %s; length %v; interval %v; max faulty %d; targets by %s; zombie partitions %d; slow network %v",
		strings.Join(ks, " "), d.Length, d.Interval, d.MaxFaulty, target, d.Zombies, d.Network)
	if len(d.Buggify) > 0 {
		out += "; buggify " + strings.Join(d.Buggify, " ")
	}
	if len(d.Acks) > 0 {
		out += "; acks " + strings.Join(d.Acks, ", ")
	}
	if d.Leaves > 0 {
		out += fmt.Sprintf("; consumers leaving and joining %d", d.Leaves)
	}
	if d.GracefulLeaves > 0 {
		out += fmt.Sprintf("; consumers leaving gracefully %d", d.GracefulLeaves)
	}
	if d.ControllerPartitionLength > 0 {
		out += fmt.Sprintf("; controller-partition length %v", d.ControllerPartitionLength)
	}
	if d.TxnDelays > 0 {
		out += fmt.Sprintf("; late EndTxn with late Produces %d", d.TxnDelays)
	}
	return out
}

// logUniform draws a duration log-uniformly from [lo, hi], in milliseconds.
func logUniform(r *rand.Rand, lo, hi time.Duration) time.Duration {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return time.Duration(math.Exp(l + r.Float64()*(h-l))).Round(time.Millisecond)
}

func ms(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// HuntScenario returns the scenario a hunt runs for one seed: base (after
// Defaults) without its faults, nemesis and expectation, with the knobs
// drawn from seed and the fault schedule they generate written out, so
// that the result replays by itself.
func HuntScenario(base Scenario, seed uint64, opts HuntOptions) (Scenario, HuntDraw, error) {
	s := base.Defaults()
	s.Seed = seed
	s.Faults, s.Nemesis, s.Expect = nil, nil, Expect{}
	s.Checks.ContinueAfterInvariant = s.Checks.ContinueAfterInvariant || opts.ContinueAfterInvariant
	s.Cluster.BrokerConfig = maps.Clone(s.Cluster.BrokerConfig)
	if s.Cluster.BrokerConfig == nil {
		s.Cluster.BrokerConfig = map[string]string{}
	}
	s.Cluster.Topics = slices.Clone(s.Cluster.Topics)
	s.Workload.Producers = slices.Clone(s.Workload.Producers)
	s.Workload.Consumers = slices.Clone(s.Workload.Consumers)
	r := sim.NewRand(seed, "hunt")
	d := HuntDraw{Seed: seed, Kinds: map[fault.Kind]int{}}

	// kinds and weights
	var drawable []fault.Kind
	for _, k := range fault.Kinds {
		// disk-loss only with --disk-loss; delay and controller-partition
		// only when the kinds name them (appended to the table, they draw
		// nothing otherwise, so that every earlier seed draws as before)
		in := (k != fault.DiskLoss || opts.DiskLoss) && k != fault.Delay && k != fault.ControllerPartition
		if len(opts.Kinds) > 0 {
			in = slices.Contains(opts.Kinds, k)
		}
		if k.Drawable() && in {
			drawable = append(drawable, k)
		}
	}
	for _, k := range drawable {
		if r.IntN(2) == 0 {
			d.Kinds[k] = 1 + r.IntN(4)
		}
	}
	if len(drawable) == 0 {
		return Scenario{}, d, fmt.Errorf("hunt: no drawable fault kind among %v", opts.Kinds)
	}
	if len(d.Kinds) == 0 {
		d.Kinds[drawable[r.IntN(len(drawable))]] = 1
	}
	var kinds []fault.Kind
	for _, k := range drawable {
		for range d.Kinds[k] {
			kinds = append(kinds, k)
		}
	}
	d.Length = logUniform(r, 500*time.Millisecond, 40*time.Second)
	d.Interval = logUniform(r, time.Second, 15*time.Second)
	d.MaxFaulty = 1 + r.IntN(*s.Cluster.Brokers)

	// targets
	d.ByRole = r.IntN(2) == 0
	targets := s.BrokerNames()
	var userParts []string
	for _, t := range s.Cluster.Topics {
		for p := range *t.Partitions {
			userParts = append(userParts, fmt.Sprintf("%s-%d", t.Name, p))
		}
	}
	coordinator := ""
	for _, c := range s.Workload.Consumers {
		if c.Group != "" && coordinator == "" {
			parts := 50
			if v, err := strconv.Atoi(s.Cluster.BrokerConfig["offsets.topic.num.partitions"]); err == nil && v > 0 {
				parts = v
			}
			coordinator = fmt.Sprintf("leader(__consumer_offsets-%d)", group.PartitionFor(c.Group, int32(parts)))
		}
	}
	if d.ByRole {
		targets = nil
		for _, tp := range userParts {
			targets = append(targets, "leader("+tp+")", "follower("+tp+")")
		}
		targets = append(targets, fault.SelController)
		if coordinator != "" {
			targets = append(targets, coordinator)
		}
	}
	if s.Cluster.ZK() {
		// ZooKeeper mode: the ensemble is a target too, by name or as the
		// whole ensemble and its leader.
		if d.ByRole {
			targets = append(targets, fault.SelZooKeepers, fault.SelZooKeeperLeader)
		} else {
			targets = append(targets, s.ZooKeeperNames()...)
		}
	}

	// timeouts
	s.Cluster.BrokerConfig["replica.lag.time.max.ms"] = ms(logUniform(r, 2*time.Second, 30*time.Second))
	s.Cluster.BrokerConfig["broker.session.timeout.ms"] = ms(logUniform(r, 3*time.Second, 18*time.Second))
	for i := range s.Workload.Consumers {
		c := &s.Workload.Consumers[i]
		c.Config = maps.Clone(c.Config)
		session := logUniform(r, 6*time.Second, 45*time.Second)
		if c.Group != "" {
			if c.Config == nil {
				c.Config = map[string]string{}
			}
			c.Config["session.timeout.ms"] = ms(session)
			c.Config["heartbeat.interval.ms"] = ms(session / 3)
		}
	}

	// network
	if r.IntN(3) == 0 {
		d.Network = true
		n := &s.Cluster.Network
		lat := fault.Duration(time.Duration(1+r.IntN(50)) * time.Millisecond)
		jit := fault.Duration(time.Duration(r.Int64N(int64(lat) + 1)).Round(time.Millisecond))
		n.Latency, n.Jitter = &lat, &jit
		if opts.BelowTCP {
			n.Loss = math.Round(r.Float64()*0.05*1000) / 1000
			n.Duplicate = math.Round(r.Float64()*0.05*1000) / 1000
			n.Reorder = math.Round(r.Float64()*0.10*1000) / 1000
			n.ReorderDelay = fault.Duration(time.Duration(1+r.IntN(50)) * time.Millisecond)
		}
	}

	// clock and power
	maxSkew := time.Duration(r.IntN(10_001)) * time.Millisecond
	maxDrift := int64(r.IntN(1001))
	tear := r.IntN(2) == 0

	// workload
	for i := range s.Workload.Producers {
		p := &s.Workload.Producers[i]
		p.Rate = math.Round(p.Rate*math.Exp2(2*r.Float64()-1)*10) / 10
	}

	start := 5 * time.Second
	end := time.Duration(s.Workload.ProduceUntil)
	if end <= start {
		end = time.Duration(*s.Duration)
	}
	nem := fault.Nemesis{Kinds: kinds, Targets: targets, Start: start, End: end, Interval: d.Interval, Length: d.Length,
		MaxFaulty: d.MaxFaulty, Tear: tear, MaxSkew: maxSkew, MaxDriftPPM: maxDrift, DelayMessages: opts.DelayMessages}
	if d.Kinds[fault.ControllerPartition] > 0 {
		// A broker cut off from the controllers is a zombie only once it
		// is fenced, and matters only while leaders change around it: its
		// faults last longer, drawn from their own stream so that the
		// knobs above draw as before.
		session, _ := strconv.Atoi(s.Cluster.BrokerConfig["broker.session.timeout.ms"])
		lo := time.Duration(session) * time.Millisecond
		d.ControllerPartitionLength = logUniform(sim.NewRand(seed, "hunt-controller-partition"), lo, max(lo, 60*time.Second))
		nem.KindLength = map[fault.Kind]time.Duration{fault.ControllerPartition: d.ControllerPartitionLength}
	}
	sched, err := nem.Generate(sim.NewRand(seed, "hunt-nemesis"))
	if err != nil {
		return Scenario{}, d, fmt.Errorf("hunt seed %d: %w", seed, err)
	}
	if d.ByRole {
		// By role, the other side of a partition is everyone else: role
		// selectors may name one broker twice.
		for i := range sched {
			if sched[i].Kind == fault.Partition {
				sched[i].Groups = [][]string{sched[i].Groups[0], {fault.SelRest}}
			}
		}
	}

	// zombie partitions: a leader and some clients on one side
	z := sim.NewRand(seed, "hunt-zombies")
	d.Zombies = z.IntN(4)
	clients := slices.Concat(s.ProducerNames(), s.ConsumerNames())
	for range d.Zombies {
		if len(userParts) == 0 || len(clients) == 0 {
			break
		}
		tp := userParts[z.IntN(len(userParts))]
		side := []string{"leader(" + tp + ")"}
		for _, c := range clients {
			if z.IntN(2) == 0 {
				side = append(side, c)
			}
		}
		at := start + time.Duration(z.Int64N(int64(end-start)))
		length := logUniform(z, 2*time.Second, 30*time.Second)
		sched = append(sched,
			fault.Fault{At: fault.Duration(at.Round(time.Millisecond)), Kind: fault.Partition, Groups: [][]string{side, {fault.SelRest}}},
			fault.Fault{At: fault.Duration((at + length).Round(time.Millisecond)), Kind: fault.Heal})
	}
	if opts.Buggify {
		b := sim.NewRand(seed, "hunt-buggify")
		for _, p := range BuggifyPoints {
			if b.IntN(2) == 0 {
				s.Buggify = append(s.Buggify, p.Name)
			}
		}
		d.Buggify = slices.Clone(s.Buggify)
	}
	// controller knobs: from their own stream, so that adding them kept
	// every earlier knob's draw
	c := sim.NewRand(seed, "hunt-controller")
	s.Cluster.ControllerConfig = maps.Clone(s.Cluster.ControllerConfig)
	if s.Cluster.ControllerConfig == nil {
		s.Cluster.ControllerConfig = map[string]string{}
	}
	const imbalance = "leader.imbalance.check.interval.seconds"
	hi := 300 * time.Second
	if v, err := strconv.Atoi(s.Cluster.ControllerConfig[imbalance]); err == nil && v > 2 {
		hi = min(hi, time.Duration(v)*time.Second)
	}
	s.Cluster.ControllerConfig[imbalance] = strconv.Itoa(max(2, int(logUniform(c, 2*time.Second, hi).Seconds())))
	if slices.Contains(opts.DelayMessages, "EndTxn") && slices.Contains(opts.DelayMessages, "Produce") {
		var late []fault.Fault
		late, d.TxnDelays = drawTxnDelays(s, seed, start, end)
		sched = append(sched, late...)
	}
	if opts.Workload {
		d.Acks = drawAcks(&s, seed)
		var leaves []fault.Fault
		leaves, d.Leaves = drawLeaves(s, seed, start, end)
		sched = append(sched, leaves...)
		var graceful []fault.Fault
		graceful, d.GracefulLeaves = drawGracefulLeaves(s, seed, start, end, leaves)
		sched = append(sched, graceful...)
	}
	last := time.Duration(0)
	for _, f := range sched {
		last = max(last, time.Duration(f.At))
	}
	if last >= time.Duration(*s.Duration) {
		d := fault.Duration(last + 5*time.Second)
		s.Duration = &d
	}
	s.Faults = sched.Sorted()
	if err := s.Validate(); err != nil {
		return Scenario{}, d, fmt.Errorf("hunt seed %d drew an invalid scenario: %w", seed, err)
	}
	return s, d, nil
}

// drawAcks draws, in half the seeds, each producer's acks and (for
// acks=all) enable.idempotence, from the seed's own stream; each producer
// gets a group of its own, named as before (producer-1.. in order). It
// returns what each producer drew, or nothing when the seed draws none or
// no producer may change.
func drawAcks(s *Scenario, seed uint64) []string {
	r := sim.NewRand(seed, "hunt-acks")
	if r.IntN(2) == 0 {
		return nil
	}
	var out []string
	var split []Producers
	drawn := false
	for _, g := range s.Workload.Producers {
		acks, pinned := g.Config["acks"]
		_, idem := g.Config["enable.idempotence"]
		_, txn := g.Config["transactional.id"]
		free := (!pinned || acks == "all" || acks == "-1") && !idem && !txn
		for range g.Count {
			p := g
			p.Count = 1
			p.Config = maps.Clone(g.Config)
			if p.Config == nil {
				p.Config = map[string]string{}
			}
			what := "as the scenario sets"
			if free {
				drawn = true
				switch r.IntN(4) {
				case 0:
					p.Config["acks"], what = "1", "1"
				case 1:
					p.Config["acks"], what = "0", "0"
				default:
					p.Config["acks"], what = "all", "all"
					if r.IntN(2) == 0 {
						p.Config["enable.idempotence"], what = "false", "all non-idempotent"
					}
				}
			}
			out = append(out, what)
			split = append(split, p)
		}
	}
	if !drawn {
		return nil
	}
	s.Workload.Producers = split
	return out
}

// drawLeaves draws, in half the seeds, 1 to 3 times a consumer leaves its
// group (its process dies, so the coordinator evicts it once its session
// times out) and joins again as a new member 1 s to 40 s later, between
// start and end, from the seed's own stream. It returns the crash and
// restart faults and how many cycles it drew.
func drawLeaves(s Scenario, seed uint64, start, end time.Duration) ([]fault.Fault, int) {
	r := sim.NewRand(seed, "hunt-consumers")
	consumers := s.ConsumerNames()
	if r.IntN(2) == 0 || len(consumers) == 0 || end <= start {
		return nil, 0
	}
	n := 1 + r.IntN(3)
	var out []fault.Fault
	busy := map[string]time.Duration{} // a consumer's next free moment
	for range n {
		c, at, back := drawAway(r, consumers, start, end)
		if at < busy[c] {
			continue // it is still away: one cycle at a time per consumer
		}
		busy[c] = back + time.Second
		out = append(out,
			fault.Fault{At: fault.Duration(at), Kind: fault.Crash, Nodes: []string{c}},
			fault.Fault{At: fault.Duration(back), Kind: fault.Restart, Nodes: []string{c}})
	}
	return out, len(out) / 2
}

// drawAway draws one consumer's time away from its group: which consumer,
// when it leaves (between start and end) and when it is back (1 s to 40 s
// later, log-uniform), to the millisecond.
func drawAway(r *rand.Rand, consumers []string, start, end time.Duration) (c string, at, back time.Duration) {
	c = consumers[r.IntN(len(consumers))]
	at = (start + time.Duration(r.Int64N(int64(end-start)))).Round(time.Millisecond)
	back = (at + logUniform(r, time.Second, 40*time.Second)).Round(time.Millisecond)
	return c, at, back
}

// drawGracefulLeaves draws, in half the seeds, 1 to 3 times a consumer
// leaves its group cleanly (the leave fault: it commits with auto-commit
// and sends LeaveGroup, then its process exits) and joins again as a new
// member 1 s to 40 s later, between start and end, from the seed's own
// stream. A cycle that overlaps one of crashes (drawLeaves' cycles) on
// the same consumer is dropped after it is drawn, so that the draws stay
// the same. It returns the leave and restart faults and how many cycles
// it kept.
func drawGracefulLeaves(s Scenario, seed uint64, start, end time.Duration, crashes []fault.Fault) ([]fault.Fault, int) {
	r := sim.NewRand(seed, "hunt-consumers-graceful")
	// Only group members have a group to leave.
	var consumers []string
	names := s.ConsumerNames()
	i := 0
	for _, g := range s.Workload.Consumers {
		for range max(g.Count, 0) {
			if g.Group != "" && i < len(names) {
				consumers = append(consumers, names[i])
			}
			i++
		}
	}
	if r.IntN(2) == 0 || len(consumers) == 0 || end <= start {
		return nil, 0
	}
	away := map[string][][2]time.Duration{}
	for i := 0; i+1 < len(crashes); i += 2 {
		c := crashes[i].Nodes[0]
		away[c] = append(away[c], [2]time.Duration{time.Duration(crashes[i].At), time.Duration(crashes[i+1].At) + time.Second})
	}
	n := 1 + r.IntN(3)
	var out []fault.Fault
	for range n {
		c, at, back := drawAway(r, consumers, start, end)
		if slices.ContainsFunc(away[c], func(w [2]time.Duration) bool { return at < w[1] && w[0] < back+time.Second }) {
			continue // it is away then: one cycle at a time per consumer
		}
		away[c] = append(away[c], [2]time.Duration{at, back + time.Second})
		out = append(out,
			fault.Fault{At: fault.Duration(at), Kind: fault.Leave, Nodes: []string{c}},
			fault.Fault{At: fault.Duration(back), Kind: fault.Restart, Nodes: []string{c}})
	}
	return out, len(out) / 2
}

// drawTxnDelays draws 1 to 3 times a transactional producer's next EndTxn
// held 1 to 2.5 times its request.timeout.ms, so that the retry after the
// timeout overtakes it, and 0.5 s to 2 s later, while the EndTxn waits
// for that retry, the producer's next two Produces, each held 0.25 to 1.5
// times its request.timeout.ms (all uniform), from the seed's own stream:
// a late EndTxn that may land in the next transaction, and that
// transaction's records late behind it. It returns the delay faults and
// how many late EndTxn it drew.
func drawTxnDelays(s Scenario, seed uint64, start, end time.Duration) ([]fault.Fault, int) {
	type txnProducer struct {
		name    string
		timeout time.Duration
	}
	var txns []txnProducer
	i := 0
	for _, t := range s.Workload.Transactions {
		timeout := 30 * time.Second
		if v, err := strconv.Atoi(t.Config["request.timeout.ms"]); err == nil && v > 0 {
			timeout = time.Duration(v) * time.Millisecond
		}
		for range t.Count {
			i++
			txns = append(txns, txnProducer{fmt.Sprintf("txn-%d", i), timeout})
		}
	}
	if len(txns) == 0 || end <= start {
		return nil, 0
	}
	r := sim.NewRand(seed, "hunt-txn-delays")
	times := func(t time.Duration, lo, hi float64) fault.Duration {
		return fault.Duration(time.Duration(float64(t) * (lo + r.Float64()*(hi-lo))).Round(time.Millisecond))
	}
	n := 1 + r.IntN(3)
	var out []fault.Fault
	for range n {
		p := txns[r.IntN(len(txns))]
		at := (start + time.Duration(r.Int64N(int64(end-start)))).Round(time.Millisecond)
		out = append(out, fault.Fault{At: fault.Duration(at), Kind: fault.Delay, From: p.name,
			Messages: []string{"EndTxn"}, Hold: times(p.timeout, 1, 2.5)})
		then := fault.Duration(at) + times(time.Second, 0.5, 2)
		for range 2 {
			out = append(out, fault.Fault{At: then, Kind: fault.Delay, From: p.name,
				Messages: []string{"Produce"}, Hold: times(p.timeout, 0.25, 1.5)})
		}
	}
	return out, n
}

// HuntKnobsMarkdown renders HuntKnobs as the README's table.
func HuntKnobsMarkdown() string {
	var b strings.Builder
	b.WriteString("| knob | drawn per seed |\n|---|---|\n")
	for _, k := range HuntKnobs {
		fmt.Fprintf(&b, "| `%s` | %s |\n", k.Name, k.Range)
	}
	return b.String()
}
