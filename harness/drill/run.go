package drill

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/firedrill-dev/firedrill/harness/cluster"
	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// Phases of the runbook's General Response Process, plus the drill's own bracket.
const (
	PhaseBaseline    = "baseline"
	PhaseInject      = "inject"
	PhaseDetect      = "detect"
	PhaseAcknowledge = "acknowledge"
	PhaseDiagnose    = "diagnose"
	PhaseMitigate    = "mitigate"
	PhaseRecover     = "recover"
	PhaseEvidence    = "evidence"
	PhaseCleanup     = "cleanup"
)

// ErrUnhealthyBaseline means the stack did not serve users before the drill: nothing was injected.
var ErrUnhealthyBaseline = errors.New("stack is not healthy at baseline: no fault injected; fix the stack or run 'make cluster-up'")

// Config is what one drill needs.
type Config struct {
	Cluster  *cluster.Cluster
	Runbook  *runbook.Runbook
	Scenario Scenario
	// WorkDir holds the undo journal (journal/<id>.jsonl).
	WorkDir string
	// EvidenceRoot is where evidence packs go (<root>/incidents/<id>/).
	EvidenceRoot string
	// Commander is the drill's incident commander, named in the INCIDENT DETECTED message.
	Commander string
	// Approver approves options marked REQUIRES APPROVAL; without one they are skipped.
	Approver *Approval
	// AllowLastResort lets options marked LAST RESORT or data risk run.
	AllowLastResort bool
	// Options limits the drill to these option letters (all, in the runbook's order, when empty).
	Options []string
	// Exhaustive runs every selected option even after service is restored, to exercise each one.
	Exhaustive bool
	// Literal runs each option's own runbook commands as written first, with the Go step's check as
	// the reference; when they fail or have no effect, that is a runbook finding and the Go step runs.
	Literal bool
	// Ledger, when set, receives the drill's record once cleanup is done.
	Ledger *ledger.Ledger
	// RepoRoot, when set, makes the evidence path in the ledger relative to the repository.
	RepoRoot string
	// Settle is how long the drill watches for recovery after each option before judging it, as
	// an engineer would give readiness probes and rollouts a moment (default 30s).
	Settle   time.Duration
	Progress Progress
	Log      logr.Logger
	// Now names the drill; tests may fix it.
	Now func() time.Time
}

// OptionResult is what one mitigation option did.
type OptionResult struct {
	Letter   string `json:"letter"`
	Title    string `json:"title"`
	Line     int    `json:"line"`
	Ran      bool   `json:"ran"`
	Skipped  string `json:"skipped,omitempty"`
	Effect   string `json:"effect,omitempty"`
	Error    string `json:"error,omitempty"`
	Reverted bool   `json:"reverted,omitempty"`
	// Literal says how the runbook's own commands for the option fared: "verified" when they had
	// the option's effect, otherwise why the Go step ran instead; empty when not run as written.
	Literal   string `json:"literal,omitempty"`
	Recovered bool   `json:"recovered"`
	// RecoveredAfterRevert is set when service was back once the temporary measure was taken back:
	// the revert itself fixed the fault (e.g. the rollout it caused reloaded configuration).
	RecoveredAfterRevert bool          `json:"recoveredAfterRevert,omitempty"`
	Duration             time.Duration `json:"duration"`
}

