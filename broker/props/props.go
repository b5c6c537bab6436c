// Package props is the one registry of the Kafka properties kafkasim
// models: each property's name, the roles that read it (broker,
// controller, the metadata quorum, topic, producer, consumer, admin), its type,
// range and Kafka's default, and what it does. Parsing a property's text
// form, its range check, the ConfigException-style error, the "known are
// ..." lists and the README's configuration table all come from the table
// (Table); each config package binds the names it understands to its own
// Config's fields (Bind), and its tests prove the binding and the table
// agree (Setters.Check).
//
// Rules between settings (idempotence with acks, heartbeat below session
// timeout, min.insync.replicas against the replication factor, ...) stay
// in each Config's Validate: the table knows one property at a time.
package props

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Role is a set of the places a property is read.
type Role uint16

// The roles.
const (
	// Broker is a broker's server.properties.
	Broker Role = 1 << iota
	// Controller is a KRaft controller's properties.
	Controller
	// Quorum marks the controller.quorum.* settings of the metadata log,
	// which brokers (as observers) and controllers (as voters) share.
	Quorum
	// Topic is a topic-level config (CreateTopics, IncrementalAlterConfigs).
	Topic
	// Producer is a producer client's properties.
	Producer
	// Consumer is a consumer client's properties.
	Consumer
	// Admin is an admin client's properties.
	Admin
	// Scenario marks the values of kafkasim's scenario format (counts,
	// rates, durations, limits): not Kafka properties, but typed and
	// bounded the same way.
	Scenario
)

var roleNames = []string{"broker", "controller", "quorum", "topic", "producer", "consumer", "admin", "scenario"}

// Has reports whether r includes every role of o.
func (r Role) Has(o Role) bool { return r&o == o && o != 0 }

// Any reports whether r and o share a role.
func (r Role) Any(o Role) bool { return r&o != 0 }

