package checker_test

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// TestHistoryScripts runs the scripts under testdata/anomalies: each
// `check` reads a history written in a small language, one operation or
// final replica per line, and prints the verdict.
//
//	p1 send t-0 a -> 0 @0-10                   acknowledged send of "a", offset 0, from 0ms to 10ms
//	p1 send t-0 b acks=1 key=k idem @5-9 fail NOT_ENOUGH_REPLICAS
//	p1/2 send t-1 c @5-9 unknown REQUEST_TIMED_OUT   (client p1, process 2)
//	c1 poll t-0 pos=0 0:a 1:b t-1 pos=3 @20-30  one poll, two partitions
//	c1 commit g t-0=2 @40-50                   c1 fetch g t-0=2 t-1=-1 @60-70
//	c1 seek t-0 0 @80                          c1 assign t-0 t-1 @0
//	c1 subscribe g t @0                        c1 rebalance g gen=2 +t-0 -t-1 @90
//	replica t-0 1 leader epoch=2 hwm=2 0:a 1:b   the final state of broker 1's replica
//	replica t-0 1 leader 0:a@1#7/0/5             a record of leader epoch 1 that producer 7 wrote in epoch 0, sequence 5
//	partition t-0 leader=1 replicas=1,2 isr=1,2 epoch=2
//	config unclean.leader.election.enable=true
func TestHistoryScripts(t *testing.T) {
	datadriven.Walk(t, "testdata/anomalies", func(t *testing.T, path string) {
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			if d.Cmd != "check" {
				return fmt.Sprintf("error: unknown verb %q\n", d.Cmd)
			}
			h, err := parseHistory(d.Input)
			if err != nil {
				return "error: " + err.Error() + "\n"
			}
			// Every script's history survives the file format.
			var buf bytes.Buffer
			if err := history.WriteHistory(&buf, h); err != nil {
				return "error: write: " + err.Error() + "\n"
			}
			if h, err = history.ReadHistory(&buf); err != nil {
				return "error: read: " + err.Error() + "\n"
			}
			r := checker.Check(h, checker.Options{SkipLinearizability: d.HasArg("no-linearizability")})
			return verdict(r, d.HasArg("all"))
		})
	})
}

// verdict prints porcupine's verdict (and each partition it could not
// linearize) and the findings: the bad ones, or all with all.
func verdict(r *checker.Report, all bool) string {
	var b strings.Builder
	if l := r.Linearizability; l != nil {
		fmt.Fprintf(&b, "linearizability: %s\n", l.Result)
		for _, p := range l.Partitions {
			if p.Result == checker.Ok {
				continue
			}
			fmt.Fprintf(&b, "  %s: %s; %d of %d operations placed", p.Key, p.Result, len(p.Longest), p.Ops)
			if p.StuckText != "" {
				who := fmt.Sprintf("op %d", p.Stuck)
				if p.Stuck < 0 {
					who = "the final log"
				}
				fmt.Fprintf(&b, "; %s fits nowhere after them: %s", who, p.StuckText)
			}
			b.WriteString("\n")
		}
	}
	for _, f := range r.Findings {
		if all || f.Class.Bad() {
			fmt.Fprintf(&b, "%s (ops %v)\n", f.Short(), f.Ops)
		}
	}
	fmt.Fprintf(&b, "verdict: %s\n", r.Summary())
	return b.String()
}

func parseHistory(input string) (*history.History, error) {
	h := &history.History{Header: history.Header{Format: history.FormatName, Version: history.FormatVersion, Seed: 1, Replay: "kafkasim replay script.jsonl"}}
	for n, line := range strings.Split(input, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := parseLine(h, strings.Fields(line)); err != nil {
			return nil, fmt.Errorf("line %d (%s): %v", n+1, line, err)
		}
	}
	return h, nil
}

