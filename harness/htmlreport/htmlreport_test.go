package htmlreport

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/drill"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{29 * time.Microsecond, "29µs"},
		{450*time.Millisecond + 400*time.Microsecond, "450ms"},
		{2240 * time.Millisecond, "2.2s"},
		{176 * time.Second, "2m56s"},
		{15 * time.Minute, "15m"},
		{time.Hour + 5*time.Minute + 400*time.Millisecond, "1h5m"},
		{-1500 * time.Millisecond, "-1.5s"},
	}
	for _, c := range cases {
		if got := duration(c.in); got != c.want {
			t.Errorf("duration(%v) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := offset(-473 * time.Millisecond); got != "T-473ms" {
		t.Errorf("offset(-473ms) = %q, want T-473ms", got)
	}
}

type spanWant struct {
	name         string
	start, end   float64 // seconds since injection
	state, label string
}

func spansOf(spans []span) []spanWant {
	var out []spanWant
	for _, s := range spans {
		out = append(out, spanWant{s.Name, s.Start.Seconds(), s.End.Seconds(), s.State, s.Label})
	}
	return out
}

func round(spans []spanWant) []spanWant {
	for i := range spans {
		spans[i].start = float64(int64(spans[i].start*1000+0.5)) / 1000
		spans[i].end = float64(int64(spans[i].end*1000+0.5)) / 1000
	}
	return spans
}

func TestBuildTimeline(t *testing.T) {
	t.Parallel()
	proc := process(t)
	noEvents := passedResult("")
	noEvents.Events = nil
	cases := []struct {
		name        string
		res         drill.Result
		phases      []spanWant
		options     []spanWant
		marks       map[string]time.Duration
		anchor      string
		approximate bool
	}{
		{
			name: "passed, from events",
			res:  passedResult(""),
			phases: []spanWant{
				{name: "baseline", start: -1, end: 0, label: "baseline"},
				{name: "inject", start: 0, end: 4, label: "inject"},
				{name: "detect", start: 4, end: 40, label: "detect"},
				{name: "acknowledge", start: 40, end: 40, label: "acknowledge"}, // 29µs, rounded away
				{name: "diagnose", start: 40, end: 42, label: "diagnose"},
				{name: "mitigate", start: 42, end: 117.3, label: "mitigate"},
				{name: "recover", start: 117.3, end: 125, label: "recover"},
				{name: "evidence", start: 125, end: 125.5, label: "evidence"},
				{name: "cleanup", start: 125.5, end: 145.5, label: "cleanup"},
			},
			options: []spanWant{
				{name: "A", start: 42, end: 42, state: "skipped", label: "option A"},
				{name: "B", start: 42.1, end: 77.1, state: "no-recovery", label: "option B"},
				{name: "C", start: 77.2, end: 117.2, state: "recovered", label: "option C"},
			},
			marks:  map[string]time.Duration{markInjected: 0, markDetected: 40 * time.Second, markAcknowledged: 40*time.Second + 10*time.Microsecond, markRecovered: 124 * time.Second},
			anchor: "detection",
		},
		{
			name: "failed: option B failed, never recovered",
			res:  failedResult(""),
			phases: []spanWant{
				{name: "baseline", start: -0.6, end: -0.1, label: "baseline"},
				{name: "inject", start: -0.1, end: 4.4, label: "inject"},
				{name: "detect", start: 4.4, end: 180.4, label: "detect"},
				{name: "acknowledge", start: 180.4, end: 180.4, label: "acknowledge"},
				{name: "diagnose", start: 180.401, end: 181.401, label: "diagnose"},
				{name: "mitigate", start: 181.4, end: 183.7, label: "mitigate"},
				{name: "evidence", start: 183.7, end: 183.8, label: "evidence"},
				{name: "cleanup", start: 183.8, end: 189.4, label: "cleanup"},
			},
			options: []spanWant{
				{name: "A", start: 181.4, end: 181.4, state: "skipped", label: "option A"},
				{name: "B", start: 181.5, end: 183.7, state: "failed", label: "option B"},
			},
			marks:  map[string]time.Duration{markInjected: 0, markDetected: 180*time.Second + 400*time.Millisecond, markAcknowledged: 180*time.Second + 400*time.Millisecond + 100*time.Microsecond},
			anchor: "detection",
		},
		{
			name: "no events: phases end to end from their durations",
			res:  noEvents,
			phases: []spanWant{
				{name: "baseline", start: -1, end: 0, label: "baseline"},
				{name: "inject", start: 0, end: 4, label: "inject"},
				{name: "detect", start: 4, end: 40, label: "detect"},
				{name: "acknowledge", start: 40, end: 40, label: "acknowledge"},
				{name: "diagnose", start: 40, end: 42, label: "diagnose"},
				{name: "mitigate", start: 42, end: 117.3, label: "mitigate"},
				{name: "recover", start: 117.3, end: 125, label: "recover"},
				{name: "evidence", start: 125, end: 125.5, label: "evidence"},
				{name: "cleanup", start: 125.5, end: 145.5, label: "cleanup"},
			},
			options: []spanWant{
				{name: "A", start: 42, end: 42, state: "skipped", label: "option A"},
				{name: "B", start: 42, end: 77, state: "no-recovery", label: "option B"},
				{name: "C", start: 77, end: 117, state: "recovered", label: "option C"},
			},
			// Without events the acknowledgement is the end of its phase.
			marks:       map[string]time.Duration{markInjected: 0, markDetected: 40 * time.Second, markAcknowledged: 40*time.Second + 29*time.Microsecond, markRecovered: 124 * time.Second},
			anchor:      "detection",
			approximate: true,
		},
		{
			name: "nothing injected: the origin is the drill's start",
			res: drill.Result{ID: "DRILL-x-policy", Started: t0, Phases: map[string]time.Duration{drill.PhaseBaseline: sec(2)},
				Events: events(ev{0, drill.PhaseBaseline, "phase started", drill.PhaseBaseline})},
			phases: []spanWant{{name: "baseline", start: 0, end: 2, label: "baseline"}},
			marks:  map[string]time.Duration{},
			anchor: "the drill's start",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tl := buildTimeline(c.res, proc)
			if got := round(spansOf(tl.Phases)); !reflect.DeepEqual(got, round(c.phases)) {
				t.Errorf("phases:\n got %v\nwant %v", got, c.phases)
			}
			if got := round(spansOf(tl.Options)); !reflect.DeepEqual(got, round(c.options)) {
				t.Errorf("options:\n got %v\nwant %v", got, c.options)
			}
			marks := map[string]time.Duration{}
			for _, m := range tl.Marks {
				marks[m.Name] = m.At
			}
			if !reflect.DeepEqual(marks, c.marks) {
				t.Errorf("marks = %v, want %v", marks, c.marks)
			}
			if tl.Approximate != c.approximate {
				t.Errorf("approximate = %v, want %v", tl.Approximate, c.approximate)
			}
			if tl.WindowsAnchor != c.anchor {
				t.Errorf("windows counted from %q, want %q", tl.WindowsAnchor, c.anchor)
			}
		})
	}
}

