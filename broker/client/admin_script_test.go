package client_test

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

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

func TestAdminScripts(t *testing.T) { runScripts(t, "testdata/admin") }

func init() {
	maps.Copy(scriptVerbs, map[string]func(e *scriptEnv, d *datadriven.TestData) string{
		"admin":           (*scriptEnv).admin,
		"create-topics":   (*scriptEnv).createTopics,
		"delete-topics":   (*scriptEnv).deleteTopics,
		"describe-topics": (*scriptEnv).describeTopics,
		"elect-leaders":   (*scriptEnv).electLeaders,
		"alter-configs":   (*scriptEnv).alterConfigs,
		"list-offsets":    (*scriptEnv).listOffsets,
		"list-groups":     (*scriptEnv).listGroups,
		"describe-groups": (*scriptEnv).describeGroups,
		"group-offsets":   (*scriptEnv).groupOffsets,
		"committed":       (*scriptEnv).committed,
		"alter-offsets":   (*scriptEnv).alterOffsets,
		"reset-offsets":   (*scriptEnv).resetOffsets,
		"fault-admin":     (*scriptEnv).faultAdmin,
		"consumer":        (*scriptEnv).consumer,
		"close":           (*scriptEnv).closeConsumer,
		"write":           (*scriptEnv).write,
		"ops":             (*scriptEnv).ops,
	})
}

// admin <name> [property=value ...] starts an admin client.
func (e *scriptEnv) admin(d *datadriven.TestData) string {
	name := e.name(d)
	props := map[string]string{"client.id": name}
	for _, a := range d.CmdArgs[1:] {
		props[a.Key] = strings.Join(a.Vals, ",")
	}
	cfg, err := client.ParseAdminConfig(props)
	if err != nil {
		return fmt.Sprintf("error: %v\n", err)
	}
	n, err := e.fc.s.AddNode(name, func(n *sim.Node) any {
		a, err := client.NewAdmin(n, e.fc.env(), cfg)
		require.NoError(e.t, err)
		e.admins[name] = a
		return &client.Process{Admin: a}
	})
	require.NoError(e.t, err)
	require.NoError(e.t, n.Start())
	return ""
}

func (e *scriptEnv) adminClient(d *datadriven.TestData) *client.Admin {
	name := e.name(d)
	a, ok := e.admins[name]
	if !ok {
		d.Fatalf(e.t, "no admin client %q: start it with admin %s", name, name)
	}
	return a
}

// await runs the simulation until an operation calls back (at most two
// simulated minutes) and returns what happened on the way and what it
// said.
func (e *scriptEnv) await(d *datadriven.TestData, start func(finish func(string)) error) string {
	var out string
	finished := false
	if err := start(func(s string) { out, finished = s, true }); err != nil {
		return fmt.Sprintf("refused: %v\n", err)
	}
	e.fc.runUntil(2*time.Minute, func() bool { return finished }, d.Cmd)
	var b strings.Builder
	for _, l := range e.fc.journal {
		b.WriteString(l + "\n")
	}
	e.fc.journal = nil
	b.WriteString(out)
	return b.String()
}

func errLine(err error) string {
	if err == nil {
		return ""
	}
	return fmt.Sprintf("error: %v\n", err)
}

// args returns the bare words after the client's name.
func args(d *datadriven.TestData) []string {
	var out []string
	for _, a := range d.CmdArgs[1:] {
		if len(a.Vals) == 0 {
			out = append(out, a.Key)
		}
	}
	return out
}

// create-topics <admin> name:partitions:rf ... [config=(k=v,...)]
func (e *scriptEnv) createTopics(d *datadriven.TestData) string {
	a := e.adminClient(d)
	configs := map[string]string{}
	for _, kv := range value(d, "config") {
		k, v, _ := strings.Cut(kv, "=")
		configs[k] = v
	}
	var topics []client.NewTopic
	for _, spec := range args(d) {
		f := strings.Split(spec, ":")
		if len(f) != 3 {
			d.Fatalf(e.t, "create-topics: %q: write name:partitions:replication-factor", spec)
		}
		p, err1 := strconv.Atoi(f[1])
		rf, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			d.Fatalf(e.t, "create-topics: %q: partitions and replication factor are numbers", spec)
		}
		t := client.NewTopic{Name: f[0], Partitions: int32(p), ReplicationFactor: int16(rf)}
		if len(configs) > 0 {
			t.Configs = configs
		}
		topics = append(topics, t)
	}
	return e.await(d, func(finish func(string)) error {
		return a.CreateTopics(topics, func(rs []client.TopicResult) { finish(topicResults(rs)) })
	})
}

