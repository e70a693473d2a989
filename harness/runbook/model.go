// Package runbook parses an incident-response runbook written in Markdown into a model that the
// validator, the report and the drill engine share.
//
// The parser knows the shape of a runbook, not its content: a severity table (found by its column
// headers), a response process (a heading naming "process" with one sub-heading per phase), scenarios
// (headings "Scenario N: Title") with bold-labelled parts (Symptoms, Diagnosis, Mitigation, Evidence
// Capture, Post-Mitigation, CRITICAL), an escalation matrix, evidence requirements, a post-incident
// checklist and a testing schedule. Any of them may be missing; a runbook without a single scenario is
// rejected with ErrNotRunbook. Every element keeps the 1-based line where it starts.
package runbook

import (
	"fmt"
	"strings"
	"time"
)

// Runbook is a parsed runbook.
type Runbook struct {
	Path   string // as given to Load or WithPath; findings and errors name it
	Digest string // "sha256:<hex>" of the source bytes
	Title  string
	Line   int

	Severities []Severity
	Process    []Phase
	Scenarios  []Scenario
	Escalation []EscalationRow
	Contacts   []Item // contact methods listed under the escalation matrix
	Evidence   EvidenceRequirements
	Checklist  []Item // post-incident checklist
	Schedule   Schedule
	// Requirements are the runbook's "must" and CRITICAL statements outside scenarios.
	Requirements []Requirement
	Links        []Link  // every Markdown link, in order
	Blocks       []Block // every fenced code block, in order, scenario blocks included

	// Config is the scenario configuration applied while parsing, nil without one.
	Config *Config
}

// Severity is one row of the severity table.
type Severity struct {
	Name         string // "P0"
	Label        string // "Critical"
	Description  string
	ResponseTime time.Duration
	Examples     []string
	Line         int
}

// Phase is one step of the general response process, e.g. "3. Mitigate (10-30 minutes)".
type Phase struct {
	Number int
	Name   string
	Window Window
	Items  []Item
	Blocks []Block
	Line   int
}

// Window is a time window after detection. Open is true for "30+ minutes" (no upper bound, Max is 0).
type Window struct {
	Text string
	Min  time.Duration
	Max  time.Duration
	Open bool
}

// Scenario is one "Scenario N: Title" section.
type Scenario struct {
	Number int
	Title  string
	Line   int
	// Name is the short name used everywhere (frontend, database, ...): from the config's match
	// keywords, otherwise derived from the title.
	Name string
	// Severity is the scenario's severity level name ("P1"); empty when neither the runbook nor the
	// config states it. SeveritySource says where it came from.
	Severity       string
	SeveritySource Source

	Symptoms       []Item
	Diagnosis      []Block
	Mitigation     []Block
	Options        []Option
	Unlabelled     []Command // mitigation commands before the first "Option X:" comment
	Evidence       []Block
	PostMitigation []Item
	Requirements   []Requirement
	Other          []Part // labelled parts the parser does not know, kept for the validator
	EndLine        int    // last line of the section
}

// Option is one mitigation option, introduced by a comment "# Option A: Title (MARKERS)".
type Option struct {
	Letter  string
	Title   string // as written, markers included
	Line    int
	Markers Markers
	Notes   []string // comment lines after the title and before the first command
	Steps   []Command
}

// Markers are the warnings a runbook attaches to an option.
type Markers struct {
	RequiresApproval bool
	LastResort       bool
	DataRisk         bool
}

// Block is a fenced code block. Commands is set for shell blocks (bash, sh, shell, zsh) that parse.
type Block struct {
	Lang       string
	Text       string // content, as in the file
	Line       int    // line of the opening fence
	Commands   []Command
	ParseError string // why a shell block did not parse as shell; empty otherwise
}

// Shell reports whether the block is tagged as shell.
func (b Block) Shell() bool {
	switch b.Lang {
	case "bash", "sh", "shell", "zsh":
		return true
	}
	return false
}

// Command is one shell statement from a code block: a simple command, a pipeline or a list.
type Command struct {
	Line    int    // first line in the runbook
	EndLine int    // last line (continuations included)
	Text    string // exact source text, backslash continuations and all; run this for literal execution
	Comment string // the comment line directly above it, without "#"
	Calls   []Call // the simple commands in order; a Call with Piped set reads the previous one's output
	// Compound is set when the statement holds constructs other than calls, pipes, && and ||
	// (loops, subshells, functions); Calls then holds what could be found inside.
	Compound bool
}

// Call is one simple command.
type Call struct {
	Line      int
	Env       []Word // leading VAR=value assignments
	Args      []Word
	Redirects []Redirect
	Piped     bool // stdin comes from the previous call in the pipeline
	PipesOut  bool // stdout goes to the next call in the pipeline
}

// Name returns the command name (the first argument's literal value), or "".
func (c Call) Name() string {
	if len(c.Args) == 0 {
		return ""
	}
	return c.Args[0].Lit
}

