package model

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/internal/strictjson"
)

// RunConfig is the configuration of a run that decides what the run may
// lose, typed: checkers read it to tell what a setting allows from what is
// a bug. It travels in the history's header.
type RunConfig struct {
	// Topics are the topics the run created, sorted by name, each with its
	// effective configs.
	Topics []TopicConfig
	// Default holds the configs of topics not listed (such as
	// __consumer_offsets): the cluster's defaults.
	Default TopicConfig
	// ELR is KIP-966's eligible leader replicas
	// (eligible.leader.replicas.version=1).
	ELR bool
	// Truncation names the followers' truncation protocol: fetch, epochs,
	// legacy-epochs or high-watermark.
	Truncation string
	// FlushIntervalMessages and FlushInterval are the brokers'
	// log.flush.interval.messages and log.flush.interval.ms; 0 is never.
	FlushIntervalMessages int64
	FlushInterval         time.Duration
	// OSWriteback is how long the operating system lets dirty page-cache
	// data sit before it writes it back on its own; 0: only fsync makes
	// data durable.
	OSWriteback time.Duration
	// Producers are the producers' settings, by client id.
	Producers []ProducerConfig
}

// TopicConfig is a topic's configs that decide what it may lose.
type TopicConfig struct {
	// Name is the topic's name (empty for RunConfig.Default).
	Name string
	// MinInsyncReplicas is min.insync.replicas.
	MinInsyncReplicas int
	// UncleanLeaderElection is unclean.leader.election.enable.
	UncleanLeaderElection bool
	// CleanupPolicy is cleanup.policy: "delete", "compact" or
	// "compact,delete" (empty in histories written before it: delete).
	CleanupPolicy string
	// RetentionMs and RetentionBytes are retention.ms and retention.bytes
	// (-1: unlimited; 0 in histories written before them: unknown).
	RetentionMs, RetentionBytes int64
	// SegmentBytes and SegmentMs are segment.bytes and segment.ms.
	SegmentBytes, SegmentMs int64
	// DeleteRetentionMs is delete.retention.ms, MinCleanableDirtyRatio
	// min.cleanable.dirty.ratio and MinCompactionLagMs
	// min.compaction.lag.ms: the log cleaner's settings.
	DeleteRetentionMs      int64
	MinCleanableDirtyRatio float64
	MinCompactionLagMs     int64
}

// Deletes reports whether cleanup.policy includes delete (retention).
func (t TopicConfig) Deletes() bool { return t.CleanupPolicy != "compact" }

// Compacts reports whether cleanup.policy includes compact.
func (t TopicConfig) Compacts() bool { return strings.Contains(t.CleanupPolicy, "compact") }

// ProducerConfig is a producer's settings that decide what it may lose.
type ProducerConfig struct {
	// Client is client.id.
	Client string
	// Acks is acks.
	Acks Acks
	// Idempotence is enable.idempotence, as the producer resolved it.
	Idempotence bool
}

// Topic returns a topic's configs: its own, or the defaults.
func (c RunConfig) Topic(name string) TopicConfig {
	if i, ok := slices.BinarySearchFunc(c.Topics, name, func(t TopicConfig, n string) int { return strings.Compare(t.Name, n) }); ok {
		return c.Topics[i]
	}
	d := c.Default
	d.Name = name
	return d
}

// RunConfigFromMap reads the configuration map of histories written before the
// typed configuration existed (cluster-wide names, and "<topic>.<name>" for a
// topic's own configs).
func RunConfigFromMap(m map[string]string) RunConfig {
	c := RunConfig{Default: TopicConfig{MinInsyncReplicas: 1}}
	apply := func(t *TopicConfig, name, v string) bool {
		switch name {
		case "min.insync.replicas":
			if n, err := strconv.Atoi(v); err == nil {
				t.MinInsyncReplicas = n
			}
		case "unclean.leader.election.enable":
			t.UncleanLeaderElection = v == "true"
		default:
			return false
		}
		return true
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		v := m[k]
		switch k {
		case "eligible.leader.replicas.version":
			c.ELR = v == "1"
		case "kafkasim.truncation":
			c.Truncation = v
		case "log.flush.interval.messages":
			c.FlushIntervalMessages, _ = strconv.ParseInt(v, 10, 64)
		case "log.flush.interval.ms":
			ms, _ := strconv.ParseInt(v, 10, 64)
			c.FlushInterval = time.Duration(ms) * time.Millisecond
		default:
			apply(&c.Default, k, v)
		}
	}
	// A topic's own configs override the defaults.
	for _, k := range keys {
		for _, name := range []string{"min.insync.replicas", "unclean.leader.election.enable"} {
			topic, ok := strings.CutSuffix(k, "."+name)
			if !ok || topic == "" {
				continue
			}
			i, found := slices.BinarySearchFunc(c.Topics, topic, func(t TopicConfig, n string) int { return strings.Compare(t.Name, n) })
			if !found {
				t := c.Default
				t.Name = topic
				c.Topics = slices.Insert(c.Topics, i, t)
			}
			apply(&c.Topics[i], name, m[k])
		}
	}
	return c
}

