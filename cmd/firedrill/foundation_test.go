package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/ledger"
)

const seedRunbook = "../../fixtures/runbooks/incident-response.md"

// run executes the CLI in-process and returns stdout, the one-line error main would print, and the
// exit code main would use.
func run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err := root.ExecuteContext(context.Background())
	if err == nil {
		return out.String(), errOut.String(), exitOK
	}
	code = exitBadInput
	var exit *exitError
	if errors.As(err, &exit) {
		code = exit.code
	}
	return out.String(), errOut.String() + "firedrill: " + err.Error(), code
}

// writeLedger appends one passing drill per scenario name and returns the path.
func writeLedger(t *testing.T, scenarios ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.jsonl")
	l, err := ledger.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 10, 30, 10, 0, 0, 0, time.UTC)
	for i, sc := range scenarios {
		finished := end.AddDate(0, 0, -30*i)
		_, err := l.Append(context.Background(), ledger.Record{
			Scenario: sc, Severity: "P1", Kind: "fire-drill", StartedAt: finished.Add(-12 * time.Minute), FinishedAt: finished,
			Result: ledger.Passed, ResponseTarget: ledger.Duration(15 * time.Minute), TargetMet: true,
			RunbookDigest: "sha256:x", HarnessVersion: "test", Where: "host:test",
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestValidateSeed(t *testing.T) {
	t.Parallel()
	out, stderr, code := run(t, "validate", seedRunbook)
	if code != exitFindings {
		t.Fatalf("exit %d, want 1; stderr %s", code, stderr)
	}
	if !strings.Contains(out, "incident-response.md:144: error [kubectl-args] scenario 2 (database), diagnosis:") {
		t.Errorf("output lacks the kubectl exec -l finding at line 144:\n%s", out)
	}
	if strings.Contains(out, "incident-response.md:145:") {
		t.Errorf("a finding names a continuation line instead of the command's first line:\n%s", out)
	}
	if !strings.HasSuffix(stderr, "firedrill: "+seedRunbook+": 15 findings at error level; fix them before trusting this runbook") {
		t.Errorf("stderr = %q", stderr)
	}

	js, _, code := run(t, "validate", "--format", "json", seedRunbook)
	var rep struct {
		Errors   int
		Findings []struct {
			Level, Check, Command, Reason string
			Line                          int
		}
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || code != exitFindings || rep.Errors != 15 {
		t.Fatalf("json: %v, exit %d, %+v", err, code, rep.Errors)
	}
	for _, f := range rep.Findings {
		if f.Line == 0 && f.Check != "schedule" || f.Reason == "" || f.Level == "" {
			t.Errorf("finding without line or reason: %+v", f)
		}
	}
}

func TestValidateClean(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "clean.md")
	md := "# R\n\n| Severity | Description | Response Time | Examples |\n|---|---|---|---|\n| P1 - High | Down | 15 minutes | x |\n\n" +
		"### Scenario 1: Web Down\n**Severity:** P1\n\n**Mitigation:**\n```bash\n# Option A: Roll back\nkubectl rollout undo deployment/web -n shop\nkubectl rollout status deployment/web -n shop --timeout=5m\n```\n\n" +
		"## Testing\n\n**Runbook Testing Schedule:**\n- P1 scenarios: Quarterly drills\n"
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "validate", path)
	if code != exitOK || !strings.HasSuffix(out, "0 errors, 0 warnings, 1 info\n") || !strings.Contains(out, "severity P1, response time 15m, from runbook line 8: stated in the scenario") {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
}

func TestReport(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "ledger.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := run(t, "report", "--runbook", seedRunbook, "--now", "2026-11-26", "--ledger", empty)
	if code != exitOK || strings.Count(out, "never tested") != 6 { // five rows and the summary
		t.Fatalf("exit %d, %s\n%s", code, stderr, out)
	}
	for _, sc := range []string{"frontend", "database", "storage", "policy", "ratelimit"} {
		if !strings.Contains(out, "\n"+sc+" ") {
			t.Errorf("report lacks %s:\n%s", sc, out)
		}
	}

	// frontend passed 2026-10-30 (due 2026-11-30: within 7 days), database 2026-09-30 (due 2026-12-30: ok),
	// storage 2026-08-31 (due 2026-11-30), policy 2026-08-01 (due 2026-11-01: overdue).
	path := writeLedger(t, "frontend", "database", "storage", "policy")
	out, _, code = run(t, "report", "--runbook", seedRunbook, "--now", "2026-11-26", "--ledger", path, "--format", "json")
	var rep struct {
		Scenarios []struct{ Scenario, Status, NextDue string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != exitOK {
		t.Fatalf("json: %v, exit %d", err, code)
	}
	want := map[string]string{"frontend": "due", "database": "ok", "storage": "due", "policy": "overdue", "ratelimit": "never-tested"}
	for _, r := range rep.Scenarios {
		if want[r.Scenario] != r.Status {
			t.Errorf("%s: %s, want %s", r.Scenario, r.Status, want[r.Scenario])
		}
	}
	_, stderr, code = run(t, "report", "--runbook", seedRunbook, "--now", "2026-11-26", "--ledger", path, "--fail-on", "overdue")
	if code != exitFindings || stderr != "firedrill: 1 scenarios fail --fail-on overdue: policy (overdue)" {
		t.Errorf("fail-on: exit %d, %q", code, stderr)
	}
	html := filepath.Join(t.TempDir(), "report.html")
	if _, _, code := run(t, "report", "--runbook", seedRunbook, "--now", "2026-11-26", "--ledger", path, "--format", "html", "-o", html); code != exitOK {
		t.Fatalf("html exit %d", code)
	}
	if page, err := os.ReadFile(html); err != nil || !bytes.Contains(page, []byte("<!DOCTYPE html>")) {
		t.Errorf("html report: %v", err)
	}
}

func TestUpdateRunbook(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src, err := os.ReadFile(seedRunbook)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile("../../fixtures/runbooks/incident-response.severity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rbPath := filepath.Join(dir, "incident-response.md")
	if err := os.WriteFile(rbPath, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "incident-response.severity.yaml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	path := writeLedger(t, "frontend", "database")
	_, stderr, code := run(t, "report", "--runbook", rbPath, "--now", "2026-11-26", "--ledger", path, "--update-runbook")
	if code != exitOK || stderr != "updated "+rbPath+": Last Tested 2026-10-30, Next Test Due 2026-11-26\n" {
		t.Fatalf("exit %d, %q", code, stderr)
	}
	got, _ := os.ReadFile(rbPath)
	want := bytes.Replace(src, []byte("**Last Tested:** [DATE]  \n**Next Test Due:** [DATE]\n"),
		[]byte("**Last Tested:** 2026-10-30  \n**Next Test Due:** 2026-11-26\n"), 1)
	if bytes.Equal(want, src) || !bytes.Equal(got, want) {
		t.Fatalf("the runbook changed beyond the two values:\n%s", got)
	}
	if info, _ := os.Stat(rbPath); info.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v", info.Mode())
	}

	if err := os.Chmod(rbPath, 0o444); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = run(t, "report", "--runbook", rbPath, "--now", "2026-11-26", "--ledger", path, "--update-runbook")
	if code != exitBadInput || !strings.HasSuffix(stderr, "firedrill: --update-runbook: "+rbPath+" is read-only: make it writable (chmod u+w) if it may be updated") {
		t.Errorf("read-only runbook: exit %d, %q", code, stderr)
	}
	if after, _ := os.ReadFile(rbPath); !bytes.Equal(after, want) {
		t.Error("a read-only runbook was rewritten")
	}
}

// TestVerifyNamesTheEditedRecord: editing one byte of any record makes verify exit 1 naming it.
func TestVerifyNamesTheEditedRecord(t *testing.T) {
	t.Parallel()
	path := writeLedger(t, "frontend", "database", "storage")
	out, _, code := run(t, "verify", "--ledger", path)
	if code != exitOK || !strings.Contains(out, ": 3 records, chain intact, head sha256:") {
		t.Fatalf("exit %d, %q", code, out)
	}
	data, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(data, []byte("\n"))
	offset := 0
	for rec := 1; rec <= 3; rec++ {
		line := lines[rec-1]
		edited := bytes.Clone(data)
		i := offset + bytes.Index(line, []byte(`"result":"passed"`)) + len(`"result":"`)
		edited[i] = 'P' // "passed" -> "Passed"
		bad := filepath.Join(t.TempDir(), "ledger.jsonl")
		if err := os.WriteFile(bad, edited, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := run(t, "verify", "--ledger", bad)
		wantPrefix := "firedrill: ledger does not verify: " + bad + ": record " + string(rune('0'+rec)) + ": altered"
		if code != exitFindings || !strings.HasPrefix(stderr, wantPrefix) {
			t.Errorf("record %d: exit %d, %q", rec, code, stderr)
		}
		offset += len(line)
	}
}

func TestVerifyEvidencePacks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pack, err := evidence.New(filepath.Join(dir, "evidence"), "INC-7")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pack.AddLog(evidence.LogEvents, evidence.During, time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC), strings.NewReader("BackOff\n")); err != nil {
		t.Fatal(err)
	}
	m, err := pack.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ledger.jsonl")
	l, err := ledger.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 11, 2, 3, 10, 0, 0, time.UTC)
	for _, p := range []string{pack.Dir(), filepath.Join(dir, "elsewhere")} {
		if _, err := l.Append(context.Background(), ledger.Record{Scenario: "frontend", StartedAt: end.Add(-time.Minute), FinishedAt: end,
			Result: ledger.Passed, EvidencePath: p, EvidenceDigest: m.Digest}); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := run(t, "verify", "--ledger", path)
	if code != exitOK || !strings.Contains(out, "record 1: evidence pack "+pack.Dir()+": intact") || !strings.Contains(out, "record 2: evidence pack "+filepath.Join(dir, "elsewhere")+": absent") {
		t.Fatalf("exit %d %s\n%s", code, stderr, out)
	}
	if _, stderr, code := run(t, "verify", "--ledger", path, "--require-evidence"); code != exitFindings || stderr != "firedrill: evidence packs do not verify: record 2 (absent)" {
		t.Errorf("--require-evidence: exit %d, %q", code, stderr)
	}
	if err := os.WriteFile(filepath.Join(pack.Dir(), "extra.txt"), []byte("planted"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := run(t, "verify", "--ledger", path); code != exitFindings || stderr != "firedrill: evidence packs do not verify: record 1 (altered)" {
		t.Errorf("altered pack: exit %d, %q", code, stderr)
	}
}
