package props

import (
	"fmt"
	"reflect"
	"strings"
)

// Markdown renders properties as a Markdown table: name, roles, type,
// Kafka's default, what is accepted, and what each does.
func Markdown(ps []Prop) string {
	var b strings.Builder
	b.WriteString("| property | read by | type | default | accepted | what it does |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
	for i := range ps {
		p := &ps[i]
		typ := p.Type.String()
		switch p.Unit {
		case Ms:
			typ += " (ms)"
		case Seconds:
			typ += " (s)"
		}
		def := p.Default
		if len(p.ByRole) > 0 {
			var per []string
			for _, rv := range p.ByRole {
				per = append(per, fmt.Sprintf("`%s` (%s)", rv.Default, rv.Roles))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Name, p.Roles, typ, strings.Join(per, ", "), escape(p.Accepted()), escape(p.Doc))
			continue
		}
		switch {
		case def == "" && p.Type != Enum:
			def = "none"
		default:
			def = "`" + def + "`"
			if p.Default == "" {
				def = `""`
			}
		}
		roles := p.Roles.String()
		if p.Roles.Has(Quorum) {
			roles = (p.Roles &^ Quorum).String() + " (metadata quorum)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", p.Name, roles, typ, def, escape(p.Accepted()), escape(p.Doc))
	}
	return b.String()
}

func escape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Defaults reports the bound properties whose table default, set on a copy
// of def (a config type's defaults), changes it: the config's defaults and
// Kafka's must agree, except for the names given (where kafkasim keeps a
// default of its own, and says why in the field's doc).
func (s *Setters[C]) Defaults(def C, except ...string) error {
	var differ []string
	for _, name := range s.Names() {
		p, _ := Lookup(name)
		p = p.For(s.role)
		if p.Default == "" && p.Type != Enum && p.Type != String {
			continue
		}
		skip := false
		for _, e := range except {
			skip = skip || e == name
		}
		if skip {
			continue
		}
		c := def
		if err := s.Set(&c, name, p.Default); err != nil {
			return err
		}
		if !reflect.DeepEqual(c, def) {
			differ = append(differ, fmt.Sprintf("%s=%q", name, p.Default))
		}
	}
	if len(differ) > 0 {
		return fmt.Errorf("the config's defaults differ from the table's: %s", strings.Join(differ, ", "))
	}
	return nil
}
