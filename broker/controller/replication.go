package controller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/broker/metadata"
	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/sim"
)

// topicConfig returns a topic's effective config: its own, else the
// cluster-wide dynamic default, else the controller's static config.
func (c *Controller) topicConfig(im *metadata.Image, topic, name string) string {
	if v, ok := im.TopicConfig(topic, name); ok {
		return v
	}
	switch name {
	case MinInsyncReplicasConfig:
		return strconv.Itoa(c.cfg.MinInsyncReplicas)
	case UncleanLeaderElectionConfig:
		return strconv.FormatBool(c.cfg.UncleanLeaderElection)
	}
	return ""
}

// minISR is the topic's effective min.insync.replicas, capped by the
// replication factor as Kafka's controller caps it.
func (c *Controller) minISR(topic string, replicas int) int {
	n, err := strconv.Atoi(c.topicConfig(c.working.image, topic, MinInsyncReplicasConfig))
	if err != nil || n < 1 {
		n = c.cfg.MinInsyncReplicas
	}
	return min(n, max(replicas, 1))
}

func (c *Controller) uncleanEnabled(topic string) bool {
	return c.topicConfig(c.working.image, topic, UncleanLeaderElectionConfig) == "true"
}

func (c *Controller) newChange(tp model.TopicPartition, p *metadata.Partition, acceptable func(int32) bool) *change {
	t, _ := c.working.image.Topic(tp.Topic)
	return newChange(p, t.ID, tp.Partition, acceptable, c.minISR(tp.Topic, len(p.Replicas)), c.cfg.ELR)
}

// leaderAndISRUpdates returns the changes that take the partitions to a
// state without broker remove (in their ISR and leadership), with broker
// add acceptable as a leader although not yet unfenced, and without broker
// unclean (which restarted after an unclean shutdown) in their ISR, ELR
// and leadership: Kafka's generateLeaderAndIsrUpdates. Each argument may
// be -1 for none.
func (c *Controller) leaderAndISRUpdates(remove, add, unclean int32, tps []model.TopicPartition) []metadata.Record {
	acceptable := func(r int32) bool {
		return r != remove && r != unclean && (r == add || c.isActive(r))
	}
	var recs []metadata.Record
	for _, tp := range tps {
		p, ok := c.working.image.Partition(tp)
		if !ok {
			continue
		}
		ch := c.newChange(tp, p, acceptable)
		if c.uncleanEnabled(tp.Topic) {
			ch.election = electUnclean
		}
		ch.uncleanShutdown = unclean
		ch.targetISR = without(p.ISR, remove, unclean)
		if rec := ch.build(); rec != nil {
			recs = append(recs, rec)
			c.noteChange(tp, ch, rec)
		}
	}
	return recs
}

// noteChange marks and traces what a partition change decided.
func (c *Controller) noteChange(tp model.TopicPartition, ch *change, rec *metadata.PartitionChangeRecord) {
	if ch.kind != noElection && ch.kind != electedNone {
		c.s.Mark("controller.election." + ch.kind.String())
	}
	if ch.kind == electedNone {
		c.s.Mark("controller.partition.offline")
	}
	if rec.ELR != nil && len(rec.ELR) > len(ch.p.ELR) {
		c.s.Mark("controller.elr.added")
	}
	c.emit("controller.partition-change", sim.Digest(uint64(len(tp.Topic)), uint64(tp.Partition), uint64(ch.kind)),
		"%s: %s", tp, DescribeChange(ch.p, rec, ch.kind.String()))
}

