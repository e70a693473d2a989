package evidence

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is one entry of the incident timeline.
type Event struct {
	Stage  string    // response-process phase as the runbook names it, e.g. "3. Mitigate"
	At     time.Time // when it happened
	What   string    // "Option A: restart pods"
	Detail string    // command, outcome, anything else worth reading later
}

// Impact is the impact assessment of an incident.
type Impact struct {
	Severity       string // "P1"
	Component      string // "frontend"
	Description    string // what users saw
	UsersAffected  string // "all users", "about 40%"
	Started        time.Time
	Detected       time.Time
	Recovered      time.Time     // zero while not recovered
	ErrorRate      float64       // share of failed requests while impaired, 0 to 1
	ResponseTarget time.Duration // the severity's response time from the runbook
}

// TimeToRecover is the time from detection to recovery, or false when not recovered.
func (im Impact) TimeToRecover() (time.Duration, bool) {
	if im.Recovered.IsZero() {
		return 0, false
	}
	return im.Recovered.Sub(im.Detected), true
}

// TargetMet reports whether the incident was recovered within the response-time target,
// counted from detection.
func (im Impact) TargetMet() bool {
	d, ok := im.TimeToRecover()
	return ok && im.ResponseTarget > 0 && d <= im.ResponseTarget
}

// ChecklistItem is one post-incident checklist item and what the drill did about it.
type ChecklistItem struct {
	Text string // as the runbook writes it
	Done bool
	Note string // why it is not done, or how it was done
}

// pendingMarker marks a template that a person still has to complete. Check reports a file
// carrying it as pending.
const pendingMarker = "<!-- firedrill:pending -->"

func rcaTemplate(incidentID string) []byte {
	return fmt.Appendf(nil, `%s
# Root cause analysis: %s

**Status: PENDING** — to be completed after the postmortem. Remove the first line of this file
when it is.

## Summary

## Root cause

## Contributing factors

## What went well

## What went wrong

## Action items

| Action | Owner | Issue | Due |
|--------|-------|-------|-----|
`, pendingMarker, incidentID)
}

func renderTimeline(incidentID string, start time.Time, events []Event) []byte {
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b Event) int { return a.At.Compare(b.At) })
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Incident timeline: %s\n\n", incidentID)
	fmt.Fprintf(&b, "T+00:00 is %s.\n\n", start.UTC().Format(time.RFC3339))
	b.WriteString("| Time | UTC | Stage | What | Detail |\n|------|-----|-------|------|--------|\n")
	for _, e := range events {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", offset(e.At.Sub(start)), e.At.UTC().Format("15:04:05"),
			cell(e.Stage), cell(e.What), cell(e.Detail))
	}
	return b.Bytes()
}

// offset renders d as T+mm:ss (minutes keep counting past 59), or T-mm:ss when negative.
func offset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	s := int64(d / time.Second)
	return fmt.Sprintf("T%s%02d:%02d", sign, s/60, s%60)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "|", `\|`)
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\n", "<br>")
}

func renderImpact(incidentID string, im Impact) []byte {
	var b bytes.Buffer
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "not yet"
		}
		return fmt.Sprintf("%s (%s)", t.UTC().Format(time.RFC3339), offset(t.Sub(im.Started)))
	}
	fmt.Fprintf(&b, "# Impact assessment: %s\n\n", incidentID)
	if im.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", strings.TrimSpace(im.Description))
	}
	rows := [][2]string{
		{"Severity", im.Severity},
		{"Component", im.Component},
		{"Users affected", im.UsersAffected},
		{"Started", stamp(im.Started)},
		{"Detected", stamp(im.Detected)},
		{"Recovered", stamp(im.Recovered)},
		{"Error rate", fmt.Sprintf("%.1f%%", im.ErrorRate*100)},
		{"Response-time target", target(im.ResponseTarget)},
	}
	ttr, recovered := im.TimeToRecover()
	var met string
	switch {
	case !recovered:
		rows = append(rows, [2]string{"Detected to recovered", "not recovered"})
		met = "no: not recovered"
	case im.ResponseTarget <= 0:
		rows = append(rows, [2]string{"Detected to recovered", duration(ttr)})
		met = "unknown: no target"
	default:
		rows = append(rows, [2]string{"Detected to recovered", duration(ttr)})
		if im.TargetMet() {
			met = "yes"
		} else {
			met = fmt.Sprintf("no: %s over", duration(ttr-im.ResponseTarget))
		}
	}
	rows = append(rows, [2]string{"Target met", met})
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s |\n", r[0], cell(r[1]))
	}
	return b.Bytes()
}

func duration(d time.Duration) string { return d.Round(time.Second).String() }

func target(d time.Duration) string {
	if d <= 0 {
		return "not set"
	}
	return duration(d)
}

func renderChecklist(incidentID string, items []ChecklistItem) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Post-incident checklist: %s\n\n", incidentID)
	done := 0
	for _, it := range items {
		mark := " "
		if it.Done {
			mark = "x"
			done++
		}
		fmt.Fprintf(&b, "- [%s] %s", mark, oneLine(it.Text))
		if it.Note != "" {
			fmt.Fprintf(&b, " — %s", oneLine(it.Note))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n%d of %d done.\n", done, len(items))
	return b.Bytes()
}
