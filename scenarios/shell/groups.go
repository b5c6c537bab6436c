package shell

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

var groupFlags = []flagSpec{
	{"bootstrap-server", true}, {"list", false}, {"describe", false}, {"reset-offsets", false}, {"group", true},
	{"all-groups", false}, {"topic", true}, {"all-topics", false}, {"to-earliest", false}, {"to-latest", false},
	{"to-offset", true}, {"shift-by", true}, {"dry-run", false}, {"execute", false}, {"offsets", false}, {"members", false}, {"state", false},
}

// groups is kafka-consumer-groups.sh.
func (sh *Shell) groups(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-consumer-groups.sh", groupFlags, args)
	if err != nil {
		return err
	}
	var actions []string
	for _, a := range []string{"list", "describe", "reset-offsets"} {
		if f.has(a) {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		return errors.New("Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets")
	}
	group := f.get("group", "")
	if actions[0] != "list" && group == "" {
		return fmt.Errorf("Option [%s] takes one of these options: [all-groups], [group]", actions[0])
	}
	switch actions[0] {
	case "list":
		var gs []client.GroupListing
		var lerr error
		if err := sh.await(func(done func()) {
			sh.admin.ListGroups(func(l []client.GroupListing, e error) { gs, lerr = l, e; done() })
		}); err != nil {
			return err
		}
		for _, g := range gs {
			b.WriteString(g.GroupID + "\n")
		}
		if lerr != nil {
			return fmt.Errorf("Error: %s", lerr)
		}
	case "describe":
		var g client.GroupOffsets
		var derr error
		if err := sh.await(func(done func()) {
			if err := sh.admin.DescribeConsumerGroupOffsets(group, func(o client.GroupOffsets, e error) { g, derr = o, e; done() }); err != nil {
				derr = err
				done()
			}
		}); err != nil {
			return err
		}
		if derr != nil {
			return fmt.Errorf("Error: Executing consumer group command failed due to %s", derr)
		}
		b.WriteString(g.String())
	case "reset-offsets":
		return sh.resetOffsets(b, f, group)
	}
	return nil
}

// resetOffsets is --reset-offsets: it computes each partition's new
// offset (kept within the log's start and end, as the tool does), prints
// them and, with --execute, commits them, which Kafka allows only while
// the group has no active member.
func (sh *Shell) resetOffsets(b *strings.Builder, f *flags, group string) error {
	var to client.OffsetReset
	n := 0
	for _, spec := range []string{"to-earliest", "to-latest", "to-offset", "shift-by"} {
		if f.has(spec) {
			n++
			r, err := client.ParseOffsetReset(spec + " " + f.get(spec, ""))
			if err != nil {
				return fmt.Errorf("Error: %s", err)
			}
			to = r
		}
	}
	if n != 1 {
		return errors.New("Option [reset-offsets] takes exactly one reset specification: --to-earliest, --to-latest, --to-offset, --shift-by")
	}
	if f.has("execute") && f.has("dry-run") {
		return errors.New("Option [reset-offsets] takes only one of [dry-run], [execute]")
	}
	if !f.has("topic") && !f.has("all-topics") {
		return errors.New("Option [reset-offsets] takes one of these options: [all-topics], [topic]")
	}
	var tps []model.TopicPartition
	for _, t := range f.vals["topic"] {
		name, list, hasParts := strings.Cut(t, ":")
		ts, err := sh.describeTopics([]string{name})
		if err != nil || len(ts) != 1 {
			return fmt.Errorf("Error: Executing consumer group command failed due to the topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION)", name)
		}
		if !hasParts {
			for _, p := range ts[0].Partitions {
				tps = append(tps, model.TopicPartition{Topic: name, Partition: p.Partition})
			}
			continue
		}
		for _, s := range strings.Split(list, ",") {
			p, err := strconv.ParseInt(s, 10, 32)
			if err != nil || p < 0 || int(p) >= len(ts[0].Partitions) {
				return fmt.Errorf("Error: %q is not a partition of %s: it has partitions 0 to %d", s, name, len(ts[0].Partitions)-1)
			}
			tps = append(tps, model.TopicPartition{Topic: name, Partition: int32(p)})
		}
	}
	var committed []history.CommittedOffset
	var earliest, latest map[model.TopicPartition]client.ListedOffset
	var cerr, eerr, lerr error
	var desc []client.GroupDescription
	var gerr error
	if err := sh.await(func(done func()) {
		if err := sh.admin.DescribeGroups([]string{group}, func(d []client.GroupDescription, e error) { desc, gerr = d, e; done() }); err != nil {
			gerr = err
			done()
		}
	}); err != nil {
		return err
	}
	if gerr != nil {
		return fmt.Errorf("Error: Executing consumer group command failed due to %s", gerr)
	}
	if f.has("all-topics") {
		if err := sh.await(func(done func()) {
			if err := sh.admin.ListConsumerGroupOffsets(group, nil, func(c []history.CommittedOffset, e error) { committed, cerr = c, e; done() }); err != nil {
				cerr = err
				done()
			}
		}); err != nil {
			return err
		}
		for _, c := range committed {
			tps = append(tps, c.TP())
		}
	}
	if len(tps) == 0 {
		return nil
	}
	for _, step := range []func(done func()){
		func(done func()) {
			if err := sh.admin.ListConsumerGroupOffsets(group, tps, func(c []history.CommittedOffset, e error) { committed, cerr = c, e; done() }); err != nil {
				cerr = err
				done()
			}
		},
		func(done func()) {
			if err := sh.admin.ListOffsets(tps, client.OffsetEarliest, func(m map[model.TopicPartition]client.ListedOffset, e error) { earliest, eerr = m, e; done() }); err != nil {
				eerr = err
				done()
			}
		},
		func(done func()) {
			if err := sh.admin.ListOffsets(tps, client.OffsetLatest, func(m map[model.TopicPartition]client.ListedOffset, e error) { latest, lerr = m, e; done() }); err != nil {
				lerr = err
				done()
			}
		},
	} {
		if err := sh.await(step); err != nil {
			return err
		}
	}
	if err := errors.Join(cerr, eerr, lerr); err != nil {
		return fmt.Errorf("Error: Executing consumer group command failed due to %s", err)
	}
	cur := map[model.TopicPartition]int64{}
	for _, c := range committed {
		if c.Offset >= 0 {
			cur[c.TP()] = c.Offset
		}
	}
	var out []history.CommittedOffset
	for _, tp := range tps {
		lo, hi := earliest[tp].Offset, latest[tp].Offset
		var o int64
		switch to.To {
		case client.ToEarliest:
			o = lo
		case client.ToLatest:
			o = hi
		case client.ToOffset:
			o = to.Offset
		case client.ShiftBy:
			c, ok := cur[tp]
			if !ok {
				c = hi
			}
			o = c + to.Offset
		}
		o = max(lo, min(o, hi))
		out = append(out, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: o, LeaderEpoch: -1})
	}
	if f.has("execute") {
		if len(desc) == 1 && desc[0].State != "Empty" && desc[0].State != "Dead" {
			return fmt.Errorf("Error: Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", group, desc[0].State)
		}
		var aerr error
		if err := sh.await(func(done func()) {
			if err := sh.admin.AlterConsumerGroupOffsets(group, out, func(e error) { aerr = e; done() }); err != nil {
				aerr = err
				done()
			}
		}); err != nil {
			return err
		}
		if aerr != nil {
			return fmt.Errorf("Error: Executing consumer group command failed due to %s", aerr)
		}
	} else if !f.has("dry-run") {
		b.WriteString("WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.\n")
	}
	fmt.Fprintf(b, "\n%-30s %-30s %-10s %-15s\n", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")
	for _, o := range out {
		fmt.Fprintf(b, "%-30s %-30s %-10d %-15d\n", group, o.Topic, o.Partition, o.Offset)
	}
	return nil
}
