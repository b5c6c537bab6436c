package client

import (
	"fmt"
	"slices"

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
	toLeaders(a, leaderOp[ListedOffset]{
		name: "list-offsets",
		build: func(_ *adminCall, parts []model.TopicPartition) func(int32) network.Message {
			req := make([]protocol.ListOffsetsPartition, len(parts))
			for i, tp := range parts {
				info, _ := a.c.leader(tp)
				req[i] = protocol.ListOffsetsPartition{TP: tp, CurrentLeaderEpoch: info.LeaderEpoch, Timestamp: int64(spec)}
			}
			return func(corr int32) network.Message {
				return &protocol.ListOffsets{CorrelationID: corr, ReplicaID: protocol.ConsumerReplicaID, Partitions: req}
			}
		},
		answers: func(m network.Message) ([]leaderAnswer[ListedOffset], bool) {
			resp, ok := m.(*protocol.ListOffsetsResponse)
			if !ok || resp == nil {
				return nil, false
			}
			out := make([]leaderAnswer[ListedOffset], len(resp.Partitions))
			for i, p := range resp.Partitions {
				out[i] = leaderAnswer[ListedOffset]{TP: p.TP, Error: p.Error, Result: ListedOffset{Offset: p.Offset, LeaderEpoch: p.LeaderEpoch}}
			}
			return out, true
		},
	}, tps, func(out map[model.TopicPartition]ListedOffset, _ map[model.TopicPartition]protocol.ErrorCode, err error) {
		done(out, err)
	})
}
