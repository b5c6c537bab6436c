// Package shell runs Kafka's command-line tools (kafka-topics.sh,
// kafka-console-producer.sh, kafka-console-consumer.sh,
// kafka-consumer-groups.sh, kafka-configs.sh, kafka-leader-election.sh,
// kafka-metadata-quorum.sh) against a simulated cluster, one command line
// at a time, with the tools' options and output formats, together with
// simulation verbs that inject faults (crash b1, partition b1 | b2,b3,
// heal, ...) and advance the simulated clock. A session is its scenario,
// its seed and its command list: replaying them gives the same output.
//
// Each tool call runs the simulation until the call completes (or gives
// up after a bounded simulated time); between commands the simulated
// clock stands still unless "advance" moves it.
package shell

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/cluster"
	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
	"github.com/kafkasim/kafkasim/scenarios"
	"github.com/kafkasim/kafkasim/sim"
)

// callLimit bounds the simulated time one tool call may take.
const callLimit = 2 * time.Minute

// Shell is a session against one simulated cluster.
type Shell struct {
	sc      scenarios.Scenario
	s       *sim.Sim
	cl      *cluster.Cluster
	rec     *history.Recorder
	admin   *client.Admin
	env     client.Env
	clients int
	// configs are the topic configs set through the shell or the
	// scenario, per topic: what kafka-topics --describe shows as Configs.
	configs map[string]map[string]string
	// Commands is the session so far: each command line, with the input
	// lines a console producer read, in order.
	commands []Command
	inv      *checker.Invariants
	// NoFiles turns off the verbs that write files (report, save).
	NoFiles bool
}

// Command is one command of a session and the input lines it read.
type Command struct {
	Line   string
	Input  []string
	Output string
}

// DefaultScenario is the cluster a shell runs without a scenario: three
// brokers, one controller, no topics, seed 1.
func DefaultScenario() scenarios.Scenario {
	return scenarios.Scenario{Name: "shell", Seed: 1, Cluster: scenarios.Cluster{Brokers: new(3), Controllers: new(1)}}
}

// New starts a session: it builds the scenario's cluster (its brokers,
// controllers, configs and topics; not its workload or faults), waits
// until the cluster is ready and the topics have leaders.
func New(sc scenarios.Scenario) (*Shell, error) {
	sc = sc.Defaults()
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	replay := fmt.Sprintf("kafkasim shell %s --seed %d", sc.Name, sc.Seed)
	s := sim.New(sim.Config{Seed: sc.Seed, Writeback: time.Duration(sc.Cluster.OSWriteback), Replay: replay})
	netCfg := network.DefaultConfig()
	net, err := network.New(s, netCfg)
	if err != nil {
		return nil, err
	}
	cfg, err := scenarios.ClusterConfig(sc)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	inv := checker.NewInvariants(checker.InvariantConfig{Run: checker.Run{Seed: sc.Seed, Replay: replay}, Continue: true})
	cfg.Observer = inv
	cl, err := cluster.New(s, net, cfg)
	if err != nil {
		return nil, err
	}
	brokerOf := map[*sim.Node]int32{}
	for _, id := range cl.BrokerIDs() {
		brokerOf[cl.Node(id)] = id
	}
	s.OnNode(func(n *sim.Node, ev sim.NodeEvent) {
		if id, ok := brokerOf[n]; ok && ev == sim.NodePowerLost {
			inv.PowerLost(id)
		}
	})
	if err := cl.Start(); err != nil {
		return nil, err
	}
	inv.Register(s, cl.View())
	if err := cl.WaitReady(time.Minute); err != nil {
		return nil, fmt.Errorf("the cluster did not become ready: %w", err)
	}
	sh := &Shell{sc: sc, s: s, cl: cl, inv: inv, configs: map[string]map[string]string{}}
	sh.rec = history.NewRecorder(history.Header{Seed: sc.Seed, Replay: replay, Scenario: sc.Name})
	sh.env = client.Env{Net: net, Dir: cl.Directory(), Bootstrap: cl.BrokerIDs(), Recorder: sh.rec, NoFetchSessions: cl.Config().Broker.NoFetchSessions}
	for _, t := range sc.Cluster.Topics {
		if err := cl.CreateTopic(cluster.Topic{Name: t.Name, Partitions: *t.Partitions, ReplicationFactor: *t.ReplicationFactor, Configs: t.Config}, time.Minute); err != nil {
			return nil, fmt.Errorf("create topic %s: %w", t.Name, err)
		}
		if len(t.Config) > 0 {
			sh.configs[t.Name] = t.Config
		}
	}
	cfgAdmin, err := client.ParseAdminConfig(map[string]string{"client.id": "adminclient-1"})
	if err != nil {
		return nil, err
	}
	n, err := s.AddNode("kafka-tools", func(n *sim.Node) any {
		sh.admin, err = client.NewAdmin(n, sh.env, cfgAdmin)
		return &client.Process{Admin: sh.admin}
	})
	if err != nil {
		return nil, err
	}
	if err := n.Start(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return sh, nil
}

// Sim returns the session's simulation.
func (sh *Shell) Sim() *sim.Sim { return sh.s }

// Cluster returns the session's cluster.
func (sh *Shell) Cluster() *cluster.Cluster { return sh.cl }

// Scenario returns the scenario the session runs, with its defaults.
func (sh *Shell) Scenario() scenarios.Scenario { return sh.sc }

// History returns the operations the session's tools performed.
func (sh *Shell) History() *history.Recorder { return sh.rec }

// Commands returns the session's commands so far.
func (sh *Shell) Commands() []Command { return slices.Clone(sh.commands) }

// TakesInput reports whether a command line reads input lines after it
// (a console producer does).
func TakesInput(line string) bool {
	w, err := split(line)
	return err == nil && len(w) > 0 && toolName(w[0]) == "kafka-console-producer"
}

// toolName strips a tool's directory and ".sh": bin/kafka-topics.sh and
// kafka-topics are both kafka-topics.
func toolName(w string) string {
	if i := strings.LastIndexByte(w, '/'); i >= 0 {
		w = w[i+1:]
	}
	return strings.TrimSuffix(w, ".sh")
}

// ErrQuit is what Exec returns for "exit" and "quit".
var ErrQuit = errors.New("quit")

// Exec runs one command line, with the input lines a console producer
// reads, and returns what the tool prints (its standard output and error
// together). err is ErrQuit for "exit", or the reason the command failed;
// its output then says why, as Kafka's tools print it. Nothing typed
// panics: a command that cannot be read is an error.
func (sh *Shell) Exec(line string, input []string) (out string, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = fmt.Sprintf("internal error running %q: %v\n", line, r), fmt.Errorf("internal error: %v", r)
		}
	}()
	words, err := split(strings.TrimSpace(line))
	if err != nil {
		return "Error: " + err.Error() + "\n", err
	}
	if len(words) == 0 || strings.HasPrefix(words[0], "#") {
		return "", nil
	}
	var b strings.Builder
	err = sh.dispatch(&b, words, input)
	if err != nil && !errors.Is(err, ErrQuit) && !errors.Is(err, errPrinted) {
		fmt.Fprintf(&b, "%s\n", err)
	}
	if !errors.Is(err, ErrQuit) {
		sh.commands = append(sh.commands, Command{Line: line, Input: slices.Clone(input), Output: b.String()})
	}
	return b.String(), err
}

