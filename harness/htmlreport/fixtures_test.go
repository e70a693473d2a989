package htmlreport

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/fixtures"
	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/report"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/validate"
)

// t0 is when the fixture drills start.
var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// at is t0 plus seconds.
func at(seconds float64) time.Time { return t0.Add(time.Duration(seconds * float64(time.Second))) }

// timedEvents builds a drill's events from (seconds, phase, what, detail) rows; "phase started"
// rows enter a phase.
type ev struct {
	s                   float64
	phase, what, detail string
}

func events(rows ...ev) []drill.Event {
	out := make([]drill.Event, len(rows))
	for i, r := range rows {
		out[i] = drill.Event{At: at(r.s), Phase: r.phase, What: r.what, Detail: r.detail}
	}
	return out
}

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// passedResult is a policy drill as Run returns it: option A skipped, B ran without recovering,
// C recovered service at T+2m4s, well inside the P1 response time of 15 minutes.
func passedResult(evidenceDir string) drill.Result {
	return drill.Result{
		ID: "DRILL-20261126T100000Z-policy", Scenario: "policy", Title: "Policy Engine Failure", Severity: "P1",
		SeveritySource: "runbook line 12", Fault: "the policy ConfigMap holds invalid JSON",
		Started: t0, Finished: at(147), InjectedAt: at(1), DetectedAt: at(41), RecoveredAt: at(125),
		ResponseTarget: 15 * time.Minute, MitigationMax: 30 * time.Minute, TargetMet: true,
		Phases: map[string]time.Duration{
			drill.PhaseBaseline: sec(1), drill.PhaseInject: sec(4), drill.PhaseDetect: sec(36), drill.PhaseAcknowledge: 29 * time.Microsecond,
			drill.PhaseDiagnose: sec(2), drill.PhaseMitigate: sec(75.3), drill.PhaseRecover: sec(7.7), drill.PhaseEvidence: sec(0.5), drill.PhaseCleanup: sec(20),
		},
		Symptoms: []string{"Policy evaluation errors: 3/3 queries failed: 500 policy not loaded"},
		Options: []drill.OptionResult{
			{Letter: "A", Title: "Restart the policy engine (REQUIRES APPROVAL)", Line: 201, Skipped: "requires approval and the drill has no approver"},
			{Letter: "B", Title: "Reload the policy", Line: 205, Ran: true, Effect: "policy reloaded: 0 rules", Duration: sec(35)},
			{Letter: "C", Title: "Roll back the policy ConfigMap", Line: 210, Ran: true, Effect: "ConfigMap back at revision 3", Recovered: true, Duration: sec(40)},
		},
		EvidenceDir: evidenceDir, EvidenceDigest: "sha256:0f3a", EvidenceReport: "ok         timeline.md: 5027 bytes",
		Incident: "INCIDENT DETECTED\nSeverity: P1", Escalation: []string{"primary: On-call SRE"},
		Passed: true,
		Events: events(
			ev{0, drill.PhaseBaseline, "phase started", drill.PhaseBaseline},
			ev{0.3, drill.PhaseBaseline, "steady state", "3/3 pods healthy"},
			ev{1, drill.PhaseInject, "phase started", drill.PhaseInject},
			ev{1, drill.PhaseInject, "injecting fault", "the policy ConfigMap holds invalid JSON"},
			ev{5, drill.PhaseDetect, "phase started", drill.PhaseDetect},
			ev{40, drill.PhaseDetect, "symptom observed", "Policy evaluation errors"},
			ev{41, drill.PhaseAcknowledge, "phase started", drill.PhaseAcknowledge},
			ev{41.00001, drill.PhaseAcknowledge, "incident declared", "INCIDENT DETECTED"},
			ev{41.0001, drill.PhaseDiagnose, "phase started", drill.PhaseDiagnose},
			ev{43, drill.PhaseMitigate, "phase started", drill.PhaseMitigate},
			ev{43, drill.PhaseMitigate, "option A skipped", "requires approval and the drill has no approver"},
			ev{43.1, drill.PhaseMitigate, "option B", "Reload the policy (runbook line 205)"},
			ev{70, drill.PhaseMitigate, "option B effect verified", "policy reloaded: 0 rules"},
			ev{78, drill.PhaseMitigate, "after option B", "3/3 queries failed"},
			ev{78.2, drill.PhaseMitigate, "option C", "Roll back the policy ConfigMap (runbook line 210)"},
			ev{118.3, drill.PhaseRecover, "phase started", drill.PhaseRecover},
			ev{125, drill.PhaseRecover, "recovered", "2m4s after injection"},
			ev{126, drill.PhaseEvidence, "phase started", drill.PhaseEvidence},
			ev{126.5, drill.PhaseCleanup, "phase started", drill.PhaseCleanup},
		),
	}
}

// failureText is a failed drill's failure, with markup that must be shown, never run.
const failureText = `option B (Kill idle connections): <script>document.title="pwned"</script> exit status 1 & "quotes"`

