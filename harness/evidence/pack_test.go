package evidence_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/firedrill-dev/firedrill/harness/evidence"
)

const incident = "INC-20261126-001"

// t0 is when the fault was injected in the drills these tests write.
var t0 = time.Date(2026, 11, 26, 15, 30, 0, 0, time.UTC)

// build writes a pack holding every kind of evidence and returns it unsealed.
func build(t *testing.T, opts ...evidence.Option) *evidence.Pack {
	t.Helper()
	p, err := evidence.New(t.TempDir(), incident, opts...)
	if err != nil {
		t.Fatal(err)
	}
	must := func(_ string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := map[evidence.Phase]time.Time{evidence.Before: t0.Add(-time.Minute), evidence.During: t0.Add(90 * time.Second), evidence.After: t0.Add(5 * time.Minute)}
	for _, phase := range evidence.Phases {
		for _, kind := range []evidence.LogKind{evidence.LogFrontend, evidence.LogDatabase, evidence.LogEvents} {
			must(p.AddLog(kind, phase, at[phase], strings.NewReader(fmt.Sprintf("%s log %s the incident\n", kind, phase))))
		}
	}
	must(p.AddDiagnosis(1, "Check pod status", "kubectl get pods -n aureus -l component=frontend", []byte("NAME READY\naureus-frontend-1 0/1\n")))
	must(p.AddDiagnosis(2, "Check recent events", "kubectl describe deployment aureus-frontend -n aureus", []byte("Events: none")))
	if err := p.RecordApproval(evidence.Approval{ID: "apr-1", Action: "scale deployment/aureus-frontend to 5", Who: "drill-ic", Role: "incident commander", At: t0.Add(2 * time.Minute), Why: "drill"}); err != nil {
		t.Fatal(err)
	}
	if err := p.RecordChange(evidence.Change{ID: "chg-1", What: "scale", Resource: "deployment/aureus-frontend -n aureus", Before: "replicas=3", After: "replicas=5", At: t0.Add(3 * time.Minute), By: "firedrill", Step: 2, Option: "B", Approval: "apr-1"}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetTimeline(t0, []evidence.Event{{Stage: "3. Mitigate", At: t0.Add(3 * time.Minute), What: "Option B: scale up"}}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetImpact(evidence.Impact{Severity: "P1", Component: "frontend", UsersAffected: "all", Started: t0, Detected: t0.Add(time.Minute), Recovered: t0.Add(4 * time.Minute), ErrorRate: 1, ResponseTarget: 15 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := p.SetChecklist([]evidence.ChecklistItem{{Text: "Incident resolved and verified in production", Done: true}}); err != nil {
		t.Fatal(err)
	}
	return p
}

// tree lists every file and directory under dir with its permission bits.
func tree(t *testing.T, dir string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			rel += "/"
		}
		out[filepath.ToSlash(rel)] = fi.Mode().Perm()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLayout(t *testing.T) {
	t.Parallel()
	p := build(t)
	m, err := p.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("incidents", incident); !strings.HasSuffix(p.Dir(), want) {
		t.Errorf("Dir() = %s, want it to end in %s", p.Dir(), want)
	}
	var want []string
	for _, phase := range []string{"before", "during", "after"} {
		stamp := map[string]string{"before": "20261126T152900Z", "during": "20261126T153130Z", "after": "20261126T153500Z"}[phase]
		for _, kind := range []string{"frontend", "database", "events"} {
			want = append(want, fmt.Sprintf("logs/%s-%s-%s.log", kind, stamp, phase))
		}
	}
	want = append(want, "./", "logs/", "diagnosis/", "diagnosis/01-check-pod-status.txt", "diagnosis/02-check-recent-events.txt",
		"timeline.md", "changes.json", "approvals.json", "impact-assessment.md", "rca.md", "checklist.md", "manifest.json")
	got := tree(t, p.Dir())
	for _, name := range want {
		mode, ok := got[name]
		wantMode := fs.FileMode(0o644)
		if strings.HasSuffix(name, "/") {
			wantMode = 0o755
		}
		switch {
		case !ok:
			t.Errorf("%s is missing", name)
		case mode != wantMode:
			t.Errorf("%s has mode %v, want %v", name, mode, wantMode)
		}
		delete(got, name)
	}
	for name := range got {
		t.Errorf("unexpected %s", name)
	}

	// The manifest lists every other file with its real size and hash.
	if m.Version != evidence.ManifestVersion || m.Incident != incident || m.Incomplete != "" || m.Sealed.IsZero() {
		t.Errorf("manifest header = %+v", m)
	}
	var listed []string
	for _, f := range m.Files {
		listed = append(listed, f.Path)
		b, err := os.ReadFile(filepath.Join(p.Dir(), f.Path))
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(b)) {
			t.Errorf("manifest entry %+v does not match the file (%d bytes)", f, len(b))
		}
	}
	var files []string
	for _, name := range want {
		if !strings.HasSuffix(name, "/") && name != "manifest.json" {
			files = append(files, name)
		}
	}
	slices.Sort(files)
	if !slices.Equal(listed, files) {
		t.Errorf("manifest lists %q, want %q", listed, files)
	}
	if d := digestOf(t, m); m.Digest != d {
		t.Errorf("digest = %s, want %s", m.Digest, d)
	}
	onDisk, err := evidence.ReadManifest(p.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.Digest != m.Digest || len(onDisk.Files) != len(m.Files) {
		t.Errorf("manifest.json holds %+v, Finalize returned %+v", onDisk, m)
	}
}

// digestOf computes a manifest's digest as the package documents it, independently of the code.
func digestOf(t *testing.T, m evidence.Manifest) string {
	t.Helper()
	m.Digest = ""
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestNew(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		id      string
		prepare func(dir string) error // dir is <root>/incidents/<id>
		wantErr error
	}{
		{"fresh root", incident, func(string) error { return nil }, nil},
		{"existing empty directory", incident, func(dir string) error { return os.MkdirAll(dir, 0o755) }, nil},
		{"existing pack", incident, func(dir string) error {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, "timeline.md"), []byte("old"), 0o644)
		}, evidence.ErrExists},
		{"path in ID", "../etc", nil, evidence.ErrInvalid},
		{"separator in ID", "a/b", nil, evidence.ErrInvalid},
		{"empty ID", "", nil, evidence.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if c.prepare != nil {
				if err := c.prepare(filepath.Join(root, "incidents", c.id)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := evidence.New(root, c.id)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("New error = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				if c.wantErr == evidence.ErrExists {
					if b, _ := os.ReadFile(filepath.Join(root, "incidents", c.id, "timeline.md")); string(b) != "old" {
						t.Errorf("the existing pack was touched: timeline.md = %q", b)
					}
				}
				return
			}
			// A new pack starts with empty records and the pending RCA template.
			for name, want := range map[string]string{"changes.json": "[]\n", "approvals.json": "[]\n"} {
				if b, err := os.ReadFile(filepath.Join(p.Dir(), name)); err != nil || string(b) != want {
					t.Errorf("%s = %q, %v; want %q", name, b, err, want)
				}
			}
			rca, err := os.ReadFile(filepath.Join(p.Dir(), "rca.md"))
			if err != nil || !bytes.Contains(rca, []byte("to be completed after the postmortem")) || !bytes.Contains(rca, []byte("PENDING")) {
				t.Errorf("rca.md = %q, %v", rca, err)
			}
		})
	}
}

func TestAddLog(t *testing.T) {
	t.Parallel()
	local := time.FixedZone("CET", 3600)
	cases := []struct {
		name    string
		kind    evidence.LogKind
		phase   evidence.Phase
		at      time.Time
		want    []string // names of repeated captures
		wantErr error
	}{
		{"utc", evidence.LogFrontend, evidence.Before, t0, []string{"logs/frontend-20261126T153000Z-before.log"}, nil},
		{"local time is stored as UTC", evidence.LogDatabase, evidence.After, time.Date(2026, 11, 26, 16, 30, 0, 999, local),
			[]string{"logs/database-20261126T153000Z-after.log"}, nil},
		{"same second", evidence.LogEvents, evidence.During, t0, []string{
			"logs/events-20261126T153000Z-during.log", "logs/events-20261126T153000Z-during-2.log", "logs/events-20261126T153000Z-during-3.log"}, nil},
		{"other kind", "redis", evidence.During, t0, []string{"logs/redis-20261126T153000Z-during.log"}, nil},
		{"kind with a path", "../x", evidence.During, t0, nil, evidence.ErrInvalid},
		{"unknown phase", evidence.LogFrontend, "later", t0, nil, evidence.ErrInvalid},
		{"no time", evidence.LogFrontend, evidence.Before, time.Time{}, nil, evidence.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := evidence.New(t.TempDir(), incident)
			if err != nil {
				t.Fatal(err)
			}
			if c.wantErr != nil {
				if _, err := p.AddLog(c.kind, c.phase, c.at, strings.NewReader("x")); !errors.Is(err, c.wantErr) {
					t.Errorf("AddLog error = %v, want %v", err, c.wantErr)
				}
				return
			}
			for i, want := range c.want {
				content := fmt.Sprintf("capture %d\n", i)
				got, err := p.AddLog(c.kind, c.phase, c.at, strings.NewReader(content))
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("capture %d stored as %s, want %s", i, got, want)
				}
				if b, _ := os.ReadFile(filepath.Join(p.Dir(), got)); string(b) != content {
					t.Errorf("%s = %q, want %q", got, b, content)
				}
			}
		})
	}
}

// TestConcurrentLogs captures logs of one kind and phase in the same second from many goroutines:
// each gets its own file with its own content.
func TestConcurrentLogs(t *testing.T) {
	t.Parallel()
	p, err := evidence.New(t.TempDir(), incident)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	names := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			names[i], err = p.AddLog(evidence.LogFrontend, evidence.During, t0, iotest.HalfReader(strings.NewReader(strings.Repeat(fmt.Sprint(i), 4096))))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, name := range names {
		if seen[name] {
			t.Errorf("two captures stored as %s", name)
		}
		seen[name] = true
		if b, _ := os.ReadFile(filepath.Join(p.Dir(), name)); string(b) != strings.Repeat(fmt.Sprint(i), 4096) {
			t.Errorf("%s does not hold capture %d", name, i)
		}
	}
}

func TestAddDiagnosis(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		step     int
		title    string
		output   string
		wantPath string
		wantBody string
		wantErr  error
	}{
		{"titled", 1, "Check pod status", "NAME READY\n", "diagnosis/01-check-pod-status.txt",
			"# Step 1: Check pod status\n$ kubectl get pods\n\nNAME READY\n", nil},
		{"no newline at the end", 12, "Check postgres logs", "last line", "diagnosis/12-check-postgres-logs.txt",
			"# Step 12: Check postgres logs\n$ kubectl get pods\n\nlast line\n", nil},
		{"untitled", 3, "  ", "", "diagnosis/03.txt", "# Step 3\n$ kubectl get pods\n\n", nil},
		{"step zero", 0, "x", "", "", "", evidence.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := evidence.New(t.TempDir(), incident)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.AddDiagnosis(c.step, c.title, "kubectl get pods", []byte(c.output))
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("AddDiagnosis error = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if got != c.wantPath {
				t.Errorf("stored as %s, want %s", got, c.wantPath)
			}
			if b, _ := os.ReadFile(filepath.Join(p.Dir(), got)); string(b) != c.wantBody {
				t.Errorf("%s = %q, want %q", got, b, c.wantBody)
			}
			// One file per step, whatever the title the second time.
			if _, err := p.AddDiagnosis(c.step, "another title", "true", nil); !errors.Is(err, evidence.ErrExists) {
				t.Errorf("second AddDiagnosis for step %d: error = %v, want %v", c.step, err, evidence.ErrExists)
			}
		})
	}
}