func parseLine(h *history.History, f []string) error {
	switch f[0] {
	case "config":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			if h.Header.Config == nil {
				h.Header.Config = make(map[string]string)
			}
			h.Header.Config[k] = v
		}
		return nil
	case "replica":
		return parseReplica(h, f[1:])
	case "partition":
		return parsePartitionState(h, f[1:])
	}
	if len(f) < 3 {
		return fmt.Errorf("expected: client kind arguments @time [outcome]")
	}
	op := history.Op{ID: int64(len(h.Ops)), Client: f[0], Outcome: history.OK}
	if c, p, ok := strings.Cut(f[0], "/"); ok {
		op.Client = c
		n, err := strconv.Atoi(p)
		if err != nil {
			return err
		}
		op.Process = n
	}
	name := f[1]
	if name == "fetch" {
		name = "fetch-committed"
	}
	kind, err := history.ParseKind(name)
	if err != nil {
		return err
	}
	op.Kind = kind
	// Split the arguments from "@time [outcome ...]".
	at := slices.IndexFunc(f, func(s string) bool { return strings.HasPrefix(s, "@") })
	if at < 0 {
		return fmt.Errorf("no @time")
	}
	if op.Invoke, op.Complete, err = parseTimes(f[at][1:]); err != nil {
		return err
	}
	if rest := f[at+1:]; len(rest) > 0 {
		if op.Outcome, err = history.ParseOutcome(rest[0]); err != nil {
			return err
		}
		if len(rest) > 1 {
			op.Error = rest[1]
		}
	}
	args := f[2:at]
	switch kind {
	case history.KindSend:
		err = parseSend(&op, args)
	case history.KindPoll:
		err = parsePoll(&op, args)
	case history.KindCommit, history.KindFetchCommitted:
		err = parseOffsets(&op, args)
	case history.KindSeek:
		err = parseSeek(&op, args)
	case history.KindAssign, history.KindSubscribe, history.KindRebalance:
		err = parseMembership(&op, args)
	default:
		op.Admin = &history.Admin{Action: strings.Join(args, " "), Partition: -1, Offset: -1}
	}
	if err != nil {
		return err
	}
	if err := op.Validate(); err != nil {
		return err
	}
	h.Ops = append(h.Ops, op)
	return nil
}

func parseTimes(s string) (time.Duration, time.Duration, error) {
	a, b, two := strings.Cut(s, "-")
	x, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("time %q: %v", s, err)
	}
	y := x
	if two {
		if y, err = strconv.ParseInt(b, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("time %q: %v", s, err)
		}
	}
	return time.Duration(x) * time.Millisecond, time.Duration(y) * time.Millisecond, nil
}

func parseSend(op *history.Op, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("send needs a partition and a value")
	}
	tp, err := parseTP(args[0])
	if err != nil {
		return err
	}
	s := &history.Send{Topic: tp.Topic, Partition: tp.Partition, Value: model.Bytes(args[1]), Acks: model.AcksAll, Offset: -1}
	for i := 2; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "->" && i+1 < len(args):
			i++
			if s.Offset, err = strconv.ParseInt(args[i], 10, 64); err != nil {
				return err
			}
		case a == "idem":
			s.Idempotent = true
		case strings.HasPrefix(a, "acks="):
			if s.Acks, err = model.ParseAcks(a[5:]); err != nil {
				return err
			}
		case strings.HasPrefix(a, "key="):
			s.Key = model.Bytes(a[4:])
		default:
			return fmt.Errorf("send: unknown argument %q", a)
		}
	}
	op.Send = s
	return nil
}

func parseRecord(s string) (history.Record, error) {
	o, v, ok := strings.Cut(s, ":")
	if !ok {
		return history.Record{}, fmt.Errorf("record %q: expected offset:value", s)
	}
	off, err := strconv.ParseInt(o, 10, 64)
	if err != nil {
		return history.Record{}, fmt.Errorf("record %q: %v", s, err)
	}
	var producer *history.RecordProducer
	if val, pr, ok := strings.Cut(v, "#"); ok {
		var id int64
		var epoch int16
		var seq int32
		if _, err := fmt.Sscanf(pr, "%d/%d/%d", &id, &epoch, &seq); err != nil {
			return history.Record{}, fmt.Errorf("record %q: expected #producer/epoch/sequence: %v", s, err)
		}
		v, producer = val, &history.RecordProducer{ID: id, Epoch: epoch, Sequence: seq}
	}
	epoch := int32(-1)
	if val, e, ok := strings.Cut(v, "@"); ok {
		n, err := strconv.ParseInt(e, 10, 32)
		if err != nil {
			return history.Record{}, err
		}
		v, epoch = val, int32(n)
	}
	return history.Record{Offset: off, LeaderEpoch: epoch, Value: model.Bytes(v), Producer: producer}, nil
}

func parsePoll(op *history.Op, args []string) error {
	p := &history.Poll{}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "group="):
			p.Group = a[6:]
		case strings.HasPrefix(a, "pos="):
			if len(p.Parts) == 0 {
				return fmt.Errorf("pos= before a partition")
			}
			n, err := strconv.ParseInt(a[4:], 10, 64)
			if err != nil {
				return err
			}
			p.Parts[len(p.Parts)-1].Position = n
		case strings.Contains(a, ":"):
			if len(p.Parts) == 0 {
				return fmt.Errorf("record before a partition")
			}
			r, err := parseRecord(a)
			if err != nil {
				return err
			}
			last := &p.Parts[len(p.Parts)-1]
			last.Records = append(last.Records, r)
		default:
			tp, err := parseTP(a)
			if err != nil {
				return err
			}
			p.Parts = append(p.Parts, history.PollPart{Topic: tp.Topic, Partition: tp.Partition, Position: -1})
		}
	}
	op.Poll = p
	return nil
}

