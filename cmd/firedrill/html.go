package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/drill"
	"github.com/firedrill-dev/firedrill/harness/htmlreport"
	"github.com/firedrill-dev/firedrill/harness/ledger"
)

func init() { subcommands = append(subcommands, newHTMLCmd) }

func newHTMLCmd() *cobra.Command {
	var resultsDir, runbookPath, config, ledgerPath, out, now string
	cmd := &cobra.Command{
		Use:   "html",
		Short: "Write HTML pages a person reads: one per drill, an index of the run, the compliance schedule",
		Long: `Render the drill results a run wrote (<results>/<id>.json) as self-contained HTML in --out:
index.html lists every drill with its scenario, severity, verdict and time to recover; <id>.html shows
one drill: its verdict, a timeline of its phases and options against the severity's response target
and the runbook's process windows, the options it ran, symptoms, findings, residue and links into its
evidence pack; compliance.html is the testing schedule from the ledger, overdue and never-tested
scenarios highlighted. Links are relative, so the pages read the same from an unpacked artifact
archive that keeps --out and the evidence packs side by side.

Failed drills are rendered like passed ones: the command fails only when it cannot read its input or
write the pages.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, err := reportTime(now)
			if err != nil {
				return err
			}
			switch info, err := os.Stat(resultsDir); {
			case errors.Is(err, fs.ErrNotExist):
				return badInput("no drill results at %s: run the drills (make drills) or give the directory they wrote with --results", resultsDir)
			case err != nil:
				return badInput("cannot read drill results %s: %v", resultsDir, unwrapPath(err))
			case !info.IsDir():
				return badInput("--results %s is a file: give the directory the drills wrote their <id>.json results to", resultsDir)
			}
			results, err := drill.ReadResults(resultsDir)
			if err != nil {
				return badInput("%v: remove or fix that file, or give another --results", err)
			}
			for i := range results {
				results[i].EvidenceDir = locatePack(results[i].EvidenceDir, resultsDir)
			}
			_, rb, err := loadRunbook(runbookPath, config)
			if err != nil {
				return err
			}
			rep, err := complianceReport(rb, ledgerPath, at)
			if err != nil {
				return err
			}

			written, err := htmlreport.Write(out, htmlreport.Site{Results: results, Process: rb.Process, Compliance: &rep, Generated: time.Now().UTC()})
			if err != nil {
				return badInput("%v: give a writable directory with --out", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d pages (index, compliance, %d drills)\n",
				filepath.Join(out, htmlreport.IndexFile), len(written), len(results))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&resultsDir, "results", "artifacts/results", "the directory of drill results (<id>.json) a run wrote")
	f.StringVar(&runbookPath, "runbook", "fixtures/runbooks/incident-response.md", "the runbook")
	f.StringVar(&config, "config", "", "scenario config (default: the runbook's name with .severity.yaml, if present)")
	f.StringVar(&ledgerPath, "ledger", ledger.DefaultPath, "the drill ledger (JSON Lines)")
	f.StringVar(&out, "out", "artifacts/html", "where the pages go; links to evidence are relative to it")
	f.StringVar(&now, "now", "", "compliance as of this date (2026-11-26) or time (RFC 3339), UTC; default: now")
	return cmd
}

// locatePack finds an evidence pack that moved with the run's artifacts, as in an archive
// unpacked elsewhere: when dir is gone but <results>/../evidence/incidents/<name> exists, that is it.
func locatePack(dir, resultsDir string) string {
	if dir == "" {
		return dir
	}
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	moved := filepath.Join(filepath.Dir(filepath.Clean(resultsDir)), "evidence", "incidents", filepath.Base(dir))
	if info, err := os.Stat(moved); err == nil && info.IsDir() {
		return moved
	}
	return dir
}
