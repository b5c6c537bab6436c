package client

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker/group"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// GroupListing is one group of ListGroups.
type GroupListing struct {
	GroupID      string
	State        string
	ProtocolType string
}

// ListGroups asks every live broker for the groups it coordinates
// (Admin.listGroups, kafka-consumer-groups --list) and calls done with
// them all, sorted by id. When some brokers did not answer, err says
// which, and the listing holds what the others said.
func (a *Admin) ListGroups(done func([]GroupListing, error)) {
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "list-groups", Partition: -1, Offset: -1})
	var out []GroupListing
	var failed []string
	lastErr := protocol.None
	var cl *adminCall
	finish := func(err error) {
		if !a.end(cl) {
			return
		}
		slices.SortFunc(out, func(x, y GroupListing) int { return strings.Compare(x.GroupID, y.GroupID) })
		result := map[string]string{}
		for _, g := range out {
			result[g.GroupID] = g.State
		}
		a.recordRead(id, err, result)
		done(out, err)
	}
	cl = a.newCall("list-groups", func() { finish(a.timedOut(cl)) })
	a.brokers(cl, func(brokers []int32, err error) {
		if err != nil {
			finish(err)
			return
		}
		left := len(brokers)
		for _, b := range brokers {
			var attempt func()
			attempt = func() {
				a.request(cl, b, func(corr int32) network.Message { return &protocol.ListGroups{CorrelationID: corr} },
					func(m network.Message, code protocol.ErrorCode) {
						resp, _ := m.(*protocol.ListGroupsResponse)
						if code == protocol.None && resp == nil {
							code = protocol.UnknownServerError
						}
						if code == protocol.None {
							code = resp.Error
						}
						if code != protocol.None {
							if a.retry(cl, code, attempt) {
								return
							}
							lastErr = code
							failed = append(failed, fmt.Sprintf("broker %d: %s", b, a.failure(cl, code, "")))
						} else {
							for _, g := range resp.Groups {
								out = append(out, GroupListing{GroupID: g.GroupID, State: g.GroupState, ProtocolType: g.ProtocolType})
							}
						}
						if left--; left == 0 {
							if len(failed) > 0 {
								slices.Sort(failed)
								finish(&AdminError{Code: lastErr, Message: strings.Join(failed, "; ")})
								return
							}
							finish(nil)
						}
					})
			}
			attempt()
		}
	})
}

// brokers returns the live brokers the metadata names, asking for fresh
// metadata first when it is stale.
func (a *Admin) brokers(cl *adminCall, done func([]int32, error)) {
	var attempt func()
	attempt = func() {
		if len(a.c.brokers) > 0 && !a.c.stale() {
			bs := slices.Clone(a.c.brokers)
			a.n.After(0, "admin.brokers", func() {
				if !cl.ended {
					done(bs, nil)
				}
			})
			return
		}
		a.c.refresh(func() {
			if cl.ended {
				return
			}
			if len(a.c.brokers) > 0 {
				done(slices.Clone(a.c.brokers), nil)
			} else if !a.retry(cl, protocol.LeaderNotAvailable, attempt) {
				done(nil, a.failure(cl, protocol.BrokerNotAvailable, "no live broker is known"))
			}
		})
	}
	attempt()
}

// findCoordinator finds a group's coordinator, from the cache or with
// FindCoordinator to any broker, retrying within the call's deadline.
func (a *Admin) findCoordinator(cl *adminCall, grp string, done func(int32, error)) {
	if id, ok := a.coordinators[grp]; ok {
		a.n.After(0, "admin.coordinator", func() {
			if !cl.ended {
				done(id, nil)
			}
		})
		return
	}
	var attempt func()
	attempt = func() {
		a.request(cl, a.anyBroker(), func(corr int32) network.Message {
			return &protocol.FindCoordinator{CorrelationID: corr, Key: grp, KeyType: protocol.CoordinatorGroup}
		}, func(m network.Message, code protocol.ErrorCode) {
			resp, _ := m.(*protocol.FindCoordinatorResponse)
			if code == protocol.None && resp == nil {
				code = protocol.UnknownServerError
			}
			if code == protocol.None {
				code = resp.Error
			}
			if code != protocol.None {
				if !a.retry(cl, code, attempt) {
					done(protocol.NoNode, a.failure(cl, code, "finding the coordinator of group "+grp))
				}
				return
			}
			a.coordinators[grp] = resp.NodeID
			done(resp.NodeID, nil)
		})
	}
	attempt()
}

