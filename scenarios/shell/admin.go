package shell

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
)

var configFlags = []flagSpec{
	{"bootstrap-server", true}, {"entity-type", true}, {"entity-name", true}, {"topic", true}, {"describe", false},
	{"alter", false}, {"add-config", true}, {"delete-config", true},
}

// configsTool is kafka-configs.sh for topics.
func (sh *Shell) configsTool(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-configs.sh", configFlags, args)
	if err != nil {
		return err
	}
	name := f.get("entity-name", f.get("topic", ""))
	if f.has("entity-type") && f.get("entity-type", "") != "topics" {
		return fmt.Errorf("Invalid entity-type %s: the shell simulates topic configs only (--entity-type topics)", f.get("entity-type", ""))
	}
	if f.has("describe") == f.has("alter") {
		return errors.New("Command must include exactly one action: --describe, --alter")
	}
	if name == "" {
		return errors.New("an entity name must be specified with --alter of topics: give --entity-name or --topic")
	}
	if f.has("describe") {
		ts, err := sh.describeTopics([]string{name})
		if err != nil || len(ts) != 1 {
			return fmt.Errorf("Error: the topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION)", name)
		}
		fmt.Fprintf(b, "Dynamic configs for topic %s are:\n", name)
		cfg := sh.configs[name]
		for _, k := range slices.Sorted(maps.Keys(cfg)) {
			fmt.Fprintf(b, "  %s=%s sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:%s=%s}\n", k, cfg[k], k, cfg[k])
		}
		return nil
	}
	set := map[string]string{}
	for _, v := range f.vals["add-config"] {
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return fmt.Errorf("Invalid add-config %q: expected k1=v1,k2=v2", v)
			}
			set[k] = val
		}
	}
	var del []string
	for _, v := range f.vals["delete-config"] {
		del = append(del, strings.Split(v, ",")...)
	}
	var aerr error
	if err := sh.await(func(done func()) {
		if err := sh.admin.AlterTopicConfigs(name, set, del, func(e error) { aerr = e; done() }); err != nil {
			aerr = err
			done()
		}
	}); err != nil {
		return err
	}
	if aerr != nil {
		return fmt.Errorf("Error while executing config command with args '%s': %s", strings.Join(args, " "), aerr)
	}
	cfg := sh.configs[name]
	if cfg == nil {
		cfg = map[string]string{}
		sh.configs[name] = cfg
	}
	maps.Copy(cfg, set)
	for _, k := range del {
		delete(cfg, k)
	}
	fmt.Fprintf(b, "Completed updating config for topic %s.\n", name)
	return nil
}

var electionFlags = []flagSpec{
	{"bootstrap-server", true}, {"election-type", true}, {"topic", true}, {"partition", true}, {"all-topic-partitions", false},
}

// election is kafka-leader-election.sh.
func (sh *Shell) election(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-leader-election.sh", electionFlags, args)
	if err != nil {
		return err
	}
	var typ protocol.ElectionType
	switch strings.ToUpper(f.get("election-type", "")) {
	case "PREFERRED":
		typ = protocol.ElectPreferred
	case "UNCLEAN":
		typ = protocol.ElectUnclean
	default:
		return errors.New("Missing required option(s) [election-type]: give --election-type PREFERRED or UNCLEAN")
	}
	var tps []model.TopicPartition
	switch {
	case f.has("all-topic-partitions"):
	case f.has("topic") && f.has("partition"):
		p, err := strconv.ParseInt(f.get("partition", ""), 10, 32)
		if err != nil || p < 0 {
			return fmt.Errorf("Invalid partition %q: give a partition number", f.get("partition", ""))
		}
		tps = []model.TopicPartition{{Topic: f.get("topic", ""), Partition: int32(p)}}
	default:
		return errors.New("One and only one of the following options is required: --all-topic-partitions, --topic with --partition, --path-to-json-file")
	}
	var res map[model.TopicPartition]protocol.ErrorCode
	var eerr error
	if err := sh.await(func(done func()) {
		if err := sh.admin.ElectLeaders(typ, tps, func(m map[model.TopicPartition]protocol.ErrorCode, e error) { res, eerr = m, e; done() }); err != nil {
			eerr = err
			done()
		}
	}); err != nil {
		return err
	}
	if eerr != nil {
		return fmt.Errorf("Error completing leader election (%s) for partitions: %s", electionName(typ), eerr)
	}
	var ok, notNeeded, failed []string
	for _, tp := range slices.SortedFunc(maps.Keys(res), func(a, b model.TopicPartition) int { return a.Compare(b) }) {
		name := fmt.Sprintf("%s-%d", tp.Topic, tp.Partition)
		switch res[tp] {
		case protocol.None:
			ok = append(ok, name)
		case protocol.ElectionNotNeeded:
			notNeeded = append(notNeeded, name)
		default:
			failed = append(failed, fmt.Sprintf("Error completing leader election (%s) for partition: %s: %s", electionName(typ), name, res[tp]))
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(b, "Successfully completed leader election (%s) for partitions %s\n", electionName(typ), strings.Join(ok, ", "))
	}
	if len(notNeeded) > 0 {
		fmt.Fprintf(b, "Valid replica already elected for partitions %s\n", strings.Join(notNeeded, ", "))
	}
	if len(failed) > 0 {
		b.WriteString(strings.Join(failed, "\n") + "\n")
		return errPrinted
	}
	return nil
}

func electionName(t protocol.ElectionType) string {
	if t == protocol.ElectUnclean {
		return "UNCLEAN"
	}
	return "PREFERRED"
}

var quorumFlags = []flagSpec{{"bootstrap-server", true}, {"bootstrap-controller", true}, {"status", false}, {"replication", false}}

// quorum is kafka-metadata-quorum.sh describe --status: the metadata
// quorum as its leader sees it.
func (sh *Shell) quorum(b *strings.Builder, args, _ []string) error {
	if len(args) == 0 || args[0] != "describe" {
		return errors.New("kafka-metadata-quorum.sh takes the command describe (describe --status)")
	}
	f, err := parseFlags("kafka-metadata-quorum.sh", quorumFlags, args[1:])
	if err != nil {
		return err
	}
	if !f.has("status") {
		return errors.New("One of --status or --replication must be specified with describe sub-command; the shell simulates --status")
	}
	c := sh.cl.ActiveController()
	if c == nil {
		return errors.New("Error: the metadata quorum has no leader (no active controller)")
	}
	r := c.Raft()
	var observers []string
	for _, id := range sh.cl.BrokerIDs() {
		observers = append(observers, strconv.Itoa(int(id)))
	}
	var voters []string
	for _, v := range r.Voters() {
		voters = append(voters, strconv.Itoa(int(v)))
	}
	fmt.Fprintf(b, "ClusterId:              kafkasim\nLeaderId:               %d\nLeaderEpoch:            %d\nHighWatermark:          %d\nCurrentVoters:          [%s]\nCurrentObservers:       [%s]\n",
		r.Leader(), r.Epoch(), r.HighWatermark(), strings.Join(voters, ","), strings.Join(observers, ","))
	return nil
}