// Result is the outcome of one drill.
type Result struct {
	ID             string                   `json:"id"`
	Scenario       string                   `json:"scenario"`
	Title          string                   `json:"title"`
	Severity       string                   `json:"severity"`
	SeveritySource string                   `json:"severitySource"`
	Fault          string                   `json:"fault"`
	Started        time.Time                `json:"started"`
	Finished       time.Time                `json:"finished"`
	InjectedAt     time.Time                `json:"injectedAt"`
	DetectedAt     time.Time                `json:"detectedAt"`
	RecoveredAt    time.Time                `json:"recoveredAt"`
	ResponseTarget time.Duration            `json:"responseTarget"`
	MitigationMax  time.Duration            `json:"mitigationWindowMax"`
	TargetMet      bool                     `json:"targetMet"`
	Phases         map[string]time.Duration `json:"phases"`
	Symptoms       []string                 `json:"symptoms"`
	Options        []OptionResult           `json:"options"`
	Baseline       SteadyState              `json:"baseline"`
	Recovery       SteadyState              `json:"recovery"`
	Residue        []string                 `json:"residue"`
	Escalation     []string                 `json:"escalation"`
	// Findings are runbook problems the drill's literal commands revealed; they do not fail the drill.
	Findings       []validate.Finding `json:"findings"`
	Incident       string             `json:"incidentMessage"`
	EvidenceDir    string             `json:"evidenceDir"`
	EvidenceDigest string             `json:"evidenceDigest"`
	EvidenceReport string             `json:"evidenceReport"`
	LedgerSeq      int                `json:"ledgerSeq"`
	Passed         bool               `json:"passed"`
	Failure        string             `json:"failure,omitempty"`
	// Events is the drill's timeline, kept so a result read back from JSON can be drawn.
	Events []Event `json:"events"`
	Drill  *Drill  `json:"-"`
}

// Run runs one drill start to end. Whatever happens — failure, timeout, cancellation — every
// journaled fault and change is undone before Run returns, and Result.Residue says whether the
// stack's spec is back at its baseline.
func Run(ctx context.Context, cfg Config) (res Result, err error) {
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	model, ok := cfg.Runbook.ScenarioByName(cfg.Scenario.Name())
	if !ok {
		return res, fmt.Errorf("runbook %s has no scenario %q", cfg.Runbook.Path, cfg.Scenario.Name())
	}
	severity, ok := cfg.Runbook.SeverityByName(model.Severity)
	if !ok {
		return res, fmt.Errorf("scenario %q has severity %q, which the runbook's severity table does not define", model.Name, model.Severity)
	}
	start := now().UTC()
	id := fmt.Sprintf("DRILL-%s-%s", start.Format("20060102T150405Z"), model.Name)
	journal, err := OpenJournal(filepath.Join(cfg.WorkDir, "journal", id+".jsonl"))
	if err != nil {
		return res, err
	}
	d := &Drill{
		ID: id, Cluster: cfg.Cluster, Namespace: stack.Namespace, Runbook: cfg.Runbook, Scenario: model, Severity: severity,
		Commander: cfg.Commander, Journal: journal, Log: cfg.Log, progress: cfg.Progress,
	}
	res = Result{
		ID: id, Scenario: model.Name, Title: model.Title, Severity: severity.Name, SeveritySource: model.SeveritySource.String(),
		Fault: cfg.Scenario.Fault().Describe(), Started: start, ResponseTarget: severity.ResponseTime,
		Phases: map[string]time.Duration{}, Drill: d,
	}
	if w, ok := mitigationWindow(cfg.Runbook); ok {
		res.MitigationMax = w
	}
	release, err := d.lock(ctx)
	if err != nil {
		return res, err
	}
	// Registered first, so it runs last: after cleanup and the ledger record.
	defer func() {
		if releaseErr := release(context.WithoutCancel(ctx)); releaseErr != nil {
			err = errors.Join(err, releaseErr)
		}
	}()
	timed := func(phase string, f func() error) error {
		d.enter(phase)
		t := time.Now()
		err := f()
		res.Phases[phase] = time.Since(t)
		return err
	}

	var baseline SpecSnapshot
	if err := timed(PhaseBaseline, func() error {
		s, err := d.CheckSteadyState(ctx)
		if err != nil {
			return err
		}
		res.Baseline = s
		d.Note("steady state", s.String())
		if !s.OK() {
			return fmt.Errorf("%w (%s; %s)", ErrUnhealthyBaseline, s, strings.Join(s.Failures, "; "))
		}
		if baseline, err = d.CaptureSpec(ctx); err != nil {
			return err
		}
		if err := d.openPack(ctx, cfg.EvidenceRoot); err != nil {
			return err
		}
		if err := d.openShell(ctx, cfg.WorkDir); err != nil {
			return err
		}
		res.EvidenceDir = d.pack.Dir()
		return d.captureLogs(ctx, evidence.Before)
	}); err != nil {
		return finish(res, err)
	}

	// From here on the stack is changed: cleanup runs whatever happens, on a context that outlives
	// cancellation (Ctrl-C) so the undo is not skipped.
	defer func() {
		cleanupCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
		defer cancel()
		cleanupErr := timed(PhaseCleanup, func() error { return d.cleanup(cleanupCtx, baseline, &res) })
		if cleanupErr != nil {
			err = errors.Join(err, cleanupErr)
			res.Passed = false
			res.Failure = strings.TrimSpace(res.Failure + "; cleanup: " + cleanupErr.Error())
		}
		res.Finished = time.Now().UTC()
		res.Events = d.Events()
		if cfg.Ledger != nil {
			rec, ledgerErr := cfg.Ledger.Append(context.WithoutCancel(ctx), ledgerRecord(ctx, cfg, res))
			if ledgerErr != nil {
				err = errors.Join(err, fmt.Errorf("record drill in ledger: %w", ledgerErr))
			}
			res.LedgerSeq = rec.Seq
		}
	}()

	runErr := d.run(ctx, cfg, &res, timed)
	sealErr := timed(PhaseEvidence, func() error {
		// An interrupted drill still seals what it captured, marked incomplete.
		report, err := d.sealPack(&res, runErr)
		res.EvidenceReport = report.String()
		return err
	})
	return finish(res, errors.Join(runErr, sealErr))
}

