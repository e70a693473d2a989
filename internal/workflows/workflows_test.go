// Package workflows checks the GitHub Actions workflows against the runbook: every severity in the
// runbook's Testing Schedule is drilled by a scheduled workflow whose cron fires as often as its
// cadence says, the manual drill offers exactly the runbook's scenarios, and the drill job keeps the
// steps CI relies on (artifacts, ledger, compliance gate, cluster deleted whatever happens).
package workflows

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
	"go.yaml.in/yaml/v3"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

const (
	repoRoot = "../.."
	// runbookFile is the runbook as the Makefile and the messages name it, from the repository root.
	runbookFile  = "fixtures/runbooks/incident-response.md"
	runbookPath  = repoRoot + "/" + runbookFile
	workflowsDir = repoRoot + "/.github/workflows"
	// drillJob is the reusable workflow that runs drills; the scheduled workflows call it.
	drillJob = "./.github/workflows/fire-drill.yml"
)

// workflow is the part of a GitHub Actions workflow file these checks read.
type workflow struct {
	File string         `yaml:"-"`
	Name string         `yaml:"name"`
	On   yaml.Node      `yaml:"on"` // a name, a list of names or a map of triggers
	Jobs map[string]job `yaml:"jobs"`

	triggers triggers
}

type triggers struct {
	Schedule []struct {
		Cron string `yaml:"cron"`
	} `yaml:"schedule"`
	WorkflowDispatch *struct {
		Inputs map[string]input `yaml:"inputs"`
	} `yaml:"workflow_dispatch"`
	WorkflowCall *struct {
		Inputs map[string]input `yaml:"inputs"`
	} `yaml:"workflow_call"`
}

type input struct {
	Type    string   `yaml:"type"`
	Options []string `yaml:"options"`
}

type job struct {
	Uses  string         `yaml:"uses"`
	With  map[string]any `yaml:"with"`
	Steps []step         `yaml:"steps"`
}

type step struct {
	Name string         `yaml:"name"`
	If   string         `yaml:"if"`
	Uses string         `yaml:"uses"`
	Run  string         `yaml:"run"`
	With map[string]any `yaml:"with"`
}

func parseWorkflow(file string, data []byte) (workflow, error) {
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		return workflow{}, fmt.Errorf("parse workflow %s: %w", file, err)
	}
	wf.File = file
	if wf.On.Kind == yaml.MappingNode {
		if err := wf.On.Decode(&wf.triggers); err != nil {
			return workflow{}, fmt.Errorf("parse workflow %s: on: %w", file, err)
		}
	}
	return wf, nil
}

func loadWorkflows(t *testing.T) []workflow {
	t.Helper()
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(workflowsDir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Fatalf("no workflow in %s", workflowsDir)
	}
	var out []workflow
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := parseWorkflow(filepath.Base(f), data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wf)
	}
	return out
}

func loadRunbook(t *testing.T) *runbook.Runbook {
	t.Helper()
	rb, err := runbook.Load(runbookPath, runbook.WithConfigFile(runbook.ConfigPathFor(runbookPath)))
	if err != nil {
		t.Fatalf("load runbook: %v", err)
	}
	return rb
}

// scheduledDrill is a workflow that runs on a schedule and the severities it drills.
type scheduledDrill struct {
	File       string
	Crons      []string
	Severities []string
}

