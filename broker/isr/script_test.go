package isr_test

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/kafkasim/kafkasim/broker/isr"
)

// TestScripts runs the scripts under testdata against a tracker and a
// hand-driven leader: a log end offset, a high-water mark and a clock the
// script moves. Each verb is one small handler;
// `go test ./broker/isr -run TestScripts -rewrite` regenerates the output.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if !strings.HasSuffix(path, ".txt") {
			t.Skip("not a script") // rapid keeps its failing cases under testdata/rapid
		}
		s := &script{}
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			out, err := s.handle(d)
			if err != nil {
				return out + "error: " + err.Error() + "\n"
			}
			return out
		})
	})
}

// script is the leader around the tracker: what the broker would hold.
type script struct {
	t       *isr.Tracker
	md      *metadata
	self    int32
	leo     int64
	hwm     int64
	now     time.Duration
	leading bool
	legacy  bool // legacy-hwm
}

// metadata is the scripted metadata image.
type metadata struct {
	brokers map[int32]isr.Registration
	minISR  int
}

func (m *metadata) Broker(id int32) (isr.Registration, bool) {
	r, ok := m.brokers[id]
	return r, ok
}

func (m *metadata) MinInsyncReplicas() int { return m.minISR }

type handler func(s *script, a args) (string, error)

var verbs = map[string]handler{
	"tracker":     (*script).tracker,
	"broker":      (*script).broker,
	"min-isr":     (*script).minISR,
	"leader":      (*script).leader,
	"follower":    (*script).follower,
	"append":      (*script).append,
	"tick":        (*script).tick,
	"fetch":       (*script).fetch,
	"caught-up":   (*script).caughtUp,
	"eligibility": (*script).eligibility,
	"hwm":         (*script).highWatermark,
	"shrink":      (*script).shrink,
	"expand":      (*script).expand,
	"commit":      (*script).commit,
	"rollback":    (*script).rollback,
	"print":       (*script).print,
}

func (s *script) handle(d *datadriven.TestData) (string, error) {
	h, ok := verbs[d.Cmd]
	if !ok {
		return "", fmt.Errorf("unknown command %q: known are %s", d.Cmd, strings.Join(slices.Sorted(maps.Keys(verbs)), ", "))
	}
	if s.t == nil && d.Cmd != "tracker" {
		return "", fmt.Errorf("%s before tracker: start a script with `tracker self=<id>`", d.Cmd)
	}
	a := args{}
	for _, arg := range d.CmdArgs {
		a[arg.Key] = strings.Join(arg.Vals, ",")
	}
	return h(s, a)
}

// args are a command's key=value arguments; a bare key has the value "".
type args map[string]string

func (a args) has(k string) bool {
	_, ok := a[k]
	return ok
}

func (a args) int(k string, def int64) (int64, error) {
	v, ok := a[k]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a whole number", k, v)
	}
	return n, nil
}

func (a args) id(k string) (int32, error) {
	v, ok := a[k]
	if !ok {
		return 0, fmt.Errorf("missing %s=<broker id>", k)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: want a broker id", k, v)
	}
	return int32(n), nil
}

func (a args) ids(k string) ([]int32, bool, error) {
	v, ok := a[k]
	if !ok {
		return nil, false, nil
	}
	var out []int32
	for _, f := range strings.Split(v, ",") {
		if f == "" {
			continue
		}
		n, err := strconv.ParseInt(f, 10, 32)
		if err != nil {
			return nil, true, fmt.Errorf("%s=%q: want broker ids like 1,2,3", k, v)
		}
		out = append(out, int32(n))
	}
	return out, true, nil
}

func (a args) duration(k string, def time.Duration) (time.Duration, error) {
	v, ok := a[k]
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration like 500ms or 10s", k, v)
	}
	return d, nil
}

// tracker self=1 [replica.lag.time.max.ms=30s] [min.insync.replicas=1] [legacy-hwm] [legacy-expansion]
//
// Starts a script: broker self, the other brokers 1-5 registered with
// broker epoch 100+id, unfenced.
func (s *script) tracker(a args) (string, error) {
	self, err := a.id("self")
	if err != nil {
		return "", err
	}
	lag, err := a.duration("replica.lag.time.max.ms", 30*time.Second)
	if err != nil {
		return "", err
	}
	minISR, err := a.int("min.insync.replicas", 1)
	if err != nil {
		return "", err
	}
	md := &metadata{brokers: make(map[int32]isr.Registration), minISR: int(minISR)}
	for id := int32(1); id <= 5; id++ {
		md.brokers[id] = isr.Registration{Epoch: 100 + int64(id)}
	}
	cfg := isr.Config{ReplicaLagTimeMax: lag, LegacyHighWatermark: a.has("legacy-hwm"), LegacyISRExpansion: a.has("legacy-expansion")}
	*s = script{t: isr.New(self, cfg, md), md: md, self: self, legacy: cfg.LegacyHighWatermark}
	return "", nil
}