func finish(res Result, err error) (Result, error) {
	if res.Drill != nil {
		res.Findings = res.Drill.Findings()
		if res.Drill.scratch != "" {
			// What the runbook's commands wrote is in the evidence pack, redacted; the raw copies go.
			_ = os.RemoveAll(res.Drill.scratch)
		}
	}
	res.Passed = err == nil
	if err != nil {
		res.Failure = err.Error()
	}
	res.Finished = time.Now().UTC()
	if res.Drill != nil {
		res.Events = res.Drill.Events()
	}
	return res, err
}

func (d *Drill) run(ctx context.Context, cfg Config, res *Result, timed func(string, func() error) error) error {
	scenario := cfg.Scenario
	if err := timed(PhaseInject, func() error {
		d.InjectedAt = time.Now().UTC()
		res.InjectedAt = d.InjectedAt
		d.Note("injecting fault", scenario.Fault().Describe())
		return scenario.Fault().Inject(ctx, d)
	}); err != nil {
		return fmt.Errorf("inject: %w", err)
	}

	// The whole incident must be over within the runbook's mitigation window.
	deadline := res.MitigationMax
	if deadline == 0 {
		deadline = 30 * time.Minute
	}
	incidentCtx, cancel := context.WithDeadline(ctx, d.InjectedAt.Add(deadline))
	defer cancel()

	if err := timed(PhaseDetect, func() error {
		for _, s := range scenario.Symptoms() {
			seen, err := s.Observe(incidentCtx, d)
			if err != nil {
				return fmt.Errorf("symptom %q not observed: %w", s.Text, err)
			}
			res.Symptoms = append(res.Symptoms, s.Text+": "+seen)
			d.Note("symptom observed", s.Text+": "+seen)
		}
		d.DetectedAt = time.Now().UTC()
		res.DetectedAt = d.DetectedAt
		return nil
	}); err != nil {
		return err
	}

	_ = timed(PhaseAcknowledge, func() error {
		res.Incident = d.incidentMessage(scenario)
		res.Escalation = escalation(d.Runbook, d.Scenario, d.Severity.Name)
		d.Note("incident declared", res.Incident)
		d.Note("paged per escalation matrix", strings.Join(res.Escalation, "; "))
		return nil
	})

	// The runbook: capture evidence before making changes.
	if err := timed(PhaseDiagnose, func() error {
		if err := d.diagnose(incidentCtx); err != nil {
			return err
		}
		return d.captureLogs(incidentCtx, evidence.During)
	}); err != nil {
		return err
	}

	if err := timed(PhaseMitigate, func() error { return d.mitigate(incidentCtx, cfg, res) }); err != nil {
		return err
	}

	return timed(PhaseRecover, func() error {
		s, err := d.WaitSteadyState(incidentCtx)
		res.Recovery = s
		if err != nil {
			return fmt.Errorf("no recovery within the runbook's mitigation window (%s): %w", deadline, err)
		}
		if rc, ok := scenario.(RecoveryCheck); ok {
			seen, err := Until(incidentCtx, func(ctx context.Context) (string, bool, error) { return rc.Recovered(ctx, d) })
			if err != nil {
				return fmt.Errorf("not recovered within the runbook's mitigation window (%s): %w", deadline, err)
			}
			d.Note("scenario recovered", seen)
		}
		d.RecoveredAt = time.Now().UTC()
		res.RecoveredAt = d.RecoveredAt
		res.TargetMet = d.RecoveredAt.Sub(d.InjectedAt) <= d.Severity.ResponseTime
		d.Note("recovered", fmt.Sprintf("%s after injection (%s response time %s): %s",
			d.RecoveredAt.Sub(d.InjectedAt).Round(time.Second), d.Severity.Name, d.Severity.ResponseTime, s))
		return d.captureLogs(ctx, evidence.After)
	})
}

