package client

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

// SourceHeader is the header a pipeline's output record carries
// (history.SourceHeader).
const SourceHeader = history.SourceHeader

// TxnWorkload configures a TxnDriver: a transactional producer that runs
// Jepsen-style transactions (each one operation of sends, and now and
// then a read_committed poll, committed or aborted), or, with Input set,
// a consume-transform-produce pipeline (poll Input in a group, write each
// record to Topic, commit the group's offsets with the output through
// sendOffsetsToTransaction).
type TxnWorkload struct {
	// Topic is the topic written to.
	Topic string
	// Input and Group make the driver a pipeline reading Input in Group.
	Input string
	Group string
	// Rate is transactions per second (Jepsen-style; a pipeline runs one
	// transaction per poll that returned records).
	Rate float64
	// MaxSends bounds the sends of one transaction (1 to MaxSends).
	MaxSends int
	// PollChance is the chance a Jepsen-style transaction also polls.
	PollChance float64
	// AbortChance is the chance the application aborts a transaction.
	AbortChance float64
	// Start delays the first initTransactions (a second instance of a
	// transactional id that starts later); Until stops new transactions,
	// 0 never stops.
	Start time.Duration
	Until time.Duration
	// Properties are the producer's properties; transactional.id and
	// client.id default to the node's name.
	Properties map[string]string
}

// Validate reports every invalid setting.
func (w TxnWorkload) Validate() error {
	var errs []error
	if w.Topic == "" {
		errs = append(errs, errors.New("transactional workload: topic is empty: name the topic to write to"))
	}
	if (w.Input == "") != (w.Group == "") {
		errs = append(errs, errors.New("transactional workload: a pipeline needs both input and group"))
	}
	if w.Input == "" && (!(w.Rate > 0) || math.IsInf(w.Rate, 0)) {
		errs = append(errs, fmt.Errorf("transactional workload: rate %v: give transactions per second, above 0", w.Rate))
	}
	if w.MaxSends < 0 {
		errs = append(errs, fmt.Errorf("transactional workload: max sends %d is negative", w.MaxSends))
	}
	for name, p := range map[string]float64{"poll chance": w.PollChance, "abort chance": w.AbortChance} {
		if p < 0 || p > 1 {
			errs = append(errs, fmt.Errorf("transactional workload: %s %v: give a probability from 0 to 1", name, p))
		}
	}
	if _, err := ParseProducerConfig(w.props("x")); err != nil {
		errs = append(errs, fmt.Errorf("transactional workload: %w", err))
	}
	return errors.Join(errs...)
}

func (w TxnWorkload) props(name string) map[string]string {
	m := maps.Clone(w.Properties)
	if m == nil {
		m = map[string]string{}
	}
	if _, ok := m["client.id"]; !ok {
		m["client.id"] = name
	}
	if _, ok := m["transactional.id"]; !ok {
		m["transactional.id"] = "txn-" + name
	}
	return m
}

// A TxnDriver runs a TxnWorkload on its node: every start of the node
// brings up a transactional producer (initTransactions fences the
// previous incarnation) and a read_committed consumer. Each transaction
// is one txn operation in the history, with its sends and polls: OK once
// committed, Fail once aborted, Unknown when the producer was fenced, hit
// a fatal error or the node crashed.
type TxnDriver struct {
	env  Env
	w    TxnWorkload
	node *sim.Node
	inc  uint32
	p    *Producer
	c    *Consumer
	next uint64
	busy bool
	// Stats counts the driver's transactions.
	Stats TxnStats
}

// TxnStats counts transactions by outcome.
type TxnStats struct {
	Committed, Aborted, Unknown int
}

// NewTxnDriver returns a driver; w must be valid.
func NewTxnDriver(env Env, w TxnWorkload) (*TxnDriver, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, errors.New("transactional workload: no history recorder in its environment")
	}
	return &TxnDriver{env: env, w: w}, nil
}

// Workload returns the driver's workload.
func (d *TxnDriver) Workload() TxnWorkload { return d.w }

func (d *TxnDriver) current(p *Producer) bool {
	return d.node != nil && d.node.Up() && d.node.Incarnation() == d.inc && d.p == p
}

func (d *TxnDriver) active() bool {
	return d.w.Until == 0 || d.node.Sim().Now() < d.w.Until
}

