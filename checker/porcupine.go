package checker

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/kafkasim/kafkasim/model"
	"github.com/kafkasim/kafkasim/model/history"
)

// LogInput is a log operation's input.
type LogInput struct {
	TP   model.TopicPartition
	Send bool
	// Offset is a send's offset, or a poll's position.
	Offset int64
	// Value is a send's record, as an index into the history's values.
	Value int32
	// Unknown marks a send whose outcome was unknown (it was read).
	Unknown bool
	// Op is the history's op id; -1 for the final log.
	Op int64
	// Final marks the final log of a leader: a read of the whole log,
	// which ends at End.
	Final  bool
	End    int64
	Broker int32 // the final log's broker
	tab    *linTable
}

// LogOutput is a poll's result.
type LogOutput struct {
	Records []LogRecord
}

// LogRecord is a record at an offset, as an index into the history's
// values.
type LogRecord struct {
	Offset int64
	Value  int32
}

// OffsetInput is a committed-offset register operation's input.
type OffsetInput struct {
	Group  string
	TP     model.TopicPartition
	Commit bool
	// Offset is the offset a commit writes.
	Offset  int64
	Unknown bool
	Op      int64
}

// OffsetOutput is a fetch-committed's result: -1 when nothing is
// committed.
type OffsetOutput struct {
	Offset int64
}

// linTable is shared by every operation of one converted history: the
// record values and, per partition, the offsets claimed by sends.
type linTable struct {
	values []history.Record
	claims map[model.TopicPartition][]int64
}

// next returns the smallest claimed offset >= o in tp, or MaxInt64.
func (t *linTable) next(tp model.TopicPartition, o int64) int64 {
	c := t.claims[tp]
	i, _ := slices.BinarySearch(c, o)
	if i == len(c) {
		return math.MaxInt64
	}
	return c[i]
}

func (t *linTable) value(v int32) string {
	if v < 0 || int(v) >= len(t.values) {
		return "?"
	}
	r := t.values[v]
	return recordText(r.Key, r.Value)
}

// logNode is one record of a persistent log: states share their prefixes,
// and jump pointers find any offset in O(log n) steps.
type logNode struct {
	parent *logNode
	jump   *logNode
	depth  int32
	value  int32
	offset int64
	hash   uint64
}

// emptyLog is the state of every log before its first record.
var emptyLog = func() *logNode {
	n := &logNode{offset: -1, value: -1}
	n.parent, n.jump = n, n
	return n
}()

func (n *logNode) push(offset int64, value int32) *logNode {
	c := &logNode{parent: n, depth: n.depth + 1, offset: offset, value: value}
	if j := n.jump; n.depth-j.depth == j.depth-j.jump.depth {
		c.jump = j.jump
	} else {
		c.jump = n
	}
	c.hash = mix(n.hash ^ mix(uint64(offset)) ^ uint64(uint32(value))<<17)
	return c
}

// find returns the record at offset o, or nil.
func (n *logNode) find(o int64) *logNode {
	for n.offset > o {
		if n.jump.offset >= o {
			n = n.jump
		} else {
			n = n.parent
		}
	}
	if n.offset == o && n != emptyLog {
		return n
	}
	return nil
}

func logEqual(a, b *logNode) bool {
	for a != b {
		if a.depth != b.depth || a.hash != b.hash || a.offset != b.offset || a.value != b.value {
			return false
		}
		a, b = a.parent, b.parent
	}
	return true
}

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

type offsetState int64

func logStep(state any, in *LogInput, out *LogOutput) (bool, any) {
	head, _ := state.(*logNode)
	if head == nil {
		head = emptyLog
	}
	if in.Send {
		if in.Offset <= head.offset || in.tab.next(in.TP, head.offset+1) != in.Offset {
			return false, state
		}
		return true, head.push(in.Offset, in.Value)
	}
	rs := out.Records
	if len(rs) == 0 {
		// An empty poll says nothing; an empty final log says the log
		// holds nothing from its start on.
		return !in.Final || head.offset < in.Offset, state
	}
	last := rs[len(rs)-1]
	n := head.find(last.Offset)
	if n == nil || n.value != last.Value || (in.Final && (n != head || last.Offset >= in.End)) {
		return false, state
	}
	for i := len(rs) - 2; i >= 0; i-- {
		n = n.parent
		if n.offset != rs[i].Offset || n.value != rs[i].Value {
			return false, state
		}
	}
	// Nothing between the position and the first record returned.
	return rs[0].Offset >= in.Offset && n.parent.offset < in.Offset, state
}

