// Package ledger keeps the append-only record of every drill: a JSON Lines file in which each record
// carries its own SHA-256 and the previous record's, so that any edit, deletion, insertion or
// reordering is found by Verify and named by the first bad record.
//
// A record is written whole or not at all: one write(2) on a file opened with O_APPEND, then fsync,
// under an exclusive flock so that concurrent writers take turns instead of interleaving. A writer
// waits a bounded time for the lock (WithLockWait), then gives up with a *LockedError.
// The package never rewrites or truncates a ledger, corrupt or not; Append refuses to add to a ledger
// that does not verify.
//
// The chain makes tampering evident, not impossible: whoever can write the file can recompute every
// hash. Dropping records from the end leaves a valid shorter chain; pin the head (Summary.Head, kept
// in git history or a CI log) and pass it to Verify with WithHead to catch that too.
package ledger

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultPath is where the ledger lives in the repository.
const DefaultPath = "drills/ledger.jsonl"

// Result is how a drill ended.
type Result string

// Results.
const (
	Passed  Result = "passed"
	Failed  Result = "failed"
	Aborted Result = "aborted"
)

// Record is one drill.
type Record struct {
	Seq            int       `json:"seq"` // 1-based position, set by Append
	Scenario       string    `json:"scenario"`
	Severity       string    `json:"severity"`
	Kind           string    `json:"kind"` // e.g. "fire-drill", "tabletop", "review"
	StartedAt      time.Time `json:"started_at"`
	FinishedAt     time.Time `json:"finished_at"`
	Result         Result    `json:"result"`
	Phases         []Phase   `json:"phases"`
	ResponseTarget Duration  `json:"response_target"` // the severity's response time
	TargetMet      bool      `json:"target_met"`
	EvidenceDigest string    `json:"evidence_digest"`
	EvidencePath   string    `json:"evidence_path,omitempty"` // the pack's directory; relative paths are from the repository root
	RunbookDigest  string    `json:"runbook_digest"`
	HarnessVersion string    `json:"harness_version"`
	Where          string    `json:"where"`          // CI run URL or host
	Prev           string    `json:"prev"`           // Hash of the previous record; "" for the first, set by Append
	Hash           string    `json:"hash,omitempty"` // sha256 of this record with Hash empty, set by Append
}

// Phase is how long one drill phase took.
type Phase struct {
	Name     string   `json:"name"`
	Duration Duration `json:"duration"`
}

// Duration is a time.Duration written as "4m12.5s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Sentinel errors callers branch on.
var (
	ErrCorrupt = errors.New("ledger does not verify")
	ErrLocked  = errors.New("ledger is locked by another writer")
	ErrInvalid = errors.New("invalid record")
)

// CorruptError names the first bad record.
type CorruptError struct {
	Path   string
	Record int // 1-based, which is also the line
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%s: record %d: %s", e.Path, e.Record, e.Reason)
}

// Unwrap makes errors.Is(err, ErrCorrupt) true.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// LockedError means another process held the ledger's lock for as long as Append would wait.
type LockedError struct {
	Path   string
	Waited time.Duration
	// Err is the context's error when the context ended the wait, nil when the wait timed out.
	Err error
}

func (e *LockedError) Error() string {
	waited := fmt.Sprintf("waited %s", e.Waited)
	if e.Err != nil {
		waited = "stopped waiting: " + e.Err.Error()
	}
	return fmt.Sprintf("ledger %s is locked by another drill (%s): wait for it to finish and retry, or stop the process holding the lock (fuser -v %s)", e.Path, waited, e.Path)
}

// Unwrap makes errors.Is(err, ErrLocked) true, and errors.Is(err, context.Canceled) when the
// context ended the wait.
func (e *LockedError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrLocked, e.Err}
	}
	return []error{ErrLocked}
}

// DefaultLockWait is how long Append waits for another writer's lock unless WithLockWait says
// otherwise: appending a record takes milliseconds, so a longer hold is a stuck process.
const DefaultLockWait = 10 * time.Second

