package runbook

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	east "github.com/yuin/goldmark/extension/ast"

	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// ErrNotRunbook is returned for a document that has no "Scenario N: Title" heading.
var ErrNotRunbook = errors.New("not a runbook")

// ParseOption configures Parse and Load.
type ParseOption func(*parseOptions)

type parseOptions struct {
	path       string
	config     *Config
	configPath string
}

// WithPath names the runbook in errors and sources.
func WithPath(path string) ParseOption { return func(o *parseOptions) { o.path = path } }

// WithConfig applies a scenario configuration.
func WithConfig(cfg *Config) ParseOption { return func(o *parseOptions) { o.config = cfg } }

// WithConfigFile makes Load read the config from path instead of the file beside the runbook.
func WithConfigFile(path string) ParseOption { return func(o *parseOptions) { o.configPath = path } }

// Load reads and parses a runbook file. Unless WithConfig or WithConfigFile says otherwise, it applies
// the config beside the runbook (see ConfigPathFor) when there is one.
func Load(path string, opts ...ParseOption) (*Runbook, error) {
	o := parseOptions{path: path}
	for _, opt := range opts {
		opt(&o)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read runbook: %w", err)
	}
	if o.config == nil {
		switch {
		case o.configPath != "":
			o.config, err = LoadConfig(o.configPath)
		default:
			o.config, err = loadConfigIfPresent(ConfigPathFor(path))
		}
		if err != nil {
			return nil, err
		}
	}
	return Parse(src, WithPath(o.path), WithConfig(o.config))
}

// Parse parses a runbook.
func Parse(src []byte, opts ...ParseOption) (*Runbook, error) {
	o := parseOptions{path: "runbook"}
	for _, opt := range opts {
		opt(&o)
	}
	p := &parser{src: src, path: o.path, blocks: map[ast.Node]Block{}, events: map[int][]shellEvent{}}
	return p.parse(o.config)
}

type parser struct {
	src        []byte
	path       string
	lineStarts []int
	nodes      []ast.Node // top-level blocks
	blocks     map[ast.Node]Block
	events     map[int][]shellEvent // shell events of each block, by the block's line
	rb         *Runbook
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &Error{File: p.path, Line: line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse(cfg *Config) (*Runbook, error) {
	if !utf8.Valid(p.src) {
		return nil, fmt.Errorf("%s: %w: the file is not UTF-8 text", p.path, ErrNotRunbook)
	}
	sum := sha256.Sum256(p.src)
	p.rb = &Runbook{Path: p.path, Digest: "sha256:" + hex.EncodeToString(sum[:]), Config: cfg}
	p.lineStarts = []int{0}
	for i, b := range p.src {
		if b == '\n' {
			p.lineStarts = append(p.lineStarts, i+1)
		}
	}
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.TaskList))
	doc := md.Parser().Parse(text.NewReader(p.src))
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		p.nodes = append(p.nodes, n)
	}

	steps := []func() error{
		p.title, p.links, p.allBlocks, p.severities, p.process, p.scenarios, p.escalation,
		p.evidence, p.checklist, p.schedule, p.stamps, p.requirements,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if len(p.rb.Scenarios) == 0 {
		return nil, fmt.Errorf("%s: %w: no \"Scenario N: Title\" heading found", p.path, ErrNotRunbook)
	}
	if err := p.applyConfig(cfg); err != nil {
		return nil, err
	}
	return p.rb, nil
}

// line returns the 1-based line of a byte offset.
func (p *parser) line(offset int) int {
	if offset < 0 {
		return 0
	}
	return sort.Search(len(p.lineStarts), func(i int) bool { return p.lineStarts[i] > offset })
}

func (p *parser) nodeLine(n ast.Node) int {
	for ; n != nil; n = n.Parent() {
		if pos := n.Pos(); pos >= 0 {
			return p.line(pos)
		}
	}
	return 0
}

// text returns the plain text of a node's inline content.
func (p *parser) text(n ast.Node) string {
	var b strings.Builder
	p.writeText(&b, n)
	return strings.TrimSpace(b.String())
}

