package shell

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

const testSecret = "s3cr3t-redis-pw"

func newRunner(t *testing.T, mod func(*Config)) (*Runner, string) {
	t.Helper()
	scratch := t.TempDir()
	scripts := t.TempDir()
	if err := os.MkdirAll(filepath.Join(scripts, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(scripts, "scripts", "export.sh"), []byte("#!/bin/sh\necho exported \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		// No cluster here: kubectl must fail to connect, never reach a real one.
		Kubeconfig: filepath.Join(t.TempDir(), "absent-kubeconfig"),
		Namespace:  "aureus",
		Scratch:    scratch,
		ScriptDir:  scripts,
		Table: Table{
			Placeholders: []Placeholder{{Token: "[ID]", Value: "DRILL-1-policy"}, {Token: "[IC]", Value: "firedrill-ic"}},
			Vars:         []Var{{Name: "REDIS_PASSWORD", Value: testSecret, Secret: true}},
		},
		Timeout: 20 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, scratch
}

func command(text string) runbook.Command { return runbook.Command{Line: 7, Text: text} }

func TestRunOutcomes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		text       string
		status     Status
		stdout     string // exact, when set
		inStderr   string
		inReason   string
		scratchOut map[string]string // file in scratch -> content
	}{
		{name: "local pipeline redirected into scratch /tmp", text: "echo hello | tr a-z A-Z > /tmp/incident-out.txt",
			status: Succeeded, scratchOut: map[string]string{"tmp/incident-out.txt": "HELLO\n"}},
		{name: "command substitution with date", text: `echo "at $(date +%Y)"`, status: Succeeded, stdout: "at " + time.Now().UTC().Format("2006") + "\n"},
		{name: "placeholders filled from the table", text: `echo "bypass by [IC] for incident [ID]"`, status: Succeeded,
			stdout: "bypass by firedrill-ic for incident DRILL-1-policy\n"},
		{name: "unknown placeholder refused, nothing runs", text: `echo "[INCIDENT_COMMANDER_NAME]" > /tmp/never.txt`, status: Refused,
			inReason: "placeholder [INCIDENT_COMMANDER_NAME] is not in firedrill's table"},
		{name: "unknown variable refused", text: `echo $PGPASSWORD`, status: Refused, inReason: "expands $PGPASSWORD"},
		{name: "secret from the table is redacted", text: `echo "pw=$REDIS_PASSWORD"`, status: Succeeded, stdout: "pw=[REDACTED]\n"},
		{name: "write outside scratch refused", text: `echo x > /etc/firedrill-test`, status: Refused, inReason: "writes /etc/firedrill-test"},
		{name: "tee outside scratch refused", text: `echo x | tee /var/tmp/firedrill-test`, status: Refused, inReason: "writes /var/tmp/firedrill-test"},
		{name: "tee into /tmp lands in scratch", text: `echo decision | tee /tmp/decision.log`, status: Succeeded, stdout: "decision\n",
			scratchOut: map[string]string{"tmp/decision.log": "decision\n"}},
		{name: "local curl refused", text: `curl https://aureus.example.com/health`, status: Refused, inReason: "runs curl on this machine"},
		{name: "unknown program refused", text: `rm -rf /tmp/x`, status: Refused, inReason: "runs rm, which is not a tool"},
		{name: "missing script fails", text: `./scripts/evidence-export.sh --archive`, status: Failed, inStderr: "script not found"},
		{name: "present script runs", text: `./scripts/export.sh --archive`, status: Succeeded, stdout: "exported --archive\n"},
		{name: "script outside the runbook refused", text: `../../bin/x`, status: Refused, inReason: "outside the runbook's directory"},
		{name: "failing pipeline keeps its exit", text: `echo a | grep b`, status: Failed},
		{name: "kubectl in another namespace refused", text: `kubectl get pods -n kube-system`, status: Refused, inReason: `namespace "kube-system"`},
		{name: "kubectl with = namespace refused", text: `kubectl get pods --namespace=default`, status: Refused, inReason: `namespace "default"`},
		{name: "kubectl all namespaces refused", text: `kubectl get pods -A`, status: Refused, inReason: "all namespaces"},
		{name: "kubectl context refused", text: `kubectl --context prod get pods -n aureus`, status: Refused, inReason: "sets --context"},
		{name: "kubectl delete refused", text: `kubectl delete pod x -n aureus`, status: Refused, inReason: "kubectl delete"},
		{name: "kubectl rejects a flag in-process, the process lives on", text: `kubectl exec -it -n aureus -l component=postgres -- psql -c "SELECT 1"`,
			status: Failed, inStderr: "unknown shorthand flag: 'l'"},
		{name: "kubectl without a reachable cluster fails", text: `kubectl get pods -n aureus`, status: Failed, inStderr: "absent-kubeconfig"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r, scratch := newRunner(t, nil)
			out := r.Run(context.Background(), command(c.text))
			if out.Status != c.status {
				t.Fatalf("status %s, want %s (reason %q, stderr %q)", out.Status, c.status, out.Reason, out.Stderr)
			}
			if c.stdout != "" && out.Stdout != c.stdout {
				t.Errorf("stdout %q, want %q", out.Stdout, c.stdout)
			}
			if !strings.Contains(out.Stderr, c.inStderr) {
				t.Errorf("stderr %q lacks %q", out.Stderr, c.inStderr)
			}
			if !strings.Contains(out.Reason, c.inReason) {
				t.Errorf("reason %q lacks %q", out.Reason, c.inReason)
			}
			for name, want := range c.scratchOut {
				got, err := os.ReadFile(filepath.Join(scratch, name))
				if err != nil || string(got) != want {
					t.Errorf("scratch %s = %q, %v; want %q", name, got, err, want)
				}
			}
			if strings.Contains(out.Stdout+out.Stderr+out.Reason, testSecret) {
				t.Errorf("secret in output: %+v", out)
			}
			if _, err := os.Stat(filepath.Join(scratch, "tmp", "never.txt")); err == nil {
				t.Error("a refused command wrote its file")
			}
		})
	}
}