// coordinatorCall sends a request to a group's coordinator and hands
// done its response. Errors that say the coordinator moved or is loading
// find it again and retry within the call's deadline; done gets any
// other error, or the timeout of a call out of time or tries.
func (a *Admin) coordinatorCall(cl *adminCall, grp string, build func(corr int32) network.Message,
	errorOf func(network.Message) protocol.ErrorCode, done func(network.Message, error)) {
	var attempt func()
	attempt = func() {
		a.findCoordinator(cl, grp, func(coord int32, err error) {
			if err != nil {
				done(nil, err)
				return
			}
			a.request(cl, coord, build, func(m network.Message, code protocol.ErrorCode) {
				if code == protocol.None {
					code = errorOf(m)
				}
				switch code {
				case protocol.None:
					done(m, nil)
					return
				case protocol.NotCoordinator, protocol.CoordinatorNotAvailable, protocol.NetworkException, protocol.RequestTimedOut:
					a.s.Mark("client.admin.coordinator-moved")
					delete(a.coordinators, grp)
				case protocol.CoordinatorLoadInProgress, protocol.UnstableOffsetCommit:
				default:
					// The group's own answer is final, as in Kafka's
					// admin client.
					done(m, &AdminError{Code: code})
					return
				}
				if !a.retry(cl, code, attempt) {
					done(m, a.failure(cl, code, ""))
				}
			})
		})
	}
	attempt()
}

// MemberDescription is one member of a described group.
type MemberDescription struct {
	MemberID   string
	InstanceID string // group.instance.id of a static member
	ClientID   string
	Host       string
	// Assignment is the member's partitions in the current generation
	// (empty while the group rebalances).
	Assignment []model.TopicPartition
}

// GroupDescription is one group as DescribeGroups tells it: its state
// (Empty, PreparingRebalance, CompletingRebalance, Stable or Dead: Kafka
// describes a group it does not know as Dead), the assignor chosen for
// the generation, its coordinator and members.
type GroupDescription struct {
	GroupID      string
	State        string
	ProtocolType string
	Assignor     string
	Coordinator  int32
	Members      []MemberDescription
}

// DescribeGroups describes groups from their coordinators
// (Admin.describeConsumerGroups, kafka-consumer-groups --describe
// --members) and calls done with them, in the order given; err says
// which groups could not be described.
func (a *Admin) DescribeGroups(groups []string, done func([]GroupDescription, error)) error {
	if len(groups) == 0 {
		return errors.New("describe groups: no group given")
	}
	for _, g := range groups {
		if g == "" {
			return errors.New("describe groups: a group id is empty (INVALID_GROUP_ID)")
		}
	}
	groups = slices.Clone(groups)
	out := make([]GroupDescription, len(groups))
	errs := make([]error, len(groups))
	left := len(groups)
	for i, g := range groups {
		a.describeGroup(g, func(d GroupDescription, err error) {
			out[i], errs[i] = d, err
			if left--; left == 0 {
				done(out, errors.Join(errs...))
			}
		})
	}
	return nil
}

