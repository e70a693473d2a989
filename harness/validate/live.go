package validate

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/firedrill-dev/firedrill/harness/runbook"
	"github.com/firedrill-dev/firedrill/harness/shell"
)

// How a command was checked, for the coverage table.
const (
	CheckExecuted     = "executed"
	CheckDryRun       = "dry-run"
	CheckStatic       = "static only"
	CheckNotCheckable = "not checkable"
)

// Coverage is how one command of the runbook was checked.
type Coverage struct {
	Line    int    `json:"line"`
	Where   string `json:"where,omitempty"`
	Command string `json:"command"`
	Check   string `json:"check"`  // executed, dry-run, static only, not checkable
	Result  string `json:"result"` // ok, finding, or the status of the command
	Why     string `json:"why,omitempty"`
}

// LiveReport is what a live check found, and how each command was checked.
type LiveReport struct {
	Report
	Coverage []Coverage      `json:"coverage"`
	Outcomes []shell.Outcome `json:"outcomes"`
	Table    []TableEntry    `json:"table"`
}

// TableEntry documents one substitution the live check made (values of secrets never shown).
type TableEntry struct {
	Name  string `json:"name"`
	Means string `json:"means"`
}

var (
	noResources = regexp.MustCompile(`No resources found`)
	localGlob   = regexp.MustCompile(`cannot access '[^']*\*[^']*'`)
)

// Live runs every shell command of the runbook against the drill cluster through runner: read-only
// commands as written, mutating kubectl commands as server-side dry runs, and nothing that changes
// data without a dry run. Each failure only execution can show becomes a finding with its output as
// evidence; static findings are merged into the same list.
func Live(ctx context.Context, rb *runbook.Runbook, runner *shell.Runner, table shell.Table, opts ...Option) (LiveReport, error) {
	static, v, err := run(ctx, rb, opts...)
	if err != nil {
		return LiveReport{}, err
	}
	where := map[int]string{}
	for _, s := range v.steps {
		where[s.cmd.Line] = s.where
	}
	rep := LiveReport{Report: static}
	for _, p := range table.Placeholders {
		rep.Table = append(rep.Table, TableEntry{Name: p.Token, Means: p.Means})
	}
	for _, tv := range table.Vars {
		rep.Table = append(rep.Table, TableEntry{Name: "$" + tv.Name, Means: tv.From})
	}
	for _, b := range rb.Blocks {
		if !b.Shell() {
			continue
		}
		if err := runner.Reset(); err != nil {
			return rep, err
		}
		if b.ParseError != "" {
			rep.Coverage = append(rep.Coverage, Coverage{Line: b.Line, Command: "(block)", Check: CheckStatic, Result: "does not parse", Why: b.ParseError})
			continue
		}
		for _, c := range b.Commands {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			out := runner.Run(ctx, c)
			rep.Outcomes = append(rep.Outcomes, out)
			cov, finding := Judge(out)
			cov.Where = where[c.Line]
			rep.Coverage = append(rep.Coverage, cov)
			if finding != nil {
				finding.Where = where[c.Line]
				rep.Findings = append(rep.Findings, *finding)
			}
		}
	}
	rep.count()
	sortFindings(rep.Findings)
	return rep, nil
}

// Judge turns one command's outcome into its coverage row and, when execution shows a problem, a
// finding with the output as evidence.
func Judge(out shell.Outcome) (Coverage, *Finding) {
	cov := Coverage{Line: out.Line, Command: out.Text, Check: CheckExecuted, Result: "ok"}
	if out.DryRun {
		cov.Check = CheckDryRun
	}
	finding := func(level Level, check, reason string) *Finding {
		cov.Result = "finding"
		cov.Why = reason
		return &Finding{Level: level, Check: check, Line: out.Line, Command: out.Text, Reason: reason, Evidence: evidenceOf(out)}
	}
	switch out.Status {
	case shell.Skipped:
		cov.Check, cov.Result, cov.Why = CheckStatic, "not run", out.Reason
		return cov, nil
	case shell.Refused:
		if strings.Contains(out.Reason, "placeholder") || strings.Contains(out.Reason, "expands $") {
			cov.Check = CheckNotCheckable
			return cov, finding(Error, "live-placeholder", out.Reason)
		}
		cov.Check, cov.Result, cov.Why = CheckNotCheckable, "refused", out.Reason
		return cov, finding(Warning, "live-refused", "not run in the drill: "+out.Reason)
	case shell.TimedOut:
		return cov, finding(Error, "live-hangs", out.Reason+": a pasted command that never returns stalls the responder")
	case shell.Failed:
		if out.ExitCode == 1 && strings.TrimSpace(out.Stderr) == "" && endsInGrep(out.Text) {
			return cov, finding(Info, "live-no-match", "grep matched nothing in the current output; the command ran, but shows nothing on a healthy system")
		}
		reason := fmt.Sprintf("fails when run (%s): %s", out.Reason, firstLine(out.Stderr))
		if localGlob.MatchString(out.Stderr) {
			reason += " — the * is expanded by the local shell, where the path does not exist, so the pod gets it literally; run it through sh -c in the pod"
		}
		return cov, finding(Error, "live-failed", reason)
	}
	if noResources.MatchString(out.Stderr) || noResources.MatchString(out.Stdout) {
		return cov, finding(Error, "live-nothing-found", "runs, but names nothing that exists in the drill's namespace (resource, label or selector): "+firstLine(out.Stderr+out.Stdout))
	}
	if strings.Contains(out.Stderr, "Unable to use a TTY") {
		return cov, finding(Warning, "live-tty", "asks for a terminal (-t) it does not get when run from a script or CI; kubectl says: Unable to use a TTY - input is not a terminal")
	}
	return cov, nil
}

// chatter is kubectl's commentary around a command's own error.
func chatter(line string) bool {
	for _, p := range []string{"Unable to use a TTY", "Defaulted container", "command terminated with exit code"} {
		if strings.HasPrefix(line, p) {
			return true
		}
	}
	return false
}

func endsInGrep(text string) bool {
	parts := strings.Split(text, "|")
	last := strings.Fields(parts[len(parts)-1])
	return len(parts) > 1 && len(last) > 0 && strings.HasSuffix(last[0], "grep")
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !chatter(l) {
			return l
		}
	}
	return strings.TrimSpace(s)
}

// evidenceOf is the output a finding shows, bounded.
func evidenceOf(out shell.Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "status %s, exit %d, %s", out.Status, out.ExitCode, out.Duration.Round(1e6))
	if s := strings.TrimSpace(out.Stderr); s != "" {
		b.WriteString("; stderr: " + shorten(runbook.OneLine(s), 400))
	}
	if s := strings.TrimSpace(out.Stdout); s != "" {
		b.WriteString("; stdout: " + shorten(runbook.OneLine(s), 400))
	}
	return b.String()
}
