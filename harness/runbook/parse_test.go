package runbook_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/fixtures"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

const testdata = "../../fixtures/runbooks/testdata"

func seed(t *testing.T) *runbook.Runbook {
	t.Helper()
	src, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	if err != nil {
		t.Fatal(err)
	}
	cfgSrc, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponseConfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := runbook.ParseConfig(cfgSrc, "incident-response.severity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(src, runbook.WithPath("incident-response.md"), runbook.WithConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func TestParseSeed(t *testing.T) {
	t.Parallel()
	rb := seed(t)

	if rb.Title != "Incident Response Runbook" || rb.Line != 1 {
		t.Errorf("title = %q line %d", rb.Title, rb.Line)
	}
	if !strings.HasPrefix(rb.Digest, "sha256:") || len(rb.Digest) != 71 {
		t.Errorf("digest = %q", rb.Digest)
	}

	wantSev := []struct {
		name string
		rt   time.Duration
		line int
		ex   int
	}{{"P0", 5 * time.Minute, 18, 3}, {"P1", 15 * time.Minute, 19, 3}, {"P2", time.Hour, 20, 3}, {"P3", 4 * time.Hour, 21, 2}}
	if len(rb.Severities) != len(wantSev) {
		t.Fatalf("severities = %+v", rb.Severities)
	}
	for i, w := range wantSev {
		got := rb.Severities[i]
		if got.Name != w.name || got.ResponseTime != w.rt || got.Line != w.line || len(got.Examples) != w.ex {
			t.Errorf("severity %d = %+v, want %+v", i, got, w)
		}
	}
	if rb.Severities[0].Label != "Critical" || rb.Severities[0].Description != "Complete service outage affecting all users" {
		t.Errorf("P0 = %+v", rb.Severities[0])
	}

	wantPhases := []struct {
		num       int
		name      string
		min, max  time.Duration
		open      bool
		line, nIt int
	}{
		{1, "Acknowledge & Assess", 0, 5 * time.Minute, false, 27, 0},
		{2, "Communicate", 5 * time.Minute, 10 * time.Minute, false, 41, 3},
		{3, "Mitigate", 10 * time.Minute, 30 * time.Minute, false, 57, 3},
		{4, "Resolve", 30 * time.Minute, 0, true, 62, 3},
		{5, "Post-Incident", 24 * time.Hour, 72 * time.Hour, false, 67, 4},
	}
	if len(rb.Process) != len(wantPhases) {
		t.Fatalf("process = %+v", rb.Process)
	}
	for i, w := range wantPhases {
		got := rb.Process[i]
		if got.Number != w.num || got.Name != w.name || got.Window.Min != w.min || got.Window.Max != w.max ||
			got.Window.Open != w.open || got.Line != w.line || len(got.Items) != w.nIt {
			t.Errorf("phase %d = %+v", i, got)
		}
	}
	if cmds := rb.Process[0].Blocks[0].Commands; len(cmds) != 4 || cmds[3].Text != "curl https://aureus.example.com/health" || cmds[3].Line != 38 {
		t.Errorf("phase 1 commands = %+v", cmds)
	}

	wantScen := []struct {
		num      int
		name     string
		title    string
		line     int
		sev      string
		kind     runbook.SourceKind
		srcLine  int
		letters  string
		nDiag    int
		nEvid    int
		symptoms int
	}{
		{1, "frontend", "Frontend Application Down", 77, "P0", runbook.FromConfig, 8, "ABC", 3, 2, 3},
		{2, "database", "Database Connection Issues", 124, "P1", runbook.FromConfig, 14, "ABC", 4, 0, 3},
		{3, "storage", "Evidence Storage Full", 168, "P1", runbook.FromConfig, 20, "ABC", 3, 0, 3},
		{4, "policy", "Policy Engine Failure", 211, "P1", runbook.FromRunbook, 19, "ABC", 3, 0, 3},
		{5, "ratelimit", "Rate Limiting False Positives", 261, "P2", runbook.FromConfig, 32, "ABC", 2, 0, 3},
	}
	if len(rb.Scenarios) != len(wantScen) {
		t.Fatalf("scenarios = %d", len(rb.Scenarios))
	}
	for i, w := range wantScen {
		sc := rb.Scenarios[i]
		letters := ""
		for _, o := range sc.Options {
			letters += o.Letter
		}
		nDiag := 0
		for _, b := range sc.Diagnosis {
			nDiag += len(b.Commands)
		}
		nEvid := 0
		for _, b := range sc.Evidence {
			nEvid += len(b.Commands)
		}
		if sc.Number != w.num || sc.Name != w.name || sc.Title != w.title || sc.Line != w.line || sc.Severity != w.sev ||
			sc.SeveritySource.Kind != w.kind || sc.SeveritySource.Line != w.srcLine || letters != w.letters ||
			nDiag != w.nDiag || nEvid != w.nEvid || len(sc.Symptoms) != w.symptoms {
			t.Errorf("scenario %d: got %s %q line %d sev %s from %s, options %q, %d diagnosis, %d evidence, %d symptoms",
				w.num, sc.Name, sc.Title, sc.Line, sc.Severity, sc.SeveritySource, letters, nDiag, nEvid, len(sc.Symptoms))
		}
	}
	if got := rb.Scenarios[3].SeveritySource.String(); got != "runbook line 19" {
		t.Errorf("policy severity source = %q", got)
	}
	if got := rb.Scenarios[0].SeveritySource.String(); got != "incident-response.severity.yaml line 8" {
		t.Errorf("frontend severity source = %q", got)
	}

	db := rb.Scenarios[1]
	optA := db.Options[0]
	if optA.Title != "Restart postgres (LAST RESORT - data risk)" || optA.Line != 151 ||
		optA.Markers != (runbook.Markers{LastResort: true, DataRisk: true}) {
		t.Errorf("database option A = %+v", optA)
	}
	optB := db.Options[1]
	if len(optB.Steps) != 1 || optB.Steps[0].Line != 155 || optB.Steps[0].EndLine != 158 {
		t.Fatalf("database option B steps = %+v", optB.Steps)
	}
	wantText := "kubectl exec -it -n aureus -l component=postgres -- \\\n  psql -U aureus -d aureus_metadata -c \\\n  \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity \n   WHERE state = 'idle' AND state_change < NOW() - INTERVAL '10 minutes';\""
	if optB.Steps[0].Text != wantText {
		t.Errorf("raw text = %q", optB.Steps[0].Text)
	}
	args := optB.Steps[0].Calls[0].Args
	if last := args[len(args)-1]; !last.MultiLine || !last.Static || !strings.HasPrefix(last.Lit, "SELECT pg_terminate_backend") {
		t.Errorf("SQL word = %+v", last)
	}
	if c := db.Options[2]; len(c.Steps) != 2 || c.Steps[1].Comment != "Wait for connections to stabilize, then scale back up" {
		t.Errorf("database option C = %+v", c)
	}

	policy := rb.Scenarios[3]
	if !policy.Options[0].Markers.RequiresApproval || len(policy.Options[0].Notes) != 1 || len(policy.Options[0].Steps) != 2 {
		t.Errorf("policy option A = %+v", policy.Options[0])
	}
	pipe := policy.Options[0].Steps[1]
	if len(pipe.Calls) != 2 || !pipe.Calls[0].PipesOut || !pipe.Calls[1].Piped || pipe.Calls[1].Name() != "kubectl" {
		t.Errorf("pipeline = %+v", pipe.Calls)
	}
	redis := policy.Options[1].Steps[0].Calls[0]
	var pw runbook.Word
	for _, a := range redis.Args {
		if a.Raw == "$REDIS_PASSWORD" {
			pw = a
		}
	}
	if len(pw.Vars) != 1 || pw.Vars[0] != "REDIS_PASSWORD" || pw.Static {
		t.Errorf("password word = %+v", pw)
	}
	if len(policy.Requirements) != 1 || policy.Requirements[0].Level != "CRITICAL" || len(policy.Requirements[0].Items) != 4 ||
		policy.Requirements[0].Items[2].Text != "Reverted within 1 hour" || policy.Requirements[0].Items[2].Line != 256 {
		t.Errorf("policy requirements = %+v", policy.Requirements)
	}

	rl := rb.Scenarios[4]
	if b := rl.Options[1]; len(b.Steps) != 0 || len(b.Notes) != 1 {
		t.Errorf("ratelimit option B = %+v", b)
	}
	if c := rl.Options[2]; !c.Markers.LastResort || c.Markers.RequiresApproval {
		t.Errorf("ratelimit option C = %+v", c)
	}

	if len(rb.Escalation) != 5 || rb.Escalation[4].Line != 309 || strings.Join(rb.Escalation[4].Severities, ",") != "P1,P2" ||
		rb.Escalation[3].Executive != "Chief Risk Officer" {
		t.Errorf("escalation = %+v", rb.Escalation)
	}
	if len(rb.Contacts) != 3 {
		t.Errorf("contacts = %+v", rb.Contacts)
	}
	ev := rb.Evidence
	if ev.Line != 318 || len(ev.Items) != 6 || ev.Root != "/app/evidence/incidents/[INCIDENT-ID]/" || len(ev.Tree) != 9 {
		t.Errorf("evidence = %+v", ev)
	}
	if e := ev.Tree[4]; e.Path != "logs/events-[timestamp].log" || e.Line != 335 {
		t.Errorf("tree entry = %+v", e)
	}
	if e := ev.Tree[8]; e.Path != "rca.md" || e.Note != "added after postmortem" {
		t.Errorf("tree entry = %+v", e)
	}
	if len(rb.Checklist) != 9 || rb.Checklist[3].Text != "Postmortem scheduled (within 48 hours for P0/P1)" || rb.Checklist[3].Line != 349 {
		t.Errorf("checklist = %+v", rb.Checklist)
	}
	s := rb.Schedule
	if len(s.Cadences) != 3 || s.Cadences[1].Every != runbook.Quarterly || s.Cadences[1].Kind != "tabletop exercises" ||
		strings.Join(s.Cadences[2].Severities, "/") != "P2/P3" || s.Cadences[2].Every != runbook.Annual {
		t.Errorf("schedule = %+v", s.Cadences)
	}
	if s.LastTested.Value != "[DATE]" || s.LastTested.Line != 365 || s.NextTestDue.Line != 366 {
		t.Errorf("stamps = %+v %+v", s.LastTested, s.NextTestDue)
	}
	if len(rb.Requirements) != 1 || rb.Requirements[0].Line != 320 || len(rb.Requirements[0].Items) != 6 {
		t.Errorf("requirements = %+v", rb.Requirements)
	}
	if len(rb.Links) != 4 || rb.Links[0].Target != "./rollback-procedure.md" || rb.Links[0].Line != 371 {
		t.Errorf("links = %+v", rb.Links)
	}
}

// TestStampOffsets proves a stamp's offset points at its value in the source bytes.
func TestStampOffsets(t *testing.T) {
	t.Parallel()
	src, _ := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	rb := seed(t)
	for _, st := range []runbook.Stamp{rb.Schedule.LastTested, rb.Schedule.NextTestDue} {
		if got := string(src[st.Offset : st.Offset+len(st.Value)]); got != st.Value {
			t.Errorf("%s: source at offset = %q, value %q", st.Label, got, st.Value)
		}
	}
}

func TestParseTestdata(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file    string
		wantErr string
		check   func(t *testing.T, rb *runbook.Runbook)
	}{
		{file: "payments.md", check: func(t *testing.T, rb *runbook.Runbook) {
			if len(rb.Scenarios) != 6 {
				t.Fatalf("scenarios = %d", len(rb.Scenarios))
			}
			want := []struct{ name, sev, src string }{
				{"checkout", "SEV1", "runbook line 25"}, // "**Severity:** SEV1" in the scenario
				{"ledger", "SEV2", "runbook line 46"},
				{"webhooks", "SEV2", "runbook line 8"}, // the severity table's example, not the config
				{"fraud", "SEV1", "payments.severity.yaml line 10"},
				{"certificate-expiry", "", "not stated"},
				{"settlement-batch-stuck", "SEV3", "runbook line 88"},
			}
			for i, w := range want {
				sc := rb.Scenarios[i]
				if sc.Name != w.name || sc.Severity != w.sev || !strings.HasSuffix(sc.SeveritySource.String(), w.src) {
					t.Errorf("scenario %d = %s %s %s, want %+v", i+1, sc.Name, sc.Severity, sc.SeveritySource, w)
				}
			}
			if sev, _ := rb.SeverityByName("SEV3"); sev.ResponseTime != 24*time.Hour || sev.Label != "Minor" {
				t.Errorf("SEV3 = %+v", sev)
			}
			if !rb.Scenarios[0].Options[1].Markers.RequiresApproval || !rb.Scenarios[1].Options[0].Markers.DataRisk {
				t.Errorf("markers not found")
			}
			if r := rb.Scenarios[3].Requirements; len(r) != 1 || r[0].Level != "IMPORTANT" {
				t.Errorf("requirements = %+v", r)
			}
			if p := rb.Process; len(p) != 3 || !p[2].Window.Open || p[2].Window.Min != 48*time.Hour {
				t.Errorf("process = %+v", p)
			}
			c := rb.Schedule.Cadences
			if len(c) != 2 || c[0].Every != runbook.Weekly || c[1].Every != runbook.SemiAnnual || strings.Join(c[1].Severities, ",") != "SEV2,SEV3" {
				t.Errorf("cadences = %+v", c)
			}
			if rb.Schedule.LastTested.Value != "2026-10-01" || rb.Schedule.NextTestDue.Value != "2026-10-08" {
				t.Errorf("stamps = %+v", rb.Schedule)
			}
			if len(rb.Checklist) != 2 || !rb.Checklist[0].Checked || rb.Checklist[1].Checked {
				t.Errorf("checklist = %+v", rb.Checklist)
			}
			if len(rb.Escalation) != 1 || rb.Escalation[0].Executive != "" {
				t.Errorf("escalation = %+v", rb.Escalation)
			}
		}},
		{file: "minimal.md", check: func(t *testing.T, rb *runbook.Runbook) {
			if len(rb.Scenarios) != 1 || rb.Scenarios[0].Name != "cache-down" || rb.Scenarios[0].Severity != "" {
				t.Errorf("scenarios = %+v", rb.Scenarios)
			}
			if rb.Severities != nil || rb.Process != nil || rb.Escalation != nil || rb.Schedule.Line != 0 || rb.Evidence.Line != 0 {
				t.Errorf("missing sections should stay empty: %+v", rb)
			}
		}},
		{file: "not-a-runbook.md", wantErr: `not-a-runbook.md: not a runbook: no "Scenario N: Title" heading found`},
		{file: "bad-response-time.md", wantErr: `bad-response-time.md:6: severity P1: response time "as soon as possible" is not a duration: write it like "5 minutes" or "1 hour"`},
		{file: "duplicate-scenario.md", wantErr: `duplicate-scenario.md:11: scenario 1 is defined twice (first at line 3)`},
		{file: "duplicate-option.md", wantErr: `duplicate-option.md:10: scenario 1: option A is defined twice (first at line 7)`},
		{file: "bad-schedule.md", wantErr: `bad-schedule.md:18: schedule item "P0 scenarios: whenever we have time" has no interval: say weekly, monthly, quarterly, semi-annual or annual`},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(testdata, tc.file)
			rb, err := runbook.Load(path, runbook.WithPath(tc.file))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, rb)
		})
	}
}

