package htmlreport

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

// chromium finds the browser. Without one the test skips, except as root (make deps installs it)
// and in CI, where a skipped browser test would pass unseen.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const msg = "chromium is not installed: run make deps as root (it installs Debian's chromium) or apt-get install chromium"
	switch {
	case os.Getenv("CI") == "true":
		t.Fatal(msg + "; CI=true: the pages must be checked in a browser")
	case os.Geteuid() == 0:
		t.Fatal(msg + "; this test runs as root, so it can be installed here")
	}
	t.Skip(msg)
	return ""
}

// screenshotDir is $ARTIFACTS/html-screenshots when ARTIFACTS is set, else a temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	a := os.Getenv("ARTIFACTS")
	if a == "" {
		return t.TempDir()
	}
	dir, err := filepath.Abs(filepath.Join(a, "html-screenshots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// fileOf is the local path a file:// link points to.
func fileOf(t *testing.T, href string) string {
	t.Helper()
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "file" {
		t.Fatalf("link %q is not a file URL (%v)", href, err)
	}
	return u.Path
}

type box struct {
	Name string  `json:"name"`
	X    float64 `json:"x"`
	W    float64 `json:"w"`
	H    float64 `json:"h"`
}

type drillView struct {
	Title   string `json:"title"`
	Verdict struct {
		Text       string  `json:"text"`
		W          float64 `json:"w"`
		H          float64 `json:"h"`
		Visibility string  `json:"visibility"`
		Display    string  `json:"display"`
		Scripts    int     `json:"scripts"`
	} `json:"verdict"`
	TargetMet  string `json:"targetMet"`
	Phases     []box  `json:"phases"`
	Options    []box  `json:"options"`
	Marks      []box  `json:"marks"`
	Target     *box   `json:"target"`
	OptionRows []struct {
		Letter string   `json:"letter"`
		Status string   `json:"status"`
		Cells  []string `json:"cells"`
	} `json:"optionRows"`
	Findings string   `json:"findings"`
	Residue  string   `json:"residue"`
	Evidence []string `json:"evidence"`
	Pack     string   `json:"pack"`
}

const drillJS = `(() => {
  const rect = el => { const r = el.getBoundingClientRect(); return {x: r.x, w: r.width, h: r.height}; };
  const v = document.getElementById('verdict');
  const target = document.querySelector('#timeline #target line');
  return {
    title: document.title,
    verdict: {text: v.innerText, w: rect(v).w, h: rect(v).h, visibility: getComputedStyle(v).visibility,
      display: getComputedStyle(v).display, scripts: document.querySelectorAll('script').length},
    targetMet: document.getElementById('target-met').innerText,
    phases: [...document.querySelectorAll('#timeline g.phase')].map(g => ({name: g.dataset.phase, ...rect(g.querySelector('rect.bar'))})),
    options: [...document.querySelectorAll('#timeline g.option')].map(g => ({name: g.dataset.option, ...rect(g.querySelector('rect.bar'))})),
    marks: [...document.querySelectorAll('#timeline g.mark')].map(g => ({name: g.dataset.mark, ...rect(g.querySelector('circle'))})),
    target: target ? {name: 'target', ...rect(target)} : null,
    optionRows: [...document.querySelectorAll('#options tbody tr')].map(tr => ({letter: tr.dataset.option, status: tr.dataset.status, cells: [...tr.cells].map(c => c.innerText)})),
    findings: document.getElementById('findings').innerText,
    residue: document.getElementById('residue').innerText,
    evidence: [...document.querySelectorAll('#evidence a.file')].map(a => a.href),
    pack: (document.querySelector('#evidence a.pack') || {}).href || '',
  };
})()`

type indexRowView struct {
	ID   string  `json:"id"`
	Href string  `json:"href"`
	Text string  `json:"text"`
	H    float64 `json:"h"`
}

const indexJS = `[...document.querySelectorAll('#drills tbody tr')].map(tr => ({
  id: tr.dataset.drill, href: tr.querySelector('a').href, text: tr.innerText, h: tr.getBoundingClientRect().height}))`

type scheduleRowView struct {
	Status     string  `json:"status"`
	Background string  `json:"bg"`
	Text       string  `json:"text"`
	H          float64 `json:"h"`
}

const complianceJS = `(() => {
  const rows = {};
  for (const tr of document.querySelectorAll('#schedule tbody tr')) {
    rows[tr.dataset.scenario] = {status: tr.dataset.status, bg: getComputedStyle(tr.cells[1]).backgroundColor,
      text: tr.innerText, h: tr.getBoundingClientRect().height};
  }
  return rows;
})()`

// TestPagesInChromium opens the rendered pages in headless Chromium and checks what a person sees.
func TestPagesInChromium(t *testing.T) {
	exe := chromium(t)
	root := t.TempDir()
	out, passed, failed, evidence := writeFixtureSite(t, root)
	shots := screenshotDir(t)

	ctx := t.Context()
	if deadline, ok := t.Deadline(); ok {
		// Leave time to report what went wrong rather than be killed mid-page.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline.Add(-30*time.Second))
		defer cancel()
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	// open loads a page, screenshots it and evaluates js into result.
	open := func(t *testing.T, name, js string, result any) {
		t.Helper()
		if err := chromedp.Do(browser, chromedp.Navigate("file://"+filepath.Join(out, name)), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
			t.Fatalf("chromium opens %s: %v", name, err)
		}
		shot, err := chromedp.Run(browser, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("chromium screenshots %s: %v", name, err)
		}
		raw, err := chromedp.Run(browser, chromedp.Evaluate[[]byte](js))
		if err != nil {
			t.Fatalf("chromium evaluates %s: %v", name, err)
		}
		if err := json.Unmarshal(raw, result); err != nil {
			t.Fatalf("what chromium read from %s: %v\n%s", name, err, raw)
		}
		img, err := png.Decode(bytes.NewReader(shot))
		if err != nil {
			t.Fatalf("screenshot of %s: %v", name, err)
		}
		if b := img.Bounds(); b.Dx() < 1000 || b.Dy() < 300 {
			t.Errorf("screenshot of %s is %dx%d: the page did not render", name, b.Dx(), b.Dy())
		}
		path := filepath.Join(shots, strings.TrimSuffix(name, ".html")+".png")
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", path)
	}

	t.Run("index", func(t *testing.T) {
		var rows []indexRowView
		open(t, IndexFile, indexJS, &rows)
		want := map[string][]string{
			passed.ID: {"policy", "P1", "passed", "2m4s", "met"},
			failed.ID: {"database", "P1", "failed", "not recovered", "missed"},
		}
		if len(rows) != len(want) {
			t.Fatalf("index shows %d drills, want %d", len(rows), len(want))
		}
		for _, r := range rows {
			if r.H <= 0 {
				t.Errorf("row %s is not rendered", r.ID)
			}
			for _, s := range want[r.ID] {
				if !strings.Contains(r.Text, s) {
					t.Errorf("index row %s shows %q, without %q", r.ID, r.Text, s)
				}
			}
			if got := fileOf(t, r.Href); got != filepath.Join(out, PageFile(r.ID)) {
				t.Errorf("index links %s to %s", r.ID, got)
			}
		}
	})

	for _, c := range []struct {
		res     drill.Result
		verdict string
		target  string
		status  map[string]string // option letter: ran, skipped or failed
	}{
		{passed, "PASSED", "met", map[string]string{"A": "skipped", "B": "ran", "C": "ran"}},
		{failed, "FAILED", "missed", map[string]string{"A": "skipped", "B": "failed"}},
	} {
		t.Run(c.res.Scenario, func(t *testing.T) {
			var v drillView
			open(t, PageFile(c.res.ID), drillJS, &v)

			// The verdict is visible, and a failure's markup is shown as text, never run.
			if !strings.HasPrefix(v.Title, c.res.ID) {
				t.Errorf("page title %q: markup in the failure text ran", v.Title)
			}
			if !strings.Contains(v.Verdict.Text, c.verdict) || v.Verdict.W <= 0 || v.Verdict.H <= 0 ||
				v.Verdict.Visibility != "visible" || v.Verdict.Display == "none" {
				t.Errorf("verdict %q not visible (%vx%v, visibility %s, display %s)", v.Verdict.Text, v.Verdict.W, v.Verdict.H, v.Verdict.Visibility, v.Verdict.Display)
			}
			if c.res.Failure != "" && !strings.Contains(v.Verdict.Text, c.res.Failure) {
				t.Errorf("verdict shows %q, not the failure %q", v.Verdict.Text, c.res.Failure)
			}
			if v.Verdict.Scripts != 0 {
				t.Errorf("the page has %d script elements", v.Verdict.Scripts)
			}
			if v.TargetMet != c.target {
				t.Errorf("response target shown as %q, want %q", v.TargetMet, c.target)
			}

			// Every phase the drill entered is drawn, none is invisible.
			var wantPhases []string
			for _, e := range c.res.Events {
				if e.What == "phase started" {
					wantPhases = append(wantPhases, e.Detail)
				}
			}
			var gotPhases []string
			for _, p := range v.Phases {
				gotPhases = append(gotPhases, p.Name)
				if p.W <= 0 || p.H <= 0 {
					t.Errorf("phase %s is drawn %vx%v", p.Name, p.W, p.H)
				}
			}
			if !reflect.DeepEqual(gotPhases, wantPhases) {
				t.Errorf("timeline phases %v, want %v", gotPhases, wantPhases)
			}
			var gotOptions, wantOptions []string
			for _, o := range v.Options {
				gotOptions = append(gotOptions, o.Name)
				if o.W <= 0 || o.H <= 0 {
					t.Errorf("option %s is drawn %vx%v", o.Name, o.W, o.H)
				}
			}
			for _, o := range c.res.Options {
				wantOptions = append(wantOptions, o.Letter)
			}
			if !reflect.DeepEqual(gotOptions, wantOptions) {
				t.Errorf("timeline options %v, want %v", gotOptions, wantOptions)
			}

			// Recovery is drawn against the response target.
			if v.Target == nil || v.Target.H <= 0 {
				t.Fatalf("no response target line drawn: %+v", v.Target)
			}
			marks := map[string]box{}
			for _, m := range v.Marks {
				marks[m.Name] = m
			}
			for _, name := range []string{markInjected, markDetected, markAcknowledged} {
				if _, ok := marks[name]; !ok {
					t.Errorf("no %s mark; marks: %v", name, v.Marks)
				}
			}
			rec, recovered := marks[markRecovered]
			switch {
			case recovered != !c.res.RecoveredAt.IsZero():
				t.Errorf("recovered mark drawn = %v for a drill that recovered = %v", recovered, !c.res.RecoveredAt.IsZero())
			case recovered && !(marks[markInjected].X < rec.X && rec.X < v.Target.X):
				t.Errorf("recovered at x=%v is not between injection at x=%v and the target at x=%v", rec.X, marks[markInjected].X, v.Target.X)
			}

			// The options table: letter, title, runbook line, ran or skipped, duration.
			if len(v.OptionRows) != len(c.res.Options) {
				t.Fatalf("options table has %d rows, want %d", len(v.OptionRows), len(c.res.Options))
			}
			for i, row := range v.OptionRows {
				o := c.res.Options[i]
				if row.Letter != o.Letter || row.Status != c.status[o.Letter] {
					t.Errorf("option row %d = %s %s, want %s %s", i, row.Letter, row.Status, o.Letter, c.status[o.Letter])
				}
				text := strings.Join(row.Cells, " | ")
				for _, s := range []string{o.Title, duration(o.Duration)} {
					if !strings.Contains(text, s) {
						t.Errorf("option %s row %q does not show %q", o.Letter, text, s)
					}
				}
				if o.Line > 0 && !slices.Contains(row.Cells, strconv.Itoa(o.Line)) {
					t.Errorf("option %s row %q does not show runbook line %d", o.Letter, text, o.Line)
				}
			}
			for _, f := range c.res.Findings {
				if !strings.Contains(v.Findings, f.Reason) {
					t.Errorf("findings show %q, not %q", v.Findings, f.Reason)
				}
			}
			for _, r := range c.res.Residue {
				if !strings.Contains(v.Residue, r) {
					t.Errorf("residue shows %q, not %q", v.Residue, r)
				}
			}

			// Evidence links resolve to the pack's files.
			var linked []string
			for _, href := range v.Evidence {
				path := fileOf(t, href)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("evidence link %s does not resolve: %v", href, err)
					continue
				}
				rel, _ := filepath.Rel(c.res.EvidenceDir, path)
				linked = append(linked, filepath.ToSlash(rel))
			}
			want := slices.Clone(evidence[c.res.ID])
			slices.Sort(want)
			slices.Sort(linked)
			if !reflect.DeepEqual(linked, want) {
				t.Errorf("evidence links %v, want %v", linked, want)
			}
			if got := fileOf(t, v.Pack); got != c.res.EvidenceDir {
				t.Errorf("the pack links to %s, want %s", got, c.res.EvidenceDir)
			}
		})
	}

	t.Run("compliance", func(t *testing.T) {
		rows := map[string]scheduleRowView{}
		open(t, ComplianceFile, complianceJS, &rows)
		ok, overdue, never := rows["policy"], rows["frontend"], rows["database"]
		if ok.Status != "ok" || overdue.Status != "overdue" || never.Status != "never-tested" {
			t.Fatalf("schedule rows: %+v", rows)
		}
		for name, r := range map[string]scheduleRowView{"overdue": overdue, "never tested": never} {
			if r.H <= 0 || !strings.Contains(r.Text, name) {
				t.Errorf("the %s row shows %q (height %v)", name, r.Text, r.H)
			}
			if r.Background == ok.Background {
				t.Errorf("the %s row is not highlighted: background %s, as an ok row's", name, r.Background)
			}
		}
		if overdue.Background == never.Background {
			t.Errorf("overdue and never-tested rows look the same (%s)", overdue.Background)
		}
	})
}