// lockPoll is how often a waiting Append retries the lock.
const lockPoll = 50 * time.Millisecond

// Ledger is an open ledger file.
type Ledger struct {
	path     string
	lockWait time.Duration
}

// Option configures Open.
type Option func(*Ledger)

// WithLockWait sets how long Append waits for another writer's lock before it fails with a
// *LockedError; 0 or less means not at all.
func WithLockWait(d time.Duration) Option { return func(l *Ledger) { l.lockWait = max(d, 0) } }

// Open opens the ledger at path, creating it (and its directory) empty when missing.
func Open(path string, opts ...Option) (*Ledger, error) {
	l := &Ledger{path: path, lockWait: DefaultLockWait}
	for _, opt := range opts {
		opt(l)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	return l, f.Close()
}

// Path returns the ledger's file path.
func (l *Ledger) Path() string { return l.path }

// Append verifies the ledger, then adds r as its next record and returns it with Seq, Prev and Hash
// set. Times are stored in UTC at millisecond precision. While another process holds the ledger's
// lock it waits, until the lock wait (WithLockWait) runs out or ctx ends: then it returns a
// *LockedError and writes nothing.
func (l *Ledger) Append(ctx context.Context, r Record) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if err := r.validate(); err != nil {
		return Record{}, err
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return Record{}, fmt.Errorf("append to ledger %s: %w", l.path, err)
	}
	defer f.Close()
	if err := l.lock(ctx, f); err != nil {
		return Record{}, err
	}
	defer unlock(f)

	records, err := read(l.path)
	if err != nil {
		return Record{}, fmt.Errorf("append to ledger: %w", err)
	}
	r.Seq = len(records) + 1
	r.Prev = ""
	if len(records) > 0 {
		r.Prev = records[len(records)-1].Hash
	}
	r.StartedAt = r.StartedAt.UTC().Truncate(time.Millisecond)
	r.FinishedAt = r.FinishedAt.UTC().Truncate(time.Millisecond)
	r.Hash = ""
	r.Hash, err = hashOf(r)
	if err != nil {
		return Record{}, err
	}
	line, err := jsonLine(r)
	if err != nil {
		return Record{}, err
	}
	// One write on an O_APPEND file: the record lands whole after the last one, or not at all.
	n, err := f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return Record{}, fmt.Errorf("append to ledger %s: %w (the ledger was not rewritten; run firedrill verify)", l.path, err)
	}
	if err := f.Sync(); err != nil {
		return Record{}, fmt.Errorf("sync ledger %s: %w", l.path, err)
	}
	return r, nil
}

// lock takes f's exclusive lock, retrying while another process holds it for up to l.lockWait or
// until ctx ends.
func (l *Ledger) lock(ctx context.Context, f *os.File) error {
	start := time.Now()
	deadline := time.NewTimer(l.lockWait)
	defer deadline.Stop()
	poll := time.NewTicker(lockPoll)
	defer poll.Stop()
	for {
		err := lock(f)
		switch {
		case err == nil:
			return nil
		case !errors.Is(err, ErrLocked):
			return fmt.Errorf("append to ledger %s: %w", l.path, err)
		}
		select {
		case <-ctx.Done():
			return &LockedError{Path: l.path, Waited: time.Since(start), Err: ctx.Err()}
		case <-deadline.C:
			return &LockedError{Path: l.path, Waited: l.lockWait}
		case <-poll.C:
		}
	}
}

// Records returns every record after verifying the chain.
func (l *Ledger) Records() ([]Record, error) { return read(l.path) }

// Summary is what Verify found.
type Summary struct {
	Records int
	Head    string // Hash of the last record, "" for an empty ledger
}

// VerifyOption configures Verify.
type VerifyOption func(*verifyOptions)

type verifyOptions struct{ head string }

// WithHead makes Verify also require that the chain contains the record with this hash, which
// catches records removed from the end.
func WithHead(hash string) VerifyOption { return func(o *verifyOptions) { o.head = hash } }