func TestRecords(t *testing.T) {
	t.Parallel()
	p, err := evidence.New(t.TempDir(), incident)
	if err != nil {
		t.Fatal(err)
	}
	c1 := evidence.Change{ID: "chg-1", What: "rollout restart", Resource: "deployment/aureus-frontend", At: t0, By: "firedrill", Step: 1, Option: "A"}
	c2 := evidence.Change{ID: "chg-2", What: "scale", Resource: "deployment/aureus-frontend", Before: "3", After: "5", At: t0.Add(time.Minute), By: "firedrill"}
	a1 := evidence.Approval{ID: "apr-1", Action: "policy bypass", Who: "ic", Role: "incident commander", At: t0, Why: "P0"}
	for _, err := range []error{p.RecordChange(c1), p.RecordChange(c2), p.RecordApproval(a1)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		err  error
		want error
	}{
		{"duplicate change", p.RecordChange(c1), evidence.ErrExists},
		{"duplicate approval", p.RecordApproval(a1), evidence.ErrExists},
		{"change without ID", p.RecordChange(evidence.Change{What: "x", At: t0}), evidence.ErrInvalid},
		{"change without time", p.RecordChange(evidence.Change{ID: "chg-3", What: "x"}), evidence.ErrInvalid},
		{"approval without approver", p.RecordApproval(evidence.Approval{ID: "apr-2", Action: "x", At: t0}), evidence.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if !errors.Is(c.err, c.want) {
				t.Errorf("error = %v, want %v", c.err, c.want)
			}
		})
	}
	var changes []evidence.Change
	readJSON(t, filepath.Join(p.Dir(), "changes.json"), &changes)
	if len(changes) != 2 || changes[0] != c1 || changes[1] != c2 {
		t.Errorf("changes.json = %+v, want [%+v %+v]", changes, c1, c2)
	}
	var approvals []evidence.Approval
	readJSON(t, filepath.Join(p.Dir(), "approvals.json"), &approvals)
	if len(approvals) != 1 || approvals[0] != a1 {
		t.Errorf("approvals.json = %+v, want [%+v]", approvals, a1)
	}
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestSealed(t *testing.T) {
	t.Parallel()
	p := build(t)
	if _, err := p.Finalize(); err != nil {
		t.Fatal(err)
	}
	writes := map[string]func() error{
		"AddLog": func() error {
			_, err := p.AddLog(evidence.LogFrontend, evidence.After, t0, strings.NewReader("late"))
			return err
		},
		"AddDiagnosis": func() error { _, err := p.AddDiagnosis(9, "late", "true", nil); return err },
		"RecordChange": func() error { return p.RecordChange(evidence.Change{ID: "late", What: "x", At: t0}) },
		"RecordApproval": func() error {
			return p.RecordApproval(evidence.Approval{ID: "late", Action: "x", Who: "y", At: t0})
		},
		"SetTimeline": func() error { return p.SetTimeline(t0, nil) },
		"SetImpact": func() error {
			return p.SetImpact(evidence.Impact{Severity: "P1", Component: "x", Started: t0, Detected: t0})
		},
		"SetChecklist":   func() error { return p.SetChecklist(nil) },
		"Finalize":       func() error { _, err := p.Finalize(); return err },
		"MarkIncomplete": func() error { _, err := p.MarkIncomplete("late"); return err },
	}
	for name, write := range writes {
		if err := write(); !errors.Is(err, evidence.ErrSealed) {
			t.Errorf("%s after Finalize: error = %v, want %v", name, err, evidence.ErrSealed)
		}
	}
	if problems, err := evidence.Verify(p.Dir()); err != nil || len(problems) != 0 {
		t.Errorf("writes after sealing changed the pack: %v, %v", problems, err)
	}
}

