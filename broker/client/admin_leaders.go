package client

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker/protocol"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/network"
)

// leaderAnswer is one partition's answer in a leader's response.
type leaderAnswer[R any] struct {
	TP     model.TopicPartition
	Error  protocol.ErrorCode
	Result R
}

// leaderOp is an admin operation Kafka's admin client sends partition by
// partition to the partitions' leaders (ListOffsets, DeleteRecords).
type leaderOp[R any] struct {
	// name names the call in errors ("list-offsets").
	name string
	// build returns the request of one leader's partitions.
	build func(cl *adminCall, parts []model.TopicPartition) func(corr int32) network.Message
	// answers reads a response; ok is false when it is not this
	// operation's response.
	answers func(m network.Message) (answers []leaderAnswer[R], ok bool)
	// onRetriable, when set, runs at each retriable partition error.
	onRetriable func()
}

// toLeaders runs op on the partitions tps: it groups them by their
// leader, sends one request per leader, retries retriable errors (no
// leader, a leader that moved) within default.api.timeout.ms, and hands
// done each answered partition's result, the last error of each partition
// that failed, and an error naming the failed partitions.
func toLeaders[R any](a *Admin, op leaderOp[R], tps []model.TopicPartition,
	done func(map[model.TopicPartition]R, map[model.TopicPartition]protocol.ErrorCode, error)) {
	out := map[model.TopicPartition]R{}
	codes := map[model.TopicPartition]protocol.ErrorCode{}
	pending := sortedTPs(tps)
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
	cl = a.newCall(op.name, func() { timedOut(a.timedOut(cl).Error()) })
	if len(pending) == 0 {
		a.n.After(0, "admin."+op.name, func() { finish(nil) })
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
	fail := func(tp model.TopicPartition, code protocol.ErrorCode) {
		failed = append(failed, fmt.Sprintf("%s: %s", tp, code.String()))
		codes[tp], lastErr = code, code
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
				fail(tp, protocol.UnknownTopicOrPartition)
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
			a.request(cl, leader, op.build(cl, parts), func(m network.Message, code protocol.ErrorCode) {
				var answers []leaderAnswer[R]
				if code == protocol.None {
					var ok bool
					if answers, ok = op.answers(m); !ok {
						code = protocol.UnknownServerError
					}
				}
				answered := map[model.TopicPartition]bool{}
				if code == protocol.None {
					for _, p := range answers {
						if !slices.Contains(parts, p.TP) {
							continue
						}
						answered[p.TP] = true
						switch {
						case p.Error == protocol.None:
							out[p.TP] = p.Result
						case p.Error.Retriable():
							if op.onRetriable != nil {
								op.onRetriable()
							}
							retryErr = p.Error
							again = append(again, p.TP)
						default:
							fail(p.TP, p.Error)
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