func offsetStep(state any, in *OffsetInput, out *OffsetOutput) (bool, any) {
	cur, ok := state.(offsetState)
	if !ok {
		cur = -1
	}
	if in.Commit {
		return true, offsetState(in.Offset)
	}
	return int64(cur) == out.Offset, state
}

// Porcupine returns the porcupine model of partition logs and committed
// offsets, for the operations Linearization returns.
//
// A partition is a log: a send appends one record and returns its offset;
// a poll returns a contiguous run of records starting at the consumer's
// position. The model checks both against one sequential log per
// partition. The log tolerates gaps in offsets (Kafka's logs have them:
// transaction markers, compaction), so a send at offset o is legal when o
// is at or past the log end and no other send claims an offset in
// between; a poll is legal when every record it returned is in the log at
// its offset with the same key and value, and the log holds no other
// record between the poll's position and its last record. Empty polls
// constrain nothing: Kafka consumers read below the high-water mark and
// may return nothing while records exist.
//
// A group's committed offset for a partition is a register: a commit
// writes it, a fetch-committed reads it (-1: nothing committed).
//
// Each partition log and each (group, partition) register is its own
// porcupine partition, so checking scales with the number of partitions.
// A poll or commit that spans partitions is split into one operation per
// partition: Kafka promises nothing across partitions.
//
// Outcomes. A definitely failed operation (see Definite) took no effect and
// is left out. An operation with an unknown outcome may or may not have
// happened; porcupine's convention is an operation that returns at the end
// of time. Two exact refinements keep the search small: an unknown send
// or commit whose record or offset nobody ever read has no visible effect
// and is left out (taking it not to have happened is always consistent);
// an unknown send that was read happened: it takes the offset it was read
// at (the lowest, if several), and it must precede the first read that saw
// it, so it returns no later than that read.
//
// The final log of each partition's leader, when the history has one, is
// one more read, after every operation: it returns the whole log, from its
// start offset to its end, and also says that the log holds nothing more.
func Porcupine() porcupine.Model {
	return porcupine.Model{
		Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
			_, parts := SplitOperations(ops)
			return parts
		},
		Init: func() any { return nil },
		Step: func(state, input, output any) (bool, any) {
			switch in := input.(type) {
			case *LogInput:
				out, _ := output.(*LogOutput)
				if out == nil {
					out = &LogOutput{}
				}
				return logStep(state, in, out)
			case *OffsetInput:
				out, _ := output.(*OffsetOutput)
				if out == nil {
					out = &OffsetOutput{Offset: -1}
				}
				return offsetStep(state, in, out)
			}
			return false, state
		},
		Equal: func(a, b any) bool {
			switch x := a.(type) {
			case *logNode:
				y, ok := b.(*logNode)
				return ok && logEqual(x, y)
			case offsetState:
				y, ok := b.(offsetState)
				return ok && x == y
			case nil:
				return b == nil
			}
			return false
		},
		Hash: func(s any) uint64 {
			switch x := s.(type) {
			case *logNode:
				return x.hash
			case offsetState:
				return mix(uint64(x))
			}
			return 0
		},
		DescribeOperation:         describeOperation,
		DescribeState:             describeState,
		DescribeOperationMetadata: func(m any) string { return fmt.Sprint(m) },
	}
}

