package evidence_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/firedrill-dev/firedrill/fixtures"
	"github.com/firedrill-dev/firedrill/harness/evidence"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// runbookRequirements builds Requirements from the seed runbook's evidence section, as a drill does.
func runbookRequirements(t *testing.T) evidence.Requirements {
	t.Helper()
	src, err := fixtures.Runbooks.ReadFile(fixtures.IncidentResponse)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var req evidence.Requirements
	for _, e := range rb.Evidence.Tree {
		name := e.Path
		if e.Dir {
			name += "/"
		}
		req.Files = append(req.Files, name)
	}
	req.LogPhases = []evidence.Phase{evidence.Before, evidence.After}
	return req
}

func TestCheckRunbookTree(t *testing.T) {
	t.Parallel()
	req := runbookRequirements(t)
	want := []string{"timeline.md", "logs/", "logs/frontend-[timestamp].log", "logs/database-[timestamp].log",
		"logs/events-[timestamp].log", "changes.json", "approvals.json", "impact-assessment.md", "rca.md"}
	if !slices.Equal(req.Files, want) {
		t.Fatalf("runbook tree = %q, want %q", req.Files, want)
	}
	p := build(t)
	r := evidence.Check(p.Dir(), req)
	if !r.Complete() {
		t.Errorf("a full pack is not complete:\n%s", r)
	}
	var got []string
	for _, it := range r.Items {
		got = append(got, it.Name+" "+string(it.Status))
	}
	wantItems := []string{"timeline.md ok", "logs/ ok", "logs/frontend-[timestamp].log ok", "logs/database-[timestamp].log ok",
		"logs/events-[timestamp].log ok", "changes.json ok", "approvals.json ok", "impact-assessment.md ok",
		"rca.md pending", "logs before ok", "logs after ok"}
	if !slices.Equal(got, wantItems) {
		t.Errorf("items = %q\nwant %q", got, wantItems)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	req := evidence.Requirements{
		Files: []string{"timeline.md", "logs/", "logs/frontend-[timestamp].log", "changes.json", "approvals.json",
			"impact-assessment.md", "rca.md", "diagnosis/"},
		LogPhases: evidence.Phases,
		Changes:   evidence.Records{Min: 1, IDs: []string{"chg-1"}},
		Approvals: evidence.Records{IDs: []string{"apr-1"}},
	}
	write := func(name, content string) func(dir string) error {
		return func(dir string) error { return os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644) }
	}
	remove := func(glob string) func(dir string) error {
		return func(dir string) error {
			names, _ := filepath.Glob(filepath.Join(dir, glob))
			for _, n := range names {
				if err := os.Remove(n); err != nil {
					return err
				}
			}
			return nil
		}
	}
	cases := []struct {
		name     string
		tamper   func(dir string) error
		complete bool
		want     evidence.Item // an item the report must hold
	}{
		{"full pack, RCA pending", nil, true,
			evidence.Item{Name: "rca.md", Status: evidence.StatusPending, Reason: "pending postmortem: still the template"}},
		{"RCA written", write("rca.md", "# Root cause\nThe pool was too small.\n"), true,
			evidence.Item{Name: "rca.md", Status: evidence.StatusOK, Reason: "37 bytes"}},
		{"no timeline", remove("timeline.md"), false,
			evidence.Item{Name: "timeline.md", Status: evidence.StatusMissing, Reason: "no such file"}},
		{"empty impact assessment", write("impact-assessment.md", ""), false,
			evidence.Item{Name: "impact-assessment.md", Status: evidence.StatusEmpty, Reason: "empty: impact-assessment.md"}},
		{"no log before", remove("logs/*-before.log"), false,
			evidence.Item{Name: "logs before", Status: evidence.StatusMissing, Reason: "no log captured before the incident"}},
		{"no log after", remove("logs/*-after.log"), false,
			evidence.Item{Name: "logs after", Status: evidence.StatusMissing, Reason: "no log captured after the incident"}},
		{"empty log", write("logs/frontend-20261126T153130Z-during.log", ""), false,
			evidence.Item{Name: "logs/frontend-[timestamp].log", Status: evidence.StatusEmpty, Reason: "empty: logs/frontend-20261126T153130Z-during.log"}},
		{"only empty logs during", func(dir string) error {
			names, _ := filepath.Glob(filepath.Join(dir, "logs/*-during.log"))
			for _, n := range names {
				if err := os.WriteFile(n, nil, 0o644); err != nil {
					return err
				}
			}
			return nil
		}, false, evidence.Item{Name: "logs during", Status: evidence.StatusEmpty,
			Reason: "empty: logs/database-20261126T153130Z-during.log, logs/events-20261126T153130Z-during.log, logs/frontend-20261126T153130Z-during.log"}},
		{"no logs at all", remove("logs/*"), false,
			evidence.Item{Name: "logs/", Status: evidence.StatusEmpty, Reason: "the directory holds no file"}},
		{"no diagnosis directory", func(dir string) error { return os.RemoveAll(filepath.Join(dir, "diagnosis")) }, false,
			evidence.Item{Name: "diagnosis/", Status: evidence.StatusMissing, Reason: "no such directory"}},
		{"change not recorded", write("changes.json", "[]"), false,
			evidence.Item{Name: "change chg-1", Status: evidence.StatusMissing, Reason: "not recorded in changes.json"}},
		{"too few changes", write("changes.json", "[]"), false,
			evidence.Item{Name: "changes", Status: evidence.StatusMissing, Reason: "0 recorded, 1 required"}},
		{"approval not recorded", write("approvals.json", "[]"), false,
			evidence.Item{Name: "approval apr-1", Status: evidence.StatusMissing, Reason: "not recorded in approvals.json"}},
		{"change names an unrecorded approval", write("changes.json", `[{"id":"chg-1","approval":"apr-9"}]`), false,
			evidence.Item{Name: "approval apr-9", Status: evidence.StatusMissing, Reason: "change chg-1 names it, approvals.json does not hold it"}},
		{"changes not JSON", write("changes.json", "{oops"), false,
			evidence.Item{Name: "changes.json", Status: evidence.StatusInvalid}},
		{"interrupted", write("INCOMPLETE", "INCOMPLETE: x\nReason: SIGINT\n"), false,
			evidence.Item{Name: "drill", Status: evidence.StatusIncomplete, Reason: "interrupted: SIGINT"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := build(t)
			if c.tamper != nil {
				if err := c.tamper(p.Dir()); err != nil {
					t.Fatal(err)
				}
			}
			r := evidence.Check(p.Dir(), req)
			if r.Complete() != c.complete {
				t.Errorf("Complete() = %v, want %v:\n%s", r.Complete(), c.complete, r)
			}
			found := slices.ContainsFunc(r.Items, func(it evidence.Item) bool {
				return it.Name == c.want.Name && it.Status == c.want.Status && (c.want.Reason == "" || it.Reason == c.want.Reason)
			})
			if !found {
				t.Errorf("report lacks %+v:\n%s", c.want, r)
			}
			// Every other item of a full pack stays ok.
			for _, it := range r.Items {
				if it.Status != evidence.StatusOK && it.Status != evidence.StatusPending && it.Name != c.want.Name &&
					!strings.HasPrefix(it.Name, "logs") && !strings.HasPrefix(it.Name, "change") && !strings.HasPrefix(it.Name, "approval") {
					t.Errorf("unrelated item failed: %+v", it)
				}
			}
		})
	}
}