func TestNotRunbookIsSentinel(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "plain text", "\xff\xfe binary", "# Title\n\n## Scenario: no number\n"} {
		_, err := runbook.Parse([]byte(src))
		if !errors.Is(err, runbook.ErrNotRunbook) {
			t.Errorf("Parse(%q) error = %v, want ErrNotRunbook", src, err)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile(filepath.Join(testdata, "payments.md"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, config, wantErr string
	}{
		{"no match", "scenarios:\n  search:\n    match: [elasticsearch]\n",
			`c.yaml:2: scenario "search": no scenario title in payments.md contains "elasticsearch"; fix the match keywords`},
		{"two matches", "scenarios:\n  pay:\n    match: [checkout, ledger]\n",
			`c.yaml:2: scenario "pay" matches both "Checkout API Down" (line 24) and "Ledger Database Lag" (line 45); make the match keywords more specific`},
		{"one title two names", "scenarios:\n  a:\n    match: [checkout]\n  b:\n    match: [api]\n",
			`c.yaml:4: scenarios "a" and "b" both match "Checkout API Down" (line 24)`},
		{"unknown severity", "scenarios:\n  cert:\n    match: [certificate]\n    severity: P9\n    reason: x\n",
			`c.yaml:2: scenario "cert": severity "P9" is not in the runbook's severity table`},
		{"no reason", "scenarios:\n  cert:\n    match: [certificate]\n    severity: SEV1\n",
			`c.yaml:2: scenario "cert": a severity needs a reason`},
		{"unknown key", "scenarios:\n  cert:\n    keywords: [certificate]\n",
			`c.yaml:3: scenario "cert": unknown key "keywords" (want match, severity, reason)`},
		{"bad name", "scenarios:\n  Cert_1:\n    match: x\n",
			`c.yaml:2: scenario name "Cert_1": use lower-case letters, digits and dashes`},
		{"top-level typo", "scenario:\n  cert: {}\n",
			`c.yaml:1: unknown key "scenario": the config has only "scenarios"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := runbook.ParseConfig([]byte(tc.config), "c.yaml")
			if err == nil {
				_, err = runbook.Parse(src, runbook.WithPath("payments.md"), runbook.WithConfig(cfg))
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("error = %v\nwant    %s", err, tc.wantErr)
			}
		})
	}
}

// TestConfigOverriddenByRunbook: where both state a severity, the runbook's text wins.
func TestConfigOverriddenByRunbook(t *testing.T) {
	t.Parallel()
	rb := seed(t)
	policy, ok := rb.ScenarioByName("policy")
	if !ok || policy.SeveritySource.Kind != runbook.FromRunbook {
		t.Fatalf("policy = %+v", policy)
	}
}

func FuzzParse(f *testing.F) {
	src, _ := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	f.Add(src)
	for _, name := range []string{"payments.md", "minimal.md", "bad-schedule.md", "duplicate-option.md"} {
		b, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("### Scenario 1: X\n**Mitigation:**\n```bash\n# Option A: y\nfoo 'unterminated\n```\n"))
	f.Add([]byte("### Scenario 1: X\n```bash\n├── a\n```\n**Last Tested:** x\n**Last Tested:** y\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rb, err := runbook.Parse(b)
		if err != nil {
			return
		}
		for _, sc := range rb.Scenarios {
			if sc.Line < 1 || sc.Name == "" {
				t.Fatalf("scenario without line or name: %+v", sc)
			}
			for _, o := range sc.Options {
				for _, st := range o.Steps {
					if st.Line < o.Line || st.EndLine < st.Line || !strings.Contains(string(b), st.Text) {
						t.Fatalf("step %+v of option %s", st, o.Letter)
					}
				}
			}
		}
		for _, st := range []runbook.Stamp{rb.Schedule.LastTested, rb.Schedule.NextTestDue} {
			if st.Line > 0 && string(b[st.Offset:st.Offset+len(st.Value)]) != st.Value {
				t.Fatalf("stamp %+v does not point at its value", st)
			}
		}
	})
}

// TestScenarioInsideProcessSection: a scenario heading one level below the process heading is a
// scenario, not a phase.
func TestScenarioInsideProcessSection(t *testing.T) {
	t.Parallel()
	md := "# R\n\n## Response Process\n\n### 1. Fix (0-10 minutes)\n- fix\n\n### Scenario 1: Web Down\n\n**Mitigation:**\n```bash\n# Option A: x\nkubectl get pods\n```\n"
	rb, err := runbook.Parse([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Process) != 1 || rb.Process[0].Name != "Fix" || len(rb.Scenarios) != 1 {
		t.Fatalf("process = %+v, scenarios = %d", rb.Process, len(rb.Scenarios))
	}
}