// String lists the roles, such as "broker, controller".
func (r Role) String() string {
	var out []string
	for i, n := range roleNames {
		if r&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// Type is a property's value type, as Kafka's ConfigDef names them.
type Type uint8

// The types.
const (
	// Int is a 32-bit whole number.
	Int Type = iota + 1
	// Short is a 16-bit whole number.
	Short
	// Long is a 64-bit whole number.
	Long
	// Double is a floating-point number.
	Double
	// Bool is true or false.
	Bool
	// String is any text.
	String
	// Enum is one of Values.
	Enum
	// List is a comma-separated list.
	List
	// Version is a feature level, one of Values (kafka-features).
	Version
	// Duration is a Go duration such as "1.5s" (scenario values only).
	Duration
)

var typeNames = []string{"", "int", "short", "long", "double", "boolean", "string", "string", "list", "version", "duration"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Unit is what a whole number counts.
type Unit uint8

// The units.
const (
	// None counts things (records, bytes, partitions).
	None Unit = iota
	// Ms is milliseconds: the value is a duration.
	Ms
	// Seconds is seconds: the value is a duration.
	Seconds
)

// Range bounds a number. Unset bounds are the type's own.
type Range struct {
	// Min and Max are the bounds, inclusive, where HasMin and HasMax say
	// they are set.
	Min, Max       float64
	HasMin, HasMax bool
}

// AtLeast is the range [min, the type's maximum].
func AtLeast(min float64) Range { return Range{Min: min, HasMin: true} }

// Between is the range [min, max].
func Between(min, max float64) Range { return Range{Min: min, Max: max, HasMin: true, HasMax: true} }

// A Prop is one property: its name and roles, its type and range, Kafka's
// default, and what it does.
type Prop struct {
	// Name is Kafka's name for it, such as min.insync.replicas.
	Name string
	// Roles are the places that read it.
	Roles Role
	// Type, Unit and Range say what a value is and which are accepted.
	Type  Type
	Unit  Unit
	Range Range
	// Values are the accepted values of an Enum or Version, or of each item
	// of a List (none: any).
	Values []string
	// ByRole, for an Enum whose accepted values and default differ with
	// the role that reads it (compression.type: a producer's codecs, a
	// topic's codecs plus producer and uncompressed), gives them per
	// role; Values and Default are then every role's together.
	ByRole []RoleValues
	// Default is Kafka's default in text form ("" for none).
	Default string
	// Doc says what the property does, in one line.
	Doc string
}

// RoleValues are an Enum's accepted values and default for some roles.
type RoleValues struct {
	Roles   Role
	Values  []string
	Default string
}

// For returns the property as the role reads it: with ByRole's values
// and default for that role, when it has any.
func (p *Prop) For(r Role) *Prop {
	for _, rv := range p.ByRole {
		if rv.Roles.Any(r) {
			c := *p
			c.Values, c.Default, c.ByRole = rv.Values, rv.Default, nil
			return &c
		}
	}
	return p
}

// maxMs is the longest duration in milliseconds a time.Duration holds.
const maxMs = math.MaxInt64 / int64(time.Millisecond)

// Bounds returns the property's effective range: its own within its type's.
func (p *Prop) Bounds() (min, max float64) {
	switch p.Type {
	case Int:
		min, max = math.MinInt32, math.MaxInt32
	case Short:
		min, max = math.MinInt16, math.MaxInt16
	case Long:
		min, max = math.MinInt64, math.MaxInt64
	case Duration:
		min, max = math.MinInt64, math.MaxInt64
	default:
		min, max = math.Inf(-1), math.Inf(1)
	}
	switch p.Unit {
	case Ms:
		min, max = math.Max(min, -float64(maxMs)), math.Min(max, float64(maxMs))
	case Seconds:
		s := float64(maxMs / 1000)
		min, max = math.Max(min, -s), math.Min(max, s)
	}
	if p.Range.HasMin {
		min = math.Max(min, p.Range.Min)
	}
	if p.Range.HasMax {
		max = math.Min(max, p.Range.Max)
	}
	return min, max
}

// IsDuration reports whether the value is a span of time.
func (p *Prop) IsDuration() bool { return p.Type == Duration || p.Unit != None }

// whole reports whether the type is a whole number.
func (p *Prop) whole() bool { return p.Type == Int || p.Type == Short || p.Type == Long }

// Accepted says in words what the property accepts, such as "a whole
// number from 1 to 2147483647" or "one of all, -1, 0, 1".
func (p *Prop) Accepted() string {
	switch p.Type {
	case Bool:
		return "true or false"
	case String:
		return "any text"
	case List:
		if len(p.Values) > 0 {
			return "a comma-separated list of " + strings.Join(p.Values, ", ")
		}
		return "a comma-separated list"
	case Enum, Version:
		if len(p.ByRole) > 0 {
			var per []string
			for _, rv := range p.ByRole {
				per = append(per, fmt.Sprintf("%s: %s", rv.Roles, (&Prop{Type: p.Type, Values: rv.Values}).Accepted()))
			}
			return strings.Join(per, "; ")
		}
		vs := make([]string, len(p.Values))
		for i, v := range p.Values {
			vs[i] = v
			if v == "" {
				vs[i] = `"" (empty)`
			}
		}
		return "one of " + strings.Join(vs, ", ")
	}
	min, max := p.Bounds()
	f := func(v float64) string {
		if p.Type == Duration {
			return time.Duration(v).String()
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	kind := "a whole number"
	switch p.Type {
	case Double:
		kind = "a number"
	case Duration:
		kind = "a duration"
	}
	switch {
	case math.IsInf(max, 1) && math.IsInf(min, -1):
		return kind
	case math.IsInf(max, 1):
		return fmt.Sprintf("%s of at least %s", kind, f(min))
	}
	return fmt.Sprintf("%s from %s to %s", kind, f(min), f(max))
}

// A Value is a property's parsed value.
type Value struct {
	// Prop is the property the value is of.
	Prop *Prop
	// Text is the value as given, without surrounding spaces.
	Text string
	n    int64
	f    float64
	b    bool
	list []string
}

// Int returns a whole number (a Version's level too).
func (v Value) Int() int64 { return v.n }

// Float returns a Double.
func (v Value) Float() float64 { return v.f }

// Bool returns a Bool.
func (v Value) Bool() bool { return v.b }

// String returns the text of a String or Enum.
func (v Value) String() string { return v.Text }

// List returns a List's items, trimmed, without empty ones.
func (v Value) List() []string { return slices.Clone(v.list) }

// Duration returns a duration: milliseconds or seconds as a time.Duration.
func (v Value) Duration() time.Duration {
	switch v.Prop.Unit {
	case Ms:
		return time.Duration(v.n) * time.Millisecond
	case Seconds:
		return time.Duration(v.n) * time.Second
	}
	return time.Duration(v.n)
}

// Parse reads text as the property's value and checks its range. Text is
// trimmed of spaces and booleans are read regardless of case, as Kafka's
// ConfigDef does.
func (p *Prop) Parse(text string) (Value, error) {
	t := strings.TrimSpace(text)
	v := Value{Prop: p, Text: t}
	bad := func() (Value, error) {
		return Value{}, &Error{Name: p.Name, Value: text, Accept: "expected " + p.Accepted()}
	}
	switch p.Type {
	case Bool:
		switch strings.ToLower(t) {
		case "true":
			v.b = true
		case "false":
		default:
			return bad()
		}
		return v, nil
	case String:
		return v, nil
	case List:
		for _, s := range strings.Split(t, ",") {
			if s = strings.TrimSpace(s); s != "" {
				if len(p.Values) > 0 && !slices.Contains(p.Values, s) {
					return bad()
				}
				v.list = append(v.list, s)
			}
		}
		if len(p.Values) > 0 && len(v.list) == 0 {
			return bad()
		}
		return v, nil
	case Enum:
		if !slices.Contains(p.Values, t) {
			return bad()
		}
		return v, nil
	case Version:
		if !slices.Contains(p.Values, t) {
			return bad()
		}
		v.n, _ = strconv.ParseInt(t, 10, 64)
		return v, nil
	case Duration:
		d, err := time.ParseDuration(t)
		if err != nil {
			return bad()
		}
		v.n = int64(d)
		return v, p.check(v, float64(d))
	case Double:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil || math.IsNaN(f) {
			return bad()
		}
		v.f = f
		return v, p.check(v, f)
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return bad()
	}
	v.n = n
	return v, p.check(v, float64(n))
}

// check checks a number against the property's range.
func (p *Prop) check(v Value, x float64) error {
	min, max := p.Bounds()
	f := func(v float64) string {
		if p.Type == Duration {
			return time.Duration(v).String()
		}
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	switch {
	case x < min:
		return &Error{Name: p.Name, Value: v.Text, Accept: "value must be at least " + f(min)}
	case x > max:
		return &Error{Name: p.Name, Value: v.Text, Accept: "value must be at most " + f(max)}
	}
	return nil
}

// checkNumber checks a number in the property's unit.
func (p *Prop) checkNumber(x float64) error {
	text := strconv.FormatFloat(x, 'g', -1, 64)
	if p.whole() || p.Unit != None {
		text = strconv.FormatFloat(x, 'f', -1, 64)
	}
	if p.Type == Duration {
		text = time.Duration(x).String()
	}
	return p.check(Value{Text: text}, x)
}

// Check checks a number (a count, a rate, a Duration's nanoseconds, a
// property in its unit) against the property's range; field names the
// value in the error (the property's name when empty).
func (p *Prop) Check(field string, x float64) error {
	if math.IsNaN(x) {
		return p.named(field, &Error{Name: p.Name, Value: "NaN", Accept: "expected " + p.Accepted()})
	}
	return p.named(field, p.checkNumber(x))
}

func (p *Prop) named(field string, err error) error {
	if e, ok := err.(*Error); ok && field != "" {
		e.Name = field
	}
	return err
}

// An Error is Kafka's ConfigException: a property, the value given, and
// what is accepted. With Unknown set, the name itself is not known and
// Accept lists the known names.
type Error struct {
	// Name is the property's name (or a scenario field's).
	Name string
	// Value is the value given, as text.
	Value string
	// Accept says what is accepted.
	Accept string
	// Unknown says the name itself is not known.
	Unknown bool
}

func (e *Error) Error() string {
	if e.Unknown {
		return fmt.Sprintf("unknown configuration %q: %s", e.Name, e.Accept)
	}
	return fmt.Sprintf("invalid value %s for configuration %s: %s", e.Value, e.Name, e.Accept)
}

// Invalid returns an *Error for a value a rule between settings refuses.
func Invalid(name string, value any, format string, args ...any) error {
	return &Error{Name: name, Value: fmt.Sprint(value), Accept: fmt.Sprintf(format, args...)}
}

// Lookup returns the property of a name.
func Lookup(name string) (*Prop, bool) {
	i, ok := index[name]
	if !ok {
		return nil, false
	}
	return &table[i], true
}

// Names returns the names of the properties with any of the roles, sorted.
func Names(roles Role) []string {
	var out []string
	for i := range table {
		if table[i].Roles.Any(roles) {
			out = append(out, table[i].Name)
		}
	}
	slices.Sort(out)
	return out
}

// Table returns every property, sorted by name.
func Table() []Prop { return slices.Clone(table) }

// Parse looks a property up for a role and parses its value: the error
// names an unknown property and lists the role's known ones.
func Parse(roles Role, name, text string) (Value, error) {
	p, ok := Lookup(name)
	if !ok || !p.Roles.Any(roles) {
		return Value{}, unknown(roles, name)
	}
	return p.For(roles).Parse(text)
}

func unknown(roles Role, name string) error {
	return &Error{Name: name, Unknown: true, Accept: fmt.Sprintf("kafkasim's %s configurations are %s", roles, strings.Join(Names(roles), ", "))}
}

var index = func() map[string]int {
	slices.SortFunc(table, func(a, b Prop) int { return strings.Compare(a.Name, b.Name) })
	m := make(map[string]int, len(table))
	for i, p := range table {
		if _, dup := m[p.Name]; dup {
			panic("props: " + p.Name + " is declared twice")
		}
		m[p.Name] = i
		if p.Default != "" {
			if _, err := p.Parse(p.Default); err != nil {
				panic(fmt.Sprintf("props: the default of %s: %v", p.Name, err))
			}
		}
	}
	return m
}()