func topicResults(rs []client.TopicResult) string {
	var b strings.Builder
	for _, r := range rs {
		if r.Err != nil {
			fmt.Fprintf(&b, "%s: %v\n", r.Name, r.Err)
		} else {
			fmt.Fprintf(&b, "%s: ok\n", r.Name)
		}
	}
	return b.String()
}

// delete-topics <admin> name ...
func (e *scriptEnv) deleteTopics(d *datadriven.TestData) string {
	a := e.adminClient(d)
	return e.await(d, func(finish func(string)) error {
		return a.DeleteTopics(args(d), func(rs []client.TopicResult) { finish(topicResults(rs)) })
	})
}

// describe-topics <admin> [name ...] prints kafka-topics --describe.
func (e *scriptEnv) describeTopics(d *datadriven.TestData) string {
	a := e.adminClient(d)
	return e.await(d, func(finish func(string)) error {
		a.DescribeTopics(args(d), func(ts []client.TopicDescription, err error) {
			finish(client.FormatTopicDescriptions(ts) + errLine(err))
		})
		return nil
	})
}

// elect-leaders <admin> type=preferred|unclean [t-0 ...]
func (e *scriptEnv) electLeaders(d *datadriven.TestData) string {
	a := e.adminClient(d)
	typ := protocol.ElectPreferred
	switch first(d, "type", "preferred") {
	case "preferred":
	case "unclean":
		typ = protocol.ElectUnclean
	default:
		typ = protocol.ElectionType(9)
	}
	var tps []model.TopicPartition
	for _, s := range args(d) {
		tps = append(tps, e.tp(d, s))
	}
	return e.await(d, func(finish func(string)) error {
		return a.ElectLeaders(typ, tps, func(res map[model.TopicPartition]protocol.ErrorCode, err error) {
			var b strings.Builder
			for _, tp := range slices.SortedFunc(maps.Keys(res), model.TopicPartition.Compare) {
				fmt.Fprintf(&b, "%s: %s\n", tp, res[tp].String())
			}
			finish(b.String() + errLine(err))
		})
	})
}

// alter-configs <admin> <topic> [set=(k=v,...)] [delete=(k,...)]
func (e *scriptEnv) alterConfigs(d *datadriven.TestData) string {
	a := e.adminClient(d)
	set := map[string]string{}
	for _, kv := range value(d, "set") {
		k, v, _ := strings.Cut(kv, "=")
		set[k] = v
	}
	topic := ""
	if as := args(d); len(as) > 0 {
		topic = as[0]
	}
	return e.await(d, func(finish func(string)) error {
		return a.AlterTopicConfigs(topic, set, value(d, "delete"), func(err error) {
			if err != nil {
				finish(errLine(err))
				return
			}
			finish(fmt.Sprintf("%s: %v\n", topic, e.fc.configs[topic]))
		})
	})
}

// list-offsets <admin> spec=latest|earliest t-0 ...
func (e *scriptEnv) listOffsets(d *datadriven.TestData) string {
	a := e.adminClient(d)
	spec := client.OffsetLatest
	if first(d, "spec", "latest") == "earliest" {
		spec = client.OffsetEarliest
	}
	var tps []model.TopicPartition
	for _, s := range args(d) {
		tps = append(tps, e.tp(d, s))
	}
	return e.await(d, func(finish func(string)) error {
		return a.ListOffsets(tps, spec, func(res map[model.TopicPartition]client.ListedOffset, err error) {
			var b strings.Builder
			for _, tp := range slices.SortedFunc(maps.Keys(res), model.TopicPartition.Compare) {
				fmt.Fprintf(&b, "%s: %d (leader epoch %d)\n", tp, res[tp].Offset, res[tp].LeaderEpoch)
			}
			finish(b.String() + errLine(err))
		})
	})
}

