package controller

import (
	"maps"

	"github.com/kafkasim/kafkasim/broker/metadata"
)

// state is what the controller builds from metadata records: the image,
// and the offset of each broker's latest RegisterBrokerRecord (a broker is
// caught up once it has applied that offset).
type state struct {
	image     *metadata.Image
	regOffset map[int32]int64
}

func newState() *state {
	return &state{image: metadata.NewImage(), regOffset: make(map[int32]int64)}
}

func (st *state) clone() *state {
	return &state{image: st.image.Clone(), regOffset: maps.Clone(st.regOffset)}
}

// apply applies records whose first one is at offset first.
func (st *state) apply(recs []metadata.Record, first int64) error {
	last := first + int64(len(recs)) - 1
	if len(recs) == 0 {
		last = first
	}
	if _, err := st.image.Apply(recs, last); err != nil {
		return err
	}
	for i, r := range recs {
		if reg, ok := r.(*metadata.RegisterBrokerRecord); ok {
			st.regOffset[reg.BrokerID] = first + int64(i)
		}
	}
	return nil
}
