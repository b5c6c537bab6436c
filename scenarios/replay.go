package scenarios

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kafkasim/kafkasim/internal/strictjson"
)

// Version is the harness version a replay file records. It changes
// whenever a change to kafkasim can change what a seed does; a replay file
// from another version says so instead of replaying something else.
const Version = "0.1.0"

// ReplayFormat names the replay file format.
const ReplayFormat = "kafkasim-replay"

// A ReplayFile is everything needed to run a run again bit for bit: the
// whole scenario (with its seed and the faults, nemesis included, made
// explicit), the harness version, and what the run produced, to compare.
type ReplayFile struct {
	Format    string   `json:"format"`
	Version   string   `json:"version"`
	Scenario  Scenario `json:"scenario"`
	TraceHash string   `json:"trace_hash"`
	Steps     uint64   `json:"steps"`
	// UntilStep, when set, replays only that many events.
	UntilStep uint64 `json:"until_step,omitempty"`
	// Summary is the run's outcome, for people reading the file.
	Summary string `json:"summary"`
	// Digest is the SHA-256 of the file's content (as JSON, with Digest
	// empty): a file that was edited, or is not what kafkasim wrote, is told
	// apart from a replay that diverges.
	Digest string `json:"digest"`
}

// digest computes the file's content digest.
func (f ReplayFile) digest() string {
	f.Digest = ""
	data, err := json.Marshal(f)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// NewReplayFile describes a run for replaying: the scenario with its
// schedule made explicit and its nemesis removed, so that the file does not
// depend on how the nemesis draws.
func NewReplayFile(res *Result, untilStep uint64) ReplayFile {
	s := res.Scenario
	s.Faults = res.Schedule
	s.Nemesis = nil
	return ReplayFile{Format: ReplayFormat, Version: Version, Scenario: s, TraceHash: res.TraceHash, Steps: res.Steps,
		UntilStep: untilStep, Summary: res.Summary()}
}

// Write writes the replay file to path atomically (a temporary file
// renamed), so a failure never leaves half a file.
func (f ReplayFile) Write(path string) error {
	f.Digest = f.digest()
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(path, append(data, '\n'))
}

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ErrEdited is wrapped by ReadReplayFile's error for a replay file whose
// content does not match its digest: edited by hand, or not written by
// kafkasim.
var ErrEdited = errors.New("this replay file was changed after kafkasim wrote it, or comes from elsewhere")

func short(s string) string { return s[:min(16, len(s))] }

// ErrOtherVersion is wrapped by ReadReplayFile's error for a replay file
// written by another version of kafkasim.
var ErrOtherVersion = errors.New("replay file from another kafkasim version")

// ReadReplayFile reads and validates a replay file.
func ReadReplayFile(path string) (ReplayFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ReplayFile{}, fmt.Errorf("cannot read replay file: %w", err)
	}
	var f ReplayFile
	if err := objectShape(data, "replay file", "the file kafkasim run writes next to its report (out/<scenario>-seed<N>.replay.json)"); err != nil {
		return ReplayFile{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := strictjson.Check(data, &f); err != nil {
		return ReplayFile{}, fmt.Errorf("%s: not a replay file: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return ReplayFile{}, fmt.Errorf("%s: not a replay file: %w", path, jsonError(data, err))
	}
	if f.Format != ReplayFormat {
		return ReplayFile{}, fmt.Errorf("%s: format %q is not a replay file's (%q)", path, f.Format, ReplayFormat)
	}
	if f.Digest == "" {
		return ReplayFile{}, fmt.Errorf("%s: %w: it has no digest (kafkasim writes one in every replay file); run its scenario again instead", path, ErrEdited)
	}
	if d := f.digest(); d != f.Digest {
		return ReplayFile{}, fmt.Errorf("%s: %w: its content digest is %s, the file records %s; replay an unedited file, or run the edited scenario with kafkasim run", path, ErrEdited, d[:16], short(f.Digest))
	}
	if f.Version != Version {
		return ReplayFile{}, fmt.Errorf("%s: %w: it was written by kafkasim %s and this is kafkasim %s, whose runs may differ; run its scenario again with this version instead",
			path, ErrOtherVersion, f.Version, Version)
	}
	f.Scenario = f.Scenario.Defaults()
	if err := f.Scenario.Validate(); err != nil {
		return ReplayFile{}, fmt.Errorf("%s: its scenario: %w", path, err)
	}
	if f.TraceHash == "" {
		return ReplayFile{}, fmt.Errorf("%s: the replay file has no trace_hash to compare with", path)
	}
	return f, nil
}

// Replay runs a replay file's scenario again and checks that it gives the
// recorded trace hash; a different hash is an error (and the worst kind of
// bug: non-determinism), returned with the new result.
func Replay(f ReplayFile, opts Options) (*Result, error) {
	opts.UntilStep = f.UntilStep
	res, err := Run(f.Scenario, opts)
	if err != nil {
		return nil, err
	}
	if res.TraceHash != f.TraceHash || res.Steps != f.Steps {
		return res, fmt.Errorf("the replay diverged: trace hash %s after %d steps, the file recorded %s after %d steps: a determinism bug in kafkasim (seed %d)",
			res.TraceHash, res.Steps, f.TraceHash, f.Steps, f.Scenario.Seed)
	}
	return res, nil
}