// DescribeChange formats what a change record does to a partition, for
// traces and scripts: the new leader and how it was elected, then every
// field that changes.
func DescribeChange(p *metadata.Partition, rec *metadata.PartitionChangeRecord, election string) string {
	var parts []string
	if rec.Leader != metadata.NoLeaderChange {
		l := fmt.Sprintf("leader %d -> %d", p.Leader, rec.Leader)
		if election != "" {
			l += " (" + election + ")"
		}
		parts = append(parts, l)
	}
	if rec.ISR != nil {
		parts = append(parts, fmt.Sprintf("isr %v -> %v", p.ISR, rec.ISR))
	}
	if rec.ELR != nil {
		parts = append(parts, fmt.Sprintf("elr %v -> %v", p.ELR, rec.ELR))
	}
	if rec.LastKnownELR != nil {
		parts = append(parts, fmt.Sprintf("last-known-leader %v -> %v", p.LastKnownELR, rec.LastKnownELR))
	}
	if rec.LeaderRecoveryState != metadata.NoRecoveryStateChange {
		parts = append(parts, rec.LeaderRecoveryState.String())
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// ---- AlterPartition ----

// handleAlterPartition validates and applies a leader's ISR change, as
// Kafka's ReplicationControlManager.alterPartition does: the requesting
// broker's epoch first (STALE_BROKER_EPOCH for the whole request), then
// per partition the leader and partition epochs (FENCED_LEADER_EPOCH,
// INVALID_UPDATE_VERSION; NOT_CONTROLLER when the request is ahead of this
// controller), the leader (INVALID_REQUEST), the ISR's shape
// (INVALID_REQUEST), the recovery state (KIP-704), and the eligibility of
// every new ISR member (INELIGIBLE_REPLICA: not registered, fenced,
// shutting down, or, KIP-903, on a broker epoch other than the one it now
// has).
func (c *Controller) handleAlterPartition(from sim.NodeID, m *protocol.AlterPartition) {
	resp := &protocol.AlterPartitionResponse{CorrelationID: m.CorrelationID}
	notController := func() {
		c.reply(from, &protocol.AlterPartitionResponse{CorrelationID: m.CorrelationID, Error: protocol.NotController})
	}
	if !c.active {
		notController()
		return
	}
	if reg, ok := c.working.image.Broker(m.BrokerID); !ok || reg.Epoch != m.BrokerEpoch {
		c.s.Mark("controller.alter-partition.rejected-stale-broker-epoch")
		resp.Error = protocol.StaleBrokerEpoch
		c.reply(from, resp)
		return
	}
	var recs []metadata.Record
	for _, item := range m.Partitions {
		res := protocol.AlterPartitionResult{TP: item.TP}
		p, ok := c.working.image.Partition(item.TP)
		if ok {
			res.Error = c.validateAlterPartition(m.BrokerID, p, item)
		} else {
			res.Error = protocol.UnknownTopicOrPartition
		}
		if res.Error != protocol.None {
			c.s.Mark("controller.alter-partition.rejected-" + markName(res.Error))
			c.emit("controller.alter-partition.rejected", uint64(res.Error), "AlterPartition from broker %d for %s (isr %v): %s",
				m.BrokerID, item.TP, item.ISR(), res.Error)
			resp.Partitions = append(resp.Partitions, res)
			continue
		}
		ch := c.newChange(item.TP, p, c.isActive)
		if c.uncleanEnabled(item.TP.Topic) {
			ch.election = electUnclean
		}
		ch.targetISR = item.ISR()
		ch.targetRecovery = item.LeaderRecoveryState
		if rec := ch.build(); rec != nil {
			recs = append(recs, rec)
			c.noteChange(item.TP, ch, rec)
			if p.LeaderRecoveryState == protocol.Recovering && rec.LeaderRecoveryState == protocol.Recovered {
				c.s.Mark("controller.leader-recovered")
			}
			p = p.Merge(rec)
			if rec.Leader != metadata.NoLeaderChange && rec.Leader != m.BrokerID {
				res.Error = protocol.NewLeaderElected
				resp.Partitions = append(resp.Partitions, res)
				continue
			}
		}
		res.LeaderID, res.LeaderEpoch, res.PartitionEpoch = p.Leader, p.LeaderEpoch, p.PartitionEpoch
		res.ISR, res.LeaderRecoveryState = slices.Clone(p.ISR), p.LeaderRecoveryState
		resp.Partitions = append(resp.Partitions, res)
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		*resp = protocol.AlterPartitionResponse{CorrelationID: m.CorrelationID, Error: writeError(err)}
	}, notController)
}

func markName(code protocol.ErrorCode) string {
	b := []byte(code.String())
	for i, ch := range b {
		switch {
		case ch == '_':
			b[i] = '-'
		case 'A' <= ch && ch <= 'Z':
			b[i] = ch - 'A' + 'a'
		}
	}
	return string(b)
}

func (c *Controller) validateAlterPartition(broker int32, p *metadata.Partition, item protocol.AlterPartitionItem) protocol.ErrorCode {
	switch {
	case item.LeaderEpoch > p.LeaderEpoch, item.PartitionEpoch > p.PartitionEpoch:
		// The leader knows a newer state than this controller: another
		// controller must have written it.
		return protocol.NotController
	case item.LeaderEpoch < p.LeaderEpoch:
		return protocol.FencedLeaderEpoch
	case broker != p.Leader:
		return protocol.InvalidRequest
	case item.PartitionEpoch < p.PartitionEpoch:
		return protocol.InvalidUpdateVersion
	}
	isr := item.ISR()
	for i, id := range isr {
		if !slices.Contains(p.Replicas, id) || slices.Contains(isr[:i], id) {
			return protocol.InvalidRequest
		}
	}
	if !slices.Contains(isr, p.Leader) {
		return protocol.InvalidRequest
	}
	if item.LeaderRecoveryState == protocol.Recovering && len(isr) > 1 {
		return protocol.InvalidRequest
	}
	if p.LeaderRecoveryState == protocol.Recovered && item.LeaderRecoveryState == protocol.Recovering {
		return protocol.InvalidRequest
	}
	for _, s := range item.NewISR {
		reg, ok := c.working.image.Broker(s.BrokerID)
		switch {
		case !ok, reg.InControlledShutdown, reg.Fenced:
			return protocol.IneligibleReplica
		case s.BrokerEpoch != protocol.NoBrokerEpoch && s.BrokerEpoch != reg.Epoch:
			if !c.cfg.IgnoreISRBrokerEpochs {
				// KIP-903: the leader saw this replica fetch from an
				// incarnation that has re-registered since.
				c.s.Mark("controller.kip903.rejected")
				return protocol.IneligibleReplica
			}
			c.s.Mark("controller.kip903.unchecked")
		}
	}
	return protocol.None
}

// ---- CreateTopics ----

// maxTopicNameLength is Kafka's limit on topic names.
const maxTopicNameLength = 249

// validateTopicName checks a name as Kafka's Topic.validate does.
func validateTopicName(name string) string {
	switch {
	case name == "":
		return "topic name is illegal, it can't be empty"
	case name == "." || name == "..":
		return "topic name cannot be \".\" or \"..\""
	case len(name) > maxTopicNameLength:
		return fmt.Sprintf("topic name is illegal, it can't be longer than %d characters, topic name: %s", maxTopicNameLength, name)
	}
	for _, r := range name {
		if !(r == '.' || r == '_' || r == '-' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return fmt.Sprintf("topic name %q is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'", name)
		}
	}
	return ""
}

// handleCreateTopics creates topics, as Kafka's controller does: the name,
// existence, configs, partition count and replication factor are checked
// (each failure with Kafka's error code and a message saying what is
// accepted); replicas are placed by the striped placer; each partition
// starts with its live replicas as the ISR and the first of them as
// leader, at leader and partition epoch 0.
func (c *Controller) handleCreateTopics(from sim.NodeID, m *protocol.CreateTopics) {
	resp := &protocol.CreateTopicsResponse{CorrelationID: m.CorrelationID}
	fail := func() {
		c.reply(from, &protocol.CreateTopicsResponse{CorrelationID: m.CorrelationID,
			Topics: notControllerTopics(c, m.Topics, func(t protocol.CreatableTopic) string { return t.Name })})
	}
	if !c.active {
		fail()
		return
	}
	var recs []metadata.Record
	seen := map[string]bool{}
	var created []string // earlier in this request: they collide too
	for _, t := range m.Topics {
		te := protocol.TopicError{Name: t.Name}
		switch {
		case seen[t.Name]:
			te.Error, te.Message = protocol.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", t.Name)
		case t.Name == ClusterMetadataTopic:
			te.Error, te.Message = protocol.InvalidRequest, fmt.Sprintf("Creation of internal topic %s is prohibited.", ClusterMetadataTopic)
		default:
			te.Error, te.Message = c.createTopic(t, m.ValidateOnly, created, &recs)
			if te.Error == protocol.None {
				created = append(created, t.Name)
			}
		}
		seen[t.Name] = true
		resp.Topics = append(resp.Topics, te)
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		for i := range resp.Topics {
			if resp.Topics[i].Error == protocol.None {
				resp.Topics[i].Error, resp.Topics[i].Message = writeError(err), err.Error()
			}
		}
	}, fail)
}