// describeGroup describes one group and records it.
func (a *Admin) describeGroup(grp string, done func(GroupDescription, error)) {
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "describe-groups", Topic: "", Partition: -1, Offset: -1,
		Configs: map[string]string{"group": grp}})
	var cl *adminCall
	finish := func(d GroupDescription, err error) {
		if !a.end(cl) {
			return
		}
		var result map[string]string
		if err == nil {
			result = map[string]string{"state": d.State, "assignor": d.Assignor, "members": strconv.Itoa(len(d.Members))}
			for _, m := range d.Members {
				result["member "+m.MemberID] = fmt.Sprintf("client=%s host=%s assignment=%s", m.ClientID, m.Host, tpNames(m.Assignment))
			}
		} else {
			err = fmt.Errorf("group %s: %w", grp, err)
		}
		a.recordRead(id, err, result)
		done(d, err)
	}
	cl = a.newCall("describe-groups", func() { finish(GroupDescription{GroupID: grp}, a.timedOut(cl)) })
	a.coordinatorCall(cl, grp, func(corr int32) network.Message {
		return &protocol.DescribeGroups{CorrelationID: corr, Groups: []string{grp}}
	}, func(m network.Message) protocol.ErrorCode {
		if r, ok := m.(*protocol.DescribeGroupsResponse); ok && len(r.Groups) == 1 {
			return r.Groups[0].Error
		}
		return protocol.UnknownServerError
	}, func(m network.Message, err error) {
		if err != nil {
			finish(GroupDescription{GroupID: grp}, err)
			return
		}
		g := m.(*protocol.DescribeGroupsResponse).Groups[0]
		d := GroupDescription{GroupID: grp, State: g.GroupState, ProtocolType: g.ProtocolType, Assignor: g.ProtocolData,
			Coordinator: a.coordinators[grp]}
		for _, mem := range g.Members {
			md := MemberDescription{MemberID: mem.MemberID, InstanceID: mem.GroupInstanceID, ClientID: mem.ClientID, Host: mem.ClientHost}
			if g.ProtocolType == group.ConsumerProtocolType && len(mem.Assignment) > 0 {
				if as, err := group.DecodeAssignment(mem.Assignment); err == nil {
					md.Assignment = sortedTPs(as.Partitions)
				}
			}
			d.Members = append(d.Members, md)
		}
		finish(d, nil)
	})
}

// ListConsumerGroupOffsets reads a group's committed offsets
// (Admin.listConsumerGroupOffsets) for the given partitions, or every
// partition the group has an offset for when tps is nil, and calls done
// with them, sorted; Offset is -1 where the group has none. The read is
// a fetch-committed operation in the history.
func (a *Admin) ListConsumerGroupOffsets(grp string, tps []model.TopicPartition, done func([]history.CommittedOffset, error)) error {
	if grp == "" {
		return errors.New("list consumer group offsets: the group id is empty (INVALID_GROUP_ID)")
	}
	if tps != nil {
		tps = sortedTPs(tps)
	}
	id := a.rec.InvokeFetchCommitted(a.now(), a.cfg.ClientID, a.process, history.Offsets{Group: grp, Generation: protocol.NoGeneration,
		Offsets: committedList(tps)})
	var cl *adminCall
	finish := func(out []history.CommittedOffset, err error) {
		if !a.end(cl) {
			return
		}
		if err != nil {
			a.rec.Fail(id, a.now(), codeOf(err).String())
		} else {
			a.rec.FetchCommittedOK(id, a.now(), out)
		}
		done(out, err)
	}
	cl = a.newCall("list-consumer-group-offsets", func() { finish(nil, a.timedOut(cl)) })
	a.coordinatorCall(cl, grp, func(corr int32) network.Message {
		return &protocol.OffsetFetch{CorrelationID: corr, GroupID: grp, Partitions: tps}
	}, func(m network.Message) protocol.ErrorCode {
		r, ok := m.(*protocol.OffsetFetchResponse)
		if !ok {
			return protocol.UnknownServerError
		}
		if r.Error != protocol.None {
			return r.Error
		}
		for _, p := range r.Partitions {
			if p.Error == protocol.UnstableOffsetCommit || p.Error == protocol.CoordinatorLoadInProgress {
				return p.Error
			}
		}
		return protocol.None
	}, func(m network.Message, err error) {
		if err != nil {
			finish(nil, err)
			return
		}
		var out []history.CommittedOffset
		for _, p := range m.(*protocol.OffsetFetchResponse).Partitions {
			o := history.CommittedOffset{Topic: p.TP.Topic, Partition: p.TP.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch}
			if p.Error != protocol.None {
				o.Offset, o.LeaderEpoch = -1, -1
			}
			out = append(out, o)
		}
		slices.SortFunc(out, func(x, y history.CommittedOffset) int { return x.TP().Compare(y.TP()) })
		finish(out, nil)
	})
	return nil
}