func TestStateCarriesAcrossABlock(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, nil)
	if out := r.Run(context.Background(), command(`STAMP=$(date +%s)`)); !out.OK() {
		t.Fatalf("assignment: %+v", out)
	}
	if out := r.Run(context.Background(), command(`echo "$STAMP" | wc -c`)); !out.OK() || strings.TrimSpace(out.Stdout) == "1" {
		t.Fatalf("the variable set by the previous command is empty: %+v", out)
	}
	if err := r.Reset(); err != nil {
		t.Fatal(err)
	}
	if out := r.Run(context.Background(), command(`echo "$STAMP"`)); out.Status != Refused {
		t.Fatalf("after Reset the variable must be unknown: %+v", out)
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, func(c *Config) { c.Timeout = 300 * time.Millisecond })
	out := r.Run(context.Background(), command(`sleep 30`))
	if out.Status != TimedOut || out.Duration > 10*time.Second {
		t.Fatalf("got %s after %s, want timed-out", out.Status, out.Duration)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	r, _ := newRunner(t, func(c *Config) { c.DryRun = true })
	skipped := r.Run(context.Background(), command(`kubectl exec -n aureus deployment/aureus-frontend -- find /app/evidence -type f -mtime +90 -delete`))
	if skipped.Status != Skipped || !strings.Contains(skipped.Reason, "changes data inside a pod") {
		t.Fatalf("mutating exec under dry run: %+v", skipped)
	}
	read := r.Run(context.Background(), command(`kubectl exec -n aureus deployment/aureus-frontend -- df -h /app/evidence`))
	if read.Status == Skipped || read.DryRun {
		t.Fatalf("a read-only exec runs as written: %+v", read)
	}
	scale := r.Run(context.Background(), command(`kubectl scale deployment/aureus-frontend -n aureus --replicas=5`))
	if !scale.DryRun {
		t.Fatalf("scale must run as a server-side dry run: %+v", scale)
	}
}

func TestExecMutates(t *testing.T) {
	t.Parallel()
	cases := []struct {
		argv    string
		mutates bool
	}{
		{"df -h /app/evidence", false},
		{"du -sh /app/evidence/x", false},
		{"find /app/evidence -type f -mtime +90 -delete", true},
		{"find /app/evidence -type f", false},
		{"tee /app/evidence/x.log", true},
		{"psql -U aureus -c SELECT count(*) FROM pg_stat_activity;", false},
		{"psql -U aureus -c SELECT pg_terminate_backend(pid) FROM pg_stat_activity", true},
		{"redis-cli -a pw KEYS ratelimit:*", false},
		{"redis-cli -a pw FLUSHDB", true},
		{"curl -X POST http://localhost:5000/api/policy/evaluate -d {}", false},
		{"curl -X DELETE http://localhost:5000/x", true},
		{"some-tool --flag", true},
	}
	for _, c := range cases {
		if got := execMutates(strings.Fields(c.argv)); got != c.mutates {
			t.Errorf("execMutates(%q) = %v, want %v", c.argv, got, c.mutates)
		}
	}
}

func TestTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args    string
		targets []string
		ok      bool
	}{
		{"rollout restart deployment/aureus-frontend -n aureus", []string{"deployment/aureus-frontend"}, true},
		{"scale deployment/aureus-frontend -n aureus --replicas=5", []string{"deployment/aureus-frontend"}, true},
		{"set env deployment/aureus-frontend -n aureus POLICY_BYPASS_MODE=true", []string{"deployment/aureus-frontend"}, true},
		{"patch pvc aureus-evidence-pvc -n aureus -p {}", []string{"pvc/aureus-evidence-pvc"}, true},
		{"rollout undo deployment/aureus-frontend -n aureus", []string{"deployment/aureus-frontend"}, true},
		{"get pods -n aureus", nil, true},
		{"exec -n aureus deployment/x -- find /a -delete", nil, true},
		{"scale -n aureus --replicas=2", nil, false},
	}
	for _, c := range cases {
		got, ok := Targets(strings.Fields(c.args))
		if ok != c.ok || strings.Join(got, ",") != strings.Join(c.targets, ",") {
			t.Errorf("Targets(%q) = %v, %v; want %v, %v", c.args, got, ok, c.targets, c.ok)
		}
	}
}
