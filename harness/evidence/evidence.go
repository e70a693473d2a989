// Package evidence writes the incident evidence pack a drill leaves behind, and checks packs.
//
// A Pack follows the runbook's evidence storage tree:
//
//	<root>/incidents/<INCIDENT-ID>/
//	├── timeline.md                          SetTimeline
//	├── logs/<kind>-<timestamp>-<phase>.log  AddLog, e.g. frontend-20261126T153000Z-before.log
//	├── changes.json                         RecordChange
//	├── approvals.json                       RecordApproval
//	├── impact-assessment.md                 SetImpact
//	├── rca.md                               a template, pending until the postmortem fills it in
//	├── checklist.md                         SetChecklist: the post-incident checklist as the drill left it
//	├── diagnosis/<step>-<title>.txt         AddDiagnosis, one file per command
//	├── INCOMPLETE                           MarkIncomplete, when a drill was interrupted
//	└── manifest.json                        Finalize: size and SHA-256 of every other file
//
// Everything the Pack writes passes through its redactor (WithSecrets) on the way to disk, so a
// secret never reaches a file, not even briefly. Each file is written to a temporary name and
// renamed into place, so a crash leaves whole files or none, and a full disk leaves no partial or
// temporary file (the error names the pack and "no space left on device"; see ErrNoSpace). Files
// are 0644, directories 0755.
//
// Check tells whether a pack holds what the runbook requires; Verify tells whether it still holds
// what its manifest says. Neither needs the Pack that wrote it.
package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/firedrill-dev/firedrill/harness/internal/redact"
)

// Names of the files and directories of a pack, relative to its directory.
const (
	TimelineFile   = "timeline.md"
	ChangesFile    = "changes.json"
	ApprovalsFile  = "approvals.json"
	ImpactFile     = "impact-assessment.md"
	RCAFile        = "rca.md"
	ChecklistFile  = "checklist.md"
	ManifestFile   = "manifest.json"
	IncompleteFile = "INCOMPLETE"
	LogsDir        = "logs"
	DiagnosisDir   = "diagnosis"
)

// StampLayout is how capture times appear in file names: UTC, to the second.
const StampLayout = "20060102T150405Z"

// Errors callers branch on.
var (
	// ErrExists: the pack directory already holds files, or a file a step writes once (a diagnosis
	// step, a change or approval ID) already exists.
	ErrExists = errors.New("already exists")
	// ErrSealed: Finalize or MarkIncomplete has run; the pack takes no more writes.
	ErrSealed = errors.New("evidence pack is sealed")
	// ErrInvalid: an argument the pack cannot store as given.
	ErrInvalid = errors.New("invalid evidence")
	// ErrNoSpace: the pack's filesystem is full (it is syscall.ENOSPC). Nothing was half-written:
	// the pack holds what it held before the failed write.
	ErrNoSpace = syscall.ENOSPC
)

const (
	fileMode = 0o644
	dirMode  = 0o755
)

// LogKind names the component a log comes from; it starts the log's file name.
type LogKind string

// The log kinds of the runbook's storage tree. Other kinds (lower-case letters, digits and '-')
// are accepted too.
const (
	LogFrontend LogKind = "frontend"
	LogDatabase LogKind = "database"
	LogEvents   LogKind = "events"
)

// Phase is when a log was captured relative to the incident.
type Phase string

// Phases of an incident.
const (
	Before Phase = "before"
	During Phase = "during"
	After  Phase = "after"
)

// Phases lists every phase in order.
var Phases = []Phase{Before, During, After}

func (p Phase) valid() bool { return slices.Contains(Phases, p) }

var (
	incidentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	kindRE     = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	// logRE parses a log file name: kind, timestamp, phase and a sequence number for captures of
	// the same kind and phase within one second.
	logRE = regexp.MustCompile(`^([a-z0-9]+(?:-[a-z0-9]+)*)-(\d{8}T\d{6}Z)-(before|during|after)(?:-(\d+))?\.log$`)
)

// Pack is an evidence pack being written. Its methods are safe for concurrent use: logs captured
// in parallel stream into the pack side by side.
type Pack struct {
	dir    string
	id     string
	redact *redact.Redactor
	log    logr.Logger

	// writes is held shared by every write and exclusively while sealing, so the manifest sees
	// no half-written file. sealed is read under the shared lock and set under the exclusive one.
	writes sync.RWMutex
	sealed bool

	mu        sync.Mutex // guards the records and the choice of file names
	changes   []Change
	approvals []Approval
}

// Option configures New.
type Option func(*Pack)