func (p *parser) writeText(b *strings.Builder, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch x := c.(type) {
		case *ast.Text:
			b.Write(x.Segment.Value(p.src))
			if x.SoftLineBreak() || x.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(x.Value)
		case *ast.AutoLink:
			b.Write(x.URL(p.src))
		case *east.TaskCheckBox:
		default:
			if c.Type() == ast.TypeBlock {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				if tb := c.Lines(); tb != nil && c.FirstChild() == nil {
					b.Write(tb.Value(p.src))
					continue
				}
			}
			p.writeText(b, c)
		}
	}
}

// heading is a top-level heading and the index of its node.
type heading struct {
	index int
	level int
	text  string
	line  int
}

func (p *parser) headings() []heading {
	var out []heading
	for i, n := range p.nodes {
		if h, ok := n.(*ast.Heading); ok {
			out = append(out, heading{index: i, level: h.Level, text: p.text(h), line: p.nodeLine(h)})
		}
	}
	return out
}

// section returns the nodes after a heading up to the next heading of the same or a higher level.
func (p *parser) section(h heading) []ast.Node {
	end := len(p.nodes)
	for j := h.index + 1; j < len(p.nodes); j++ {
		if next, ok := p.nodes[j].(*ast.Heading); ok && next.Level <= h.level {
			end = j
			break
		}
	}
	return p.nodes[h.index+1 : end]
}

// endLine returns the last line of a section.
func (p *parser) endLine(h heading) int {
	sec := p.section(h)
	end := h.index + 1 + len(sec)
	if end < len(p.nodes) {
		return p.nodeLine(p.nodes[end]) - 1
	}
	return len(p.lineStarts)
}

func (p *parser) findHeading(re *regexp.Regexp) (heading, bool) {
	for _, h := range p.headings() {
		if re.MatchString(h.text) && !scenarioRE.MatchString(h.text) {
			return h, true
		}
	}
	return heading{}, false
}

func (p *parser) title() error {
	for _, h := range p.headings() {
		if h.level == 1 {
			p.rb.Title, p.rb.Line = h.text, h.line
			return nil
		}
	}
	return nil
}

