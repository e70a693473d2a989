package validate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/validate"
	"github.com/firedrill-dev/firedrill/internal/golden"
	"github.com/firedrill-dev/firedrill/internal/seed"
)

// mitigation wraps shell lines in a one-scenario runbook. The first shell line is line 7.
func mitigation(lines ...string) string {
	return "# R\n\n### Scenario 1: Site Down\n\n**Mitigation:**\n```bash\n" + strings.Join(lines, "\n") + "\n```\n"
}

func TestChecks(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	if err := os.WriteFile(filepath.Join(base, "fix.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "notes.md"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		md    string
		check string
		level validate.Level
		line  int // 0: the check must not fire
	}{
		{"exec with a selector", mitigation("# Option A: x", "kubectl exec -n ns -l app=x -- ls"), "kubectl-args", validate.Error, 8},
		{"exec with a pod", mitigation("# Option A: x", "kubectl exec -n ns deploy/x -- ls"), "kubectl-args", "", 0},
		{"unknown flag", mitigation("# Option A: x", "kubectl get pods --bogus"), "kubectl-args", validate.Error, 8},
		{"not a kubectl command", mitigation("# Option A: x", "kubectl frobnicate pods"), "kubectl-args", validate.Error, 8},
		{"exec without pod", mitigation("# Option A: x", "kubectl exec -n ns -- ls"), "kubectl-args", validate.Error, 8},
		{"flags before the subcommand", mitigation("# Option A: x", "kubectl -n ns --context kind-x get pods -o wide"), "kubectl-args", "", 0},
		{"tty", mitigation("# Option A: x", "kubectl exec -it deploy/x -- ls"), "tty", validate.Warning, 8},
		{"no tty", mitigation("# Option A: x", "kubectl exec deploy/x -- ls"), "tty", "", 0},
		{"piped stdin without -i", mitigation("# Option A: x", "echo hi | kubectl exec deploy/x -- tee /f"), "stdin", validate.Error, 8},
		{"piped stdin with -i", mitigation("# Option A: x", "echo hi | kubectl exec -i deploy/x -- tee /f"), "stdin", "", 0},
		{"placeholder", mitigation("# Option A: x", `kubectl annotate deploy/x note="[TICKET_ID]"`), "placeholder", validate.Error, 8},
		{"no placeholder", mitigation("# Option A: x", `kubectl annotate deploy/x note="$TICKET"`, "TICKET=1"), "placeholder", "", 0},
		{"undefined variable", mitigation("# Option A: x", "redis-cli -a $PW PING"), "undefined-var", validate.Error, 8},
		{"defined variable", mitigation("# Option A: x", "export PW=secret", `redis-cli -a "$PW" PING`), "undefined-var", "", 0},
		{"missing script", mitigation("# Option A: x", "./scripts/nope.sh --now"), "missing-file", validate.Error, 8},
		{"present script", mitigation("# Option A: x", "./fix.sh --now"), "missing-file", "", 0},
		{"missing manifest", mitigation("# Option A: x", "kubectl apply -f ./fix.yaml"), "missing-file", validate.Error, 8},
		{"option without step", mitigation("# Option A: x", "# (do it by hand)", "", "# Option B: y", "kubectl get pods"), "no-step", validate.Error, 7},
		{"options with steps", mitigation("# Option A: x", "kubectl get pods"), "no-step", "", 0},
		{"flushdb", mitigation("# Option A: x", "redis-cli FLUSHDB"), "dangerous", validate.Warning, 8},
		{"keys", mitigation("# Option A: x", `redis-cli KEYS "a:*"`), "dangerous", validate.Warning, 8},
		{"find -delete in a pod", mitigation("# Option A: x", "kubectl exec deploy/x -- find /d -mtime +9 -delete"), "dangerous", validate.Warning, 8},
		{"restart statefulset", mitigation("# Option A: x", "kubectl rollout restart statefulset/db -n ns"), "dangerous", validate.Warning, 8},
		{"restart deployment", mitigation("# Option A: x", "kubectl rollout restart deployment/web -n ns"), "dangerous", "", 0},
		{"kubectl delete", mitigation("# Option A: x", "kubectl delete pod web-1 -n ns"), "dangerous", validate.Warning, 8},
		{"password on the command line", mitigation("# Option A: x", "redis-cli -a hunter2 PING"), "secret-on-command-line", validate.Warning, 8},
		{"glob in the pod", mitigation("# Option A: x", "kubectl exec deploy/x -- ls /data/*"), "remote-glob", validate.Error, 8},
		{"glob in a shell in the pod", mitigation("# Option A: x", "kubectl exec deploy/x -- sh -c 'ls /data/*'"), "remote-glob", "", 0},
		{"logs with selector and no tail", mitigation("# Option A: x", "kubectl logs -l app=x > /tmp/l"), "logs-tail", validate.Warning, 8},
		{"logs with selector and tail", mitigation("# Option A: x", "kubectl logs -l app=x --tail=-1 > /tmp/l"), "logs-tail", "", 0},
		{"documentation domain", mitigation("# Option A: x", "curl -f -m 5 https://api.example.com/health"), "url", validate.Error, 8},
		{"curl without --fail", mitigation("# Option A: x", "curl http://web.ns.svc/health"), "url", validate.Warning, 8},
		{"curl of a database", mitigation("# Option A: x", "curl postgres://db:5432"), "url", validate.Error, 8},
		{"good curl", mitigation("# Option A: x", "curl -f --max-time 5 http://web.ns.svc/health"), "url", "", 0},
		{"fixed scale", mitigation("# Option A: x", "kubectl scale deploy/x --replicas=1"), "scale", validate.Warning, 8},
		{"idle kill threshold", mitigation("# Option A: x", `psql -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'idle' AND state_change < NOW() - INTERVAL '10 minutes'"`), "sql", validate.Warning, 8},
		{"multi-line string", mitigation("# Option A: x", `psql -c "SELECT 1`, `FROM t"`), "multi-line", validate.Warning, 8},
		{"one-line string", mitigation("# Option A: x", `psql -c "SELECT 1 FROM t"`), "multi-line", "", 0},
		{"last resort first", mitigation("# Option A: wipe (LAST RESORT)", "kubectl delete pvc d", "# Option B: y", "kubectl get pods"), "order", validate.Warning, 7},
		{"last resort last", mitigation("# Option A: y", "kubectl get pods", "# Option B: wipe (LAST RESORT)", "kubectl delete pvc d"), "order", "", 0},
		{"approval not recorded", mitigation("# Option A: x (requires approval)", "kubectl get pods"), "approval", validate.Warning, 7},
		{"approval recorded", mitigation("# Option A: x (requires approval)", `echo "approved by $APPROVER" >> /evidence/approvals.json`, "kubectl get pods"), "approval", "", 0},
		{"missing link", "[notes](./nope.md)\n" + mitigation("# Option A: x", "kubectl get pods"), "missing-link", validate.Warning, 1},
		{"present link", "[notes](./notes.md)\n" + mitigation("# Option A: x", "kubectl get pods"), "missing-link", "", 0},
		{"no severity", mitigation("# Option A: x", "kubectl get pods"), "severity", validate.Warning, 3},
		{"tree tagged bash", mitigation("# Option A: x", "kubectl get pods") + "\n```bash\n/evidence/\n├── a.md (later)\n```\n", "block", validate.Info, 11},
		{"revert required", strings.Replace(mitigation("# Option A: bypass", "kubectl set env deploy/x BYPASS=true"), "# R\n", "# R\n", 1) +
			"\n**CRITICAL**: The bypass must be:\n1. Reverted within 1 hour\n", "requirement", validate.Error, 12},
		{"revert present", mitigation("# Option A: bypass", "kubectl set env deploy/x BYPASS=true", "kubectl set env deploy/x BYPASS-") +
			"\n**CRITICAL**: The bypass must be:\n1. Reverted within 1 hour\n", "requirement", "", 0},
		{"restart without waiting", mitigation("# Option A: x", "kubectl rollout restart deployment/web -n ns"), "rollout-wait", validate.Warning, 8},
		{"restart and wait", mitigation("# Option A: x", "kubectl rollout restart deployment/web -n ns", "kubectl rollout status deployment/web -n ns --timeout=5m"), "rollout-wait", "", 0},
		{"stamp placeholder", mitigation("# Option A: x", "kubectl get pods") + "\n**Last Tested:** [DATE]\n", "schedule", validate.Warning, 11},
	}
	evidence := func(capture bool) string {
		md := "# R\n\n## Process\n\n### 1. Mitigate (10-30 minutes)\n- Capture evidence before making changes\n\n## Scenarios\n\n" +
			"### Scenario 1: Web Down\n\n**Mitigation:**\n```bash\n# Option A: Restart\nkubectl rollout restart deployment/web -n shop\n" +
			"kubectl rollout status deployment/web -n shop\n```\n\n"
		if capture {
			md += "**Evidence Capture:**\n```bash\nkubectl logs deployment/web -n shop > /tmp/web.log\n```\n\n"
		} else {
			md += "**Post-Mitigation:**\n- Check\n\n```bash\n\n```\n\n"
		}
		return md + "## Evidence Requirements\n\n**All incidents must generate evidence packs containing:**\n1. Logs\n\n" +
			"**Evidence Storage:**\n```text\n/evidence/[ID]/\n└── web-[timestamp].log\n```\n"
	}
	cases = append(cases, []struct {
		name  string
		md    string
		check string
		level validate.Level
		line  int
	}{
		{"evidence after mitigation", evidence(true), "evidence", validate.Warning, 20},
		{"evidence outside the storage tree", evidence(true), "evidence", validate.Warning, 21},
		{"storage tree file nobody writes", evidence(true), "evidence", validate.Warning, 32},
		{"scenario without evidence", evidence(false), "evidence", validate.Warning, 10},
		{"tty with piped stdin", mitigation("# Option A: x", "echo hi | kubectl exec -it deploy/x -- tee /f"), "tty", validate.Warning, 8},
	}...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rb, err := runbook.Parse([]byte(tc.md), runbook.WithPath("r.md"))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := validate.Run(context.Background(), rb, validate.WithBaseDir(base))
			if err != nil {
				t.Fatal(err)
			}
			var got []validate.Finding
			for _, f := range rep.Findings {
				if f.Check == tc.check {
					got = append(got, f)
				}
			}
			if tc.line == 0 {
				if len(got) > 0 {
					t.Fatalf("unexpected %s finding: %+v", tc.check, got)
				}
				return
			}
			for _, f := range got {
				if f.Line == tc.line && f.Level == tc.level && f.Reason != "" {
					return
				}
			}
			t.Fatalf("want %s %s at line %d, got %+v (all: %+v)", tc.level, tc.check, tc.line, got, rep.Findings)
		})
	}
}

// TestSeedGolden pins every finding on the seed runbook, as text and as JSON.
func TestSeedGolden(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	rep, err := validate.Run(context.Background(), rb, validate.WithBaseDir("../../fixtures/runbooks"))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.HasErrors() {
		t.Fatal("the seed runbook has errors; the report has none")
	}
	var text, js bytes.Buffer
	if err := validate.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if err := validate.WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back validate.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Findings) != len(rep.Findings) {
		t.Fatalf("JSON does not round-trip: %v", err)
	}
	golden.Check(t, "testdata/incident-response.txt", text.Bytes())
	golden.Check(t, "testdata/incident-response.json", js.Bytes())
}