// failedResult is a database drill whose option B failed: never recovered, a runbook finding, and
// residue after cleanup.
func failedResult(evidenceDir string) drill.Result {
	start := t0.Add(10 * time.Minute)
	a := func(s float64) time.Time { return start.Add(sec(s)) }
	evs := make([]drill.Event, 0, 10)
	for _, e := range []ev{
		{0, drill.PhaseBaseline, "phase started", drill.PhaseBaseline},
		{0.5, drill.PhaseInject, "phase started", drill.PhaseInject},
		{5, drill.PhaseDetect, "phase started", drill.PhaseDetect},
		{181, drill.PhaseAcknowledge, "phase started", drill.PhaseAcknowledge},
		{181.0001, drill.PhaseAcknowledge, "incident declared", "INCIDENT DETECTED"},
		{181.001, drill.PhaseDiagnose, "phase started", drill.PhaseDiagnose},
		{182, drill.PhaseMitigate, "phase started", drill.PhaseMitigate},
		{182, drill.PhaseMitigate, "option A skipped", "marked LAST RESORT"},
		{182.1, drill.PhaseMitigate, "option B", "Kill idle connections (runbook line 154)"},
		{184.3, drill.PhaseEvidence, "phase started", drill.PhaseEvidence},
		{184.4, drill.PhaseCleanup, "phase started", drill.PhaseCleanup},
	} {
		evs = append(evs, drill.Event{At: a(e.s), Phase: e.phase, What: e.what, Detail: e.detail})
	}
	return drill.Result{
		ID: "DRILL-20261126T101000Z-database", Scenario: "database", Title: "Database Connection Issues", Severity: "P1",
		Started: start, Finished: a(190), InjectedAt: a(0.6), DetectedAt: a(181),
		ResponseTarget: 15 * time.Minute, MitigationMax: 30 * time.Minute,
		Phases: map[string]time.Duration{
			drill.PhaseBaseline: sec(0.5), drill.PhaseInject: sec(4.5), drill.PhaseDetect: sec(176), drill.PhaseAcknowledge: 30 * time.Microsecond,
			drill.PhaseDiagnose: sec(1), drill.PhaseMitigate: sec(2.3), drill.PhaseEvidence: sec(0.1), drill.PhaseCleanup: sec(5.6),
		},
		Symptoms: []string{`Query timeouts: 2/3 queries failed: 503 {"error":"cannot connect to database"}`},
		Options: []drill.OptionResult{
			{Letter: "A", Title: "Restart postgres (LAST RESORT - data risk)", Line: 151, Skipped: "marked LAST RESORT / data risk; run with last resort allowed to drill it"},
			{Letter: "B", Title: "Kill idle connections", Line: 154, Ran: true, Error: "exit status 1", Duration: sec(2.2)},
		},
		Residue: []string{"deployments/aureus-frontend: spec.replicas 3 -> 1"},
		Findings: []validate.Finding{{
			Level: validate.Error, Check: "live-failed", Line: 144, Where: "database, diagnosis",
			Command: `kubectl exec -it -n aureus -l component=postgres -- psql -c "SELECT 1"`,
			Reason:  "fails when run (exit status 1): Error: unknown shorthand flag: 'l' in -l",
		}},
		EvidenceDir: evidenceDir,
		Passed:      false, Failure: failureText,
		Events: evs,
	}
}

// evidenceFixture plants an evidence pack under root and returns its directory and its files.
func evidenceFixture(t *testing.T, root, id string) (string, []string) {
	t.Helper()
	dir := filepath.Join(root, "artifacts", "evidence", "incidents", id)
	files := []string{"timeline.md", "manifest.json", "diagnosis/01-pod status.txt", "logs/frontend-20261126T100000Z-before.log"}
	for _, f := range files {
		path := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("evidence: "+f+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, files
}

// process is the seed runbook's general response process.
func process(t *testing.T) []runbook.Phase {
	t.Helper()
	src, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(src, runbook.WithPath(fixtures.IncidentResponse))
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Process) == 0 {
		t.Fatal("the seed runbook has no response process")
	}
	return rb.Process
}

// complianceFixture is a schedule with one scenario of each status that matters.
func complianceFixture() *report.Report {
	return &report.Report{
		Runbook: "fixtures/runbooks/incident-response.md", Ledger: "drills/ledger.jsonl", LedgerRecords: 3, Now: "2026-11-26",
		Rows: []report.Row{
			{Scenario: "frontend", Number: 1, Title: "Frontend Application Down", Severity: "P0", Cadence: "monthly", CadenceKind: "fire drills", LastTested: "2026-09-01", LastResult: "passed", Drills: 1, NextDue: "2026-10-01", Status: report.Overdue},
			{Scenario: "database", Number: 2, Title: "Database Connection Issues", Severity: "P1", Status: report.NeverTested, Cadence: "quarterly", CadenceKind: "fire drills"},
			{Scenario: "policy", Number: 3, Title: "Policy Engine Failure", Severity: "P1", Cadence: "quarterly", CadenceKind: "fire drills", LastTested: "2026-11-26", LastResult: "passed", Drills: 2, NextDue: "2027-02-26", Status: report.OK},
		},
		Counts: map[report.Status]int{report.Overdue: 1, report.NeverTested: 1, report.OK: 1},
	}
}
