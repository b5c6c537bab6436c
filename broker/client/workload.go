package client

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"

	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
	"github.com/kafkasim/kafkasim/sim"
)

// ProducerWorkload configures a ProducerDriver: what it sends, how fast
// and until when, and the Kafka producer properties of its producer.
type ProducerWorkload struct {
	// Topic is the topic every record goes to.
	Topic string
	// Rate is records per second. The gaps between records vary
	// uniformly by ±50% around 1/Rate, drawn from the node's random
	// stream, unless Steady is set.
	Rate   float64
	Steady bool
	// Keys is how many distinct keys ("key-0", "key-1", ...) records
	// draw theirs from, uniformly; 0 sends every record without a key
	// (Kafka's null key), for the sticky partitioner.
	Keys int
	// Until is the simulated time at which the driver stops sending and
	// flushes what it has queued; 0 never stops.
	Until time.Duration
	// Properties are the producer's Kafka properties ("acks": "1",
	// "linger.ms": "10", ...), read by ParseProducerConfig. client.id
	// defaults to the node's name.
	Properties map[string]string
}

// Validate reports every invalid setting of the workload, its producer
// properties included.
func (w ProducerWorkload) Validate() error {
	var errs []error
	if w.Topic == "" {
		errs = append(errs, errors.New("producer workload: topic is empty: name the topic to write to"))
	}
	if !(w.Rate > 0) || math.IsInf(w.Rate, 0) {
		errs = append(errs, fmt.Errorf("producer workload: rate %v: give records per second, above 0", w.Rate))
	}
	if w.Keys < 0 {
		errs = append(errs, fmt.Errorf("producer workload: keys %d is negative: give the number of distinct keys, or 0 for records without a key", w.Keys))
	}
	if w.Until < 0 {
		errs = append(errs, fmt.Errorf("producer workload: until %v is negative: give the time to stop at, or 0 never to stop", w.Until))
	}
	if _, err := ParseProducerConfig(w.props("x")); err != nil {
		errs = append(errs, fmt.Errorf("producer workload: %w", err))
	}
	return errors.Join(errs...)
}

// props returns the properties with client.id defaulted to name.
func (w ProducerWorkload) props(name string) map[string]string {
	m := maps.Clone(w.Properties)
	if m == nil {
		m = map[string]string{}
	}
	if _, ok := m["client.id"]; !ok {
		m["client.id"] = name
	}
	return m
}

// A ProducerDriver is a workload that sends records at a steady rate
// with a Producer, as a load generator would: its Boot brings up, on
// every start of its node, a client Process whose producer sends one
// record per (jittered) 1/Rate until the workload's Until, then flushes.
//
// Values are unique across the whole run, so that checkers can trace
// every record: "<node>:<n>", where n counts the node's sends from 0
// across restarts (the counter is the load generator's, outside the
// node's process, as Jepsen's generators are). Sends still open when
// the node crashes keep their unknown outcome; the restarted producer
// records its operations under the next history process number.
type ProducerDriver struct {
	env  Env
	w    ProducerWorkload
	cfg  ProducerConfig // as parsed, client.id unset
	node *sim.Node
	p    *Producer
	inc  uint32 // incarnation of the node p belongs to

	next    uint64 // sequence number of the next value
	stats   ProducerStats
	stopped bool
}

// ProducerStats counts a ProducerDriver's sends, over all incarnations
// of its node.
type ProducerStats struct {
	Sent    int // sends called
	OK      int // acknowledged (acks=0: written to the wire)
	Failed  int // failed with an error that rules out a write
	Unknown int // outcome unknown (delivery timeout, indefinite errors)
}

// NewProducerDriver returns a producer driver; w must be valid.
func NewProducerDriver(env Env, w ProducerWorkload) (*ProducerDriver, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, errors.New("producer workload: no history recorder in its environment")
	}
	w.Properties = maps.Clone(w.Properties)
	return &ProducerDriver{env: env, w: w}, nil
}

// Workload returns the driver's workload.
func (d *ProducerDriver) Workload() ProducerWorkload { return d.w }