func describeOperation(input, output any) string {
	switch in := input.(type) {
	case *LogInput:
		if in.Send {
			return describeSendText(in.tab.value(in.Value), in.Offset, in.Unknown)
		}
		var rs []LogRecord
		if out, _ := output.(*LogOutput); out != nil {
			rs = out.Records
		}
		return describeRead(in.Final, in.Broker, in.Offset, in.End, len(rs), func(i int) (int64, string) {
			return rs[i].Offset, in.tab.value(rs[i].Value)
		})
	case *OffsetInput:
		if in.Commit {
			s := fmt.Sprintf("commit(%s, %s, %d)", in.Group, in.TP, in.Offset)
			if in.Unknown {
				s += " (outcome unknown)"
			}
			return s
		}
		out, _ := output.(*OffsetOutput)
		if out == nil {
			return fmt.Sprintf("fetch-committed(%s, %s)", in.Group, in.TP)
		}
		return fmt.Sprintf("fetch-committed(%s, %s) -> %d", in.Group, in.TP, out.Offset)
	}
	return fmt.Sprint(input, " -> ", output)
}

// DescribeSend describes a send of a record with the given key and value
// as the log model shows it: the offset it claims, and whether its outcome
// was unknown (the offset is then the one it was read at).
func DescribeSend(key, value model.Bytes, offset int64, unknown bool) string {
	return describeSendText(recordText(key, value), offset, unknown)
}

// DescribeRead describes a read of the log model: a poll from position
// from, or, when final, the final log of broker's replica, from its start
// offset from to its end offset end. Long reads show their first and last
// records.
func DescribeRead(final bool, broker int32, from, end int64, records []history.Record) string {
	return describeRead(final, broker, from, end, len(records), func(i int) (int64, string) {
		return records[i].Offset, recordText(records[i].Key, records[i].Value)
	})
}

func describeSendText(record string, offset int64, unknown bool) string {
	s := fmt.Sprintf("send(%s) -> %d", record, offset)
	if unknown {
		s += " (outcome unknown; read at that offset)"
	}
	return s
}

func describeRead(final bool, broker int32, from, end int64, n int, record func(int) (int64, string)) string {
	var b strings.Builder
	if final {
		fmt.Fprintf(&b, "final log of broker %d, [%d, %d) -> [", broker, from, end)
	} else {
		fmt.Fprintf(&b, "poll(from %d) -> [", from)
	}
	for i := range n {
		if n > 8 && i == 4 {
			fmt.Fprintf(&b, " ...%d more...", n-6)
		}
		if n > 8 && i >= 4 && i < n-2 {
			continue
		}
		if i > 0 {
			b.WriteString(" ")
		}
		o, v := record(i)
		fmt.Fprintf(&b, "%d:%s", o, v)
	}
	b.WriteString("]")
	return b.String()
}

// recordText renders a record's key and value as the models show them.
func recordText(key, value model.Bytes) string {
	if key == nil {
		return value.String()
	}
	return key.String() + "=" + value.String()
}

func describeState(state any) string {
	switch s := state.(type) {
	case offsetState:
		return fmt.Sprintf("committed %d", int64(s))
	case *logNode:
		var tail []string
		for n := s; n != emptyLog && len(tail) < 6; n = n.parent {
			tail = append(tail, fmt.Sprintf("%d", n.offset))
		}
		slices.Reverse(tail)
		prefix := ""
		if int(s.depth) > len(tail) {
			prefix = "... "
		}
		return fmt.Sprintf("log of %d records: [%s%s]", s.depth, prefix, strings.Join(tail, " "))
	case nil:
		return "empty"
	}
	return fmt.Sprint(state)
}

// PartitionKey names one porcupine partition: a partition's log (Group
// empty) or a group's committed offset for a partition.
type PartitionKey struct {
	Offsets bool
	Group   string
	TP      model.TopicPartition
}

func (k PartitionKey) String() string {
	if k.Offsets {
		return fmt.Sprintf("committed offset of group %s for %s", k.Group, k.TP)
	}
	return "log of " + k.TP.String()
}

func (k PartitionKey) compare(o PartitionKey) int {
	if k.Offsets != o.Offsets {
		if !k.Offsets {
			return -1
		}
		return 1
	}
	return cmp.Or(strings.Compare(k.Group, o.Group), k.TP.Compare(o.TP))
}

