package drill

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
	"github.com/firedrill-dev/firedrill/harness/stack"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// openPack starts the drill's evidence pack; every byte written to it is redacted against the
// namespace's Secret values.
func (d *Drill) openPack(ctx context.Context, root string) error {
	secrets, err := d.SecretValues(ctx)
	if err != nil {
		return fmt.Errorf("read secrets to redact evidence: %w", err)
	}
	d.pack, err = evidence.New(root, d.ID, evidence.WithSecrets(secrets...), evidence.WithLogger(d.Log))
	return err
}

// openShell prepares the runner for the runbook's own commands: the drill's cluster and namespace
// only, placeholders from the stack's table, a scratch directory of the drill's own.
func (d *Drill) openShell(ctx context.Context, workDir string) error {
	table, err := stack.Table(ctx, d.Cluster.Clientset, d.ID, d.Commander)
	if err != nil {
		return err
	}
	d.scratch, err = filepath.Abs(filepath.Join(workDir, "scratch", d.ID))
	if err != nil {
		return err
	}
	d.shell, err = shell.New(shell.Config{
		Kubeconfig: d.Cluster.Kubeconfig, Context: d.Cluster.Context, Namespace: d.Namespace, Scratch: d.scratch,
		ScriptDir: filepath.Dir(d.Runbook.Path), Table: table, Timeout: time.Minute,
	})
	return err
}

// captureLogs stores frontend, database and event logs for one phase of the incident.
func (d *Drill) captureLogs(ctx context.Context, phase evidence.Phase) error {
	at := time.Now().UTC()
	for _, c := range []struct {
		kind    evidence.LogKind
		capture func(context.Context) ([]byte, error)
	}{
		{evidence.LogFrontend, func(ctx context.Context) ([]byte, error) { return d.CaptureLogs(ctx, FrontendSelector) }},
		{evidence.LogDatabase, func(ctx context.Context) ([]byte, error) { return d.CaptureLogs(ctx, DatabaseSelector) }},
		{evidence.LogEvents, d.CaptureEvents},
	} {
		data, err := c.capture(ctx)
		if err != nil {
			return fmt.Errorf("capture %s logs: %w", c.kind, err)
		}
		path, err := d.pack.AddLog(c.kind, phase, at, bytes.NewReader(data))
		if err != nil {
			return err
		}
		d.Note("evidence captured", path)
	}
	return nil
}

// diagnose stores what the scenario's diagnosis asks for: Go reads of the same resources as a
// reference, then the runbook's diagnosis and evidence-capture commands run as written, their
// output stored step by step. The container logs are also the "during" logs captured right after.
func (d *Drill) diagnose(ctx context.Context) error {
	steps := []struct {
		title, command string
		run            func(context.Context) ([]byte, error)
	}{
		{"pod status", "kubectl get pods -n " + d.Namespace, d.podTable},
		{"recent events", "kubectl get events -n " + d.Namespace + " --sort-by=.lastTimestamp", d.CaptureEvents},
	}
	for _, s := range steps {
		out, err := s.run(ctx)
		if err != nil {
			return fmt.Errorf("diagnosis %q: %w", s.title, err)
		}
		d.step++
		if _, err := d.pack.AddDiagnosis(d.step, s.title+" (firedrill's reference read)", s.command, out); err != nil {
			return err
		}
		d.Note(fmt.Sprintf("diagnosis %d", d.step), s.title)
	}
	// Then the runbook's own diagnosis and evidence-capture commands, exactly as written.
	for _, part := range []struct {
		name   string
		blocks []runbook.Block
	}{{"diagnosis", d.Scenario.Diagnosis}, {"evidence capture", d.Scenario.Evidence}} {
		for _, b := range part.blocks {
			if err := d.shell.Reset(); err != nil {
				return err
			}
			for _, c := range b.Commands {
				out := d.shell.Run(ctx, c)
				d.step++
				title := fmt.Sprintf("runbook line %d, %s", c.Line, part.name)
				if c.Comment != "" {
					title += ": " + c.Comment
				}
				if _, err := d.pack.AddDiagnosis(d.step, title, out.Text, literalOutput(out, d.scratch)); err != nil {
					return err
				}
				d.literal(part.name, out)
			}
		}
	}
	return ctx.Err()
}

// literal records one runbook command run as written: a note, and a finding when it failed.
func (d *Drill) literal(phase string, out shell.Outcome) {
	_, f := validate.Judge(out)
	if f == nil {
		d.Note("runbook command ran", fmt.Sprintf("line %d: %s", out.Line, out.Text))
		return
	}
	f.Where = d.Scenario.Name + ", " + phase
	d.mu.Lock()
	d.findings = append(d.findings, *f)
	d.mu.Unlock()
	d.Note("runbook finding", fmt.Sprintf("line %d: %s", f.Line, f.Reason))
}

// literalOutput is what a runbook command showed, for the evidence pack: status, output, and the
// content of the files it wrote (redirections land in the drill's scratch directory).
func literalOutput(out shell.Outcome, scratch string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "status: %s (exit %d, %s)\n", out.Status, out.ExitCode, out.Duration.Round(time.Millisecond))
	if out.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", out.Reason)
	}
	if out.Stdout != "" {
		fmt.Fprintf(&b, "\n--- stdout\n%s", out.Stdout)
	}
	if out.Stderr != "" {
		fmt.Fprintf(&b, "\n--- stderr\n%s", out.Stderr)
	}
	for _, f := range out.Files {
		data, err := os.ReadFile(filepath.Join(scratch, f))
		if err != nil {
			fmt.Fprintf(&b, "\n--- file %s: %v\n", f, err)
			continue
		}
		fmt.Fprintf(&b, "\n--- file %s (%d bytes)\n%s", f, len(data), data)
	}
	return b.Bytes()
}

