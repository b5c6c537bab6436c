package checker_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kafkasim/kafkasim/model"
)

// fakeView is a model.ClusterView whose every piece a test sets by hand.
// Every change bumps its version, unless frozen (to show that checks skip
// unchanged versions).
type fakeView struct {
	version uint64
	frozen  bool
	// appendISR: replicas are seen as appendingReplica
	appendISR bool
	parts     map[model.TopicPartition]*fakePart
	tps       []model.TopicPartition // sorted
}

type fakePart struct {
	version  uint64
	md       model.PartitionMetadata
	hasMD    bool
	replicas []*fakeReplica
	views    []model.ReplicaView
}

type fakeReplica struct {
	broker      int32
	online      bool
	incarnation uint32
	leader      bool
	epoch       int32
	hwm, start  int64
	entries     []model.Entry // from start, in offset order, maybe with gaps
	isr         []int32
	lso         int64
	open        []model.OpenTxn
	markers     []model.TxnMarker
	due         int64 // the leader's rule's high-water mark, if above hwm
	producers   []model.ProducerBatch
}

var (
	_ model.TxnReplicaView    = (*fakeReplica)(nil)
	_ model.ProducerStateView = (*fakeReplica)(nil)
)

func (r *fakeReplica) LastProducerBatches(dst []model.ProducerBatch) []model.ProducerBatch {
	return append(dst, r.producers...)
}

func newFakeView() *fakeView { return &fakeView{parts: make(map[model.TopicPartition]*fakePart)} }

func (v *fakeView) bump() {
	if !v.frozen {
		v.version++
	}
}

// touch bumps the version of the view and of one partition.
func (v *fakeView) touch(tp model.TopicPartition) {
	if !v.frozen {
		v.version++
		v.part(tp).version++
	}
}

// partitionVersioned is a fake view that also has per-partition versions.
type partitionVersioned struct{ *fakeView }

func (v partitionVersioned) PartitionVersion(tp model.TopicPartition) uint64 {
	return v.part(tp).version
}

var _ model.PartitionVersions = partitionVersioned{}

func (v *fakeView) part(tp model.TopicPartition) *fakePart {
	p := v.parts[tp]
	if p == nil {
		p = &fakePart{}
		v.parts[tp] = p
		v.tps = append(v.tps, tp)
		slices.SortFunc(v.tps, model.TopicPartition.Compare)
	}
	return p
}

func (v *fakeView) replica(tp model.TopicPartition, broker int32) *fakeReplica {
	p := v.part(tp)
	for _, r := range p.replicas {
		if r.broker == broker {
			return r
		}
	}
	r := &fakeReplica{broker: broker, online: true, incarnation: 1}
	p.replicas = append(p.replicas, r)
	return r
}

func (v *fakeView) Version() uint64 { return v.version }

func (v *fakeView) Partitions() []model.TopicPartition { return v.tps }

func (v *fakeView) Metadata(tp model.TopicPartition) (model.PartitionMetadata, bool) {
	p := v.parts[tp]
	if p == nil || !p.hasMD {
		return model.PartitionMetadata{}, false
	}
	return p.md, true
}

func (v *fakeView) Replicas(tp model.TopicPartition) []model.ReplicaView {
	p := v.parts[tp]
	if p == nil {
		return nil
	}
	// In assignment order when there is one.
	if p.hasMD {
		slices.SortStableFunc(p.replicas, func(a, b *fakeReplica) int {
			return slices.Index(p.md.Replicas, a.broker) - slices.Index(p.md.Replicas, b.broker)
		})
	}
	if len(p.views) != len(p.replicas) {
		p.views = make([]model.ReplicaView, len(p.replicas))
	}
	for i, r := range p.replicas {
		p.views[i] = r
		if v.appendISR {
			p.views[i] = appendingReplica{r}
		}
	}
	return p.views
}

