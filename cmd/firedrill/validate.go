package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill-dev/firedrill/harness/validate"
)

func init() { subcommands = append(subcommands, newValidateCmd) }

func newValidateCmd() *cobra.Command {
	var (
		format, config string
		live           bool
		flags          clusterFlags
	)
	cmd := &cobra.Command{
		Use:   "validate RUNBOOK",
		Short: "Review a runbook before an incident: commands kubectl rejects, placeholders, missing files, unmet requirements, risky steps",
		Long: `Review a runbook as a senior SRE would before trusting it in an incident. Each finding has a level
(error, warning, info), the runbook line, the command and the reason. Nothing is run.

--live also runs the runbook's commands against the drill cluster (make cluster-up first): read-only
commands as written, mutating kubectl commands as server-side dry runs, commands that change data in
a pod without a dry run only in drills. Findings only execution reveals carry the command's output
as evidence; a coverage table says how every command was checked.

Exit codes: 0 no error-level finding, 1 error-level findings, 2 bad input.`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return badInput("validate needs one runbook: firedrill validate RUNBOOK.md")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return badInput("unknown format %q: use text or json", format)
			}
			_, rb, err := loadRunbook(args[0], config)
			if err != nil {
				return err
			}
			if live {
				return validateLive(cmd, args[0], rb, flags, format)
			}
			rep, err := validate.Run(cmd.Context(), rb)
			if err != nil {
				return fmt.Errorf("validate %s: %w", args[0], err)
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				err = validate.WriteJSON(out, rep)
			} else {
				err = validate.WriteText(out, rep)
			}
			if err != nil {
				return err
			}
			if rep.HasErrors() {
				return &exitError{code: exitFindings, err: fmt.Errorf("%s: %s at error level; fix them before trusting this runbook", args[0], validate.Plural(rep.Errors, "finding"))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&live, "live", false, "also run the runbook's commands against the drill cluster")
	flags.register(cmd)
	cmd.Flags().StringVar(&config, "config", "", "scenario config (default: RUNBOOK's name with .severity.yaml, if present)")
	return cmd
}
