package report_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/report"
	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/internal/golden"
	"github.com/firedrill-dev/firedrill/internal/seed"
)

var now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func drill(scenario string, finished string, result ledger.Result) ledger.Record {
	end, err := time.Parse(time.RFC3339, finished)
	if err != nil {
		panic(err)
	}
	return ledger.Record{
		Scenario: scenario, Severity: "P1", Kind: "fire-drill", StartedAt: end.Add(-10 * time.Minute), FinishedAt: end,
		Result: result, Phases: []ledger.Phase{{Name: "mitigate", Duration: ledger.Duration(6 * time.Minute)}},
		ResponseTarget: ledger.Duration(15 * time.Minute), TargetMet: result == ledger.Passed,
		RunbookDigest: "sha256:test", HarnessVersion: "test", Where: "host:test",
	}
}

// history is a ledger that puts each scenario in a different state on 2026-11-26.
var history = []ledger.Record{
	drill("database", "2026-08-01T10:00:00Z", ledger.Passed),   // P1 quarterly: due 2026-11-01, overdue
	drill("frontend", "2026-10-26T23:00:00Z", ledger.Passed),   // P0 monthly: due 2026-11-26, due today
	drill("storage", "2026-11-20T10:00:00Z", ledger.Failed),    // never passed
	drill("policy", "2026-10-15T10:00:00Z", ledger.Passed),     // P1 quarterly: due 2027-01-15, ok
	drill("ratelimit", "2026-02-28T10:00:00Z", ledger.Passed),  // P2 annual: due 2027-02-28
	drill("ratelimit", "2026-06-01T10:00:00Z", ledger.Aborted), // a later drill that did not pass
	drill("legacy", "2026-05-01T10:00:00Z", ledger.Passed),     // not in the runbook
}

