package protocol

import (
	"fmt"
	"maps"
	"slices"

	"github.com/kafkasim/kafkasim/sim"
)

// A Directory maps Kafka node ids (brokers 1..N, controllers, clients that
// need one) to the simulation's node ids and back. Kafka addresses brokers
// by node id; the network addresses sim nodes.
type Directory struct {
	toSim   map[int32]sim.NodeID
	toKafka map[sim.NodeID]int32
}

// NewDirectory returns an empty directory.
func NewDirectory() *Directory {
	return &Directory{toSim: make(map[int32]sim.NodeID), toKafka: make(map[sim.NodeID]int32)}
}

// Add maps Kafka node id to sim node n. Each id and each node may be mapped
// once.
func (d *Directory) Add(id int32, n sim.NodeID) error {
	if old, ok := d.toSim[id]; ok {
		return fmt.Errorf("node id %d is already mapped to sim node %d: each Kafka node id names one node", id, old)
	}
	if old, ok := d.toKafka[n]; ok {
		return fmt.Errorf("sim node %d already has Kafka node id %d: each node has one id", n, old)
	}
	d.toSim[id] = n
	d.toKafka[n] = id
	return nil
}

// Node returns the sim node of a Kafka node id.
func (d *Directory) Node(id int32) (sim.NodeID, bool) {
	n, ok := d.toSim[id]
	return n, ok
}

// ID returns the Kafka node id of a sim node.
func (d *Directory) ID(n sim.NodeID) (int32, bool) {
	id, ok := d.toKafka[n]
	return id, ok
}

// IDs returns every Kafka node id, sorted.
func (d *Directory) IDs() []int32 { return slices.Sorted(maps.Keys(d.toSim)) }
