package cluster

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/model"
)

// FirstControllerID is the node id of controller c1; c2 is the next, and
// so on. Brokers are 1..N, so the two never meet.
const FirstControllerID int32 = 3001

// Config describes a cluster: how many brokers and controllers, their
// configs (templates that every broker and controller copies, with its own
// id filled in), and the metadata quorum's settings, which controllers and
// brokers share.
type Config struct {
	// Brokers is the number of brokers, node ids 1..Brokers, sim nodes
	// b1, b2, ...
	Brokers int
	// Controllers is the number of KRaft controllers (1, 3 or 5 in
	// practice), node ids 3001, 3002, ..., sim nodes c1, c2, ...
	Controllers int
	// Broker is the template of every broker's config.
	Broker broker.Config
	// Controller is the template of every controller's config.
	Controller controller.Config
	// Quorum holds the controller.quorum.* settings, for the controllers'
	// voters and the brokers' observers alike.
	Quorum kraft.Config
	// Observer, if set, is told of acknowledgements and truncations by
	// every broker.
	Observer model.Observer
}

// DefaultConfig is three brokers and three controllers with Kafka 4.x's
// defaults.
func DefaultConfig() Config {
	return Config{
		Brokers:     3,
		Controllers: 3,
		Broker:      broker.DefaultConfig(0),
		Controller:  controller.DefaultConfig(0),
		Quorum:      kraft.DefaultConfig(),
	}
}

// Validate reports every problem with the cluster's shape and settings.
func (c Config) Validate() error {
	var errs []error
	if c.Brokers < 1 {
		errs = append(errs, fmt.Errorf("cluster config: %d brokers: give at least 1", c.Brokers))
	}
	if c.Controllers < 1 {
		errs = append(errs, fmt.Errorf("cluster config: %d controllers: give at least 1 (1, 3 or 5 in practice)", c.Controllers))
	}
	if int(FirstControllerID) <= c.Brokers {
		errs = append(errs, fmt.Errorf("cluster config: %d brokers: at most %d, so that broker ids stay below the controllers' %d",
			c.Brokers, FirstControllerID-1, FirstControllerID))
	}
	if err := c.Quorum.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Set sets a config by its Kafka property name, as a server.properties
// line would: broker properties go to every broker, controller properties
// to every controller, controller.quorum.* to both, and a property both
// roles know (min.insync.replicas, broker.session.timeout.ms) to both.
func (c *Config) Set(name, value string) error {
	if strings.HasPrefix(name, "controller.quorum.") {
		ctl := controller.DefaultConfig(0)
		ctl.Quorum = c.Quorum
		if err := ctl.Set(name, value); err != nil {
			return err
		}
		c.Quorum = ctl.Quorum
		return nil
	}
	known := false
	if slices.Contains(controller.Properties(), name) {
		if err := c.Controller.Set(name, value); err != nil {
			return err
		}
		known = true
	}
	probe := c.Broker
	if err := probe.Set(name, value); err == nil {
		c.Broker = probe
		known = true
	} else if !strings.HasPrefix(err.Error(), "unknown configuration") {
		return err
	}
	if !known {
		names := slices.Concat(controller.Properties(), brokerProperties)
		slices.Sort(names)
		return fmt.Errorf("unknown configuration %q: known are %s", name, strings.Join(slices.Compact(names), ", "))
	}
	return nil
}

// brokerProperties are the broker properties Set routes to brokers.
var brokerProperties = []string{
	"min.insync.replicas", "replica.lag.time.max.ms", "replica.fetch.wait.max.ms", "replica.fetch.min.bytes",
	"replica.fetch.max.bytes", "replica.fetch.response.max.bytes", "replica.fetch.backoff.ms", "replica.socket.timeout.ms",
	"replica.high.watermark.checkpoint.interval.ms", "log.flush.offset.checkpoint.interval.ms", "log.flush.interval.messages",
	"log.flush.interval.ms", "retry.backoff.ms", "broker.heartbeat.interval.ms", "broker.session.timeout.ms",
}

// switches are the protocol variants, by name, each with what it
// accepts and how it applies.
var switches = map[string]struct {
	accept string
	set    func(c *Config, v string) error
}{
	"truncation": {"fetch, epochs, legacy-epochs or high-watermark", func(c *Config, v string) error {
		m, err := broker.ParseTruncationMode(v)
		c.Broker.Truncation = m
		return err
	}},
	"legacy-high-watermark":  {"true or false", boolSwitch(func(c *Config, b bool) { c.Broker.LegacyHighWatermark = b })},
	"legacy-producer-checks": {"true or false", boolSwitch(func(c *Config, b bool) { c.Broker.LegacyProducerChecks = b })},
	"elr":                    {"true or false", boolSwitch(func(c *Config, b bool) { c.Controller.ELR = b })},
	"isr-broker-epoch-check": {"true or false", boolSwitch(func(c *Config, b bool) { c.Controller.IgnoreISRBrokerEpochs = !b })},
	"pre-vote":               {"true or false", boolSwitch(func(c *Config, b bool) { c.Quorum.PreVote = b })},
	"check-quorum":           {"true or false", boolSwitch(func(c *Config, b bool) { c.Quorum.CheckQuorum = b })},
	"high-watermark-in-fetch": {"true or false", boolSwitch(func(c *Config, b bool) {
		c.Quorum.HighWatermarkInFetch = b
	})},
}

func boolSwitch(set func(c *Config, b bool)) func(c *Config, v string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil || (v != "true" && v != "false") {
			return errors.New("not true or false")
		}
		set(c, b)
		return nil
	}
}

// Switches returns the names of the protocol switches, sorted.
func Switches() []string { return slices.Sorted(maps.Keys(switches)) }

// SetSwitch sets a protocol variant by name:
//
//	truncation               fetch (Kafka ≥ 2.7), epochs (2.0–2.6), legacy-epochs (0.11–1.x), high-watermark (before 0.11)
//	legacy-high-watermark    true: the HWM advances below min.insync.replicas (before KAFKA-15583, 3.7)
//	legacy-producer-checks   true: idempotent producer checks of Kafka 0.11–1.1
//	elr                      true: KIP-966 Eligible Leader Replicas (eligible.leader.replicas.version=1)
//	isr-broker-epoch-check   false: no KIP-903 check of ISR broker epochs (before 3.5, KAFKA-14139)
//	pre-vote                 false: KRaft elections without KIP-996's pre-vote (Kafka 3.x)
//	check-quorum             false: a partitioned KRaft leader keeps leading (before 3.7)
//	high-watermark-in-fetch  false: KRaft followers learn the HWM only with records (before KAFKA-14145)
func (c *Config) SetSwitch(name, value string) error {
	sw, ok := switches[name]
	if !ok {
		return fmt.Errorf("unknown switch %q: known are %s", name, strings.Join(Switches(), ", "))
	}
	if err := sw.set(c, value); err != nil {
		return fmt.Errorf("switch %s: invalid value %q: accepted are %s", name, value, sw.accept)
	}
	return nil
}
