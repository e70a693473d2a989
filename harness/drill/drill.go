// Package drill runs one runbook scenario as a fire drill on a live cluster: baseline, a real fault,
// detection of the runbook's symptoms, the runbook's mitigation options as Go steps with verified
// effects, recovery within the runbook's response time, the evidence pack, the ledger record, and
// the proof that nothing the drill did is left behind.
//
// The package is a plain library: it returns errors and reports progress through a callback; the
// ginkgo suite in drills/ and the CLI decide how to show it.
package drill

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// Scenario is one runbook failure scenario made real.
type Scenario interface {
	// Name is the runbook model's short name: frontend, database, storage, policy, ratelimit.
	Name() string
	// Fault is the failure the drill injects.
	Fault() Fault
	// Symptoms are what the runbook says an operator sees, each observed before the drill goes on.
	Symptoms() []Symptom
	// Options are the runbook's mitigation options as Go steps, in the runbook's order.
	Options() []Option
}

// RecoveryCheck is implemented by scenarios whose recovery means more than the steady state
// (rate limiting: legitimate bursts pass while an abusive client is still limited).
type RecoveryCheck interface {
	Recovered(ctx context.Context, d *Drill) (string, bool, error)
}

// ErrNotApplicable is returned by an option's Do when the option cannot apply to this system
// (e.g. volume expansion on a storage class that forbids it); the drill reports it as a finding.
var ErrNotApplicable = errors.New("not applicable here")

// Fault is a real failure. Inject records how to undo each mutation (Drill.Mutate) before making it.
type Fault interface {
	Describe() string
	Inject(ctx context.Context, d *Drill) error
}

// Symptom is a runbook symptom; Observe blocks until it is seen and says what was seen.
type Symptom struct {
	Text    string
	Observe func(ctx context.Context, d *Drill) (string, error)
}

// Option is one runbook mitigation option done as a Go step.
type Option struct {
	// Letter matches the runbook's "Option X".
	Letter string
	// Prepare, when set, records what Verify compares against (pods before a restart...); it runs
	// before the option, whether the Go step or the runbook's own commands perform it.
	Prepare func(ctx context.Context, d *Drill) error
	// Do performs the option; changes go through Drill.Mutate so they are journaled and recorded.
	Do func(ctx context.Context, d *Drill) error
	// Verify checks the option's own effect (pods replaced, replicas changed, keys flushed...).
	Verify func(ctx context.Context, d *Drill) (string, error)
	// Revert takes a temporary measure back (bypass off, limits restored) once service is restored;
	// nil for options that are not temporary.
	Revert func(ctx context.Context, d *Drill) error
}

// Approval is the record an option marked REQUIRES APPROVAL needs before it runs.
type Approval struct {
	Option string    `json:"option"`
	Action string    `json:"action"`
	Who    string    `json:"who"`
	Role   string    `json:"role"`
	When   time.Time `json:"when"`
	Why    string    `json:"why"`
}

// Change is one configuration change the drill made, for changes.json.
type Change struct {
	At       time.Time `json:"at"`
	Phase    string    `json:"phase"`
	Option   string    `json:"option,omitempty"`
	What     string    `json:"what"`
	Resource string    `json:"resource"`
	By       string    `json:"by"`
	Reverted bool      `json:"reverted,omitempty"`
}

// Event is one timeline entry.
type Event struct {
	At     time.Time `json:"at"`
	Phase  string    `json:"phase"`
	What   string    `json:"what"`
	Detail string    `json:"detail,omitempty"`
}

// Progress receives each phase and step as it happens.
type Progress func(Event)

// Drill is one running drill: its cluster, its runbook scenario and what it has recorded so far.
type Drill struct {
	ID        string
	Cluster   *cluster.Cluster
	Namespace string
	Runbook   *runbook.Runbook
	Scenario  *runbook.Scenario
	Severity  runbook.Severity
	Commander string
	Journal   *Journal
	// lockSeq numbers the journal's undo that releases the drill lock.
	lockSeq  int
	Log      logr.Logger
	progress Progress
	pack     *evidence.Pack
	// shell runs the runbook's commands as written; scratch receives what they write.
	shell   *shell.Runner
	scratch string
	// step numbers the commands stored in the evidence pack's diagnosis/ directory.
	step int

	mu        sync.Mutex
	phase     string
	option    string
	events    []Event
	changes   []Change
	approvals []Approval
	findings  []validate.Finding
	// InjectedAt, DetectedAt and RecoveredAt mark the incident's clock.
	InjectedAt, DetectedAt, RecoveredAt time.Time
}

// Note adds a timeline event in the current phase and reports it.
func (d *Drill) Note(what, detail string) {
	d.mu.Lock()
	ev := Event{At: time.Now().UTC(), Phase: d.phase, What: what, Detail: detail}
	d.events = append(d.events, ev)
	d.mu.Unlock()
	if d.progress != nil {
		d.progress(ev)
	}
}

func (d *Drill) enter(phase string) {
	d.mu.Lock()
	d.phase = phase
	d.mu.Unlock()
	d.Note("phase started", phase)
}

// Mutate journals undo, then runs change, then records it in changes.json. The returned sequence
// number lets a temporary change be marked undone when the drill reverts it. A change that cannot
// be undone (a cache flush) passes a zero Undo and is only recorded.
func (d *Drill) Mutate(ctx context.Context, what, resource string, undo Undo, change func(context.Context) error) (int, error) {
	var seq int
	if undo.Kind != "" {
		var err error
		if seq, err = d.Journal.Record(undo); err != nil {
			return 0, err
		}
	}
	if err := change(ctx); err != nil {
		return seq, fmt.Errorf("%s: %w", what, err)
	}
	d.mu.Lock()
	d.changes = append(d.changes, Change{At: time.Now().UTC(), Phase: d.phase, Option: d.option, What: what, Resource: resource, By: "firedrill/" + d.ID})
	d.mu.Unlock()
	d.Note("change", what)
	return seq, nil
}

// Revert runs a journaled undo now and marks it done.
func (d *Drill) Revert(ctx context.Context, seq int, undo Undo) error {
	if err := Apply(ctx, d.Cluster, undo); err != nil {
		return err
	}
	if err := d.Journal.Done(seq); err != nil {
		return err
	}
	d.mu.Lock()
	d.changes = append(d.changes, Change{At: time.Now().UTC(), Phase: d.phase, Option: d.option, What: "revert: " + undo.Why,
		Resource: undo.Resource + "/" + undo.Name, By: "firedrill/" + d.ID, Reverted: true})
	d.mu.Unlock()
	d.Note("reverted", undo.Why)
	return nil
}

// Approve records the approval an option needs.
func (d *Drill) Approve(a Approval) {
	d.mu.Lock()
	d.approvals = append(d.approvals, a)
	d.mu.Unlock()
	d.Note("approval recorded", fmt.Sprintf("option %s approved by %s (%s): %s", a.Option, a.Who, a.Role, a.Why))
}

// Events, Changes and Approvals return copies of what the drill recorded.
func (d *Drill) Events() []Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Event(nil), d.events...)
}

func (d *Drill) Changes() []Change {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Change(nil), d.changes...)
}

// Findings are the runbook problems the drill's literal commands revealed.
func (d *Drill) Findings() []validate.Finding {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]validate.Finding(nil), d.findings...)
}

func (d *Drill) Approvals() []Approval {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Approval(nil), d.approvals...)
}