func (d *Drill) podTable(ctx context.Context) ([]byte, error) {
	pods, err := d.Cluster.Clientset.CoreV1().Pods(d.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%-45s %-8s %-10s %s\n", "NAME", "READY", "STATUS", "RESTARTS")
	for _, p := range pods.Items {
		ready, restarts, status := 0, int32(0), string(p.Status.Phase)
		for _, s := range p.Status.ContainerStatuses {
			if s.Ready {
				ready++
			}
			restarts += s.RestartCount
			if s.State.Waiting != nil && s.State.Waiting.Reason != "" {
				status = s.State.Waiting.Reason
			}
		}
		fmt.Fprintf(&buf, "%-45s %d/%-6d %-10s %d\n", p.Name, ready, len(p.Spec.Containers), status, restarts)
	}
	return buf.Bytes(), nil
}

// sealPack writes the records, the timeline, the impact assessment and the checklist, seals the
// pack and checks it against the runbook's evidence requirements. An interrupted or failed drill
// seals its pack as incomplete.
func (d *Drill) sealPack(res *Result, runErr error) (evidence.Report, error) {
	var changeIDs, approvalIDs []string
	approvalOf := map[string]string{}
	for i, a := range d.Approvals() {
		id := fmt.Sprintf("apr-%d", i+1)
		approvalOf[a.Option] = id
		approvalIDs = append(approvalIDs, id)
		if err := d.pack.RecordApproval(evidence.Approval{ID: id, Action: "Option " + a.Option + ": " + a.Action, Who: a.Who, Role: a.Role, At: a.When, Why: a.Why}); err != nil {
			return evidence.Report{}, err
		}
	}
	for i, c := range d.Changes() {
		id := fmt.Sprintf("chg-%d", i+1)
		changeIDs = append(changeIDs, id)
		if err := d.pack.RecordChange(evidence.Change{ID: id, What: c.What, Resource: c.Resource, At: c.At, By: c.By,
			Option: c.Option, Approval: approvalOf[c.Option]}); err != nil {
			return evidence.Report{}, err
		}
	}
	var events []evidence.Event
	for _, e := range d.Events() {
		events = append(events, evidence.Event{Stage: e.Phase, At: e.At, What: e.What, Detail: e.Detail})
	}
	if err := d.pack.SetTimeline(d.InjectedAt, events); err != nil {
		return evidence.Report{}, err
	}
	// A drill interrupted before detection has no impact to assess; its pack is incomplete anyway.
	if !d.DetectedAt.IsZero() {
		if err := d.pack.SetImpact(evidence.Impact{
			Severity: d.Severity.Name, Component: d.Scenario.Name, Description: d.Scenario.Title + ": " + res.Fault,
			UsersAffected: "all users (drill traffic)", Started: d.InjectedAt, Detected: d.DetectedAt, Recovered: d.RecoveredAt,
			ErrorRate: 1, ResponseTarget: d.Severity.ResponseTime,
		}); err != nil {
			return evidence.Report{}, err
		}
	}
	if err := d.pack.SetChecklist(checklist(d.Runbook, runErr == nil)); err != nil {
		return evidence.Report{}, err
	}
	req := requirements(d.Runbook, changeIDs, approvalIDs)
	if runErr != nil {
		manifest, err := d.pack.MarkIncomplete(runErr.Error())
		if err != nil {
			return evidence.Report{}, err
		}
		res.EvidenceDigest = manifest.Digest
		return evidence.Check(d.pack.Dir(), req), nil
	}
	manifest, err := d.pack.Finalize()
	if err != nil {
		return evidence.Report{}, err
	}
	res.EvidenceDigest = manifest.Digest
	report := evidence.Check(d.pack.Dir(), req)
	if !report.Complete() {
		return report, fmt.Errorf("evidence pack incomplete:\n%s", report)
	}
	return report, nil
}

// requirements turns the runbook's evidence section into what Check verifies.
func requirements(rb *runbook.Runbook, changes, approvals []string) evidence.Requirements {
	var files []string
	for _, e := range rb.Evidence.Tree {
		path := e.Path
		if e.Dir && !strings.HasSuffix(path, "/") {
			path += "/"
		}
		files = append(files, path)
	}
	return evidence.Requirements{
		Files:     files,
		LogPhases: evidence.Phases,
		Changes:   evidence.Records{Min: len(changes), IDs: changes},
		Approvals: evidence.Records{IDs: approvals},
	}
}

// checklist marks the runbook's post-incident items a drill completes itself.
func checklist(rb *runbook.Runbook, recovered bool) []evidence.ChecklistItem {
	var items []evidence.ChecklistItem
	for _, it := range rb.Checklist {
		text := strings.ToLower(it.Text)
		item := evidence.ChecklistItem{Text: it.Text, Note: "a person's task after a real incident; not part of a drill"}
		switch {
		case strings.Contains(text, "resolved and verified"):
			item.Done, item.Note = recovered, "steady state verified by the drill"
		case strings.Contains(text, "evidence pack"):
			item.Done, item.Note = true, "written and sealed by the drill"
		case strings.Contains(text, "timeline"):
			item.Done, item.Note = true, "timeline.md written from the drill's events"
		}
		items = append(items, item)
	}
	return items
}