// AlterConsumerGroupOffsets sets a group's committed offsets
// (Admin.alterConsumerGroupOffsets), as an OffsetCommit outside any
// generation: the coordinator accepts it only while the group has no
// members (UNKNOWN_MEMBER_ID otherwise). The change is a commit
// operation in the history; done gets nil or the first partition's
// error.
func (a *Admin) AlterConsumerGroupOffsets(grp string, offsets []history.CommittedOffset, done func(error)) error {
	if grp == "" {
		return errors.New("alter consumer group offsets: the group id is empty (INVALID_GROUP_ID)")
	}
	if len(offsets) == 0 {
		return fmt.Errorf("alter consumer group offsets of %s: no offsets given", grp)
	}
	offsets = slices.Clone(offsets)
	slices.SortFunc(offsets, func(x, y history.CommittedOffset) int { return x.TP().Compare(y.TP()) })
	for i, o := range offsets {
		if o.Offset < 0 {
			return fmt.Errorf("alter consumer group offsets of %s: offset %d for %s is negative: give the offset of the next record to read", grp, o.Offset, o.TP())
		}
		if i > 0 && offsets[i-1].TP() == o.TP() {
			return fmt.Errorf("alter consumer group offsets of %s: %s is given twice", grp, o.TP())
		}
	}
	id := a.rec.InvokeCommit(a.now(), a.cfg.ClientID, a.process, history.Offsets{Group: grp, Generation: protocol.NoGeneration, Offsets: offsets})
	var cl *adminCall
	finish := func(err error) {
		if !a.end(cl) {
			return
		}
		switch {
		case err == nil:
			a.rec.OK(id, a.now())
		case cl.indefinite || !history.Definite(history.KindCommit, codeOf(err).String()):
			a.rec.Unknown(id, a.now(), codeOf(err).String())
		default:
			a.rec.Fail(id, a.now(), codeOf(err).String())
		}
		done(err)
	}
	cl = a.newCall("alter-consumer-group-offsets", func() { finish(a.timedOut(cl)) })
	req := make([]protocol.OffsetCommitPartition, len(offsets))
	for i, o := range offsets {
		req[i] = protocol.OffsetCommitPartition{TP: o.TP(), Offset: o.Offset, LeaderEpoch: o.LeaderEpoch}
	}
	a.coordinatorCall(cl, grp, func(corr int32) network.Message {
		return &protocol.OffsetCommit{CorrelationID: corr, GroupID: grp, GenerationID: protocol.NoGeneration, Partitions: req}
	}, func(m network.Message) protocol.ErrorCode {
		r, ok := m.(*protocol.OffsetCommitResponse)
		if !ok {
			return protocol.UnknownServerError
		}
		for _, p := range r.Partitions {
			if p.Error != protocol.None {
				return p.Error
			}
		}
		return protocol.None
	}, func(_ network.Message, err error) {
		if err != nil {
			err = fmt.Errorf("group %s: %w", grp, err)
		}
		finish(err)
	})
	return nil
}

// GroupOffsets is the kafka-consumer-groups --describe view of a group:
// its state and one row per partition that a member owns or that has a
// committed offset.
type GroupOffsets struct {
	Group string
	State string
	Rows  []GroupOffsetRow
}

// String renders the view as kafka-consumer-groups --describe prints it.
func (g GroupOffsets) String() string { return FormatGroupDescription(g.Group, g.State, g.Rows) }