// KeyOf returns the porcupine partition of an operation Linearization
// made.
func KeyOf(op porcupine.Operation) PartitionKey {
	switch in := op.Input.(type) {
	case *LogInput:
		return PartitionKey{TP: in.TP}
	case *OffsetInput:
		return PartitionKey{Offsets: true, Group: in.Group, TP: in.TP}
	}
	return PartitionKey{}
}

// SplitOperations splits operations into porcupine partitions, sorted by
// key (logs first), keeping each partition's operations in order.
func SplitOperations(ops []porcupine.Operation) ([]PartitionKey, [][]porcupine.Operation) {
	index := make(map[PartitionKey]int)
	var keys []PartitionKey
	var counts []int
	which := make([]int32, len(ops))
	for i, op := range ops {
		k := KeyOf(op)
		j, ok := index[k]
		if !ok {
			j = len(keys)
			index[k] = j
			keys = append(keys, k)
			counts = append(counts, 0)
		}
		counts[j]++
		which[i] = int32(j)
	}
	byKey := make([][]porcupine.Operation, len(keys))
	for j := range byKey {
		byKey[j] = make([]porcupine.Operation, 0, counts[j])
	}
	for i, op := range ops {
		byKey[which[i]] = append(byKey[which[i]], op)
	}
	order := make([]int, len(keys))
	for j := range order {
		order[j] = j
	}
	slices.SortFunc(order, func(a, b int) int { return keys[a].compare(keys[b]) })
	sorted := make([]PartitionKey, len(keys))
	parts := make([][]porcupine.Operation, len(keys))
	for i, j := range order {
		sorted[i], parts[i] = keys[j], byKey[j]
	}
	return sorted, parts
}

// Forever is the return time porcupine operations get when they may take
// effect at any time after their invocation.
const Forever = int64(math.MaxInt64)

// OpMeta is the metadata of each porcupine operation: the history op it
// comes from (-1 for a final log) and its client.
type OpMeta struct {
	Op     int64
	Client string
}

func (m OpMeta) String() string {
	if m.Op < 0 {
		return m.Client
	}
	return fmt.Sprintf("op %d (%s)", m.Op, m.Client)
}

// Linearization converts a history into porcupine operations for the model
// Porcupine returns; see the package's notes on the models for what is
// kept and how unknown outcomes are handled. It also returns the record
// values, indexed as LogInput.Value and LogRecord.Value index them.
func Linearization(h *history.History) ([]porcupine.Operation, []history.Record) {
	return LinearizationOf(h, nil)
}