func TestMarkIncomplete(t *testing.T) {
	t.Parallel()
	p, err := evidence.New(t.TempDir(), incident)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddLog(evidence.LogFrontend, evidence.Before, t0, strings.NewReader("baseline\n")); err != nil {
		t.Fatal(err)
	}
	m, err := p.MarkIncomplete("context canceled\nwhile waiting for rollout")
	if err != nil {
		t.Fatal(err)
	}
	if m.Incomplete != "context canceled while waiting for rollout" {
		t.Errorf("manifest reason = %q", m.Incomplete)
	}
	if !slices.ContainsFunc(m.Files, func(f evidence.File) bool { return f.Path == "INCOMPLETE" }) {
		t.Errorf("manifest does not list INCOMPLETE: %+v", m.Files)
	}
	b, err := os.ReadFile(filepath.Join(p.Dir(), "INCOMPLETE"))
	if err != nil || !bytes.HasPrefix(b, []byte("INCOMPLETE: ")) || !bytes.Contains(b, []byte("Reason: context canceled while waiting for rollout\n")) {
		t.Errorf("INCOMPLETE = %q, %v", b, err)
	}
	if problems, err := evidence.Verify(p.Dir()); err != nil || len(problems) != 0 {
		t.Errorf("Verify = %v, %v; want an intact pack", problems, err)
	}
	r := evidence.Check(p.Dir(), evidence.Requirements{LogPhases: []evidence.Phase{evidence.Before}})
	if r.Complete() || len(r.Items) == 0 || r.Items[0] != (evidence.Item{Name: "drill", Status: evidence.StatusIncomplete, Reason: "interrupted: context canceled while waiting for rollout"}) {
		t.Errorf("Check of an interrupted pack:\n%s", r)
	}
}

