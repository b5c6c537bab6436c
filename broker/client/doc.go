// Package client holds kafkasim's simulated Kafka clients: the producer,
// the consumer and the admin client, each a state machine that runs inside
// a simulation node and records every operation in a history.
package client