// mitigate runs the options in the runbook's order until one restores service for good.
// Temporary measures (options with Revert) are verified, then reverted, and the search goes on.
func (d *Drill) mitigate(ctx context.Context, cfg Config, res *Result) error {
	for _, opt := range cfg.Scenario.Options() {
		if len(cfg.Options) > 0 && !slices.Contains(cfg.Options, opt.Letter) {
			continue
		}
		model, ok := findOption(d.Scenario, opt.Letter)
		if !ok {
			return fmt.Errorf("scenario %q has a Go step for option %s, which the runbook does not have", d.Scenario.Name, opt.Letter)
		}
		r := OptionResult{Letter: opt.Letter, Title: model.Title, Line: model.Line}
		d.mu.Lock()
		d.option = opt.Letter
		d.mu.Unlock()
		switch {
		case model.Markers.RequiresApproval && cfg.Approver == nil:
			r.Skipped = "requires approval and the drill has no approver"
		case (model.Markers.LastResort || model.Markers.DataRisk) && !cfg.AllowLastResort:
			r.Skipped = "marked LAST RESORT / data risk; run with last resort allowed to drill it"
		}
		if r.Skipped != "" {
			d.Note(fmt.Sprintf("option %s skipped", opt.Letter), r.Skipped)
			res.Options = append(res.Options, r)
			continue
		}
		if model.Markers.RequiresApproval {
			a := *cfg.Approver
			a.Option, a.Action, a.When = opt.Letter, model.Title, time.Now().UTC()
			d.Approve(a)
		}
		d.Note(fmt.Sprintf("option %s", opt.Letter), fmt.Sprintf("%s (runbook line %d)", model.Title, model.Line))
		t := time.Now()
		var literal *literalRun
		var err error
		if cfg.Literal {
			r.Effect, literal, r.Literal, err = d.runAsWritten(ctx, opt, model)
			if err != nil {
				r.Error, r.Ran, r.Duration = err.Error(), true, time.Since(t)
				res.Options = append(res.Options, r)
				return fmt.Errorf("option %s (%s) as written: %w", opt.Letter, model.Title, err)
			}
		}
		if literal == nil {
			err = d.doGoStep(ctx, opt)
		}
		if errors.Is(err, ErrNotApplicable) {
			r.Skipped = err.Error()
			r.Duration = time.Since(t)
			d.Note(fmt.Sprintf("option %s not applicable", opt.Letter), r.Skipped)
			res.Options = append(res.Options, r)
			continue
		}
		if err == nil && literal == nil {
			r.Effect, err = opt.Verify(ctx, d)
		}
		r.Ran = true
		if err != nil {
			r.Error = err.Error()
			r.Duration = time.Since(t)
			res.Options = append(res.Options, r)
			return fmt.Errorf("option %s (%s): %w", opt.Letter, model.Title, err)
		}
		d.Note(fmt.Sprintf("option %s effect verified", opt.Letter), r.Effect)
		seen, recovered := d.settle(ctx, cfg)
		r.Recovered = recovered
		d.Note(fmt.Sprintf("after option %s", opt.Letter), seen)
		if opt.Revert != nil {
			revert := opt.Revert
			if literal != nil {
				revert = func(ctx context.Context, d *Drill) error { return d.undoLiteral(ctx, literal) }
			}
			if err := revert(ctx, d); err != nil {
				return fmt.Errorf("revert option %s: %w", opt.Letter, err)
			}
			r.Reverted = true
			seen, recovered := d.settle(ctx, cfg)
			r.RecoveredAfterRevert = recovered
			d.Note(fmt.Sprintf("after reverting option %s", opt.Letter), seen)
		}
		r.Duration = time.Since(t)
		res.Options = append(res.Options, r)
		fixed := (r.Recovered && opt.Revert == nil) || r.RecoveredAfterRevert
		if fixed && !cfg.Exhaustive {
			return nil
		}
	}
	return nil
}

