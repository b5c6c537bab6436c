package cluster_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/sim"
)

// cluster brokers=3 controllers=3 [seed=1] [latency=1ms]; input lines
// are Kafka properties (name=value) or switches (switch name=value).
// The cluster starts and runs until it is ready.
func (s *script) cluster(a args, d *datadriven.TestData) (string, error) {
	if s.c != nil {
		return "", fmt.Errorf("cluster given twice: one cluster per script")
	}
	cfg := cluster.DefaultConfig()
	nb, err := a.int("brokers", 3)
	if err != nil {
		return "", err
	}
	nc, err := a.int("controllers", 3)
	if err != nil {
		return "", err
	}
	seed, err := a.int("seed", 1)
	if err != nil {
		return "", err
	}
	latency, err := a.duration("latency", time.Millisecond)
	if err != nil {
		return "", err
	}
	cfg.Brokers, cfg.Controllers = int(nb), int(nc)
	if md := a.str("metadata", "kraft"); md != "kraft" {
		if cfg.Metadata, err = cluster.ParseMetadataMode(md); err != nil {
			return "", err
		}
		nz, err := a.int("zookeepers", 3)
		if err != nil {
			return "", err
		}
		cfg.ZooKeepers = int(nz)
		if _, given := a["controllers"]; !given {
			cfg.Controllers = 0
		}
	}
	for _, line := range strings.Split(d.Input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sw, isSwitch := strings.CutPrefix(line, "switch ")
		kv := line
		if isSwitch {
			kv = sw
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return "", fmt.Errorf("config line %q: write name=value or switch name=value", line)
		}
		if isSwitch {
			err = cfg.SetSwitch(name, value)
		} else {
			err = cfg.Set(name, value)
		}
		if err != nil {
			return "", err
		}
	}
	s.s = sim.New(sim.Config{Seed: uint64(seed), Replay: fmt.Sprintf("go test ./broker/cluster -run TestScripts (seed %d)", seed)})
	ncfg := network.DefaultConfig()
	ncfg.Link.Latency, ncfg.Link.Jitter = latency, 0
	s.net, err = network.New(s.s, ncfg)
	if err != nil {
		return "", err
	}
	s.obs = &observer{s: s}
	cfg.Observer = s.obs
	s.c, err = cluster.New(s.s, s.net, cfg)
	if err != nil {
		return "", err
	}
	s.kinds = make(map[string]bool)
	for _, k := range defaultKinds {
		s.kinds[k] = true
	}
	s.s.Trace().SetSink(func(r sim.Record) {
		if s.kinds[r.Kind] {
			node := r.Node
			if node == "" {
				node = "-"
			}
			line := fmt.Sprintf("%s %s %s %s", at(r.At), node, strings.TrimPrefix(strings.TrimPrefix(r.Kind, "controller."), "node."), r.Detail)
			s.logf("%s", strings.TrimSpace(line))
		}
	})
	if err := s.c.Start(); err != nil {
		return "", err
	}
	// Startup is the same in every script; print only its outcome.
	s.kinds = map[string]bool{}
	err = s.c.WaitReady(30 * time.Second)
	s.flush()
	for _, k := range defaultKinds {
		s.kinds[k] = true
	}
	if err != nil {
		return "", err
	}
	if cfg.ZK() {
		ctl := s.c.ZKController()
		epoch, _ := ctl.ZKControllerEpoch()
		return fmt.Sprintf("ready at %s: active controller %s, controller epoch %d\n", at(s.s.Now()), ctl.Node().Name(), epoch), nil
	}
	return fmt.Sprintf("ready at %s: active controller %s\n", at(s.s.Now()), s.c.ActiveController().Node().Name()), nil
}