// writeLedger writes records through the ledger API and reads them back verified.
func writeLedger(t *testing.T, records []ledger.Record) []ledger.Record {
	t.Helper()
	l, err := ledger.Open(filepath.Join(t.TempDir(), "ledger.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range records {
		if _, err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.Records()
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBuild(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	rep := report.Build(rb, writeLedger(t, history), now)
	want := []struct {
		scenario, severity, cadence, last, result, next string
		status                                          report.Status
	}{
		{"frontend", "P0", "monthly", "2026-10-26", "passed", "2026-11-26", report.DueSoon},
		{"database", "P1", "quarterly", "2026-08-01", "passed", "2026-11-01", report.Overdue},
		{"storage", "P1", "quarterly", "", "failed", "", report.NeverTested},
		{"policy", "P1", "quarterly", "2026-10-15", "passed", "2027-01-15", report.OK},
		{"ratelimit", "P2", "annual", "2026-02-28", "aborted", "2027-02-28", report.OK},
	}
	if len(rep.Rows) != len(want) {
		t.Fatalf("rows = %+v", rep.Rows)
	}
	for i, w := range want {
		r := rep.Rows[i]
		if r.Scenario != w.scenario || r.Severity != w.severity || r.Cadence != w.cadence || r.LastTested != w.last ||
			r.LastResult != w.result || r.NextDue != w.next || r.Status != w.status {
			t.Errorf("row %d = %+v, want %+v", i, r, w)
		}
	}
	if rep.Rows[3].SeveritySource != "runbook line 19" || !strings.HasSuffix(rep.Rows[0].SeveritySource, "incident-response.severity.yaml line 8") {
		t.Errorf("severity sources = %q, %q", rep.Rows[3].SeveritySource, rep.Rows[0].SeveritySource)
	}
	if rep.LastTested != "2026-10-26" || rep.NextTestDue != "2026-11-01" || len(rep.Unknown) != 1 || rep.Unknown[0] != "legacy" {
		t.Errorf("summary = last %s next %s unknown %v", rep.LastTested, rep.NextTestDue, rep.Unknown)
	}
	if got := rep.WithStatus(report.Overdue); len(got) != 1 || got[0].Scenario != "database" {
		t.Errorf("overdue = %+v", got)
	}
}

func TestStatusBoundaries(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	// frontend is P0, monthly: a pass on 2026-10-19 is due 2026-11-19.
	cases := []struct {
		now  string
		want report.Status
	}{
		{"2026-11-11", report.OK},
		{"2026-11-12", report.DueSoon}, // exactly 7 days before
		{"2026-11-19", report.DueSoon}, // the due day itself
		{"2026-11-20", report.Overdue},
	}
	records := writeLedger(t, []ledger.Record{drill("frontend", "2026-10-19T08:00:00Z", ledger.Passed)})
	for _, tc := range cases {
		n, err := report.ParseNow(tc.now)
		if err != nil {
			t.Fatal(err)
		}
		if got := report.Build(rb, records, n).Rows[0].Status; got != tc.want {
			t.Errorf("on %s: %s, want %s", tc.now, got, tc.want)
		}
	}
}

func TestEmptyLedger(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	rep := report.Build(rb, nil, now)
	for _, r := range rep.Rows {
		if r.Status != report.NeverTested || r.LastTested != "" || r.NextDue != "" {
			t.Errorf("row = %+v", r)
		}
	}
	if rep.Counts[report.NeverTested] != 5 || rep.NextTestDue != "2026-11-26" || rep.LastTested != "" {
		t.Errorf("report = %+v", rep)
	}
}

func TestUnscheduled(t *testing.T) {
	t.Parallel()
	rb, err := runbook.Load("../../fixtures/runbooks/testdata/payments.md")
	if err != nil {
		t.Fatal(err)
	}
	rep := report.Build(rb, nil, now)
	for _, r := range rep.Rows {
		want := report.NeverTested
		if r.Scenario == "certificate-expiry" {
			want = report.Unscheduled
		}
		if r.Status != want {
			t.Errorf("%s: %s, want %s", r.Scenario, r.Status, want)
		}
	}
}

func TestParseNow(t *testing.T) {
	t.Parallel()
	if got, err := report.ParseNow("2026-11-26T23:30:00-02:00"); err != nil || got.Day() != 27 || got.Location() != time.UTC {
		t.Errorf("ParseNow = %v, %v", got, err)
	}
	if _, err := report.ParseNow("26/11/2026"); err == nil || err.Error() != `"26/11/2026" is not a date: write it as 2026-11-26 or 2026-11-26T09:00:00Z` {
		t.Errorf("ParseNow error = %v", err)
	}
}

func TestFormatsGolden(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	rep := report.Build(rb, writeLedger(t, history), now)
	rep.Ledger = "drills/ledger.jsonl"
	for _, f := range []struct{ format, file string }{
		{"table", "report.txt"}, {"markdown", "report.md"}, {"json", "report.json"}, {"html", "report.html"},
	} {
		var buf bytes.Buffer
		if err := report.Write(&buf, rep, f.format); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", f.file), buf.Bytes())
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, "pdf"); err == nil || err.Error() != `unknown format "pdf": use table, markdown, json, html` {
		t.Errorf("unknown format error = %v", err)
	}
}

// TestHTMLIsSelfContained: the page loads nothing from elsewhere.
func TestHTMLIsSelfContained(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	var buf bytes.Buffer
	if err := report.Write(&buf, report.Build(rb, nil, now), "html"); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, external := range []string{"<script", "<link", "src=", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("page contains %q", external)
		}
	}
}

func TestUpdateStamps(t *testing.T) {
	t.Parallel()
	src, rb := seed.Runbook(t)
	rep := report.Build(rb, writeLedger(t, history), now)
	out, err := report.UpdateStamps(src, rb, rep)
	if err != nil {
		t.Fatal(err)
	}
	// Byte comparison: everything but the two values is identical.
	last, next := rb.Schedule.LastTested, rb.Schedule.NextTestDue
	var want []byte
	want = append(want, src[:last.Offset]...)
	want = append(want, "2026-10-26"...)
	want = append(want, src[last.Offset+len(last.Value):next.Offset]...)
	want = append(want, "2026-11-01"...)
	want = append(want, src[next.Offset+len(next.Value):]...)
	if !bytes.Equal(out, want) {
		t.Fatalf("update changed more than the values:\n%s", out)
	}
	srcLines, outLines := strings.Split(string(src), "\n"), strings.Split(string(out), "\n")
	if len(srcLines) != len(outLines) {
		t.Fatalf("line count %d -> %d", len(srcLines), len(outLines))
	}
	for i := range srcLines {
		switch i + 1 {
		case 365:
			if outLines[i] != "**Last Tested:** 2026-10-26  " {
				t.Errorf("line 365 = %q", outLines[i])
			}
		case 366:
			if outLines[i] != "**Next Test Due:** 2026-11-01" {
				t.Errorf("line 366 = %q", outLines[i])
			}
		default:
			if srcLines[i] != outLines[i] {
				t.Errorf("line %d changed: %q -> %q", i+1, srcLines[i], outLines[i])
			}
		}
	}
	// The result parses to the new values, and updating again is idempotent.
	rb2, err := runbook.Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if rb2.Schedule.LastTested.Value != "2026-10-26" || rb2.Schedule.NextTestDue.Value != "2026-11-01" {
		t.Errorf("stamps after update = %+v", rb2.Schedule)
	}
	again, err := report.UpdateStamps(out, rb2, rep)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("second update differs: %v", err)
	}
	// With no passing drill, Last Tested says so.
	never, err := report.UpdateStamps(src, rb, report.Build(rb, nil, now))
	if err != nil || !bytes.Contains(never, []byte("**Last Tested:** never  \n**Next Test Due:** 2026-11-26\n")) {
		t.Errorf("empty-ledger update = %v", err)
	}
}

func TestUpdateStampsNeedsStamps(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../../fixtures/runbooks/testdata/minimal.md")
	if err != nil {
		t.Fatal(err)
	}
	rb, err := runbook.Parse(src, runbook.WithPath("minimal.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = report.UpdateStamps(src, rb, report.Build(rb, nil, now))
	if !errors.Is(err, report.ErrNoStamp) || err.Error() != `the runbook has no stamp to update: add a line "**Last Tested:** [DATE]" to minimal.md` {
		t.Errorf("error = %v", err)
	}
}