// The seed runbook's windows: Acknowledge 0-5 minutes, Communicate 5-10, Mitigate 10-30, Resolve
// 30+, Post-Incident 24-72 hours, all counted from detection.
func TestTimelineWindows(t *testing.T) {
	t.Parallel()
	tl := buildTimeline(passedResult(""), process(t))
	detected := 40 * time.Second
	type w struct {
		start, end time.Duration
		open       bool
	}
	want := []w{
		{detected, detected + 5*time.Minute, false},
		{detected + 5*time.Minute, detected + 10*time.Minute, false},
		{detected + 10*time.Minute, detected + 30*time.Minute, false},
		{detected + 30*time.Minute, 0, true},
		{detected + 24*time.Hour, detected + 72*time.Hour, false},
	}
	var got []w
	for _, x := range tl.Windows {
		got = append(got, w{x.Start, x.End, x.Open})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("windows:\n got %v\nwant %v", got, want)
	}
}

func coord(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("coordinate %q: %v", s, err)
	}
	return f
}

func TestPicture(t *testing.T) {
	t.Parallel()
	proc := process(t)
	cases := []struct {
		name string
		res  drill.Result
		// recoveredBeforeTarget: the recovered mark lies left of the target line.
		recovered bool
	}{
		{"passed", passedResult(""), true},
		{"failed", failedResult(""), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tl := buildTimeline(c.res, proc)
			p := tl.picture()
			if p.Target == nil {
				t.Fatal("no response target line: the axis must reach the target")
			}
			target := coord(t, p.Target.X)
			if target > plotRight || target < plotLeft {
				t.Errorf("target line at x=%v, outside the plot [%v, %v]", target, plotLeft, plotRight)
			}
			var recovered *svgMark
			for i := range p.Marks {
				if p.Marks[i].Name == markRecovered {
					recovered = &p.Marks[i]
				}
			}
			if (recovered != nil) != c.recovered {
				t.Fatalf("recovered mark present = %v, want %v", recovered != nil, c.recovered)
			}
			if recovered != nil && coord(t, recovered.X) >= target {
				t.Errorf("recovered at x=%s, not left of the target at x=%v although the target was met", recovered.X, target)
			}
			// Every bar is visible, even a phase of microseconds, and lanes do not overlap.
			seen := map[string]bool{}
			for _, b := range append(append([]svgBar(nil), p.Phases...), p.Options...) {
				if w := coord(t, b.W); w < minBarW {
					t.Errorf("%s is %v wide, less than %v", b.Label, w, minBarW)
				}
				if x := coord(t, b.X); x < plotLeft || x+coord(t, b.W) > plotRight+minBarW {
					t.Errorf("%s spans x=%v..%v, outside the plot", b.Label, x, x+coord(t, b.W))
				}
				if seen[b.Y] {
					t.Errorf("%s shares its lane (y=%s) with another bar", b.Label, b.Y)
				}
				seen[b.Y] = true
			}
			// Options sit under mitigate, above recover.
			mitigateY, firstOptionY := "", ""
			for _, b := range p.Phases {
				if b.Name == drill.PhaseMitigate {
					mitigateY = b.Y
				}
			}
			if len(p.Options) > 0 {
				firstOptionY = p.Options[0].Y
			}
			if coord(t, firstOptionY)-coord(t, mitigateY) != laneH {
				t.Errorf("first option lane at y=%s, not right under mitigate at y=%s", firstOptionY, mitigateY)
			}
			// Windows beyond a 15-minute axis are named, not drawn.
			var names []string
			for _, w := range p.Windows {
				names = append(names, w.Name)
			}
			if !slices.Contains(names, "Acknowledge & Assess") || slices.Contains(names, "Post-Incident") {
				t.Errorf("drawn windows = %v, want Acknowledge & Assess in and Post-Incident out", names)
			}
			if !strings.Contains(strings.Join(p.Offstage, "; "), "Post-Incident") || !strings.Contains(strings.Join(p.Offstage, "; "), "mitigation deadline") {
				t.Errorf("offstage = %q, want Post-Incident and the mitigation deadline named", p.Offstage)
			}
			// Ticks are round and increasing.
			if len(p.Ticks) < 3 {
				t.Fatalf("%d ticks", len(p.Ticks))
			}
			if p.Ticks[0].Label != "T+0s" && !strings.HasPrefix(p.Ticks[0].Label, "T-") {
				t.Errorf("first tick %q", p.Ticks[0].Label)
			}
			for i := 1; i < len(p.Ticks); i++ {
				if coord(t, p.Ticks[i].X) <= coord(t, p.Ticks[i-1].X) {
					t.Errorf("tick %s at x=%s is not right of %s", p.Ticks[i].Label, p.Ticks[i].X, p.Ticks[i-1].Label)
				}
			}
		})
	}
}