// LinearizationOf is Linearization restricted to the porcupine partitions
// keep accepts (every partition when keep is nil): the operations of the
// others are neither converted nor returned.
func LinearizationOf(h *history.History, keep func(PartitionKey) bool) ([]porcupine.Operation, []history.Record) {
	if keep == nil {
		keep = func(PartitionKey) bool { return true }
	}
	logs := make(map[model.TopicPartition]bool)
	cfg := h.Header.RunConfig()
	keepLog := func(tp model.TopicPartition) bool {
		k, ok := logs[tp]
		if !ok {
			// A compacted topic is checked by key, not as a log.
			k = keep(PartitionKey{TP: tp}) && !cfg.Topic(tp.Topic).Compacts()
			logs[tp] = k
		}
		return k
	}
	tab := &linTable{claims: make(map[model.TopicPartition][]int64)}
	ids := make(map[string]int32)
	intern := func(key, value model.Bytes) int32 {
		k := recordKey(key, value)
		if id, ok := ids[k]; ok {
			return id
		}
		id := int32(len(tab.values))
		ids[k] = id
		tab.values = append(tab.values, history.Record{Key: key, Value: value})
		return id
	}
	// Porcupine's clients: one per client process, and one per final log.
	type client struct {
		name    string
		process int
	}
	clients := make(map[client]int)
	clientID := func(name string, process int) int {
		c := client{name, process}
		if id, ok := clients[c]; ok {
			return id
		}
		clients[c] = len(clients)
		return clients[c]
	}
	type tpv struct {
		tp model.TopicPartition
		v  int32
	}
	type seen struct {
		offset int64
		ret    int64
	}
	var end time.Duration
	for i := range h.Ops {
		end = max(end, h.Ops[i].Complete)
	}
	// Reads: where each record value was seen, and when the first reader
	// returned.
	read := make(map[tpv]seen)
	note := func(tp model.TopicPartition, v int32, offset, ret int64) {
		k := tpv{tp, v}
		s, ok := read[k]
		if !ok {
			s = seen{offset, ret}
		} else {
			s.offset, s.ret = min(s.offset, offset), min(s.ret, ret)
		}
		read[k] = s
	}
	var polls []porcupine.Operation
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Outcome != history.OK {
			continue
		}
		for _, p := range op.PollParts() {
			if len(p.Records) == 0 || !keepLog(p.TP()) {
				continue
			}
			out := &LogOutput{Records: make([]LogRecord, len(p.Records))}
			for j, r := range p.Records {
				v := intern(r.Key, r.Value)
				out.Records[j] = LogRecord{r.Offset, v}
				note(p.TP(), v, r.Offset, int64(op.Complete))
			}
			pos := p.Position
			if pos < 0 {
				pos = p.Records[0].Offset
			}
			polls = append(polls, porcupine.Operation{
				ClientId: clientID(op.Client, op.Process),
				Input:    &LogInput{TP: p.TP(), Offset: pos, Op: op.ID, tab: tab},
				Call:     int64(op.Invoke), Output: out, Return: int64(op.Complete),
				Metadata: OpMeta{op.ID, op.Client},
			})
		}
	}
	for _, f := range FinalLogs(h) {
		if !keepLog(f.TP) {
			continue
		}
		var out LogOutput
		for _, r := range f.Records {
			if f.CleanedTo > f.LogStartOffset && r.Offset < f.CleanedTo {
				continue // compacted: checked by key, not by offset
			}
			v := intern(r.Key, r.Value)
			out.Records = append(out.Records, LogRecord{r.Offset, v})
			note(f.TP, v, r.Offset, Forever)
		}
		name := fmt.Sprintf("final log of broker %d", f.Broker)
		polls = append(polls, porcupine.Operation{
			ClientId: clientID(name, math.MinInt),
			Input:    &LogInput{TP: f.TP, Offset: f.CheckedFrom(), Op: -1, Final: true, End: f.LogEndOffset, Broker: f.Broker, tab: tab},
			Call:     int64(end) + 1, Output: &out, Return: Forever,
			Metadata: OpMeta{-1, name},
		})
	}
	// Sends.
	var sends []porcupine.Operation
	for i := range h.Ops {
		op := &h.Ops[i]
		for _, s := range op.Sends() {
			if s.Partition < 0 || !keepLog(s.TP()) {
				continue
			}
			v := intern(s.Key, s.Value)
			in := &LogInput{TP: s.TP(), Send: true, Value: v, Op: op.ID, tab: tab}
			ret := int64(op.Complete)
			switch op.Effective() {
			case history.OK:
				in.Offset = s.Offset
				if in.Offset < 0 {
					// A txn's send whose offset the client did not report.
					r, ok := read[tpv{s.TP(), v}]
					if !ok {
						continue
					}
					in.Offset = r.offset
				}
			case history.Unknown:
				r, ok := read[tpv{s.TP(), v}]
				if !ok {
					continue
				}
				in.Offset, in.Unknown, ret = r.offset, true, r.ret
			default:
				continue
			}
			tab.claims[in.TP] = append(tab.claims[in.TP], in.Offset)
			sends = append(sends, porcupine.Operation{
				ClientId: clientID(op.Client, op.Process),
				Input:    in, Call: int64(op.Invoke), Output: &LogOutput{}, Return: max(ret, int64(op.Invoke)),
				Metadata: OpMeta{op.ID, op.Client},
			})
		}
	}
	for tp, c := range tab.claims {
		slices.Sort(c)
		tab.claims[tp] = slices.Compact(c)
	}
	// Committed offsets.
	type gtp struct {
		g  string
		tp model.TopicPartition
	}
	fetched := make(map[gtp]map[int64]bool)
	n := 0
	for i := range h.Ops {
		if op := &h.Ops[i]; op.Kind == history.KindCommit || (op.Kind == history.KindFetchCommitted && op.Outcome == history.OK) {
			n += len(op.Offsets.Offsets)
		}
	}
	offs := make([]porcupine.Operation, 0, n)
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindFetchCommitted || op.Outcome != history.OK {
			continue
		}
		for _, c := range op.Offsets.Offsets {
			if !keep(PartitionKey{Offsets: true, Group: op.Offsets.Group, TP: c.TP()}) {
				continue
			}
			k := gtp{op.Offsets.Group, c.TP()}
			if fetched[k] == nil {
				fetched[k] = make(map[int64]bool)
			}
			fetched[k][c.Offset] = true
			offs = append(offs, porcupine.Operation{
				ClientId: clientID(op.Client, op.Process),
				Input:    &OffsetInput{Group: op.Offsets.Group, TP: c.TP(), Op: op.ID},
				Call:     int64(op.Invoke), Output: &OffsetOutput{c.Offset}, Return: int64(op.Complete),
				Metadata: OpMeta{op.ID, op.Client},
			})
		}
	}
	for i := range h.Ops {
		op := &h.Ops[i]
		if op.Kind != history.KindCommit {
			continue
		}
		eff := op.Effective()
		for _, c := range op.Offsets.Offsets {
			if !keep(PartitionKey{Offsets: true, Group: op.Offsets.Group, TP: c.TP()}) {
				continue
			}
			in := &OffsetInput{Group: op.Offsets.Group, TP: c.TP(), Commit: true, Offset: c.Offset, Op: op.ID}
			ret := int64(op.Complete)
			switch eff {
			case history.OK:
			case history.Unknown:
				if !fetched[gtp{in.Group, in.TP}][c.Offset] {
					continue
				}
				in.Unknown, ret = true, Forever
			default:
				continue
			}
			offs = append(offs, porcupine.Operation{
				ClientId: clientID(op.Client, op.Process),
				Input:    in, Call: int64(op.Invoke), Output: &OffsetOutput{}, Return: ret,
				Metadata: OpMeta{op.ID, op.Client},
			})
		}
	}
	all := slices.Concat(sends, polls, offs)
	slices.SortStableFunc(all, func(a, b porcupine.Operation) int {
		return cmp.Or(cmp.Compare(a.Call, b.Call), cmp.Compare(a.Metadata.(OpMeta).Op, b.Metadata.(OpMeta).Op))
	})
	return all, tab.values
}