// scheduledDrills finds the scheduled workflows that call the drill job with a severity.
func scheduledDrills(wfs []workflow) []scheduledDrill {
	var out []scheduledDrill
	for _, wf := range wfs {
		if len(wf.triggers.Schedule) == 0 {
			continue
		}
		d := scheduledDrill{File: wf.File}
		for _, s := range wf.triggers.Schedule {
			d.Crons = append(d.Crons, s.Cron)
		}
		for _, name := range slices.Sorted(maps.Keys(wf.Jobs)) {
			j := wf.Jobs[name]
			if j.Uses != drillJob {
				continue
			}
			severity, _ := j.With["severity"].(string)
			for _, sev := range splitSeverities(severity) {
				if !slices.Contains(d.Severities, sev) {
					d.Severities = append(d.Severities, sev)
				}
			}
		}
		if len(d.Severities) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// splitSeverities reads a severity input as the Makefile does: "P0", "P2 P3" or "P2,P3".
func splitSeverities(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// The schedules are simulated over these years, a leap year among them, in UTC as GitHub runs crons.
var (
	simFrom = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	simTo   = time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
)

// maxRuns stops the simulation of a cron that fires far more often than any cadence.
const maxRuns = 5000

// runsPerYear is how many scheduled runs a year a cadence asks for.
func runsPerYear(iv runbook.Interval) (lo, hi int, need string, ok bool) {
	switch iv {
	case runbook.Weekly:
		return 52, 53, "one run a week", true
	case runbook.Monthly:
		return 12, 12, "12 runs a year, one in each month", true
	case runbook.Quarterly:
		return 4, 4, "4 runs a year, one every 3 months", true
	case runbook.SemiAnnual:
		return 2, 2, "2 runs a year, 6 months apart", true
	case runbook.Annual:
		return 1, 1, "1 run a year", true
	}
	return 0, 0, "", false
}

// runs returns when the crons fire between simFrom and simTo, merged and in order.
func runs(crons []string) ([]time.Time, error) {
	var all []time.Time
	for _, c := range crons {
		sched, err := cron.ParseStandard(c)
		if err != nil {
			return nil, fmt.Errorf("cron %q: %w", c, err)
		}
		for t := sched.Next(simFrom.Add(-time.Second)); !t.IsZero() && t.Before(simTo) && len(all) < maxRuns; t = sched.Next(t) {
			all = append(all, t)
		}
	}
	slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
	return slices.Compact(all), nil
}

func day(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }

// checkSchedule compares the runbook's testing schedule with the scheduled drills: each scheduled
// severity has workflows whose crons together run it as often as its cadence says (the right number
// of runs every year, and never so far apart that a drill that passed at one run is overdue before
// the next, by the report's own due-date rule), and no workflow drills a severity the schedule lacks.
// It returns one message per disagreement.
func checkSchedule(sched runbook.Schedule, runbookName string, drills []scheduledDrill) []string {
	var problems []string
	for _, cad := range sched.Cadences {
		where := fmt.Sprintf("%s line %d: %q", runbookName, cad.Line, cad.Text)
		lo, hi, need, known := runsPerYear(cad.Every)
		for _, sev := range cad.Severities {
			var crons, sources []string
			for _, d := range drills {
				if slices.Contains(d.Severities, sev) {
					crons = append(crons, d.Crons...)
					sources = append(sources, fmt.Sprintf("%s (cron %s)", d.File, quoted(d.Crons)))
				}
			}
			says := fmt.Sprintf("%s: the runbook schedules %s %s (%s)", sev, cad.Every, cad.Kind, where)
			if len(sources) == 0 {
				problems = append(problems, fmt.Sprintf("%s, but no scheduled workflow drills %s: add a workflow with a cron that calls %s with severity: %s",
					says, sev, path.Base(drillJob), sev))
				continue
			}
			if !known {
				problems = append(problems, fmt.Sprintf("%s: this check does not know the interval %q", says, cad.Every))
				continue
			}
			times, err := runs(crons)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s, but %s: %v", says, strings.Join(sources, " and "), err))
				continue
			}
			by := strings.Join(sources, " and ")
			if p := checkRunsPerYear(times, lo, hi); p != "" {
				problems = append(problems, fmt.Sprintf("%s, but %s runs %s %s; %s needs %s", says, by, sev, p, cad.Every, need))
				continue
			}
			for i := 1; i < len(times); i++ {
				due := cad.Every.Next(times[i-1])
				if day(times[i]).After(due) {
					problems = append(problems, fmt.Sprintf("%s, but with %s a drill that passes on %s is overdue after %s and the next run is on %s; %s needs %s",
						says, by, times[i-1].Format(time.DateOnly), due.Format(time.DateOnly), times[i].Format(time.DateOnly), cad.Every, need))
					break
				}
			}
		}
	}
	for _, d := range drills {
		for _, sev := range d.Severities {
			if _, ok := sched.CadenceFor(sev); !ok {
				problems = append(problems, fmt.Sprintf("%s drills severity %s, which the runbook's Testing Schedule (%s line %d) does not schedule: drop it or add it to the schedule",
					d.File, sev, runbookName, sched.Line))
			}
		}
	}
	return problems
}

// quoted writes each string in double quotes, comma-separated.
func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// checkRunsPerYear says how often the runs happen in the first simulated year with a count outside
// [lo, hi], e.g. "4 times in 2027, in Jan, Apr, Jul, Oct"; "" when every year is right.
func checkRunsPerYear(times []time.Time, lo, hi int) string {
	for y := simFrom.Year(); y < simTo.Year(); y++ {
		var n int
		var months []string
		for _, t := range times {
			if t.Year() != y {
				continue
			}
			n++
			if m := t.Month().String()[:3]; !slices.Contains(months, m) {
				months = append(months, m)
			}
		}
		if n >= lo && n <= hi {
			continue
		}
		switch {
		case n == 0:
			return fmt.Sprintf("never in %d", y)
		case len(times) >= maxRuns:
			return fmt.Sprintf("%d+ times in %d", n, y)
		case len(months) == 12:
			return fmt.Sprintf("%d times in %d, in every month", n, y)
		}
		return fmt.Sprintf("%d times in %d, in %s", n, y, strings.Join(months, ", "))
	}
	return ""
}

func TestScheduledDrillsMatchTheRunbook(t *testing.T) {
	t.Parallel()
	rb := loadRunbook(t)
	if len(rb.Schedule.Cadences) == 0 {
		t.Fatalf("%s has no Testing Schedule: nothing to check the crons against", runbookFile)
	}
	drills := scheduledDrills(loadWorkflows(t))
	if len(drills) == 0 {
		t.Fatalf("no scheduled workflow in %s calls %s with a severity", workflowsDir, drillJob)
	}
	for _, p := range checkSchedule(rb.Schedule, filepath.Base(runbookPath), drills) {
		t.Error(p)
	}
}

// runbookSchedule is the incident-response runbook's Testing Schedule, written out so that the table
// below does not change with the fixture.
var runbookSchedule = runbook.Schedule{Line: 360, Cadences: []runbook.Cadence{
	{Severities: []string{"P0"}, Every: runbook.Monthly, Kind: "fire drills", Text: "P0 scenarios: Monthly fire drills", Line: 361},
	{Severities: []string{"P1"}, Every: runbook.Quarterly, Kind: "tabletop exercises", Text: "P1 scenarios: Quarterly tabletop exercises", Line: 362},
	{Severities: []string{"P2", "P3"}, Every: runbook.Annual, Kind: "review", Text: "P2/P3 scenarios: Annual review", Line: 363},
}}

func drillsWith(p0, p1, p23 []string) []scheduledDrill {
	var out []scheduledDrill
	for _, d := range []scheduledDrill{
		{File: "fire-drill-p0.yml", Crons: p0, Severities: []string{"P0"}},
		{File: "fire-drill-p1.yml", Crons: p1, Severities: []string{"P1"}},
		{File: "fire-drill-p2-p3.yml", Crons: p23, Severities: []string{"P2", "P3"}},
	} {
		if d.Crons != nil {
			out = append(out, d)
		}
	}
	return out
}

var (
	monthly   = []string{"0 5 1 * *"}
	quarterly = []string{"0 5 8 1,4,7,10 *"}
	annual    = []string{"0 5 15 2 *"}
)

func TestCheckSchedule(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		drills []scheduledDrill
		want   []string // one problem each, with these words in it; none for a schedule that agrees
	}{
		{name: "as the runbook says", drills: drillsWith(monthly, quarterly, annual)},
		{name: "ranges, steps and several crons", drills: drillsWith(
			[]string{"30 4 1 1-6 *", "30 4 1 7-12 *"}, []string{"0 5 8 */3 *"}, []string{"0 5 1 JUN *"})},
		{name: "several crons that together run too often", drills: drillsWith(
			[]string{"30 4 1 1-6 *", "0 6 1 6-12 *"}, quarterly, annual),
			want: []string{`P0:`, `fire-drill-p0.yml (cron "30 4 1 1-6 *", "0 6 1 6-12 *") runs P0 13 times in 2027, in every month`}},
		{name: "P0 quarterly", drills: drillsWith(quarterly, quarterly, annual),
			want: []string{`P0: the runbook schedules monthly fire drills (incident-response.md line 361: "P0 scenarios: Monthly fire drills"), but fire-drill-p0.yml (cron "0 5 8 1,4,7,10 *") runs P0 4 times in 2027, in Jan, Apr, Jul, Oct; monthly needs 12 runs a year, one in each month`}},
		{name: "P1 monthly is more than the runbook asks", drills: drillsWith(monthly, monthly, annual),
			want: []string{"P1: the runbook schedules quarterly", "runs P1 12 times in 2027, in every month; quarterly needs 4 runs a year"}},
		{name: "P2/P3 quarterly", drills: drillsWith(monthly, quarterly, quarterly),
			want: []string{"P2: the runbook schedules annual review", "runs P2 4 times in 2027", "P3: the runbook schedules annual review", "runs P3 4 times"}},
		{name: "four runs a year bunched together leave a quarter without one", drills: drillsWith(monthly, []string{"0 5 1 1-4 *"}, annual),
			want: []string{"P1:", "a drill that passes on 2027-04-01 is overdue after 2027-07-01 and the next run is on 2028-01-01; quarterly needs 4 runs a year"}},
		{name: "the 31st skips short months", drills: drillsWith([]string{"0 5 31 * *"}, quarterly, annual),
			want: []string{"P0:", "runs P0 7 times in 2027, in Jan, Mar, May, Jul, Aug, Oct, Dec"}},
		{name: "February 29th is not every year", drills: drillsWith(monthly, quarterly, []string{"0 5 29 2 *"}),
			want: []string{"P2:", "runs P2 never in 2027", "P3:", "runs P3 never in 2027"}},
		{name: "day of month and day of week both set fire on either", drills: drillsWith([]string{"0 5 1 * MON"}, quarterly, annual),
			want: []string{"P0:", "runs P0 6"}},
		{name: "every minute", drills: drillsWith([]string{"* * * * *"}, quarterly, annual),
			want: []string{"P0:", "runs P0 5000+ times in 2027"}},
		{name: "not a cron", drills: drillsWith([]string{"0 5 1 *"}, quarterly, annual),
			want: []string{`P0: the runbook schedules monthly fire drills`, `cron "0 5 1 *"`}},
		{name: "no workflow for P1", drills: drillsWith(monthly, nil, annual),
			want: []string{"P1: the runbook schedules quarterly tabletop exercises", "no scheduled workflow drills P1: add a workflow with a cron that calls fire-drill.yml with severity: P1"}},
		{name: "a severity the schedule lacks", drills: append(drillsWith(monthly, quarterly, annual),
			scheduledDrill{File: "fire-drill-p4.yml", Crons: monthly, Severities: []string{"P4"}}),
			want: []string{"fire-drill-p4.yml drills severity P4, which the runbook's Testing Schedule (incident-response.md line 360) does not schedule"}},
		{name: "P0 in two workflows runs twice a month", drills: append(drillsWith(monthly, quarterly, annual),
			scheduledDrill{File: "extra.yml", Crons: []string{"0 5 15 * *"}, Severities: []string{"P0"}}),
			want: []string{`P0:`, `fire-drill-p0.yml (cron "0 5 1 * *") and extra.yml (cron "0 5 15 * *") runs P0 24 times in 2027`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := checkSchedule(runbookSchedule, "incident-response.md", tc.drills)
			if len(tc.want) == 0 {
				if len(got) > 0 {
					t.Fatalf("want no problem, got:\n%s", strings.Join(got, "\n"))
				}
				return
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("want a problem saying %q, got:\n%s", w, all)
				}
			}
		})
	}
}