// The JSON form of a RunConfig, with Kafka's names and durations in
// milliseconds.
type jsonRunConfig struct {
	Topics                []jsonTopicConfig    `json:"topics,omitempty"`
	Default               jsonTopicConfig      `json:"default"`
	ELR                   bool                 `json:"eligible.leader.replicas,omitempty"`
	Truncation            string               `json:"truncation,omitempty"`
	FlushIntervalMessages int64                `json:"log.flush.interval.messages,omitempty"`
	FlushIntervalMs       int64                `json:"log.flush.interval.ms,omitempty"`
	OSWritebackMs         int64                `json:"os_writeback_ms,omitempty"`
	Producers             []jsonProducerConfig `json:"producers,omitempty"`
}

type jsonTopicConfig struct {
	Name                   string  `json:"name,omitempty"`
	MinInsyncReplicas      int     `json:"min.insync.replicas"`
	UncleanLeaderElection  bool    `json:"unclean.leader.election.enable"`
	CleanupPolicy          string  `json:"cleanup.policy,omitempty"`
	RetentionMs            int64   `json:"retention.ms,omitempty"`
	RetentionBytes         int64   `json:"retention.bytes,omitempty"`
	SegmentBytes           int64   `json:"segment.bytes,omitempty"`
	SegmentMs              int64   `json:"segment.ms,omitempty"`
	DeleteRetentionMs      int64   `json:"delete.retention.ms,omitempty"`
	MinCleanableDirtyRatio float64 `json:"min.cleanable.dirty.ratio,omitempty"`
	MinCompactionLagMs     int64   `json:"min.compaction.lag.ms,omitempty"`
}

type jsonProducerConfig struct {
	Client      string `json:"client.id"`
	Acks        Acks   `json:"acks"`
	Idempotence bool   `json:"enable.idempotence"`
}

// MarshalJSON writes the configuration with Kafka's names.
func (c RunConfig) MarshalJSON() ([]byte, error) {
	j := jsonRunConfig{Default: jsonTopicConfig(c.Default), ELR: c.ELR, Truncation: c.Truncation,
		FlushIntervalMessages: c.FlushIntervalMessages, FlushIntervalMs: c.FlushInterval.Milliseconds(),
		OSWritebackMs: c.OSWriteback.Milliseconds()}
	for _, t := range c.Topics {
		j.Topics = append(j.Topics, jsonTopicConfig(t))
	}
	for _, p := range c.Producers {
		j.Producers = append(j.Producers, jsonProducerConfig(p))
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON writes, refusing unknown fields.
func (c *RunConfig) UnmarshalJSON(data []byte) error {
	var j jsonRunConfig
	if err := strictjson.Decode(data, &j); err != nil {
		return err
	}
	*c = RunConfig{Default: TopicConfig(j.Default), ELR: j.ELR, Truncation: j.Truncation,
		FlushIntervalMessages: j.FlushIntervalMessages, FlushInterval: time.Duration(j.FlushIntervalMs) * time.Millisecond,
		OSWriteback: time.Duration(j.OSWritebackMs) * time.Millisecond}
	for _, t := range j.Topics {
		c.Topics = append(c.Topics, TopicConfig(t))
	}
	slices.SortFunc(c.Topics, func(a, b TopicConfig) int { return strings.Compare(a.Name, b.Name) })
	for _, p := range j.Producers {
		c.Producers = append(c.Producers, ProducerConfig(p))
	}
	return nil
}
