package client

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/network"
)

// DeleteRecordsToHighWatermark as a partition's offset deletes every
// committed record (Kafka's RecordsToDelete.beforeOffset(-1)).
const DeleteRecordsToHighWatermark int64 = -1

// DeleteRecords deletes the records below the given offset of each
// partition (Admin.deleteRecords, kafka-delete-records.sh): the
// partition's leader moves its log start offset there and answers once
// the replicas on live brokers followed (the low watermark). done gets each
// deleted partition's low watermark. An offset above the high-water mark
// fails with OFFSET_OUT_OF_RANGE; retriable errors (no leader, a leader
// that moved, a low watermark that took too long) are retried within
// default.api.timeout.ms. Partitions that failed are missing from the map,
// and err names them. Each partition is one delete-records operation in
// the history.
func (a *Admin) DeleteRecords(offsets map[model.TopicPartition]int64, done func(map[model.TopicPartition]int64, error)) error {
	if len(offsets) == 0 {
		return fmt.Errorf("delete records: no partitions given")
	}
	tps := slices.SortedFunc(maps.Keys(offsets), model.TopicPartition.Compare)
	for _, tp := range tps {
		if err := ValidateTopicName(tp.Topic); err != nil {
			return fmt.Errorf("delete records: %w (INVALID_TOPIC_EXCEPTION)", err)
		}
		if o := offsets[tp]; o < DeleteRecordsToHighWatermark {
			return fmt.Errorf("delete records: %s: offset %d: give an offset of 0 or more, or -1 for the high-water mark", tp, o)
		}
	}
	ids := map[model.TopicPartition]int64{}
	for _, tp := range tps {
		ids[tp] = a.rec.InvokeAdmin(a.now(), a.cfg.ClientID, a.process, history.Admin{Action: "delete-records", Topic: tp.Topic,
			Partition: tp.Partition, Offset: offsets[tp]})
	}
	a.deleteRecords(tps, offsets, func(out map[model.TopicPartition]int64, codes map[model.TopicPartition]protocol.ErrorCode, err error) {
		for _, tp := range tps {
			if low, ok := out[tp]; ok {
				a.rec.AdminOK(ids[tp], a.now(), map[string]string{"low_watermark": fmt.Sprint(low)})
				continue
			}
			code := codes[tp]
			if code == protocol.None {
				code = codeOf(err)
			}
			switch code {
			case protocol.RequestTimedOut, protocol.NetworkException, protocol.UnknownServerError:
				// An attempt may have moved the log start offset unseen.
				a.rec.Unknown(ids[tp], a.now(), code.String())
			default:
				a.rec.Fail(ids[tp], a.now(), code.String())
			}
		}
		done(out, err)
	})
	return nil
}

// deleteRecords sends DeleteRecords to the partitions' leaders, retrying
// retriable errors, and hands done the low watermarks, the last error of
// each partition that failed, and an error naming them.
func (a *Admin) deleteRecords(tps []model.TopicPartition, offsets map[model.TopicPartition]int64,
	done func(map[model.TopicPartition]int64, map[model.TopicPartition]protocol.ErrorCode, error)) {
	toLeaders(a, leaderOp[int64]{
		name:        "delete-records",
		onRetriable: func() { a.s.Mark("client.admin.delete-records.retriable") },
		build: func(cl *adminCall, parts []model.TopicPartition) func(int32) network.Message {
			req := make([]protocol.DeleteRecordsPartition, len(parts))
			for i, tp := range parts {
				req[i] = protocol.DeleteRecordsPartition{TP: tp, Offset: offsets[tp]}
			}
			return func(corr int32) network.Message {
				return &protocol.DeleteRecords{CorrelationID: corr, Partitions: req, Timeout: a.timeout(cl)}
			}
		},
		answers: func(m network.Message) ([]leaderAnswer[int64], bool) {
			resp, ok := m.(*protocol.DeleteRecordsResponse)
			if !ok || resp == nil {
				return nil, false
			}
			out := make([]leaderAnswer[int64], len(resp.Partitions))
			for i, p := range resp.Partitions {
				out[i] = leaderAnswer[int64]{TP: p.TP, Error: p.Error, Result: p.LowWatermark}
			}
			return out, true
		},
	}, tps, done)
}