// topic name=t partitions=1 rf=3; input lines are topic configs. Creates
// the topic through the active controller and waits for its leaders.
func (s *script) topic(a args, d *datadriven.TestData) (string, error) {
	parts, err := a.int("partitions", 1)
	if err != nil {
		return "", err
	}
	rf, err := a.int("rf", 3)
	if err != nil {
		return "", err
	}
	t := cluster.Topic{Name: a.str("name", "t"), Partitions: int(parts), ReplicationFactor: int(rf), Configs: map[string]string{}}
	for _, line := range strings.Split(d.Input, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return "", fmt.Errorf("topic config line %q: write name=value", line)
		}
		t.Configs[k] = v
	}
	err = s.c.CreateTopic(t, 10*time.Second)
	out := s.flush()
	if err != nil {
		return out, err
	}
	var b strings.Builder
	b.WriteString(out)
	im := s.c.Metadata()
	for _, tp := range im.Partitions() {
		if tp.Topic == t.Name {
			p, _ := im.Partition(tp)
			fmt.Fprintf(&b, "%s: %s\n", tp, cluster.DescribePartition(p))
		}
	}
	return b.String(), nil
}

// produce [topic=t partition=0] [broker=N] acks=all|1|0 values=a,b
// [wait=1s]: sends from the admin node to the broker (by default the
// committed leader) and runs until the answer comes or wait passes.
func (s *script) produce(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	to := int32(-1)
	if v, ok := a["broker"]; ok {
		n, err := a.int("broker", 0)
		if err != nil {
			return "", fmt.Errorf("broker=%q: want a broker id", v)
		}
		to = int32(n)
	} else if l, ok := s.c.Leader(tp); ok {
		to = l
	} else {
		return "", fmt.Errorf("%s has no leader: give broker=N", tp)
	}
	acks, err := broker.ParseAcks(a.str("acks", "all"))
	if err != nil {
		return "", err
	}
	wait, err := a.duration("wait", time.Second)
	if err != nil {
		return "", err
	}
	values := strings.Split(a.str("values", "x"), ",")
	req := &protocol.Produce{CorrelationID: s.c.NextCorrelation(), Acks: acks, Timeout: 30 * time.Second,
		Partitions: []protocol.ProducePartition{{TP: tp, Records: protocol.NewRecords(protocol.NoProducer, int64(s.s.Now()/time.Millisecond), values...)}}}
	return s.ask(to, req, wait, acks == protocol.AcksNone)
}

// ask sends req from the admin node to broker to and prints what happens
// until it is answered or wait passes; a request with no answer (acks=0)
// is done once sent.
func (s *script) ask(to int32, req protocol.Request, wait time.Duration, noAnswer bool) (string, error) {
	done := false
	if err := s.c.Send(to, req, func(r protocol.Response) {
		done = true
		s.logf("%s admin <- b%d: %v", at(s.s.Now()), to, r)
	}); err != nil {
		return "", err
	}
	if noAnswer {
		done = true
	}
	if _, err := s.s.RunUntilTrue(s.s.Now()+wait, func() bool { return done }); err != nil {
		return s.flush(), err
	}
	if !done {
		s.logf("no answer from b%d within %v", to, wait)
	}
	return s.flush(), nil
}

// fetch [topic=t partition=0] broker=N [offset=0] [epoch=-1]: a consumer
// Fetch that believes leader epoch epoch (KIP-320), from the admin node.
func (s *script) fetch(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	to, err := a.int("broker", 0)
	if err != nil {
		return "", err
	}
	off, err := a.int("offset", 0)
	if err != nil {
		return "", err
	}
	epoch, err := a.int("epoch", -1)
	if err != nil {
		return "", err
	}
	req := &protocol.Fetch{CorrelationID: s.c.NextCorrelation(), ReplicaID: protocol.ConsumerReplicaID, ReplicaEpoch: protocol.NoBrokerEpoch,
		MinBytes: 1, MaxBytes: 1 << 20,
		Partitions: []protocol.FetchPartition{{TP: tp, CurrentLeaderEpoch: int32(epoch), FetchOffset: off, LastFetchedEpoch: protocol.NoEpoch}}}
	resp, err := s.c.Request(int32(to), req, time.Second)
	if err != nil {
		return s.flush(), err
	}
	return s.flush() + fmt.Sprintf("%s admin <- b%d: %v\n", at(s.s.Now()), to, resp), nil
}

// run 10s: runs the simulation, printing what happens.
func (s *script) run(a args, d *datadriven.TestData) (string, error) {
	dur := time.Second
	if len(d.CmdArgs) > 0 {
		v, err := time.ParseDuration(d.CmdArgs[0].Key)
		if err != nil {
			return "", fmt.Errorf("run %s: want a duration such as 500ms or 10s", d.CmdArgs[0].Key)
		}
		dur = v
	}
	err := s.s.RunFor(dur)
	return s.flush(), err
}

