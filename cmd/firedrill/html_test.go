package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/htmlreport"
)

// runHTML runs 'firedrill html' in-process: what it wrote, the exit code main would use, the error.
func runHTML(t *testing.T, args ...string) (output string, code int, err error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetArgs(append([]string{"html"}, args...))
	root.SetOut(&out)
	root.SetErr(&out)
	err = root.ExecuteContext(context.Background())
	var exit *exitError
	switch {
	case err == nil:
		code = exitOK
	case errors.As(err, &exit):
		code = exit.code
	default:
		code = exitBadInput
	}
	return out.String(), code, err
}

// htmlFixture writes two drill results, one with an evidence pack, and an empty ledger.
func htmlFixture(t *testing.T) (dir, results, ledgerPath string, ids []string) {
	t.Helper()
	dir = t.TempDir()
	results = filepath.Join(dir, "artifacts", "results")
	pack := filepath.Join(dir, "artifacts", "evidence", "incidents", "DRILL-20261126T100000Z-policy")
	if err := os.MkdirAll(pack, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pack, "timeline.md"), []byte("# timeline\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	for _, res := range []drill.Result{
		{ID: "DRILL-20261126T100000Z-policy", Scenario: "policy", Title: "Policy Engine Failure", Severity: "P1",
			Started: start, InjectedAt: start.Add(time.Second), DetectedAt: start.Add(30 * time.Second), RecoveredAt: start.Add(2 * time.Minute),
			ResponseTarget: 15 * time.Minute, TargetMet: true, Passed: true, EvidenceDir: pack,
			Phases: map[string]time.Duration{drill.PhaseInject: time.Second},
			Events: []drill.Event{{At: start.Add(time.Second), Phase: drill.PhaseInject, What: "phase started", Detail: drill.PhaseInject}}},
		{ID: "DRILL-20261126T101000Z-database", Scenario: "database", Severity: "P1", Started: start.Add(10 * time.Minute),
			Failure: "inject: <b>refused</b>"},
	} {
		if _, err := drill.WriteResult(results, res); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.ID)
	}
	ledgerPath = filepath.Join(dir, "ledger.jsonl")
	if err := os.WriteFile(ledgerPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, results, ledgerPath, ids
}

func TestHTML(t *testing.T) {
	t.Parallel()
	dir, results, ledgerPath, ids := htmlFixture(t)
	out := filepath.Join(dir, "artifacts", "html")
	stdout, code, err := runHTML(t, "--results", results, "--runbook", seedRunbook, "--ledger", ledgerPath, "--out", out, "--now", "2026-11-26")
	if code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if want := "wrote " + filepath.Join(out, "index.html") + ": 4 pages (index, compliance, 2 drills)\n"; stdout != want {
		t.Errorf("stdout = %q, want %q", stdout, want)
	}
	index := readString(t, filepath.Join(out, htmlreport.IndexFile))
	for _, id := range ids {
		if !strings.Contains(index, `href="`+htmlreport.PageFile(id)+`"`) {
			t.Errorf("index.html does not link %s", id)
		}
	}
	page := readString(t, filepath.Join(out, htmlreport.PageFile(ids[0])))
	if !strings.Contains(page, `href="../evidence/incidents/DRILL-20261126T100000Z-policy/timeline.md"`) {
		t.Errorf("the policy page does not link its evidence relative to --out")
	}
	failed := readString(t, filepath.Join(out, htmlreport.PageFile(ids[1])))
	if !strings.Contains(failed, "inject: &lt;b&gt;refused&lt;/b&gt;") {
		t.Errorf("the failed drill's page does not show its failure escaped")
	}
	// The compliance page is the seed runbook's schedule: every scenario, none tested in an empty ledger.
	compliance := readString(t, filepath.Join(out, htmlreport.ComplianceFile))
	if n := strings.Count(compliance, `<tr class="status-never-tested"`); n < 3 {
		t.Errorf("compliance.html has %d never-tested rows, want every scheduled scenario of the seed runbook", n)
	}
}

// Artifacts unpacked elsewhere: the results name packs where the drill machine had them, and the
// pages link the packs that came along beside the results.
func TestHTMLFindsMovedEvidence(t *testing.T) {
	t.Parallel()
	dir, _, ledgerPath, ids := htmlFixture(t)
	moved := filepath.Join(t.TempDir(), "unpacked")
	if err := os.Rename(filepath.Join(dir, "artifacts"), moved); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(moved, "html")
	if _, code, err := runHTML(t, "--results", filepath.Join(moved, "results"), "--runbook", seedRunbook, "--ledger", ledgerPath, "--out", out); code != exitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	page := readString(t, filepath.Join(out, htmlreport.PageFile(ids[0])))
	if !strings.Contains(page, `href="../evidence/incidents/DRILL-20261126T100000Z-policy/timeline.md"`) {
		t.Errorf("the policy page does not link the pack that moved with the results")
	}
}

func TestHTMLBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args func(t *testing.T, dir, results, ledger string) []string
		want string
	}{
		{"no results", func(_ *testing.T, dir, _, ledger string) []string {
			return []string{"--results", filepath.Join(dir, "absent"), "--ledger", ledger}
		}, "no drill results at {dir}/absent: run the drills (make drills) or give the directory they wrote with --results"},
		{"results is a file", func(_ *testing.T, _, _, ledger string) []string {
			return []string{"--results", ledger, "--ledger", ledger}
		}, "--results {dir}/ledger.jsonl is a file: give the directory the drills wrote their <id>.json results to"},
		{"torn result", func(t *testing.T, _, results, ledger string) []string {
			if err := os.WriteFile(filepath.Join(results, "DRILL-torn.json"), []byte(`{"id":`), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"--results", results, "--ledger", ledger}
		}, "read drill result {dir}/artifacts/results/DRILL-torn.json: unexpected end of JSON input: remove or fix that file, or give another --results"},
		{"no ledger", func(_ *testing.T, dir, results, _ string) []string {
			return []string{"--results", results, "--ledger", filepath.Join(dir, "none.jsonl")}
		}, "no ledger at {dir}/none.jsonl: create an empty one (touch {dir}/none.jsonl) or give --ledger"},
		{"bad date", func(_ *testing.T, _, results, ledger string) []string {
			return []string{"--results", results, "--ledger", ledger, "--now", "tomorrow"}
		}, `--now: "tomorrow" is not a date: write it as 2026-11-26 or 2026-11-26T09:00:00Z`},
		{"out is a file", func(_ *testing.T, _, results, ledger string) []string {
			return []string{"--results", results, "--ledger", ledger, "--out", ledger}
		}, "write html report: mkdir {dir}/ledger.jsonl: not a directory: give a writable directory with --out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir, results, ledger, _ := htmlFixture(t)
			args := append(c.args(t, dir, results, ledger), "--runbook", seedRunbook)
			stdout, code, err := runHTML(t, args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d (bad input)", code, exitBadInput)
			}
			if want := strings.ReplaceAll(c.want, "{dir}", dir); err == nil || err.Error() != want {
				t.Errorf("error:\n got %v\nwant %s", err, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
