// Package reports renders kafkasim's runs, comparisons and sweeps as
// self-contained HTML pages: one file each, with its CSS, JavaScript and SVG
// inline, that opens from disk without a network.
//
// The package renders; it never runs a simulation. Its inputs are plain data
// (Run, Comparison, Sweep) that the scenario layer fills from a finished run,
// its history and its checkers' findings.
package reports

import "time"

// A Run is everything a run report shows.
type Run struct {
	Title       string // e.g. the scenario name
	Description string // what the scenario is and what it is expected to show
	Verdict     Verdict
	Seed        uint64
	TraceHash   string
	Replay      string        // one-line command that replays the run
	Duration    time.Duration // simulated time the run covered
	Steps       uint64        // events executed
	Config      []KV          // the configuration, in a meaningful order
	Faults      []Event       // the fault timeline
	Partitions  []PartitionTimeline
	Clients     []Lane
	Findings    []Finding
	// Incidents tell what went wrong, one per cause, losses first: the
	// story the page opens with. Stats are the verdict's figures.
	Incidents []Incident
	Stats     []KV
	Coverage  []Count // coverage marks reached
	// Linearizability is the linearizability verdict and, for a failure, porcupine's own
	// visualization (a whole HTML document) to embed.
	Linearizability *Linearizability
	Notes           []string // e.g. what was sampled to keep the page small
}

// A Verdict is a report's headline.
type Verdict struct {
	OK      bool
	Summary string // one line: "ok" or what failed
}

// An Incident is one problem told in an operator's words, with the moment
// that caused it, a command that replays the run up to it, and the
// findings that are its evidence.
type Incident struct {
	Headline string
	At       time.Duration
	Step     uint64
	Replay   string
	WhatIf   string
	Loss     bool
	Evidence []Finding
}

// KV is one configuration entry.
type KV struct{ Key, Value string }

// Count is a named count, such as a coverage mark.
type Count struct {
	Name  string
	Count uint64
}

// An Event is one moment on a timeline.
type Event struct {
	At   time.Duration
	Step uint64
	Kind string // e.g. "crash"
	Text string // e.g. "crash b2"
}

// A PartitionTimeline follows one partition through the run: who led it,
// its ISR and epochs, and every replica's offsets, sampled whenever they
// changed, and the transaction markers its leaders wrote.
type PartitionTimeline struct {
	Name     string  // "orders-0"
	Replicas []int32 // the assignment
	Samples  []PartitionSample
	Markers  []Marker
}

// A Marker is a transaction marker in a partition's log: producer
// ProducerID's transaction committed or aborted there, at Offset, as a
// leader's log first showed it at At.
type Marker struct {
	At         time.Duration
	Step       uint64
	Offset     int64
	ProducerID int64
	Commit     bool
}

// A PartitionSample is the partition's state from its time until the next
// sample's.
type PartitionSample struct {
	At             time.Duration
	Step           uint64
	Leader         int32 // -1 when offline
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
	Replicas       []ReplicaSample // in the timeline's Replicas order
}

// A ReplicaSample is one replica's offsets.
type ReplicaSample struct {
	Online        bool
	LogEndOffset  int64
	HighWatermark int64
	// LastStableOffset is where read_committed fetches stop; zero when
	// unknown (a timeline recorded before it was), which draws no LSO.
	LastStableOffset int64
}

// A Lane is one client's operations.
type Lane struct {
	Client string
	Ops    []Op
}

// An Op is one client operation, drawn as a bar from invocation to
// completion.
type Op struct {
	Start, End time.Duration // End < 0: never completed
	Kind       string        // send, poll, commit, ...
	Outcome    string        // "ok", "fail" or "unknown"
	Label      string        // short description: value, offsets, error
}

// A Finding is one anomaly or invariant violation.
type Finding struct {
	Name      string // e.g. "lost-write"
	Class     string // e.g. "data-loss", "expected", "invariant"
	Partition string
	At        time.Duration
	Step      uint64
	Message   string
}

// Linearizability is the linearizability check of a history.
type Linearizability struct {
	Result        string // "ok", "illegal" or "unchecked (budget of N steps exhausted)"
	Visualization []byte // porcupine's HTML, embedded in the page when set
}

// A Comparison is the same schedule run under several configurations, for
// example clean and unclean leader election.
type Comparison struct {
	Title   string
	Seed    uint64
	Replay  string
	Faults  []Event
	Columns []string        // one per configuration, e.g. "clean", "unclean"
	Rows    []ComparisonRow // one per measure
	// RowHeader heads the first column ("measure" if empty); a matrix of
	// configurations puts configurations in rows instead.
	RowHeader string
	// Intro is the sentence under the title; a default says one schedule
	// ran under several configurations.
	Intro string
	Runs  []Run // the runs themselves, in Columns order (optional)
	// Headline, when set, is the page's verdict (a matrix computes it from
	// its rows); otherwise the runs' verdicts make it.
	Headline *Verdict
	// Rejected lists configurations that were not run, with why.
	Rejected []string
}

// A ComparisonRow is one measure across the configurations.
type ComparisonRow struct {
	Measure string   // e.g. "orders-0 acknowledged writes lost"
	Values  []string // one per column
	Bad     []bool   // which values are bad news, for colouring
}

// A Sweep is many seeds of one scenario.
type Sweep struct {
	Title    string
	Scenario string
	Seeds    int
	Outcomes []Count // e.g. ok: 990, lost-write: 10
	// Histograms of per-run measures, such as acknowledged writes lost
	// and seconds offline.
	Histograms []Histogram
	Failures   []SweepFailure
	// Headline is the sweep's verdict, the same the command's exit code
	// gives.
	Headline Verdict
	// Seeds that missed their scenario's expectation (with --expect).
	Unexpected []SweepFailure
	Coverage   []Count // how many runs reached each mark
	Notes      []string
}

// A Histogram is a distribution of a per-run measure.
type Histogram struct {
	Title  string
	Unit   string
	Values []float64
}

// A SweepFailure is one failing seed.
type SweepFailure struct {
	Seed    uint64
	Summary string
	Replay  string
}

// A Matrix is one schedule run under every combination of a few settings,
// drawn as a pivot grid: rows are the values of the row axes, columns of
// the column axes.
type Matrix struct {
	Title    string
	Seed     uint64
	Replay   string
	Headline Verdict
	Intro    string
	Faults   []Event
	Duration time.Duration
	// RowAxes and ColumnAxes name the axes; Rows and Columns label each
	// row and column with one value per axis.
	RowAxes, ColumnAxes []string
	Rows, Columns       [][]string
	// Cells[row][column]; a nil cell is a combination that did not occur.
	Cells [][]*MatrixCell
	// Rejected lists the combinations Kafka refuses, once per reason.
	Rejected []string
}

// A MatrixCell is one configuration's outcome.
type MatrixCell struct {
	// Rejected is set for a combination Kafka refuses (not run).
	Rejected bool
	OK       bool
	Lost     int
	// Allowed says what allowed the loss, or what went wrong.
	Allowed     string
	Unavailable time.Duration
	UnderMinISR time.Duration
	Replay      string
}
