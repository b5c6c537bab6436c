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
	out := map[model.TopicPartition]int64{}
	codes := map[model.TopicPartition]protocol.ErrorCode{}
	pending := slices.Clone(tps)
	var failed []string
	lastErr := protocol.None
	var cl *adminCall
	finish := func(err error) {
		if a.end(cl) {
			done(out, codes, err)
		}
	}
	timedOut := func(msg string) {
		for _, tp := range pending {
			codes[tp] = protocol.RequestTimedOut
		}
		failed = append(failed, fmt.Sprintf("%s: %s", tpNames(pending), msg))
		finish(&AdminError{Code: protocol.RequestTimedOut, Message: strings.Join(failed, "; ")})
	}
	cl = a.newCall("delete-records", func() { timedOut(a.timedOut(cl).Error()) })
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
				failed = append(failed, fmt.Sprintf("%s: %s", tp, protocol.UnknownTopicOrPartition.String()))
				codes[tp], lastErr = protocol.UnknownTopicOrPartition, protocol.UnknownTopicOrPartition
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
			timedOut(a.failure(cl, retryErr, "").Message)
		}
		if outstanding == 0 {
			after()
			return
		}
		for _, leader := range slices.Sorted(maps.Keys(byLeader)) {
			parts := byLeader[leader]
			req := make([]protocol.DeleteRecordsPartition, len(parts))
			for i, tp := range parts {
				req[i] = protocol.DeleteRecordsPartition{TP: tp, Offset: offsets[tp]}
			}
			a.request(cl, leader, func(corr int32) network.Message {
				return &protocol.DeleteRecords{CorrelationID: corr, Partitions: req, Timeout: a.timeout(cl)}
			}, func(m network.Message, code protocol.ErrorCode) {
				resp, _ := m.(*protocol.DeleteRecordsResponse)
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
							out[p.TP] = p.LowWatermark
						case p.Error.Retriable():
							a.s.Mark("client.admin.delete-records.retriable")
							retryErr = p.Error
							again = append(again, p.TP)
						default:
							failed = append(failed, fmt.Sprintf("%s: %s", p.TP, p.Error.String()))
							codes[p.TP], lastErr = p.Error, p.Error
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