// list-groups <admin>
func (e *scriptEnv) listGroups(d *datadriven.TestData) string {
	a := e.adminClient(d)
	return e.await(d, func(finish func(string)) error {
		a.ListGroups(func(gs []client.GroupListing, err error) {
			var b strings.Builder
			for _, g := range gs {
				fmt.Fprintf(&b, "%s %s %s\n", g.GroupID, g.State, g.ProtocolType)
			}
			if len(gs) == 0 && err == nil {
				b.WriteString("no groups\n")
			}
			finish(b.String() + errLine(err))
		})
		return nil
	})
}

// describe-groups <admin> <group> ...
func (e *scriptEnv) describeGroups(d *datadriven.TestData) string {
	a := e.adminClient(d)
	return e.await(d, func(finish func(string)) error {
		return a.DescribeGroups(args(d), func(gs []client.GroupDescription, err error) {
			var b strings.Builder
			for _, g := range gs {
				fmt.Fprintf(&b, "%s: state=%s assignor=%s coordinator=%d members=%d\n", g.GroupID, g.State, g.Assignor, g.Coordinator, len(g.Members))
				for _, m := range g.Members {
					fmt.Fprintf(&b, "  member of %s host=%s assignment=%v\n", m.ClientID, m.Host, m.Assignment)
				}
			}
			finish(b.String() + errLine(err))
		})
	})
}

// group-offsets <admin> <group> prints kafka-consumer-groups --describe.
func (e *scriptEnv) groupOffsets(d *datadriven.TestData) string {
	a := e.adminClient(d)
	grp := args(d)[0]
	return e.await(d, func(finish func(string)) error {
		return a.DescribeConsumerGroupOffsets(grp, func(g client.GroupOffsets, err error) {
			finish(g.String() + errLine(err))
		})
	})
}

// committed <admin> <group> [t-0 ...] reads committed offsets.
func (e *scriptEnv) committed(d *datadriven.TestData) string {
	a := e.adminClient(d)
	as := args(d)
	var tps []model.TopicPartition
	for _, s := range as[1:] {
		tps = append(tps, e.tp(d, s))
	}
	return e.await(d, func(finish func(string)) error {
		return a.ListConsumerGroupOffsets(as[0], tps, func(offs []history.CommittedOffset, err error) {
			finish(offsetsLine(offs) + errLine(err))
		})
	})
}

func offsetsLine(offs []history.CommittedOffset) string {
	if len(offs) == 0 {
		return "no offsets\n"
	}
	s := make([]string, len(offs))
	for i, o := range offs {
		s[i] = fmt.Sprintf("%s=%d", o.TP(), o.Offset)
	}
	return strings.Join(s, " ") + "\n"
}

// alter-offsets <admin> <group> t-0=5 ...
func (e *scriptEnv) alterOffsets(d *datadriven.TestData) string {
	a := e.adminClient(d)
	var offs []history.CommittedOffset
	for _, arg := range d.CmdArgs[2:] {
		tp := e.tp(d, arg.Key)
		n, err := strconv.ParseInt(arg.Vals[0], 10, 64)
		require.NoError(e.t, err)
		offs = append(offs, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: n, LeaderEpoch: -1})
	}
	return e.await(d, func(finish func(string)) error {
		return a.AlterConsumerGroupOffsets(d.CmdArgs[1].Key, offs, func(err error) {
			if err != nil {
				finish(errLine(err))
			} else {
				finish("ok\n")
			}
		})
	})
}