func TestManualDrillOffersEveryScenario(t *testing.T) {
	t.Parallel()
	rb := loadRunbook(t)
	var want []string
	for _, sc := range rb.Scenarios {
		want = append(want, sc.Name)
	}
	found := false
	for _, wf := range loadWorkflows(t) {
		d := wf.triggers.WorkflowDispatch
		if d == nil || !callsDrillJob(wf) {
			continue
		}
		in, ok := d.Inputs["scenario"]
		if !ok {
			continue
		}
		found = true
		if in.Type != "choice" {
			t.Errorf("%s: input scenario is of type %q: make it a choice of the runbook's scenarios", wf.File, in.Type)
		}
		if !slices.Equal(slices.Sorted(slices.Values(in.Options)), slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: the scenario choices are %v, the runbook's scenarios are %v (firedrill scenarios %s)", wf.File, in.Options, want, runbookFile)
		}
	}
	if !found {
		t.Errorf("no workflow in %s drills a scenario on demand (workflow_dispatch with a scenario input calling %s)", workflowsDir, drillJob)
	}
}

func callsDrillJob(wf workflow) bool {
	for _, j := range wf.Jobs {
		if j.Uses == drillJob {
			return true
		}
	}
	return false
}

// checkDrillJob checks that the drill workflow keeps what CI relies on, in order: the cluster through
// the harness, the drills, the artifacts and the summary whatever happened, the ledger pull request,
// the compliance gate, and the cluster deleted as the last step whatever happened.
func checkDrillJob(wf workflow) []string {
	var problems []string
	if wf.triggers.WorkflowCall == nil {
		problems = append(problems, wf.File+": not a reusable workflow (on: workflow_call)")
	}
	if len(wf.Jobs) != 1 {
		return append(problems, fmt.Sprintf("%s: want one job, found %d", wf.File, len(wf.Jobs)))
	}
	var steps []step
	for _, j := range wf.Jobs {
		steps = j.Steps
	}
	always := func(s step) bool { return strings.Contains(s.If, "always()") }
	want := []struct {
		what   string
		match  func(step) bool
		always bool
	}{
		{"creates the cluster with make cluster-up", func(s step) bool { return strings.HasPrefix(s.Run, "make cluster-up") }, false},
		{"runs the drills with make run-drills", func(s step) bool { return strings.HasPrefix(s.Run, "make run-drills") }, false},
		{"uploads artifacts/", func(s step) bool {
			return strings.HasPrefix(s.Uses, "actions/upload-artifact@") && strings.TrimSuffix(fmt.Sprint(s.With["path"]), "/") == "artifacts"
		}, true},
		{"writes the report to the job summary", func(s step) bool {
			return strings.Contains(s.Run, "report FORMAT=markdown") && strings.Contains(s.Run, "$GITHUB_STEP_SUMMARY")
		}, true},
		{"proposes the ledger by pull request", func(s step) bool {
			return strings.Contains(s.Run, "git add -- drills/ledger.jsonl") && strings.Contains(s.Run, "gh pr create")
		}, false},
		{"gates on make compliance", func(s step) bool { return strings.TrimSpace(s.Run) == "make compliance" }, false},
		{"deletes the cluster with make cluster-down", func(s step) bool { return strings.TrimSpace(s.Run) == "make cluster-down" }, true},
	}
	last := -1
	for _, w := range want {
		i := slices.IndexFunc(steps, w.match)
		switch {
		case i < 0:
			problems = append(problems, fmt.Sprintf("%s: no step %s", wf.File, w.what))
			continue
		case i < last:
			problems = append(problems, fmt.Sprintf("%s: the step that %s (step %d) comes too early", wf.File, w.what, i+1))
		case w.always && !always(steps[i]):
			problems = append(problems, fmt.Sprintf("%s: the step that %s (step %d) must run whatever happened: if: always()", wf.File, w.what, i+1))
		}
		last = i
	}
	if last >= 0 && last != len(steps)-1 {
		problems = append(problems, fmt.Sprintf("%s: deleting the cluster must be the last step", wf.File))
	}
	return problems
}

func TestDrillJob(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot, drillJob))
	if err != nil {
		t.Fatal(err)
	}
	wf, err := parseWorkflow(path.Base(drillJob), data)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range checkDrillJob(wf) {
		t.Error(p)
	}

	// The check itself: the same workflow with the cluster left behind on failure and no gate.
	broken := strings.Replace(string(data), "        run: make compliance\n", "        run: make report\n", 1)
	broken = strings.Replace(broken, "        if: always()\n        run: make cluster-down\n", "        run: make cluster-down\n", 1)
	if broken == string(data) {
		t.Fatal("the broken copy is not broken: update the replacements")
	}
	bad, err := parseWorkflow("broken.yml", []byte(broken))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(checkDrillJob(bad), "\n")
	for _, w := range []string{"broken.yml: no step gates on make compliance", "the step that deletes the cluster with make cluster-down (step 12) must run whatever happened"} {
		if !strings.Contains(got, w) {
			t.Errorf("want a problem saying %q, got:\n%s", w, got)
		}
	}
}