// errPrinted is a failure whose message the tool already printed.
var errPrinted = errors.New("the command failed")

type tool struct {
	run  func(sh *Shell, b *strings.Builder, args []string, input []string) error
	help string
}

var tools map[string]tool

func init() {
	tools = map[string]tool{
		"kafka-topics":           {(*Shell).topics, "create, list, describe, alter and delete topics"},
		"kafka-console-producer": {(*Shell).produce, "send the input lines as records"},
		"kafka-console-consumer": {(*Shell).consume, "read records and print them"},
		"kafka-consumer-groups":  {(*Shell).groups, "list and describe groups, reset their offsets"},
		"kafka-configs":          {(*Shell).configsTool, "describe and alter topic configs"},
		"kafka-leader-election":  {(*Shell).election, "elect preferred or unclean leaders"},
		"kafka-metadata-quorum":  {(*Shell).quorum, "describe the metadata quorum"},
		"kafka-delete-records":   {(*Shell).deleteRecords, "delete the records below the offsets of --offset-json-file"},
		"advance":                {(*Shell).advance, "advance DURATION: run the simulation for a while (advance 10s)"},
		"check":                  {(*Shell).check, "run the checkers on the history so far and print the verdict"},
		"report":                 {(*Shell).report, "report FILE.html: the HTML report of the session so far"},
		"save":                   {(*Shell).save, "save FILE.json: the scenario as FILE.json and the session as the script FILE.txt"},
		"status":                 {(*Shell).status, "the brokers, controllers and partitions as the simulation sees them"},
		"help":                   {(*Shell).help, "this list"},
	}
	for _, k := range faultVerbs() {
		tools[string(k)] = tool{func(sh *Shell, b *strings.Builder, args, _ []string) error { return sh.fault(b, k, args) }, k.Doc()}
	}
}

func (sh *Shell) dispatch(b *strings.Builder, words, input []string) error {
	name := toolName(words[0])
	switch name {
	case "exit", "quit":
		return ErrQuit
	}
	t, ok := tools[name]
	if !ok {
		return fmt.Errorf("%s: command not found; the shell runs %s", words[0], strings.Join(toolNames(), ", "))
	}
	return t.run(sh, b, words[1:], input)
}

func toolNames() []string {
	var out []string
	for k := range tools {
		if strings.HasPrefix(k, "kafka-") {
			k += ".sh"
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return append(out, "exit")
}

func (sh *Shell) help(b *strings.Builder, _ []string, _ []string) error {
	for _, k := range toolNames() {
		if k == "exit" {
			fmt.Fprintf(b, "  %-28s %s\n", k, "end the session")
			continue
		}
		fmt.Fprintf(b, "  %-28s %s\n", k, tools[toolName(k)].help)
	}
	return nil
}

func (sh *Shell) advance(b *strings.Builder, args []string, _ []string) error {
	if len(args) != 1 {
		return errors.New("advance takes one duration, such as 10s or 500ms")
	}
	d, err := time.ParseDuration(args[0])
	if err != nil || d < 0 {
		return fmt.Errorf("advance: %q is not a duration: give one such as 10s, 1m or 500ms", args[0])
	}
	if d > 24*time.Hour {
		return fmt.Errorf("advance: %v is more than a day of simulated time; give at most 24h", d)
	}
	return sh.s.RunFor(d)
}

func (sh *Shell) status(b *strings.Builder, _ []string, _ []string) error {
	fmt.Fprintf(b, "time %v\n", sh.s.Now())
	b.WriteString(sh.cl.Describe())
	return nil
}

// await runs a client call to completion.
func (sh *Shell) await(start func(done func())) error {
	return client.Await(sh.s, callLimit, start)
}

// newClient adds a client node and returns its process, started.
func (sh *Shell) newClient(kind string, boot func(n *sim.Node) (*client.Process, error)) error {
	sh.clients++
	var berr error
	n, err := sh.s.AddNode(fmt.Sprintf("%s-%d", kind, sh.clients), func(n *sim.Node) any {
		p, err := boot(n)
		if err != nil {
			berr = err
			return &client.Process{}
		}
		return p
	})
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		return err
	}
	return berr
}
