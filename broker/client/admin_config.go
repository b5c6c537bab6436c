package client

import (
	"errors"
	"math"
	"time"
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

var adminKeys = []string{"client.id", "default.api.timeout.ms", "metadata.max.age.ms", "request.timeout.ms", "retries",
	"retry.backoff.max.ms", "retry.backoff.ms"}

// ParseAdminConfig reads admin client properties as Kafka's
// AdminClientConfig does: defaults for what is not given and
// ConfigException-style errors for what is invalid or unknown.
func ParseAdminConfig(m map[string]string) (AdminConfig, error) {
	c := DefaultAdminConfig()
	p := newProps(m)
	p.str("client.id", &c.ClientID)
	p.ms("request.timeout.ms", 0, &c.RequestTimeout)
	p.ms("default.api.timeout.ms", 0, &c.DefaultAPITimeout)
	p.int("retries", 0, math.MaxInt32, &c.Retries)
	p.ms("retry.backoff.ms", 0, &c.RetryBackoff)
	p.ms("retry.backoff.max.ms", 0, &c.RetryBackoffMax)
	p.ms("metadata.max.age.ms", 0, &c.MetadataMaxAge)
	p.unknown("admin", adminKeys)
	if len(p.errs) > 0 {
		return c, errors.Join(p.errs...)
	}
	if !p.set("default.api.timeout.ms") && c.DefaultAPITimeout < c.RequestTimeout {
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
	for _, v := range []struct {
		name string
		d    time.Duration
	}{{"request.timeout.ms", c.RequestTimeout}, {"default.api.timeout.ms", c.DefaultAPITimeout}, {"retry.backoff.ms", c.RetryBackoff},
		{"retry.backoff.max.ms", c.RetryBackoffMax}, {"metadata.max.age.ms", c.MetadataMaxAge}} {
		if v.d < 0 {
			errs = append(errs, badConfig(v.name, v.d.Milliseconds(), "Value must be at least 0"))
		}
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, badConfig("request.timeout.ms", c.RequestTimeout.Milliseconds(), "Value must be at least 1"))
	}
	if c.DefaultAPITimeout < c.RequestTimeout {
		errs = append(errs, badConfig("default.api.timeout.ms", c.DefaultAPITimeout.Milliseconds(),
			"an operation's timeout may not be shorter than one request's: give at least request.timeout.ms (%d)", c.RequestTimeout.Milliseconds()))
	}
	if c.Retries < 0 {
		errs = append(errs, badConfig("retries", c.Retries, "Value must be at least 0"))
	}
	return errors.Join(errs...)
}