// describe: the controllers, brokers and partitions (Cluster.Describe).
func (s *script) describe(args, *datadriven.TestData) (string, error) {
	return s.flush() + s.c.Describe(), nil
}

// print [topic=t partition=0]: the committed state of the partition and
// every replica: role, leader epoch, log end, high-water mark, the log.
func (s *script) print(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(s.flush())
	p, ok := s.c.Partition(tp)
	if !ok {
		return b.String(), fmt.Errorf("unknown partition %s", tp)
	}
	fmt.Fprintf(&b, "%s: %s\n", tp, cluster.DescribePartition(p))
	for _, id := range p.Replicas {
		br := s.c.Broker(id)
		if br == nil {
			fmt.Fprintf(&b, "  b%d down\n", id)
			continue
		}
		r, ok := br.Partition(tp)
		if !ok {
			fmt.Fprintf(&b, "  b%d no replica\n", id)
			continue
		}
		role := "follower"
		if r.IsLeader() {
			role = "leader"
		}
		fmt.Fprintf(&b, "  b%d %-8s epoch=%d leo=%d hwm=%d log=%s\n", id, role, r.LeaderEpoch(), r.LogEndOffset(), r.HighWatermark(), r.Log())
	}
	return b.String(), nil
}

// crash|power-loss|restart|pause|resume|lose-disk <node or selector>...
// [tear]: lifecycle faults, on node names (b1, c2) or the fault selectors
// (controller, leader(t-0), follower(t-0), brokers, controllers).
func (s *script) node(a args, d *datadriven.TestData) (string, error) {
	var nodes []*sim.Node
	for _, arg := range d.CmdArgs {
		if arg.Key == "tear" {
			continue
		}
		sel := arg.Key
		if len(arg.Vals) > 0 {
			sel = arg.Key + "=" + strings.Join(arg.Vals, ",")
		}
		ns, err := s.c.Resolve(sel)
		if err != nil {
			return "", err
		}
		if len(ns) == 0 {
			return "", fmt.Errorf("%s matches no node now", sel)
		}
		nodes = append(nodes, ns...)
	}
	if len(nodes) == 0 {
		return "", fmt.Errorf("%s: name the nodes, such as b1, c1 or leader(t-0)", d.Cmd)
	}
	_, tear := a["tear"]
	for _, n := range nodes {
		var err error
		switch d.Cmd {
		case "crash":
			err = n.Crash()
		case "power-loss":
			n.PowerLoss(tear)
		case "restart":
			err = n.Restart()
		case "pause":
			err = n.Pause()
		case "resume":
			err = n.Resume()
		case "lose-disk":
			n.LoseDisk()
		}
		if err != nil {
			return s.flush(), err
		}
	}
	return s.flush(), nil
}

// shutdown broker=N [timeout=30s]: a controlled shutdown, run until the
// broker's node is down.
func (s *script) shutdown(a args, _ *datadriven.TestData) (string, error) {
	id, err := a.int("broker", 0)
	if err != nil {
		return "", err
	}
	timeout, err := a.duration("timeout", 30*time.Second)
	if err != nil {
		return "", err
	}
	stopped := false
	if err := s.c.Shutdown(int32(id), timeout, func(err error) {
		stopped = true
		if err != nil {
			s.logf("%s b%d shutdown: %v", at(s.s.Now()), id, err)
		} else {
			s.logf("%s b%d stopped after a controlled shutdown", at(s.s.Now()), id)
		}
	}); err != nil {
		return "", err
	}
	if _, err := s.s.RunUntilTrue(s.s.Now()+timeout+time.Second, func() bool { return stopped }); err != nil {
		return s.flush(), err
	}
	return s.flush(), nil
}

