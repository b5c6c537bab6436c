package checker_test

import "github.com/kafkasim/kafkasim/checker"

// names lists the findings' names, in order.
func names(fs []checker.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}