// DescribeConsumerGroupOffsets builds the kafka-consumer-groups
// --describe view of a group, as the tool does: it describes the group,
// reads its committed offsets and the log end offsets (high-water marks)
// of its partitions, and lists first the partitions of each member (the
// members with most partitions first, each member's by partition), then
// the partitions with a committed offset that no member owns. Each of
// the three reads is an operation in the history.
func (a *Admin) DescribeConsumerGroupOffsets(grp string, done func(GroupOffsets, error)) error {
	if grp == "" {
		return errors.New("describe consumer group offsets: the group id is empty (INVALID_GROUP_ID)")
	}
	return a.DescribeGroups([]string{grp}, func(ds []GroupDescription, err error) {
		if err != nil {
			done(GroupOffsets{Group: grp}, err)
			return
		}
		d := ds[0]
		view := GroupOffsets{Group: grp, State: d.State}
		_ = a.ListConsumerGroupOffsets(grp, nil, func(committed []history.CommittedOffset, err error) {
			if err != nil {
				done(view, err)
				return
			}
			current := map[model.TopicPartition]int64{}
			for _, o := range committed {
				current[o.TP()] = o.Offset
			}
			members := slices.Clone(d.Members)
			slices.SortStableFunc(members, func(x, y MemberDescription) int { return cmp.Compare(len(y.Assignment), len(x.Assignment)) })
			owned := map[model.TopicPartition]bool{}
			byPartition := func(x, y model.TopicPartition) int {
				return cmp.Or(cmp.Compare(x.Partition, y.Partition), strings.Compare(x.Topic, y.Topic))
			}
			var tps []model.TopicPartition
			for _, m := range members {
				mine := slices.Clone(m.Assignment)
				slices.SortFunc(mine, byPartition)
				for _, tp := range mine {
					owned[tp] = true
					tps = append(tps, tp)
					view.Rows = append(view.Rows, GroupOffsetRow{Group: grp, Topic: tp.Topic, Partition: tp.Partition,
						CurrentOffset: offsetOr(current, tp), ConsumerID: m.MemberID, Host: m.Host, ClientID: m.ClientID})
				}
			}
			var rest []model.TopicPartition
			for _, o := range committed {
				if tp := o.TP(); !owned[tp] {
					rest = append(rest, tp)
				}
			}
			slices.SortFunc(rest, byPartition)
			for _, tp := range rest {
				tps = append(tps, tp)
				view.Rows = append(view.Rows, GroupOffsetRow{Group: grp, Topic: tp.Topic, Partition: tp.Partition, CurrentOffset: offsetOr(current, tp)})
			}
			_ = a.ListOffsets(tps, OffsetLatest, func(ends map[model.TopicPartition]ListedOffset, err error) {
				// As the tool does, a partition whose end is unknown
				// shows "-" rather than failing the whole view.
				for i := range view.Rows {
					r := &view.Rows[i]
					r.LogEndOffset = -1
					if o, ok := ends[model.TopicPartition{Topic: r.Topic, Partition: r.Partition}]; ok {
						r.LogEndOffset = o.Offset
					}
				}
				done(view, nil)
			})
		})
	})
}

func offsetOr(m map[model.TopicPartition]int64, tp model.TopicPartition) int64 {
	if o, ok := m[tp]; ok {
		return o
	}
	return -1
}

// ResetTarget is where kafka-consumer-groups --reset-offsets moves a
// group's offsets.
type ResetTarget uint8

// The reset targets, with the tool's option names.
const (
	// ToEarliest moves to the log start offset (--to-earliest).
	ToEarliest ResetTarget = iota + 1
	// ToLatest moves to the log end offset, the high-water mark
	// (--to-latest).
	ToLatest
	// ToOffset moves to OffsetReset.Offset (--to-offset), kept within the
	// log's start and end offsets.
	ToOffset
	// ShiftBy moves the committed offset by OffsetReset.Offset, which may
	// be negative (--shift-by), kept within the log's start and end.
	ShiftBy
)

var resetNames = [...]string{ToEarliest: "to-earliest", ToLatest: "to-latest", ToOffset: "to-offset", ShiftBy: "shift-by"}