func (p *parser) links() error {
	for _, n := range p.nodes {
		err := ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
			if !entering {
				return ast.WalkContinue, nil
			}
			switch x := c.(type) {
			case *ast.Link:
				p.rb.Links = append(p.rb.Links, Link{Text: p.text(x), Target: string(x.Destination), Line: p.nodeLine(x)})
			case *ast.AutoLink:
				u := string(x.URL(p.src))
				p.rb.Links = append(p.rb.Links, Link{Text: u, Target: u, Line: p.nodeLine(x)})
			}
			return ast.WalkContinue, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) allBlocks() error {
	for _, n := range p.nodes {
		if _, ok := n.(*ast.FencedCodeBlock); ok {
			p.rb.Blocks = append(p.rb.Blocks, p.block(n))
		}
	}
	return nil
}

// block parses a fenced code block once.
func (p *parser) block(n ast.Node) Block {
	if b, ok := p.blocks[n]; ok {
		return b
	}
	fb := n.(*ast.FencedCodeBlock)
	var content bytes.Buffer
	lines := fb.Lines()
	for i := 0; i < lines.Len(); i++ {
		seg := lines.At(i)
		content.Write(seg.Value(p.src))
	}
	b := Block{Line: p.nodeLine(fb), Text: content.String()}
	if fb.Info != nil {
		if info := strings.Fields(string(fb.Info.Segment.Value(p.src))); len(info) > 0 {
			b.Lang = strings.ToLower(info[0])
		}
	}
	if b.Shell() && lines.Len() > 0 {
		events, err := parseShell(b.Text, p.line(lines.At(0).Start))
		if err != nil {
			b.ParseError = err.Error()
		} else {
			b.Commands = commandsOf(events)
			p.events[b.Line] = events
		}
	}
	p.blocks[n] = b
	return b
}

var severityNameRE = regexp.MustCompile(`^(\S+)\s*(?:[-–—:]\s*(.+))?$`)

// columns finds the index of the first header cell matching each pattern, -1 for none.
func (p *parser) tableColumns(t *east.Table, patterns ...*regexp.Regexp) []int {
	out := make([]int, len(patterns))
	for i := range out {
		out[i] = -1
	}
	header, ok := t.FirstChild().(*east.TableHeader)
	if !ok {
		return out
	}
	col := 0
	for c := header.FirstChild(); c != nil; c = c.NextSibling() {
		cell := p.text(c)
		for i, re := range patterns {
			if out[i] < 0 && re.MatchString(cell) {
				out[i] = col
				break
			}
		}
		col++
	}
	return out
}

type tableRow struct {
	cells []string
	line  int
}

func (r tableRow) cell(i int) string {
	if i < 0 || i >= len(r.cells) {
		return ""
	}
	return r.cells[i]
}

func (p *parser) tableRows(t *east.Table) []tableRow {
	var out []tableRow
	for r := t.FirstChild(); r != nil; r = r.NextSibling() {
		row, ok := r.(*east.TableRow)
		if !ok {
			continue
		}
		tr := tableRow{line: p.nodeLine(row)}
		for c := row.FirstChild(); c != nil; c = c.NextSibling() {
			tr.cells = append(tr.cells, p.text(c))
		}
		out = append(out, tr)
	}
	return out
}

var (
	colSeverity = regexp.MustCompile(`(?i)severity|level|priority`)
	colDesc     = regexp.MustCompile(`(?i)description|impact`)
	colResponse = regexp.MustCompile(`(?i)response`)
	colExamples = regexp.MustCompile(`(?i)example`)
)

// severities reads the first table whose header has a severity column and a response-time column.
func (p *parser) severities() error {
	for _, n := range p.nodes {
		t, ok := n.(*east.Table)
		if !ok {
			continue
		}
		cols := p.tableColumns(t, colSeverity, colDesc, colResponse, colExamples)
		if cols[0] < 0 || cols[2] < 0 {
			continue
		}
		seen := map[string]int{}
		for _, row := range p.tableRows(t) {
			m := severityNameRE.FindStringSubmatch(row.cell(cols[0]))
			if m == nil {
				return p.errorf(row.line, "severity table row has no severity name")
			}
			sev := Severity{Name: m[1], Label: m[2], Description: row.cell(cols[1]), Line: row.line}
			if prev, dup := seen[sev.Name]; dup {
				return p.errorf(row.line, "severity %s is defined twice (first at line %d)", sev.Name, prev)
			}
			seen[sev.Name] = row.line
			d, err := ParseDuration(row.cell(cols[2]))
			if err != nil {
				return p.errorf(row.line, "severity %s: response time %v", sev.Name, err)
			}
			sev.ResponseTime = d
			for _, ex := range strings.Split(row.cell(cols[3]), ",") {
				if ex = strings.TrimSpace(ex); ex != "" {
					sev.Examples = append(sev.Examples, ex)
				}
			}
			p.rb.Severities = append(p.rb.Severities, sev)
		}
		return nil
	}
	return nil
}

var (
	processRE = regexp.MustCompile(`(?i)\bprocess\b|\bprocedure\b`)
	phaseRE   = regexp.MustCompile(`^(?:(\d+)[.)]\s*)?(.+?)(?:\s*\(([^)]*)\))?$`)
	digitRE   = regexp.MustCompile(`\d`)
)

func (p *parser) process() error {
	h, ok := p.findHeading(processRE)
	if !ok {
		return nil
	}
	for _, sub := range p.subHeadings(h) {
		if scenarioRE.MatchString(sub.text) {
			continue
		}
		m := phaseRE.FindStringSubmatch(sub.text)
		if m == nil {
			continue // an empty heading
		}
		ph := Phase{Name: m[2], Line: sub.line}
		if m[1] != "" {
			ph.Number, _ = strconv.Atoi(m[1])
		}
		if m[3] != "" {
			w, err := ParseWindow(m[3])
			switch {
			case err == nil:
				ph.Window = w
			case digitRE.MatchString(m[3]):
				return p.errorf(sub.line, "phase %q: %v", ph.Name, err)
			default:
				ph.Name = sub.text
			}
		}
		for _, n := range p.section(sub) {
			switch n.(type) {
			case *ast.List:
				ph.Items = append(ph.Items, p.listItems(n)...)
			case *ast.FencedCodeBlock:
				ph.Blocks = append(ph.Blocks, p.block(n))
			}
		}
		p.rb.Process = append(p.rb.Process, ph)
	}
	return nil
}

// subHeadings returns the headings one level below h inside its section.
func (p *parser) subHeadings(h heading) []heading {
	var out []heading
	end := h.index + 1 + len(p.section(h))
	for _, s := range p.headings() {
		if s.index > h.index && s.index < end && s.level == h.level+1 {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) listItems(n ast.Node) []Item {
	var out []Item
	for li := n.FirstChild(); li != nil; li = li.NextSibling() {
		it := Item{Text: p.text(li), Line: p.nodeLine(li)}
		_ = ast.Walk(li, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
			if cb, ok := c.(*east.TaskCheckBox); ok && entering {
				it.Checked = cb.IsChecked
			}
			return ast.WalkContinue, nil
		})
		out = append(out, it)
	}
	return out
}

// parts splits a section into bold-labelled parts. Content before the first label goes into a part
// with an empty label.
func (p *parser) parts(nodes []ast.Node) []Part {
	var out []Part
	cur := -1
	for _, n := range nodes {
		if para, ok := n.(*ast.Paragraph); ok {
			if label, rest, ok := p.label(para); ok {
				out = append(out, Part{Label: label, Text: rest, Line: p.nodeLine(para)})
				cur = len(out) - 1
				continue
			}
		}
		if cur < 0 {
			out = append(out, Part{Line: p.nodeLine(n)})
			cur = 0
		}
		switch n.(type) {
		case *ast.List:
			out[cur].Items = append(out[cur].Items, p.listItems(n)...)
		case *ast.FencedCodeBlock:
			out[cur].Blocks = append(out[cur].Blocks, p.block(n))
		case *ast.Paragraph:
			out[cur].Paragraphs = append(out[cur].Paragraphs, Item{Text: p.text(n), Line: p.nodeLine(n)})
		}
	}
	return out
}

// label recognises a paragraph that starts with bold text ending in a colon, or bold text followed by
// a colon: "**Symptoms:**", "**CRITICAL**: Policy bypass must be:".
func (p *parser) label(para *ast.Paragraph) (label, rest string, ok bool) {
	em, isEm := para.FirstChild().(*ast.Emphasis)
	if !isEm || em.Level != 2 {
		return "", "", false
	}
	label = p.text(em)
	var b strings.Builder
	for c := em.NextSibling(); c != nil; c = c.NextSibling() {
		if t, ok := c.(*ast.Text); ok {
			b.Write(t.Segment.Value(p.src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				break // a label is on its own line; what follows is a new line
			}
			continue
		}
		if c.Type() == ast.TypeInline {
			p.writeText(&b, c)
		}
	}
	rest = strings.TrimSpace(b.String())
	switch {
	case strings.HasSuffix(label, ":"):
		return strings.TrimSpace(strings.TrimSuffix(label, ":")), rest, true
	case strings.HasPrefix(rest, ":"):
		return label, strings.TrimSpace(strings.TrimPrefix(rest, ":")), true
	}
	return "", "", false
}

var (
	scenarioRE = regexp.MustCompile(`(?i)^scenario\s+(\d+)\s*[:.–—-]\s*(.+)$`)
	optionRE   = regexp.MustCompile(`(?i)^option\s+([A-Z0-9]+)\s*[:.)–—-]\s*(.*)$`)
	approvalRE = regexp.MustCompile(`(?i)requires?\s+(\w+\s+)?approval|approval\s+required|needs?\s+(\w+\s+)?approval`)
	lastRE     = regexp.MustCompile(`(?i)last\s+resort`)
	dataRiskRE = regexp.MustCompile(`(?i)data[\s-]+(risk|loss)|risk\s+of\s+data|destructive`)
	mustRE     = regexp.MustCompile(`(?i)\bmust\b`)
)

func (p *parser) scenarios() error {
	seen := map[int]int{}
	for _, h := range p.headings() {
		m := scenarioRE.FindStringSubmatch(h.text)
		if m == nil {
			continue
		}
		num, err := strconv.Atoi(m[1])
		if err != nil {
			return p.errorf(h.line, "scenario number %q is not a number", m[1])
		}
		if prev, dup := seen[num]; dup {
			return p.errorf(h.line, "scenario %d is defined twice (first at line %d)", num, prev)
		}
		seen[num] = h.line
		sc := Scenario{Number: num, Title: strings.TrimSpace(m[2]), Line: h.line, EndLine: p.endLine(h)}
		for _, part := range p.parts(p.section(h)) {
			if err := p.scenarioPart(&sc, part); err != nil {
				return err
			}
		}
		p.rb.Scenarios = append(p.rb.Scenarios, sc)
	}
	return nil
}

func (p *parser) scenarioPart(sc *Scenario, part Part) error {
	label := strings.ToLower(part.Label)
	switch {
	case strings.Contains(label, "symptom"):
		sc.Symptoms = append(sc.Symptoms, part.Items...)
	case strings.Contains(label, "post"):
		sc.PostMitigation = append(sc.PostMitigation, part.Items...)
	case strings.Contains(label, "diagnos"):
		sc.Diagnosis = append(sc.Diagnosis, part.Blocks...)
	case strings.Contains(label, "mitigat") || strings.Contains(label, "remediat"):
		sc.Mitigation = append(sc.Mitigation, part.Blocks...)
		return p.options(sc, part)
	case strings.Contains(label, "evidence"):
		sc.Evidence = append(sc.Evidence, part.Blocks...)
	case label == "critical" || label == "important" || label == "required":
		sc.Requirements = append(sc.Requirements, Requirement{Level: strings.ToUpper(part.Label), Text: part.Text, Items: part.Items, Line: part.Line})
	case mustRE.MatchString(part.Label + " " + part.Text):
		sc.Requirements = append(sc.Requirements, Requirement{Level: "must", Text: joinText(part.Label, part.Text), Items: part.Items, Line: part.Line})
	default:
		sc.Other = append(sc.Other, part)
	}
	return nil
}

func joinText(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// options splits mitigation blocks at "# Option X: Title" comments.
func (p *parser) options(sc *Scenario, part Part) error {
	seen := map[string]int{}
	for _, b := range part.Blocks {
		var cur *Option
		for _, ev := range p.events[b.Line] {
			if !ev.isCmd {
				if m := optionRE.FindStringSubmatch(ev.comment); m != nil {
					letter := strings.ToUpper(m[1])
					if prev, dup := seen[letter]; dup {
						return p.errorf(ev.line, "scenario %d: option %s is defined twice (first at line %d)", sc.Number, letter, prev)
					}
					seen[letter] = ev.line
					sc.Options = append(sc.Options, Option{Letter: letter, Title: strings.TrimSpace(m[2]), Line: ev.line})
					cur = &sc.Options[len(sc.Options)-1]
					cur.Markers = markersOf(cur.Title)
					continue
				}
				if cur != nil && len(cur.Steps) == 0 {
					cur.Notes = append(cur.Notes, ev.comment)
					m := markersOf(ev.comment)
					cur.Markers.RequiresApproval = cur.Markers.RequiresApproval || m.RequiresApproval
					cur.Markers.LastResort = cur.Markers.LastResort || m.LastResort
					cur.Markers.DataRisk = cur.Markers.DataRisk || m.DataRisk
				}
				continue
			}
			if cur == nil {
				sc.Unlabelled = append(sc.Unlabelled, ev.cmd)
				continue
			}
			cur.Steps = append(cur.Steps, ev.cmd)
		}
	}
	return nil
}

func markersOf(s string) Markers {
	return Markers{
		RequiresApproval: approvalRE.MatchString(s),
		LastResort:       lastRE.MatchString(s),
		DataRisk:         dataRiskRE.MatchString(s),
	}
}

var (
	escalationRE = regexp.MustCompile(`(?i)escalation`)
	colType      = regexp.MustCompile(`(?i)type|incident`)
	colPrimary   = regexp.MustCompile(`(?i)primary`)
	colSecondary = regexp.MustCompile(`(?i)secondary`)
	colExec      = regexp.MustCompile(`(?i)exec`)
	parenRE      = regexp.MustCompile(`\(([^)]*)\)`)
	sevTokenRE   = regexp.MustCompile(`^[A-Za-z]*\d+$`)
)

func (p *parser) escalation() error {
	h, ok := p.findHeading(escalationRE)
	if !ok {
		return nil
	}
	for _, n := range p.section(h) {
		t, ok := n.(*east.Table)
		if !ok {
			continue
		}
		cols := p.tableColumns(t, colType, colPrimary, colSecondary, colExec)
		if cols[0] < 0 || cols[1] < 0 {
			return p.errorf(p.nodeLine(t), "escalation matrix needs an incident-type column and a primary-contact column")
		}
		for _, row := range p.tableRows(t) {
			er := EscalationRow{IncidentType: row.cell(cols[0]), Primary: row.cell(cols[1]),
				Secondary: row.cell(cols[2]), Executive: row.cell(cols[3]), Line: row.line}
			for _, m := range parenRE.FindAllStringSubmatch(er.IncidentType, -1) {
				for _, tok := range strings.FieldsFunc(m[1], func(r rune) bool { return r == '/' || r == ',' || r == ' ' }) {
					if sevTokenRE.MatchString(tok) {
						er.Severities = append(er.Severities, tok)
					}
				}
			}
			p.rb.Escalation = append(p.rb.Escalation, er)
		}
		break
	}
	for _, part := range p.parts(p.section(h)) {
		if strings.Contains(strings.ToLower(part.Label), "contact") {
			p.rb.Contacts = append(p.rb.Contacts, part.Items...)
		}
	}
	return nil
}

var evidenceRE = regexp.MustCompile(`(?i)evidence`)

func (p *parser) evidence() error {
	h, ok := p.findHeading(evidenceRE)
	if !ok {
		return nil
	}
	ev := &p.rb.Evidence
	ev.Line = h.line
	for _, part := range p.parts(p.section(h)) {
		if len(ev.Items) == 0 {
			for _, it := range part.Items {
				ev.Items = append(ev.Items, it)
			}
		}
		for _, b := range part.Blocks {
			if ev.Root == "" && strings.ContainsAny(b.Text, "├└") {
				p.tree(b)
			}
		}
	}
	return nil
}

var treeNoteRE = regexp.MustCompile(`^(\S+)\s*(?:\((.*)\))?\s*$`)

// tree reads a directory tree drawn with ├── └── │.
func (p *parser) tree(b Block) {
	ev := &p.rb.Evidence
	var stack []string // directory names by depth
	for i, raw := range strings.Split(strings.TrimRight(b.Text, "\n"), "\n") {
		line := b.Line + 1 + i
		idx := strings.IndexAny(raw, "├└")
		if idx < 0 {
			if ev.Root == "" && strings.TrimSpace(raw) != "" {
				ev.Root = strings.TrimSpace(raw)
			}
			continue
		}
		depth := utf8.RuneCountInString(raw[:idx]) / 4
		name := strings.TrimLeft(raw[idx:], "├└─ \u00a0")
		m := treeNoteRE.FindStringSubmatch(name)
		entry := TreeEntry{Line: line}
		if m != nil {
			name, entry.Note = m[1], m[2]
		}
		entry.Dir = strings.HasSuffix(name, "/")
		name = strings.TrimSuffix(name, "/")
		if depth > len(stack) {
			depth = len(stack)
		}
		stack = append(stack[:depth], name)
		entry.Path = strings.Join(stack, "/")
		if !entry.Dir {
			stack = stack[:depth]
		}
		ev.Tree = append(ev.Tree, entry)
	}
}

var checklistRE = regexp.MustCompile(`(?i)checklist`)

func (p *parser) checklist() error {
	h, ok := p.findHeading(checklistRE)
	if !ok {
		return nil
	}
	for _, n := range p.section(h) {
		if _, ok := n.(*ast.List); ok {
			p.rb.Checklist = append(p.rb.Checklist, p.listItems(n)...)
		}
	}
	return nil
}

var (
	scheduleRE    = regexp.MustCompile(`(?i)schedule`)
	cadenceLineRE = regexp.MustCompile(`^(.+?):\s*(.+)$`)
)

// schedule reads the testing schedule: a part labelled "...Schedule:" (or a heading naming a schedule)
// whose list items read "P0 scenarios: Monthly fire drills".
func (p *parser) schedule() error {
	var items []Item
	line := 0
	for _, h := range p.headings() {
		if scenarioRE.MatchString(h.text) {
			continue
		}
		sec := p.section(h)
		for _, part := range p.parts(sec) {
			if scheduleRE.MatchString(part.Label) || (part.Label == "" && scheduleRE.MatchString(h.text)) {
				items, line = part.Items, part.Line
				if part.Label == "" {
					line = h.line
				}
				break
			}
		}
		if line > 0 {
			break
		}
	}
	p.rb.Schedule.Line = line
	for _, it := range items {
		m := cadenceLineRE.FindStringSubmatch(it.Text)
		if m == nil {
			return p.errorf(it.Line, "schedule item %q: write it like \"P0 scenarios: Monthly fire drills\"", it.Text)
		}
		c := Cadence{Text: it.Text, Line: it.Line}
		for _, tok := range strings.FieldsFunc(m[1], func(r rune) bool { return r == '/' || r == ',' || r == ' ' || r == '&' }) {
			if _, known := p.rb.SeverityByName(tok); known || (len(p.rb.Severities) == 0 && sevTokenRE.MatchString(tok)) {
				c.Severities = append(c.Severities, tok)
			}
		}
		if len(c.Severities) == 0 {
			return p.errorf(it.Line, "schedule item %q names no severity level from the severity table", it.Text)
		}
		iv, kind, ok := findInterval(m[2])
		if !ok {
			return p.errorf(it.Line, "schedule item %q has no interval: say weekly, monthly, quarterly, semi-annual or annual", it.Text)
		}
		c.Every, c.Kind = iv, kind
		for _, prev := range p.rb.Schedule.Cadences {
			for _, s := range prev.Severities {
				for _, t := range c.Severities {
					if s == t {
						return p.errorf(it.Line, "severity %s is scheduled twice (first at line %d)", s, prev.Line)
					}
				}
			}
		}
		p.rb.Schedule.Cadences = append(p.rb.Schedule.Cadences, c)
	}
	return nil
}

var stampRE = regexp.MustCompile(`(?i)^(\s*(?:[*_]{2})?\s*(last tested|next test due)\s*(?::\s*(?:[*_]{2})?|(?:[*_]{2})?\s*:)[ \t]*)(.*?)([ \t]*)$`)

// stamps finds "**Last Tested:** value" and "**Next Test Due:** value" lines anywhere in the runbook.
func (p *parser) stamps() error {
	for i, start := range p.lineStarts {
		end := len(p.src)
		if i+1 < len(p.lineStarts) {
			end = p.lineStarts[i+1] - 1
		}
		raw := strings.TrimSuffix(string(p.src[start:end]), "\r")
		m := stampRE.FindStringSubmatchIndex(raw)
		if m == nil {
			continue
		}
		st := Stamp{Label: raw[m[4]:m[5]], Value: raw[m[6]:m[7]], Line: i + 1, Offset: start + m[6]}
		target := &p.rb.Schedule.LastTested
		if strings.EqualFold(st.Label, "next test due") {
			target = &p.rb.Schedule.NextTestDue
		}
		if target.Line != 0 {
			return p.errorf(st.Line, "%q appears twice (first at line %d)", st.Label, target.Line)
		}
		*target = st
	}
	return nil
}

// requirements collects "must" statements outside scenarios.
func (p *parser) requirements() error {
	inScenario := func(line int) bool {
		for _, sc := range p.rb.Scenarios {
			if line >= sc.Line && line <= sc.EndLine {
				return true
			}
		}
		return false
	}
	seen := map[int]bool{}
	for _, h := range p.headings() {
		for _, part := range p.parts(p.section(h)) {
			if part.Label == "" || seen[part.Line] || inScenario(part.Line) {
				continue
			}
			seen[part.Line] = true
			if mustRE.MatchString(part.Label + " " + part.Text) {
				p.rb.Requirements = append(p.rb.Requirements, Requirement{Level: "must", Text: joinText(part.Label, part.Text), Items: part.Items, Line: part.Line})
			}
		}
	}
	return nil
}

// applyConfig names the scenarios and resolves their severities.
func (p *parser) applyConfig(cfg *Config) error {
	rb := p.rb
	named := map[int]string{} // scenario index -> short name
	byName := map[string]ScenarioConfig{}
	if cfg != nil {
		for _, sc := range cfg.Scenarios {
			if _, dup := byName[sc.Name]; dup {
				return &Error{File: cfg.Path, Line: sc.Line, Msg: fmt.Sprintf("scenario %q is configured twice", sc.Name)}
			}
			byName[sc.Name] = sc
			var hits []int
			for i, s := range rb.Scenarios {
				if titleMatches(s.Title, sc.Match) {
					hits = append(hits, i)
				}
			}
			switch {
			case len(hits) == 0:
				return &Error{File: cfg.Path, Line: sc.Line, Msg: fmt.Sprintf("scenario %q: no scenario title in %s contains %s; fix the match keywords", sc.Name, rb.Path, quoteList(sc.Match))}
			case len(hits) > 1:
				a, b := rb.Scenarios[hits[0]], rb.Scenarios[hits[1]]
				return &Error{File: cfg.Path, Line: sc.Line, Msg: fmt.Sprintf("scenario %q matches both %q (line %d) and %q (line %d); make the match keywords more specific", sc.Name, a.Title, a.Line, b.Title, b.Line)}
			}
			if prev, dup := named[hits[0]]; dup {
				s := rb.Scenarios[hits[0]]
				return &Error{File: cfg.Path, Line: sc.Line, Msg: fmt.Sprintf("scenarios %q and %q both match %q (line %d)", prev, sc.Name, s.Title, s.Line)}
			}
			named[hits[0]] = sc.Name
			if sc.Severity != "" && len(rb.Severities) > 0 {
				if _, ok := rb.SeverityByName(sc.Severity); !ok {
					return &Error{File: cfg.Path, Line: sc.Line, Msg: fmt.Sprintf("scenario %q: severity %q is not in the runbook's severity table", sc.Name, sc.Severity)}
				}
			}
		}
	}
	used := map[string]bool{}
	for _, n := range named {
		used[n] = true
	}
	for i := range rb.Scenarios {
		s := &rb.Scenarios[i]
		if n, ok := named[i]; ok {
			s.Name = n
		} else {
			s.Name = uniqueSlug(s.Title, s.Number, used)
		}
		used[s.Name] = true
		p.resolveSeverity(s, byName[s.Name], cfg)
	}
	return nil
}

var severityStatedRE = regexp.MustCompile(`(?i)\bseverity\b[*_\s]*[:=][*_\s]*([A-Za-z]*\d+)\b`)

func (p *parser) resolveSeverity(s *Scenario, sc ScenarioConfig, cfg *Config) {
	// 1. Stated in the scenario's own text: "**Severity:** P1" or a title such as "... (P1)".
	for line := s.Line; line <= s.EndLine && line <= len(p.lineStarts); line++ {
		raw := p.rawLine(line)
		cands := severityStatedRE.FindAllStringSubmatch(raw, -1)
		if line == s.Line {
			cands = append(cands, parenRE.FindAllStringSubmatch(raw, -1)...)
		}
		for _, m := range cands {
			if _, ok := p.rb.SeverityByName(m[1]); ok {
				s.Severity = m[1]
				s.SeveritySource = Source{Kind: FromRunbook, File: p.path, Line: line, Reason: "stated in the scenario"}
				return
			}
		}
	}
	// 2. The severity table names the scenario as an example.
	for _, sev := range p.rb.Severities {
		for _, ex := range sev.Examples {
			if normalize(ex) == normalize(s.Title) {
				s.Severity = sev.Name
				s.SeveritySource = Source{Kind: FromRunbook, File: p.path, Line: sev.Line,
					Reason: fmt.Sprintf("the severity table lists %q as a %s example", ex, sev.Name)}
				return
			}
		}
	}
	// 3. The config.
	if sc.Severity != "" {
		s.Severity = sc.Severity
		s.SeveritySource = Source{Kind: FromConfig, File: cfg.Path, Line: sc.Line, Reason: sc.Reason}
	}
}

func (p *parser) rawLine(line int) string {
	start := p.lineStarts[line-1]
	end := len(p.src)
	if line < len(p.lineStarts) {
		end = p.lineStarts[line] - 1
	}
	return string(p.src[start:end])
}

func normalize(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}), " ")
}

func titleMatches(title string, keywords []string) bool {
	t := normalize(title)
	for _, k := range keywords {
		if k = normalize(k); k != "" && strings.Contains(" "+t, " "+k) {
			return true
		}
	}
	return false
}

func uniqueSlug(title string, number int, used map[string]bool) string {
	slug := strings.ReplaceAll(normalize(title), " ", "-")
	if slug == "" {
		slug = fmt.Sprintf("scenario-%d", number)
	}
	if used[slug] {
		slug = fmt.Sprintf("%s-%d", slug, number)
	}
	return slug
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, " or ")
}
