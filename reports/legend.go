package reports

import (
	"slices"
	"strings"

	"github.com/kafkasim/kafkasim/checker"
)

// A legendEntry explains one finding name a page shows, as checker's
// registry of findings documents it.
type legendEntry struct {
	Name    string
	Classes string // the classes a finding of the name can take
	Meaning string
	Jepsen  string // Jepsen's name for the anomaly, if it has one
}

// findingLegend explains each finding name among names, sorted; names the
// registry does not know (a sweep's "ok" or "error") are left out.
func findingLegend(names []string) []legendEntry {
	var out []legendEntry
	for _, name := range slices.Compact(slices.Sorted(slices.Values(names))) {
		info, ok := checker.Info(name)
		if !ok {
			continue
		}
		classes := make([]string, len(info.Classes))
		for i, c := range info.Classes {
			classes[i] = c.String()
		}
		out = append(out, legendEntry{Name: name, Classes: strings.Join(classes, ", "), Meaning: info.Meaning, Jepsen: info.Jepsen})
	}
	return out
}

// findingNames lists the names of findings.
func findingNames(fs []Finding) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}
