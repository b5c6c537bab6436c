package client

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// GroupOffsetRow is one line of kafka-consumer-groups --describe: a
// partition of a group with its committed offset, log end offset (the
// high-water mark), lag and owner. CurrentOffset and LogEndOffset are -1
// when unknown; ConsumerID, Host and ClientID are empty for a partition no
// member owns.
type GroupOffsetRow struct {
	Group         string
	Topic         string
	Partition     int32
	CurrentOffset int64
	LogEndOffset  int64
	ConsumerID    string
	Host          string
	ClientID      string
}

// Lag is the log end offset minus the committed offset, or -1 when
// either is unknown. As in Kafka's tool, it is negative when the
// committed offset is past the log end: the log lost records the group
// had read (after an unclean election, say).
func (r GroupOffsetRow) Lag() (int64, bool) {
	if r.CurrentOffset < 0 || r.LogEndOffset < 0 {
		return 0, false
	}
	return r.LogEndOffset - r.CurrentOffset, true
}

// FormatGroupDescription renders a group's rows as kafka-consumer-groups
// --describe prints them: a notice for a group that is unknown (Dead),
// has no active members (Empty) or is rebalancing, then, if there are
// rows, the columns GROUP, TOPIC, PARTITION, CURRENT-OFFSET,
// LOG-END-OFFSET, LAG, CONSUMER-ID, HOST and CLIENT-ID, with "-" for what
// is unknown, each column at least as wide as the tool makes it.
func FormatGroupDescription(group, state string, rows []GroupOffsetRow) string {
	var b strings.Builder
	switch state {
	case "Dead":
		fmt.Fprintf(&b, "\nError: Consumer group '%s' does not exist.\n", group)
		return b.String()
	case "Empty":
		fmt.Fprintf(&b, "\nConsumer group '%s' has no active members.\n", group)
	case "PreparingRebalance", "CompletingRebalance":
		fmt.Fprintf(&b, "\nWarning: Consumer group '%s' is rebalancing.\n", group)
	}
	if len(rows) == 0 {
		return b.String()
	}
	num := func(v int64) string {
		if v < 0 {
			return "-"
		}
		return strconv.FormatInt(v, 10)
	}
	str := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	gw, tw, cw, hw := 15, 15, 15, 15
	for _, r := range rows {
		gw, tw = max(gw, len(r.Group)), max(tw, len(r.Topic))
		cw, hw = max(cw, len(str(r.ConsumerID))), max(hw, len(str(r.Host)))
	}
	line := func(cols ...string) {
		fmt.Fprintf(&b, "%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s\n", gw, cols[0], tw, cols[1], cols[2], cols[3], cols[4], cols[5], cw, cols[6], hw, cols[7], cols[8])
	}
	b.WriteString("\n")
	line("GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID")
	for _, r := range rows {
		lag := "-"
		if l, ok := r.Lag(); ok {
			lag = strconv.FormatInt(l, 10)
		}
		line(r.Group, r.Topic, strconv.Itoa(int(r.Partition)), num(r.CurrentOffset), num(r.LogEndOffset), lag, str(r.ConsumerID), str(r.Host), str(r.ClientID))
	}
	return b.String()
}

// FormatTopicDescriptions renders topics as kafka-topics --describe prints
// them: a line per topic (name, topic id, partition count, replication
// factor) and a tab-indented line per partition (leader, replicas, ISR,
// ELR and last known ELR), followed by kafkasim's additions: the leader
// and partition epochs, the offline replicas and the recovering state of
// an unclean leader (KIP-704). The topic line has no Configs column:
// describing configs (DescribeConfigs) is not simulated.
func FormatTopicDescriptions(topics []TopicDescription) string {
	var b strings.Builder
	for _, t := range topics {
		fmt.Fprintf(&b, "Topic: %s", t.Name)
		if t.TopicID != [16]byte{} {
			fmt.Fprintf(&b, "\tTopicId: %s", base64.RawURLEncoding.EncodeToString(t.TopicID[:]))
		}
		rf := 0
		if len(t.Partitions) > 0 {
			rf = len(t.Partitions[0].Replicas)
		}
		fmt.Fprintf(&b, "\tPartitionCount: %d\tReplicationFactor: %d\n", len(t.Partitions), rf)
		for _, p := range t.Partitions {
			leader := "none"
			if p.Leader >= 0 {
				leader = strconv.Itoa(int(p.Leader))
			}
			fmt.Fprintf(&b, "\tTopic: %s\tPartition: %d\tLeader: %s\tReplicas: %s\tIsr: %s\tElr: %s\tLastKnownElr: %s\tLeaderEpoch: %d\tPartitionEpoch: %d",
				t.Name, p.Partition, leader, ids(p.Replicas), ids(p.ISR), ids(p.ELR), ids(p.LastKnownELR), p.LeaderEpoch, p.PartitionEpoch)
			if len(p.Offline) > 0 {
				fmt.Fprintf(&b, "\tOffline: %s", ids(p.Offline))
			}
			if p.Recovering {
				b.WriteString("\tRecovering: true")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
