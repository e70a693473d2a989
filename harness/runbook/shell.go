package runbook

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// shellEvent is a statement or a comment in a shell block, in source order.
type shellEvent struct {
	offset  uint
	line    int // runbook line
	comment string
	isCmd   bool
	cmd     Command
}

// parseShell parses the content of a shell block that starts at runbook line firstLine. It returns the
// block's statements and comments in source order.
func parseShell(content string, firstLine int) ([]shellEvent, error) {
	parser := syntax.NewParser(syntax.KeepComments(true), syntax.Variant(syntax.LangBash))
	file, err := parser.Parse(strings.NewReader(content), "")
	if err != nil {
		var perr syntax.ParseError
		if pe, ok := err.(syntax.ParseError); ok {
			perr = pe
			return nil, fmt.Errorf("line %d: %s", int(perr.Pos.Line())+firstLine-1, perr.Text)
		}
		return nil, err
	}
	src := []byte(content)
	lineOf := func(p syntax.Pos) int { return int(p.Line()) + firstLine - 1 }

	var events []shellEvent
	addComment := func(c syntax.Comment) {
		events = append(events, shellEvent{offset: c.Hash.Offset(), line: lineOf(c.Hash), comment: strings.TrimSpace(c.Text)})
	}
	for _, st := range file.Stmts {
		for _, c := range st.Comments {
			addComment(c)
		}
		cmd := Command{
			Line:    lineOf(st.Pos()),
			EndLine: lineOf(st.End()),
			Text:    string(src[st.Pos().Offset():st.End().Offset()]),
		}
		w := walker{src: src, lineOf: lineOf}
		w.stmt(st, &cmd)
		events = append(events, shellEvent{offset: st.Pos().Offset(), line: cmd.Line, isCmd: true, cmd: cmd})
	}
	for _, c := range file.Last {
		addComment(c)
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].offset < events[j].offset })
	// A command's comment is the comment line directly above it. Comments on the same line as a command
	// (trailing comments) are not titles.
	for i := range events {
		if !events[i].isCmd {
			continue
		}
		for j := i - 1; j >= 0; j-- {
			if events[j].isCmd {
				break
			}
			if events[j].line == events[i].cmd.Line-1 {
				events[i].cmd.Comment = events[j].comment
				break
			}
		}
	}
	return events, nil
}

// commandsOf returns the commands among events.
func commandsOf(events []shellEvent) []Command {
	var out []Command
	for _, e := range events {
		if e.isCmd {
			out = append(out, e.cmd)
		}
	}
	return out
}

type walker struct {
	src    []byte
	lineOf func(syntax.Pos) int
}

func (w walker) stmt(st *syntax.Stmt, cmd *Command) {
	before := len(cmd.Calls)
	w.command(st.Cmd, cmd)
	if len(cmd.Calls) > before {
		first := &cmd.Calls[before]
		for _, r := range st.Redirs {
			first.Redirects = append(first.Redirects, w.redirect(r))
		}
	} else if len(st.Redirs) > 0 {
		cmd.Compound = true
	}
}

func (w walker) command(node syntax.Command, cmd *Command) {
	switch x := node.(type) {
	case nil:
	case *syntax.CallExpr:
		call := Call{Line: w.lineOf(x.Pos())}
		for _, a := range x.Assigns {
			call.Env = append(call.Env, w.assign(a))
		}
		for _, a := range x.Args {
			call.Args = append(call.Args, w.word(a))
		}
		cmd.Calls = append(cmd.Calls, call)
	case *syntax.DeclClause: // export X=1, declare, local, readonly
		call := Call{Line: w.lineOf(x.Pos())}
		call.Args = append(call.Args, Word{Raw: x.Variant.Value, Lit: x.Variant.Value, Static: true, Line: w.lineOf(x.Variant.Pos())})
		for _, a := range x.Args {
			call.Args = append(call.Args, w.assign(a))
		}
		cmd.Calls = append(cmd.Calls, call)
	case *syntax.BinaryCmd:
		w.stmt(x.X, cmd)
		left := len(cmd.Calls)
		w.stmt(x.Y, cmd)
		if (x.Op == syntax.Pipe || x.Op == syntax.PipeAll) && left > 0 && left < len(cmd.Calls) {
			cmd.Calls[left-1].PipesOut = true
			cmd.Calls[left].Piped = true
		}
	default:
		cmd.Compound = true
		syntax.Walk(node, func(n syntax.Node) bool {
			if call, ok := n.(*syntax.CallExpr); ok {
				w.command(call, cmd)
				return false
			}
			return true
		})
	}
}

func (w walker) redirect(r *syntax.Redirect) Redirect {
	out := Redirect{Op: r.Op.String()}
	if r.Word != nil {
		out.Target = w.word(r.Word)
	}
	return out
}

func (w walker) assign(a *syntax.Assign) Word {
	raw := string(w.src[a.Pos().Offset():a.End().Offset()])
	word := Word{Raw: raw, Lit: raw, Static: true, Line: w.lineOf(a.Pos())}
	if a.Value != nil {
		v := w.word(a.Value)
		word = v
		word.Raw = raw
		word.Lit = a.Name.Value + "=" + v.Lit
	}
	return word
}

func (w walker) word(x *syntax.Word) Word {
	out := Word{
		Raw:    string(w.src[x.Pos().Offset():x.End().Offset()]),
		Static: true,
		Line:   w.lineOf(x.Pos()),
	}
	var lit bytes.Buffer
	w.parts(x.Parts, &out, &lit, false)
	out.Lit = lit.String()
	return out
}

func (w walker) parts(parts []syntax.WordPart, out *Word, lit *bytes.Buffer, inDouble bool) {
	for _, p := range parts {
		switch x := p.(type) {
		case *syntax.Lit:
			lit.WriteString(x.Value)
			if !inDouble && strings.ContainsAny(x.Value, "*?[") {
				out.Glob = true
			}
		case *syntax.SglQuoted:
			out.Quoted = true
			lit.WriteString(x.Value)
			if strings.Contains(x.Value, "\n") {
				out.MultiLine = true
			}
		case *syntax.DblQuoted:
			out.Quoted = true
			if x.Left.Line() != x.Right.Line() {
				out.MultiLine = true
			}
			w.parts(x.Parts, out, lit, true)
		case *syntax.ParamExp:
			out.Static = false
			if x.Param != nil {
				out.Vars = append(out.Vars, x.Param.Value)
			}
			lit.Write(w.src[x.Pos().Offset():x.End().Offset()])
		default: // command substitution, arithmetic, process substitution, ...
			out.Static = false
			out.Subst = true
			lit.Write(w.src[p.Pos().Offset():p.End().Offset()])
		}
	}
}
