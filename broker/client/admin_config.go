package client

import (
	"errors"
	"math"
	"time"

	"github.com/kafkasim/kafkasim/broker/props"
)

// AdminConfig configures an admin client, with the names and defaults of
// Kafka's AdminClientConfig (DefaultAdminConfig).
type AdminConfig struct {
	ClientID string // client.id
	// RequestTimeout is request.timeout.ms (30 s): how long one request
	// may wait for its answer.
	RequestTimeout time.Duration
	// DefaultAPITimeout is default.api.timeout.ms (60 s): how long one
	// operation may take, retries included.
	DefaultAPITimeout time.Duration
	// Retries is retries (2147483647): how often an operation is tried
	// again after a retriable error, within its timeout.
	Retries int
	// RetryBackoff and RetryBackoffMax are retry.backoff.ms (100 ms) and
	// retry.backoff.max.ms (1000 ms): the wait before a retry doubles per
	// attempt up to the maximum, with ±20% jitter (KIP-580).
	RetryBackoff    time.Duration
	RetryBackoffMax time.Duration
	// MetadataMaxAge is metadata.max.age.ms (5 min).
	MetadataMaxAge time.Duration
}

// DefaultAdminConfig returns Kafka's admin client defaults.
func DefaultAdminConfig() AdminConfig {
	return AdminConfig{ClientID: "admin-1", RequestTimeout: 30 * time.Second, DefaultAPITimeout: 60 * time.Second,
		Retries: math.MaxInt32, RetryBackoff: 100 * time.Millisecond, RetryBackoffMax: time.Second, MetadataMaxAge: 5 * time.Minute}
}

// AdminSetters binds the admin client properties (props.Admin) to an
// AdminConfig's fields.
var AdminSetters = props.Bind(props.Admin,
	props.Text("client.id", func(c *AdminConfig) *string { return &c.ClientID }),
	props.Dur("request.timeout.ms", func(c *AdminConfig) *time.Duration { return &c.RequestTimeout }),
	props.Dur("default.api.timeout.ms", func(c *AdminConfig) *time.Duration { return &c.DefaultAPITimeout }),
	props.Num("retries", func(c *AdminConfig) *int { return &c.Retries }),
	props.Dur("retry.backoff.ms", func(c *AdminConfig) *time.Duration { return &c.RetryBackoff }),
	props.Dur("retry.backoff.max.ms", func(c *AdminConfig) *time.Duration { return &c.RetryBackoffMax }),
	props.Dur("metadata.max.age.ms", func(c *AdminConfig) *time.Duration { return &c.MetadataMaxAge }),
)

// ParseAdminConfig reads admin client properties as Kafka's
// AdminClientConfig does: defaults for what is not given and
// ConfigException-style errors for what is invalid or unknown.
func ParseAdminConfig(m map[string]string) (AdminConfig, error) {
	c := DefaultAdminConfig()
	if err := AdminSetters.Apply(&c, m); err != nil {
		return c, err
	}
	if _, set := m["default.api.timeout.ms"]; !set && c.DefaultAPITimeout < c.RequestTimeout {
		// Left at its default, the operation timeout grows to the request
		// timeout, as Kafka's admin client does.
		c.DefaultAPITimeout = c.RequestTimeout
	}
	return c, c.Validate()
}

// Validate checks the settings together.
func (c AdminConfig) Validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, badConfig("client.id", `""`, "an admin client in a simulation needs a client id to name it in the history"))
	}
	errs = append(errs, AdminSetters.Validate(&c))
	if c.RequestTimeout <= 0 {
		errs = append(errs, badConfig("request.timeout.ms", c.RequestTimeout.Milliseconds(), "value must be at least 1"))
	}
	if c.DefaultAPITimeout < c.RequestTimeout {
		errs = append(errs, badConfig("default.api.timeout.ms", c.DefaultAPITimeout.Milliseconds(),
			"an operation's timeout may not be shorter than one request's: give at least request.timeout.ms (%d)", c.RequestTimeout.Milliseconds()))
	}
	return errors.Join(errs...)
}
