// Package edn reads EDN, the data notation Clojure programs such as Jepsen
// write their histories in (https://github.com/edn-format/edn): nil,
// booleans, numbers, strings, characters, symbols, keywords, lists,
// vectors, maps, sets, tagged elements and the #_ discard. It also reads
// what Clojure's printer writes beyond EDN in such files: hexadecimal and
// radix integers, ratios, ##Inf, ##-Inf and ##NaN, and namespaced maps
// (#:ns{...}).
//
// Every value knows the line it starts on, so that a reader of a history
// can say where a value is not what it expected.
package edn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the kind of an EDN value.
type Kind uint8

// The kinds of values.
const (
	Nil Kind = iota
	Bool
	Int     // fits in an int64
	BigInt  // an integer beyond int64, or with the N suffix
	Float   // also ratios, ##Inf, ##-Inf, ##NaN and the M suffix
	String  // Str holds the text
	Char    // Str holds the character
	Symbol  // Str holds the name, with its namespace
	Keyword // Str holds the name without the colon, with its namespace
	List
	Vector
	Map // Items alternate keys and values
	Set
	Tagged // Str holds the tag, Items[0] the value
)

var kindNames = [...]string{Nil: "nil", Bool: "boolean", Int: "integer", BigInt: "integer", Float: "number",
	String: "string", Char: "character", Symbol: "symbol", Keyword: "keyword", List: "list", Vector: "vector",
	Map: "map", Set: "set", Tagged: "tagged element"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// A Value is one EDN value.
type Value struct {
	Kind  Kind
	Line  int // the line the value starts on, from 1
	Bool  bool
	Int   int64
	Big   *big.Int
	Float float64
	Str   string
	Items []Value
}

// IsKeyword reports whether v is the keyword :name.
func (v Value) IsKeyword(name string) bool { return v.Kind == Keyword && v.Str == name }

// Get returns the value of a map's key :name.
func (v Value) Get(name string) (Value, bool) {
	if v.Kind != Map {
		return Value{}, false
	}
	for i := 0; i+1 < len(v.Items); i += 2 {
		if v.Items[i].IsKeyword(name) {
			return v.Items[i+1], true
		}
	}
	return Value{}, false
}

// Seq reports whether v is a list or a vector.
func (v Value) Seq() bool { return v.Kind == List || v.Kind == Vector }

// String renders v as EDN, on one line.
func (v Value) String() string {
	var b strings.Builder
	v.write(&b)
	return b.String()
}

func (v Value) write(b *strings.Builder) {
	switch v.Kind {
	case Nil:
		b.WriteString("nil")
	case Bool:
		b.WriteString(strconv.FormatBool(v.Bool))
	case Int:
		b.WriteString(strconv.FormatInt(v.Int, 10))
	case BigInt:
		b.WriteString(v.Big.String())
		b.WriteByte('N')
	case Float:
		switch {
		case math.IsInf(v.Float, 1):
			b.WriteString("##Inf")
		case math.IsInf(v.Float, -1):
			b.WriteString("##-Inf")
		case math.IsNaN(v.Float):
			b.WriteString("##NaN")
		default:
			s := strconv.FormatFloat(v.Float, 'g', -1, 64)
			if !strings.ContainsAny(s, ".eEn") {
				s += ".0"
			}
			b.WriteString(s)
		}
	case String:
		quote(b, v.Str)
	case Char:
		r, _ := utf8.DecodeRuneInString(v.Str)
		if name, ok := charNamesByRune[r]; ok {
			b.WriteString(`\` + name)
		} else if unicode.IsPrint(r) && r != ' ' {
			b.WriteString(`\` + v.Str)
		} else {
			fmt.Fprintf(b, `\u%04x`, r)
		}
	case Symbol:
		b.WriteString(v.Str)
	case Keyword:
		b.WriteString(":" + v.Str)
	case List, Vector, Map, Set:
		open, close := map[Kind][2]string{List: {"(", ")"}, Vector: {"[", "]"}, Map: {"{", "}"}, Set: {"#{", "}"}}[v.Kind][0],
			map[Kind][2]string{List: {"(", ")"}, Vector: {"[", "]"}, Map: {"{", "}"}, Set: {"#{", "}"}}[v.Kind][1]
		b.WriteString(open)
		for i, it := range v.Items {
			if i > 0 {
				b.WriteByte(' ')
			}
			it.write(b)
		}
		b.WriteString(close)
	case Tagged:
		b.WriteString("#" + v.Str + " ")
		if len(v.Items) == 1 {
			v.Items[0].write(b)
		}
	}
}

// quote writes s as an EDN string.
func quote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

var charNames = map[string]rune{"newline": '\n', "space": ' ', "tab": '\t', "return": '\r', "backspace": '\b', "formfeed": '\f'}

var charNamesByRune = map[rune]string{'\n': "newline", ' ': "space", '\t': "tab", '\r': "return", '\b': "backspace", '\f': "formfeed"}

// A SyntaxError is malformed EDN: the line it is on and what was wrong.
type SyntaxError struct {
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// MaxDepth bounds how deeply collections may nest.
const MaxDepth = 1000

// A Decoder reads EDN values one after another from a stream.
type Decoder struct {
	r    *bufio.Reader
	line int
	err  error // a read error other than io.EOF
}

// NewDecoder returns a decoder reading from r.
func NewDecoder(r io.Reader) *Decoder { return &Decoder{r: bufio.NewReader(r), line: 1} }

// Line returns the line the decoder is on.
func (d *Decoder) Line() int { return d.line }

// Decode reads the next value. At the end of the input it returns io.EOF;
// malformed input gives a *SyntaxError.
func (d *Decoder) Decode() (Value, error) {
	for {
		if err := d.skipSpace(); err != nil {
			return Value{}, err
		}
		c, err := d.peek()
		if err != nil {
			return Value{}, err
		}
		if c == ')' || c == ']' || c == '}' {
			d.next()
			return Value{}, d.errorf("unexpected %q: no collection is open", c)
		}
		v, discard, err := d.value(0)
		if err != nil {
			return Value{}, err
		}
		if !discard {
			return v, nil
		}
	}
}

// Parse reads exactly one value from s.
func Parse(s string) (Value, error) {
	d := NewDecoder(strings.NewReader(s))
	v, err := d.Decode()
	if err == io.EOF {
		return Value{}, &SyntaxError{d.line, "no value: the input is empty"}
	}
	if err != nil {
		return Value{}, err
	}
	if _, err := d.Decode(); err != io.EOF {
		if err == nil {
			return Value{}, &SyntaxError{d.line, "more than one value"}
		}
		return Value{}, err
	}
	return v, nil
}

func (d *Decoder) errorf(format string, args ...any) error {
	return &SyntaxError{d.line, fmt.Sprintf(format, args...)}
}

func (d *Decoder) peek() (rune, error) {
	c, _, err := d.r.ReadRune()
	if err != nil {
		if err != io.EOF {
			d.err = err
		}
		return 0, err
	}
	d.r.UnreadRune()
	return c, nil
}

func (d *Decoder) next() (rune, error) {
	c, _, err := d.r.ReadRune()
	if err != nil {
		return 0, err
	}
	if c == '\n' {
		d.line++
	}
	return c, nil
}

// eof turns the end of input inside a value into a syntax error.
func (d *Decoder) eof(err error, what string) error {
	if err == io.EOF {
		return d.errorf("unexpected end of input in %s", what)
	}
	return err
}

func isSpace(c rune) bool { return c == ',' || unicode.IsSpace(c) }

func isDelim(c rune) bool {
	return isSpace(c) || strings.ContainsRune(`()[]{}";`, c)
}

// skipSpace skips whitespace, commas and comments.
func (d *Decoder) skipSpace() error {
	for {
		c, err := d.peek()
		if err != nil {
			return err
		}
		switch {
		case isSpace(c):
			d.next()
		case c == ';':
			for {
				c, err := d.next()
				if err != nil {
					return err
				}
				if c == '\n' {
					break
				}
			}
		default:
			return nil
		}
	}
}

// value reads one value; discard reports a #_ form, which is no value.
func (d *Decoder) value(depth int) (v Value, discard bool, err error) {
	if depth > MaxDepth {
		return Value{}, false, d.errorf("collections nested more than %d deep", MaxDepth)
	}
	line := d.line
	c, err := d.next()
	if err != nil {
		return Value{}, false, d.eof(err, "a value")
	}
	switch c {
	case '(':
		v, err = d.coll(List, ')', depth)
	case '[':
		v, err = d.coll(Vector, ']', depth)
	case '{':
		v, err = d.coll(Map, '}', depth)
	case '"':
		v, err = d.str()
	case '\\':
		v, err = d.char()
	case '#':
		return d.dispatch(depth, line)
	case ')', ']', '}':
		return Value{}, false, d.errorf("unexpected %q", c)
	default:
		v, err = d.atom(c)
	}
	v.Line = line
	return v, false, err
}

// coll reads the items of a collection up to its closing delimiter.
func (d *Decoder) coll(kind Kind, close rune, depth int) (Value, error) {
	v := Value{Kind: kind, Items: []Value{}}
	for {
		if err := d.skipSpace(); err != nil {
			return Value{}, d.eof(err, "a "+kind.String()+" (expected "+string(close)+")")
		}
		c, err := d.peek()
		if err != nil {
			return Value{}, d.eof(err, "a "+kind.String())
		}
		if c == close {
			d.next()
			break
		}
		if c == ')' || c == ']' || c == '}' {
			d.next()
			return Value{}, d.errorf("unexpected %q in a %s: expected %q", c, kind, close)
		}
		it, discard, err := d.value(depth + 1)
		if err != nil {
			return Value{}, err
		}
		if !discard {
			v.Items = append(v.Items, it)
		}
	}
	if kind == Map && len(v.Items)%2 != 0 {
		return Value{}, d.errorf("a map with %d forms: expected keys and values in pairs", len(v.Items))
	}
	return v, nil
}

// dispatch reads what follows '#': a set, a discard, a symbolic number, a
// namespaced map or a tagged element.
func (d *Decoder) dispatch(depth, line int) (Value, bool, error) {
	c, err := d.peek()
	if err != nil {
		return Value{}, false, d.eof(err, "a # form")
	}
	switch {
	case c == '{':
		d.next()
		v, err := d.coll(Set, '}', depth)
		v.Kind, v.Line = Set, line
		return v, false, err
	case c == '_':
		d.next()
		if err := d.skipSpace(); err != nil {
			return Value{}, false, d.eof(err, "a #_ discard")
		}
		_, _, err := d.value(depth + 1)
		return Value{}, true, err
	case c == '#':
		d.next()
		tok, err := d.token()
		if err != nil {
			return Value{}, false, err
		}
		f, ok := map[string]float64{"Inf": math.Inf(1), "-Inf": math.Inf(-1), "NaN": math.NaN()}[tok]
		if !ok {
			return Value{}, false, d.errorf("unknown symbolic value ##%s: expected ##Inf, ##-Inf or ##NaN", tok)
		}
		return Value{Kind: Float, Float: f, Line: line}, false, nil
	case c == ':':
		// A namespaced map: #:ns{:a 1} is {:ns/a 1}.
		d.next()
		ns, err := d.token()
		if err != nil {
			return Value{}, false, err
		}
		if c, err := d.next(); err != nil || c != '{' {
			return Value{}, false, d.errorf("#:%s must be followed by a map", ns)
		}
		m, err := d.coll(Map, '}', depth)
		if err != nil {
			return Value{}, false, err
		}
		for i := 0; i < len(m.Items); i += 2 {
			if k := &m.Items[i]; k.Kind == Keyword && !strings.Contains(k.Str, "/") {
				k.Str = ns + "/" + k.Str
			}
		}
		m.Line = line
		return m, false, nil
	case unicode.IsLetter(c):
		tag, err := d.token()
		if err != nil {
			return Value{}, false, err
		}
		if err := d.skipSpace(); err != nil {
			return Value{}, false, d.eof(err, "the element tagged #"+tag)
		}
		v, discard, err := d.value(depth + 1)
		if err != nil {
			return Value{}, false, err
		}
		if discard {
			return Value{}, false, d.errorf("tag #%s has no element", tag)
		}
		return Value{Kind: Tagged, Str: tag, Items: []Value{v}, Line: line}, false, nil
	}
	return Value{}, false, d.errorf("unexpected %q after '#': expected #{, #_, ##, #: or a tag", c)
}

// token reads the rest of a symbol, keyword or number.
func (d *Decoder) token() (string, error) {
	var b strings.Builder
	for {
		c, err := d.peek()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		if isDelim(c) {
			break
		}
		d.next()
		b.WriteRune(c)
	}
	if b.Len() == 0 {
		return "", d.errorf("expected a name")
	}
	return b.String(), nil
}

// atom reads a number, symbol, keyword, nil, true or false starting with c.
func (d *Decoder) atom(c rune) (Value, error) {
	rest := ""
	if n, err := d.peek(); err == nil && !isDelim(n) {
		var terr error
		if rest, terr = d.token(); terr != nil {
			return Value{}, terr
		}
	} else if err != nil && err != io.EOF {
		return Value{}, err
	}
	tok := string(c) + rest
	if c == ':' {
		if rest == "" || strings.HasPrefix(rest, ":") || strings.HasSuffix(rest, "/") {
			return Value{}, d.errorf("malformed keyword %q", tok)
		}
		return Value{Kind: Keyword, Str: rest}, nil
	}
	if unicode.IsDigit(c) || ((c == '-' || c == '+') && rest != "" && unicode.IsDigit(rune(rest[0]))) {
		return d.number(tok)
	}
	switch tok {
	case "nil":
		return Value{Kind: Nil}, nil
	case "true", "false":
		return Value{Kind: Bool, Bool: tok == "true"}, nil
	}
	if strings.HasPrefix(tok, "/") && tok != "/" || strings.HasSuffix(tok, "/") && tok != "/" {
		return Value{}, d.errorf("malformed symbol %q", tok)
	}
	return Value{Kind: Symbol, Str: tok}, nil
}

// number reads an integer (decimal, hexadecimal 0x.., radix NrDIGITS, N
// suffix), a float (M suffix) or a ratio.
func (d *Decoder) number(tok string) (Value, error) {
	body, neg := tok, false
	if body[0] == '+' || body[0] == '-' {
		neg, body = body[0] == '-', body[1:]
	}
	sign := func(b *big.Int) *big.Int {
		if neg {
			b.Neg(b)
		}
		return b
	}
	intValue := func(b *big.Int, forceBig bool) Value {
		if b.IsInt64() && !forceBig {
			return Value{Kind: Int, Int: b.Int64()}
		}
		return Value{Kind: BigInt, Big: b}
	}
	bad := func() (Value, error) { return Value{}, d.errorf("malformed number %q", tok) }
	switch {
	case strings.HasSuffix(body, "N") && isDigits(body[:len(body)-1], 10):
		b, _ := new(big.Int).SetString(body[:len(body)-1], 10)
		return intValue(sign(b), true), nil
	case isDigits(body, 10):
		b, _ := new(big.Int).SetString(body, 10)
		return intValue(sign(b), false), nil
	case (strings.HasPrefix(body, "0x") || strings.HasPrefix(body, "0X")) && isDigits(body[2:], 16):
		b, _ := new(big.Int).SetString(body[2:], 16)
		return intValue(sign(b), false), nil
	case strings.ContainsAny(body, "rR"):
		i := strings.IndexAny(body, "rR")
		radix, err := strconv.Atoi(body[:i])
		if err != nil || radix < 2 || radix > 36 || !isDigits(body[i+1:], radix) {
			return bad()
		}
		b, _ := new(big.Int).SetString(body[i+1:], radix)
		return intValue(sign(b), false), nil
	case strings.Count(body, "/") == 1:
		n, m, _ := strings.Cut(body, "/")
		if !isDigits(n, 10) || !isDigits(m, 10) {
			return bad()
		}
		r, ok := new(big.Rat).SetString(n + "/" + m)
		if !ok {
			return bad()
		}
		f, _ := r.Float64()
		if neg {
			f = -f
		}
		return Value{Kind: Float, Float: f}, nil
	}
	s := strings.TrimSuffix(body, "M")
	if s == "" || strings.ContainsAny(s, "_xXpPiInN") || !unicode.IsDigit(rune(s[0])) {
		return bad()
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return bad()
	}
	if neg {
		f = -f
	}
	return Value{Kind: Float, Float: f}, nil
}

func isDigits(s string, radix int) bool {
	if s == "" {
		return false
	}
	for _, c := range strings.ToLower(s) {
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case c >= 'a' && c <= 'z':
			v = int(c-'a') + 10
		default:
			return false
		}
		if v >= radix {
			return false
		}
	}
	return true
}

// str reads a string after its opening quote.
func (d *Decoder) str() (Value, error) {
	var b strings.Builder
	for {
		c, err := d.next()
		if err != nil {
			return Value{}, d.eof(err, "a string (expected a closing \")")
		}
		switch c {
		case '"':
			return Value{Kind: String, Str: b.String()}, nil
		case '\\':
			e, err := d.next()
			if err != nil {
				return Value{}, d.eof(err, "a string escape")
			}
			switch e {
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'n':
				b.WriteByte('\n')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case '\\', '"', '\'':
				b.WriteRune(e)
			case 'u':
				r, err := d.hex4()
				if err != nil {
					return Value{}, err
				}
				b.WriteRune(r)
			default:
				return Value{}, d.errorf("unknown string escape \\%c: expected \\t, \\r, \\n, \\b, \\f, \\\\, \\\" or \\uXXXX", e)
			}
		default:
			b.WriteRune(c)
		}
	}
}

func (d *Decoder) hex4() (rune, error) {
	var s strings.Builder
	for range 4 {
		c, err := d.next()
		if err != nil {
			return 0, d.eof(err, "a \\u escape")
		}
		s.WriteRune(c)
	}
	n, err := strconv.ParseUint(s.String(), 16, 32)
	if err != nil {
		return 0, d.errorf("malformed \\u escape %q: expected four hexadecimal digits", s.String())
	}
	return rune(n), nil
}

// char reads a character after its backslash.
func (d *Decoder) char() (Value, error) {
	c, err := d.next()
	if err != nil {
		return Value{}, d.eof(err, "a character")
	}
	rest := ""
	if n, err := d.peek(); err == nil && !isDelim(n) {
		if rest, err = d.token(); err != nil {
			return Value{}, err
		}
	}
	if rest == "" {
		return Value{Kind: Char, Str: string(c)}, nil
	}
	name := string(c) + rest
	if r, ok := charNames[name]; ok {
		return Value{Kind: Char, Str: string(r)}, nil
	}
	if c == 'u' && len(rest) == 4 {
		if n, err := strconv.ParseUint(rest, 16, 32); err == nil {
			return Value{Kind: Char, Str: string(rune(n))}, nil
		}
	}
	if c == 'o' && len(rest) <= 3 {
		if n, err := strconv.ParseUint(rest, 8, 32); err == nil && n <= 0377 {
			return Value{Kind: Char, Str: string(rune(n))}, nil
		}
	}
	return Value{}, d.errorf("unknown character \\%s", name)
}
