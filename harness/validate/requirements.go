package validate

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/firedrill-dev/firedrill/harness/runbook"
)

var (
	reqApproveRE  = regexp.MustCompile(`(?i)\bapprov\w*\s+by\s+(.+)$`)
	reqRevertRE   = regexp.MustCompile(`(?i)\b(revert|roll(ed)?\s*back|undo|undone|restor|disabl|remov)\w*`)
	reqDocumentRE = regexp.MustCompile(`(?i)\b(document|record|evidence|log)\w*`)
	reqReviewRE   = regexp.MustCompile(`(?i)\b(review|postmortem|retro|debrief)\w*`)
	partySplitRE  = regexp.MustCompile(`\s*(?:\+|,|\band\b|&)\s*`)
	wordRE        = regexp.MustCompile(`[a-z0-9]+`)
)

// checkRequirements checks that each CRITICAL or "must" item inside a scenario is carried out by a step.
func (v *validator) checkRequirements(context.Context) error {
	for i := range v.rb.Scenarios {
		sc := &v.rb.Scenarios[i]
		for _, req := range sc.Requirements {
			opts := relatedOptions(sc, req.Text)
			items := req.Items
			if len(items) == 0 {
				items = []runbook.Item{{Text: req.Text, Line: req.Line}}
			}
			for _, it := range items {
				v.checkRequirementItem(sc, req, it, opts)
			}
		}
	}
	return nil
}

// relatedOptions returns the options a requirement speaks of: those whose title shares two words with
// it (e.g. "Policy bypass must be" and "Enable policy bypass mode"), or else all options.
func relatedOptions(sc *runbook.Scenario, text string) []*runbook.Option {
	words := map[string]bool{}
	for _, w := range wordRE.FindAllString(strings.ToLower(text), -1) {
		if len(w) > 3 {
			words[w] = true
		}
	}
	var out []*runbook.Option
	for i := range sc.Options {
		n := 0
		for _, w := range wordRE.FindAllString(strings.ToLower(sc.Options[i].Title), -1) {
			if words[w] {
				n++
			}
		}
		if n >= 2 {
			out = append(out, &sc.Options[i])
		}
	}
	if out == nil {
		for i := range sc.Options {
			out = append(out, &sc.Options[i])
		}
	}
	return out
}

func normWords(s string) string {
	return " " + strings.Join(wordRE.FindAllString(strings.ToLower(strings.NewReplacer("_", " ", "-", " ").Replace(s)), -1), " ") + " "
}

func (v *validator) checkRequirementItem(sc *runbook.Scenario, req runbook.Requirement, it runbook.Item, opts []*runbook.Option) {
	where := scenarioWhere(sc)
	var steps []runbook.Command
	for _, o := range opts {
		steps = append(steps, o.Steps...)
	}
	label := fmt.Sprintf("%s requirement %q", req.Level, it.Text)
	switch {
	case reqApproveRE.MatchString(it.Text):
		m := reqApproveRE.FindStringSubmatch(it.Text)
		var missing []string
		for _, party := range partySplitRE.Split(m[1], -1) {
			if party = strings.TrimSpace(party); party == "" {
				continue
			}
			found := false
			for _, st := range steps {
				if strings.Contains(normWords(st.Text), normWords(party)) {
					found = true
				}
			}
			if !found {
				missing = append(missing, party)
			}
		}
		if len(missing) > 0 {
			v.add(Warning, "requirement", it.Line, where, "", fmt.Sprintf("%s: no step records approval by %s; add a step that writes who approved, and when, to the evidence pack before the change", label, strings.Join(missing, " and ")))
		}
	case reqRevertRE.MatchString(it.Text):
		changes := appliedChanges(steps)
		if len(changes) == 0 {
			v.add(Warning, "requirement", it.Line, where, "", label+": no step makes a change this could revert, and none reverts one")
			return
		}
		var what, lines []string
		undo := map[string][]string{} // undo command prefix -> names
		var order []string
		for _, ch := range changes {
			if reverted(sc, ch) {
				continue
			}
			what = append(what, ch.what)
			lines = append(lines, fmt.Sprint(ch.line))
			if _, ok := undo[ch.undo]; !ok {
				order = append(order, ch.undo)
			}
			undo[ch.undo] = append(undo[ch.undo], ch.name+"-")
		}
		if len(what) > 0 {
			var cmds []string
			for _, u := range order {
				cmds = append(cmds, "`"+u+" "+strings.Join(undo[u], " ")+"`")
			}
			v.add(Error, "requirement", it.Line, where, "", fmt.Sprintf("%s: no step reverts %s (line %s); add %s with a timer for the deadline",
				label, strings.Join(what, ", "), strings.Join(lines, ", "), strings.Join(cmds, " and ")))
		}
	case reqDocumentRE.MatchString(it.Text):
		for _, st := range steps {
			for _, p := range writtenPaths(st) {
				if strings.Contains(strings.ToLower(p), "evidence") {
					return
				}
			}
		}
		v.add(Warning, "requirement", it.Line, where, "", label+": no step of the option writes to the evidence pack")
	case reqReviewRE.MatchString(it.Text):
		v.add(Info, "requirement", it.Line, where, "", label+": a human step after the incident, not something a command carries out; make sure the post-incident checklist carries it")
	default:
		v.add(Warning, "requirement", it.Line, where, "", label+": no step carries this out")
	}
}

