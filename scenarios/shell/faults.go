package shell

import (
	"fmt"
	"strings"
	"time"

	"github.com/kafkasim/kafkasim/scenarios/fault"
)

// faultVerbs are the fault kinds the shell takes as verbs, with the
// syntax of the fault schedule's text form: "crash b1", "power-loss b2
// tear", "partition b1 | b2,b3", "cut b1->b2", "heal".
func faultVerbs() []fault.Kind {
	return []fault.Kind{fault.Crash, fault.PowerLoss, fault.Restart, fault.Pause, fault.Resume, fault.DiskLoss,
		fault.Partition, fault.Isolate, fault.Bridge, fault.Ring, fault.Cut, fault.Heal, fault.AllBrokers}
}

// parseFault reads a fault verb's arguments: nodes (separated by commas
// or spaces), groups separated by '|', from->to for a cut, and the words
// tear and power.
func parseFault(k fault.Kind, args []string) fault.Fault {
	f := fault.Fault{Kind: k}
	var words []string
	for _, a := range args {
		switch a {
		case "tear":
			f.Tear = true
		case "power":
			f.Power = true
		default:
			words = append(words, a)
		}
	}
	rest := strings.Join(words, " ")
	switch k {
	case fault.Partition, fault.Bridge, fault.Ring:
		for _, g := range strings.Split(rest, "|") {
			if g = strings.TrimSpace(g); g != "" {
				f.Groups = append(f.Groups, nodeList(g))
			}
		}
	case fault.Cut:
		f.From, f.To, _ = strings.Cut(strings.ReplaceAll(rest, " ", ""), "->")
	default:
		f.Nodes = nodeList(rest)
	}
	return f
}

func nodeList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// fault injects a fault now, validated as a schedule's fault is.
func (sh *Shell) fault(b *strings.Builder, k fault.Kind, args []string) error {
	f := parseFault(k, args)
	f.At = fault.Duration(sh.s.Now())
	names := sh.sc.FaultNames()
	names.Partitions = sh.cl.PartitionNames()
	if err := (fault.Schedule{f}).Validate(names, sh.s.Now()+time.Nanosecond); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	fault.Apply(sh.cl, f)
	return nil
}
