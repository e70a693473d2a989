package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/ledger"
)

func init() { subcommands = append(subcommands, newVerifyCmd) }

func newVerifyCmd() *cobra.Command {
	var (
		path, head                     string
		checkEvidence, requireEvidence bool
	)
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that the drill ledger has not been edited, cut or reordered",
		Long: `Check every record of the drill ledger and the hash chain between them. Any edit, deletion,
insertion or reordering is reported with the first bad record. --head HASH also catches records
removed from the end: pass the head printed by an earlier verify. Each record's evidence pack
(evidence_path, relative to the current directory) is re-hashed against its manifest and its
digest compared with the record's; packs not on this machine are listed as absent.

Exit codes: 0 intact, 1 tampered or corrupt, 2 bad input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var opts []ledger.VerifyOption
			if head != "" {
				opts = append(opts, ledger.WithHead(head))
			}
			sum, err := ledger.VerifyFile(path, opts...)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return badInput("no ledger at %s: give its path with --ledger", path)
			case errors.Is(err, ledger.ErrCorrupt):
				return &exitError{code: exitFindings, err: fmt.Errorf("ledger does not verify: %w; it was left as it is: restore it from version control (git log -p -- %s)", err, path)}
			case err != nil:
				return badInput("cannot read ledger %s: %v: give the ledger file with --ledger", path, unwrapPath(err))
			}
			head := sum.Head
			if head == "" {
				head = "none (empty)"
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s: %d records, chain intact, head %s\n", path, sum.Records, head)
			if !checkEvidence {
				return nil
			}
			records, err := ledger.ReadFile(path)
			if err != nil {
				return fmt.Errorf("read ledger %s: %w", path, err)
			}
			var bad []string
			for _, c := range ledger.VerifyEvidence(records, ".") {
				fmt.Fprintln(out, c)
				if c.State == ledger.Altered || c.State == ledger.Mismatch || (c.State == ledger.Absent && requireEvidence) {
					bad = append(bad, fmt.Sprintf("record %d (%s)", c.Record, c.State))
				}
			}
			if len(bad) > 0 {
				return &exitError{code: exitFindings, err: fmt.Errorf("evidence packs do not verify: %s", strings.Join(bad, ", "))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&checkEvidence, "evidence", true, "also verify the evidence pack each record names (evidence_path), when it is on this machine")
	cmd.Flags().BoolVar(&requireEvidence, "require-evidence", false, "fail when a record's evidence pack is not on this machine")
	cmd.Flags().StringVar(&path, "ledger", ledger.DefaultPath, "the drill ledger (JSON Lines)")
	cmd.Flags().StringVar(&head, "head", "", "hash of a record the ledger must still contain (catches records cut from the end)")
	return cmd
}