// recordKey is a record's identity for the models: its key and value,
// with null distinct from empty.
func recordKey(key, value model.Bytes) string {
	var b strings.Builder
	b.Grow(len(key) + len(value) + 12)
	if key == nil {
		b.WriteString("n")
	} else {
		fmt.Fprintf(&b, "k%d:", len(key))
		b.Write(key)
	}
	if value == nil {
		b.WriteString("n")
	} else {
		b.WriteString("v")
		b.Write(value)
	}
	return b.String()
}

// FinalLogs returns, per partition, the final log of its leader: the
// online replica the final controller state names as leader, or, without
// controller state, the online replica that leads with the highest epoch.
// Partitions without an online leader have none.
func FinalLogs(h *history.History) []history.ReplicaState {
	leaders := make(map[model.TopicPartition]int32)
	for _, p := range h.Partitions {
		leaders[p.TP] = p.Metadata.Leader
	}
	best := make(map[model.TopicPartition]int)
	for i := range h.Replicas {
		r := &h.Replicas[i]
		if !r.Online || !r.Leader {
			continue
		}
		if l, ok := leaders[r.TP]; ok && l != r.Broker {
			continue
		}
		if j, ok := best[r.TP]; !ok || h.Replicas[j].LeaderEpoch < r.LeaderEpoch {
			best[r.TP] = i
		}
	}
	var out []history.ReplicaState
	for _, tp := range slices.SortedFunc(maps.Keys(best), model.TopicPartition.Compare) {
		out = append(out, h.Replicas[best[tp]])
	}
	return out
}