// partition b1 | b2,b3,c1,c2,c3; isolate b1 (a node or selector); heal.
func (s *script) partition(a args, d *datadriven.TestData) (string, error) {
	switch d.Cmd {
	case "heal":
		s.net.Heal()
		return s.flush(), nil
	case "isolate":
		for _, arg := range d.CmdArgs {
			nodes, err := s.c.Resolve(arg.Key)
			if err != nil {
				return "", err
			}
			for _, n := range nodes {
				if err := s.net.Isolate(n.ID()); err != nil {
					return "", err
				}
			}
		}
		return s.flush(), nil
	}
	var groups [][]string
	cur := []string{}
	for _, arg := range d.CmdArgs {
		if arg.Key == "|" {
			groups = append(groups, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, strings.Split(arg.Key, ",")...)
	}
	groups = append(groups, cur)
	gs, err := s.net.Groups(groups...)
	if err != nil {
		return "", err
	}
	return s.flush(), s.net.Partition(gs...)
}

// link from=b1 to=c1 latency=5s: sets one directed link's latency.
func (s *script) link(a args, _ *datadriven.TestData) (string, error) {
	ids, err := s.net.Resolve(a.str("from", ""), a.str("to", ""))
	if err != nil {
		return "", err
	}
	latency, err := a.duration("latency", time.Millisecond)
	if err != nil {
		return "", err
	}
	return s.flush(), s.net.SetLink(ids[0], ids[1], network.Link{Latency: latency})
}

// disconnect a=c1 b=c2,c3: cuts the links both ways between a and each
// node of b; heal restores them.
func (s *script) disconnect(a args, _ *datadriven.TestData) (string, error) {
	from, err := s.net.Resolve(a.str("a", ""))
	if err != nil {
		return "", err
	}
	to, err := s.net.Resolve(strings.Split(a.str("b", ""), ",")...)
	if err != nil {
		return "", err
	}
	for _, t := range to {
		if err := s.net.Cut(from[0], t); err != nil {
			return "", err
		}
		if err := s.net.Cut(t, from[0]); err != nil {
			return "", err
		}
	}
	return s.flush(), nil
}

// elect type=preferred|unclean [partition=t-0 ...]: ElectLeaders to the
// active controller.
func (s *script) elect(a args, _ *datadriven.TestData) (string, error) {
	kind := protocol.ElectPreferred
	switch a.str("type", "preferred") {
	case "preferred":
	case "unclean":
		kind = protocol.ElectUnclean
	default:
		return "", fmt.Errorf("type=%q: accepted are preferred and unclean", a["type"])
	}
	var tps []model.TopicPartition
	if v, ok := a["partition"]; ok {
		for _, p := range strings.Split(v, ",") {
			tp, err := cluster.ParsePartition(p)
			if err != nil {
				return "", err
			}
			tps = append(tps, tp)
		}
	}
	return s.controllerRequest(&protocol.ElectLeaders{CorrelationID: s.c.NextCorrelation(), ElectionType: kind, Partitions: tps})
}

// alter-partition partition=t-0 from=N isr=1,2,3 [broker-epoch=E]
// [leader-epoch=E] [partition-epoch=E] [isr-epochs=1:E,2:E] [recovering]:
// an AlterPartition to the active controller as broker from would send it;
// epochs default to the committed ones (the broker epochs of the ISR
// members to -1, unchecked).
func (s *script) alterPartition(a args, _ *datadriven.TestData) (string, error) {
	tp, err := a.tp()
	if err != nil {
		return "", err
	}
	from, err := a.int("from", 0)
	if err != nil {
		return "", err
	}
	im := s.c.Metadata()
	p, ok := im.Partition(tp)
	leaderEpoch, partitionEpoch, brokerEpoch := int64(0), int64(0), int64(-1)
	if ok {
		leaderEpoch, partitionEpoch = int64(p.LeaderEpoch), int64(p.PartitionEpoch)
	}
	if reg, ok := im.Broker(int32(from)); ok {
		brokerEpoch = reg.Epoch
	}
	if brokerEpoch, err = a.int("broker-epoch", brokerEpoch); err != nil {
		return "", err
	}
	if leaderEpoch, err = a.int("leader-epoch", leaderEpoch); err != nil {
		return "", err
	}
	if partitionEpoch, err = a.int("partition-epoch", partitionEpoch); err != nil {
		return "", err
	}
	epochs := map[int64]int64{}
	for _, kv := range strings.Split(a.str("isr-epochs", ""), ",") {
		if kv == "" {
			continue
		}
		var id, e int64
		if _, err := fmt.Sscanf(kv, "%d:%d", &id, &e); err != nil {
			return "", fmt.Errorf("isr-epochs=%q: write broker:epoch pairs such as 1:12,2:7", a["isr-epochs"])
		}
		epochs[id] = e
	}
	item := protocol.AlterPartitionItem{TP: tp, LeaderEpoch: int32(leaderEpoch), PartitionEpoch: int32(partitionEpoch)}
	if _, ok := a["recovering"]; ok {
		item.LeaderRecoveryState = protocol.Recovering
	}
	for _, f := range strings.Split(a.str("isr", ""), ",") {
		var id int64
		if _, err := fmt.Sscanf(f, "%d", &id); err != nil {
			return "", fmt.Errorf("isr=%q: write broker ids such as 1,2,3", a["isr"])
		}
		e, ok := epochs[id]
		if !ok {
			e = protocol.NoBrokerEpoch
		}
		item.NewISR = append(item.NewISR, protocol.BrokerState{BrokerID: int32(id), BrokerEpoch: e})
	}
	return s.controllerRequest(&protocol.AlterPartition{CorrelationID: s.c.NextCorrelation(), BrokerID: int32(from), BrokerEpoch: brokerEpoch,
		Partitions: []protocol.AlterPartitionItem{item}})
}

// admin broker=N describe-topics|describe-cluster|create-topic
// [name=t partitions=1 rf=3]: an admin request to a broker, which answers
// from its metadata or forwards to the active controller.
func (s *script) admin(a args, d *datadriven.TestData) (string, error) {
	to, err := a.int("broker", 1)
	if err != nil {
		return "", err
	}
	var req protocol.Request
	switch {
	case a.has("describe-topics"):
		req = &protocol.DescribeTopicPartitions{CorrelationID: s.c.NextCorrelation()}
	case a.has("describe-cluster"):
		req = &protocol.DescribeCluster{CorrelationID: s.c.NextCorrelation(), IncludeFencedBrokers: true}
	case a.has("create-topic"):
		parts, err1 := a.int("partitions", 1)
		rf, err2 := a.int("rf", 3)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("partitions and rf are whole numbers")
		}
		req = &protocol.CreateTopics{CorrelationID: s.c.NextCorrelation(), Topics: []protocol.CreatableTopic{{Name: a.str("name", "t"),
			NumPartitions: int32(parts), ReplicationFactor: int16(rf)}}}
	case a.has("create-partitions"):
		count, err := a.int("count", 0)
		if err != nil {
			return "", err
		}
		req = &protocol.CreatePartitions{CorrelationID: s.c.NextCorrelation(), Topics: []protocol.CreatePartitionsTopic{{Name: a.str("name", "t"),
			Count: int32(count)}}}
	default:
		return "", fmt.Errorf("admin: give describe-topics, describe-cluster, create-topic or create-partitions")
	}
	resp, err := s.c.Request(int32(to), req, 10*time.Second)
	if err != nil {
		return s.flush(), err
	}
	var b strings.Builder
	b.WriteString(s.flush())
	fmt.Fprintf(&b, "%v\n", resp)
	if r, ok := resp.(*protocol.DescribeTopicPartitionsResponse); ok {
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				fmt.Fprintf(&b, "  %s-%d leader=%d leader-epoch=%d partition-epoch=%d replicas=%v isr=%v elr=%v last-known-elr=%v offline=%v recovering=%t\n",
					t.Name, p.Partition, p.Leader, p.LeaderEpoch, p.PartitionEpoch, p.Replicas, p.ISR, p.ELR, p.LastKnownELR, p.OfflineReplicas, p.Recovering)
			}
		}
	}
	if r, ok := resp.(*protocol.DescribeClusterResponse); ok {
		for _, br := range r.Brokers {
			fmt.Fprintf(&b, "  broker %d epoch=%d fenced=%t controlled-shutdown=%t\n", br.ID, br.Epoch, br.Fenced, br.InControlledShutdown)
		}
	}
	for _, msg := range responseMessages(resp) {
		fmt.Fprintf(&b, "  %s\n", msg)
	}
	return b.String(), nil
}

