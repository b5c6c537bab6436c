package network

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/kafkasim/kafkasim/sim"
)

// A Hold delays messages: the next Count messages of one of Kinds sent
// from one of From to one of To arrive For later than they would have,
// while the messages sent after them on the same connection go through
// in order. It is how a request waits in a broker's request queue while
// later ones are served, or how a request retried on a new connection
// overtakes the one sent on the old: the held message has left the
// connection's order and reached the destination's machine, so a break
// of the connection after it was sent does not lose it; the destination
// going down does.
type Hold struct {
	// From and To are the senders and destinations it catches; empty
	// catches every node.
	From, To []sim.NodeID
	// Kinds are the message kinds it catches (Message.Kind: Kafka's API
	// names, such as "Produce", "EndTxn" or "FetchResponse").
	Kinds []string
	// For is how much later a held message arrives.
	For time.Duration
	// Count is how many messages it holds before it is spent.
	Count int
}

// Validate reports what is wrong with a hold.
func (h Hold) Validate() error {
	var errs []error
	if len(h.Kinds) == 0 || slices.Contains(h.Kinds, "") {
		errs = append(errs, fmt.Errorf("hold: message kinds %q: give at least one, each a message's kind such as Produce", h.Kinds))
	}
	if h.For <= 0 {
		errs = append(errs, fmt.Errorf("hold: duration %v must be positive", h.For))
	}
	if h.Count < 1 {
		errs = append(errs, fmt.Errorf("hold: count %d must be at least 1", h.Count))
	}
	return errors.Join(errs...)
}

// hold is an installed Hold and how many messages it may still take.
type hold struct {
	Hold
	left int
}

// Hold installs a hold: from now on, the next h.Count matching messages
// are delayed by h.For. Holds installed earlier catch a message first.
func (n *Network) Hold(h Hold) error {
	if err := h.Validate(); err != nil {
		return err
	}
	for _, id := range slices.Concat(h.From, h.To) {
		if _, err := n.node(id); err != nil {
			return fmt.Errorf("hold: %w", err)
		}
	}
	h.From, h.To, h.Kinds = slices.Clone(h.From), slices.Clone(h.To), slices.Clone(h.Kinds)
	n.holds = append(n.holds, &hold{Hold: h, left: h.Count})
	return nil
}

// Holds returns the holds not yet spent, in the order they catch messages.
func (n *Network) Holds() []Hold {
	out := make([]Hold, len(n.holds))
	for i, h := range n.holds {
		out[i] = h.Hold
		out[i].Count = h.left
	}
	return out
}

// holding returns the hold that catches a message from → to, and takes
// the message from its count; nil when none does.
func (n *Network) holding(from, to sim.NodeID, m Message) *hold {
	if len(n.holds) == 0 {
		return nil
	}
	kind := m.Kind()
	for i, h := range n.holds {
		if (len(h.From) > 0 && !slices.Contains(h.From, from)) || (len(h.To) > 0 && !slices.Contains(h.To, to)) ||
			!slices.Contains(h.Kinds, kind) {
			continue
		}
		h.left--
		if h.left == 0 {
			n.holds = slices.Delete(n.holds, i, i+1)
		}
		n.stats.Held++
		return h
	}
	return nil
}