func TestTimeline(t *testing.T) {
	t.Parallel()
	p, err := evidence.New(t.TempDir(), incident)
	if err != nil {
		t.Fatal(err)
	}
	events := []evidence.Event{ // out of order on purpose
		{Stage: "3. Mitigate", At: t0.Add(3*time.Minute + 5*time.Second), What: "Option A: restart pods", Detail: "kubectl rollout restart deployment/aureus-frontend -n aureus"},
		{Stage: "", At: t0.Add(-30 * time.Second), What: "Baseline captured"},
		{Stage: "1. Acknowledge & Assess", At: t0.Add(12 * time.Second), What: "Fault detected", Detail: "health: 503 | 503\nsecond line"},
		{Stage: "4. Resolve", At: t0.Add(75*time.Minute + 2*time.Second), What: "Recovered"},
	}
	if err := p.SetTimeline(t0, events); err != nil {
		t.Fatal(err)
	}
	want := `# Incident timeline: INC-20261126-001

T+00:00 is 2026-11-26T15:30:00Z.

| Time | UTC | Stage | What | Detail |
|------|-----|-------|------|--------|
| T-00:30 | 15:29:30 |  | Baseline captured |  |
| T+00:12 | 15:30:12 | 1. Acknowledge & Assess | Fault detected | health: 503 \| 503<br>second line |
| T+03:05 | 15:33:05 | 3. Mitigate | Option A: restart pods | kubectl rollout restart deployment/aureus-frontend -n aureus |
| T+75:02 | 16:45:02 | 4. Resolve | Recovered |  |
`
	if b, _ := os.ReadFile(filepath.Join(p.Dir(), "timeline.md")); string(b) != want {
		t.Errorf("timeline.md =\n%s\nwant\n%s", b, want)
	}
}