// Boot is the driver's sim.Boot.
func (d *TxnDriver) Boot(n *sim.Node) any {
	d.node, d.inc, d.busy = n, n.Incarnation(), false
	// The clients record into a history of their own: the run's history
	// holds the transactions (and a pipeline's polls, below).
	private := d.env
	private.Recorder = history.NewRecorder(history.Header{})
	pcfg, err := ParseProducerConfig(d.w.props(n.Name()))
	if err == nil {
		d.p, err = NewProducer(n, private, pcfg)
	}
	cprops := map[string]string{"client.id": n.Name() + "-consumer", "isolation.level": ReadCommitted, "auto.offset.reset": "earliest"}
	cenv := private
	if d.w.Input != "" {
		// A pipeline's polls, subscriptions and rebalances are the run's
		// operations: what it read is checked as any consumer's reads.
		cenv = d.env
		cprops["group.id"] = d.w.Group
		cprops["enable.auto.commit"] = "false"
	}
	var ccfg ConsumerConfig
	if err == nil {
		ccfg, err = ParseConsumerConfig(cprops)
	}
	if err == nil {
		d.c, err = NewConsumer(n, cenv, ccfg)
	}
	if err == nil && d.w.Input != "" {
		err = d.c.Subscribe([]string{d.w.Input})
	}
	if err != nil {
		n.Sim().Fail("client.txn-driver", fmt.Errorf("%s: %w", n.Name(), err))
		return &Process{}
	}
	p := d.p
	n.After(max(d.w.Start-n.Sim().Now(), 0), "driver.txn-init", func() {
		if !d.current(p) {
			return
		}
		_ = p.InitTransactions(func(err error) {
			if err != nil || !d.current(p) {
				return
			}
			if d.w.Input != "" {
				n.After(0, "driver.txn", d.pipeline)
				return
			}
			d.assign(p)
		})
	})
	return &Process{Producer: d.p, Consumer: d.c}
}

func (d *TxnDriver) assign(p *Producer) {
	c := d.c
	c.PartitionsFor(d.w.Topic, func(ps []PartitionInfo, err error) {
		if !d.current(p) {
			return
		}
		if err != nil {
			d.node.After(time.Second, "driver.txn-assign", func() { d.assign(p) })
			return
		}
		var tps []model.TopicPartition
		for _, pi := range ps {
			tps = append(tps, model.TopicPartition{Topic: pi.Topic, Partition: pi.Partition})
		}
		_ = c.Assign(tps)
		// The run's history learns of the assignment, which the poll
		// checks start from, under the transactions' client name.
		d.env.Recorder.Assign(d.node.Sim().Now(), p.cfg.ClientID, incarnation(d.node), tps)
		for _, tp := range tps {
			// A new consumer without committed offsets starts at the log
			// start (auto.offset.reset=earliest; no retention here).
			d.env.Recorder.Seek(d.node.Sim().Now(), p.cfg.ClientID, incarnation(d.node),
				history.Seek{Topic: tp.Topic, Partition: tp.Partition, Offset: 0, Reason: "auto.offset.reset=earliest"})
		}
		d.node.After(d.gap(), "driver.txn", d.jepsen)
	})
}

func (d *TxnDriver) gap() time.Duration {
	return max(time.Duration(float64(time.Second)/d.w.Rate*(0.5+d.node.Rand().Float64())), time.Microsecond)
}

// txn is one transaction in progress.
type txn struct {
	id     int64
	mops   []history.Mop
	sends  []int // indexes into mops of the sends, in order
	left   int   // sends not yet answered
	failed bool
	start  map[model.TopicPartition]int64 // consumer positions at begin
}

func (d *TxnDriver) begin() *txn {
	p := d.p
	if err := p.BeginTransaction(); err != nil {
		return nil
	}
	t := &txn{id: -1, start: map[model.TopicPartition]int64{}}
	for _, tp := range d.c.Assignment() {
		if pos, ok := d.c.Position(tp); ok {
			t.start[tp] = pos
		}
	}
	return t
}

func (d *TxnDriver) send(t *txn, r ProducerRecord, then func()) {
	i := len(t.mops)
	t.mops = append(t.mops, history.Mop{Send: &history.Send{Topic: r.Topic, Partition: -1, Key: r.Key, Value: r.Value, Headers: r.Headers,
		Acks: model.AcksAll, Idempotent: true, Offset: -1}})
	t.sends = append(t.sends, i)
	t.left++
	p := d.p
	p.SendRecord(r, func(res SendResult) {
		s := t.mops[i].Send
		s.Partition = res.Partition
		if res.Outcome == history.OK {
			s.Offset = res.Offset
		} else {
			t.failed = true
		}
		t.left--
		if t.left == 0 && then != nil {
			then()
		}
	})
}

// invoke records the transaction's operation with the sends it began with.
func (d *TxnDriver) invoke(t *txn) {
	t.id = d.env.Recorder.InvokeTxn(d.node.Sim().Now(), d.p.cfg.ClientID, incarnation(d.node), t.mops)
}

