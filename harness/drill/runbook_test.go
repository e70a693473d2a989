package drill

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/firedrill-dev/firedrill/internal/seed"
)

// What the drill reads from the runbook: whom to page, the mitigation window, what evidence to demand.
func TestDrillReadsTheRunbook(t *testing.T) {
	t.Parallel()
	_, rb := seed.Runbook(t)
	cases := []struct{ scenario, wantRow string }{
		{"frontend", "Platform Outage (P0)"},
		{"policy", "Policy Failure (P1)"},
		{"database", "Performance Degradation (P1/P2)"}, // no database row: not the policy one
		{"ratelimit", "Performance Degradation (P1/P2)"},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			t.Parallel()
			s, ok := rb.ScenarioByName(c.scenario)
			if !ok {
				t.Fatalf("no scenario %s", c.scenario)
			}
			got := escalation(rb, s, s.Severity)
			if !strings.HasPrefix(got[0], c.wantRow) {
				t.Errorf("escalation = %q, want row %q", got[0], c.wantRow)
			}
		})
	}
	if w, ok := mitigationWindow(rb); !ok || w != 30*time.Minute {
		t.Errorf("mitigation window = %s, %v; want 30m from \"3. Mitigate (10-30 minutes)\"", w, ok)
	}
	req := requirements(rb, []string{"chg-1"}, nil)
	for _, want := range []string{"timeline.md", "logs/", "changes.json", "approvals.json", "impact-assessment.md", "rca.md"} {
		if !slices.Contains(req.Files, want) {
			t.Errorf("required files %v lack %s", req.Files, want)
		}
	}
	done := 0
	for _, item := range checklist(rb, true) {
		if item.Done {
			done++
		}
	}
	if done != 3 {
		t.Errorf("a recovered drill completes %d checklist items, want 3 (resolved, evidence pack, timeline)", done)
	}
}
