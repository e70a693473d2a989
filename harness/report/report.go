// Package report turns the runbook's testing schedule and the drill ledger into a compliance report:
// per scenario its severity (and where that came from), cadence, last passing drill, last result,
// next due date and status. All dates are UTC days; see runbook.Interval.Next for the calendar rule.
package report

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Status of one scenario.
type Status string

// Statuses, from best to worst for a scheduled scenario.
const (
	OK          Status = "ok"
	DueSoon     Status = "due"          // due within DueWindow
	Overdue     Status = "overdue"      // the due date has passed
	NeverTested Status = "never-tested" // no passing drill in the ledger
	Unscheduled Status = "unscheduled"  // no severity, or no schedule line for it
)

// DueWindow is how close a due date must be for DueSoon.
const DueWindow = 7 * 24 * time.Hour

// Text is the status as a person reads it.
func (s Status) Text() string {
	switch s {
	case DueSoon:
		return "due within 7 days"
	case NeverTested:
		return "never tested"
	}
	return string(s)
}

// ParseStatus reads a status name as used by --fail-on.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.TrimSpace(s)); st {
	case OK, DueSoon, Overdue, NeverTested, Unscheduled:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q: use ok, due, overdue, never-tested or unscheduled", s)
}

// Row is one scenario.
type Row struct {
	Scenario       string `json:"scenario"`
	Number         int    `json:"number"`
	Title          string `json:"title"`
	Severity       string `json:"severity"`
	SeveritySource string `json:"severity_source"`
	SeverityReason string `json:"severity_reason"`
	Cadence        string `json:"cadence"`      // "monthly", ... ; "" when unscheduled
	CadenceKind    string `json:"cadence_kind"` // "fire drills", ...
	CadenceLine    int    `json:"cadence_line"`
	LastTested     string `json:"last_tested"` // date of the last passing drill, "" if none
	LastResult     string `json:"last_result"` // result of the last drill of any result, "" if none
	LastRun        string `json:"last_run"`    // date of the last drill of any result
	Drills         int    `json:"drills"`      // drills of this scenario in the ledger
	NextDue        string `json:"next_due"`    // "" when never tested or unscheduled
	Status         Status `json:"status"`
}

// Report is the whole compliance report.
type Report struct {
	Runbook       string         `json:"runbook"`
	RunbookDigest string         `json:"runbook_digest"`
	Ledger        string         `json:"ledger"`
	LedgerRecords int            `json:"ledger_records"`
	LedgerHead    string         `json:"ledger_head"`
	Now           string         `json:"now"`
	Rows          []Row          `json:"scenarios"`
	Unknown       []string       `json:"unknown_scenarios,omitempty"` // ledger scenarios the runbook lacks
	LastTested    string         `json:"last_tested"`                 // latest passing drill of any scenario
	NextTestDue   string         `json:"next_test_due"`               // earliest due date; today if a scheduled scenario was never tested
	Counts        map[Status]int `json:"counts"`
}

const day = "2006-01-02"

// Build computes the report at the given moment.
func Build(rb *runbook.Runbook, records []ledger.Record, now time.Time) Report {
	today := dayOf(now)
	rep := Report{Runbook: rb.Path, RunbookDigest: rb.Digest, LedgerRecords: len(records), Now: today.Format(day), Counts: map[Status]int{}}
	if len(records) > 0 {
		rep.LedgerHead = records[len(records)-1].Hash
	}
	known := map[string]bool{}
	var lastTested, nextDue time.Time
	for i := range rb.Scenarios {
		sc := &rb.Scenarios[i]
		known[sc.Name] = true
		row := Row{Scenario: sc.Name, Number: sc.Number, Title: sc.Title, Severity: sc.Severity, SeveritySource: sc.SeveritySource.String(), SeverityReason: sc.SeveritySource.Reason}
		var lastPass, lastAny time.Time
		for _, r := range records {
			if r.Scenario != sc.Name {
				continue
			}
			row.Drills++
			if !r.FinishedAt.Before(lastAny) {
				lastAny, row.LastResult = r.FinishedAt, string(r.Result)
			}
			if r.Result == ledger.Passed && r.FinishedAt.After(lastPass) {
				lastPass = r.FinishedAt
			}
		}
		if !lastAny.IsZero() {
			row.LastRun = dayOf(lastAny).Format(day)
		}
		if !lastPass.IsZero() {
			row.LastTested = dayOf(lastPass).Format(day)
			if lastPass.After(lastTested) {
				lastTested = lastPass
			}
		}
		cad, scheduled := rb.Schedule.CadenceFor(sc.Severity)
		switch {
		case sc.Severity == "" || !scheduled:
			row.Status = Unscheduled
		default:
			row.Cadence, row.CadenceKind, row.CadenceLine = string(cad.Every), cad.Kind, cad.Line
			if lastPass.IsZero() {
				row.Status = NeverTested
				nextDue = earliest(nextDue, today)
				break
			}
			due := cad.Every.Next(lastPass)
			row.NextDue = due.Format(day)
			nextDue = earliest(nextDue, due)
			switch {
			case today.After(due):
				row.Status = Overdue
			case due.Sub(today) <= DueWindow:
				row.Status = DueSoon
			default:
				row.Status = OK
			}
		}
		rep.Counts[row.Status]++
		rep.Rows = append(rep.Rows, row)
	}
	for _, r := range records {
		if !known[r.Scenario] && !slices.Contains(rep.Unknown, r.Scenario) {
			rep.Unknown = append(rep.Unknown, r.Scenario)
		}
	}
	if !lastTested.IsZero() {
		rep.LastTested = dayOf(lastTested).Format(day)
	}
	if !nextDue.IsZero() {
		rep.NextTestDue = nextDue.Format(day)
	}
	return rep
}

func dayOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || b.Before(a) {
		return b
	}
	return a
}

// WithStatus returns the rows that have one of the statuses.
func (r Report) WithStatus(statuses ...Status) []Row {
	var out []Row
	for _, row := range r.Rows {
		if slices.Contains(statuses, row.Status) {
			out = append(out, row)
		}
	}
	return out
}

// ParseNow reads --now: a date (2026-11-26) or an RFC 3339 time, taken as UTC.
func ParseNow(s string) (time.Time, error) {
	if t, err := time.Parse(day, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date: write it as 2026-11-26 or 2026-11-26T09:00:00Z", s)
}
