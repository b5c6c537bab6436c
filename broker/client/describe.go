package client

import (
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
// either is unknown.
func (r GroupOffsetRow) Lag() int64 {
	if r.CurrentOffset < 0 || r.LogEndOffset < 0 {
		return -1
	}
	return max(r.LogEndOffset-r.CurrentOffset, 0)
}

// FormatGroupDescription renders rows as kafka-consumer-groups --describe
// does: columns GROUP, TOPIC, PARTITION, CURRENT-OFFSET, LOG-END-OFFSET,
// LAG, CONSUMER-ID, HOST, CLIENT-ID, "-" for what is unknown, and a first
// line saying so when the group has no active members.
func FormatGroupDescription(group string, active bool, rows []GroupOffsetRow) string {
	var b strings.Builder
	if !active {
		fmt.Fprintf(&b, "\nConsumer group '%s' has no active members.\n", group)
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
	gw, tw, cw, hw := len("GROUP"), len("TOPIC"), len("CONSUMER-ID"), len("HOST")
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
		line(r.Group, r.Topic, strconv.Itoa(int(r.Partition)), num(r.CurrentOffset), num(r.LogEndOffset), num(r.Lag()), str(r.ConsumerID), str(r.Host), str(r.ClientID))
	}
	return b.String()
}