func TestCheckMissingPack(t *testing.T) {
	t.Parallel()
	req := evidence.Requirements{Files: []string{"timeline.md", "logs/"}, LogPhases: []evidence.Phase{evidence.Before},
		Changes: evidence.Records{IDs: []string{"chg-1"}}}
	r := evidence.Check(filepath.Join(t.TempDir(), "nowhere"), req)
	if r.Complete() {
		t.Fatalf("a missing pack is complete:\n%s", r)
	}
	for _, it := range r.Items {
		if it.Status != evidence.StatusMissing {
			t.Errorf("%s: status %s, want missing", it.Name, it.Status)
		}
	}
	if len(r.Items) != 4 {
		t.Errorf("want one item per requirement, got:\n%s", r)
	}
}

func TestTreePatterns(t *testing.T) {
	t.Parallel()
	cases := []struct {
		entry string
		file  string
		match bool
	}{
		{"logs/frontend-[timestamp].log", "logs/frontend-20261126T153000Z-before.log", true},
		{"logs/frontend-[timestamp].log", "logs/frontend-20261126T153000Z-during-2.log", true},
		{"logs/frontend-[timestamp].log", "logs/frontend-20261126T153000Z.log", true},
		{"logs/frontend-[timestamp].log", "logs/frontend-2026-11-26.log", false},
		{"logs/frontend-[timestamp].log", "logs/frontend-20261126T153000Z-later.log", false},
		{"logs/frontend-[timestamp].log", "logs/database-20261126T153000Z-before.log", false},
		{"logs/frontend-[timestamp].log", "frontend-20261126T153000Z-before.log", false},
		{"reports/[name].md", "reports/anything.md", true},
		{"reports/[name].md", "reports/a/b.md", false},
	}
	for _, c := range cases {
		t.Run(c.entry+" "+c.file, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			name := filepath.Join(dir, filepath.FromSlash(c.file))
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			r := evidence.Check(dir, evidence.Requirements{Files: []string{c.entry}})
			if got := r.Items[0].Status == evidence.StatusOK; got != c.match {
				t.Errorf("%s matches %s: %v, want %v", c.entry, c.file, got, c.match)
			}
		})
	}
}