func parseOffsets(op *history.Op, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("%s needs a group", op.Kind)
	}
	o := &history.Offsets{Group: args[0], Generation: -1}
	for _, a := range args[1:] {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("expected partition=offset, got %q", a)
		}
		tp, err := parseTP(k)
		if err != nil {
			return err
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		o.Offsets = append(o.Offsets, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: n, LeaderEpoch: -1})
	}
	op.Offsets = o
	return nil
}

func parseSeek(op *history.Op, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("seek needs a partition and an offset")
	}
	tp, err := parseTP(args[0])
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil {
		return err
	}
	reason := "seek"
	if len(args) > 2 {
		reason = args[2]
	}
	op.Seek = &history.Seek{Topic: tp.Topic, Partition: tp.Partition, Offset: n, Reason: reason}
	return nil
}

func parseMembership(op *history.Op, args []string) error {
	m := &history.Membership{}
	for i, a := range args {
		switch {
		case op.Kind != history.KindAssign && i == 0:
			m.Group = a
		case strings.HasPrefix(a, "gen="):
			n, err := strconv.ParseInt(a[4:], 10, 32)
			if err != nil {
				return err
			}
			m.Generation = int32(n)
		case op.Kind == history.KindSubscribe:
			m.Topics = append(m.Topics, a)
		case op.Kind == history.KindRebalance && (a[0] == '+' || a[0] == '-'):
			tp, err := parseTP(a[1:])
			if err != nil {
				return err
			}
			if a[0] == '+' {
				m.Assigned = append(m.Assigned, tp)
			} else {
				m.Revoked = append(m.Revoked, tp)
			}
		default:
			tp, err := parseTP(a)
			if err != nil {
				return err
			}
			m.Partitions = append(m.Partitions, tp)
		}
	}
	op.Membership = m
	return nil
}

func parseReplica(h *history.History, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("replica needs a partition and a broker")
	}
	tp, err := parseTP(args[0])
	if err != nil {
		return err
	}
	b, err := strconv.ParseInt(args[1], 10, 32)
	if err != nil {
		return err
	}
	r := history.ReplicaState{TP: tp, Broker: int32(b), Online: true, Incarnation: 1, HighWatermark: -1}
	leo := int64(-1)
	for _, a := range args[2:] {
		switch {
		case a == "leader":
			r.Leader = true
		case a == "offline":
			r.Online = false
		case strings.Contains(a, "="):
			k, v, _ := strings.Cut(a, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return err
			}
			switch k {
			case "epoch":
				r.LeaderEpoch = int32(n)
			case "hwm":
				r.HighWatermark = n
			case "start":
				r.LogStartOffset = n
			case "leo":
				leo = n
			default:
				return fmt.Errorf("replica: unknown %q", k)
			}
		default:
			rec, err := parseRecord(a)
			if err != nil {
				return err
			}
			r.Records = append(r.Records, rec)
		}
	}
	if !r.Online {
		r.HighWatermark = 0
		h.Replicas = append(h.Replicas, r)
		return nil
	}
	r.LogEndOffset = r.LogStartOffset
	if n := len(r.Records); n > 0 {
		r.LogEndOffset = r.Records[n-1].Offset + 1
	}
	if leo >= 0 {
		r.LogEndOffset = leo
	}
	if r.HighWatermark < 0 {
		r.HighWatermark = r.LogEndOffset
	}
	h.Replicas = append(h.Replicas, r)
	return nil
}

func parsePartitionState(h *history.History, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("partition needs a partition")
	}
	tp, err := parseTP(args[0])
	if err != nil {
		return err
	}
	md := model.PartitionMetadata{Leader: model.NoLeader}
	for _, a := range args[1:] {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "replicas", "isr":
			ids, err := parseIDs(v)
			if err != nil {
				return err
			}
			if k == "isr" {
				md.ISR = ids
			} else {
				md.Replicas = ids
			}
		case "leader", "epoch":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return err
			}
			if k == "leader" {
				md.Leader = int32(n)
			} else {
				md.LeaderEpoch = int32(n)
			}
		default:
			return fmt.Errorf("partition: unknown %q", k)
		}
	}
	h.Partitions = append(h.Partitions, history.PartitionState{TP: tp, Metadata: md})
	return nil
}