func (t ResetTarget) String() string {
	if int(t) < len(resetNames) && resetNames[t] != "" {
		return resetNames[t]
	}
	return fmt.Sprintf("ResetTarget(%d)", uint8(t))
}

// OffsetReset says where ResetOffsets moves a group's offsets.
type OffsetReset struct {
	To     ResetTarget
	Offset int64 // ToOffset: the offset; ShiftBy: the shift
}

func (r OffsetReset) String() string {
	if r.To == ToOffset || r.To == ShiftBy {
		return fmt.Sprintf("%s %d", r.To, r.Offset)
	}
	return r.To.String()
}

// ParseOffsetReset reads a reset as the tool's options spell it:
// "to-earliest", "to-latest", "to-offset 42" or "shift-by -10" (with a
// leading "--" or not, and "=" or a space before the number).
func ParseOffsetReset(s string) (OffsetReset, error) {
	f := strings.Fields(strings.ReplaceAll(strings.TrimPrefix(strings.TrimSpace(s), "--"), "=", " "))
	accepted := "accepted: to-earliest, to-latest, to-offset <offset>, shift-by <n>"
	if len(f) == 0 {
		return OffsetReset{}, fmt.Errorf("offset reset is empty; %s", accepted)
	}
	switch f[0] {
	case "to-earliest", "to-latest":
		if len(f) != 1 {
			return OffsetReset{}, fmt.Errorf("offset reset %q: %s takes no number", s, f[0])
		}
		if f[0] == "to-earliest" {
			return OffsetReset{To: ToEarliest}, nil
		}
		return OffsetReset{To: ToLatest}, nil
	case "to-offset", "shift-by":
		if len(f) != 2 {
			return OffsetReset{}, fmt.Errorf("offset reset %q: %s takes one number", s, f[0])
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return OffsetReset{}, fmt.Errorf("offset reset %q: %q is not a number", s, f[1])
		}
		if f[0] == "to-offset" {
			if n < 0 {
				return OffsetReset{}, fmt.Errorf("offset reset %q: the offset is negative: give 0 or more", s)
			}
			return OffsetReset{To: ToOffset, Offset: n}, nil
		}
		return OffsetReset{To: ShiftBy, Offset: n}, nil
	}
	return OffsetReset{}, fmt.Errorf("offset reset %q: unknown; %s", s, accepted)
}

// ResetOffsets is kafka-consumer-groups --reset-offsets --execute: it
// moves a group's committed offsets for every partition of the given
// topics (nil: every partition the group has an offset for, as
// --all-topics). As the tool, it refuses unless the group is inactive
// (Empty, or Dead: unknown to its coordinator), with NON_EMPTY_GROUP and
// the tool's message; it keeps offsets within each partition's log start
// and end. done gets the offsets written. The group description, the
// reads of offsets and the commit are operations in the history.
func (a *Admin) ResetOffsets(grp string, topics []string, to OffsetReset, done func([]history.CommittedOffset, error)) error {
	if grp == "" {
		return errors.New("reset offsets: the group id is empty (INVALID_GROUP_ID)")
	}
	switch to.To {
	case ToEarliest, ToLatest, ShiftBy:
	case ToOffset:
		if to.Offset < 0 {
			return fmt.Errorf("reset offsets of %s: offset %d is negative: give 0 or more", grp, to.Offset)
		}
	default:
		return fmt.Errorf("reset offsets of %s: unknown target %s: accepted are to-earliest, to-latest, to-offset and shift-by", grp, to.To)
	}
	for _, t := range topics {
		if err := ValidateTopicName(t); err != nil {
			return fmt.Errorf("reset offsets of %s: %w", grp, err)
		}
	}
	topics = slices.Clone(topics)
	return a.DescribeGroups([]string{grp}, func(ds []GroupDescription, err error) {
		if err != nil {
			done(nil, err)
			return
		}
		if st := ds[0].State; st != "Empty" && st != "Dead" {
			a.s.Mark("client.admin.reset-refused-active-group")
			done(nil, &AdminError{Code: protocol.NonEmptyGroup,
				Message: fmt.Sprintf("Assignments can only be reset if the group '%s' is inactive, but the current state is %s.", grp, st)})
			return
		}
		a.resetPartitions(grp, topics, func(tps []model.TopicPartition, committed map[model.TopicPartition]int64, err error) {
			if err != nil {
				done(nil, err)
				return
			}
			if len(tps) == 0 {
				done(nil, &AdminError{Code: protocol.UnknownTopicOrPartition, Message: fmt.Sprintf("group %s has no partitions to reset", grp)})
				return
			}
			a.resetTargets(tps, committed, to, func(offs []history.CommittedOffset, err error) {
				if err != nil {
					done(nil, err)
					return
				}
				_ = a.AlterConsumerGroupOffsets(grp, offs, func(err error) {
					if err != nil {
						done(nil, err)
						return
					}
					done(offs, nil)
				})
			})
		})
	})
}

