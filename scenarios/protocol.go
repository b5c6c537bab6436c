package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/broker/cluster"
)

// Protocol selects protocol variants, the switches of cluster.Variants, by
// switch name ("truncation": "epochs", "elr": "true", ...). The zero value
// is current Kafka.
//
// In a scenario file each variant is a field of cluster.protocol (its
// Variant.Field): a boolean field selects the variant with true
// ("eligible_leader_replicas": true, "no_pre_vote": true,
// "no_check_quorum": true, ...); "truncation" takes a mode's name.
type Protocol map[string]string

// With returns a copy of p with a switch set.
func (p Protocol) With(name, value string) Protocol {
	out := maps.Clone(p)
	if out == nil {
		out = Protocol{}
	}
	out[name] = value
	return out
}

// Get returns a switch's value: the one set, or the variant's default.
func (p Protocol) Get(name string) string {
	if v, ok := p[name]; ok {
		return v
	}
	v, _ := cluster.VariantByName(name)
	return v.Default
}

// String lists the switches set, such as "elr=true truncation=epochs".
func (p Protocol) String() string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(p)) {
		out = append(out, k+"="+p[k])
	}
	return strings.Join(out, " ")
}

// MarshalJSON writes the scenario format's fields.
func (p Protocol) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for _, name := range slices.Sorted(maps.Keys(p)) {
		v, ok := cluster.VariantByName(name)
		switch {
		case !ok:
			return nil, fmt.Errorf("protocol: unknown switch %q: known are %s", name, strings.Join(cluster.Switches(), ", "))
		case v.Flag == "":
			m[v.Field] = p[name]
		case p[name] == v.Flag:
			m[v.Field] = true
		case p[name] != v.Default:
			return nil, fmt.Errorf("protocol: switch %s=%s cannot be written in a scenario: its field %s selects %s=%s with true",
				name, p[name], v.Field, name, v.Flag)
		}
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the scenario format's fields: a boolean field takes
// true or false, a mode field a string (Compile checks the mode's name).
func (p *Protocol) UnmarshalJSON(data []byte) error {
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		*p = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("cluster.protocol: want an object of protocol variants: %w", err)
	}
	out := Protocol{}
	for _, field := range slices.Sorted(maps.Keys(raw)) {
		v, ok := cluster.VariantByField(field)
		if !ok {
			var fields []string
			for _, v := range cluster.Variants() {
				fields = append(fields, v.Field)
			}
			return fmt.Errorf("cluster.protocol: unknown field %q: accepted are %s", field, strings.Join(fields, ", "))
		}
		if v.Flag != "" {
			var on bool
			if err := json.Unmarshal(raw[field], &on); err != nil {
				return fmt.Errorf("cluster.protocol.%s: want true or false, got %s", field, raw[field])
			}
			if on {
				out[v.Name] = v.Flag
			}
			continue
		}
		var mode string
		if err := json.Unmarshal(raw[field], &mode); err != nil {
			return fmt.Errorf("cluster.protocol.%s: want a string, %s, got %s", field, v.Accepts(), raw[field])
		}
		out[v.Name] = mode
	}
	if len(out) == 0 {
		out = nil
	}
	*p = out
	return nil
}