// Word is one shell word.
type Word struct {
	Raw    string   // as written, quotes included
	Lit    string   // value after quote removal; expansions are left as written
	Static bool     // no expansion at all: Lit is exactly what the program receives
	Quoted bool     // some part is quoted
	Vars   []string // parameters the local shell expands ($VAR, ${VAR})
	Subst  bool     // contains $(...) or `...`, run by the local shell
	Glob   bool     // unquoted *, ? or [ that the local shell may expand
	Line   int
	// MultiLine is set when a quoted part spans lines.
	MultiLine bool
}

// Redirect is a redirection such as "> file".
type Redirect struct {
	Op     string
	Target Word
}

// Item is a list item or a line of text.
type Item struct {
	Text    string
	Line    int
	Checked bool // for task-list items "- [x]"
}

// Part is a bold-labelled part of a section ("**Symptoms:**") and what follows it.
type Part struct {
	Label      string
	Text       string // text after the label in the same paragraph
	Line       int
	Items      []Item // list items
	Paragraphs []Item // paragraphs of plain text
	Blocks     []Block
}

// Requirement is a "must" or CRITICAL statement: Text is the sentence, Items the list that follows.
type Requirement struct {
	Level string // "CRITICAL" or "must"
	Text  string
	Items []Item
	Line  int
}

// EscalationRow is one row of the escalation matrix.
type EscalationRow struct {
	IncidentType string
	Severities   []string // severity names in parentheses, e.g. "(P1/P2)"
	Primary      string
	Secondary    string
	Executive    string
	Line         int
}

// EvidenceRequirements is the evidence section: what a pack contains and where it is stored.
type EvidenceRequirements struct {
	Line  int // 0 when the runbook has no evidence section
	Items []Item
	Root  string      // storage root, e.g. "/app/evidence/incidents/[INCIDENT-ID]/"
	Tree  []TreeEntry // files and directories below Root
}

// TreeEntry is a file or directory in the evidence storage tree.
type TreeEntry struct {
	Path string // relative to Root, e.g. "logs/frontend-[timestamp].log"
	Dir  bool
	Note string // text after the name, e.g. "added after postmortem"
	Line int
}

// Schedule is the runbook's testing schedule and its recorded test dates.
type Schedule struct {
	Line        int
	Cadences    []Cadence
	LastTested  Stamp
	NextTestDue Stamp
}

// Cadence is one schedule line, e.g. "P1 scenarios: Quarterly tabletop exercises".
type Cadence struct {
	Severities []string
	Every      Interval
	Kind       string // "fire drills", "tabletop exercises", "review"
	Text       string
	Line       int
}

// CadenceFor returns the cadence that covers a severity.
func (s Schedule) CadenceFor(severity string) (Cadence, bool) {
	for _, c := range s.Cadences {
		for _, name := range c.Severities {
			if name == severity {
				return c, true
			}
		}
	}
	return Cadence{}, false
}

// Stamp is a value such as "**Last Tested:** [DATE]", with the byte range of the value so that it can
// be rewritten in place.
type Stamp struct {
	Label  string
	Value  string
	Line   int // 0 when the runbook does not carry the stamp
	Offset int // byte offset of Value in the source
}

// Link is a Markdown link.
type Link struct {
	Text   string
	Target string
	Line   int
}

// SourceKind says where a fact came from.
type SourceKind string

// Sources of a fact.
const (
	FromRunbook SourceKind = "runbook"
	FromConfig  SourceKind = "config"
	FromNowhere SourceKind = ""
)

// Source is where a fact came from: a line in the runbook or in the config file, and why.
type Source struct {
	Kind   SourceKind
	File   string
	Line   int
	Reason string
}

// String says where the fact came from, e.g. "runbook line 19" or "incident-response.severity.yaml line 7".
func (s Source) String() string {
	switch s.Kind {
	case FromRunbook:
		return fmt.Sprintf("runbook line %d", s.Line)
	case FromConfig:
		return fmt.Sprintf("%s line %d", s.File, s.Line)
	}
	return "not stated"
}

// SeverityByName returns the severity level with that name.
func (r *Runbook) SeverityByName(name string) (Severity, bool) {
	for _, s := range r.Severities {
		if s.Name == name {
			return s, true
		}
	}
	return Severity{}, false
}

// ScenarioByName returns the scenario with that short name.
func (r *Runbook) ScenarioByName(name string) (*Scenario, bool) {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i], true
		}
	}
	return nil, false
}

// Commands returns every command of the scenario in source order: diagnosis, mitigation, evidence.
func (s *Scenario) Commands() []Command {
	var out []Command
	for _, group := range [][]Block{s.Diagnosis, s.Mitigation, s.Evidence} {
		for _, b := range group {
			out = append(out, b.Commands...)
		}
	}
	return out
}

// OneLine joins backslash continuations and collapses whitespace, so a command (or its output)
// fits one line: how commands are shown in findings, evidence headers and reports.
func OneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\\\n", " ")), " ")
}