// Boot is the driver's sim.Boot: it starts a producer on n and the loop
// that feeds it.
func (d *ProducerDriver) Boot(n *sim.Node) any {
	d.node = n
	cfg, err := ParseProducerConfig(d.w.props(n.Name()))
	if err == nil {
		d.p, err = NewProducer(n, d.env, cfg)
	}
	if err != nil {
		// Validate accepted the workload, so this cannot happen; if it
		// does, the run stops and says why.
		n.Sim().Fail("client.producer-driver", fmt.Errorf("%s: %w", n.Name(), err))
		return &Process{}
	}
	d.inc = n.Incarnation()
	if d.active() {
		d.p.Prepare(d.w.Topic)
		n.After(d.gap(n, true), "driver.send", d.tick)
	}
	if d.w.Until > 0 {
		n.After(max(d.w.Until-n.Sim().Now(), 0), "driver.stop", d.Stop)
	}
	return &Process{Producer: d.p}
}

// producer returns the producer of the node's running incarnation.
func (d *ProducerDriver) producer() *Producer {
	if d.node == nil || !d.node.Up() || d.node.Incarnation() != d.inc {
		return nil
	}
	return d.p
}

func (d *ProducerDriver) active() bool {
	return !d.stopped && (d.w.Until == 0 || d.node.Sim().Now() < d.w.Until)
}

// gap draws the time to the next send; the first one falls anywhere in
// the first interval, so that producers started together do not send in
// lockstep.
func (d *ProducerDriver) gap(n *sim.Node, first bool) time.Duration {
	mean := float64(time.Second) / d.w.Rate
	f := 1.0
	switch {
	case first:
		f = n.Rand().Float64()
	case !d.w.Steady:
		f = 0.5 + n.Rand().Float64()
	}
	return max(time.Duration(mean*f), time.Microsecond)
}

func (d *ProducerDriver) tick() {
	p := d.producer()
	if p == nil || !d.active() {
		return
	}
	n := d.node
	var key []byte
	if d.w.Keys > 0 {
		key = []byte("key-" + strconv.Itoa(n.Rand().IntN(d.w.Keys)))
	}
	value := []byte(n.Name() + ":" + strconv.FormatUint(d.next, 10))
	d.next++
	d.stats.Sent++
	p.Send(d.w.Topic, key, value, d.onResult)
	n.After(d.gap(n, false), "driver.send", d.tick)
}

func (d *ProducerDriver) onResult(r SendResult) {
	switch r.Outcome {
	case history.OK:
		d.stats.OK++
	case history.Unknown:
		d.stats.Unknown++
	default:
		if history.Definite(history.KindSend, r.Error.String()) {
			d.stats.Failed++
		} else {
			d.stats.Unknown++
		}
	}
}

// Stop stops sending now and flushes what the producer has queued, as
// the workload's Until does.
func (d *ProducerDriver) Stop() {
	d.stopped = true
	if p := d.producer(); p != nil {
		p.Flush()
	}
}

// Stopped reports whether the driver has stopped sending.
func (d *ProducerDriver) Stopped() bool { return d.node != nil && !d.active() }

// Producer returns the producer of the node's running incarnation, or
// nil while the node is down.
func (d *ProducerDriver) Producer() *Producer { return d.producer() }

// Pending returns the running producer's sends that have no outcome yet
// (0 while the node is down: a crashed producer's open sends stay
// unknown for good).
func (d *ProducerDriver) Pending() int {
	if p := d.producer(); p != nil {
		return p.Pending()
	}
	return 0
}

// Drained reports whether the driver is done: it has stopped sending
// and every send of its running producer has its outcome (or its node is
// down, so that nothing more will come of it).
func (d *ProducerDriver) Drained() bool { return d.Stopped() && d.Pending() == 0 }

// Stats returns the driver's counts of sends and outcomes.
func (d *ProducerDriver) Stats() ProducerStats { return d.stats }

// DefaultPollTimeout is the poll timeout of a ConsumerWorkload that gives
// none.
const DefaultPollTimeout = 100 * time.Millisecond

