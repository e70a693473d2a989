package validate

import (
	"encoding/json"
	"fmt"
	"io"
)

// WriteText writes the report for a terminal: one finding a line, then a summary.
//
//	incident-response.md:144: error [kubectl-args] scenario 2 (database), diagnosis: kubectl exec ...: reason
func WriteText(w io.Writer, rep Report) error {
	for _, f := range rep.Findings {
		loc := rep.Runbook
		if f.Line > 0 {
			loc = fmt.Sprintf("%s:%d", rep.Runbook, f.Line)
		}
		line := fmt.Sprintf("%s: %s [%s]", loc, f.Level, f.Check)
		if f.Where != "" {
			line += " " + f.Where
		}
		if f.Command != "" {
			line += ": `" + shorten(f.Command, 100) + "`"
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", line, f.Reason); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "%s: %s, %s, %s\n", rep.Runbook, Plural(rep.Errors, "error"), Plural(rep.Warnings, "warning"), Plural(rep.Infos, "info"))
	return err
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// Plural writes "1 error" or "2 errors".
func Plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