// broker id=2 [epoch=7] [fenced] [shutting-down] [unregistered]
//
// Sets what the metadata says of a broker.
func (s *script) broker(a args) (string, error) {
	id, err := a.id("id")
	if err != nil {
		return "", err
	}
	if a.has("unregistered") {
		delete(s.md.brokers, id)
		return "", nil
	}
	epoch, err := a.int("epoch", s.md.brokers[id].Epoch)
	if err != nil {
		return "", err
	}
	s.md.brokers[id] = isr.Registration{Epoch: epoch, Fenced: a.has("fenced"), ShuttingDown: a.has("shutting-down")}
	return "", nil
}

// min-isr n=2: changes the topic's min.insync.replicas.
func (s *script) minISR(a args) (string, error) {
	n, err := a.int("n", 1)
	if err != nil {
		return "", err
	}
	s.md.minISR = int(n)
	return "", nil
}

// leader replicas=1,2,3 isr=1,2,3 [leo=0] [hwm=0] [same-leader | same-epoch]
//
// Applies a registration that makes self the leader: a new leader at a new
// epoch by default; same-leader keeps the leadership and bumps the epoch;
// same-epoch is an ISR or assignment change within the epoch. leo and hwm
// set the leader's log when it is new.
func (s *script) leader(a args) (string, error) {
	replicas, _, err := a.ids("replicas")
	if err != nil {
		return "", err
	}
	members, _, err := a.ids("isr")
	if err != nil {
		return "", err
	}
	if len(replicas) == 0 {
		return "", fmt.Errorf("missing replicas=<ids>")
	}
	if s.leo, err = a.int("leo", s.leo); err != nil {
		return "", err
	}
	if s.hwm, err = a.int("hwm", s.hwm); err != nil {
		return "", err
	}
	s.t.Assign(replicas, members)
	if !a.has("same-epoch") {
		s.t.StartLeaderEpoch(s.leo, s.now, !a.has("same-leader") || !s.leading)
	}
	s.leading = true
	return s.state(), nil
}

// follower: self stops leading.
func (s *script) follower(args) (string, error) {
	s.t.Clear()
	s.leading = false
	return s.state(), nil
}

// append [n=1]: the leader appends n records.
func (s *script) append(a args) (string, error) {
	n, err := a.int("n", 1)
	if err != nil {
		return "", err
	}
	s.leo += n
	return fmt.Sprintf("leo=%d\n", s.leo), nil
}

// tick [d=1s]: time passes.
func (s *script) tick(a args) (string, error) {
	d, err := a.duration("d", time.Second)
	if err != nil {
		return "", err
	}
	s.now += d
	return fmt.Sprintf("now=%v\n", s.now), nil
}

// fetch id=2 offset=5 [broker-epoch=<registered>]
//
// Follower id fetches from offset with its broker epoch (by default the
// one the metadata has; -1 for a fetch without one).
func (s *script) fetch(a args) (string, error) {
	id, err := a.id("id")
	if err != nil {
		return "", err
	}
	offset, err := a.int("offset", s.leo)
	if err != nil {
		return "", err
	}
	def := isr.NoBrokerEpoch
	if r, ok := s.md.brokers[id]; ok {
		def = r.Epoch
	}
	epoch, err := a.int("broker-epoch", def)
	if err != nil {
		return "", err
	}
	moved := s.t.UpdateFollower(id, offset, s.leo, epoch, s.now)
	f, ok := s.t.Follower(id)
	if !ok {
		return fmt.Sprintf("%d: not a follower: ignored\n", id), nil
	}
	out := follower(f)
	if moved {
		out += " (moved)"
	}
	return out + "\n", nil
}

// caught-up: every follower's lag verdict.
func (s *script) caughtUp(args) (string, error) {
	var b strings.Builder
	for _, f := range s.followers() {
		verdict := "out of sync"
		if s.t.CaughtUp(f.ID, s.leo, s.now) {
			verdict = "caught up"
		}
		since := "never"
		if f.LastCaughtUpTime != isr.Never {
			since = (s.now - f.LastCaughtUpTime).String() + " ago"
		}
		fmt.Fprintf(&b, "%d: %s (leo %d of %d, last caught up %s)\n", f.ID, verdict, f.LogEndOffset, s.leo, since)
	}
	return b.String(), nil
}