// newTopicPlacer returns a placer over the usable brokers of the working
// image: registered and not in controlled shutdown.
func (c *Controller) newTopicPlacer() *placer {
	im := c.working.image
	var usable []usableBroker
	for _, id := range im.Brokers() {
		if reg, _ := im.Broker(id); !reg.InControlledShutdown {
			usable = append(usable, usableBroker{id: id, fenced: reg.Fenced})
		}
	}
	return newPlacer(c.n.Rand(), usable)
}

func (c *Controller) createTopic(t protocol.CreatableTopic, validateOnly bool, created []string, recs *[]metadata.Record) (protocol.ErrorCode, string) {
	im := c.working.image
	if msg := validateTopicName(t.Name); msg != "" {
		return protocol.InvalidTopicException, msg
	}
	if _, ok := im.Topic(t.Name); ok {
		return protocol.TopicAlreadyExists, fmt.Sprintf("topic '%s' already exists", t.Name)
	}
	if HasCollisionChars(t.Name) {
		// '.' and '_' are one character in metric names: Kafka refuses a
		// name that collides with an existing topic's.
		if msg := collision(t.Name, append(im.Topics(), created...)); msg != "" {
			return protocol.InvalidTopicException, msg
		}
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range t.Configs {
			if !yield(k) {
				return
			}
		}
	}) {
		if err := ValidateTopicConfig(name, t.Configs[name]); err != nil {
			return protocol.InvalidConfig, err.Error()
		}
	}
	partitions, rf := int(t.NumPartitions), int(t.ReplicationFactor)
	switch {
	case rf == 0 || rf < -1:
		return protocol.InvalidReplicationFactor, fmt.Sprintf("replication factor %d: it must be larger than 0, or -1 to use the default value (default.replication.factor=%d)",
			rf, c.cfg.DefaultReplicationFactor)
	case partitions == 0 || partitions < -1:
		return protocol.InvalidPartitions, fmt.Sprintf("number of partitions %d: it must be larger than 0, or -1 to use the default value (num.partitions=%d)",
			partitions, c.cfg.NumPartitions)
	}
	if rf == -1 {
		rf = c.cfg.DefaultReplicationFactor
	}
	if partitions == -1 {
		partitions = c.cfg.NumPartitions
	}
	pl := c.newTopicPlacer()
	if err := pl.check(rf); err != nil {
		return protocol.InvalidReplicationFactor, fmt.Sprintf("unable to replicate the partition %d time(s): %v", rf, err)
	}
	parts := make([]*metadata.PartitionRecord, partitions)
	for i := range parts {
		replicas := pl.place(rf)
		var isr []int32
		for _, r := range replicas {
			if c.isActive(r) {
				isr = append(isr, r)
			}
		}
		if len(isr) == 0 {
			return protocol.InvalidReplicationFactor, fmt.Sprintf("unable to replicate the partition %d time(s): all brokers are currently fenced or in controlled shutdown", rf)
		}
		parts[i] = &metadata.PartitionRecord{PartitionID: int32(i), Replicas: replicas, ISR: isr, Leader: isr[0],
			LeaderRecoveryState: protocol.Recovered}
	}
	if validateOnly {
		return protocol.None, ""
	}
	id := metadata.NewUuid(c.n.Rand())
	*recs = append(*recs, &metadata.TopicRecord{Name: t.Name, TopicID: id})
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range t.Configs {
			if !yield(k) {
				return
			}
		}
	}) {
		v := t.Configs[name]
		*recs = append(*recs, &metadata.ConfigRecord{ResourceType: metadata.TopicResource, ResourceName: t.Name, Name: name, Value: &v})
	}
	for _, p := range parts {
		p.TopicID = id
		*recs = append(*recs, p)
	}
	c.emit("controller.create-topic", sim.DigestString(uint64(partitions), t.Name), "topic %s: %d partition(s), replication factor %d",
		t.Name, partitions, rf)
	return protocol.None, ""
}