// WithSecrets makes the pack replace every occurrence of each secret with "[REDACTED]" in
// everything it writes, including file names derived from titles. Base64 and JSON-escaped forms
// of a secret are replaced too.
func WithSecrets(secrets ...string) Option {
	return func(p *Pack) { p.redact = redact.New(secrets...) }
}

// WithLogger sets the logger; the default discards.
func WithLogger(log logr.Logger) Option { return func(p *Pack) { p.log = log } }

// New creates the pack for an incident at <root>/incidents/<incidentID>/, with empty change and
// approval records and the pending RCA template. The directory may exist but must be empty: a
// pack is never written over another.
func New(root, incidentID string, opts ...Option) (*Pack, error) {
	if root == "" {
		return nil, fmt.Errorf("new evidence pack: %w: empty root directory", ErrInvalid)
	}
	if !incidentRE.MatchString(incidentID) {
		return nil, fmt.Errorf("new evidence pack: %w: incident ID %q: use letters, digits, '.', '_' and '-'", ErrInvalid, incidentID)
	}
	p := &Pack{dir: filepath.Join(root, "incidents", incidentID), id: incidentID, log: logr.Discard()}
	for _, opt := range opts {
		opt(p)
	}
	if err := os.MkdirAll(filepath.Dir(p.dir), dirMode); err != nil {
		return nil, p.fail("create", fmt.Errorf("new evidence pack: %w", err))
	}
	created := true
	if err := os.Mkdir(p.dir, dirMode); errors.Is(err, os.ErrExist) {
		created = false
	} else if err != nil {
		return nil, p.fail("create", fmt.Errorf("new evidence pack: %w", err))
	}
	entries, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("new evidence pack: %w", err)
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("new evidence pack %s: %w and is not empty: choose a new incident ID or move the old pack away", p.dir, ErrExists)
	}
	if err := p.create(incidentID); err != nil {
		// Leave no half-made pack behind: the directory was empty, or not there, before.
		if entries, rerr := os.ReadDir(p.dir); rerr == nil {
			for _, e := range entries {
				_ = os.RemoveAll(filepath.Join(p.dir, e.Name()))
			}
		}
		if created {
			_ = os.Remove(p.dir)
		}
		return nil, p.fail("create", err)
	}
	p.log.V(1).Info("evidence pack created", "incident", incidentID, "dir", p.dir)
	return p, nil
}

// create writes the files a new pack starts with into its empty directory.
func (p *Pack) create(incidentID string) error {
	for _, d := range []string{p.dir, filepath.Join(p.dir, LogsDir), filepath.Join(p.dir, DiagnosisDir)} {
		if err := mkdir(d); err != nil {
			return fmt.Errorf("new evidence pack: %w", err)
		}
	}
	if err := p.writeJSON(ChangesFile, []Change{}); err != nil {
		return err
	}
	if err := p.writeJSON(ApprovalsFile, []Approval{}); err != nil {
		return err
	}
	return p.writeFile(RCAFile, rcaTemplate(incidentID))
}

// fail names a full disk as such, in one line with the pack's directory and what to do, instead of
// the temporary file's name; other errors pass through unchanged. op is what failed: "create",
// "add log frontend to", "seal".
func (p *Pack) fail(op string, err error) error {
	if err == nil || !errors.Is(err, ErrNoSpace) {
		return err
	}
	return fmt.Errorf("%s evidence pack %s: %w: free space on its filesystem or write evidence elsewhere (--artifacts)", op, p.dir, ErrNoSpace)
}

// Dir returns the pack's directory.
func (p *Pack) Dir() string { return p.dir }

// AddLog streams a log captured at the given time into logs/<kind>-<timestamp>-<phase>.log and
// returns that path, relative to the pack. Captures of the same kind and phase within one second
// get "-2", "-3", ... before ".log". The file appears whole once r ends; Finalize waits for it, so
// r must end: a follow stream should come from a request bound to the drill's context.
func (p *Pack) AddLog(kind LogKind, phase Phase, at time.Time, r io.Reader) (string, error) {
	if !kindRE.MatchString(string(kind)) {
		return "", fmt.Errorf("add log: %w: kind %q: use lower-case letters, digits and '-'", ErrInvalid, kind)
	}
	if !phase.valid() {
		return "", fmt.Errorf("add log %s: %w: phase %q: use %v", kind, ErrInvalid, phase, Phases)
	}
	if at.IsZero() {
		return "", fmt.Errorf("add log %s: %w: no capture time", kind, ErrInvalid)
	}
	base := fmt.Sprintf("%s-%s-%s", kind, at.UTC().Format(StampLayout), phase)
	name, err := p.write(func(taken func(string) bool) (string, error) {
		for n := 1; ; n++ {
			name := path.Join(LogsDir, base+".log")
			if n > 1 {
				name = path.Join(LogsDir, fmt.Sprintf("%s-%d.log", base, n))
			}
			if !taken(name) {
				return name, nil
			}
		}
	}, r)
	if err != nil {
		return "", p.fail("add log "+string(kind)+" to", fmt.Errorf("add log %s: %w", kind, err))
	}
	p.log.V(1).Info("log captured", "kind", kind, "phase", phase, "path", name)
	return name, nil
}