// jepsen runs one Jepsen-style transaction: sends, maybe a poll, then
// commit or abort.
func (d *TxnDriver) jepsen() {
	p := d.p
	if !d.current(p) || !d.active() || d.busy {
		return
	}
	t := d.begin()
	if t == nil {
		return
	}
	d.busy = true
	n := d.node
	sends := 1 + n.Rand().IntN(max(d.w.MaxSends, 1))
	for i := 0; i < sends; i++ {
		v := []byte(n.Name() + ":" + strconv.FormatUint(d.next, 10))
		d.next++
		d.send(t, ProducerRecord{Topic: d.w.Topic, Key: v, Value: v}, nil)
	}
	d.invoke(t)
	end := func() { d.end(t, n.Rand().Float64() >= d.w.AbortChance) }
	if n.Rand().Float64() < d.w.PollChance {
		_ = d.c.Poll(100*time.Millisecond, func(parts []history.PollPart) {
			if !d.current(p) {
				return
			}
			t.mops = append(t.mops, history.Mop{Poll: &history.Poll{Parts: parts}})
			end()
		})
		return
	}
	end()
}

// pipeline runs one consume-transform-produce transaction: poll the
// input, send each record to the output with its source, commit the
// group's positions with the transaction.
func (d *TxnDriver) pipeline() {
	p := d.p
	if !d.current(p) || !d.active() || d.busy {
		return
	}
	d.busy = true
	_ = d.c.Poll(time.Second, func(parts []history.PollPart) {
		if !d.current(p) {
			return
		}
		n := 0
		for _, pp := range parts {
			n += len(pp.Records)
		}
		if n == 0 {
			d.busy = false
			d.node.After(0, "driver.txn", d.pipeline)
			return
		}
		t := d.begin()
		if t == nil {
			d.busy = false
			return
		}
		offsets := map[model.TopicPartition]int64{}
		for _, pp := range parts {
			for _, r := range pp.Records {
				src := fmt.Sprintf("%s@%d", pp.TP(), r.Offset)
				d.send(t, ProducerRecord{Topic: d.w.Topic, Key: r.Key, Value: append([]byte("out:"), r.Value...),
					Headers: []model.RecordHeader{{Key: SourceHeader, Value: model.Bytes(src)}}}, nil)
				offsets[pp.TP()] = r.Offset + 1
			}
			// The polled positions are where a rewind goes back to.
			if len(pp.Records) > 0 {
				if _, ok := t.start[pp.TP()]; !ok || pp.Records[0].Offset < t.start[pp.TP()] {
					t.start[pp.TP()] = pp.Records[0].Offset
				}
			}
		}
		d.invoke(t)
		_ = p.SendOffsetsToTransaction(offsets, d.c.GroupMetadata(), func(err error) {
			if !d.current(p) {
				return
			}
			if err != nil {
				t.failed = true
			}
			d.end(t, d.node.Rand().Float64() >= d.w.AbortChance)
		})
	})
}

// end commits (or aborts) the transaction once its sends are answered,
// records the outcome and schedules the next one.
func (d *TxnDriver) end(t *txn, commit bool) {
	p := d.p
	if t.left > 0 {
		d.node.After(10*time.Millisecond, "driver.txn-wait", func() {
			if d.current(p) {
				d.end(t, commit)
			}
		})
		return
	}
	done := func(outcome history.Outcome, code string) {
		d.env.Recorder.TxnDone(t.id, d.node.Sim().Now(), outcome, code, t.mops)
		switch outcome {
		case history.OK:
			d.Stats.Committed++
		case history.Fail:
			d.Stats.Aborted++
			d.rewind(t)
		default:
			d.Stats.Unknown++
		}
		d.busy = false
		if p.TxnState() == TxnFatalError {
			return // fenced: this instance stops; a restart starts anew
		}
		next := d.jepsen
		wait := d.gap
		if d.w.Input != "" {
			next, wait = d.pipeline, func() time.Duration { return 0 }
		}
		d.node.After(wait(), "driver.txn", next)
	}
	abort := func(code string) {
		if err := p.AbortTransaction(func(err error) {
			if !d.current(p) {
				return
			}
			if err != nil {
				done(history.Unknown, errCode(err))
				return
			}
			done(history.Fail, code)
		}); err != nil {
			done(history.Unknown, errCode(err))
		}
	}
	if !commit || t.failed || p.TxnState() == TxnAbortableError {
		d.node.Sim().Mark("client.txn.driver-abort")
		abort("TRANSACTION_ABORTED")
		return
	}
	if err := p.CommitTransaction(func(err error) {
		if !d.current(p) {
			return
		}
		var te *TxnError
		switch {
		case err == nil:
			done(history.OK, "")
		case errors.As(err, &te) && !te.Fatal:
			abort(te.Code.String())
		default:
			done(history.Unknown, errCode(err))
		}
	}); err != nil {
		done(history.Unknown, errCode(err))
	}
}

// rewind moves the consumer back to where the aborted transaction began
// reading: its records are read again by the next transaction.
func (d *TxnDriver) rewind(t *txn) {
	for _, tp := range slices.SortedFunc(maps.Keys(t.start), model.TopicPartition.Compare) {
		if slices.Contains(d.c.Assignment(), tp) {
			_ = d.c.Seek(tp, t.start[tp])
		}
	}
}

func errCode(err error) string {
	var te *TxnError
	if errors.As(err, &te) {
		return te.Code.String()
	}
	return "INVALID_TXN_STATE"
}