// Verify checks every record and the chain; a *CorruptError names the first bad record.
func (l *Ledger) Verify(opts ...VerifyOption) (Summary, error) {
	return VerifyFile(l.path, opts...)
}

// ReadFile reads and verifies the ledger at path without creating it.
func ReadFile(path string) ([]Record, error) { return read(path) }

// VerifyFile verifies the ledger at path without creating it.
func VerifyFile(path string, opts ...VerifyOption) (Summary, error) {
	var o verifyOptions
	for _, opt := range opts {
		opt(&o)
	}
	records, err := read(path)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Records: len(records)}
	if len(records) > 0 {
		s.Head = records[len(records)-1].Hash
	}
	if o.head != "" {
		found := false
		for _, r := range records {
			if r.Hash == o.head {
				found = true
			}
		}
		if !found {
			return s, &CorruptError{Path: path, Record: len(records) + 1, Reason: fmt.Sprintf("the pinned head %s is not in the ledger: records were removed from its end", o.head)}
		}
	}
	return s, nil
}

func read(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	return parse(path, data)
}

func parse(path string, data []byte) ([]Record, error) {
	var records []Record
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	n := 0
	for sc.Scan() {
		n++
		bad := func(format string, args ...any) error {
			return &CorruptError{Path: path, Record: n, Reason: fmt.Sprintf(format, args...)}
		}
		line := sc.Bytes()
		var r Record
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, bad("not a valid record: %v", err)
		}
		if dec.More() {
			return nil, bad("extra data after the record")
		}
		canonical, err := json.Marshal(r)
		if err != nil || !bytes.Equal(canonical, line) {
			return nil, bad("altered: the line differs from what firedrill writes for its own content")
		}
		want, err := hashOf(r)
		if err != nil {
			return nil, bad("%v", err)
		}
		if r.Hash != want {
			return nil, bad("altered: its hash %s does not match its content (%s)", short(r.Hash), short(want))
		}
		if r.Seq != n {
			return nil, bad("sequence number %d at position %d: records were deleted, inserted or reordered", r.Seq, n)
		}
		prev := ""
		if n > 1 {
			prev = records[n-2].Hash
		}
		if r.Prev != prev {
			return nil, bad("does not follow record %d: prev %s, want %s (a record was deleted, inserted or reordered)", n-1, short(r.Prev), short(prev))
		}
		records = append(records, r)
	}
	if err := sc.Err(); err != nil {
		return nil, &CorruptError{Path: path, Record: n + 1, Reason: err.Error()}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		return nil, &CorruptError{Path: path, Record: n, Reason: "incomplete: the last line has no newline (an interrupted write?)"}
	}
	return records, nil
}

func short(h string) string {
	if h == "" {
		return `""`
	}
	if len(h) > 19 {
		return h[:19] + "…"
	}
	return h
}

// jsonLine returns the record as the tool writes it: compact JSON and a newline.
func jsonLine(r Record) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode record: %w", err)
	}
	return append(b, '\n'), nil
}

// hashOf returns "sha256:<hex>" of the record's JSON with Hash empty.
func hashOf(r Record) (string, error) {
	r.Hash = ""
	b, err := json.Marshal(r)
	if err != nil {
		return "", fmt.Errorf("encode record: %w", err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func (r Record) validate() error {
	var problems []string
	if r.Scenario == "" {
		problems = append(problems, "scenario is empty")
	}
	switch r.Result {
	case Passed, Failed, Aborted:
	default:
		problems = append(problems, fmt.Sprintf("result %q is not passed, failed or aborted", r.Result))
	}
	if r.StartedAt.IsZero() || r.FinishedAt.IsZero() {
		problems = append(problems, "started and finished times are required")
	} else if r.FinishedAt.Before(r.StartedAt) {
		problems = append(problems, "finished before it started")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// Where says where a drill runs: the CI run's URL on GitHub Actions, otherwise "host:<hostname>".
func Where(getenv func(string) string) string {
	if server, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"); server != "" && repo != "" && run != "" {
		return server + "/" + repo + "/actions/runs/" + run
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return "host:" + host
}