// eligibility: every follower's ISR eligibility.
func (s *script) eligibility(args) (string, error) {
	var b strings.Builder
	for _, f := range s.followers() {
		fmt.Fprintf(&b, "%d: %s\n", f.ID, s.t.Eligibility(f.ID))
	}
	return b.String(), nil
}

// hwm: the leader tries to advance its high-water mark.
func (s *script) highWatermark(args) (string, error) {
	hw, ok := s.t.HighWatermark(s.hwm, s.leo, s.now)
	if !ok {
		why := ""
		if s.t.BelowMinISR() && !s.legacy {
			why = fmt.Sprintf(" (ISR %v below min.insync.replicas %d)", s.t.ISR(), s.md.minISR)
		}
		return fmt.Sprintf("hwm stays at %d%s\n", s.hwm, why), nil
	}
	old := s.hwm
	s.hwm = hw
	return fmt.Sprintf("hwm %d -> %d\n", old, hw), nil
}

// shrink: the periodic ISR expiration check; proposes removing the members
// that are out of sync.
func (s *script) shrink(args) (string, error) {
	out := s.t.OutOfSync(s.leo, s.now)
	if len(out) == 0 {
		if s.t.Pending() != nil {
			return "none: a change is pending\n", nil
		}
		return "none out of sync\n", nil
	}
	old := s.t.ISR()
	c := s.t.ProposeShrink(out, 100+int64(s.self))
	return fmt.Sprintf("out of sync %v: propose %v -> %v %s\n", out, old, c.ISR, members(c.Members)), nil
}

// expand id=2: after a fetch, may follower id join the ISR? If so the
// leader proposes it.
func (s *script) expand(a args) (string, error) {
	id, err := a.id("id")
	if err != nil {
		return "", err
	}
	j := s.t.Join(id, s.hwm)
	if j != isr.MayJoin {
		if j == isr.Ineligible {
			return fmt.Sprintf("%d: %s: %s\n", id, j, s.t.Eligibility(id)), nil
		}
		return fmt.Sprintf("%d: %s\n", id, j), nil
	}
	old := s.t.ISR()
	c := s.t.ProposeExpand(id, 100+int64(s.self))
	return fmt.Sprintf("%d: %s: propose %v -> %v %s\n", id, j, old, c.ISR, members(c.Members)), nil
}

// commit [isr=1,2]: the controller accepts the pending change (or commits
// the given ISR).
func (s *script) commit(a args) (string, error) {
	members, given, err := a.ids("isr")
	if err != nil {
		return "", err
	}
	if !given {
		c := s.t.Pending()
		if c == nil {
			return "", fmt.Errorf("no change pending: give isr=<ids>")
		}
		members = c.ISR
	}
	s.t.Commit(members)
	return s.state(), nil
}

// rollback: the controller refuses the pending change.
func (s *script) rollback(args) (string, error) {
	s.t.Rollback()
	return s.state(), nil
}

func (s *script) print(args) (string, error) { return s.state(), nil }

func (s *script) followers() []isr.Follower {
	var out []isr.Follower
	for _, id := range s.t.Replicas() {
		if f, ok := s.t.Follower(id); ok {
			out = append(out, f)
		}
	}
	return out
}

func (s *script) state() string {
	var b strings.Builder
	role := "follower"
	if s.leading {
		role = "leader"
	}
	fmt.Fprintf(&b, "%s: leo=%d hwm=%d epoch-start=%d now=%v\n", role, s.leo, s.hwm, s.t.EpochStartOffset(), s.now)
	fmt.Fprintf(&b, "replicas=%v isr=%v maximal=%v", s.t.Replicas(), s.t.ISR(), s.t.MaximalISR())
	if c := s.t.Pending(); c != nil {
		what := "expand"
		if c.Shrink {
			what = "shrink"
		}
		fmt.Fprintf(&b, " pending=%s %v", what, c.ISR)
	}
	b.WriteString("\n")
	for _, f := range s.followers() {
		b.WriteString("  " + follower(f) + "\n")
	}
	return b.String()
}

func follower(f isr.Follower) string {
	epoch := "?"
	if f.Fetched {
		epoch = strconv.FormatInt(f.BrokerEpoch, 10)
	}
	return fmt.Sprintf("%d: leo=%d last-fetch-leo=%d last-fetch=%s caught-up=%s broker-epoch=%s",
		f.ID, f.LogEndOffset, f.LastFetchLeaderLogEndOffset, at(f.LastFetchTime), at(f.LastCaughtUpTime), epoch)
}

func at(d time.Duration) string {
	if d == isr.Never {
		return "never"
	}
	return d.String()
}

func members(ms []isr.Member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%d@%d", m.ID, m.BrokerEpoch)
	}
	return "(broker epochs " + strings.Join(parts, " ") + ")"
}