// ConsumerWorkload configures a ConsumerDriver: what its consumer reads,
// how it polls and commits, and its Kafka consumer properties.
type ConsumerWorkload struct {
	// Topics are the topics to read.
	Topics []string
	// Assign reads every partition of the topics by manual assignment
	// (KafkaConsumer.assign) instead of subscribing through the group
	// of the group.id property.
	Assign bool
	// PollTimeout is the timeout of each poll (DefaultPollTimeout when
	// zero); PollInterval is the pause between the end of one poll and
	// the next (the application's processing time).
	PollTimeout  time.Duration
	PollInterval time.Duration
	// CommitEvery, when positive, calls commitSync after every
	// CommitEvery-th poll (and waits for it before polling again);
	// otherwise offsets are committed only by enable.auto.commit, if on.
	CommitEvery int
	// Properties are the consumer's Kafka properties ("group.id": "g",
	// "auto.offset.reset": "earliest", ...), read by
	// ParseConsumerConfig. client.id defaults to the node's name.
	Properties map[string]string
	// Protocol is the consumer's protocol variants (ConsumerConfig.Protocol).
	Protocol ConsumerProtocol
}

// Validate reports every invalid setting of the workload, its consumer
// properties included.
func (w ConsumerWorkload) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("consumer workload: "+format, args...))
	}
	if len(w.Topics) == 0 {
		bad("no topics: give at least one topic to read")
	}
	for _, t := range w.Topics {
		if t == "" {
			bad("a topic name is empty")
		}
	}
	if w.PollTimeout < 0 {
		bad("poll timeout %v is negative: give 0 (for %v) or more", w.PollTimeout, DefaultPollTimeout)
	}
	if w.PollInterval < 0 {
		bad("poll interval %v is negative: give 0 or more", w.PollInterval)
	}
	if w.CommitEvery < 0 {
		bad("commit every %d polls is negative: give 0 (no commitSync) or a number of polls", w.CommitEvery)
	}
	cfg, err := ParseConsumerConfig(w.props("x"))
	if err != nil {
		bad("%w", err)
	} else {
		if !w.Assign && cfg.GroupID == "" {
			bad("no group.id to subscribe with: give the group.id property, or read every partition by manual assignment (Assign)")
		}
		if w.CommitEvery > 0 && cfg.GroupID == "" {
			bad("commitSync every %d polls needs a group.id to commit to: give the group.id property, or set CommitEvery to 0", w.CommitEvery)
		}
	}
	return errors.Join(errs...)
}

func (w ConsumerWorkload) props(name string) map[string]string {
	m := maps.Clone(w.Properties)
	if m == nil {
		m = map[string]string{}
	}
	if _, ok := m["client.id"]; !ok {
		m["client.id"] = name
	}
	return m
}

// A ConsumerDriver is a workload that reads topics with a Consumer in a
// poll loop, as an application would: its Boot brings up, on every start
// of its node, a client Process whose consumer subscribes (or assigns
// itself every partition of the topics) and polls until the run ends,
// committing as the workload says.
type ConsumerDriver struct {
	env  Env
	w    ConsumerWorkload
	node *sim.Node
	c    *Consumer
	inc  uint32

	polls      int // polls completed by the running consumer
	committing bool
	closed     bool
	stats      ConsumerStats
}

// ConsumerStats counts a ConsumerDriver's work, over all incarnations of
// its node.
type ConsumerStats struct {
	Polls   int // polls completed
	Records int // records the polls returned
	Commits int // commitSync calls
	Failed  int // commitSync calls that failed
}

// NewConsumerDriver returns a consumer driver; w must be valid.
func NewConsumerDriver(env Env, w ConsumerWorkload) (*ConsumerDriver, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if env.Recorder == nil {
		return nil, errors.New("consumer workload: no history recorder in its environment")
	}
	w.Topics = append([]string(nil), w.Topics...)
	w.Properties = maps.Clone(w.Properties)
	if w.PollTimeout == 0 {
		w.PollTimeout = DefaultPollTimeout
	}
	return &ConsumerDriver{env: env, w: w}, nil
}

// Workload returns the driver's workload.
func (d *ConsumerDriver) Workload() ConsumerWorkload { return d.w }