// ---- DeleteTopics ----

func (c *Controller) handleDeleteTopics(from sim.NodeID, m *protocol.DeleteTopics) {
	resp := &protocol.DeleteTopicsResponse{CorrelationID: m.CorrelationID}
	fail := func() {
		c.reply(from, &protocol.DeleteTopicsResponse{CorrelationID: m.CorrelationID,
			Topics: notControllerTopics(c, m.Names, func(n string) string { return n })})
	}
	if !c.active {
		fail()
		return
	}
	var recs []metadata.Record
	removed := map[string]bool{}
	for _, name := range m.Names {
		te := protocol.TopicError{Name: name}
		t, ok := c.working.image.Topic(name)
		switch {
		case !ok:
			te.Error, te.Message = protocol.UnknownTopicOrPartition, fmt.Sprintf("no such topic as %q", name)
		case !removed[name]:
			removed[name] = true
			recs = append(recs, &metadata.RemoveTopicRecord{TopicID: t.ID})
		}
		resp.Topics = append(resp.Topics, te)
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		for i := range resp.Topics {
			if resp.Topics[i].Error == protocol.None {
				resp.Topics[i].Error, resp.Topics[i].Message = writeError(err), err.Error()
			}
		}
	}, fail)
}

// ---- ElectLeaders ----

