package cluster

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker"
	"github.com/kafkasim/kafkasim/broker/client"
	"github.com/kafkasim/kafkasim/broker/controller"
	"github.com/kafkasim/kafkasim/broker/kraft"
	"github.com/kafkasim/kafkasim/broker/props"
	"github.com/kafkasim/kafkasim/broker/zookeeper"
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

	// Metadata is where the cluster keeps its metadata: KRaft (the
	// default) or ZooKeeper, as Kafka before 4.0 could.
	Metadata MetadataMode
	// ZooKeepers is, in ZooKeeper mode, the ensemble's size (1, 3 or 5 in
	// practice): sim nodes z1, z2, ... with myid 1, 2, ...
	ZooKeepers int
	// ZooKeeper is every ZooKeeper server's config.
	ZooKeeper zookeeper.Config
	// ZKBroker is the template of every broker's ZooKeeper-mode settings
	// (its Servers are filled in).
	ZKBroker broker.ZKConfig
	// Consumer is the consumers' protocol variants: the cluster does not
	// run clients, but whoever starts consumers against it gives them
	// these (a scenario's workload does).
	Consumer client.ConsumerProtocol
}

// MetadataMode is where a cluster keeps its metadata.
type MetadataMode string

// The metadata modes.
const (
	// KRaft: a quorum of controllers and the __cluster_metadata log.
	KRaft MetadataMode = "kraft"
	// ZooKeeper: a ZooKeeper ensemble, a controller elected among the
	// brokers through it, and the controller's state in znodes.
	ZooKeeper MetadataMode = "zookeeper"
)

// MetadataModes lists the accepted metadata modes.
func MetadataModes() []string { return []string{string(KRaft), string(ZooKeeper)} }

// ParseMetadataMode parses kraft or zookeeper.
func ParseMetadataMode(s string) (MetadataMode, error) {
	switch MetadataMode(s) {
	case KRaft, ZooKeeper:
		return MetadataMode(s), nil
	}
	return "", fmt.Errorf("metadata mode %q: accepted are %s", s, strings.Join(MetadataModes(), ", "))
}

// ZK reports whether the cluster runs in ZooKeeper mode.
func (c Config) ZK() bool { return c.Metadata == ZooKeeper }

// DefaultConfig is three brokers and three controllers with Kafka 4.x's
// defaults.
func DefaultConfig() Config {
	return Config{
		Brokers:     3,
		Controllers: 3,
		Broker:      broker.DefaultConfig(0),
		Controller:  controller.DefaultConfig(0),
		Quorum:      kraft.DefaultConfig(),
		Metadata:    KRaft,
		ZooKeepers:  3,
		ZooKeeper:   zookeeper.DefaultConfig(),
		ZKBroker:    broker.DefaultZKConfig(nil),
	}
}

// Validate reports every problem with the cluster's shape and settings.
func (c Config) Validate() error {
	var errs []error
	if c.Brokers < 1 {
		errs = append(errs, fmt.Errorf("cluster config: %d brokers: give at least 1", c.Brokers))
	}
	switch c.Metadata {
	case KRaft, "":
		if c.Controllers < 1 {
			errs = append(errs, fmt.Errorf("cluster config: %d controllers: give at least 1 (1, 3 or 5 in practice)", c.Controllers))
		}
	case ZooKeeper:
		if c.Controllers != 0 {
			errs = append(errs, fmt.Errorf("cluster config: %d controllers in ZooKeeper mode: give 0 (the controller is elected among the brokers)", c.Controllers))
		}
		if c.ZooKeepers < 1 || c.ZooKeepers > 254 {
			errs = append(errs, fmt.Errorf("cluster config: %d ZooKeeper servers: give 1 to 254 (1, 3 or 5 in practice)", c.ZooKeepers))
		}
		if err := c.ZooKeeper.Validate(); err != nil {
			errs = append(errs, err)
		}
		if c.ZKBroker.SessionTimeout <= 0 {
			errs = append(errs, fmt.Errorf("cluster config: zookeeper.session.timeout.ms %d must be positive", c.ZKBroker.SessionTimeout.Milliseconds()))
		}
	default:
		errs = append(errs, fmt.Errorf("cluster config: metadata mode %q: accepted are %s", c.Metadata, strings.Join(MetadataModes(), ", ")))
	}
	if int(FirstControllerID) <= c.Brokers {
		errs = append(errs, fmt.Errorf("cluster config: %d brokers: at most %d, so that broker ids stay below the controllers' %d",
			c.Brokers, FirstControllerID-1, FirstControllerID))
	}
	if err := c.Quorum.Validate(); err != nil {
		errs = append(errs, err)
	}
	// The templates' settings; the quorum's, which every node takes from
	// c.Quorum, are checked above.
	b, ctl := c.Broker, c.Controller
	b.Quorum, ctl.Quorum = kraft.DefaultConfig(), kraft.DefaultConfig()
	if err := b.ValidateSettings(); err != nil {
		errs = append(errs, err)
	}
	if err := ctl.ValidateSettings(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Set sets a config by its Kafka property name, as a server.properties
// line would, routed by the roles the property table (props) gives it:
// controller.quorum.* to the quorum settings both roles share, and every
// other property to every role that reads it (min.insync.replicas and
// broker.session.timeout.ms to brokers and controllers alike).
func (c *Config) Set(name, value string) error {
	return c.SetFor(props.Broker|props.Controller, name, value)
}

// SetFor is Set for a property one of roles reads (props.Broker for a
// scenario's broker_config, props.Controller for its controller_config):
// another is unknown, and the error lists the roles' properties.
func (c *Config) SetFor(roles props.Role, name, value string) error {
	p, ok := props.Lookup(name)
	if !ok || !p.Roles.Any(roles&(props.Broker|props.Controller)) {
		_, err := props.Parse(roles&(props.Broker|props.Controller), name, value)
		return err
	}
	if p.Roles.Has(props.Quorum) {
		return kraft.Setters.Set(&c.Quorum, name, value)
	}
	if p.Roles.Has(props.Broker) {
		if err := broker.Setters.Set(&c.Broker, name, value); err != nil {
			return err
		}
	}
	if p.Roles.Has(props.Controller) {
		return controller.Setters.Set(&c.Controller, name, value)
	}
	return nil
}

// Switches returns the names of the protocol switches, sorted.
func Switches() []string {
	out := make([]string, len(variants))
	for i, v := range variants {
		out[i] = v.Name
	}
	slices.Sort(out)
	return out
}

// SetSwitch sets a protocol variant by its switch name (Variants lists
// them, with what each brings back and the values it accepts).
func (c *Config) SetSwitch(name, value string) error {
	v, ok := VariantByName(name)
	if !ok {
		return fmt.Errorf("unknown switch %q: known are %s", name, strings.Join(Switches(), ", "))
	}
	if !slices.Contains(v.Values, value) {
		return fmt.Errorf("switch %s: invalid value %q: accepted are %s", name, value, strings.Join(v.Values, ", "))
	}
	return v.apply(c, value)
}
