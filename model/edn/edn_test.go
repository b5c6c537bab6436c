package edn_test

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/kafkasim/kafkasim/model/edn"
)

func TestParseValues(t *testing.T) {
	for _, c := range []struct {
		in, want string
		kind     edn.Kind
	}{
		{"nil", "nil", edn.Nil},
		{"true", "true", edn.Bool},
		{"-42", "-42", edn.Int},
		{"+7", "7", edn.Int},
		{"12345678901234567890", "12345678901234567890N", edn.BigInt},
		{"3N", "3N", edn.BigInt},
		{"0x1F", "31", edn.Int},
		{"2r101", "5", edn.Int},
		{"1/4", "0.25", edn.Float},
		{"2.5M", "2.5", edn.Float},
		{"1e3", "1000.0", edn.Float},
		{"##-Inf", "##-Inf", edn.Float},
		{`"a\"b\n\u00e9"`, `"a\"b\né"`, edn.String},
		{`\newline`, `\newline`, edn.Char},
		{`\x`, `\x`, edn.Char},
		{`\u00e9`, `\é`, edn.Char},
		{"java.lang.Exception", "java.lang.Exception", edn.Symbol},
		{":jepsen.history/op", ":jepsen.history/op", edn.Keyword},
		{"(1 [2, 3] {:a #{4}})", "(1 [2 3] {:a #{4}})", edn.List},
		{"[1 #_ 2 3]", "[1 3]", edn.Vector},
		{"#:op{:type :ok, :f :send}", "{:op/type :ok :op/f :send}", edn.Map},
		{`#object[java.util.concurrent.TimeoutException 0x5b5c0b6e "boom"]`, `#object [java.util.concurrent.TimeoutException 1532758894 "boom"]`, edn.Tagged},
		{"; a comment\n[]", "[]", edn.Vector},
	} {
		v, err := edn.Parse(c.in)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.kind, v.Kind, c.in)
		assert.Equal(t, c.want, v.String(), c.in)
	}
	v, err := edn.Parse("##NaN")
	require.NoError(t, err)
	assert.True(t, math.IsNaN(v.Float))
}

func TestLinesAndMaps(t *testing.T) {
	d := edn.NewDecoder(strings.NewReader("{:type :invoke, :f :poll}\n\n{:type :ok,\n :value [[:poll {5 [[0 1]]}]]}\n"))
	a, err := d.Decode()
	require.NoError(t, err)
	assert.Equal(t, 1, a.Line)
	b, err := d.Decode()
	require.NoError(t, err)
	assert.Equal(t, 3, b.Line)
	v, ok := b.Get("value")
	require.True(t, ok)
	assert.Equal(t, 4, v.Line)
	assert.True(t, v.Seq())
	_, ok = b.Get("process")
	assert.False(t, ok)
	_, err = d.Decode()
	assert.Equal(t, io.EOF, err)
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		line int
		want string
	}{
		{"{:a 1}\n{:b [1 2\n 3}", 3, `unexpected '}' in a vector: expected ']'`},
		{"{:a}", 1, "keys and values in pairs"},
		{"[1 2", 1, "unexpected end of input in a vector"},
		{"\"abc", 1, "unexpected end of input in a string"},
		{"\n\n)", 3, "no collection is open"},
		{"12abc", 1, `malformed number "12abc"`},
		{"##Foo", 1, "expected ##Inf, ##-Inf or ##NaN"},
		{`"\q"`, 1, `unknown string escape \q`},
		{`\bogus`, 1, `unknown character \bogus`},
		{"#!x", 1, "expected #{, #_, ##, #: or a tag"},
		{":", 1, "malformed keyword"},
		{"", 1, "the input is empty"},
		{"1 2", 1, "more than one value"},
		{strings.Repeat("[", edn.MaxDepth+5), 1, "nested more than"},
	} {
		_, err := edn.Parse(c.in)
		var se *edn.SyntaxError
		require.True(t, errors.As(err, &se), "%q: %v", c.in, err)
		assert.Equal(t, c.line, se.Line, "%q: %v", c.in, err)
		assert.Contains(t, err.Error(), c.want, c.in)
	}
}

// FuzzParse: any input gives a value or a syntax error with a line, never
// a panic; and a value's rendering reads back as the same rendering.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{:type :ok, :f :txn, :value [[:send 5 [3 1]] [:poll {5 [[0 1] [1 2]]}]], :process 3, :time 12, :index 7}`,
		`#jepsen.history.Op{:index 0, :type :invoke, :f :assign, :value [1 2]}`,
		`{:error #object[java.lang.Exception 0x1f "x"], :c \newline, :n 1N, :r 1/3, :s #{:a}}`,
		"; c\n(1 #_ 2 ##Inf)", `#:a{:b 1}`, `"\u00e9"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := edn.NewDecoder(strings.NewReader(s))
		for range 100 {
			v, err := d.Decode()
			if err == io.EOF {
				return
			}
			if err != nil {
				var se *edn.SyntaxError
				if !errors.As(err, &se) || se.Line < 1 {
					t.Fatalf("error without a line: %v", err)
				}
				return
			}
			out := v.String()
			w, err := edn.Parse(out)
			if err != nil {
				t.Fatalf("%q renders as %q, which does not parse: %v", s, out, err)
			}
			if w.String() != out {
				t.Fatalf("%q renders as %q, then as %q", s, out, w.String())
			}
		}
	})
}