func (c *Controller) handleElectLeaders(from sim.NodeID, m *protocol.ElectLeaders) {
	resp := &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID}
	fail := func() {
		c.reply(from, &protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID, Error: protocol.NotController})
	}
	if !c.active {
		fail()
		return
	}
	if m.ElectionType != protocol.ElectPreferred && m.ElectionType != protocol.ElectUnclean {
		resp.Error = protocol.InvalidRequest
		c.reply(from, resp)
		return
	}
	var recs []metadata.Record
	tps, all := m.Partitions, m.Partitions == nil
	if all {
		tps = c.working.image.Partitions()
	}
	for _, tp := range tps {
		code, msg, rec := c.electLeader(tp, m.ElectionType)
		if rec != nil {
			recs = append(recs, rec)
		}
		if all && code == protocol.ElectionNotNeeded {
			continue
		}
		resp.Results = append(resp.Results, protocol.PartitionResult{TP: tp, Error: code, Message: msg})
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		*resp = protocol.ElectLeadersResponse{CorrelationID: m.CorrelationID, Error: writeError(err)}
	}, fail)
}

// electLeader runs a preferred or unclean election of one partition
// (Kafka's ReplicationControlManager.electLeader).
func (c *Controller) electLeader(tp model.TopicPartition, kind protocol.ElectionType) (protocol.ErrorCode, string, *metadata.PartitionChangeRecord) {
	if _, ok := c.working.image.Topic(tp.Topic); !ok {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("no such topic as %q", tp.Topic), nil
	}
	p, ok := c.working.image.Partition(tp)
	if !ok {
		return protocol.UnknownTopicOrPartition, fmt.Sprintf("no such partition as %s", tp), nil
	}
	if (kind == protocol.ElectPreferred && p.Leader == p.Replicas[0]) || (kind == protocol.ElectUnclean && p.Leader != metadata.NoLeader) {
		return protocol.ElectionNotNeeded, "", nil
	}
	ch := c.newChange(tp, p, c.isActive)
	ch.election = electPreferred
	if kind == protocol.ElectUnclean {
		ch.election = electUnclean
	}
	rec := ch.build()
	if rec == nil {
		if kind == protocol.ElectPreferred {
			return protocol.PreferredLeaderNotAvailable, fmt.Sprintf("preferred replica %d of %s may not lead (not a live ISR member)", p.Replicas[0], tp), nil
		}
		return protocol.EligibleLeadersNotAvailable, fmt.Sprintf("no live replica of %s may lead", tp), nil
	}
	c.noteChange(tp, ch, rec)
	return protocol.None, "", rec
}

