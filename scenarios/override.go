package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Override sets one field of a scenario from a command line's KEY=VALUE, as
// if the scenario file had said so, and validates the result exactly as a
// file is validated. KEY is a path of JSON field names joined by '.':
// "duration", "cluster.brokers", "workload.producers.0.rate". A list is
// indexed by position or, for topics, by name: "cluster.topics.orders.partitions".
// A Kafka property keeps its dots: "cluster.topics.orders.config.min.insync.replicas"
// and "cluster.broker_config.log.flush.interval.messages". VALUE is taken as
// the type of the field it replaces: text for text fields and for Kafka
// properties, JSON (a number, true, a list...) otherwise.
func Override(s Scenario, assignment string) (Scenario, error) {
	key, value, ok := strings.Cut(assignment, "=")
	if !ok || key == "" {
		return s, fmt.Errorf("--set %q: give KEY=VALUE, such as cluster.topics.orders.config.min.insync.replicas=2", assignment)
	}
	data, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return s, err
	}
	tree, err = set(tree, strings.Split(key, "."), value, "")
	if err != nil {
		return s, fmt.Errorf("--set %s: %w", key, err)
	}
	out, err := json.Marshal(tree)
	if err != nil {
		return s, err
	}
	return Parse("--set "+key, out)
}

// set replaces the value at path in a decoded JSON tree.
func set(node any, path []string, value, at string) (any, error) {
	if len(path) == 0 {
		return typed(node, value)
	}
	switch n := node.(type) {
	case map[string]any:
		// The longest key that the path starts with: Kafka properties
		// contain dots.
		for k := len(path); k >= 1; k-- {
			name := strings.Join(path[:k], ".")
			if child, ok := n[name]; ok {
				v, err := set(child, path[k:], value, join(at, name))
				if err != nil {
					return nil, err
				}
				n[name] = v
				return n, nil
			}
		}
		if isPropertyMap(at) {
			n[strings.Join(path, ".")] = value
			return n, nil
		}
		// A field the scenario left out: create it; parsing the result
		// says whether such a field exists.
		v, err := set(nil, path[1:], value, join(at, path[0]))
		if err != nil {
			return nil, err
		}
		n[path[0]] = v
		return n, nil
	case nil:
		if len(path) == 0 {
			return typed(nil, value)
		}
		if isPropertyMap(at) {
			return map[string]any{strings.Join(path, "."): value}, nil
		}
		return set(map[string]any{}, path, value, at)
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil {
			i = slices.IndexFunc(n, func(e any) bool { m, ok := e.(map[string]any); return ok && m["name"] == path[0] })
		}
		if i < 0 || i >= len(n) {
			return nil, fmt.Errorf("%s has no element %q: give an index from 0 to %d%s", where(at), path[0], len(n)-1, elementNames(n))
		}
		v, err := set(n[i], path[1:], value, join(at, path[0]))
		if err != nil {
			return nil, err
		}
		n[i] = v
		return n, nil
	}
	return nil, fmt.Errorf("%s is a value, not an object: it has no field %q", where(at), path[0])
}

// typed turns VALUE into the type of the field it replaces.
func typed(old any, value string) (any, error) {
	if _, isText := old.(string); isText {
		return value, nil
	}
	var v any
	dec := json.NewDecoder(strings.NewReader(value))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		// Durations and other text the field's type parses.
		return value, nil
	}
	return v, nil
}

// isPropertyMap reports whether a path names a map of Kafka properties,
// which takes any property name as a key.
func isPropertyMap(at string) bool {
	return strings.HasSuffix(at, "config") || strings.HasSuffix(at, "broker_config") || strings.HasSuffix(at, "controller_config")
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func where(at string) string {
	if at == "" {
		return "the scenario"
	}
	return at
}

func elementNames(list []any) string {
	var out []string
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return ", or a name: " + strings.Join(out, ", ")
}
