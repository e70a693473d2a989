package shell

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// Table is everything a runbook command may be filled with. Nothing else is substituted: an
// unknown placeholder or variable refuses the command rather than running it literally.
type Table struct {
	Placeholders []Placeholder
	Vars         []Var
}

// Placeholder is a bracketed token in the runbook's text, e.g. [ID].
type Placeholder struct {
	Token string // "[ID]"
	Value string
	Means string // what it stands for, for the documentation and the evidence
}

// Var is an environment variable a command may expand, e.g. $REDIS_PASSWORD.
type Var struct {
	Name   string
	Value  string
	From   string // where the value comes from, e.g. "Secret aureus-redis, key password"
	Secret bool   // redacted from every output
}

// SecretValues are the values to redact.
func (t Table) SecretValues() []string {
	var out []string
	for _, v := range t.Vars {
		if v.Secret {
			out = append(out, v.Value)
		}
	}
	return out
}

var placeholderRE = regexp.MustCompile(`\[[A-Z][A-Z0-9_-]*\]`)

// safeValue is what a placeholder value may contain: it is pasted into shell text unquoted.
var safeValue = regexp.MustCompile(`^[A-Za-z0-9._@+:-]+$`)

// Fill replaces every known placeholder; an unknown one is an error naming it.
func (t Table) Fill(text string) (string, error) {
	var unknown []string
	filled := placeholderRE.ReplaceAllStringFunc(text, func(tok string) string {
		for _, p := range t.Placeholders {
			if p.Token == tok {
				return p.Value
			}
		}
		if !slices.Contains(unknown, tok) {
			unknown = append(unknown, tok)
		}
		return tok
	})
	if len(unknown) > 0 {
		return "", fmt.Errorf("placeholder %s is not in firedrill's table (%s): it would run literally", strings.Join(unknown, ", "), t.known())
	}
	for _, p := range t.Placeholders {
		if !safeValue.MatchString(p.Value) {
			return "", fmt.Errorf("value for %s is not safe to paste into a shell command", p.Token)
		}
	}
	return filled, nil
}

func (t Table) known() string {
	var names []string
	for _, p := range t.Placeholders {
		names = append(names, p.Token)
	}
	for _, v := range t.Vars {
		names = append(names, "$"+v.Name)
	}
	if len(names) == 0 {
		return "empty"
	}
	return "known: " + strings.Join(names, " ")
}

// baseEnv is what every command's environment has besides the table.
var baseEnv = []string{"PATH", "HOME", "TMPDIR", "LANG", "TZ", "PWD", "OLDPWD", "IFS", "RANDOM", "SECONDS", "LINENO", "UID", "EUID", "PPID", "HOSTNAME", "SHELL"}

// unknownVars lists the variables a command expands that neither the table, the base
// environment, nor an assignment earlier in the block defines.
func (t Table) unknownVars(file *syntax.File, assigned map[string]bool) []string {
	local := map[string]bool{}
	syntax.Walk(file, func(n syntax.Node) bool {
		switch n := n.(type) {
		case *syntax.Assign:
			if n.Name != nil {
				local[n.Name.Value] = true
			}
		case *syntax.WordIter:
			if n.Name != nil {
				local[n.Name.Value] = true
			}
		}
		return true
	})
	var unknown []string
	syntax.Walk(file, func(n syntax.Node) bool {
		pe, ok := n.(*syntax.ParamExp)
		if !ok || pe.Param == nil {
			return true
		}
		name := pe.Param.Value
		if !isName(name) || local[name] || assigned[name] || slices.Contains(baseEnv, name) || slices.Contains(unknown, name) {
			return true
		}
		if !slices.ContainsFunc(t.Vars, func(v Var) bool { return v.Name == name }) {
			unknown = append(unknown, name)
		}
		return true
	})
	return unknown
}

func isName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for _, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// assignments returns the names a command assigns, for the commands after it.
func assignments(file *syntax.File) []string {
	var names []string
	syntax.Walk(file, func(n syntax.Node) bool {
		if a, ok := n.(*syntax.Assign); ok && a.Name != nil {
			names = append(names, a.Name.Value)
		}
		return true
	})
	return names
}