// ---- periodic elections ----

func (c *Controller) imbalanced() bool {
	im := c.working.image
	for _, tp := range im.Partitions() {
		if p, _ := im.Partition(tp); p.Leader != p.Replicas[0] {
			return true
		}
	}
	return false
}

// maybeScheduleBalance schedules the preferred-leader pass of
// auto.leader.rebalance.enable when some leader is not preferred.
func (c *Controller) maybeScheduleBalance() {
	if !c.active || !c.cfg.AutoLeaderRebalance || c.s.Scheduled(c.balanceT) || !c.imbalanced() {
		return
	}
	d := c.cfg.LeaderImbalanceCheckInterval
	if c.balanceSoon {
		d = 10 * time.Millisecond
	}
	c.balanceT = c.n.After(d, "controller.leader-rebalance", c.balanceLeaders)
}

func (c *Controller) balanceLeaders() {
	if !c.active {
		return
	}
	var recs []metadata.Record
	im := c.working.image
	for _, tp := range im.Partitions() {
		if len(recs) >= c.cfg.MaxElectionsPerImbalance {
			break
		}
		p, _ := im.Partition(tp)
		if p.Leader == p.Replicas[0] {
			continue
		}
		ch := c.newChange(tp, p, c.isActive)
		ch.election = electPreferred
		if rec := ch.build(); rec != nil {
			recs = append(recs, rec)
			c.noteChange(tp, ch, rec)
		}
	}
	c.balanceSoon = len(recs) >= c.cfg.MaxElectionsPerImbalance
	if _, err := c.write(recs); err != nil {
		c.emit("controller.write-error", 0, "leader rebalance: %v", err)
	}
	c.maybeScheduleBalance()
}

// maybeScheduleUnclean schedules the unclean-election pass
// (unclean.leader.election.interval.ms) when some partition has no leader.
func (c *Controller) maybeScheduleUnclean() {
	if !c.active || c.s.Scheduled(c.uncleanT) || len(c.leaderless()) == 0 {
		return
	}
	d := c.cfg.UncleanLeaderElectionInterval
	if c.uncleanSoon {
		d = 10 * time.Millisecond
	}
	c.uncleanT = c.n.After(d, "controller.unclean-elections", c.electUncleanLeaders)
}

func (c *Controller) electUncleanLeaders() {
	if !c.active {
		return
	}
	var recs []metadata.Record
	for _, tp := range c.leaderless() {
		if len(recs) >= c.cfg.MaxElectionsPerImbalance {
			break
		}
		if !c.uncleanEnabled(tp.Topic) {
			continue
		}
		if code, _, rec := c.electLeader(tp, protocol.ElectUnclean); code == protocol.None {
			recs = append(recs, rec)
		}
	}
	c.uncleanSoon = len(recs) >= c.cfg.MaxElectionsPerImbalance
	if _, err := c.write(recs); err != nil {
		c.emit("controller.write-error", 0, "unclean elections: %v", err)
	}
	c.maybeScheduleUnclean()
}

// ---- IncrementalAlterConfigs ----

