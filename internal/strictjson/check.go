package strictjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// A FieldError is a problem Check found at one place of the input: its line and column (1-based, of the key or
// value concerned), the path of the field ("cluster.topics[0].configs"; empty at the top), and what was wrong.
type FieldError struct {
	Line, Column int
	Path         string
	Msg          string
}

func (e *FieldError) Error() string {
	where := fmt.Sprintf("line %d, column %d", e.Line, e.Column)
	if e.Path != "" {
		where += ": " + e.Path
	}
	return where + ": " + e.Msg
}

// Check walks data, one JSON value, against the Go type of v (a pointer, or a value of the type that will be
// decoded into) the way encoding/json will decode it, and returns the first place where an object has a key twice
// or a key the type does not have. Its errors give the line, the column, the path and, for an unknown key, the
// names accepted there. Values of types that decode themselves (json.Unmarshaler, encoding.TextUnmarshaler) are
// checked for duplicate keys only. Malformed JSON is left to the decoder: Check returns nil for it.
func Check(data []byte, v any) error {
	t := reflect.TypeOf(v)
	if t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	c := &walker{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	c.dec.UseNumber()
	err := c.value(t, "")
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe
	}
	return nil
}

type walker struct {
	data []byte
	dec  *json.Decoder
}

var (
	unmarshaler     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// opaque reports whether values of t decode themselves, so that their keys are theirs to judge.
func opaque(t reflect.Type) bool {
	if t == nil {
		return false
	}
	if t.Kind() != reflect.Pointer {
		t = reflect.PointerTo(t)
	}
	return t.Implements(unmarshaler) || t.Implements(textUnmarshaler)
}

// lineCol turns an input offset into a 1-based line and column.
func (c *walker) lineCol(off int64) (line, col int) {
	line, col = 1, 1
	for _, b := range c.data[:min(max(off, 0), int64(len(c.data)))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// at makes a FieldError at an input offset.
func (c *walker) at(off int64, path, format string, args ...any) error {
	line, col := c.lineCol(off)
	return &FieldError{Line: line, Column: col, Path: path, Msg: fmt.Sprintf(format, args...)}
}

// keyStart is the offset of the key the decoder has just read, whose closing quote is the last before end.
func (c *walker) keyStart(end int64) int64 {
	i := bytes.LastIndexByte(c.data[:min(end, int64(len(c.data)))], '"')
	if i <= 0 {
		return end
	}
	j := bytes.LastIndexByte(c.data[:i], '"')
	if j < 0 {
		return end
	}
	return int64(j)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// field is one JSON name a struct accepts.
type field struct {
	name string
	typ  reflect.Type
}

// fields lists the JSON names of a struct as encoding/json sees them: tag names, exported field names,
// embedded structs' fields promoted; "-" omitted.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" && !strings.HasPrefix(tag, "-,") {
			continue
		}
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct && !opaque(et) {
				out = append(out, fields(et)...)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{name, ft})
	}
	return out
}

func lookup(fs []field, key string) (field, bool) {
	for _, f := range fs {
		if f.name == key {
			return f, true
		}
	}
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f, true
		}
	}
	return field{}, false
}

func names(fs []field) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(f.name)
	}
	return b.String()
}

// value reads one value of type t (nil: any) at path.
func (c *walker) value(t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if opaque(t) {
		t = nil
	}
	tok, err := c.dec.Token()
	if err != nil {
		if err == io.EOF {
			return nil
		}
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '{':
		var fs []field
		var elem reflect.Type
		isStruct := t != nil && t.Kind() == reflect.Struct
		if isStruct {
			fs = fields(t)
		} else if t != nil && t.Kind() == reflect.Map {
			elem = t.Elem()
		}
		seen := map[string]int64{}
		for c.dec.More() {
			kt, err := c.dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			start := c.keyStart(c.dec.InputOffset())
			if first, dup := seen[key]; dup {
				fl, _ := c.lineCol(first)
				return c.at(start, path, "the key %q appears twice in one object (first on line %d); give each key once", key, fl)
			}
			seen[key] = start
			sub := elem
			if isStruct {
				f, ok := lookup(fs, key)
				if !ok {
					return c.at(start, path, "unknown field %q; accepted here: %s", key, names(fs))
				}
				sub = f.typ
			}
			if err := c.value(sub, join(path, key)); err != nil {
				return err
			}
		}
		_, err := c.dec.Token() // '}'
		return err
	case '[':
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; c.dec.More(); i++ {
			if err := c.value(elem, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		_, err := c.dec.Token() // ']'
		return err
	}
	return nil
}