// change is something an option sets that a requirement may ask to revert.
type change struct {
	what  string // "POLICY_BYPASS_MODE=true on deployment/aureus-frontend"
	name  string // "POLICY_BYPASS_MODE"
	value string
	line  int
	undo  string // the command that undoes it, without the variable: "kubectl set env deployment/x -n ns"
}

// appliedChanges finds environment variables set with kubectl set env.
func appliedChanges(steps []runbook.Command) []change {
	var out []change
	for _, st := range steps {
		for _, call := range st.Calls {
			if call.Name() != "kubectl" || len(call.Args) < 3 || call.Args[1].Lit != "set" || call.Args[2].Lit != "env" {
				continue
			}
			target, ns := "", ""
			for i, a := range call.Args[3:] {
				switch {
				case a.Lit == "-n" || a.Lit == "--namespace":
					if 3+i+1 < len(call.Args) {
						ns = call.Args[3+i+1].Lit
					}
				case strings.Contains(a.Lit, "/") && target == "" && !strings.Contains(a.Lit, "="):
					target = a.Lit
				}
			}
			for _, a := range call.Args[3:] {
				name, val, ok := strings.Cut(a.Lit, "=")
				if !ok || strings.HasPrefix(name, "-") {
					continue
				}
				undo := "kubectl set env " + target
				if ns != "" {
					undo += " -n " + ns
				}
				out = append(out, change{what: fmt.Sprintf("%s=%s on %s", name, val, target), name: name, value: val, line: a.Line, undo: undo})
			}
		}
	}
	return out
}

// reverted reports whether any command of the scenario unsets the variable or sets it to another value.
func reverted(sc *runbook.Scenario, ch change) bool {
	for _, c := range sc.Commands() {
		for _, call := range c.Calls {
			for _, a := range call.Args {
				name, val, ok := strings.Cut(a.Lit, "=")
				if a.Lit == ch.name+"-" || ok && name == ch.name && val != ch.value {
					return true
				}
			}
		}
	}
	return false
}

// checkEvidence checks the evidence the runbook requires against the steps that produce it.
func (v *validator) checkEvidence(context.Context) error {
	ev := v.rb.Evidence
	var mustLine int
	for _, r := range v.rb.Requirements {
		if strings.Contains(strings.ToLower(r.Text), "evidence") {
			mustLine = r.Line
		}
	}
	root := ev.Root
	if i := strings.IndexAny(root, "[<{$"); i >= 0 {
		root = root[:i]
	}
	rootLine := ev.Line
	if len(ev.Tree) > 0 {
		rootLine = ev.Tree[0].Line - 1
	}
	var beforeLine int
	for _, ph := range v.rb.Process {
		for _, it := range ph.Items {
			t := strings.ToLower(it.Text)
			if strings.Contains(t, "evidence") && strings.Contains(t, "before") {
				beforeLine = it.Line
			}
		}
	}
	var allWritten []string
	for i := range v.rb.Scenarios {
		sc := &v.rb.Scenarios[i]
		where := scenarioWhere(sc)
		captures := 0
		for _, s := range v.steps {
			if s.scenario != sc {
				continue
			}
			paths := writtenPaths(s.cmd)
			allWritten = append(allWritten, paths...)
			for _, p := range paths {
				if s.part == "evidence" || strings.Contains(strings.ToLower(p), "evidence") {
					captures++
				}
				if root != "" && s.part == "evidence" && !strings.HasPrefix(p, root) {
					v.addStep(s, Warning, "evidence", fmt.Sprintf("writes evidence to %s, outside the evidence storage tree %s (line %d): it stays on whoever ran it and never reaches the pack", p, ev.Root, rootLine))
				}
			}
		}
		if captures == 0 && mustLine > 0 {
			v.add(Warning, "evidence", sc.Line, where, "", fmt.Sprintf("the scenario captures no evidence, but line %d says every incident must generate an evidence pack: add an Evidence Capture block that runs before the mitigation", mustLine))
		}
		if beforeLine > 0 && len(sc.Evidence) > 0 && len(sc.Mitigation) > 0 && sc.Evidence[0].Line > sc.Mitigation[0].Line {
			v.add(Warning, "evidence", sc.Evidence[0].Line, where, "", fmt.Sprintf("the evidence capture comes after the mitigation (line %d) while line %d says to capture evidence before making changes: someone following the page top to bottom restarts first and captures the new pods' logs", sc.Mitigation[0].Line, beforeLine))
		}
	}
	if len(ev.Tree) > 0 {
		var unwritten []string
		for _, e := range ev.Tree {
			if e.Dir || e.Note != "" {
				continue
			}
			re := treeEntryRE(e.Path)
			found := false
			for _, p := range allWritten {
				if re.MatchString(p) {
					found = true
				}
			}
			if !found {
				unwritten = append(unwritten, e.Path)
			}
		}
		if len(unwritten) > 0 {
			v.add(Warning, "evidence", ev.Tree[0].Line, "", "", fmt.Sprintf("no step writes %s: the evidence pack the runbook requires cannot be assembled from its steps", strings.Join(unwritten, ", ")))
		}
	}
	return nil
}

// treeEntryRE turns "logs/frontend-[timestamp].log" into a pattern matching "…frontend-….log".
func treeEntryRE(path string) *regexp.Regexp {
	base := path[strings.LastIndex(path, "/")+1:]
	var b strings.Builder
	for _, part := range regexp.MustCompile(`\[[^\]]*\]`).Split(base, -1) {
		if b.Len() > 0 {
			b.WriteString(".*")
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	return regexp.MustCompile(`(^|/)` + b.String() + `$`)
}