// reset-offsets <admin> <group> <to-earliest|to-latest|to-offset=N|shift-by=N> [topics=(t,...)]
func (e *scriptEnv) resetOffsets(d *datadriven.TestData) string {
	a := e.adminClient(d)
	grp := d.CmdArgs[1].Key
	spec := d.CmdArgs[2].Key
	if len(d.CmdArgs[2].Vals) > 0 {
		spec += "=" + d.CmdArgs[2].Vals[0]
	}
	to, err := client.ParseOffsetReset(spec)
	if err != nil {
		return errLine(err)
	}
	return e.await(d, func(finish func(string)) error {
		return a.ResetOffsets(grp, value(d, "topics"), to, func(offs []history.CommittedOffset, err error) {
			if err != nil {
				finish(errLine(err))
				return
			}
			finish(offsetsLine(offs))
		})
	})
}

// fault-admin error=<CODE>|lose-ack|lose-request [times=N] makes the
// next admin requests the fake brokers serve misbehave.
func (e *scriptEnv) faultAdmin(d *datadriven.TestData) string {
	f := &produceFault{times: 1}
	for _, a := range d.CmdArgs {
		switch a.Key {
		case "error":
			code, ok := protocol.ParseErrorCode(a.Vals[0])
			if !ok {
				d.Fatalf(e.t, "fault-admin: unknown error code %q", a.Vals[0])
			}
			f.kind, f.code = "error", code
		case "lose-ack", "lose-request":
			f.kind = a.Key
		case "times":
			n, err := strconv.Atoi(a.Vals[0])
			require.NoError(e.t, err)
			f.times = n
		default:
			d.Fatalf(e.t, "fault-admin: unknown argument %q", a.Key)
		}
	}
	e.fc.adminFaults = append(e.fc.adminFaults, f)
	return ""
}

// consumer <name> group=<g> topics=(t,...) [property=value ...] starts a
// consumer that subscribes and polls every 100 ms.
func (e *scriptEnv) consumer(d *datadriven.TestData) string {
	name := e.name(d)
	props := map[string]string{"client.id": name}
	var topics []string
	for _, a := range d.CmdArgs[1:] {
		switch a.Key {
		case "group":
			props["group.id"] = a.Vals[0]
		case "topics":
			topics = a.Vals
		default:
			props[a.Key] = strings.Join(a.Vals, ",")
		}
	}
	c, _ := e.fc.consumer(props, topics...)
	e.consumers[name] = c
	return ""
}

// close <name> closes a consumer: it commits (with auto-commit) and
// leaves its group.
func (e *scriptEnv) closeConsumer(d *datadriven.TestData) string {
	name := e.name(d)
	c, ok := e.consumers[name]
	if !ok {
		d.Fatalf(e.t, "no consumer %q", name)
	}
	c.Close()
	n, err := e.fc.s.Node(name)
	require.NoError(e.t, err)
	e.fc.run(100 * time.Millisecond)
	require.NoError(e.t, n.Crash()) // the application exits
	return ""
}

// write <t-0> v1 v2 ... appends records to a partition directly.
func (e *scriptEnv) write(d *datadriven.TestData) string {
	tp := e.tp(d, d.CmdArgs[0].Key)
	var vals []string
	for _, a := range d.CmdArgs[1:] {
		vals = append(vals, a.Key)
	}
	e.fc.write(tp, vals...)
	return ""
}

// ops [client] shows the history's operations (of one client).
func (e *scriptEnv) ops(d *datadriven.TestData) string {
	who := ""
	if len(d.CmdArgs) > 0 {
		who = d.CmdArgs[0].Key
	}
	var b strings.Builder
	for _, op := range e.fc.history().Ops {
		if who != "" && op.Client != who {
			continue
		}
		line := fmt.Sprintf("%s/%d %s %s", op.Client, op.Process, op.Kind, op.Outcome)
		if op.Error != "" {
			line += " " + op.Error
		}
		switch {
		case op.Admin != nil:
			line += " " + op.Admin.Action
			if op.Admin.Topic != "" {
				line += " " + op.Admin.Topic
			}
		case op.Offsets != nil:
			line += fmt.Sprintf(" group=%s generation=%d %s", op.Offsets.Group, op.Offsets.Generation, strings.TrimSpace(offsetsLine(op.Offsets.Offsets)))
		default:
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
