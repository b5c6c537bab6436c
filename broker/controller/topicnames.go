package controller

import (
	"fmt"
	"slices"
	"strings"
)

// ClusterMetadataTopic is the KRaft metadata log's name: no CreateTopics
// may create it (INVALID_REQUEST).
const ClusterMetadataTopic = "__cluster_metadata"

// InternalTopics are the names Kafka keeps for its own topics: the
// group coordinator's offsets, the transaction coordinator's state, and
// the metadata log. Users do not create them.
var InternalTopics = []string{"__consumer_offsets", "__transaction_state", ClusterMetadataTopic}

// HasCollisionChars reports whether a topic name holds '.' or '_', which
// metric names do not tell apart (Kafka's Topic.hasCollisionChars).
func HasCollisionChars(name string) bool { return strings.ContainsAny(name, "._") }

// UnifyCollisionChars returns the name with every '.' replaced by '_':
// two names that unify alike collide in metric names.
func UnifyCollisionChars(name string) string { return strings.ReplaceAll(name, ".", "_") }

// Collides reports whether two different topic names collide once '.'
// and '_' are made one character.
func Collides(a, b string) bool {
	return a != b && HasCollisionChars(a) && HasCollisionChars(b) && UnifyCollisionChars(a) == UnifyCollisionChars(b)
}

// collision returns the INVALID_TOPIC_EXCEPTION message for a name that
// collides with one of names (the least, so that the answer does not
// depend on map order), or "".
func collision(name string, names []string) string {
	var hits []string
	for _, n := range names {
		if Collides(name, n) {
			hits = append(hits, n)
		}
	}
	if len(hits) == 0 {
		return ""
	}
	return fmt.Sprintf("Topic '%s' collides with existing topic: %s", name, slices.Min(hits))
}
