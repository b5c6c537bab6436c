package shell

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

var producerFlags = []flagSpec{
	{"bootstrap-server", true}, {"topic", true}, {"property", true}, {"producer-property", true},
	{"request-required-acks", true}, {"sync", false},
}

// produce is kafka-console-producer.sh: it sends each input line as a
// record (with parse.key=true, the text before key.separator, a tab by
// default, is the key), waits for every send to complete and prints an
// error line for each send that failed.
func (sh *Shell) produce(b *strings.Builder, args, input []string) error {
	f, err := parseFlags("kafka-console-producer.sh", producerFlags, args)
	if err != nil {
		return err
	}
	topic := f.get("topic", "")
	if topic == "" {
		return errors.New("Missing required argument \"[topic]\"")
	}
	props, err := f.props("property")
	if err != nil {
		return err
	}
	pp, err := f.props("producer-property")
	if err != nil {
		return err
	}
	pp["client.id"] = "console-producer"
	if v := f.get("request-required-acks", ""); v != "" {
		pp["acks"] = v
	}
	if f.has("sync") {
		pp["linger.ms"] = "0"
	}
	cfg, err := client.ParseProducerConfig(pp)
	if err != nil {
		return err
	}
	parseKey := props["parse.key"] == "true"
	sep := "\t"
	if v, ok := props["key.separator"]; ok {
		sep = v
	}
	type rec struct{ key, val []byte }
	var recs []rec
	for i, line := range input {
		if !parseKey {
			recs = append(recs, rec{nil, []byte(line)})
			continue
		}
		k, v, ok := strings.Cut(line, sep)
		if !ok {
			return fmt.Errorf("org.apache.kafka.common.KafkaException: No key separator found on line number %d: '%s'", i+1, line)
		}
		recs = append(recs, rec{[]byte(k), []byte(v)})
	}
	var p *client.Producer
	if err := sh.newClient("console-producer", func(n *sim.Node) (*client.Process, error) {
		var err error
		p, err = client.NewProducer(n, sh.env, cfg)
		return &client.Process{Producer: p}, err
	}); err != nil {
		return err
	}
	results := make([]client.SendResult, len(recs))
	if err := sh.await(func(done func()) {
		left := len(recs)
		if left == 0 {
			done()
			return
		}
		for i, r := range recs {
			p.Send(topic, r.key, r.val, func(res client.SendResult) {
				results[i] = res
				if left--; left == 0 {
					done()
				}
			})
		}
		p.Flush()
	}); err != nil {
		return err
	}
	failed := false
	for i, res := range results {
		if res.Error == protocol.None {
			continue
		}
		failed = true
		key := "null"
		if recs[i].key != nil {
			key = string(recs[i].key)
		}
		fmt.Fprintf(b, "ERROR Error when sending message to topic %s with key: %s, value: %d bytes with error: %s\n", topic, key, len(recs[i].val), res.Error)
	}
	if failed {
		return errPrinted
	}
	return nil
}

var consumerFlags = []flagSpec{
	{"bootstrap-server", true}, {"topic", true}, {"group", true}, {"from-beginning", false}, {"partition", true},
	{"offset", true}, {"max-messages", true}, {"timeout-ms", true}, {"property", true}, {"consumer-property", true},
	{"isolation-level", true},
}