// alter-config topic=t [cluster] name=value ... [delete=name]: an
// IncrementalAlterConfigs to the active controller.
func (s *script) alterConfig(a args, d *datadriven.TestData) (string, error) {
	res := protocol.AlterConfigsResource{Type: protocol.ResourceTopic, Name: a.str("topic", "")}
	if _, ok := a["cluster"]; ok {
		res = protocol.AlterConfigsResource{Type: protocol.ResourceBroker}
	}
	for _, k := range slices.Sorted(maps.Keys(a)) {
		switch k {
		case "topic", "cluster":
		case "delete":
			res.Configs = append(res.Configs, protocol.AlterableConfig{Name: a[k], Op: protocol.ConfigDelete})
		default:
			res.Configs = append(res.Configs, protocol.AlterableConfig{Name: k, Op: protocol.ConfigSet, Value: a[k]})
		}
	}
	return s.controllerRequest(&protocol.IncrementalAlterConfigs{CorrelationID: s.c.NextCorrelation(), Resources: []protocol.AlterConfigsResource{res}})
}

// delete-topic name=t [timeout=5s]: a DeleteTopics to the active
// controller.
func (s *script) deleteTopic(a args, _ *datadriven.TestData) (string, error) {
	timeout, err := a.duration("timeout", 0)
	if err != nil {
		return "", err
	}
	return s.controllerRequest(&protocol.DeleteTopics{CorrelationID: s.c.NextCorrelation(), Names: strings.Split(a.str("name", "t"), ","), Timeout: timeout})
}