// AddDiagnosis stores the output of one diagnosis command in diagnosis/<step>-<title>.txt, under
// a header naming the step and the command, and returns that path. Each step is stored once.
func (p *Pack) AddDiagnosis(step int, title, command string, output []byte) (string, error) {
	if step < 1 {
		return "", fmt.Errorf("add diagnosis: %w: step %d: steps count from 1", ErrInvalid, step)
	}
	prefix := fmt.Sprintf("%02d", step)
	name := path.Join(DiagnosisDir, prefix+".txt")
	if s := slug(p.redact.String(title)); s != "" {
		name = path.Join(DiagnosisDir, prefix+"-"+s+".txt")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Step %d", step)
	if t := oneLine(title); t != "" {
		fmt.Fprintf(&b, ": %s", t)
	}
	fmt.Fprintf(&b, "\n$ %s\n\n", command)
	b.Write(output)
	if len(output) > 0 && output[len(output)-1] != '\n' {
		b.WriteByte('\n')
	}
	_, err := p.write(func(taken func(string) bool) (string, error) {
		// One file per step, whatever its title.
		for _, e := range p.listDir(DiagnosisDir) {
			if e == prefix+".txt" || strings.HasPrefix(e, prefix+"-") {
				return "", fmt.Errorf("%w: step %d is stored as %s", ErrExists, step, path.Join(DiagnosisDir, e))
			}
		}
		return name, nil
	}, &b)
	if err != nil {
		return "", p.fail(fmt.Sprintf("add diagnosis step %d to", step), fmt.Errorf("add diagnosis step %d: %w", step, err))
	}
	return name, nil
}

// Change is one configuration change made during the incident.
type Change struct {
	ID       string    `json:"id"`                 // unique within the pack; Requirements name changes by it
	What     string    `json:"what"`               // "rollout restart"
	Resource string    `json:"resource"`           // "deployment/aureus-frontend -n aureus"
	Before   string    `json:"before,omitempty"`   // state before, e.g. "replicas=3"
	After    string    `json:"after,omitempty"`    // state after
	At       time.Time `json:"at"`                 // when it was applied
	By       string    `json:"by"`                 // who or what applied it
	Step     int       `json:"step,omitempty"`     // runbook step number
	Option   string    `json:"option,omitempty"`   // mitigation option letter, "A"
	Approval string    `json:"approval,omitempty"` // ID of the approval that allowed it, if one was needed
}

// Approval is the record of an approval for an emergency action.
type Approval struct {
	ID     string    `json:"id"`     // unique within the pack; Requirements name approvals by it
	Action string    `json:"action"` // what was approved
	Who    string    `json:"who"`
	Role   string    `json:"role"` // "incident commander", "security team"
	At     time.Time `json:"at"`
	Why    string    `json:"why"`
}

// RecordChange appends a change to changes.json.
func (p *Pack) RecordChange(c Change) error {
	if c.ID == "" || c.What == "" || c.At.IsZero() {
		return fmt.Errorf("record change %q: %w: id, what and time are required", c.ID, ErrInvalid)
	}
	return p.record(ChangesFile, c.ID, func() (any, func(), bool) {
		if slices.ContainsFunc(p.changes, func(x Change) bool { return x.ID == c.ID }) {
			return nil, nil, false
		}
		p.changes = append(p.changes, c)
		return p.changes, func() { p.changes = p.changes[:len(p.changes)-1] }, true
	})
}

// RecordApproval appends an approval to approvals.json.
func (p *Pack) RecordApproval(a Approval) error {
	if a.ID == "" || a.Action == "" || a.Who == "" || a.At.IsZero() {
		return fmt.Errorf("record approval %q: %w: id, action, who and time are required", a.ID, ErrInvalid)
	}
	return p.record(ApprovalsFile, a.ID, func() (any, func(), bool) {
		if slices.ContainsFunc(p.approvals, func(x Approval) bool { return x.ID == a.ID }) {
			return nil, nil, false
		}
		p.approvals = append(p.approvals, a)
		return p.approvals, func() { p.approvals = p.approvals[:len(p.approvals)-1] }, true
	})
}

// record adds a record under p.mu with add, which reports false for a duplicate ID, and rewrites
// the file with every record so far. When the file cannot be written, undo takes the record back
// out, so the pack's records stay what its file holds and the same record can be retried.
func (p *Pack) record(file, id string, add func() (all any, undo func(), ok bool)) error {
	p.writes.RLock()
	defer p.writes.RUnlock()
	if p.sealed {
		return fmt.Errorf("record %s in %s: %w", id, file, ErrSealed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	all, undo, ok := add()
	if !ok {
		return fmt.Errorf("record %s in %s: %w", id, file, ErrExists)
	}
	if err := p.writeJSON(file, all); err != nil {
		undo()
		return p.fail("write "+file+" in", err)
	}
	return nil
}

// SetTimeline writes timeline.md: the events in time order, each at its offset from start
// (T+mm:ss; T-mm:ss before it). start is normally when the fault was injected. A later call
// replaces the timeline.
func (p *Pack) SetTimeline(start time.Time, events []Event) error {
	if start.IsZero() {
		return fmt.Errorf("set timeline: %w: no start time", ErrInvalid)
	}
	return p.put(TimelineFile, renderTimeline(p.id, start, events))
}

// SetImpact writes impact-assessment.md. A later call replaces it.
func (p *Pack) SetImpact(im Impact) error {
	if im.Severity == "" || im.Component == "" || im.Started.IsZero() || im.Detected.IsZero() {
		return fmt.Errorf("set impact: %w: severity, component, started and detected are required", ErrInvalid)
	}
	return p.put(ImpactFile, renderImpact(p.id, im))
}

// SetChecklist writes checklist.md: the runbook's post-incident checklist as the drill left it.
// A later call replaces it.
func (p *Pack) SetChecklist(items []ChecklistItem) error {
	return p.put(ChecklistFile, renderChecklist(p.id, items))
}

// put replaces a whole file.
func (p *Pack) put(name string, data []byte) error {
	p.writes.RLock()
	defer p.writes.RUnlock()
	if p.sealed {
		return fmt.Errorf("write %s: %w", name, ErrSealed)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fail("write "+name+" in", p.writeFile(name, data))
}

// write streams r, redacted, into a new file whose name pick chooses (under p.mu, given which
// names are taken), and returns the name. The copy runs without p.mu, so writes overlap.
func (p *Pack) write(pick func(taken func(string) bool) (string, error), r io.Reader) (string, error) {
	p.writes.RLock()
	defer p.writes.RUnlock()
	if p.sealed {
		return "", ErrSealed
	}
	tmp, err := stage(p.dir, r, p.redact)
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp) // after a successful rename, a no-op
	p.mu.Lock()
	defer p.mu.Unlock()
	name, err := pick(p.exists)
	if err != nil {
		return "", err
	}
	return name, commit(tmp, p.abs(name))
}

// writeFile writes data, redacted, to name, replacing any earlier version.
func (p *Pack) writeFile(name string, data []byte) error {
	if err := atomicWrite(p.abs(name), bytes.NewReader(data), p.redact); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeJSON writes v as indented JSON, without HTML escaping so that redaction sees secrets as
// the JSON-escaped form it knows.
func (p *Pack) writeJSON(name string, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return p.writeFile(name, b.Bytes())
}

// atomicWrite writes r through red to name: readers see the old file or the whole new one, and
// after a crash there is one or the other.
func atomicWrite(name string, r io.Reader, red *redact.Redactor) error {
	tmp, err := stage(filepath.Dir(name), r, red)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return commit(tmp, name)
}

// stage copies r through red into a new temporary file in dir, synced to disk, and returns its
// name.
func stage(dir string, r io.Reader, red *redact.Redactor) (string, error) {
	f, err := os.CreateTemp(dir, ".write-*")
	if err != nil {
		return "", err
	}
	w := red.Writer(f)
	_, err = io.Copy(w, r)
	if err == nil {
		err = w.Close()
	}
	if err == nil {
		err = f.Chmod(fileMode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// commit renames a staged file into place and syncs the directory that holds it.
func commit(tmp, name string) error {
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	return syncDir(filepath.Dir(name))
}

func (p *Pack) abs(name string) string { return filepath.Join(p.dir, filepath.FromSlash(name)) }

func (p *Pack) exists(name string) bool {
	_, err := os.Lstat(p.abs(name))
	return err == nil
}

func (p *Pack) listDir(dir string) []string {
	entries, _ := os.ReadDir(p.abs(dir))
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names
}

func mkdir(dir string) error {
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return err
	}
	return os.Chmod(dir, dirMode) // whatever the umask
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// slug turns a title into a file-name part: lower-case words joined by '-', at most 48 bytes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		default:
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	return b.String()
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
