package checker_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kafkasim/kafkasim/checker"
	"github.com/kafkasim/kafkasim/model/history"
)

// FuzzCheck runs every check on whatever history the decoder accepts: a
// history file, however odd, never makes the checker panic.
func FuzzCheck(f *testing.F) {
	// Seeds: the scripts' histories, as files.
	paths, _ := filepath.Glob("testdata/anomalies/*")
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, block := range strings.Split(string(data), "----") {
			lines := strings.Split(block, "\n")
			for i, l := range lines {
				if strings.HasPrefix(l, "check") {
					h, err := parseHistory(strings.Join(lines[i+1:], "\n"))
					if err != nil {
						continue
					}
					var buf bytes.Buffer
					if err := history.WriteHistory(&buf, h); err == nil {
						f.Add(buf.Bytes())
					}
					break
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := history.ReadHistory(bytes.NewReader(data))
		if err != nil {
			return
		}
		r := checker.Check(h, checker.Options{Budget: 1_000_000})
		for _, f := range r.Findings {
			_ = f.String()
		}
		_ = r.Summary()
	})
}
