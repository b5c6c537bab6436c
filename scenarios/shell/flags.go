package shell

import (
	"fmt"
	"strings"
)

// A flagSpec is one option of a tool: its name without the leading "--"
// and whether it takes an argument.
type flagSpec struct {
	name string
	arg  bool
}

// flags are a tool's parsed options: each option's arguments, in order.
type flags struct {
	vals map[string][]string
	pos  []string // arguments that are not options
}

func (f *flags) has(name string) bool { _, ok := f.vals[name]; return ok }

// get returns an option's last argument, or def.
func (f *flags) get(name, def string) string {
	if v := f.vals[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// parseFlags reads a tool's options as Kafka's tools (joptsimple) do:
// "--name value" or "--name=value". An unknown option is an error that
// lists the options the tool accepts.
func parseFlags(tool string, specs []flagSpec, args []string) (*flags, error) {
	byName := map[string]flagSpec{}
	for _, s := range specs {
		byName[s.name] = s
	}
	f := &flags{vals: map[string][]string{}}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "--") {
			f.pos = append(f.pos, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		s, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("%s is not a recognized option\n%s accepts: %s", name, tool, acceptedFlags(specs))
		}
		switch {
		case !s.arg && hasVal:
			return nil, fmt.Errorf("Option %s does not take an argument", name)
		case !s.arg:
			f.vals[name] = append(f.vals[name], "")
		case hasVal:
			f.vals[name] = append(f.vals[name], val)
		case i+1 < len(args):
			i++
			f.vals[name] = append(f.vals[name], args[i])
		default:
			return nil, fmt.Errorf("Option %s requires an argument", name)
		}
	}
	return f, nil
}

func acceptedFlags(specs []flagSpec) string {
	var names []string
	for _, s := range specs {
		n := "--" + s.name
		if s.arg {
			n += " <" + s.name + ">"
		}
		names = append(names, n)
	}
	return strings.Join(names, ", ")
}

// props reads repeated "--property k=v" style options into a map.
func (f *flags) props(name string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range f.vals[name] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("Invalid %s %q: expected key=value", name, kv)
		}
		out[k] = v
	}
	return out, nil
}

// split splits a command line into words as a POSIX shell would for
// plain words and quoted strings ('single' and "double", with \ escapes
// outside single quotes); it does not expand anything.
func split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range line {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case r == '\\' && quote != '\'':
			esc, inWord = true, true
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote", quote)
	}
	if esc {
		return nil, fmt.Errorf("a trailing backslash escapes nothing")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