// doGoStep runs an option's Go step: Prepare, then Do.
func (d *Drill) doGoStep(ctx context.Context, opt Option) error {
	if opt.Prepare != nil {
		if err := opt.Prepare(ctx, d); err != nil {
			return err
		}
	}
	return opt.Do(ctx, d)
}

func findOption(s *runbook.Scenario, letter string) (runbook.Option, bool) {
	for _, o := range s.Options {
		if o.Letter == letter {
			return o, true
		}
	}
	return runbook.Option{}, false
}

// cleanup replays the undo journal, waits for the workloads to settle and compares the namespace
// with its baseline snapshot; any difference is residue and fails the drill.
func (d *Drill) cleanup(ctx context.Context, baseline SpecSnapshot, res *Result) error {
	var errs []error
	// The lock stays: released last, after the ledger record, so no drill starts on a stack still settling.
	if err := d.Journal.ReplayExcept(ctx, d.Cluster, d.lockSeq); err != nil {
		errs = append(errs, err)
	}
	// Every workload of the baseline must be rolled out again before the comparison.
	for key := range baseline {
		resource, name, _ := strings.Cut(key, "/")
		if resource != "deployments" && resource != "statefulsets" {
			continue
		}
		gvr := schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: resource}
		if err := d.Cluster.WaitRollout(ctx, gvr, d.Namespace, name); err != nil {
			errs = append(errs, err)
		}
	}
	if baseline != nil {
		now, err := d.CaptureSpec(ctx)
		if err != nil {
			errs = append(errs, err)
		} else {
			res.Residue = baseline.Diff(now)
			if len(res.Residue) > 0 {
				errs = append(errs, fmt.Errorf("residue after cleanup: %s", strings.Join(res.Residue, ", ")))
			}
		}
	}
	if s, err := d.WaitSteadyState(ctx); err != nil {
		errs = append(errs, fmt.Errorf("after cleanup: %w", err))
	} else {
		d.Note("stack back at baseline", s.String())
	}
	return errors.Join(errs...)
}

// incidentMessage fills the runbook's INCIDENT DETECTED template.
func (d *Drill) incidentMessage(s Scenario) string {
	return strings.Join([]string{
		"INCIDENT DETECTED",
		"Severity: " + d.Severity.Name,
		"Component: " + d.Scenario.Name,
		"Impact: " + d.Scenario.Title + " (drill: " + s.Fault().Describe() + ")",
		"Started: " + d.InjectedAt.Format(time.RFC3339),
		"Incident Commander: @" + d.Commander,
		"Status Page: n/a (fire drill " + d.ID + ")",
	}, "\n")
}

