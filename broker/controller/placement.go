package controller

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// placer is Kafka's striped replica placer (KRaft's StripedReplicaPlacer)
// for a cluster without racks, where it reduces to one rack: the usable
// brokers (registered and not shutting down) in two sorted lists, unfenced
// and fenced, each starting at a random offset. Every partition takes its
// leader from the unfenced list and its followers from the brokers that
// come next, unfenced first; each partition starts one broker further on,
// which gives the "striped" layout, and once as many partitions as there
// are unfenced brokers have been placed, both lists are shuffled so that
// the same replica sets do not repeat.
type placer struct {
	rng      *rand.Rand
	unfenced brokerRing
	fenced   brokerRing
	epoch    int
}

// brokerRing is one list of brokers read round-robin from an offset that
// moves on with every iteration epoch.
type brokerRing struct {
	ids    []int32
	offset int
	index  int
	epoch  int
}

func (r *brokerRing) init(rng *rand.Rand) {
	slices.Sort(r.ids)
	if len(r.ids) > 0 {
		r.offset = rng.IntN(len(r.ids))
	}
}

func (r *brokerRing) shuffle(rng *rand.Rand) {
	rng.Shuffle(len(r.ids), func(i, j int) { r.ids[i], r.ids[j] = r.ids[j], r.ids[i] })
}

// next returns the ring's next broker in iteration epoch, or -1 when the
// epoch has used every broker.
func (r *brokerRing) next(epoch int) int32 {
	if len(r.ids) == 0 {
		return -1
	}
	if r.epoch != epoch {
		r.epoch = epoch
		r.index = 0
		r.offset = (r.offset + 1) % len(r.ids)
	}
	if r.index >= len(r.ids) {
		return -1
	}
	id := r.ids[(r.index+r.offset)%len(r.ids)]
	r.index++
	return id
}

// usableBroker is a broker the placer may use.
type usableBroker struct {
	id     int32
	fenced bool
}

func newPlacer(rng *rand.Rand, brokers []usableBroker) *placer {
	p := &placer{rng: rng}
	for _, b := range brokers {
		if b.fenced {
			p.fenced.ids = append(p.fenced.ids, b.id)
		} else {
			p.unfenced.ids = append(p.unfenced.ids, b.id)
		}
	}
	p.unfenced.init(rng)
	p.fenced.init(rng)
	return p
}

// errPlacement is why replicas cannot be placed; its text follows Kafka's
// InvalidReplicationFactorException messages.
type errPlacement string

func (e errPlacement) Error() string { return string(e) }

// check says whether rf replicas can be placed at all.
func (p *placer) check(rf int) error {
	total := len(p.unfenced.ids) + len(p.fenced.ids)
	switch {
	case rf <= 0:
		return errPlacement(fmt.Sprintf("invalid replication factor %d: the replication factor must be positive", rf))
	case len(p.unfenced.ids) == 0:
		return errPlacement("all brokers are currently fenced")
	case rf > total:
		return errPlacement(fmt.Sprintf("the target replication factor of %d cannot be reached because only %d broker(s) are registered", rf, total))
	}
	return nil
}

// place returns the replicas of the next partition, leader first. Call
// check first.
func (p *placer) place(rf int) []int32 {
	n := len(p.unfenced.ids)
	if p.epoch == n && n > 1 {
		p.unfenced.shuffle(p.rng)
		p.fenced.shuffle(p.rng)
		p.epoch = 0
		// The rings' own epochs restart too, so that the first call of
		// the new round resets them.
		p.unfenced.epoch, p.fenced.epoch = -1, -1
	}
	out := make([]int32, 0, rf)
	out = append(out, p.unfenced.next(p.epoch))
	for len(out) < rf {
		id := p.unfenced.next(p.epoch)
		if id < 0 {
			id = p.fenced.next(p.epoch)
		}
		out = append(out, id)
	}
	p.epoch++
	return out
}
