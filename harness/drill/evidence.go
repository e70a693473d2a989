package drill

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/runbook"
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

// diagnose stores what the scenario's diagnosis asks for, as Go reads of the same resources. The
// container logs it also asks for are the "during" logs captured right after it.
func (d *Drill) diagnose(ctx context.Context) error {
	steps := []struct {
		title, command string
		run            func(context.Context) ([]byte, error)
	}{
		{"pod status", "kubectl get pods -n " + d.Namespace, d.podTable},
		{"recent events", "kubectl get events -n " + d.Namespace + " --sort-by=.lastTimestamp", d.CaptureEvents},
	}
	for i, s := range steps {
		out, err := s.run(ctx)
		if err != nil {
			return fmt.Errorf("diagnosis %q: %w", s.title, err)
		}
		if _, err := d.pack.AddDiagnosis(i+1, s.title, s.command, out); err != nil {
			return err
		}
		d.Note(fmt.Sprintf("diagnosis %d", i+1), s.title)
	}
	return nil
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