// escalation returns whom the escalation matrix says to page for this scenario's severity,
// preferring the row whose incident type shares a word with the scenario title.
func escalation(rb *runbook.Runbook, s *runbook.Scenario, severity string) []string {
	var best *runbook.EscalationRow
	bestScore := -1 << 31
	titleWords := strings.Fields(strings.ToLower(s.Title))
	var otherWords []string
	for _, other := range rb.Scenarios {
		if other.Name != s.Name {
			otherWords = append(otherWords, strings.Fields(strings.ToLower(other.Title))...)
		}
	}
	for i := range rb.Escalation {
		row := &rb.Escalation[i]
		if !slices.Contains(row.Severities, severity) {
			continue
		}
		// A row sharing words with this scenario's title wins; one naming another scenario loses.
		score := 0
		for _, w := range strings.Fields(strings.ToLower(row.IncidentType)) {
			if len(w) <= 3 {
				continue
			}
			if slices.Contains(titleWords, w) {
				score += 2
			} else if slices.Contains(otherWords, w) {
				score--
			}
		}
		if score > bestScore {
			best, bestScore = row, score
		}
	}
	if best == nil {
		return []string{"no escalation row for " + severity}
	}
	return []string{
		best.IncidentType + " (runbook line " + fmt.Sprint(best.Line) + ")",
		"primary: " + best.Primary, "secondary: " + best.Secondary, "executive: " + best.Executive,
	}
}

// mitigationWindow is the upper bound of the process phase named "Mitigate".
func mitigationWindow(rb *runbook.Runbook) (time.Duration, bool) {
	for _, p := range rb.Process {
		if strings.Contains(strings.ToLower(p.Name), "mitigat") && p.Window.Max > 0 {
			return p.Window.Max, true
		}
	}
	return 0, false
}

// Version names the harness build in ledger records; the Makefile sets it from git.
var Version = "dev"

// ledgerRecord turns a result into the ledger's record; a cancelled drill is "aborted".
func ledgerRecord(ctx context.Context, cfg Config, res Result) ledger.Record {
	result := ledger.Passed
	switch {
	case ctx.Err() != nil:
		result = ledger.Aborted
	case !res.Passed:
		result = ledger.Failed
	}
	var phases []ledger.Phase
	for _, name := range []string{PhaseBaseline, PhaseInject, PhaseDetect, PhaseAcknowledge, PhaseDiagnose, PhaseMitigate, PhaseRecover, PhaseEvidence, PhaseCleanup} {
		if d, ok := res.Phases[name]; ok {
			phases = append(phases, ledger.Phase{Name: name, Duration: ledger.Duration(d)})
		}
	}
	return ledger.Record{
		Scenario: res.Scenario, Severity: res.Severity, Kind: "fire-drill",
		StartedAt: res.Started, FinishedAt: res.Finished, Result: result, Phases: phases,
		ResponseTarget: ledger.Duration(res.ResponseTarget), TargetMet: res.TargetMet,
		EvidenceDigest: res.EvidenceDigest, EvidencePath: evidencePath(cfg.RepoRoot, res.EvidenceDir),
		RunbookDigest: cfg.Runbook.Digest, HarnessVersion: Version,
		Where: ledger.Where(os.Getenv),
	}
}

// settle watches for recovery for up to cfg.Settle and returns the last observation.
func (d *Drill) settle(ctx context.Context, cfg Config) (string, bool) {
	window := cfg.Settle
	if window == 0 {
		window = 30 * time.Second
	}
	settleCtx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var seen string
	var recovered bool
	_, _ = Until(settleCtx, func(ctx context.Context) (string, bool, error) {
		seen, recovered = d.recovered(ctx, cfg.Scenario)
		return seen, recovered, nil
	})
	return seen, recovered
}

// recovered tells whether service is back: the steady state holds and, for scenarios with their
// own notion of recovery, that check passes too.
func (d *Drill) recovered(ctx context.Context, scenario Scenario) (string, bool) {
	s, err := d.CheckSteadyState(ctx)
	if err != nil {
		return err.Error(), false
	}
	if !s.OK() {
		return s.String(), false
	}
	rc, ok := scenario.(RecoveryCheck)
	if !ok {
		return s.String(), true
	}
	seen, done, err := rc.Recovered(ctx, d)
	if err != nil {
		return err.Error(), false
	}
	return s.String() + "; " + seen, done
}

// evidencePath is dir relative to the repository when it lies inside it, so ledger records stay
// valid in any clone.
func evidencePath(repoRoot, dir string) string {
	if repoRoot == "" || dir == "" {
		return dir
	}
	rel, err := filepath.Rel(repoRoot, dir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return dir
	}
	return filepath.ToSlash(rel)
}