// Boot is the driver's sim.Boot: it starts a consumer on n and its poll
// loop.
func (d *ConsumerDriver) Boot(n *sim.Node) any {
	d.node = n
	if d.closed {
		return &Process{}
	}
	cfg, err := ParseConsumerConfig(d.w.props(n.Name()))
	cfg.Protocol = d.w.Protocol
	if err == nil {
		d.c, err = NewConsumer(n, d.env, cfg)
	}
	if err == nil && !d.w.Assign {
		err = d.c.Subscribe(d.w.Topics)
	}
	if err != nil {
		n.Sim().Fail("client.consumer-driver", fmt.Errorf("%s: %w", n.Name(), err))
		return &Process{}
	}
	d.inc = n.Incarnation()
	d.polls, d.committing = 0, false
	if d.w.Assign {
		d.assign(d.c)
	} else {
		n.After(0, "driver.poll", d.poll)
	}
	return &Process{Consumer: d.c}
}

// assign looks up every partition of the topics, assigns them all and
// starts polling.
func (d *ConsumerDriver) assign(c *Consumer) {
	var tps []model.TopicPartition
	var next func(i int)
	next = func(i int) {
		if c != d.consumer() {
			return
		}
		if i == len(d.w.Topics) {
			_ = c.Assign(tps) // cannot fail: the consumer never subscribed
			d.poll()
			return
		}
		c.PartitionsFor(d.w.Topics[i], func(ps []PartitionInfo, err error) {
			if err != nil {
				// The topic does not exist (yet): look again later.
				d.node.After(c.cfg.RetryBackoff, "driver.assign-retry", func() { next(i) })
				return
			}
			for _, p := range ps {
				tps = append(tps, model.TopicPartition{Topic: p.Topic, Partition: p.Partition})
			}
			next(i + 1)
		})
	}
	next(0)
}

// consumer returns the consumer of the node's running incarnation.
func (d *ConsumerDriver) consumer() *Consumer {
	if d.node == nil || !d.node.Up() || d.node.Incarnation() != d.inc {
		return nil
	}
	return d.c
}

func (d *ConsumerDriver) poll() {
	c := d.consumer()
	if c == nil {
		return
	}
	_ = c.Poll(d.w.PollTimeout, func(parts []history.PollPart) {
		d.polls++
		d.stats.Polls++
		for _, p := range parts {
			d.stats.Records += len(p.Records)
		}
		if d.w.CommitEvery > 0 && d.polls%d.w.CommitEvery == 0 {
			d.committing = true
			d.stats.Commits++
			_ = c.CommitSync(nil, func(err error) {
				d.committing = false
				if err != nil {
					d.stats.Failed++
				}
				d.again(c)
			})
			return
		}
		d.again(c)
	})
}

func (d *ConsumerDriver) again(c *Consumer) {
	if c == d.consumer() {
		d.node.After(d.w.PollInterval, "driver.poll", d.poll)
	}
}

// Consumer returns the consumer of the node's running incarnation, or
// nil while the node is down.
func (d *ConsumerDriver) Consumer() *Consumer { return d.consumer() }

// Close shuts the application down cleanly: its consumer commits (with
// auto-commit), leaves its group and stops polling, and later boots of
// the node start no consumer.
func (d *ConsumerDriver) Close() {
	d.closed = true
	if c := d.consumer(); c != nil {
		c.Close()
	}
}

// Drained reports whether the consumer has read everything it can see:
// its node is up, it holds its assignment (for a group: it is a member
// of the current generation, not rebalancing), no commitSync is under
// way, and every assigned partition's position has reached the
// high-water mark of its last fetch. A group member with no partitions
// is drained once it is in the generation; a closed driver is drained.
func (d *ConsumerDriver) Drained() bool {
	if d.closed {
		return true
	}
	c := d.consumer()
	if c == nil || d.committing {
		return false
	}
	if !d.w.Assign && (c.generation < 0 || c.needsRejoin || c.joining) {
		return false
	}
	if d.w.Assign && !c.manual {
		return false
	}
	for _, tp := range c.Assignment() {
		if lag, ok := c.CurrentLag(tp); !ok || lag > 0 || c.parts[tp].backoff > c.now() {
			return false
		}
	}
	return true
}

// Stats returns the driver's counts of polls, records and commits.
func (d *ConsumerDriver) Stats() ConsumerStats { return d.stats }
