package props

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// A Binding ties property names to the fields of a config type C.
type Binding[C any] struct {
	entries []entry[C]
}

type entry[C any] struct {
	name string
	set  func(*C, Value)
	get  func(*C) float64 // a number's value in the property's unit; nil for others
	text func(*C) string  // a string's value; nil for others
	want func(*Prop) bool // the types the field can hold
	what string
}

func one[C any](name, what string, want func(*Prop) bool, set func(*C, Value)) Binding[C] {
	return Binding[C]{[]entry[C]{{name: name, set: set, want: want, what: what}}}
}

func (b Binding[C]) getter(get func(*C) float64) Binding[C] {
	b.entries[0].get = get
	return b
}

type integer interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64
}

// Num binds a whole-number property (or a Version) to an integer field
// that holds its whole range.
func Num[C any, T integer](name string, field func(*C) *T) Binding[C] {
	return one(name, "a whole number", func(p *Prop) bool {
		if p.IsDuration() || !(p.whole() || p.Type == Version) {
			return false
		}
		min, max := p.Bounds()
		var t T
		return p.Type == Version || (min >= -maxOf(t)-1 && max <= maxOf(t))
	}, func(c *C, v Value) { *field(c) = T(v.Int()) }).getter(func(c *C) float64 { return float64(*field(c)) })
}

func maxOf[T integer](T) float64 {
	var t T
	switch any(t).(type) {
	case int8:
		return 1<<7 - 1
	case int16:
		return 1<<15 - 1
	case int32:
		return 1<<31 - 1
	}
	return 1<<63 - 1
}

// Dur binds a duration property (ms or seconds) to a time.Duration field.
func Dur[C any](name string, field func(*C) *time.Duration) Binding[C] {
	b := one(name, "a duration", (*Prop).IsDuration, func(c *C, v Value) { *field(c) = v.Duration() })
	p, ok := Lookup(name)
	if !ok {
		return b // Bind reports it
	}
	unit := float64(time.Millisecond)
	if p.Unit == Seconds {
		unit = float64(time.Second)
	}
	return b.getter(func(c *C) float64 { return float64(*field(c)) / unit })
}

// Flag binds a boolean property.
func Flag[C any](name string, field func(*C) *bool) Binding[C] {
	return one(name, "a boolean", func(p *Prop) bool { return p.Type == Bool }, func(c *C, v Value) { *field(c) = v.Bool() })
}

// Text binds a String or Enum property to a string field.
func Text[C any](name string, field func(*C) *string) Binding[C] {
	b := one(name, "a string", func(p *Prop) bool { return p.Type == String || p.Type == Enum },
		func(c *C, v Value) { *field(c) = v.String() })
	b.entries[0].text = func(c *C) string { return *field(c) }
	return b
}

// Items binds a List property to a []string field.
func Items[C any](name string, field func(*C) *[]string) Binding[C] {
	return one(name, "a list", func(p *Prop) bool { return p.Type == List }, func(c *C, v Value) { *field(c) = v.List() })
}

// Func binds a property of any type to a setter of its own.
func Func[C any](name string, set func(*C, Value)) Binding[C] {
	return one(name, "any value", func(*Prop) bool { return true }, set)
}

// Embed binds every property of a nested config's setters through the
// field that holds it.
func Embed[C, S any](sub *Setters[S], field func(*C) *S) Binding[C] {
	var b Binding[C]
	for _, name := range sub.Names() {
		e := sub.byName[name]
		n := entry[C]{name: name, want: e.want, what: e.what, set: func(c *C, v Value) { e.set(field(c), v) }}
		if e.get != nil {
			n.get = func(c *C) float64 { return e.get(field(c)) }
		}
		if e.text != nil {
			n.text = func(c *C) string { return e.text(field(c)) }
		}
		b.entries = append(b.entries, n)
	}
	return b
}

// Setters are the properties a config type C understands, for a role.
type Setters[C any] struct {
	role   Role
	byName map[string]entry[C]
}

// Bind returns the setters of a config type for a role. It panics (at
// package initialisation, so every test catches it) if a name is not in
// the table, lacks the role, is bound twice, or its type does not fit its
// field.
func Bind[C any](role Role, bindings ...Binding[C]) *Setters[C] {
	s := &Setters[C]{role: role, byName: map[string]entry[C]{}}
	for _, b := range bindings {
		for _, e := range b.entries {
			p, ok := Lookup(e.name)
			switch {
			case !ok:
				panic(fmt.Sprintf("props: %s is bound but not in the table", e.name))
			case !p.Roles.Has(role):
				panic(fmt.Sprintf("props: %s is bound for the %s role but the table gives it %s", e.name, role, p.Roles))
			case !e.want(p):
				panic(fmt.Sprintf("props: %s (%s) is bound to a field that holds %s", e.name, p.Accepted(), e.what))
			}
			if _, dup := s.byName[e.name]; dup {
				panic(fmt.Sprintf("props: %s is bound twice", e.name))
			}
			s.byName[e.name] = e
		}
	}
	return s
}

// Role returns the setters' role.
func (s *Setters[C]) Role() Role { return s.role }

// Names returns the names bound, sorted.
func (s *Setters[C]) Names() []string { return slices.Sorted(maps.Keys(s.byName)) }

// Has reports whether a name is bound.
func (s *Setters[C]) Has(name string) bool { _, ok := s.byName[name]; return ok }

// Set parses a property's text form and sets it on c, as a .properties
// line would.
func (s *Setters[C]) Set(c *C, name, text string) error {
	e, ok := s.byName[name]
	if !ok {
		return unknown(s.role, name)
	}
	p, _ := Lookup(name)
	v, err := p.For(s.role).Parse(text)
	if err != nil {
		return err
	}
	e.set(c, v)
	return nil
}

// Apply sets every property of m on c, in name order, and reports every
// error.
func (s *Setters[C]) Apply(c *C, m map[string]string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if err := s.Set(c, name, m[name]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Validate checks every bound number of c against its range in the
// table, as Set would have: a config built in Go gets the same answer as
// one read from properties.
func (s *Setters[C]) Validate(c *C) error {
	var errs []error
	for _, name := range s.Names() {
		e := s.byName[name]
		p, _ := Lookup(name)
		switch {
		case e.get != nil:
			errs = append(errs, p.checkNumber(e.get(c)))
		case e.text != nil && p.Type == Enum:
			if _, err := p.For(s.role).Parse(e.text(c)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Check reports a property of the role without a setter, and a setter of
// a property outside the role: a binding and the table must agree.
func (s *Setters[C]) Check() error {
	return Covers(s.role, s.Names())
}

// Covers reports the differences between the table's names of a role and
// the names given.
func Covers(role Role, names []string) error {
	want := Names(role)
	var missing, extra []string
	for _, n := range want {
		if !slices.Contains(names, n) {
			missing = append(missing, n)
		}
	}
	for _, n := range names {
		if !slices.Contains(want, n) {
			extra = append(extra, n)
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	return fmt.Errorf("the %s role's properties and its setters differ: without a setter: [%s]; not in the table for the role: [%s]",
		role, strings.Join(missing, ", "), strings.Join(extra, ", "))
}