func TestImpact(t *testing.T) {
	t.Parallel()
	base := evidence.Impact{Severity: "P1", Component: "frontend", UsersAffected: "all users", Started: t0, Detected: t0.Add(20 * time.Second), ErrorRate: 0.5, ResponseTarget: 15 * time.Minute}
	with := func(f func(*evidence.Impact)) evidence.Impact { im := base; f(&im); return im }
	cases := []struct {
		name     string
		impact   evidence.Impact
		wantRows []string
		wantErr  error
	}{
		{"within target", with(func(im *evidence.Impact) { im.Recovered = t0.Add(10 * time.Minute) }), []string{
			"| Severity | P1 |", "| Users affected | all users |", "| Error rate | 50.0% |",
			"| Detected | 2026-11-26T15:30:20Z (T+00:20) |", "| Recovered | 2026-11-26T15:40:00Z (T+10:00) |",
			"| Response-time target | 15m0s |", "| Detected to recovered | 9m40s |", "| Target met | yes |"}, nil},
		{"exactly on target", with(func(im *evidence.Impact) { im.Recovered = im.Detected.Add(15 * time.Minute) }), []string{"| Target met | yes |"}, nil},
		{"over target", with(func(im *evidence.Impact) { im.Recovered = t0.Add(20 * time.Minute) }), []string{
			"| Detected to recovered | 19m40s |", "| Target met | no: 4m40s over |"}, nil},
		{"not recovered", base, []string{"| Recovered | not yet |", "| Target met | no: not recovered |"}, nil},
		{"no target", with(func(im *evidence.Impact) { im.Recovered = t0.Add(time.Minute); im.ResponseTarget = 0 }), []string{
			"| Response-time target | not set |", "| Target met | unknown: no target |"}, nil},
		{"no severity", with(func(im *evidence.Impact) { im.Severity = "" }), nil, evidence.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, err := evidence.New(t.TempDir(), incident)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.SetImpact(c.impact); !errors.Is(err, c.wantErr) {
				t.Fatalf("SetImpact error = %v, want %v", err, c.wantErr)
			}
			if c.wantErr != nil {
				return
			}
			b, err := os.ReadFile(filepath.Join(p.Dir(), "impact-assessment.md"))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(b), "\n")
			for _, row := range c.wantRows {
				if !slices.Contains(lines, row) {
					t.Errorf("impact-assessment.md lacks %q:\n%s", row, b)
				}
			}
		})
	}
}