func (r *fakeReplica) Broker() int32        { return r.broker }
func (r *fakeReplica) Online() bool         { return r.online }
func (r *fakeReplica) Incarnation() uint32  { return r.incarnation }
func (r *fakeReplica) IsLeader() bool       { return r.leader }
func (r *fakeReplica) LeaderEpoch() int32   { return r.epoch }
func (r *fakeReplica) HighWatermark() int64 { return r.hwm }

// HighWatermarkDue is what the leader's rule allows: due, if set above
// the high-water mark.
func (r *fakeReplica) HighWatermarkDue() int64 { return max(r.hwm, r.due) }
func (r *fakeReplica) LogStartOffset() int64   { return r.start }
func (r *fakeReplica) LogEndOffset() int64 {
	if n := len(r.entries); n > 0 {
		return r.entries[n-1].Offset + 1
	}
	return r.start
}
func (r *fakeReplica) Entry(o int64) (model.Entry, bool) {
	i, ok := slices.BinarySearchFunc(r.entries, o, func(e model.Entry, o int64) int { return int(e.Offset - o) })
	if !ok {
		return model.Entry{}, false
	}
	return r.entries[i], true
}
func (r *fakeReplica) ISR() []int32 {
	if !r.leader {
		return nil
	}
	return r.isr
}

func (r *fakeReplica) LastStableOffset() int64 { return r.lso }
func (r *fakeReplica) OpenTxns(dst []model.OpenTxn) []model.OpenTxn {
	return append(dst, r.open...)
}
func (r *fakeReplica) Markers(dst []model.TxnMarker, from int64) []model.TxnMarker {
	for _, m := range r.markers {
		if m.Offset >= from {
			dst = append(dst, m)
		}
	}
	return dst
}

// parseOpenTxns reads "7@2,8@5": producer ids, each with the first offset
// of its open transaction.
func parseOpenTxns(s string) ([]model.OpenTxn, error) {
	if s == "" || s == "-" {
		return nil, nil
	}
	var out []model.OpenTxn
	for _, item := range strings.Split(s, ",") {
		pid, first, ok := strings.Cut(item, "@")
		p, err1 := strconv.ParseInt(pid, 10, 64)
		f, err2 := strconv.ParseInt(first, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("open transaction %q: expected <producer id>@<first offset>", item)
		}
		out = append(out, model.OpenTxn{ProducerID: p, FirstOffset: f})
	}
	return out, nil
}

// parseEntries reads "a,b@2,c" from offset start: values, each with an
// optional leader epoch (default def).
func parseEntries(s string, start int64, def int32) ([]model.Entry, error) {
	if s == "" {
		return nil, nil
	}
	var out []model.Entry
	for i, item := range strings.Split(s, ",") {
		value, epoch := item, def
		if at := strings.LastIndexByte(item, '@'); at >= 0 {
			e, err := strconv.ParseInt(item[at+1:], 10, 32)
			if err != nil {
				return nil, fmt.Errorf("entry %q: epoch %v", item, err)
			}
			value, epoch = item[:at], int32(e)
		}
		out = append(out, model.Entry{Offset: start + int64(i), LeaderEpoch: epoch, Value: []byte(value), ProducerID: -1})
	}
	return out, nil
}

func parseIDs(s string) ([]int32, error) {
	if s == "" || s == "-" {
		return nil, nil
	}
	var out []int32
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("broker list %q: %v", s, err)
		}
		out = append(out, int32(n))
	}
	return out, nil
}

func parseTP(s string) (model.TopicPartition, error) {
	i := strings.LastIndexByte(s, '-')
	if i <= 0 {
		return model.TopicPartition{}, fmt.Errorf("partition %q: expected topic-N", s)
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 32)
	if err != nil {
		return model.TopicPartition{}, fmt.Errorf("partition %q: %v", s, err)
	}
	return model.TopicPartition{Topic: s[:i], Partition: int32(n)}, nil
}

// appendingReplica is a fake replica that also appends its ISR to a
// buffer, as the broker's replicas do.
type appendingReplica struct{ *fakeReplica }

func (r appendingReplica) AppendISR(dst []int32) []int32 { return append(dst, r.ISR()...) }