func TestTickStep(t *testing.T) {
	t.Parallel()
	cases := []struct{ span, want time.Duration }{
		{5 * time.Second, time.Second},
		{time.Minute, 10 * time.Second},
		{16 * time.Minute, 2 * time.Minute},
		{31 * time.Minute, 5 * time.Minute},
		{73 * time.Hour, 12 * time.Hour},
	}
	for _, c := range cases {
		if got := tickStep(c.span); got != c.want {
			t.Errorf("tickStep(%v) = %v, want %v", c.span, got, c.want)
		}
	}
}

func TestPageFile(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"DRILL-20261126T100000Z-policy": "DRILL-20261126T100000Z-policy.html",
		"../etc/passwd":                 "-etc-passwd.html",
		"a b/c":                         "a-b-c.html",
	}
	for in, want := range cases {
		if got := PageFile(in); got != want {
			t.Errorf("PageFile(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRelHref(t *testing.T) {
	t.Parallel()
	cases := []struct{ dir, target, want string }{
		{"/a/artifacts/html", "/a/artifacts/evidence/incidents/D/timeline.md", "../evidence/incidents/D/timeline.md"},
		{"/a/artifacts/html", "/a/artifacts/evidence/incidents/D/diagnosis/01-pod status.txt", "../evidence/incidents/D/diagnosis/01-pod%20status.txt"},
		{"/a/out", "/a/out/x#1.log", "x%231.log"},
		{"/a/out", "/a/out/c:d.txt", "./c:d.txt"},
	}
	for _, c := range cases {
		got, err := relHref(c.dir, c.target)
		if err != nil || got != c.want {
			t.Errorf("relHref(%s, %s) = %q, %v; want %q", c.dir, c.target, got, err, c.want)
		}
	}
}

// writeFixtureSite writes both fixture drills and the compliance schedule under root/artifacts/html.
func writeFixtureSite(t *testing.T, root string) (out string, passed, failed drill.Result, evidence map[string][]string) {
	t.Helper()
	passedDir, passedFiles := evidenceFixture(t, root, "DRILL-20261126T100000Z-policy")
	failedDir, failedFiles := evidenceFixture(t, root, "DRILL-20261126T101000Z-database")
	passed, failed = passedResult(passedDir), failedResult(failedDir)
	out = filepath.Join(root, "artifacts", "html")
	written, err := Write(out, Site{
		Results: []drill.Result{passed, failed}, Process: process(t), Compliance: complianceFixture(), Generated: t0.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(out, IndexFile), filepath.Join(out, ComplianceFile),
		filepath.Join(out, PageFile(passed.ID)), filepath.Join(out, PageFile(failed.ID)),
	}
	if !reflect.DeepEqual(written, want) {
		t.Fatalf("Write wrote %v, want %v", written, want)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%s holds %d entries, want only the %d pages (no temporary file left)", out, len(entries), len(want))
	}
	return out, passed, failed, map[string][]string{passed.ID: passedFiles, failed.ID: failedFiles}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestWriteEscapesAndFetchesNothing(t *testing.T) {
	t.Parallel()
	out, _, failed, _ := writeFixtureSite(t, t.TempDir())
	page := read(t, filepath.Join(out, PageFile(failed.ID)))
	if want := `&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt; exit status 1 &amp; &#34;quotes&#34;`; !strings.Contains(page, want) {
		t.Errorf("the failure text is not shown escaped: want %s in\n%s", want, excerpt(page, "failure"))
	}
	// Self-contained: no script, nothing loaded from elsewhere.
	external := regexp.MustCompile(`(?i)<script|<link|<img|<iframe|\bsrc=|@import|url\(|https?://`)
	for _, name := range []string{IndexFile, ComplianceFile, PageFile(failed.ID)} {
		body := strings.ReplaceAll(read(t, filepath.Join(out, name)), `xmlns="http://www.w3.org/2000/svg"`, "")
		if m := external.FindString(body); m != "" {
			t.Errorf("%s is not self-contained: it has %q", name, m)
		}
	}
}

func excerpt(s, near string) string {
	i := strings.Index(s, near)
	if i < 0 {
		return s
	}
	return s[max(0, i-200):min(len(s), i+400)]
}

func TestWriteLinksPagesAndEvidence(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	out, passed, failed, evidence := writeFixtureSite(t, root)
	href := regexp.MustCompile(`href="([^"]*)"`)
	links := func(name string) []string {
		var hrefs []string
		for _, m := range href.FindAllStringSubmatch(read(t, filepath.Join(out, name)), -1) {
			hrefs = append(hrefs, m[1])
		}
		return hrefs
	}
	index := links(IndexFile)
	for _, res := range []drill.Result{passed, failed} {
		if !slices.Contains(index, PageFile(res.ID)) {
			t.Errorf("index links %v, not %s", index, PageFile(res.ID))
		}
		page := links(PageFile(res.ID))
		for _, f := range evidence[res.ID] {
			want := "../evidence/incidents/" + res.ID + "/" + strings.ReplaceAll(f, " ", "%20")
			if !slices.Contains(page, want) {
				t.Errorf("%s does not link %s; links: %v", res.ID, want, page)
			}
		}
	}
	// A result whose pack is gone says so instead of linking nothing.
	gone := passedResult(filepath.Join(root, "elsewhere", "incidents", "DRILL-gone"))
	gone.ID = "DRILL-gone"
	if _, err := Write(out, Site{Results: []drill.Result{gone}}); err != nil {
		t.Fatal(err)
	}
	if page := read(t, filepath.Join(out, PageFile(gone.ID))); !strings.Contains(page, "is not here: copy it beside the results") {
		t.Errorf("a missing evidence pack is not explained:\n%s", excerpt(page, `id="evidence"`))
	}
}

func TestWriteCompliance(t *testing.T) {
	t.Parallel()
	out, _, _, _ := writeFixtureSite(t, t.TempDir())
	page := read(t, filepath.Join(out, ComplianceFile))
	row := regexp.MustCompile(`<tr class="status-([a-z-]+)" data-scenario="([a-z]+)"`)
	got := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(page, -1) {
		got[m[2]] = m[1]
	}
	want := map[string]string{"frontend": "overdue", "database": "never-tested", "policy": "ok"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schedule rows = %v, want %v", got, want)
	}
	if !strings.Contains(page, "1 overdue, 1 never tested, 1 ok") {
		t.Errorf("no summary of the statuses in\n%s", excerpt(page, "compliance-summary"))
	}
	// A scenario drilled in this run links to its page.
	if !strings.Contains(page, `<a href="DRILL-20261126T101000Z-database.html">`) {
		t.Errorf("the database row does not link this run's drill")
	}
}