// resetPartitions finds the partitions a reset covers: every partition
// of the topics, or every partition with a committed offset; and the
// committed offsets, which a shift needs.
func (a *Admin) resetPartitions(grp string, topics []string, done func([]model.TopicPartition, map[model.TopicPartition]int64, error)) {
	_ = a.ListConsumerGroupOffsets(grp, nil, func(offs []history.CommittedOffset, err error) {
		if err != nil {
			done(nil, nil, err)
			return
		}
		committed := map[model.TopicPartition]int64{}
		var tps []model.TopicPartition
		for _, o := range offs {
			if o.Offset >= 0 {
				committed[o.TP()] = o.Offset
				if topics == nil {
					tps = append(tps, o.TP())
				}
			}
		}
		if topics == nil {
			done(tps, committed, nil)
			return
		}
		var next func(i int)
		next = func(i int) {
			if i == len(topics) {
				done(sortedTPs(tps), committed, nil)
				return
			}
			partitionsFor(a.c, topics[i], a.cfg.RetryBackoff, a.now()+a.cfg.DefaultAPITimeout, func(ps []PartitionInfo, err error) {
				if err != nil {
					done(nil, nil, &AdminError{Code: codeOf(err), Message: "topic " + topics[i]})
					return
				}
				for _, p := range ps {
					tps = append(tps, model.TopicPartition{Topic: p.Topic, Partition: p.Partition})
				}
				next(i + 1)
			})
		}
		next(0)
	})
}

// resetTargets computes the new offsets of a reset, each within its
// partition's log start and end offsets, as the tool does.
func (a *Admin) resetTargets(tps []model.TopicPartition, committed map[model.TopicPartition]int64, to OffsetReset,
	done func([]history.CommittedOffset, error)) {
	_ = a.ListOffsets(tps, OffsetEarliest, func(starts map[model.TopicPartition]ListedOffset, err error) {
		if err != nil {
			done(nil, err)
			return
		}
		_ = a.ListOffsets(tps, OffsetLatest, func(ends map[model.TopicPartition]ListedOffset, err error) {
			if err != nil {
				done(nil, err)
				return
			}
			var out []history.CommittedOffset
			for _, tp := range tps {
				lo, hi := starts[tp].Offset, ends[tp].Offset
				var off int64
				switch to.To {
				case ToEarliest:
					off = lo
				case ToLatest:
					off = hi
				case ToOffset:
					off = to.Offset
				case ShiftBy:
					cur, ok := committed[tp]
					if !ok {
						done(nil, &AdminError{Code: protocol.InvalidRequest,
							Message: fmt.Sprintf("cannot shift the offset of %s: the group has no committed offset there", tp)})
						return
					}
					off = cur + to.Offset
				}
				if off < lo || off > hi {
					a.s.Mark("client.admin.reset-clamped")
				}
				out = append(out, history.CommittedOffset{Topic: tp.Topic, Partition: tp.Partition, Offset: min(max(off, lo), hi), LeaderEpoch: protocol.NoEpoch})
			}
			done(out, nil)
		})
	})
}