func (s *script) controllerRequest(req protocol.Request) (string, error) {
	var to int32
	switch ctl, zk := s.c.ActiveController(), s.c.ZKController(); {
	case zk != nil:
		to = zk.ID()
	case ctl != nil:
		to = ctl.ID()
	default:
		return s.flush(), fmt.Errorf("no active controller")
	}
	resp, err := s.c.Request(to, req, 10*time.Second)
	if err != nil {
		return s.flush(), err
	}
	var b strings.Builder
	b.WriteString(s.flush())
	fmt.Fprintf(&b, "%v\n", resp)
	for _, msg := range responseMessages(resp) {
		fmt.Fprintf(&b, "  %s\n", msg)
	}
	return b.String(), nil
}

// responseMessages returns the error messages of an admin response.
func responseMessages(r protocol.Response) []string {
	var out []string
	switch r := r.(type) {
	case *protocol.CreateTopicsResponse:
		for _, t := range r.Topics {
			if t.Message != "" {
				out = append(out, t.Name+": "+t.Message)
			}
		}
	case *protocol.CreatePartitionsResponse:
		for _, t := range r.Topics {
			if t.Message != "" {
				out = append(out, t.Name+": "+t.Message)
			}
		}
	case *protocol.DeleteTopicsResponse:
		for _, t := range r.Topics {
			if t.Message != "" {
				out = append(out, t.Name+": "+t.Message)
			}
		}
	case *protocol.ElectLeadersResponse:
		for _, p := range r.Results {
			if p.Message != "" {
				out = append(out, p.TP.String()+": "+p.Message)
			}
		}
	case *protocol.IncrementalAlterConfigsResponse:
		for _, res := range r.Results {
			if res.Message != "" {
				out = append(out, res.Name+": "+res.Message)
			}
		}
	}
	return out
}

// marks [prefix=controller.]: the coverage marks reached, with counts.
func (s *script) marks(a args, _ *datadriven.TestData) (string, error) {
	var b strings.Builder
	b.WriteString(s.flush())
	prefix := a.str("prefix", "")
	for _, name := range s.s.MarkNames() {
		if strings.HasPrefix(name, prefix) {
			fmt.Fprintf(&b, "%s %d\n", name, s.s.Marked(name))
		}
	}
	return b.String(), nil
}

// trace +kind -kind ...: prints more, or fewer, kinds of trace records.
func (s *script) trace(_ args, d *datadriven.TestData) (string, error) {
	for _, arg := range d.CmdArgs {
		switch {
		case strings.HasPrefix(arg.Key, "+"):
			s.kinds[arg.Key[1:]] = true
		case strings.HasPrefix(arg.Key, "-"):
			delete(s.kinds, arg.Key[1:])
		default:
			return "", fmt.Errorf("trace %s: write +kind or -kind", arg.Key)
		}
	}
	return s.flush(), nil
}
