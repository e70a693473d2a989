package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/ledger"
	"github.com/firedrill-dev/firedrill/harness/report"
	"github.com/firedrill-dev/firedrill/harness/runbook"
)

func init() { subcommands = append(subcommands, newReportCmd) }

func newReportCmd() *cobra.Command {
	var (
		runbookPath, config, ledgerPath, now, format, output, failOn string
		updateRunbook                                                bool
	)
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Say when each scenario was last drilled and when the next drill is due",
		Long: `Compare the runbook's testing schedule with the drill ledger. Per scenario: severity (and where it
came from), cadence, last passing drill, last result, next due date and status: ok, due (within 7
days), overdue, never-tested or unscheduled. Dates are UTC; a due date adds the cadence to the last
passing drill, and a month end moves to the last day of a shorter month (Jan 31 + 1 month = Feb 28).

--update-runbook rewrites only the runbook's "Last Tested" and "Next Test Due" values.
--fail-on overdue,never-tested exits 1 when any scenario has one of those statuses.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			at, err := reportTime(now)
			if err != nil {
				return err
			}
			if !slices.Contains(report.Formats, format) {
				return badInput("unknown format %q: use %s", format, strings.Join(report.Formats, ", "))
			}
			var gates []report.Status
			if failOn != "" {
				for _, s := range strings.Split(failOn, ",") {
					st, err := report.ParseStatus(s)
					if err != nil {
						return badInput("--fail-on: %v", err)
					}
					gates = append(gates, st)
				}
			}
			src, rb, err := loadRunbook(runbookPath, config)
			if err != nil {
				return err
			}
			rep, err := complianceReport(rb, ledgerPath, at)
			if err != nil {
				return err
			}

			if err := writeReport(cmd.OutOrStdout(), output, rep, format); err != nil {
				return err
			}
			if updateRunbook {
				updated, err := report.UpdateStamps(src, rb, rep)
				if err != nil {
					return badInput("--update-runbook: %v", err)
				}
				if err := replaceFile(runbookPath, updated); err != nil {
					return badInput("--update-runbook: %v", err)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "updated %s: Last Tested %s, Next Test Due %s\n", runbookPath,
					orNever(rep.LastTested), rep.NextTestDue)
			}
			if bad := rep.WithStatus(gates...); len(bad) > 0 {
				names := make([]string, len(bad))
				for i, r := range bad {
					names[i] = r.Scenario + " (" + r.Status.Text() + ")"
				}
				return &exitError{code: exitFindings, err: fmt.Errorf("%d scenarios fail --fail-on %s: %s", len(bad), failOn, strings.Join(names, ", "))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&runbookPath, "runbook", "fixtures/runbooks/incident-response.md", "the runbook")
	f.StringVar(&config, "config", "", "scenario config (default: the runbook's name with .severity.yaml, if present)")
	f.StringVar(&ledgerPath, "ledger", ledger.DefaultPath, "the drill ledger (JSON Lines)")
	f.StringVar(&now, "now", "", "report as of this date (2026-11-26) or time (RFC 3339), UTC; default: now")
	f.StringVar(&format, "format", "table", "output format: "+strings.Join(report.Formats, ", "))
	f.StringVarP(&output, "output", "o", "", "write the report to this file instead of stdout")
	f.StringVar(&failOn, "fail-on", "", "exit 1 if any scenario has one of these statuses (comma-separated: overdue, never-tested, due, unscheduled)")
	f.BoolVar(&updateRunbook, "update-runbook", false, "rewrite the runbook's Last Tested / Next Test Due values from the ledger")
	return cmd
}

func orNever(s string) string {
	if s == "" {
		return "never"
	}
	return s
}

func writeReport(stdout io.Writer, output string, rep report.Report, format string) error {
	if output == "" {
		return report.Write(stdout, rep, format)
	}
	var b bytes.Buffer
	if err := report.Write(&b, rep, format); err != nil {
		return err
	}
	if err := replaceFile(output, b.Bytes()); err != nil {
		return badInput("%v", err)
	}
	return nil
}

// replaceFile writes data to path through a synced temporary file in the same directory and a
// rename, so path is either its old self or the whole new file, even on a full disk or after a
// crash, and no temporary file stays behind. An existing file keeps its mode; a new one is 0644.
// A symbolic link is followed; a device or pipe (-o /dev/stdout) is written to directly. Errors
// name path, never the temporary file, and say whether path was left unchanged.
func replaceFile(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	existed := false
	target := path
	switch info, err := os.Stat(path); {
	case err == nil && !info.Mode().IsRegular():
		if err := os.WriteFile(path, data, mode); err != nil {
			return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
		}
		return nil
	case err == nil:
		if resolved, err := filepath.EvalSymlinks(path); err == nil {
			target = resolved
		}
		if info.Mode().Perm()&0o200 == 0 {
			return fmt.Errorf("%s is read-only: make it writable (chmod u+w) if it may be updated", path)
		}
		mode, existed = info.Mode().Perm(), true
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("cannot write %s: %w", path, unwrapPath(err))
	}
	fail := func(err error) error {
		left := "no partial file left"
		if existed {
			left = path + " is unchanged"
		}
		err = unwrapPath(err)
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("cannot write %s: %w (%s): free space on its filesystem and run again", path, err, left)
		}
		return fmt.Errorf("cannot write %s: %w (%s)", path, err, left)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return fail(err)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// unwrapPath drops an *fs.PathError's operation and path (often a temporary file's), keeping the
// cause: "no space left on device".
// reportTime is --now as a time, or the present.
func reportTime(now string) (time.Time, error) {
	if now == "" {
		return time.Now().UTC(), nil
	}
	t, err := report.ParseNow(now)
	if err != nil {
		return t, badInput("--now: %v", err)
	}
	return t, nil
}

// complianceReport compares the runbook's schedule with the ledger at a time.
func complianceReport(rb *runbook.Runbook, ledgerPath string, at time.Time) (report.Report, error) {
	records, err := readLedger(ledgerPath)
	if err != nil {
		return report.Report{}, err
	}
	rep := report.Build(rb, records, at)
	rep.Ledger = ledgerPath
	return rep, nil
}

// readLedger reads the ledger's records for a report, with the errors a user can act on.
func readLedger(path string) ([]ledger.Record, error) {
	records, err := ledger.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, badInput("no ledger at %s: create an empty one (touch %s) or give --ledger", path, path)
	case errors.Is(err, ledger.ErrCorrupt):
		return nil, &exitError{code: exitFindings, err: fmt.Errorf("%w; run firedrill verify --ledger %s", err, path)}
	case err != nil:
		return nil, badInput("cannot read ledger %s: %v: give the ledger file with --ledger", path, unwrapPath(err))
	}
	return records, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}