// consume is kafka-console-consumer.sh. It stops after --max-messages
// records, or once no record came for --timeout-ms of simulated time
// (10000 by default: a session must end), commits what it printed when
// in a group, leaves the group and prints how many records it processed.
func (sh *Shell) consume(b *strings.Builder, args, _ []string) error {
	f, err := parseFlags("kafka-console-consumer.sh", consumerFlags, args)
	if err != nil {
		return err
	}
	topic := f.get("topic", "")
	if topic == "" {
		return errors.New("Exactly one of whitelist/topic is required.")
	}
	group := f.get("group", "")
	part := int32(-1)
	if v := f.get("partition", ""); v != "" {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			return fmt.Errorf("Invalid partition %q: give a partition number, 0 or more", v)
		}
		part = int32(n)
	}
	if group != "" && part >= 0 {
		return errors.New("Options group and partition cannot be specified together.")
	}
	offset := f.get("offset", "")
	if offset != "" && part < 0 {
		return errors.New("The partition is required when offset is specified.")
	}
	if offset != "" && f.has("from-beginning") {
		return errors.New("Options from-beginning and offset cannot be specified together.")
	}
	maxMsgs := int64(-1)
	if v := f.get("max-messages", ""); v != "" {
		if maxMsgs, err = strconv.ParseInt(v, 10, 64); err != nil || maxMsgs < 0 {
			return fmt.Errorf("Invalid max-messages %q: give a number, 0 or more", v)
		}
	}
	idle := 10 * time.Second
	if v := f.get("timeout-ms", ""); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 || ms > 3600000 {
			return fmt.Errorf("Invalid timeout-ms %q: give milliseconds, 1 to 3600000", v)
		}
		idle = time.Duration(ms) * time.Millisecond
	}
	props, err := f.props("property")
	if err != nil {
		return err
	}
	cp, err := f.props("consumer-property")
	if err != nil {
		return err
	}
	cp["client.id"] = "console-consumer"
	if group != "" {
		cp["group.id"] = group
	}
	if f.has("from-beginning") {
		cp["auto.offset.reset"] = "earliest"
	} else if _, ok := cp["auto.offset.reset"]; !ok {
		cp["auto.offset.reset"] = "latest"
	}
	if v := f.get("isolation-level", ""); v != "" {
		cp["isolation.level"] = v
	}
	cfg, err := client.ParseConsumerConfig(cp)
	if err != nil {
		return err
	}
	var c *client.Consumer
	if err := sh.newClient("console-consumer", func(n *sim.Node) (*client.Process, error) {
		var err error
		c, err = client.NewConsumer(n, sh.env, cfg)
		return &client.Process{Consumer: c}, err
	}); err != nil {
		return err
	}
	defer func() {
		c.Close()
		_ = sh.s.RunFor(time.Second)
	}()
	if group != "" {
		if err := c.Subscribe([]string{topic}); err != nil {
			return err
		}
	} else {
		ts, err := sh.describeTopics([]string{topic})
		if err != nil || len(ts) != 1 {
			return fmt.Errorf("Error: the topic %s does not exist (UNKNOWN_TOPIC_OR_PARTITION)", topic)
		}
		var tps []model.TopicPartition
		for _, p := range ts[0].Partitions {
			if part < 0 || p.Partition == part {
				tps = append(tps, model.TopicPartition{Topic: topic, Partition: p.Partition})
			}
		}
		if len(tps) == 0 {
			return fmt.Errorf("Error: topic %s has no partition %d: it has %d", topic, part, len(ts[0].Partitions))
		}
		if err := c.Assign(tps); err != nil {
			return err
		}
		switch offset {
		case "", "latest":
			if offset == "latest" {
				c.SeekToEnd(tps...)
			}
		case "earliest":
			c.SeekToBeginning(tps...)
		default:
			n, err := strconv.ParseInt(offset, 10, 64)
			if err != nil || n < 0 {
				return fmt.Errorf("The offset must be a number, 0 or more, or 'earliest' or 'latest', not %q", offset)
			}
			if err := c.Seek(tps[0], n); err != nil {
				return err
			}
		}
	}
	printed := int64(0)
	next := map[model.TopicPartition]int64{}
	last := sh.s.Now()
	for maxMsgs < 0 || printed < maxMsgs {
		var parts []history.PollPart
		if err := sh.await(func(done func()) {
			if err := c.Poll(time.Second, func(p []history.PollPart) { parts = p; done() }); err != nil {
				done()
			}
		}); err != nil {
			return err
		}
		got := false
		for _, p := range parts {
			for _, r := range p.Records {
				if maxMsgs >= 0 && printed >= maxMsgs {
					if _, ok := next[p.TP()]; !ok || next[p.TP()] > r.Offset {
						next[p.TP()] = r.Offset
					}
					break
				}
				got = true
				printed++
				next[p.TP()] = r.Offset + 1
				b.WriteString(formatRecord(props, p.Partition, r))
			}
		}
		if got {
			last = sh.s.Now()
		} else if sh.s.Now()-last >= idle {
			break
		}
	}
	if group != "" {
		var offs []history.CommittedOffset
		for _, tp := range c.Assignment() {
			o, ok := next[tp]
			if !ok {
				if o, ok = c.Position(tp); !ok {
					continue
				}
			}
			offs = append(offs, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: o, LeaderEpoch: -1})
		}
		slices.SortFunc(offs, func(a, b history.CommittedOffset) int { return a.TP().Compare(b.TP()) })
		if len(offs) > 0 {
			var cerr error
			if err := sh.await(func(done func()) {
				if err := c.CommitSync(offs, func(e error) { cerr = e; done() }); err != nil {
					cerr = err
					done()
				}
			}); err != nil {
				return err
			}
			if cerr != nil {
				fmt.Fprintf(b, "ERROR Offset commit failed: %s\n", cerr)
			}
		}
	}
	fmt.Fprintf(b, "Processed a total of %d messages\n", printed)
	return nil
}

// formatRecord prints a record as Kafka's default message formatter does
// with the properties print.partition, print.offset, print.key,
// print.value (true by default), key.separator (a tab by default),
// line.separator and null.literal.
func formatRecord(props map[string]string, partition int32, r history.Record) string {
	var b strings.Builder
	sep := "\t"
	if v, ok := props["key.separator"]; ok {
		sep = v
	}
	null := "null"
	if v, ok := props["null.literal"]; ok {
		null = v
	}
	bytes := func(v []byte) string {
		if v == nil {
			return null
		}
		return string(v)
	}
	if props["print.partition"] == "true" {
		fmt.Fprintf(&b, "Partition:%d%s", partition, sep)
	}
	if props["print.offset"] == "true" {
		fmt.Fprintf(&b, "Offset:%d%s", r.Offset, sep)
	}
	if props["print.key"] == "true" {
		b.WriteString(bytes(r.Key) + sep)
	}
	if props["print.value"] != "false" {
		b.WriteString(bytes(r.Value))
	}
	if v, ok := props["line.separator"]; ok {
		b.WriteString(v)
	} else {
		b.WriteString("\n")
	}
	return b.String()
}
