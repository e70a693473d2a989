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
		if f.Evidence != "" {
			if _, err := fmt.Fprintf(w, "    evidence: %s\n", f.Evidence); err != nil {
				return err
			}
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
func WriteJSON(w io.Writer, rep any) error {
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

// WriteLiveText writes the findings, then the substitution table and the coverage table.
func WriteLiveText(w io.Writer, rep LiveReport) error {
	if err := WriteText(w, rep.Report); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nsubstitutions (values of secrets are never shown):")
	for _, e := range rep.Table {
		fmt.Fprintf(w, "  %-26s %s\n", e.Name, e.Means)
	}
	counts := map[string]int{}
	fmt.Fprintln(w, "\ncoverage:")
	fmt.Fprintf(w, "  %-5s %-13s %-8s %s\n", "LINE", "CHECK", "RESULT", "COMMAND")
	for _, c := range rep.Coverage {
		counts[c.Check]++
		fmt.Fprintf(w, "  %-5d %-13s %-8s %s\n", c.Line, c.Check, c.Result, shorten(c.Command, 90))
		if c.Why != "" && c.Result != "finding" {
			fmt.Fprintf(w, "  %-5s %-13s %-8s why: %s\n", "", "", "", c.Why)
		}
	}
	_, err := fmt.Fprintf(w, "%d commands: %d executed, %d dry-run, %d static only, %d not checkable\n", len(rep.Coverage),
		counts[CheckExecuted], counts[CheckDryRun], counts[CheckStatic], counts[CheckNotCheckable])
	return err
}