func TestChecklist(t *testing.T) {
	t.Parallel()
	p, err := evidence.New(t.TempDir(), incident)
	if err != nil {
		t.Fatal(err)
	}
	err = p.SetChecklist([]evidence.ChecklistItem{
		{Text: "Incident resolved and verified in production", Done: true, Note: "health 200 for 60s"},
		{Text: `Status page updated to "Resolved"`, Note: "not applicable in a drill"},
		{Text: "Evidence pack generated and stored", Done: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `# Post-incident checklist: INC-20261126-001

- [x] Incident resolved and verified in production — health 200 for 60s
- [ ] Status page updated to "Resolved" — not applicable in a drill
- [x] Evidence pack generated and stored

2 of 3 done.
`
	if b, _ := os.ReadFile(filepath.Join(p.Dir(), "checklist.md")); string(b) != want {
		t.Errorf("checklist.md =\n%s\nwant\n%s", b, want)
	}
}

// TestSecretsNeverWritten passes secrets through every write of a pack, logs in one-byte reads so
// that each secret spans many writes, and then searches every file and file name for them.
func TestSecretsNeverWritten(t *testing.T) {
	t.Parallel()
	secrets := []string{"hunter2-redis-pass", `pg"pa\ss`, "sk-live-0123456789"}
	p, err := evidence.New(t.TempDir(), incident, evidence.WithSecrets(secrets...))
	if err != nil {
		t.Fatal(err)
	}
	leak := strings.Join(secrets, " and ")
	b64 := base64.StdEncoding.EncodeToString([]byte(secrets[0]))
	steps := []func() error{
		func() error {
			_, err := p.AddLog(evidence.LogFrontend, evidence.During, t0, iotest.OneByteReader(strings.NewReader(
				"connecting with password "+secrets[0]+"\nREDIS_PASSWORD="+secrets[0]+" token "+secrets[2]+"\n")))
			return err
		},
		func() error {
			_, err := p.AddLog(evidence.LogEvents, evidence.After, t0, strings.NewReader("data:\n  password: "+b64+"\n"))
			return err
		},
		func() error {
			_, err := p.AddDiagnosis(1, "Flush with "+secrets[0], "redis-cli -a "+secrets[0]+" FLUSHDB", []byte("OK "+leak))
			return err
		},
		func() error {
			return p.RecordChange(evidence.Change{ID: "chg-1", What: "set env", Resource: "deployment/aureus-frontend",
				Before: "DB_PASSWORD=" + secrets[1], After: "DB_PASSWORD=" + secrets[1], At: t0, By: leak})
		},
		func() error {
			return p.RecordApproval(evidence.Approval{ID: "apr-1", Action: "bypass", Who: "ic", At: t0, Why: leak})
		},
		func() error {
			return p.SetTimeline(t0, []evidence.Event{{At: t0, What: "ran redis-cli -a " + secrets[0], Detail: leak}})
		},
		func() error {
			return p.SetImpact(evidence.Impact{Severity: "P1", Component: "frontend", Description: leak, Started: t0, Detected: t0})
		},
		func() error { return p.SetChecklist([]evidence.ChecklistItem{{Text: "Team debriefed", Note: leak}}) },
		func() error { _, err := p.MarkIncomplete("exec failed: " + leak); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}

	redacted := 0
	err = filepath.WalkDir(p.Dir(), func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		b, err := os.ReadFile(name)
		if d.IsDir() {
			b, err = nil, nil
		}
		if err != nil {
			return err
		}
		redacted += bytes.Count(b, []byte("[REDACTED]"))
		for _, s := range append(slices.Clone(secrets), b64) {
			if bytes.Contains(b, []byte(s)) || strings.Contains(name, s) {
				t.Errorf("%s holds secret %q:\n%s", name, s, b)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Every secret above was written at least once per step, the log three times.
	if redacted < 2*len(steps) {
		t.Errorf("only %d redactions: the writes did not carry the secrets", redacted)
	}
	// The records are still valid JSON with the secret replaced in place.
	var changes []evidence.Change
	readJSON(t, filepath.Join(p.Dir(), "changes.json"), &changes)
	if len(changes) != 1 || changes[0].Before != "DB_PASSWORD=[REDACTED]" {
		t.Errorf("changes.json = %+v", changes)
	}
}
