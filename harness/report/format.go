package report

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strings"
	"text/tabwriter"
)

// Formats Write accepts.
var Formats = []string{"table", "markdown", "json", "html"}

// Write writes the report in a format: table (terminal), markdown (a GitHub job summary), json, or
// html (a standalone page with no external resources).
func Write(w io.Writer, rep Report, format string) error {
	switch format {
	case "table":
		return writeTable(w, rep)
	case "markdown":
		return writeMarkdown(w, rep)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	case "html":
		return pageTemplate.Execute(w, rep)
	}
	return fmt.Errorf("unknown format %q: use %s", format, strings.Join(Formats, ", "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cadence(r Row) string {
	if r.Cadence == "" {
		return "-"
	}
	return r.Cadence + " " + r.CadenceKind
}

func summary(rep Report) string {
	var parts []string
	for _, st := range []Status{Overdue, NeverTested, DueSoon, OK, Unscheduled} {
		if n := rep.Counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st.Text()))
		}
	}
	return strings.Join(parts, ", ")
}

func writeTable(w io.Writer, rep Report) error {
	fmt.Fprintf(w, "Runbook %s, ledger %s (%d records), as of %s\n\n", rep.Runbook, orDash(rep.Ledger), rep.LedgerRecords, rep.Now)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tSEVERITY\tSEVERITY FROM\tCADENCE\tLAST TESTED\tLAST RESULT\tNEXT DUE\tSTATUS")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, orDash(r.Severity), r.SeveritySource, cadence(r),
			orDash(r.LastTested), orDash(r.LastResult), orDash(r.NextDue), r.Status.Text())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s\n", summary(rep))
	if len(rep.Unknown) > 0 {
		fmt.Fprintf(w, "ledger records for scenarios the runbook does not have: %s\n", strings.Join(rep.Unknown, ", "))
	}
	return nil
}

func mdCell(s string) string { return strings.ReplaceAll(orDash(s), "|", `\|`) }

func writeMarkdown(w io.Writer, rep Report) error {
	icon := map[Status]string{OK: "🟢", DueSoon: "🟡", Overdue: "🔴", NeverTested: "⚪", Unscheduled: "⚫"}
	fmt.Fprintf(w, "## Runbook drill compliance\n\n")
	fmt.Fprintf(w, "Runbook `%s`, ledger `%s` (%d records), as of **%s**: %s.\n\n", rep.Runbook, orDash(rep.Ledger), rep.LedgerRecords, rep.Now, summary(rep))
	fmt.Fprintln(w, "| Scenario | Severity | Severity from | Cadence | Last tested | Last result | Next due | Status |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rep.Rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s %s |\n", mdCell(r.Scenario), mdCell(r.Severity), mdCell(r.SeveritySource),
			mdCell(cadence(r)), mdCell(r.LastTested), mdCell(r.LastResult), mdCell(r.NextDue), icon[r.Status], r.Status.Text())
	}
	if len(rep.Unknown) > 0 {
		fmt.Fprintf(w, "\nLedger records for scenarios the runbook does not have: %s.\n", strings.Join(rep.Unknown, ", "))
	}
	return nil
}

//go:embed page.html.tmpl
var pageFS embed.FS

var pageTemplate = template.Must(template.New("page.html.tmpl").Funcs(template.FuncMap{
	"dash": orDash, "cadence": cadence, "summary": summary,
	"drills": func(n int) string {
		if n == 1 {
			return "1 drill"
		}
		return fmt.Sprintf("%d drills", n)
	},
}).ParseFS(pageFS, "page.html.tmpl"))
