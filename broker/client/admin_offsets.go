package client

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// OffsetSpec says which offset ListOffsets looks up: the latest (the
// high-water mark, where a consumer's reading ends) or the earliest (the
// log start offset).
type OffsetSpec int64

// The offset specs, with Kafka's ListOffsets timestamps.
const (
	OffsetLatest   = OffsetSpec(protocol.LatestTimestamp)
	OffsetEarliest = OffsetSpec(protocol.EarliestTimestamp)
)

func (o OffsetSpec) String() string {
	switch o {
	case OffsetLatest:
		return "latest"
	case OffsetEarliest:
		return "earliest"
	}
	return fmt.Sprintf("OffsetSpec(%d)", int64(o))
}

// ListedOffset is one partition's answer to ListOffsets.
type ListedOffset struct {
	Offset      int64
	LeaderEpoch int32
}

// ListOffsets looks up the earliest or latest offset of partitions from
// their leaders (Admin.listOffsets) and calls done with them. Retriable
// errors (no leader, a leader that moved) are retried within
// default.api.timeout.ms; partitions that failed for good are missing
// from the map, and err names them.
func (a *Admin) ListOffsets(tps []model.TopicPartition, spec OffsetSpec, done func(map[model.TopicPartition]ListedOffset, error)) error {
	if spec != OffsetLatest && spec != OffsetEarliest {
		return fmt.Errorf("list offsets: %s: accepted are OffsetLatest and OffsetEarliest", spec)
	}
	tps = sortedTPs(tps)
	id := a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "list-offsets", Partition: -1, Offset: -1,
		Configs: map[string]string{"spec": spec.String(), "partitions": tpNames(tps)}})
	a.listOffsets(tps, spec, func(out map[model.TopicPartition]ListedOffset, err error) {
		result := map[string]string{}
		for tp, o := range out {
			result[tp.String()] = fmt.Sprint(o.Offset)
		}
		if err != nil {
			a.rec.Fail(id, a.now(), codeOf(err).String())
		} else {
			a.rec.AdminOK(id, a.now(), result)
		}
		done(out, err)
	})
	return nil
}

func sortedTPs(tps []model.TopicPartition) []model.TopicPartition {
	tps = slices.Clone(tps)
	slices.SortFunc(tps, model.TopicPartition.Compare)
	return slices.Compact(tps)
}

// listOffsets is ListOffsets without its history record.
func (a *Admin) listOffsets(tps []model.TopicPartition, spec OffsetSpec, done func(map[model.TopicPartition]ListedOffset, error)) {
	out := map[model.TopicPartition]ListedOffset{}
	pending := sortedTPs(tps)
	var failed []string
	lastErr := protocol.None
	var cl *adminCall
	finish := func(err error) {
		if a.end(cl) {
			done(out, err)
		}
	}
	cl = a.newCall("list-offsets", func() {
		failed = append(failed, fmt.Sprintf("%s: %s", tpNames(pending), a.timedOut(cl)))
		finish(&AdminError{Code: protocol.RequestTimedOut, Message: strings.Join(failed, "; ")})
	})
	if len(pending) == 0 {
		a.n.After(0, "admin.list-offsets", func() { finish(nil) })
		return
	}
	var attempt, send func()
	attempt = func() {
		for _, tp := range pending {
			a.c.need(tp.Topic)
		}
		if a.c.stale() {
			a.c.refresh(send)
			return
		}
		send()
	}
	send = func() {
		if cl.ended {
			return
		}
		byLeader := map[int32][]model.TopicPartition{}
		var again []model.TopicPartition
		retryErr := protocol.LeaderNotAvailable
		for _, tp := range pending {
			if info, ok := a.c.leader(tp); ok {
				byLeader[info.Leader] = append(byLeader[info.Leader], tp)
			} else if a.c.missing(tp) {
				// The metadata says the partition does not exist: no
				// retry will find it.
				failed = append(failed, fmt.Sprintf("%s: %s", tp, protocol.UnknownTopicOrPartition.String()))
				lastErr = protocol.UnknownTopicOrPartition
			} else {
				again = append(again, tp)
			}
		}
		outstanding := len(byLeader)
		after := func() {
			pending = sortedTPs(again)
			if len(pending) == 0 {
				if len(failed) > 0 {
					finish(&AdminError{Code: lastErr, Message: strings.Join(failed, "; ")})
				} else {
					finish(nil)
				}
				return
			}
			a.c.invalidate()
			if a.retry(cl, retryErr, attempt) {
				return
			}
			failed = append(failed, fmt.Sprintf("%s: %s", tpNames(pending), a.failure(cl, retryErr, "")))
			finish(&AdminError{Code: protocol.RequestTimedOut, Message: strings.Join(failed, "; ")})
		}
		if outstanding == 0 {
			after()
			return
		}
		for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
			parts := byLeader[leader]
			req := make([]protocol.ListOffsetsPartition, len(parts))
			for i, tp := range parts {
				info, _ := a.c.leader(tp)
				req[i] = protocol.ListOffsetsPartition{TP: tp, CurrentLeaderEpoch: info.LeaderEpoch, Timestamp: int64(spec)}
			}
			a.request(cl, leader, func(corr int32) network.Message {
				return &protocol.ListOffsets{CorrelationID: corr, ReplicaID: protocol.ConsumerReplicaID, Partitions: req}
			}, func(m network.Message, code protocol.ErrorCode) {
				resp, _ := m.(*protocol.ListOffsetsResponse)
				if code == protocol.None && resp == nil {
					code = protocol.UnknownServerError
				}
				answered := map[model.TopicPartition]bool{}
				if code == protocol.None {
					for _, p := range resp.Partitions {
						if !slices.Contains(parts, p.TP) {
							continue
						}
						answered[p.TP] = true
						switch {
						case p.Error == protocol.None:
							out[p.TP] = ListedOffset{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch}
						case p.Error.Retriable():
							retryErr = p.Error
							again = append(again, p.TP)
						default:
							failed = append(failed, fmt.Sprintf("%s: %s", p.TP, p.Error.String()))
							lastErr = p.Error
						}
					}
				} else {
					retryErr = code
				}
				for _, tp := range parts {
					if !answered[tp] {
						again = append(again, tp)
					}
				}
				if outstanding--; outstanding == 0 {
					after()
				}
			})
		}
	}
	attempt()
}
