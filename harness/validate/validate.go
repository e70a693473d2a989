// Package validate reviews a parsed runbook the way a senior SRE would before trusting it in an
// incident: commands kubectl would reject, placeholders and unset variables that would run literally,
// missing scripts and links, options without steps, requirements no step carries out, commands that
// need a terminal or are dangerous in production, and what else fails at 3 a.m. when pasted.
package validate

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

// Level is how bad a finding is.
type Level string

// Levels, worst first.
const (
	Error   Level = "error"   // the step fails or does something else than it says when pasted
	Warning Level = "warning" // the step works but is risky, incomplete or misleading
	Info    Level = "info"    // worth knowing before the incident
)

func (l Level) rank() int {
	switch l {
	case Error:
		return 0
	case Warning:
		return 1
	}
	return 2
}

// Finding is one problem in the runbook.
type Finding struct {
	Level   Level  `json:"level"`
	Check   string `json:"check"` // the class of problem, e.g. "kubectl-args", "placeholder"
	Line    int    `json:"line"`
	Where   string `json:"where,omitempty"`   // e.g. "scenario 2 (database), option B"
	Command string `json:"command,omitempty"` // the command as written, continuations joined
	Reason  string `json:"reason"`
	// Evidence is the output that shows the problem, for findings only execution reveals.
	Evidence string `json:"evidence,omitempty"`
}

// Report is the result of validating one runbook.
type Report struct {
	Runbook  string    `json:"runbook"`
	Digest   string    `json:"digest"`
	Findings []Finding `json:"findings"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Infos    int       `json:"infos"`
}

// HasErrors reports whether any finding is an error.
func (r Report) HasErrors() bool { return r.Errors > 0 }

// Option configures Run.
type Option func(*options)

type options struct {
	baseDir string
}

// WithBaseDir sets the directory that relative scripts, files and links are resolved against; the
// default is the runbook's own directory.
func WithBaseDir(dir string) Option { return func(o *options) { o.baseDir = dir } }

// Run validates a runbook. It reads only the files the runbook references and never runs a command.
func Run(ctx context.Context, rb *runbook.Runbook, opts ...Option) (Report, error) {
	rep, _, err := run(ctx, rb, opts...)
	return rep, err
}

// run is Run also returning the validator, whose collected steps Live goes on with.
func run(ctx context.Context, rb *runbook.Runbook, opts ...Option) (Report, *validator, error) {
	o := options{baseDir: filepath.Dir(rb.Path)}
	for _, opt := range opts {
		opt(&o)
	}
	v := &validator{rb: rb, opts: o, defined: definedVars(rb), kubectl: map[int][]kubectlInvocation{}}
	v.collectSteps()
	checks := []func(context.Context) error{
		v.checkCommands, v.checkOptions, v.checkRequirements, v.checkEvidence, v.checkLinks,
		v.checkSeverities, v.checkSchedule, v.checkBlocks,
	}
	for _, check := range checks {
		if err := ctx.Err(); err != nil {
			return Report{}, nil, err
		}
		if err := check(ctx); err != nil {
			return Report{}, nil, err
		}
	}
	sortFindings(v.findings)
	rep := Report{Runbook: rb.Path, Digest: rb.Digest, Findings: v.findings}
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	rep.count()
	return rep, v, nil
}

// count sets the totals by level.
func (r *Report) count() {
	r.Errors, r.Warnings, r.Infos = 0, 0, 0
	for _, f := range r.Findings {
		switch f.Level {
		case Error:
			r.Errors++
		case Warning:
			r.Warnings++
		default:
			r.Infos++
		}
	}
}

// sortFindings orders findings by line, then worst first.
func sortFindings(findings []Finding) {
	slices.SortStableFunc(findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Level.rank(), b.Level.rank()), cmp.Compare(a.Check, b.Check))
	})
}

// step is a command with where it stands in the runbook.
type step struct {
	cmd      runbook.Command
	where    string
	part     string // "process", "diagnosis", "mitigation", "evidence", "other"
	scenario *runbook.Scenario
	option   *runbook.Option
}

type validator struct {
	rb       *runbook.Runbook
	opts     options
	defined  map[string]bool
	steps    []step
	findings []Finding
	kubectl  map[int][]kubectlInvocation // parsed kubectl calls by the line of their command
}

func (v *validator) add(level Level, check string, line int, where, command, reason string) {
	v.findings = append(v.findings, Finding{Level: level, Check: check, Line: line, Where: where, Command: runbook.OneLine(command), Reason: reason})
}

func (v *validator) addStep(s step, level Level, check, reason string) {
	v.add(level, check, s.cmd.Line, s.where, s.cmd.Text, reason)
}

func scenarioWhere(sc *runbook.Scenario) string {
	return "scenario " + itoa(sc.Number) + " (" + sc.Name + ")"
}

func (v *validator) collectSteps() {
	seen := map[int]bool{}
	addAll := func(blocks []runbook.Block, where, part string, sc *runbook.Scenario) {
		for _, b := range blocks {
			for _, c := range b.Commands {
				if !seen[c.Line] {
					seen[c.Line] = true
					v.steps = append(v.steps, step{cmd: c, where: where, part: part, scenario: sc})
				}
			}
		}
	}
	for _, ph := range v.rb.Process {
		addAll(ph.Blocks, "process phase "+itoa(ph.Number)+" ("+ph.Name+")", "process", nil)
	}
	for i := range v.rb.Scenarios {
		sc := &v.rb.Scenarios[i]
		addAll(sc.Diagnosis, scenarioWhere(sc)+", diagnosis", "diagnosis", sc)
		for j := range sc.Options {
			o := &sc.Options[j]
			for _, c := range o.Steps {
				seen[c.Line] = true
				v.steps = append(v.steps, step{cmd: c, where: scenarioWhere(sc) + ", option " + o.Letter, part: "mitigation", scenario: sc, option: o})
			}
		}
		for _, c := range sc.Unlabelled {
			seen[c.Line] = true
			v.steps = append(v.steps, step{cmd: c, where: scenarioWhere(sc) + ", mitigation", part: "mitigation", scenario: sc})
		}
		addAll(sc.Evidence, scenarioWhere(sc)+", evidence capture", "evidence", sc)
		for _, p := range sc.Other {
			addAll(p.Blocks, scenarioWhere(sc)+", "+strings.ToLower(p.Label), "other", sc)
		}
	}
	addAll(v.rb.Blocks, "", "other", nil)
	slices.SortStableFunc(v.steps, func(a, b step) int { return cmp.Compare(a.cmd.Line, b.cmd.Line) })
}

func itoa(n int) string { return strconv.Itoa(n) }