// handleAlterConfigs sets or deletes topic configs and the cluster-wide
// defaults (a broker resource with an empty name) of the configs kafkasim
// models. With ELR on, a change of min.insync.replicas clears the ELR of
// the partitions it applies to, as Kafka does.
func (c *Controller) handleAlterConfigs(from sim.NodeID, m *protocol.IncrementalAlterConfigs) {
	resp := &protocol.IncrementalAlterConfigsResponse{CorrelationID: m.CorrelationID}
	fail := func() {
		failed := &protocol.IncrementalAlterConfigsResponse{CorrelationID: m.CorrelationID}
		for _, r := range m.Resources {
			failed.Results = append(failed.Results, protocol.AlterConfigsResult{Type: r.Type, Name: r.Name, Error: protocol.NotController})
		}
		c.reply(from, failed)
	}
	if !c.active {
		fail()
		return
	}
	var recs []metadata.Record
	for _, r := range m.Resources {
		res := protocol.AlterConfigsResult{Type: r.Type, Name: r.Name}
		rrecs, code, msg := c.alterConfigs(r)
		res.Error, res.Message = code, msg
		if code == protocol.None && !m.ValidateOnly {
			recs = append(recs, rrecs...)
		}
		resp.Results = append(resp.Results, res)
	}
	c.commitAndReply(from, recs, resp, func(err error) {
		for i := range resp.Results {
			if resp.Results[i].Error == protocol.None {
				resp.Results[i].Error, resp.Results[i].Message = writeError(err), err.Error()
			}
		}
	}, fail)
}

func (c *Controller) alterConfigs(r protocol.AlterConfigsResource) ([]metadata.Record, protocol.ErrorCode, string) {
	im := c.working.image
	var rtype metadata.ConfigResourceType
	switch {
	case r.Type == protocol.ResourceTopic:
		if _, ok := im.Topic(r.Name); !ok {
			return nil, protocol.UnknownTopicOrPartition, fmt.Sprintf("no such topic as %q", r.Name)
		}
		rtype = metadata.TopicResource
	case r.Type == protocol.ResourceBroker && r.Name == "":
		rtype = metadata.BrokerResource
	default:
		return nil, protocol.InvalidRequest, fmt.Sprintf("config resource %d %q: accepted are a topic (type %d) and the cluster defaults (type %d, empty name)",
			r.Type, r.Name, protocol.ResourceTopic, protocol.ResourceBroker)
	}
	var recs []metadata.Record
	minISRChanged := false
	for _, cfg := range r.Configs {
		rec := &metadata.ConfigRecord{ResourceType: rtype, ResourceName: r.Name, Name: cfg.Name}
		switch cfg.Op {
		case protocol.ConfigSet:
			if err := ValidateTopicConfig(cfg.Name, cfg.Value); err != nil {
				return nil, protocol.InvalidConfig, err.Error()
			}
			v := cfg.Value
			rec.Value = &v
		case protocol.ConfigDelete:
			if !TopicSetters.Has(cfg.Name) {
				return nil, protocol.InvalidConfig, ValidateTopicConfig(cfg.Name, "").Error()
			}
			if c.cfg.ELR && rtype == metadata.BrokerResource && cfg.Name == MinInsyncReplicasConfig {
				return nil, protocol.InvalidConfig, "the cluster-level min.insync.replicas cannot be removed while eligible leader replicas are enabled"
			}
		default:
			return nil, protocol.InvalidRequest, fmt.Sprintf("config operation %d: accepted are %d (SET) and %d (DELETE)", cfg.Op, protocol.ConfigSet, protocol.ConfigDelete)
		}
		recs = append(recs, rec)
		minISRChanged = minISRChanged || cfg.Name == MinInsyncReplicasConfig
	}
	if minISRChanged && c.cfg.ELR {
		for _, tp := range im.Partitions() {
			if rtype == metadata.TopicResource && tp.Topic != r.Name {
				continue
			}
			p, _ := im.Partition(tp)
			if len(p.ELR) == 0 && len(p.LastKnownELR) == 0 {
				continue
			}
			t, _ := im.Topic(tp.Topic)
			rec := metadata.NewPartitionChange(t.ID, tp.Partition)
			rec.ELR, rec.LastKnownELR = []int32{}, []int32{}
			recs = append(recs, rec)
			c.s.Mark("controller.elr.cleared-by-config")
		}
	}
	return recs, protocol.None, ""
}
