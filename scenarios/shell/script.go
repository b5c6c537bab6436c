package shell

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
)

// A script is a session written down with its expected output, in the
// format of cockroachdb/datadriven's test files: a command line, the
// input lines it reads (a console producer's records), "----", then the
// expected output up to a blank line. An output that holds blank lines
// sits between "----"/"----" pairs:
//
//	kafka-consumer-groups.sh --describe --group g
//	----
//	----
//
//	GROUP ...
//	----
//	----
//
// Lines starting with '#' and blank lines between blocks are comments.
type script struct {
	chunks []chunk
}

type chunk struct {
	text string // a comment or blank line, kept as is
	cmd  string
	pos  int
	in   []string
	want string
}

func parseScript(name, text string) (*script, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	sc := &script{}
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			sc.chunks = append(sc.chunks, chunk{text: l})
			continue
		}
		c := chunk{cmd: l, pos: i + 1}
		i++
		for ; i < len(lines) && lines[i] != "----"; i++ {
			c.in = append(c.in, lines[i])
		}
		if i >= len(lines) {
			return nil, fmt.Errorf("%s:%d: the command %q has no \"----\" line before its expected output", name, c.pos, c.cmd)
		}
		i++
		var want []string
		if i < len(lines) && lines[i] == "----" {
			i++
			for ; i+1 < len(lines) && !(lines[i] == "----" && lines[i+1] == "----"); i++ {
				want = append(want, lines[i])
			}
			if i+1 >= len(lines) {
				return nil, fmt.Errorf("%s:%d: the output of %q opens with \"----\" twice but never closes with \"----\" twice", name, c.pos, c.cmd)
			}
			i++
		} else {
			for ; i < len(lines) && lines[i] != ""; i++ {
				want = append(want, lines[i])
			}
			i--
		}
		if len(want) > 0 {
			c.want = strings.Join(want, "\n") + "\n"
		}
		sc.chunks = append(sc.chunks, c)
	}
	return sc, nil
}

func (c chunk) format(out string) string {
	var b strings.Builder
	b.WriteString(c.cmd + "\n")
	for _, l := range c.in {
		b.WriteString(l + "\n")
	}
	b.WriteString("----\n")
	if strings.Contains(strings.TrimSuffix(out, "\n"), "\n\n") || strings.HasPrefix(out, "\n") {
		b.WriteString("----\n" + out)
		if !strings.HasSuffix(out, "\n") {
			b.WriteString("\n")
		}
		b.WriteString("----\n----\n")
		return b.String()
	}
	b.WriteString(out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}

// ErrMismatch is what RunScript returns when some output differs from
// the script's.
var ErrMismatch = errors.New("the output differs from the script's")

// RunScript runs a script's commands in the session, compares each
// output with the script's and writes a unified diff of each difference
// to diffs. It returns the script rewritten with the actual outputs, and
// ErrMismatch when some output differed.
func (sh *Shell) RunScript(name, text string, diffs io.Writer) (string, error) {
	sc, err := parseScript(name, text)
	if err != nil {
		return "", err
	}
	var out strings.Builder
	mismatch := false
	for _, c := range sc.chunks {
		if c.cmd == "" {
			out.WriteString(c.text + "\n")
			continue
		}
		got, err := sh.Exec(c.cmd, c.in)
		if errors.Is(err, ErrQuit) {
			got = ""
		}
		out.WriteString(c.format(got))
		if got != c.want {
			mismatch = true
			d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
				A: difflib.SplitLines(c.want), B: difflib.SplitLines(got),
				FromFile: "expected", ToFile: "actual", Context: 3,
			})
			fmt.Fprintf(diffs, "%s:%d: %s\n%s\n", name, c.pos, c.cmd, d)
		}
		if errors.Is(err, ErrQuit) {
			break
		}
	}
	if mismatch {
		return out.String(), ErrMismatch
	}
	return out.String(), nil
}

// Prompt is what an interactive session prints before each command.
const Prompt = "kafkasim> "

// Serve reads commands from in, one a line, runs them and writes their
// output to out, until EOF or "exit". A console producer's records
// follow its command, one a line, up to a line holding a single '.' (or
// EOF). With prompt, it prints Prompt before each command and "> "
// before each record.
func (sh *Shell) Serve(in io.Reader, out io.Writer, prompt bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	read := func(p string) (string, error) {
		if prompt {
			fmt.Fprint(out, p)
		}
		if !sc.Scan() {
			if prompt {
				fmt.Fprintln(out)
			}
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", io.EOF
		}
		return sc.Text(), nil
	}
	return sh.ServeLines(read, out)
}

// ServeLines is Serve with a line reader of one's own (a terminal's line
// editor): read shows its prompt, returns the next line, and io.EOF at
// the end.
func (sh *Shell) ServeLines(read func(prompt string) (string, error), out io.Writer) error {
	for {
		line, err := read(Prompt)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		var input []string
		if TakesInput(line) {
			for {
				l, err := read("> ")
				if err != nil || l == "." {
					break
				}
				input = append(input, l)
			}
		}
		res, err := sh.Exec(line, input)
		fmt.Fprint(out, res)
		if errors.Is(err, ErrQuit) {
			return nil
		}
	}
}
